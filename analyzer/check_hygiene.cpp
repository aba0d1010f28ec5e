// SPDX-License-Identifier: GPL-2.0-or-later
// Rules that can never run, NAT that needs forwarding the policy leaves off, and a default-drop
// input policy that would lock the administrator out.
#include <algorithm>

#include "analyzer/checks.h"
#include "analyzer/host_model.h"

namespace policyc::analyzer {
namespace {

using ir::Family;

void checkUnreachable(const ir::Host& host, Diagnostics& diags) {
    for (const auto& t : host.tables) {
        for (const auto& c : t.chains) {
            for (size_t i = 0; i + 1 < c.rules.size(); ++i) {
                const ir::Rule& stop = c.rules[i];
                if (!stop.matches.empty() || !isTerminal(stop.target)) continue;
                for (size_t j = i + 1; j < c.rules.size(); ++j) {
                    auto& d = reportOnRule(diags, Code::W003, {&t, &c, j, &c.rules[j]},
                                           "rule can never run: an earlier rule of chain '" +
                                               c.name + "' ends every packet's walk");
                    d.notes.push_back({stop.span, "the unconditional rule"});
                    d.hint = "remove it, or give the earlier rule a condition";
                }
                break;
            }
        }
    }
}

/// Routed (not local) traffic that this NAT rule is for, or nullopt when it is the host's own.
std::optional<Family> routedFamily(const ir::Host& host, const WalkedRule& w) {
    const ir::Rule& r = *w.rule;
    if (const auto* n = std::get_if<ir::Nat>(&r.target); n && n->kind == ir::Nat::Kind::Dnat) {
        if (n->first && !ownsAddress(host, *n->first)) return n->first->family;
        return std::nullopt;
    }
    const bool srcNat = std::holds_alternative<ir::Masquerade>(r.target) ||
                        std::holds_alternative<ir::Nat>(r.target);
    if (!srcNat) return std::nullopt;
    // Source NAT of packets coming in on an interface, or from a network rather than one of the
    // host's own addresses, is for forwarded traffic.
    for (const auto& m : r.matches) {
        if (auto* i = std::get_if<ir::IfaceMatch>(&m); i && i->dir == ir::IfaceDirection::In)
            return ir::ruleFamily(r).value_or(Family::V4);
        if (auto* a = std::get_if<ir::AddrMatch>(&m);
            a && a->dir == ir::Direction::Source && !a->negated) {
            const bool ownHost =
                std::all_of(a->items.begin(), a->items.end(), [&](const auto& item) {
                    auto* p = std::get_if<ir::Prefix>(&item);
                    return p && p->isHost() && ownsAddress(host, p->addr);
                });
            if (!ownHost) return ir::familyOf(a->items[0]);
        }
    }
    return std::nullopt;
}

void checkForwarding(const ir::Host& host, Diagnostics& diags) {
    if (host.rulesOnly) return;  // whether forwarding is on is not known
    bool reported[2] = {false, false};
    for (Family f : {Family::V4, Family::V6}) {
        const std::string key =
            f == Family::V4 ? "net.ipv4.conf.all.forwarding" : "net.ipv6.conf.all.forwarding";
        auto on = sysctlValue(host, key);
        if (!on && f == Family::V4) on = sysctlValue(host, "net.ipv4.ip_forward");
        if (on && *on != "0") continue;
        for (const char* hook : {"PREROUTING", "POSTROUTING"}) {
            for (const auto& w : walkHook(host, "nat", hook, f)) {
                auto fam = routedFamily(host, w);
                if (!fam || *fam != f || reported[static_cast<int>(f)]) continue;
                reported[static_cast<int>(f)] = true;
                auto& d =
                    reportOnRule(diags, Code::W008, w,
                                 std::string("this NAT is for routed traffic, but the policy ") +
                                     (on ? "turns " : "does not turn ") +
                                     (f == Family::V4 ? "IPv4" : "IPv6") + " forwarding on");
                if (const ir::Sysctl* s = findSysctl(host, key))
                    d.notes.push_back({s->span, "set here"});
                d.hint =
                    std::string("add 'forwarding ") + (f == Family::V4 ? "ipv4" : "ipv6") + "'";
            }
        }
    }
}

/// Whether a rule accepts new SSH connections (tcp port 22), perhaps only from some sources.
bool keepsSsh(const ir::Rule& r) {
    if (!std::holds_alternative<ir::Accept>(r.target)) return false;
    for (const auto& m : r.matches) {
        const bool ok = std::visit(
            [](const auto& v) -> bool {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, ir::ProtoMatch>) return (v.proto == 6) != v.negated;
                if constexpr (std::is_same_v<T, ir::PortMatch>)
                    return v.dir == ir::Direction::Source ||
                           std::any_of(v.ports.begin(), v.ports.end(), [](const auto& p) {
                               return p.first <= 22 && 22 <= p.last;
                           }) != v.negated;
                if constexpr (std::is_same_v<T, ir::CtStateMatch>)
                    return ((v.states & ir::kCtNew) != 0) != v.negated;
                // a connection opens with a SYN alone: does the flags test let it in?
                if constexpr (std::is_same_v<T, ir::TcpFlagsMatch>)
                    return ((0x02 & v.mask) == v.comp) != v.negated;
                // Loopback is not remote management: `iif lo accept` keeps nobody's SSH open.
                if constexpr (std::is_same_v<T, ir::IfaceMatch>)
                    return v.dir == ir::IfaceDirection::In && (v.name != "lo") != v.negated;
                // addresses, limits... restrict who may log in, not whether anyone can
                return std::is_same_v<T, ir::AddrMatch> || std::is_same_v<T, ir::LimitMatch> ||
                       std::is_same_v<T, ir::MacMatch>;
            },
            m);
        if (!ok) return false;
    }
    return true;
}

void checkLockout(const ir::Host& host, Diagnostics& diags) {
    for (const auto& t : host.tables) {
        if (t.name != "filter" || t.family == ir::TableFamily::Ip6) continue;
        for (const auto& c : t.chains) {
            if (c.name != "INPUT" || c.policy != ir::ChainPolicy::Drop) continue;
            const auto walk = walkHook(host, "filter", "INPUT", Family::V4);
            if (std::any_of(walk.begin(), walk.end(),
                            [](const auto& w) { return keepsSsh(*w.rule); }))
                continue;
            auto& d = diags.report(Code::W013, c.span,
                                   "INPUT drops by default and no rule accepts new SSH connections "
                                   "(tcp port 22): applying this cuts remote management");
            d.hint =
                "add e.g. 'ip saddr ADMIN-NETWORK tcp dport 22 accept' before relying on the "
                "policy";
        }
    }
}

}  // namespace

void checkHygiene(const ir::Host& host, Diagnostics& diags) {
    checkUnreachable(host, diags);
    checkForwarding(host, diags);
    checkLockout(host, diags);
}

}  // namespace policyc::analyzer
