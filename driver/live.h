// SPDX-License-Identifier: GPL-2.0-or-later
// `lint --live`: the current network namespace read into one ir::Host by policyc itself.
#pragma once

#include <optional>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc {

/// Reads the links (kind, addresses, VXLAN underlay), every legacy table of both families, ip
/// rules and routes of every table, and the sysctls the analyses use. What cannot be read
/// into the IR is reported as a `not-analysed` note naming it; nullopt only when nothing could
/// be read at all (no netlink socket).
std::optional<ir::Host> readLiveHost(Diagnostics& diags);

}  // namespace policyc
