// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/text/nft_layout.h"

#include <variant>

namespace policyc::backends::nft {
namespace {

/// The generated chain `chain` does nothing but jump to, if it is one.
const ir::Chain* soleGeneratedJump(const ir::Table& table, const ir::Chain& chain) {
    if (!ir::isBuiltinChain(table.name, chain.name) || chain.rules.size() != 1) return nullptr;
    const ir::Rule& r = chain.rules.front();
    const auto* jump = std::get_if<ir::Jump>(&r.target);
    if (!jump || !r.matches.empty() || !jump->chain.starts_with(ir::kGeneratedChainPrefix))
        return nullptr;
    return table.findChain(jump->chain);
}

bool referencedElsewhere(const ir::Table& table, const ir::Chain& target, const ir::Chain& from) {
    for (const ir::Chain& c : table.chains) {
        if (&c == &from) continue;
        for (const ir::Rule& r : c.rules) {
            const auto* j = std::get_if<ir::Jump>(&r.target);
            const auto* g = std::get_if<ir::Goto>(&r.target);
            if ((j && j->chain == target.name) || (g && g->chain == target.name)) return true;
        }
    }
    return false;
}

const ir::Chain* foldedChain(const ir::Table& table, const ir::Chain& base) {
    const ir::Chain* c = soleGeneratedJump(table, base);
    return c && !referencedElsewhere(table, *c, base) ? c : nullptr;
}

}  // namespace

bool foldedIntoBaseChain(const ir::Table& table, const ir::Chain& chain) {
    if (!chain.name.starts_with(ir::kGeneratedChainPrefix)) return false;
    for (const ir::Chain& c : table.chains)
        if (foldedChain(table, c) == &chain) return true;
    return false;
}

const std::vector<ir::Rule>& nftRules(const ir::Table& table, const ir::Chain& chain) {
    const ir::Chain* c = foldedChain(table, chain);
    return c ? c->rules : chain.rules;
}

namespace {

/// The rule without what only an iptables entry holds (-m state, a bare -m tcp, the comment's
/// place among the modules): nftables has one form for each.
ir::Rule withoutIptablesSpellings(ir::Rule rule) {
    rule.commentAfter.reset();
    for (ir::Match& m : rule.matches) {
        if (auto* p = std::get_if<ir::ProtoMatch>(&m)) p->portModule = false;
        if (auto* s = std::get_if<ir::CtStateMatch>(&m)) s->stateModule = false;
        if (auto* p = std::get_if<ir::PortMatch>(&m)) p->multiport = false;
    }
    return rule;
}

}  // namespace

ir::Table nftLayout(const ir::Table& table) {
    ir::Table out{table.family, table.name, {}, table.span};
    for (const ir::Chain& c : table.chains) {
        if (foldedIntoBaseChain(table, c)) continue;
        ir::Chain laid = c;
        laid.rules.clear();
        for (const ir::Rule& r : nftRules(table, c))
            laid.rules.push_back(withoutIptablesSpellings(r));
        laid.ownership = ir::ChainOwnership::Whole;
        out.chains.push_back(std::move(laid));
    }
    return out;
}

}  // namespace policyc::backends::nft
