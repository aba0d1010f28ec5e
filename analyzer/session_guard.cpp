// SPDX-License-Identifier: GPL-2.0-or-later
#include "analyzer/session_guard.h"

#include <charconv>
#include <sstream>
#include <vector>

#include "analyzer/host_model.h"
#include "analyzer/match_space.h"

namespace policyc::analyzer {
namespace {

void pin(Box& box, Dim d, U128 value) {
    box.iv[static_cast<size_t>(d)] = IntervalSet::point(value);
}

/// Every established TCP packet from src:sport to dst:dport, whatever else it carries.
Box sessionBox(const ir::IpAddr& src, uint16_t sport, const ir::IpAddr& dst, uint16_t dport) {
    Box box = Box::full(src.family, ProtoClass::Ports);
    pin(box, Dim::Src, addrValue(src));
    pin(box, Dim::Dst, addrValue(dst));
    pin(box, Dim::Proto, 6);
    pin(box, Dim::Sport, sport);
    pin(box, Dim::Dport, dport);
    pin(box, Dim::CtState, 2);  // bit 2: kCtEstablished
    return box;
}

bool covers(const RuleSpace& space, const Box& packet) {
    if (space.sometimes) return false;
    std::vector<Box> left{packet};
    for (const Box& c : space.coverBoxes()) {
        std::vector<Box> next;
        for (const Box& b : left) subtract(b, c, next);
        left = std::move(next);
        if (left.empty()) return true;
    }
    return left.empty();
}

bool intersects(const RuleSpace& space, const Box& packet) {
    if (!space.modelled) return true;
    for (const Box& b : space.boxes)
        if (b.sameKind(packet) && b.intersects(packet)) return true;
    return false;
}

std::optional<SessionCut> cutAt(const ir::Host& host, std::string_view hook, const Box& packet) {
    SpaceBuilder builder;
    for (const WalkedRule& w : walkHook(host, "filter", hook, packet.family)) {
        const ir::Target& t = w.rule->target;
        const bool drops =
            std::holds_alternative<ir::Drop>(t) || std::holds_alternative<ir::Reject>(t);
        const bool accepts = std::holds_alternative<ir::Accept>(t);
        if (!drops && !accepts) continue;
        const RuleSpace space = builder.build(*w.rule, w.table->family);
        if (!intersects(space, packet)) continue;
        if (drops) {
            std::ostringstream where;
            where << "filter " << w.chain->name << " rule " << w.index + 1;
            return SessionCut{where.str(), w.rule->span};
        }
        if (space.modelled && covers(space, packet)) return std::nullopt;
    }
    for (const auto& t : host.tables) {
        if (t.name != "filter") continue;
        if (t.family != ir::TableFamily::Inet &&
            (t.family == ir::TableFamily::Ip) != (packet.family == ir::Family::V4))
            continue;
        for (const auto& c : t.chains)
            if (c.name == hook && c.policy == ir::ChainPolicy::Drop)
                return SessionCut{"filter " + std::string(hook) + " policy DROP", c.span};
    }
    return std::nullopt;
}

std::optional<uint16_t> port(std::string_view text) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v == 0 || v > 65535)
        return std::nullopt;
    return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<SshSession> parseSshConnection(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string client, cport, server, sport, extra;
    if (!(in >> client >> cport >> server >> sport) || (in >> extra)) return std::nullopt;
    auto c = ir::IpAddr::parse(client);
    auto s = ir::IpAddr::parse(server);
    auto cp = port(cport);
    auto sp = port(sport);
    if (!c || !s || !cp || !sp || c->family != s->family) return std::nullopt;
    return SshSession{*c, *cp, *s, *sp};
}

std::optional<SessionCut> sessionCut(const ir::Host& host, const SshSession& session) {
    if (auto cut = cutAt(
            host, "INPUT",
            sessionBox(session.client, session.clientPort, session.server, session.serverPort)))
        return cut;
    return cutAt(
        host, "OUTPUT",
        sessionBox(session.server, session.serverPort, session.client, session.clientPort));
}

}  // namespace policyc::analyzer
