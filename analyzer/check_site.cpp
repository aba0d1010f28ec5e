// SPDX-License-Identifier: GPL-2.0-or-later
// site-mismatch: the hosts of one file must agree — tunnel ends pair up, a client's SNAT
// address is one its gateway masquerades, a port forward goes to an address some host owns.
#include <algorithm>

#include "analyzer/checks.h"
#include "analyzer/host_model.h"

namespace policyc::analyzer {
namespace {

struct Owned {
    const ir::Host* host;
    const ir::Interface* iface;
};

std::optional<Owned> ownerOf(const ir::Policy& policy, const ir::IpAddr& addr) {
    for (const auto& h : policy.hosts)
        for (const auto& i : h.interfaces)
            for (const auto& a : i.addresses)
                if (a.addr == addr) return Owned{&h, &i};
    return std::nullopt;
}

Diagnostic& mismatch(Diagnostics& diags, const ir::Host& host, SourceSpan span, std::string msg) {
    Diagnostic& d = diags.report(Code::W012, span, std::move(msg));
    d.host = host.name;
    return d;
}

void checkTunnels(const ir::Policy& policy, const ir::Host& host, Diagnostics& diags) {
    for (const auto& t : host.interfaces) {
        if (!t.isTunnel() || !t.peer) continue;
        auto peer = ownerOf(policy, *t.peer);
        if (!peer) {
            mismatch(
                diags, host, t.span,
                "tunnel '" + t.name + "''s peer " + t.peer->str() + " is no address of any host")
                .hint = "declare the other end's tunnel in its host, or fix the peer";
            continue;
        }
        const ir::Interface& other = *peer->iface;
        if (peer->host == &host || !other.isTunnel()) {
            mismatch(diags, host, t.span,
                     "tunnel '" + t.name + "''s peer " + t.peer->str() + " belongs to '" +
                         other.name + "' of host '" + peer->host->name +
                         "', which is not the other end of a tunnel");
            continue;
        }
        if (other.kind != t.kind) {
            mismatch(diags, host, t.span,
                     "tunnel '" + t.name + "' and its other end '" + other.name + "' on host '" +
                         peer->host->name + "' are of different kinds")
                .notes.push_back({other.span, "the other end"});
        }
        const bool backToUs =
            other.peer && std::any_of(t.addresses.begin(), t.addresses.end(),
                                      [&](const auto& a) { return a.addr == *other.peer; });
        if (!backToUs) {
            mismatch(diags, host, t.span,
                     "tunnel '" + t.name + "' points at '" + other.name + "' on host '" +
                         peer->host->name + "', whose peer is not this tunnel's address")
                .notes.push_back({other.span, "the other end"});
        }
        if (t.underlayRemote && !ownsAddress(*peer->host, *t.underlayRemote)) {
            mismatch(diags, host, t.span,
                     "tunnel '" + t.name + "''s remote " + t.underlayRemote->str() +
                         " is not an address of host '" + peer->host->name + "', its other end")
                .notes.push_back({other.span, "the other end"});
        }
    }
}

/// The gateway (owner of the tunnel peer) must source-NAT what this host SNATs to its tunnel
/// address, or those packets leave the gateway with a private source.
void checkGatewayNat(const ir::Policy& policy, const ir::Host& host, Diagnostics& diags) {
    for (const auto& w : walkHook(host, "nat", "POSTROUTING", ir::Family::V4)) {
        const auto* snat = std::get_if<ir::Nat>(&w.rule->target);
        if (!snat || snat->kind != ir::Nat::Kind::Snat || !snat->first) continue;
        const ir::Interface* out = nullptr;
        for (const auto& i : host.interfaces)
            for (const auto& a : i.addresses)
                if (a.addr == *snat->first) out = &i;
        if (!out || !out->isTunnel() || !out->peer) continue;
        auto gw = ownerOf(policy, *out->peer);
        if (!gw || gw->host == &host) continue;
        bool masqueraded = false;
        for (const auto& g : walkHook(*gw->host, "nat", "POSTROUTING", ir::Family::V4)) {
            const auto& t = g.rule->target;
            if (!std::holds_alternative<ir::Masquerade>(t) && !std::holds_alternative<ir::Nat>(t))
                continue;
            bool covers = true;
            for (const auto& m : g.rule->matches) {
                if (auto* a = std::get_if<ir::AddrMatch>(&m);
                    a && a->dir == ir::Direction::Source) {
                    const bool in =
                        std::any_of(a->items.begin(), a->items.end(), [&](const auto& i) {
                            auto* p = std::get_if<ir::Prefix>(&i);
                            return p && p->contains(*snat->first);
                        });
                    covers = covers && in != a->negated;
                }
            }
            masqueraded = masqueraded || covers;
        }
        if (masqueraded) continue;
        auto& d = mismatch(diags, host, w.rule->span,
                           "this SNATs to " + snat->first->str() + ", but gateway '" +
                               gw->host->name + "' masquerades no traffic from that address");
        d.hint = "add 'masquerade from " + snat->first->str() + "' (or its network) to host '" +
                 gw->host->name + "'";
    }
}

void checkForwards(const ir::Policy& policy, const ir::Host& host, Diagnostics& diags) {
    for (ir::Family f : {ir::Family::V4, ir::Family::V6}) {
        for (const auto& w : walkHook(host, "nat", "PREROUTING", f)) {
            const auto* dnat = std::get_if<ir::Nat>(&w.rule->target);
            if (!dnat || dnat->kind != ir::Nat::Kind::Dnat || !dnat->first || dnat->last) continue;
            if (ownerOf(policy, *dnat->first)) continue;
            mismatch(diags, host, w.rule->span,
                     "this forwards to " + dnat->first->str() + ", which no host of the site owns")
                .hint = "fix the address, or declare the host that owns it";
        }
    }
}

}  // namespace

void checkSite(const ir::Policy& policy, Diagnostics& diags) {
    if (policy.hosts.size() < 2) return;
    for (const auto& h : policy.hosts) {
        checkTunnels(policy, h, diags);
        checkGatewayNat(policy, h, diags);
        checkForwards(policy, h, diags);
    }
}

}  // namespace policyc::analyzer
