// SPDX-License-Identifier: GPL-2.0-or-later
// What a legacy apply owns in a live table:
//  - every chain named with policyc's prefix (POLICYC-OUTPUT ...), declared or left over, and
//    the rules of other chains that jump or go to one;
//  - the chains the host spells out (built-in or user), each replaced whole with its policy.
// Everything else stays as it is: user chains of other tools, and the rules and policy of
// built-in chains the host only reaches its own chains from, as nft keeps tables other than
// `policyc`. A host's own jumps come first in their built-in chain, before the kept rules.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::ipt {

/// The host's chain of that table and name in `family` (one spelled out wins over one that only
/// holds policyc's jumps), if it has one.
const ir::Chain* declaredChain(const ir::Host& host, ir::Family family, const std::string& table,
                               const std::string& chain);

/// Whether a live chain of that name is policyc's generated chain.
bool isGeneratedChain(std::string_view chain);

/// What of `live` (one decoded legacy table of `family`) apply keeps: the chains `host` does
/// not own, and the kept rules and policy of the built-in chains it owns only jumps in.
ir::Table foreignChains(const ir::Host& host, ir::Family family, const ir::Table& live);

/// `host` plus, for each live table, a part holding what apply keeps of it: what apply installs
/// and what diff compares the live state with. `live` are decoded tables of `family`.
ir::Host withForeignChains(const ir::Host& host, ir::Family family,
                           const std::vector<ir::Table>& live);

/// Whether a live table holds a chain of policyc's.
bool holdsGeneratedChains(const ir::Table& live);

/// The tables of `family` a legacy apply replaces, in load order: the host's, then the live
/// ones left holding policyc's chains by an earlier policy (read from the kernel, never created).
std::vector<std::string> tablesToReplace(const ir::Host& host, ir::Family family);

}  // namespace policyc::backends::ipt
