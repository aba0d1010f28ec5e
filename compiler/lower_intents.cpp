// SPDX-License-Identifier: GPL-2.0-or-later
// Intents: one declaration -> the rules, ip rules, routes and sysctls the kernel needs for it.
// This is where the scenarios' hard-won facts live (../shared/design/scenarios.md):
//  - app (S1/S4): owner -> mark in mangle OUTPUT (a `type route` chain in nft, so the mark
//    re-routes), `fwmark` rule + table with the tunnel's default route, the SNAT the reroute
//    needs, an `iif` rule for replies, and BOTH halves of the tunnel exclusion (a RETURN for the
//    tunnel's own outer packets before the owner rule, and an ip rule sending the underlay peer
//    to main before the fwmark rule), plus an IPv6 block when the path has no IPv6 address.
//  - tproxy (S3): TPROXY in mangle PREROUTING, the socket divert for established TCP flows, and
//    the fwmark rule to a table whose default route is `local`.
#include <algorithm>

#include "compiler/lower_host.h"

namespace policyc {

uint32_t HostBuilder::allocateMark() {
    uint32_t m = 1;
    while (usedMarks.count(m)) ++m;
    usedMarks.insert(m);
    return m;
}

uint32_t HostBuilder::allocateTable() {
    uint32_t t = 100;
    while (usedTables.count(t) || (t >= ir::kTableDefault && t <= ir::kTableLocal)) ++t;
    usedTables.insert(t);
    return t;
}

uint32_t HostBuilder::allocatePriorityBlock(uint32_t size) {
    const uint32_t step = (size + 9) / 10 * 10;  // blocks start at multiples of 10
    auto blockFree = [&](uint32_t p) {
        for (uint32_t i = 0; i < step; ++i)
            if (usedPriorities.count(p + i)) return false;
        return true;
    };
    uint32_t p = nextIntentPriority;
    while (!blockFree(p)) p += 10;
    for (uint32_t i = 0; i < step; ++i) usedPriorities.insert(p + i);
    nextIntentPriority = p + step;
    return p;
}

namespace {

using ir::Family;

const ast::Clause* prop(const ast::Item& item, std::string_view key) {
    for (const auto& p : item.props)
        if (p.key == key) return &p;
    return nullptr;
}

const ast::Value* propArg(const ast::Item& item, std::string_view key) {
    const ast::Clause* p = prop(item, key);
    return p && !p->args.empty() ? &p->args[0] : nullptr;
}

std::optional<ir::Prefix> firstAddress(const ir::Interface& i, Family f) {
    for (const auto& a : i.addresses) {
        if (a.addr.family != f) continue;
        // fe80::/10 cannot be a SNAT source for routed traffic
        if (f == Family::V6 && a.addr.bytes[0] == 0xfe && (a.addr.bytes[1] & 0xc0) == 0x80)
            continue;
        return a;
    }
    return std::nullopt;
}

std::string sysctlIface(std::string name) {
    std::replace(name.begin(), name.end(), '.', '/');  // /proc/sys spells dots in names as '/'
    return name;
}

ir::Rule makeRule(SourceSpan span, std::vector<ir::Match> matches, ir::Target target) {
    ir::Rule r;
    r.matches = std::move(matches);
    ir::sortMatches(r.matches);
    r.target = std::move(target);
    r.span = span;
    return r;
}

ir::Prefix hostPrefix(const ir::IpAddr& a) {
    return ir::Prefix{a, static_cast<uint8_t>(a.family == Family::V4 ? 32 : 128)};
}

ir::Prefix defaultPrefix(Family f) { return ir::Prefix{ir::IpAddr{f, {}}, 0}; }

const ir::Interface* findLink(const ast::Value* v, HostBuilder& b, ValueReader& values,
                              std::string_view what) {
    if (!v) return nullptr;
    auto name = values.word(*v, what);
    if (!name) return nullptr;
    const ir::Interface* i = b.host.findInterface(*name);
    if (!i) {
        values.diags()
            .report(Code::E101, v->span,
                    "host '" + b.host.name + "' has no interface '" + *name + "'")
            .hint =
            "declare it with 'interface " + *name + " { ... }' or 'tunnel " + *name + " { ... }'";
    }
    return i;
}

std::optional<uint32_t> explicitMark(const ast::Value* v, ValueReader& values) {
    if (!v) return std::nullopt;
    auto n = values.number(*v, 0xffffffff, "mark");
    if (n && *n == 0) {
        values.diags().report(Code::E103, v->span,
                              "mark 0 is every unmarked packet; use 1 or more");
        return std::nullopt;
    }
    if (!n) return std::nullopt;
    return static_cast<uint32_t>(*n);
}

/// The mark, routing table and first rule priority of an intent: as given, or allocated.
struct RoutingSlot {
    uint32_t mark = 0;
    uint32_t table = 0;
    uint32_t priority = 0;
};

/// `rules` is how many ip rules the intent needs, so an allocated block holds them all.
std::optional<RoutingSlot> routingSlot(const ast::Item& item, HostBuilder& b, ValueReader& values,
                                       uint32_t rules) {
    RoutingSlot slot;
    if (const ast::Value* v = propArg(item, "mark")) {
        auto mark = explicitMark(v, values);
        if (!mark) return std::nullopt;
        slot.mark = *mark;
    } else {
        slot.mark = b.allocateMark();
    }
    if (const ast::Value* t = propArg(item, "table")) {
        auto table = values.routeTable(*t);
        if (!table) return std::nullopt;
        slot.table = *table;
    } else {
        slot.table = b.allocateTable();
    }
    if (const ast::Value* p = propArg(item, "priority")) {
        auto n = values.number(*p, 0xffffffff - 10, "priority");
        if (!n || *n == 0) return std::nullopt;
        slot.priority = static_cast<uint32_t>(*n);
    } else {
        slot.priority = b.allocatePriorityBlock(rules);
    }
    return slot;
}

void addSysctl(HostBuilder& b, ValueReader& values, const std::string& key,
               const std::string& value, SourceSpan span) {
    for (const auto& s : b.host.sysctls) {
        if (s.key == key) {
            values.diags()
                .report(Code::E102, span, "sysctl '" + key + "' is set twice")
                .notes.push_back({s.span, "first set here"});
            return;
        }
    }
    b.host.sysctls.push_back(ir::Sysctl{key, value, span});
}

// ---- app ---------------------------------------------------------------------------------

/// The socket selectors of an app: one owner/cgroup match per value.
std::vector<ir::Match> appSelectors(const ast::Item& item, ValueReader& values) {
    std::vector<ir::Match> out;
    for (const auto& p : item.props) {
        if (p.key != "user" && p.key != "group" && p.key != "cgroup") continue;
        for (const ast::Value* v : values.flatten(p.args)) {
            if (p.key == "cgroup") {
                if (auto path = values.word(*v, "cgroup path"))
                    out.push_back(ir::CgroupMatch{false, *path});
                continue;
            }
            const bool group = p.key == "group";
            if (auto ids = values.ownerIds(*v, group))
                out.push_back(ir::OwnerMatch{
                    group ? ir::OwnerMatch::Kind::Gid : ir::OwnerMatch::Kind::Uid, false, *ids});
        }
    }
    return out;
}

/// The tunnel's own encapsulated packets still carry the application's socket and mark
/// (scenario S4); these rules keep them out of the owner match.
void tunnelExclusion(const ir::Interface& via, HostBuilder& b, SourceSpan span) {
    if (via.kind == ir::LinkKind::WireGuard && via.fwmark) {
        b.generate("mangle", "OUTPUT",
                   makeRule(span, {ir::MarkMatch{false, {*via.fwmark, 0xffffffff}}}, ir::Return{}));
    }
    if (via.underlayRemote) {
        std::vector<ir::Match> m = {
            ir::AddrMatch{ir::Direction::Destination, false, {hostPrefix(*via.underlayRemote)}}};
        if (via.underlayPort && via.kind != ir::LinkKind::Tunnel) {
            m.push_back(ir::ProtoMatch{17, false});
            m.push_back(ir::PortMatch{
                ir::Direction::Destination, false, {{*via.underlayPort, *via.underlayPort}}});
        }
        b.generate("mangle", "OUTPUT", makeRule(span, std::move(m), ir::Return{}));
    }
}

void lowerApp(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    Diagnostics& diags = values.diags();
    const SourceSpan span = item.span;
    std::vector<ir::Match> selectors = appSelectors(item, values);
    if (!prop(item, "user") && !prop(item, "group") && !prop(item, "cgroup")) {
        diags.report(Code::E106, item.nameSpan, "app '" + item.name + "' selects no sockets").hint =
            "add 'user UID', 'group GID' or 'cgroup \"/path\"'";
        return;
    }
    const ast::Value* viaValue = propArg(item, "via");
    if (!viaValue) {
        diags.report(Code::E106, item.nameSpan, "app '" + item.name + "' has no 'via INTERFACE'");
        return;
    }
    const ir::Interface* via = findLink(viaValue, b, values, "interface");
    if (!via || selectors.empty()) return;

    std::string ipv6Mode = "block";
    if (const ast::Value* v = propArg(item, "ipv6")) {
        auto w = values.word(*v, "ipv6 mode");
        if (w && *w != "block" && *w != "allow") {
            diags.report(Code::E104, v->span, "ipv6 is 'block' or 'allow'");
            return;
        }
        if (w) ipv6Mode = *w;
    }

    std::vector<ir::NumRange> uids;
    for (const auto& sel : selectors)
        if (auto* o = std::get_if<ir::OwnerMatch>(&sel); o && o->kind == ir::OwnerMatch::Kind::Uid)
            uids.push_back(o->ids);
    const uint32_t rulesPerFamily = 3 + static_cast<uint32_t>(uids.size());
    auto slot = routingSlot(item, b, values, 2 * rulesPerFamily);
    if (!slot) return;
    const uint32_t m = slot->mark;
    const uint32_t table = slot->table;
    const uint32_t prio = slot->priority;

    const auto v4 = firstAddress(*via, Family::V4);
    const auto v6 = firstAddress(*via, Family::V6);
    const bool routeV6 = v6.has_value();

    // mangle OUTPUT: exclusion first, then the owner marks.
    if (via->isTunnel()) tunnelExclusion(*via, b, span);
    for (const auto& sel : selectors) {
        b.generate("mangle", "OUTPUT", makeRule(span, {sel}, ir::SetMark{{m, 0xffffffff}}));
    }
    // nat POSTROUTING: the first route decision chose the source address; fix it to the path's.
    for (const auto& addr : {v4, v6}) {
        if (!addr) continue;
        ir::Nat snat{ir::Nat::Kind::Snat, addr->addr, std::nullopt, std::nullopt};
        b.generate("nat", "POSTROUTING",
                   makeRule(span,
                            {ir::IfaceMatch{ir::IfaceDirection::Out, false, via->name},
                             ir::MarkMatch{false, {m, 0xffffffff}}},
                            snat));
    }
    // IPv6 of the application must not leave by the main table's route when the path has none.
    if (!routeV6 && ipv6Mode == "block") {
        for (const auto& sel : selectors)
            b.generate("filter", "OUTPUT",
                       makeRule(span, {sel}, ir::Reject{"icmp6-adm-prohibited"}));
    }

    std::vector<Family> families = {Family::V4};
    if (routeV6) families.push_back(Family::V6);
    uint32_t p = prio;
    for (Family f : families) {
        if (via->underlayRemote && via->underlayRemote->family == f) {
            ir::RoutingRule excl;
            excl.family = f;
            excl.priority = p++;
            excl.to = hostPrefix(*via->underlayRemote);
            excl.table = ir::kTableMain;
            excl.span = span;
            b.host.routingRules.push_back(excl);
        }
        ir::RoutingRule byMark;
        byMark.family = f;
        byMark.priority = p++;
        byMark.fwmark = ir::MarkMask{m, 0xffffffff};
        byMark.table = table;
        byMark.span = span;
        b.host.routingRules.push_back(byMark);
        ir::RoutingRule replies = byMark;
        replies.priority = p++;
        replies.fwmark.reset();
        replies.iif = via->name;
        b.host.routingRules.push_back(replies);
        // By uid too, so the first route decision already picks the path and its source address.
        // Without it, a socket bound to 0.0.0.0 gets the main table's source, the mark reroutes
        // the packet and the SNAT must rewrite it, which clashes with a forwarded flow's own
        // conntrack entry (a UDP reply to a port forward leaves with another source port). It
        // comes after the tunnel exclusion: the tunnel's outer packets carry the same uid.
        for (const auto& u : uids) {
            ir::RoutingRule byUid = replies;
            byUid.priority = p++;
            byUid.iif.reset();
            byUid.uidrange = u;
            b.host.routingRules.push_back(byUid);
        }

        ir::Route r;
        r.table = table;
        r.dst = defaultPrefix(f);
        if (via->peer && via->peer->family == f) r.via = via->peer;
        r.dev = via->name;
        r.span = span;
        b.host.routes.push_back(r);
    }
    // Replies to the application arrive on the tunnel while the main table points elsewhere:
    // strict reverse-path filtering would drop them, loose keeps them.
    b.defaultSysctls.push_back(
        ir::Sysctl{"net.ipv4.conf." + sysctlIface(via->name) + ".rp_filter", "2", span});
}

// ---- tproxy ------------------------------------------------------------------------------

void lowerTproxy(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    Diagnostics& diags = values.diags();
    const SourceSpan span = item.span;
    const ir::Interface* in = findLink(propArg(item, "in"), b, values, "interface");
    std::vector<uint8_t> protos;
    for (const ast::Value* v : values.flatten(prop(item, "proto")->args)) {
        auto p = values.protocol(*v);
        if (!p) return;
        if (*p != 6 && *p != 17) {
            diags.report(Code::E104, v->span, "tproxy works for tcp and udp only");
            return;
        }
        protos.push_back(*p);
    }
    auto ports = values.ports(prop(item, "port")->args);
    const ast::Value* to = propArg(item, "to");
    auto spec = values.natSpec(*to, std::nullopt);
    if (!in || !ports || !spec) return;
    if (!spec->ports || !spec->ports->single() || spec->last) {
        diags.report(Code::E104, to->span, "tproxy delivers to one local port: to [ADDR]:PORT");
        return;
    }
    auto slot = routingSlot(item, b, values, 2);
    if (!slot) return;
    const uint32_t m = slot->mark;
    const uint32_t table = slot->table;
    const uint32_t prio = slot->priority;

    std::vector<Family> families;
    if (spec->first) {
        families.push_back(spec->first->family);
    } else {
        if (firstAddress(*in, Family::V4) || in->addresses.empty()) families.push_back(Family::V4);
        if (firstAddress(*in, Family::V6)) families.push_back(Family::V6);
    }
    const ir::MarkMask tmark{m, m};
    const ir::IfaceMatch inMatch{ir::IfaceDirection::In, false, in->name};
    // Packets of TCP flows that already have a transparent socket: mark them so the ip rule
    // delivers them locally, without a second TPROXY lookup.
    if (std::find(protos.begin(), protos.end(), 6) != protos.end()) {
        b.generate("mangle", "PREROUTING",
                   makeRule(span, {inMatch, ir::ProtoMatch{6, false}, ir::SocketMatch{true}},
                            ir::SetMark{tmark}));
    }
    for (Family f : families) {
        for (uint8_t proto : protos) {
            ir::Tproxy t{f, spec->first, static_cast<uint16_t>(spec->ports->first), tmark};
            b.generate("mangle", "PREROUTING",
                       makeRule(span,
                                {inMatch, ir::ProtoMatch{proto, false},
                                 ir::PortMatch{ir::Direction::Destination, false, *ports}},
                                t));
        }
    }
    uint32_t p = prio;
    for (Family f : families) {
        ir::RoutingRule r;
        r.family = f;
        r.priority = p++;
        r.fwmark = tmark;
        r.table = table;
        r.span = span;
        b.host.routingRules.push_back(r);
        ir::Route local;
        local.type = ir::Route::Type::Local;
        local.table = table;
        local.dst = defaultPrefix(f);
        local.dev = "lo";
        local.span = span;
        b.host.routes.push_back(local);
    }
}

// ---- NAT and forwarding ------------------------------------------------------------------

void lowerMasquerade(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    std::vector<ir::Match> m;
    if (const ast::Clause* from = prop(item, "from")) {
        ir::AddrMatch src{ir::Direction::Source, false, {}};
        std::optional<Family> fam;
        for (const ast::Value* v : values.flatten(from->args)) {
            auto a = values.addrItem(*v, fam);
            if (!a) return;
            fam = ir::familyOf(*a);
            if (auto* p = std::get_if<ir::Prefix>(&*a)) *p = p->network();
            src.items.push_back(*a);
        }
        m.push_back(src);
    }
    if (const ast::Value* out = propArg(item, "out")) {
        const ir::Interface* i = findLink(out, b, values, "interface");
        if (!i) return;
        m.push_back(ir::IfaceMatch{ir::IfaceDirection::Out, false, i->name});
    }
    b.generate("nat", "POSTROUTING", makeRule(item.span, std::move(m), ir::Masquerade{}));
}

void lowerForward(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    auto ports = values.ports(prop(item, "port")->args);
    const ast::Value* to = propArg(item, "to");
    auto spec = values.natSpec(*to, std::nullopt);
    std::optional<ir::IfaceMatch> in;
    if (const ast::Value* v = propArg(item, "in")) {
        const ir::Interface* i = findLink(v, b, values, "interface");
        if (!i) return;
        in = ir::IfaceMatch{ir::IfaceDirection::In, false, i->name};
    }
    if (!ports || !spec) return;
    if (!spec->first) {
        values.diags().report(Code::E104, to->span,
                              "forward needs a destination address: to ADDR[:PORT]");
        return;
    }
    for (const ast::Value* v : values.flatten(prop(item, "proto")->args)) {
        auto p = values.protocol(*v);
        if (!p) return;
        if (*p != 6 && *p != 17 && *p != 132) {
            values.diags().report(Code::E104, v->span, "forward works for tcp, udp and sctp");
            return;
        }
        std::vector<ir::Match> m = {ir::ProtoMatch{*p, false},
                                    ir::PortMatch{ir::Direction::Destination, false, *ports}};
        if (in) m.push_back(*in);
        b.generate("nat", "PREROUTING",
                   makeRule(item.span, std::move(m),
                            ir::Nat{ir::Nat::Kind::Dnat, spec->first, spec->last, spec->ports}));
    }
}

void lowerForwarding(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    if (item.name != "ipv4" && item.name != "ipv6" && item.name != "all") {
        values.diags().report(Code::E104, item.nameSpan, "forwarding is 'ipv4', 'ipv6' or 'all'");
        return;
    }
    if (item.name != "ipv6") addSysctl(b, values, "net.ipv4.conf.all.forwarding", "1", item.span);
    if (item.name != "ipv4") addSysctl(b, values, "net.ipv6.conf.all.forwarding", "1", item.span);
}

void lowerRpFilter(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    if (item.name != "all" && item.name != "default" && !b.host.findInterface(item.name)) {
        values.diags().report(Code::E101, item.nameSpan,
                              "host '" + b.host.name + "' has no interface '" + item.name + "'");
        return;
    }
    auto mode = values.word(item.args.at(0), "rp_filter mode");
    if (!mode) return;
    std::string v = *mode == "off" ? "0" : *mode == "strict" ? "1" : *mode == "loose" ? "2" : "";
    if (v.empty()) {
        values.diags().report(Code::E104, item.args[0].span,
                              "rp_filter is 'strict', 'loose' or 'off'");
        return;
    }
    addSysctl(b, values, "net.ipv4.conf." + sysctlIface(item.name) + ".rp_filter", v, item.span);
}

}  // namespace

void reserveIntentResources(const ast::Item& item, HostBuilder& b) {
    // Errors are reported when the intent itself is lowered; this pass only looks.
    Diagnostics scratch;
    static const Definitions kNoDefinitions;
    ValueReader quiet(kNoDefinitions, scratch);
    for (const auto& p : item.props) {
        if (p.args.empty() || p.args[0].kind != ast::Value::Kind::Atom) continue;
        if (p.key == "mark") {
            if (auto n = quiet.number(p.args[0], 0xffffffff, "mark"))
                b.usedMarks.insert(static_cast<uint32_t>(*n));
        } else if (p.key == "table") {
            if (auto t = quiet.routeTable(p.args[0])) b.usedTables.insert(*t);
        }
    }
}

void lowerIntent(const ast::Item& item, HostBuilder& b, ValueReader& values) {
    const std::string& k = item.kind;
    if (k == "app")
        lowerApp(item, b, values);
    else if (k == "tproxy")
        lowerTproxy(item, b, values);
    else if (k == "masquerade")
        lowerMasquerade(item, b, values);
    else if (k == "forward")
        lowerForward(item, b, values);
    else if (k == "forwarding")
        lowerForwarding(item, b, values);
    else if (k == "rp_filter")
        lowerRpFilter(item, b, values);
}

}  // namespace policyc
