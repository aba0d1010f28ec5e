// SPDX-License-Identifier: GPL-2.0-or-later
// How a host's chains become nftables chains. policyc owns its nft table whole, so the chain an
// intent generates at a hook (POLICYC-OUTPUT ...) needs no jump of its own there: when the
// built-in chain does nothing but jump to it, its rules are the base chain's. This is exact: a
// `return` in the base chain ends in the chain's policy, as the return to the jump's end would.
#pragma once

#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::nft {

/// Whether `chain` of `table` is a generated chain whose rules `table` shows in a base chain.
bool foldedIntoBaseChain(const ir::Table& table, const ir::Chain& chain);

/// The rules nftables gets for `chain` of `table`: the generated chain's when folded.
const std::vector<ir::Rule>& nftRules(const ir::Table& table, const ir::Chain& chain);

/// `table` as nftables holds it: folded chains merged into their base chains, every chain owned
/// whole (policyc's nft table is its own), no iptables-only spellings (-m state, a bare -m tcp,
/// the comment's place). What the read-back of the table gives.
ir::Table nftLayout(const ir::Table& table);

}  // namespace policyc::backends::nft
