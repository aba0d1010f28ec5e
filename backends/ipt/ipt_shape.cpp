// SPDX-License-Identifier: GPL-2.0-or-later
// Table, chain and entry shape shared by the iptables text renderer and the blob encoder.
#include "backends/ipt/ipt_shape.h"

#include <algorithm>
#include <array>

namespace policyc::backends::ipt {

using namespace policyc::ir;

std::vector<std::vector<NumRange>> multiportChunks(const std::vector<NumRange>& ports) {
    std::vector<std::vector<NumRange>> chunks;
    unsigned used = 15;
    for (const NumRange& r : ports) {
        const unsigned need = r.single() ? 1 : 2;
        if (used + need > 15) {
            chunks.emplace_back();
            used = 0;
        }
        chunks.back().push_back(r);
        used += need;
    }
    return chunks;
}

namespace {

std::vector<Match> alternatives(const Match& m) {
    std::vector<Match> alts;
    if (const auto* a = std::get_if<AddrMatch>(&m); a && !a->negated && a->items.size() > 1) {
        for (const AddrItem& item : a->items) alts.push_back(AddrMatch{a->dir, false, {item}});
    } else if (const auto* p = std::get_if<PortMatch>(&m); p && !p->negated) {
        for (auto& chunk : multiportChunks(p->ports))
            alts.push_back(PortMatch{p->dir, false, std::move(chunk), p->multiport});
    }
    if (alts.empty()) alts.push_back(m);
    return alts;
}

int tableRank(std::string_view name) {
    static const std::array<std::string_view, 4> kOrder = {"raw", "mangle", "nat", "filter"};
    auto it = std::find(kOrder.begin(), kOrder.end(), name);
    return static_cast<int>(it - kOrder.begin());
}

}  // namespace

std::vector<std::vector<Match>> expandLines(const std::vector<Match>& matches) {
    std::vector<std::vector<Match>> lines(1);
    for (const Match& m : matches) {
        const std::vector<Match> alts = alternatives(m);
        std::vector<std::vector<Match>> next;
        next.reserve(lines.size() * alts.size());
        for (const auto& line : lines) {
            for (const Match& alt : alts) {
                next.push_back(line);
                next.back().push_back(alt);
            }
        }
        lines = std::move(next);
    }
    return lines;
}

std::vector<AddrMatch> entryParts(const AddrMatch& m) {
    if (!m.negated || m.items.size() < 2) return {m};
    // the header holds the first prefix, wherever it stands among the items
    const auto header = std::find_if(m.items.begin(), m.items.end(), [](const AddrItem& i) {
        return std::holds_alternative<Prefix>(i);
    });
    std::vector<AddrMatch> parts;
    if (header != m.items.end()) parts.push_back(AddrMatch{m.dir, true, {*header}});
    for (auto it = m.items.begin(); it != m.items.end(); ++it) {
        if (it == header) continue;
        const auto* p = std::get_if<Prefix>(&*it);
        parts.push_back(AddrMatch{m.dir, true, {p ? AddrItem{p->range()} : *it}});
    }
    return parts;
}

PortModule portModuleFor(const std::vector<Match>& matches) {
    for (const Match& m : matches) {
        const auto* p = std::get_if<ProtoMatch>(&m);
        if (!p || p->negated) continue;
        if (p->proto == 6) return {"tcp", p->portModule};
        if (p->proto == 17) return {"udp", p->portModule};
        if (p->proto == 132) return {"sctp", p->portModule};
    }
    return {};
}

bool inPortModule(const PortMatch& m, const PortModule& module) {
    if (module.name.empty() || m.ports.size() != 1 || m.multiport) return false;
    const bool full = m.ports[0].first == 0 && m.ports[0].last == 65535;
    return !full || module.forced;
}

std::vector<TableBlock> collectBlocks(const Host& host, Family family) {
    const TableFamily own = family == Family::V4 ? TableFamily::Ip : TableFamily::Ip6;
    std::vector<TableBlock> blocks;
    for (const Table& t : host.tables) {
        if (t.family != own && t.family != TableFamily::Inet) continue;
        auto it = std::find_if(blocks.begin(), blocks.end(),
                               [&](const TableBlock& b) { return b.name == t.name; });
        if (it == blocks.end()) it = blocks.insert(blocks.end(), TableBlock{t.name, {}});
        it->parts.push_back(&t);
    }
    std::stable_sort(blocks.begin(), blocks.end(), [](const TableBlock& a, const TableBlock& b) {
        return tableRank(a.name) < tableRank(b.name);
    });
    return blocks;
}

namespace {

std::vector<const Rule*> partRules(const TableBlock& block, const std::string& chain,
                                   Family family) {
    std::vector<const Rule*> rules;
    for (const Table* t : block.parts) {
        const Chain* c = t->findChain(chain);
        if (!c) continue;
        for (const Rule& rule : c->rules) {
            const auto ruleFam = ruleFamily(rule);
            if (t->family == TableFamily::Inet && ruleFam && *ruleFam != family) continue;
            rules.push_back(&rule);
        }
    }
    return rules;
}

/// A generated chain with no rule of `family` (an IPv4-only SNAT seen from ip6tables): left out
/// with its jump, so that a family shows only what it does.
bool emptyGenerated(const TableBlock& block, const std::string& chain, Family family) {
    return chain.starts_with(kGeneratedChainPrefix) && partRules(block, chain, family).empty();
}

}  // namespace

std::vector<std::string> chainOrder(const TableBlock& block, Family family) {
    std::vector<std::string> order(builtinChains(block.name).begin(),
                                   builtinChains(block.name).end());
    std::vector<std::string> user;
    for (const Table* t : block.parts)
        for (const Chain& c : t->chains)
            if (!isBuiltinChain(block.name, c.name) && !emptyGenerated(block, c.name, family))
                user.push_back(c.name);
    std::sort(user.begin(), user.end());
    user.erase(std::unique(user.begin(), user.end()), user.end());
    order.insert(order.end(), user.begin(), user.end());
    return order;
}

ChainPolicy blockPolicy(const TableBlock& block, const std::string& chain) {
    if (!isBuiltinChain(block.name, chain)) return ChainPolicy::None;
    for (const Table* t : block.parts) {
        const Chain* c = t->findChain(chain);
        if (c && c->policy != ChainPolicy::None) return c->policy;
    }
    return ChainPolicy::None;
}

std::vector<const Rule*> blockRules(const TableBlock& block, const std::string& chain,
                                    Family family) {
    std::vector<const Rule*> rules = partRules(block, chain, family);
    std::erase_if(rules, [&](const Rule* r) {
        const auto* j = std::get_if<Jump>(&r->target);
        return j && emptyGenerated(block, j->chain, family);
    });
    return rules;
}

}  // namespace policyc::backends::ipt
