// SPDX-License-Identifier: GPL-2.0-or-later
// Encode/decode of routing rules and routes. The encodings follow iproute2 6.1 (iprule.c,
// iproute.c) field by field, so that what policyc installs lists exactly like the `ip -batch`
// rendering loaded by `ip`: tables over 255 only in FRA_TABLE/RTA_TABLE, route scopes by type.
#include "backends/netlink/routing_rtnl.h"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <sstream>

#include "backends/text/routing_tag.h"

namespace policyc::backends::netlink {

namespace {

using ir::Family;
using ir::Route;
using ir::RoutingRule;

constexpr size_t kMessageRoom = 512;  // the largest rule or route is far below this
constexpr uint32_t kAllOnes = 0xffffffff;

/// A message under construction; finish() trims it to its length.
class Builder {
  public:
    Builder(uint16_t type, uint16_t flags) : buf_(kMessageRoom) {
        nlh_ = mnl_nlmsg_put_header(buf_.data());
        nlh_->nlmsg_type = type;
        nlh_->nlmsg_flags = NLM_F_REQUEST | flags;
    }
    template <typename Header>
    Header* header() {
        return static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(Header)));
    }
    nlmsghdr* nlh() { return nlh_; }
    Message finish() {
        buf_.resize(nlh_->nlmsg_len);
        return std::move(buf_);
    }

  private:
    Message buf_;
    nlmsghdr* nlh_;
};

uint8_t addressFamily(Family f) { return f == Family::V4 ? AF_INET : AF_INET6; }
size_t addressLength(Family f) { return f == Family::V4 ? 4 : 16; }

std::optional<Family> irFamily(uint8_t af) {
    if (af == AF_INET) return Family::V4;
    if (af == AF_INET6) return Family::V6;
    return std::nullopt;
}

void putAddress(nlmsghdr* nlh, uint16_t type, const ir::IpAddr& addr) {
    mnl_attr_put(nlh, type, addressLength(addr.family), addr.bytes.data());
}

std::optional<ir::IpAddr> getAddress(const nlattr* attr, Family family) {
    if (!attr || mnl_attr_get_payload_len(attr) != addressLength(family)) return std::nullopt;
    ir::IpAddr addr;
    addr.family = family;
    std::memcpy(addr.bytes.data(), mnl_attr_get_payload(attr), addressLength(family));
    return addr;
}

template <size_t N>
using AttrTable = std::array<const nlattr*, N + 1>;

template <size_t N>
AttrTable<N> parseAttributes(const nlmsghdr& nlh, size_t headerSize) {
    AttrTable<N> table{};
    mnl_attr_parse(
        &nlh, static_cast<unsigned>(headerSize),
        [](const nlattr* attr, void* data) {
            auto& t = *static_cast<AttrTable<N>*>(data);
            const uint16_t type = mnl_attr_get_type(attr);
            if (type <= N) t[type] = attr;
            return MNL_CB_OK;
        },
        &table);
    return table;
}

uint32_t u32Or(const nlattr* attr, uint32_t fallback) {
    if (!attr || mnl_attr_get_payload_len(attr) < sizeof(uint32_t)) return fallback;
    return mnl_attr_get_u32(attr);
}

// Attribute payloads are read only when long enough: a short one would be read past its end.
uint8_t u8Or(const nlattr* attr, uint8_t fallback) {
    if (!attr || mnl_attr_get_payload_len(attr) < sizeof(uint8_t)) return fallback;
    return mnl_attr_get_u8(attr);
}

std::optional<std::string> stringOf(const nlattr* attr) {
    if (!attr || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
    return std::string(mnl_attr_get_str(attr));
}

// Table-driven vocabularies: IR action/type <-> kernel number.
constexpr std::array<std::pair<RoutingRule::Action, uint8_t>, 4> kRuleActions{{
    {RoutingRule::Action::Lookup, FR_ACT_TO_TBL},
    {RoutingRule::Action::Blackhole, FR_ACT_BLACKHOLE},
    {RoutingRule::Action::Unreachable, FR_ACT_UNREACHABLE},
    {RoutingRule::Action::Prohibit, FR_ACT_PROHIBIT},
}};

constexpr std::array<std::pair<Route::Type, uint8_t>, 5> kRouteTypes{{
    {Route::Type::Unicast, RTN_UNICAST},
    {Route::Type::Local, RTN_LOCAL},
    {Route::Type::Blackhole, RTN_BLACKHOLE},
    {Route::Type::Unreachable, RTN_UNREACHABLE},
    {Route::Type::Prohibit, RTN_PROHIBIT},
}};

template <typename Ir, size_t N>
uint8_t toKernel(const std::array<std::pair<Ir, uint8_t>, N>& table, Ir value) {
    for (const auto& [ir, kernel] : table)
        if (ir == value) return kernel;
    return table.front().second;
}

template <typename Ir, size_t N>
std::optional<Ir> fromKernel(const std::array<std::pair<Ir, uint8_t>, N>& table, uint8_t value) {
    for (const auto& [ir, kernel] : table)
        if (kernel == value) return ir;
    return std::nullopt;
}

bool isRejectType(Route::Type t) {
    return t == Route::Type::Blackhole || t == Route::Type::Unreachable ||
           t == Route::Type::Prohibit;
}

/// iproute2's choice: host for local routes, link for a unicast route without a gateway,
/// universe otherwise.
uint8_t routeScope(const Route& route) {
    if (route.type == Route::Type::Local) return RT_SCOPE_HOST;
    if (route.type == Route::Type::Unicast && !route.via) return RT_SCOPE_LINK;
    return RT_SCOPE_UNIVERSE;
}

void putSelector(nlmsghdr* nlh, uint16_t type, uint8_t& length, const ir::Prefix& prefix) {
    // A /0 selector is "all": the kernel stores no address for it (iproute2 sends none).
    if (prefix.length == 0) return;
    length = prefix.length;
    putAddress(nlh, type, prefix.addr);
}

// Rules and routes carry selectors the IR cannot express; any of them makes decode refuse.
bool ruleHasForeignSelectors(const fib_rule_hdr& frh, const AttrTable<FRA_MAX>& tb) {
    if (frh.tos != 0) return true;
    for (const int type :
         {FRA_GOTO, FRA_FLOW, FRA_TUN_ID, FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE})
        if (tb[type]) return true;
    if (u8Or(tb[FRA_L3MDEV], 0) != 0) return true;
    return u32Or(tb[FRA_SUPPRESS_PREFIXLEN], kAllOnes) != kAllOnes ||
           u32Or(tb[FRA_SUPPRESS_IFGROUP], kAllOnes) != kAllOnes;
}

std::optional<ir::Prefix> getSelector(const nlattr* attr, uint8_t length, Family family) {
    if (length == 0) return std::nullopt;
    auto addr = getAddress(attr, family);
    if (!addr) return std::nullopt;
    return ir::Prefix{*addr, length};
}

std::string tableWords(uint32_t table) {
    switch (table) {
        case ir::kTableMain:
            return "main";
        case ir::kTableLocal:
            return "local";
        case ir::kTableDefault:
            return "default";
        default:
            return std::to_string(table);
    }
}

/// Words for a dumped object the IR cannot express, from the fields every one has.
std::string describeDumpedRule(const nlmsghdr& nlh) {
    const auto tb = parseAttributes<FRA_MAX>(nlh, sizeof(fib_rule_hdr));
    const auto& frh = *static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(&nlh));
    std::ostringstream out;
    out << "ip rule priority " << u32Or(tb[FRA_PRIORITY], 0) << " (family " << unsigned{frh.family}
        << ", action " << unsigned{frh.action} << ')';
    return out.str();
}

std::string describeDumpedRoute(const nlmsghdr& nlh) {
    const auto tb = parseAttributes<RTA_MAX>(nlh, sizeof(rtmsg));
    const auto& rtm = *static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&nlh));
    std::ostringstream out;
    out << "route ";
    const auto family = irFamily(rtm.rtm_family);
    const auto dst = family ? getAddress(tb[RTA_DST], *family) : std::nullopt;
    if (dst)
        out << dst->str() << '/' << unsigned{rtm.rtm_dst_len};
    else
        out << "default";
    out << " table " << tableWords(u32Or(tb[RTA_TABLE], rtm.rtm_table)) << " (type "
        << unsigned{rtm.rtm_type} << ')';
    return out.str();
}

}  // namespace

InterfaceNames systemInterfaces() {
    return {[](const std::string& name) -> std::optional<uint32_t> {
                const unsigned index = if_nametoindex(name.c_str());
                if (index == 0) return std::nullopt;
                return index;
            },
            [](uint32_t index) -> std::optional<std::string> {
                char name[IF_NAMESIZE] = {};
                if (!if_indextoname(index, name)) return std::nullopt;
                return std::string(name);
            }};
}

Message encodeRule(const RoutingRule& rule, uint16_t type) {
    Builder b(type, type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
    auto* frh = b.header<fib_rule_hdr>();
    nlmsghdr* nlh = b.nlh();
    frh->family = addressFamily(rule.family);
    frh->action = toKernel(kRuleActions, rule.action);
    if (rule.invert) frh->flags |= FIB_RULE_INVERT;
    // Only a lookup has a table: iproute2 leaves it unset for the other actions, so the kernel
    // stores 0 and `ip rule` lists no table for them.
    if (rule.action != RoutingRule::Action::Lookup) {
        frh->table = RT_TABLE_UNSPEC;
    } else if (rule.table < 256) {
        frh->table = static_cast<uint8_t>(rule.table);
    } else {
        frh->table = RT_TABLE_UNSPEC;
        mnl_attr_put_u32(nlh, FRA_TABLE, rule.table);
    }
    mnl_attr_put_u32(nlh, FRA_PRIORITY, rule.priority);
    if (rule.fwmark && !(rule.fwmark->value == 0 && rule.fwmark->mask == 0)) {
        // Without FRA_FWMASK the kernel takes mark 0 as "no mark selector".
        mnl_attr_put_u32(nlh, FRA_FWMARK, rule.fwmark->value);
        if (rule.fwmark->mask != kAllOnes || rule.fwmark->value == 0)
            mnl_attr_put_u32(nlh, FRA_FWMASK, rule.fwmark->mask);
    }
    if (rule.iif) mnl_attr_put_strz(nlh, FRA_IIFNAME, rule.iif->c_str());
    if (rule.oif) mnl_attr_put_strz(nlh, FRA_OIFNAME, rule.oif->c_str());
    if (rule.uidrange) {
        const fib_rule_uid_range range{rule.uidrange->first, rule.uidrange->last};
        mnl_attr_put(nlh, FRA_UID_RANGE, sizeof range, &range);
    }
    if (rule.from) putSelector(nlh, FRA_SRC, frh->src_len, *rule.from);
    if (rule.to) putSelector(nlh, FRA_DST, frh->dst_len, *rule.to);
    mnl_attr_put_u8(nlh, FRA_PROTOCOL, kRoutingProtocol);
    return b.finish();
}

std::optional<Message> encodeRoute(const Route& route, uint16_t type, const InterfaceNames& names,
                                   std::string& error) {
    Builder b(type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
    auto* rtm = b.header<rtmsg>();
    nlmsghdr* nlh = b.nlh();
    const Family family = route.family();
    rtm->rtm_family = addressFamily(family);
    rtm->rtm_dst_len = route.dst.length;
    rtm->rtm_protocol = kRoutingProtocol;
    rtm->rtm_type = toKernel(kRouteTypes, route.type);
    rtm->rtm_scope = routeScope(route);
    if (route.table < 256) {
        rtm->rtm_table = static_cast<uint8_t>(route.table);
    } else {
        rtm->rtm_table = RT_TABLE_UNSPEC;
        mnl_attr_put_u32(nlh, RTA_TABLE, route.table);
    }
    // The kernel keeps routes by network: IPv4 refuses host bits, IPv6 clears them.
    if (route.dst.length != 0) putAddress(nlh, RTA_DST, route.dst.network().addr);
    if (route.via) putAddress(nlh, RTA_GATEWAY, *route.via);
    if (route.dev) {
        const auto index = names.index(*route.dev);
        if (!index) {
            error = "interface '" + *route.dev + "' does not exist";
            return std::nullopt;
        }
        mnl_attr_put_u32(nlh, RTA_OIF, *index);
    }
    if (route.src) putAddress(nlh, RTA_PREFSRC, *route.src);
    if (route.metric && *route.metric != 0) mnl_attr_put_u32(nlh, RTA_PRIORITY, *route.metric);
    return b.finish();
}

std::optional<RoutingRule> decodeRule(const nlmsghdr& nlh) {
    if (nlh.nlmsg_len < mnl_nlmsg_size(sizeof(fib_rule_hdr))) return std::nullopt;
    const auto& frh = *static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(&nlh));
    const auto family = irFamily(frh.family);
    const auto action = fromKernel(kRuleActions, frh.action);
    if (!family || !action) return std::nullopt;
    const auto tb = parseAttributes<FRA_MAX>(nlh, sizeof(fib_rule_hdr));
    if (ruleHasForeignSelectors(frh, tb)) return std::nullopt;

    RoutingRule rule;
    rule.family = *family;
    rule.action = *action;
    rule.invert = (frh.flags & FIB_RULE_INVERT) != 0;
    if (rule.action == RoutingRule::Action::Lookup) rule.table = u32Or(tb[FRA_TABLE], frh.table);
    rule.priority = u32Or(tb[FRA_PRIORITY], 0);
    if (tb[FRA_FWMARK] || tb[FRA_FWMASK])
        rule.fwmark = ir::MarkMask{u32Or(tb[FRA_FWMARK], 0), u32Or(tb[FRA_FWMASK], kAllOnes)};
    rule.iif = stringOf(tb[FRA_IIFNAME]);
    rule.oif = stringOf(tb[FRA_OIFNAME]);
    if (tb[FRA_UID_RANGE] &&
        mnl_attr_get_payload_len(tb[FRA_UID_RANGE]) == sizeof(fib_rule_uid_range)) {
        fib_rule_uid_range range;
        std::memcpy(&range, mnl_attr_get_payload(tb[FRA_UID_RANGE]), sizeof range);
        rule.uidrange = ir::NumRange{range.start, range.end};
    }
    rule.from = getSelector(tb[FRA_SRC], frh.src_len, *family);
    rule.to = getSelector(tb[FRA_DST], frh.dst_len, *family);
    if ((frh.src_len && !rule.from) || (frh.dst_len && !rule.to)) return std::nullopt;
    return rule;
}

std::optional<Route> decodeRoute(const nlmsghdr& nlh, const InterfaceNames& names) {
    if (nlh.nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) return std::nullopt;
    const auto& rtm = *static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&nlh));
    const auto family = irFamily(rtm.rtm_family);
    const auto type = fromKernel(kRouteTypes, rtm.rtm_type);
    if (!family || !type || rtm.rtm_tos != 0 || (rtm.rtm_flags & RTM_F_CLONED)) return std::nullopt;
    const auto tb = parseAttributes<RTA_MAX>(nlh, sizeof(rtmsg));
    for (const int foreign : {RTA_MULTIPATH, RTA_NH_ID, RTA_VIA, RTA_ENCAP, RTA_SRC})
        if (tb[foreign]) return std::nullopt;

    Route route;
    route.type = *type;
    route.table = u32Or(tb[RTA_TABLE], rtm.rtm_table);
    route.dst.length = rtm.rtm_dst_len;
    route.dst.addr.family = *family;
    if (rtm.rtm_dst_len != 0) {
        const auto dst = getAddress(tb[RTA_DST], *family);
        if (!dst) return std::nullopt;
        route.dst.addr = *dst;
    }
    route.via = getAddress(tb[RTA_GATEWAY], *family);
    if (tb[RTA_OIF]) {
        if (mnl_attr_get_payload_len(tb[RTA_OIF]) < sizeof(uint32_t)) return std::nullopt;
        route.dev = names.name(mnl_attr_get_u32(tb[RTA_OIF]));
        if (!route.dev) return std::nullopt;
        if (*family == Family::V6 && isRejectType(*type) && *route.dev == "lo") route.dev.reset();
    }
    route.src = getAddress(tb[RTA_PREFSRC], *family);
    if (const uint32_t metric = u32Or(tb[RTA_PRIORITY], 0); metric != 0) route.metric = metric;
    return route;
}

uint8_t ruleProtocol(const nlmsghdr& nlh) {
    if (nlh.nlmsg_len < mnl_nlmsg_size(sizeof(fib_rule_hdr))) return 0;
    const auto tb = parseAttributes<FRA_MAX>(nlh, sizeof(fib_rule_hdr));
    return u8Or(tb[FRA_PROTOCOL], 0);
}

uint8_t routeProtocol(const nlmsghdr& nlh) {
    if (nlh.nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) return 0;
    return static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&nlh))->rtm_protocol;
}

Message dumpRequest(uint16_t type, Family family) {
    Builder b(type, NLM_F_DUMP);
    // fib_rule_hdr and rtmsg both begin with the family byte; rtm_table 0 asks for all tables.
    if (type == RTM_GETRULE)
        b.header<fib_rule_hdr>()->family = addressFamily(family);
    else
        b.header<rtmsg>()->rtm_family = addressFamily(family);
    return b.finish();
}

Message deletionOf(const nlmsghdr& dumped) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&dumped);
    Message msg(bytes, bytes + dumped.nlmsg_len);
    auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
    nlh->nlmsg_type = nlh->nlmsg_type == RTM_NEWRULE ? RTM_DELRULE : RTM_DELROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    return msg;
}

std::string describe(const RoutingRule& rule) {
    std::ostringstream out;
    out << "ip rule priority " << rule.priority << " ("
        << (rule.family == Family::V4 ? "IPv4" : "IPv6") << ')';
    return out.str();
}

std::string describe(const Route& route) {
    std::ostringstream out;
    out << "route " << (route.dst.length == 0 ? "default" : route.dst.network().str()) << " table "
        << tableWords(route.table);
    if (route.family() == Family::V4 && route.dst.length == 0) out << " (IPv4)";
    if (route.family() == Family::V6 && route.dst.length == 0) out << " (IPv6)";
    return out.str();
}

NlStatus readLiveRouting(RtnlSocket& socket, std::optional<uint8_t> protocol, LiveRouting& out) {
    const InterfaceNames names = systemInterfaces();
    for (const Family family : {Family::V4, Family::V6}) {
        const NlStatus rules =
            socket.dump(dumpRequest(RTM_GETRULE, family), [&](const nlmsghdr& n) {
                if (n.nlmsg_type != RTM_NEWRULE) return;
                if (protocol && ruleProtocol(n) != *protocol) return;
                const auto* bytes = reinterpret_cast<const uint8_t*>(&n);
                if (auto rule = decodeRule(n))
                    out.rules.push_back({std::move(*rule), Message(bytes, bytes + n.nlmsg_len)});
                else
                    out.unexpressible.push_back(describeDumpedRule(n));
            });
        if (!rules.ok()) return rules;
    }
    for (const Family family : {Family::V4, Family::V6}) {
        const NlStatus routes =
            socket.dump(dumpRequest(RTM_GETROUTE, family), [&](const nlmsghdr& n) {
                if (n.nlmsg_type != RTM_NEWROUTE) return;
                if (protocol && routeProtocol(n) != *protocol) return;
                const auto* bytes = reinterpret_cast<const uint8_t*>(&n);
                if (auto route = decodeRoute(n, names))
                    out.routes.push_back({std::move(*route), Message(bytes, bytes + n.nlmsg_len)});
                else
                    out.unexpressible.push_back(describeDumpedRoute(n));
            });
        if (!routes.ok()) return routes;
    }
    return {};
}

}  // namespace policyc::backends::netlink
