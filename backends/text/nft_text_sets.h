// SPDX-License-Identifier: GPL-2.0-or-later
// Right-hand sides of address and port matches as nft 1.0.6 lists them back: one item plain,
// several as an anonymous set that nft sorts, de-duplicates and (if it holds intervals) merges.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::nft {

/// `10.0.0.0/24`, `10.0.0.1-10.0.0.9`, `{ 10.0.0.1, 10.0.1.0/24 }`; items share one family.
std::string addrSetText(const std::vector<ir::AddrItem>& items);

/// `22`, `1000-2000`, `{ 80, 443 }`.
std::string portSetText(const std::vector<ir::NumRange>& ports);

}  // namespace policyc::backends::nft
