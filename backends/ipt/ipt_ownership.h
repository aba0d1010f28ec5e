// SPDX-License-Identifier: GPL-2.0-or-later
// What a legacy apply owns in a live table: the chains the host declares (built-in or user),
// each replaced whole with its policy. Every other live chain, user chains of other tools and
// built-in chains the host does not mention (rules and policy), is kept as it is, as nft keeps
// tables other than `policyc`.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::ipt {

/// The chains of `live` (one decoded legacy table of `family`) that `host` does not declare.
ir::Table foreignChains(const ir::Host& host, ir::Family family, const ir::Table& live);

/// `host` plus, for each live table, a part holding its foreign chains: what apply installs and
/// what diff compares the live state with. `live` are decoded tables of `family`.
ir::Host withForeignChains(const ir::Host& host, ir::Family family,
                           const std::vector<ir::Table>& live);

}  // namespace policyc::backends::ipt
