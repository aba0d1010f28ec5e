// SPDX-License-Identifier: GPL-2.0-or-later
// libnftnl objects -> IR tables: the inverse of nft_linearize.cpp for policyc's own tables, and
// for other tables the hand-written rules in common use, with what cannot be read reported.
#pragma once

#include <string>
#include <vector>

#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_linearize.h"
#include "compiler/ir.h"

namespace policyc::backends::nft {

/// What could be read, and one sentence for each chain or rule that could not (naming the
/// table, chain and rule handle): a rule policyc cannot express is never dropped silently.
struct DelinearizeResult {
    std::vector<ir::Table> tables;
    std::vector<std::string> unreadable;
    /// Rules of `unreadable` that are still in `tables`, in their place: an ir::OpaqueTarget
    /// named ir::kNftVerbatim holding their expressions as libnftnl prints them.
    std::vector<std::string> verbatim;
};

/// Tables named `policyc` map their chains back by name (`<table>_<chain>`); every other table's
/// base chains map to the legacy table and chain of the same type, hook and priority, and its
/// user chains follow the base chain that first jumps to them. `cgroupRoot` resolves cgroup v2
/// inode ids back to paths.
DelinearizeResult delinearize(const NftRuleset& ruleset,
                              const std::string& cgroupRoot = "/sys/fs/cgroup");

/// Every table of every family (not only `policyc`), with chains, sets and their elements and
/// rules, kernel handles kept. False with `error` on failure.
bool dumpRuleset(NftSocket& sock, NftRuleset& into, std::string& error);

/// Only the chains of every table (no rules: the kernel's rule dump costs time quadratic in a
/// chain's length), for what needs hooks and priorities alone.
bool dumpChains(NftSocket& sock, NftRuleset& into, std::string& error);

}  // namespace policyc::backends::nft
