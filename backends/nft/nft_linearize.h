// SPDX-License-Identifier: GPL-2.0-or-later
// IR -> libnftnl objects: the tables, chains, anonymous sets and rules that `nft -f` makes of
// renderNft()'s text, expression for expression (nft_linearize_test.cpp holds nft's own output).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir.h"
#include "compiler/source.h"

struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_rule;

namespace policyc::backends::nft {

struct NftnlDeleter {
    void operator()(nftnl_table* t) const;
    void operator()(nftnl_chain* c) const;
    void operator()(nftnl_set* s) const;
    void operator()(nftnl_rule* r) const;
};
template <class T>
using NftnlPtr = std::unique_ptr<T, NftnlDeleter>;

/// One netlink object of the batch, with what an error about it should point at.
struct NftObject {
    enum class Kind : uint8_t { Table, Chain, Set, Rule } kind = Kind::Table;
    NftnlPtr<nftnl_table> table;
    NftnlPtr<nftnl_chain> chain;
    NftnlPtr<nftnl_set> set;  // carries its elements
    NftnlPtr<nftnl_rule> rule;
    uint16_t family = 0;  // NFPROTO_*
    std::string chainName;
    size_t ruleIndex = 0;  // within its chain, from 0
    /// The rule's, or for an anonymous set the match's that looks it up.
    SourceSpan span;
    /// Rules: per expression, in order, what produced it: the index of a match in the IR rule's
    /// matches, or kTargetOrigin for its target (and dependencies nft adds for the target).
    std::vector<int32_t> exprOrigins;
    /// Rules: per expression, where that match or target was written (the rule's span if the
    /// IR does not know), so that a refusal of one expression points at its source.
    std::vector<SourceSpan> exprSpans;
};

inline constexpr int32_t kTargetOrigin = -1;

/// Everything one host puts into nf_tables, in batch order: per family the table, its chains,
/// then each rule preceded by its anonymous sets.
struct NftRuleset {
    std::vector<NftObject> objects;
    std::vector<uint16_t> families;   // NFPROTO_* of every `policyc` table, in order
    std::vector<std::string> errors;  // constructs that could not be linearized
};

/// Builds the objects; `cgroupRoot` is where cgroup v2 paths are resolved to inode ids (the
/// cgroup2 mount: see backends/cgroup2.h).
NftRuleset linearize(const ir::Host& host, const std::string& cgroupRoot = "/sys/fs/cgroup");

/// The libnftnl name of expression `index` of rule object `rule` ("immediate", "socket" ...).
std::string expressionName(const NftObject& rule, size_t index);

/// The sets and rules as `nft --debug=netlink` prints them while loading renderNft()'s text.
std::string debugText(const NftRuleset& ruleset);

}  // namespace policyc::backends::nft
