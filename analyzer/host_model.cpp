// SPDX-License-Identifier: GPL-2.0-or-later
#include "analyzer/host_model.h"

#include <algorithm>
#include <set>

namespace policyc::analyzer {
namespace {

void walkChain(const ir::Table& table, const ir::Chain& chain, ir::Family family,
               std::set<std::string>& onPath, std::vector<WalkedRule>& out) {
    onPath.insert(chain.name);
    for (size_t i = 0; i < chain.rules.size(); ++i) {
        const ir::Rule& r = chain.rules[i];
        const auto fam = ir::ruleFamily(r);
        if (table.family == ir::TableFamily::Inet && fam && *fam != family) continue;
        out.push_back({&table, &chain, i, &r});
        const std::string* target = nullptr;
        if (auto* j = std::get_if<ir::Jump>(&r.target)) target = &j->chain;
        if (auto* g = std::get_if<ir::Goto>(&r.target)) target = &g->chain;
        if (!target || onPath.count(*target)) continue;
        if (const ir::Chain* next = table.findChain(*target))
            walkChain(table, *next, family, onPath, out);
    }
    onPath.erase(chain.name);
}

bool tableHasFamily(const ir::Table& t, ir::Family f) {
    return t.family == ir::TableFamily::Inet ||
           t.family == (f == ir::Family::V4 ? ir::TableFamily::Ip : ir::TableFamily::Ip6);
}

}  // namespace

std::vector<WalkedRule> walkHook(const ir::Host& host, std::string_view table,
                                 std::string_view hook, ir::Family family) {
    std::vector<WalkedRule> out;
    for (const auto& t : host.tables) {
        if (t.name != table || !tableHasFamily(t, family)) continue;
        if (const ir::Chain* c = t.findChain(hook)) {
            std::set<std::string> onPath;
            walkChain(t, *c, family, onPath, out);
        }
    }
    return out;
}

const ir::RoutingRule* fwmarkRule(const ir::Host& host, ir::Family family, uint32_t mark) {
    for (const auto& r : host.routingRules) {  // sorted by priority
        if (r.family != family || !r.fwmark || r.iif || r.oif || r.uidrange || r.from || r.to)
            continue;
        const bool matches = (mark & r.fwmark->mask) == r.fwmark->value;
        if (matches != r.invert) return &r;
    }
    return nullptr;
}

const ir::Route* defaultRoute(const ir::Host& host, uint32_t table, ir::Family family) {
    for (const auto& r : host.routes)
        if (r.table == table && r.family() == family && r.dst.length == 0) return &r;
    return nullptr;
}

bool tableRoutes(const ir::Host& host, uint32_t table, const ir::IpAddr& dst) {
    bool listed = false;
    for (const auto& r : host.routes) {
        if (r.table != table || r.family() != dst.family) continue;
        listed = true;
        if (r.dst.contains(dst)) return true;
    }
    if (listed) return false;
    return table == ir::kTableLocal ? ownsAddress(host, dst) : true;
}

bool ownsAddress(const ir::Host& host, const ir::IpAddr& addr) {
    for (const auto& i : host.interfaces)
        for (const auto& a : i.addresses)
            if (a.addr == addr) return true;
    return false;
}

const ir::Sysctl* findSysctl(const ir::Host& host, std::string_view key) {
    for (const auto& s : host.sysctls)
        if (s.key == key) return &s;
    return nullptr;
}

std::optional<std::string> sysctlValue(const ir::Host& host, std::string_view key) {
    if (const ir::Sysctl* s = findSysctl(host, key)) return s->value;
    return std::nullopt;
}

bool ifaceNameMatches(std::string_view pattern, std::string_view name) {
    if (!pattern.empty() && pattern.back() == '+') {
        pattern.remove_suffix(1);
        return name.starts_with(pattern);
    }
    return pattern == name;
}

Diagnostic& reportOnRule(Diagnostics& diags, Code code, const WalkedRule& w, std::string message) {
    Diagnostic& d = diags.report(code, w.rule->span, std::move(message));
    if (!w.rule->span.valid())
        d.location = RuleLocation{w.table->name, w.chain->name, static_cast<unsigned>(w.index + 1)};
    return d;
}

bool isTerminal(const ir::Target& t) {
    return std::visit(
        [](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            return std::is_same_v<T, ir::Accept> || std::is_same_v<T, ir::Drop> ||
                   std::is_same_v<T, ir::Reject> || std::is_same_v<T, ir::Return> ||
                   std::is_same_v<T, ir::Goto> || std::is_same_v<T, ir::Nat> ||
                   std::is_same_v<T, ir::Masquerade> || std::is_same_v<T, ir::Redirect> ||
                   std::is_same_v<T, ir::Tproxy>;
        },
        t);
}

}  // namespace policyc::analyzer
