// SPDX-License-Identifier: GPL-2.0-or-later
// Cross-layer checks of mark-based policy routing: what happens to a packet marked by its
// socket's owner in mangle OUTPUT, rerouted by an fwmark rule into a table, and sent out of that
// table's default device (scenarios S1 and S4), and to a packet TPROXY marks (S3).
#include <algorithm>
#include <memory>
#include <sstream>

#include "analyzer/checks.h"
#include "analyzer/host_model.h"

namespace policyc::analyzer {
namespace {

using ir::Family;

std::string hex(uint32_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

/// A locally generated packet marked by its owner and sent elsewhere by an fwmark rule.
struct Reroute {
    Family family;
    WalkedRule markRule;              // mangle OUTPUT: owner/cgroup match -> mark set
    std::vector<ir::Match> selector;  // the owner/cgroup matches of that rule
    // mangle OUTPUT as walked, markRule among them; shared: one per family, not per mark rule
    std::shared_ptr<const std::vector<WalkedRule>> walk;
    size_t position = 0;              // markRule's place in `walk`
    uint32_t mark = 0;
    const ir::RoutingRule* ipRule = nullptr;
    const ir::Route* route = nullptr;
    const ir::Interface* dev = nullptr;  // the route's device, when the host declares it
};

bool isSocketSelector(const ir::Match& m) {
    return std::holds_alternative<ir::OwnerMatch>(m) || std::holds_alternative<ir::CgroupMatch>(m);
}

std::vector<Reroute> findReroutes(const ir::Host& host) {
    std::vector<Reroute> out;
    for (Family f : {Family::V4, Family::V6}) {
        const auto shared = std::make_shared<const std::vector<WalkedRule>>(
            walkHook(host, "mangle", "OUTPUT", f));
        const std::vector<WalkedRule>& walk = *shared;
        for (size_t i = 0; i < walk.size(); ++i) {
            const auto* set = std::get_if<ir::SetMark>(&walk[i].rule->target);
            if (!set) continue;
            Reroute r{f, walk[i], {}, shared, i};
            for (const auto& m : walk[i].rule->matches)
                if (isSocketSelector(m)) r.selector.push_back(m);
            if (r.selector.empty()) continue;
            r.mark = set->mark.value;  // (0 & ~mask) ^ value: the mark of an unmarked packet
            r.ipRule = fwmarkRule(host, f, r.mark);
            if (!r.ipRule || r.ipRule->action != ir::RoutingRule::Action::Lookup) continue;
            r.route = defaultRoute(host, r.ipRule->table, f);
            if (!r.route || r.route->type != ir::Route::Type::Unicast || !r.route->dev) continue;
            r.dev = host.findInterface(*r.route->dev);
            out.push_back(std::move(r));
        }
    }
    return out;
}

bool addrItemContains(const ir::AddrItem& item, const ir::IpAddr& a) {
    if (const auto* p = std::get_if<ir::Prefix>(&item)) return p->contains(a);
    const auto& r = std::get<ir::AddrRange>(item);
    return a.family == r.first.family && !(a < r.first) && !(r.last < a);
}

bool addrMatchHolds(const ir::AddrMatch& m, const ir::IpAddr& a) {
    const bool in = std::any_of(m.items.begin(), m.items.end(),
                                [&](const auto& i) { return addrItemContains(i, a); });
    return in != m.negated;
}

bool portsContain(const std::vector<ir::NumRange>& ports, uint32_t p) {
    return std::any_of(ports.begin(), ports.end(),
                       [&](const auto& r) { return r.first <= p && p <= r.last; });
}

/// Whether `rule` surely matches the tunnel's own outer packets: UDP from the underlay to the
/// remote end, carrying `outerMark` and the application's socket.
bool matchesOuterPacket(const ir::Rule& rule, const ir::Interface& tunnel, uint32_t outerMark) {
    for (const auto& m : rule.matches) {
        bool holds = std::visit(
            [&](const auto& v) -> bool {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, ir::AddrMatch>) {
                    const auto& end = v.dir == ir::Direction::Destination ? tunnel.underlayRemote
                                                                          : tunnel.underlayLocal;
                    if (!end) return v.dir == ir::Direction::Source;  // unknown source: allow
                    return addrMatchHolds(v, *end);
                } else if constexpr (std::is_same_v<T, ir::ProtoMatch>) {
                    return (v.proto == 17) != v.negated;
                } else if constexpr (std::is_same_v<T, ir::PortMatch>) {
                    if (v.dir == ir::Direction::Source) return !v.negated;
                    return tunnel.underlayPort &&
                           portsContain(v.ports, *tunnel.underlayPort) != v.negated;
                } else if constexpr (std::is_same_v<T, ir::MarkMatch>) {
                    return ((outerMark & v.mark.mask) == v.mark.value) != v.negated;
                } else if constexpr (std::is_same_v<T, ir::IfaceMatch>) {
                    return v.dir == ir::IfaceDirection::Out && v.negated &&
                           ifaceNameMatches(v.name, tunnel.name);
                } else if constexpr (std::is_same_v<T, ir::OwnerMatch> ||
                                     std::is_same_v<T, ir::CgroupMatch>) {
                    return !v.negated;  // the outer packet keeps the application's socket
                } else {
                    return false;  // anything else: not surely
                }
            },
            m);
        if (!holds) return false;
    }
    return true;
}

/// The first ip rule a tunnel's outer packet (locally generated, to `remote`, with `mark`) meets.
const ir::RoutingRule* outerPacketRule(const ir::Host& host, const ir::IpAddr* remote,
                                       uint32_t mark) {
    const Family f = remote ? remote->family : Family::V4;
    for (const auto& r : host.routingRules) {
        if (r.family != f || r.oif || r.uidrange) continue;
        if (r.iif && *r.iif != "lo") continue;
        bool holds = true;
        if (r.fwmark) holds = holds && (mark & r.fwmark->mask) == r.fwmark->value;
        if (r.to) holds = holds && remote && r.to->contains(*remote);
        if (r.from) holds = false;  // the outer source is chosen by this very lookup
        if (holds == r.invert) continue;
        // A lookup ends only if its table has a route for the destination; otherwise the kernel
        // goes on with the next rule (the local table first of all, at priority 0).
        if (r.action == ir::RoutingRule::Action::Lookup && remote &&
            !tableRoutes(host, r.table, *remote))
            continue;
        return &r;
    }
    return nullptr;
}

void checkLeak(const ir::Host& host, const Reroute& r, Diagnostics& diags) {
    const ir::Interface& tunnel = *r.dev;
    // Outer packets of kernel tunnels keep the inner skb's mark, except WireGuard's, which
    // carry the tunnel's own fwmark.
    const uint32_t outerMark =
        tunnel.kind == ir::LinkKind::WireGuard && tunnel.fwmark ? *tunnel.fwmark : r.mark;
    const bool identifiable = tunnel.underlayRemote || tunnel.fwmark;
    bool firewallExcluded = false;
    for (size_t j = 0; j < r.position && identifiable; ++j) {
        const ir::Rule& rule = *(*r.walk)[j].rule;
        const bool ends = std::holds_alternative<ir::Return>(rule.target) ||
                          std::holds_alternative<ir::Accept>(rule.target);
        firewallExcluded = ends && matchesOuterPacket(rule, tunnel, outerMark);
        if (firewallExcluded) break;
    }
    const ir::IpAddr* remote = tunnel.underlayRemote ? &*tunnel.underlayRemote : nullptr;
    const ir::RoutingRule* outerRule = outerPacketRule(host, remote, outerMark);
    const bool routeExcluded = !outerRule || (outerRule->table != r.ipRule->table &&
                                              outerRule->action == ir::RoutingRule::Action::Lookup);
    if (firewallExcluded && routeExcluded) return;

    std::string what;
    if (!identifiable) {
        what = "tunnel '" + tunnel.name +
               "' declares neither its remote end nor its fwmark, so its own encapsulated "
               "packets cannot be told apart from the application's";
    } else if (!firewallExcluded && !routeExcluded) {
        what = "tunnel '" + tunnel.name +
               "' re-sends the application's packets with its socket and mark: the outer packets "
               "are marked again here and routed back into the tunnel (a routing loop)";
    } else if (!firewallExcluded) {
        what = "tunnel '" + tunnel.name +
               "''s own encapsulated packets still carry the application's socket, so this owner "
               "rule matches them too (each datagram is counted twice)";
    } else {
        what = "tunnel '" + tunnel.name + "''s outer packets carry mark " + hex(outerMark) +
               " and the fwmark rule routes them back into the tunnel";
    }
    auto& d = reportOnRule(diags, Code::W005, r.markRule, what);
    d.notes.push_back({r.ipRule->span, "fwmark rule sending mark " + hex(r.mark) + " to table " +
                                           std::to_string(r.ipRule->table)});
    d.notes.push_back({tunnel.span, "tunnel '" + tunnel.name + "'"});
    std::string hint;
    if (!identifiable) {
        hint = "declare the tunnel's 'remote' (vxlan) or 'fwmark' (wireguard)";
    } else {
        if (!firewallExcluded) {
            hint = tunnel.kind == ir::LinkKind::WireGuard && tunnel.fwmark
                       ? "add 'mark " + hex(*tunnel.fwmark) + " return' before this rule"
                       : "add 'ip daddr " + tunnel.underlayRemote->str() + " udp dport " +
                             std::to_string(tunnel.underlayPort.value_or(4789)) +
                             " return' before this rule";
        }
        if (!routeExcluded && remote) {
            hint += std::string(hint.empty() ? "" : "; ") + "add 'rule priority " +
                    std::to_string(r.ipRule->priority - 1) + " to " + remote->str() +
                    " lookup main'";
        }
    }
    d.hint = hint + " (an 'app' statement generates both)";
}

/// Whether a nat POSTROUTING rule surely rewrites the rerouted packets' source.
bool coversReroute(const ir::Rule& rule, const Reroute& r) {
    if (!std::holds_alternative<ir::Nat>(rule.target) &&
        !std::holds_alternative<ir::Masquerade>(rule.target)) {
        return false;
    }
    if (auto* n = std::get_if<ir::Nat>(&rule.target); n && n->kind != ir::Nat::Kind::Snat)
        return false;
    for (const auto& m : rule.matches) {
        const bool holds = std::visit(
            [&](const auto& v) -> bool {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, ir::IfaceMatch>) {
                    return v.dir == ir::IfaceDirection::Out &&
                           ifaceNameMatches(v.name, *r.route->dev) != v.negated;
                } else if constexpr (std::is_same_v<T, ir::MarkMatch>) {
                    return ((r.mark & v.mark.mask) == v.mark.value) != v.negated;
                } else if constexpr (std::is_same_v<T, ir::OwnerMatch> ||
                                     std::is_same_v<T, ir::CgroupMatch>) {
                    return std::find(r.selector.begin(), r.selector.end(), ir::Match{v}) !=
                           r.selector.end();
                } else if constexpr (std::is_same_v<T, ir::AddrMatch>) {
                    return v.dir == ir::Direction::Destination && !v.negated &&
                           std::any_of(v.items.begin(), v.items.end(), [](const auto& i) {
                               auto* p = std::get_if<ir::Prefix>(&i);
                               return p && p->length == 0;
                           });
                } else {
                    return false;
                }
            },
            m);
        if (!holds) return false;
    }
    return true;
}

void checkSnat(const ir::Host& host, const Reroute& r, Diagnostics& diags) {
    for (const auto& w : walkHook(host, "nat", "POSTROUTING", r.family))
        if (coversReroute(*w.rule, r)) return;
    auto& d = reportOnRule(
        diags, Code::W006, r.markRule,
        "packets rerouted by mark " + hex(r.mark) + " to '" + *r.route->dev +
            "' keep the source address the first route decision chose; nothing SNATs them");
    d.notes.push_back({r.ipRule->span, "the fwmark rule that reroutes them"});
    std::string addr = "ADDRESS";
    if (r.dev)
        for (const auto& a : r.dev->addresses)
            if (a.addr.family == r.family) {
                addr = a.addr.str();
                break;
            }
    d.hint = "add to nat POSTROUTING: 'oif " + *r.route->dev + " mark " + hex(r.mark) +
             " snat to " + addr + "' (an 'app' statement generates it)";
}

int sysctlInt(const ir::Host& host, const std::string& key) {
    auto v = sysctlValue(host, key);
    return v ? std::atoi(v->c_str()) : 0;
}

void checkRpFilter(const ir::Host& host, const Reroute& r, Diagnostics& diags) {
    if (r.family != Family::V4) return;
    std::string dev = *r.route->dev;
    std::replace(dev.begin(), dev.end(), '.', '/');
    const std::string allKey = "net.ipv4.conf.all.rp_filter";
    const std::string devKey = "net.ipv4.conf." + dev + ".rp_filter";
    // The kernel uses the larger of the two; 1 is strict, 2 loose.
    if (std::max(sysctlInt(host, allKey), sysctlInt(host, devKey)) != 1) return;
    const ir::Sysctl* strict =
        sysctlInt(host, allKey) == 1 ? findSysctl(host, allKey) : findSysctl(host, devKey);
    auto& d = diags.report(Code::W011, strict ? strict->span : r.markRule.rule->span,
                           "strict reverse-path filtering on '" + *r.route->dev +
                               "' drops the replies of the traffic policy-routed into it (their "
                               "source is routed elsewhere by the main table)");
    d.notes.push_back({r.ipRule->span, "the fwmark rule that routes the traffic there"});
    d.hint = "set 'rp_filter " + *r.route->dev + " loose' (and not 'rp_filter all strict')";
}

bool hasGlobalIpv6(const ir::Host& host) {
    for (const auto& i : host.interfaces) {
        if (i.kind == ir::LinkKind::Loopback) continue;
        for (const auto& a : i.addresses) {
            if (a.addr.family != Family::V6) continue;
            const bool linkLocal = a.addr.bytes[0] == 0xfe && (a.addr.bytes[1] & 0xc0) == 0x80;
            if (!linkLocal) return true;
        }
    }
    return false;
}

void checkIpv6(const ir::Host& host, const std::vector<Reroute>& reroutes, Diagnostics& diags) {
    if (!hasGlobalIpv6(host)) return;
    for (const auto& r : reroutes) {
        if (r.family != Family::V4) continue;
        const bool routed = std::any_of(reroutes.begin(), reroutes.end(), [&](const auto& o) {
            return o.family == Family::V6 && o.selector == r.selector;
        });
        if (routed) continue;
        bool blocked = false;
        for (const auto& w : walkHook(host, "filter", "OUTPUT", Family::V6)) {
            const auto& t = w.rule->target;
            if (!std::holds_alternative<ir::Drop>(t) && !std::holds_alternative<ir::Reject>(t))
                continue;
            blocked =
                std::all_of(w.rule->matches.begin(), w.rule->matches.end(), [&](const auto& m) {
                    return std::find(r.selector.begin(), r.selector.end(), m) != r.selector.end();
                });
            if (blocked) break;
        }
        if (blocked) continue;
        auto& d = reportOnRule(diags, Code::W010, r.markRule,
                               "only IPv4 of these sockets is routed by mark " + hex(r.mark) +
                                   "; their IPv6 traffic leaves by the main table");
        d.hint =
            "give the path an IPv6 address, or reject their IPv6 in filter OUTPUT "
            "(an 'app' statement does this unless it says 'ipv6 allow')";
    }
}

void checkTproxy(const ir::Host& host, Diagnostics& diags) {
    for (const auto& t : host.tables) {
        for (const auto& c : t.chains) {
            for (size_t i = 0; i < c.rules.size(); ++i) {
                const auto* tp = std::get_if<ir::Tproxy>(&c.rules[i].target);
                if (!tp) continue;
                const WalkedRule w{&t, &c, i, &c.rules[i]};
                const std::string fam = tp->family == Family::V4 ? "IPv4" : "IPv6";
                if (tp->mark.mask == 0 || tp->mark.value == 0) {
                    reportOnRule(diags, Code::W007, w,
                                 "TPROXY sets no mark, so no ip rule can route its packets to the "
                                 "local socket")
                        .hint =
                        "add 'mark 0x1/0x1' and a 'rule fwmark 0x1/0x1 lookup 100' with "
                        "'route local default dev lo table 100'";
                    continue;
                }
                if (host.rulesOnly) continue;  // whether a local route exists is not known
                const ir::RoutingRule* rule = fwmarkRule(host, tp->family, tp->mark.value);
                const ir::Route* local = rule && rule->action == ir::RoutingRule::Action::Lookup
                                             ? defaultRoute(host, rule->table, tp->family)
                                             : nullptr;
                if (local && local->type == ir::Route::Type::Local) continue;
                std::string why =
                    !rule
                        ? "no " + fam + " ip rule selects mark " + hex(tp->mark.value)
                        : "table " + std::to_string(rule->table) + " has no 'local' default route";
                auto& d = reportOnRule(diags, Code::W007, w,
                                       "TPROXY marks packets " + hex(tp->mark.value) + "/" +
                                           hex(tp->mark.mask) + " but " + why +
                                           ": they are forwarded, never delivered to the proxy");
                if (rule) d.notes.push_back({rule->span, "the ip rule for that mark"});
                d.hint = "add 'rule " + std::string(tp->family == Family::V6 ? "ip6 " : "") +
                         "fwmark " + hex(tp->mark.value) + "/" + hex(tp->mark.mask) +
                         " lookup 100' and 'route " + (tp->family == Family::V6 ? "ip6 " : "") +
                         "local default dev lo table 100' (a 'tproxy' statement generates both)";
            }
        }
    }
}

/// Two fwmark rules to different tables that some mark satisfies both; and marks set on
/// packets that equal a tunnel's own fwmark.
void checkMarkCollisions(const ir::Host& host, Diagnostics& diags) {
    const auto& rules = host.routingRules;
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& a = rules[i];
        if (!a.fwmark || a.invert) continue;
        for (size_t j = i + 1; j < rules.size(); ++j) {
            const auto& b = rules[j];
            if (!b.fwmark || b.invert || b.family != a.family || b.table == a.table) continue;
            const uint32_t common = a.fwmark->mask & b.fwmark->mask;
            if (((a.fwmark->value ^ b.fwmark->value) & common) != 0) continue;
            auto& d = diags.report(
                Code::W009, b.span,
                "marks matching fwmark " + hex(b.fwmark->value) + "/" + hex(b.fwmark->mask) +
                    " can also match fwmark " + hex(a.fwmark->value) + "/" + hex(a.fwmark->mask) +
                    ", which an earlier rule sends to table " + std::to_string(a.table));
            d.notes.push_back({a.span, "the earlier rule"});
            d.hint = "give the two policies marks with no common value under their masks";
        }
    }
    for (const auto& tunnel : host.interfaces) {
        if (!tunnel.fwmark) continue;
        for (const auto& t : host.tables) {
            for (const auto& c : t.chains) {
                for (size_t i = 0; i < c.rules.size(); ++i) {
                    const auto* set = std::get_if<ir::SetMark>(&c.rules[i].target);
                    if (!set ||
                        (*tunnel.fwmark & set->mark.mask) != (set->mark.value & set->mark.mask))
                        continue;
                    auto& d = reportOnRule(diags, Code::W009, {&t, &c, i, &c.rules[i]},
                                           "this sets mark " + hex(set->mark.value) + ", tunnel '" +
                                               tunnel.name + "''s own fwmark");
                    d.notes.push_back({tunnel.span, "the tunnel"});
                    d.hint = "use another mark for the policy";
                }
            }
        }
    }
}

}  // namespace

void checkRouting(const ir::Host& host, Diagnostics& diags) {
    const std::vector<Reroute> reroutes = findReroutes(host);
    for (const auto& r : reroutes) {
        if (r.dev && r.dev->isTunnel()) checkLeak(host, r, diags);
        checkSnat(host, r, diags);
        checkRpFilter(host, r, diags);
    }
    checkIpv6(host, reroutes, diags);
    checkTproxy(host, diags);
    checkMarkCollisions(host, diags);
}

}  // namespace policyc::analyzer
