// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/ipt/ipt_ownership.h"

#include <algorithm>
#include <variant>

#include "backends/ipt/ipt_blob.h"
#include "backends/ipt/ipt_kernel.h"

namespace policyc::backends::ipt {

namespace {

bool reachesGeneratedChain(const ir::Rule& r) {
    const auto* j = std::get_if<ir::Jump>(&r.target);
    const auto* g = std::get_if<ir::Goto>(&r.target);
    return (j && isGeneratedChain(j->chain)) || (g && isGeneratedChain(g->chain));
}

}  // namespace

const ir::Chain* declaredChain(const ir::Host& host, ir::Family family, const std::string& table,
                               const std::string& chain) {
    const ir::TableFamily own =
        family == ir::Family::V4 ? ir::TableFamily::Ip : ir::TableFamily::Ip6;
    const ir::Chain* found = nullptr;
    for (const ir::Table& t : host.tables) {
        if ((t.family != own && t.family != ir::TableFamily::Inet) || t.name != table) continue;
        for (const ir::Chain& c : t.chains) {
            if (c.name != chain) continue;
            // A chain spelled out in one part of the table owns it whole.
            if (!found || c.ownership == ir::ChainOwnership::Whole) found = &c;
        }
    }
    return found;
}

bool isGeneratedChain(std::string_view chain) {
    return chain.starts_with(ir::kGeneratedChainPrefix);
}

ir::Table foreignChains(const ir::Host& host, ir::Family family, const ir::Table& live) {
    ir::Table out{live.family, live.name, {}, {}};
    for (const ir::Chain& c : live.chains) {
        if (isGeneratedChain(c.name)) continue;
        const ir::Chain* own = declaredChain(host, family, live.name, c.name);
        if (own && own->ownership == ir::ChainOwnership::Whole) continue;
        ir::Chain kept = c;
        if (ir::isBuiltinChain(live.name, c.name)) {
            // policyc's jumps of an earlier apply go; the host's current ones come first.
            std::erase_if(kept.rules, reachesGeneratedChain);
            // A built-in chain nobody changed (no rule, ACCEPT) is what the kernel makes anyway.
            if (kept.rules.empty() && kept.policy != ir::ChainPolicy::Drop) continue;
        }
        out.chains.push_back(std::move(kept));
    }
    return out;
}

ir::Host withForeignChains(const ir::Host& host, ir::Family family,
                           const std::vector<ir::Table>& live) {
    ir::Host merged = host;
    for (const ir::Table& t : live) {
        ir::Table foreign = foreignChains(host, family, t);
        if (!foreign.chains.empty()) merged.tables.push_back(std::move(foreign));
    }
    return merged;
}

bool holdsGeneratedChains(const ir::Table& live) {
    return std::any_of(live.chains.begin(), live.chains.end(),
                       [](const ir::Chain& c) { return isGeneratedChain(c.name); });
}

std::vector<std::string> tablesToReplace(const ir::Host& host, ir::Family family) {
    std::vector<std::string> names = tablesToLoad(host, family);
    for (const std::string_view t : {"raw", "mangle", "nat", "filter"}) {
        const std::string table(t);
        if (std::find(names.begin(), names.end(), table) != names.end() ||
            !tableExists(family, table))
            continue;
        Diagnostics ignored;  // a table policyc cannot read is not one it wrote
        auto blob = readTable(family, table, ignored);
        auto decoded = blob ? decodeTable(*blob, ignored) : std::nullopt;
        if (decoded && holdsGeneratedChains(*decoded)) names.push_back(table);
    }
    return names;
}

}  // namespace policyc::backends::ipt
