// SPDX-License-Identifier: GPL-2.0-or-later
// Name tables of the nft renderings. Every symbol here was listed back by nft 1.0.6 on Debian 12
// (tests/kernel/nft_oracle.sh); numbers without a symbol print as numbers.
#include "backends/text/nft_text_vocab.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <type_traits>
#include <utility>
#include <variant>

namespace policyc::backends::nft {
namespace {

template <typename Key, size_t N>
std::optional<std::string_view> lookup(const std::array<std::pair<Key, std::string_view>, N>& t,
                                       Key key) {
    for (const auto& [k, name] : t)
        if (k == key) return name;
    return std::nullopt;
}

template <typename Key, size_t N>
std::string nameOr(const std::array<std::pair<Key, std::string_view>, N>& t, Key key) {
    auto name = lookup(t, key);
    return name ? std::string(*name) : std::to_string(key);
}

// nft prints getprotobynumber()'s name, so this is netbase 6.4's /etc/protocols (first name
// per number); a machine with another protocols file lists other names.
// clang-format off
constexpr std::array<std::pair<unsigned, std::string_view>, 55> kProtocols = {{
    {0, "ip"},          {1, "icmp"},         {2, "igmp"},
    {3, "ggp"},         {4, "ipencap"},      {5, "st"},
    {6, "tcp"},         {8, "egp"},          {9, "igp"},
    {12, "pup"},        {17, "udp"},         {20, "hmp"},
    {22, "xns-idp"},    {27, "rdp"},         {29, "iso-tp4"},
    {33, "dccp"},       {36, "xtp"},         {37, "ddp"},
    {38, "idpr-cmtp"},  {41, "ipv6"},        {43, "ipv6-route"},
    {44, "ipv6-frag"},  {45, "idrp"},        {46, "rsvp"},
    {47, "gre"},        {50, "esp"},         {51, "ah"},
    {57, "skip"},       {58, "ipv6-icmp"},   {59, "ipv6-nonxt"},
    {60, "ipv6-opts"},  {73, "rspf"},        {81, "vmtp"},
    {88, "eigrp"},      {89, "ospf"},        {93, "ax.25"},
    {94, "ipip"},       {97, "etherip"},     {98, "encap"},
    {103, "pim"},       {108, "ipcomp"},     {112, "vrrp"},
    {115, "l2tp"},      {124, "isis"},       {132, "sctp"},
    {133, "fc"},        {135, "mobility-header"}, {136, "udplite"},
    {137, "mpls-in-ip"}, {138, "manet"},     {139, "hip"},
    {140, "shim6"},     {141, "wesp"},       {142, "rohc"},
    {143, "ethernet"},
}};
// clang-format on

constexpr std::array<std::pair<unsigned, std::string_view>, 15> kIcmpTypes = {{
    {0, "echo-reply"},
    {3, "destination-unreachable"},
    {4, "source-quench"},
    {5, "redirect"},
    {8, "echo-request"},
    {9, "router-advertisement"},
    {10, "router-solicitation"},
    {11, "time-exceeded"},
    {12, "parameter-problem"},
    {13, "timestamp-request"},
    {14, "timestamp-reply"},
    {15, "info-request"},
    {16, "info-reply"},
    {17, "address-mask-request"},
    {18, "address-mask-reply"},
}};

constexpr std::array<std::pair<unsigned, std::string_view>, 18> kIcmpv6Types = {{
    {1, "destination-unreachable"},
    {2, "packet-too-big"},
    {3, "time-exceeded"},
    {4, "parameter-problem"},
    {128, "echo-request"},
    {129, "echo-reply"},
    {130, "mld-listener-query"},
    {131, "mld-listener-report"},
    {132, "mld-listener-done"},
    {133, "nd-router-solicit"},
    {134, "nd-router-advert"},
    {135, "nd-neighbor-solicit"},
    {136, "nd-neighbor-advert"},
    {137, "nd-redirect"},
    {138, "router-renumbering"},
    {141, "ind-neighbor-solicit"},
    {142, "ind-neighbor-advert"},
    {143, "mld2-listener-report"},
}};

// nft names codes whatever the type is (code 3 of a redirect still prints port-unreachable).
constexpr std::array<std::pair<unsigned, std::string_view>, 8> kIcmpCodes = {{
    {0, "net-unreachable"},
    {1, "host-unreachable"},
    {2, "prot-unreachable"},
    {3, "port-unreachable"},
    {4, "frag-needed"},
    {9, "net-prohibited"},
    {10, "host-prohibited"},
    {13, "admin-prohibited"},
}};

constexpr std::array<std::pair<unsigned, std::string_view>, 6> kIcmpv6Codes = {{
    {0, "no-route"},
    {1, "admin-prohibited"},
    {3, "addr-unreachable"},
    {4, "port-unreachable"},
    {5, "policy-fail"},
    {6, "reject-route"},
}};

struct RejectName {
    std::string_view iptables;
    RejectKind kind;
};

// libipt_REJECT / libip6t_REJECT names and aliases (iptables 1.8.9). "port-unreach" is an alias
// in both and resolved by the caller's family.
constexpr std::array<RejectName, 27> kRejects = {{
    {"icmp-net-unreachable", {RejectKind::Proto::Icmp, "net-unreachable"}},
    {"net-unreach", {RejectKind::Proto::Icmp, "net-unreachable"}},
    {"icmp-host-unreachable", {RejectKind::Proto::Icmp, "host-unreachable"}},
    {"host-unreach", {RejectKind::Proto::Icmp, "host-unreachable"}},
    {"icmp-proto-unreachable", {RejectKind::Proto::Icmp, "prot-unreachable"}},
    {"proto-unreach", {RejectKind::Proto::Icmp, "prot-unreachable"}},
    {"icmp-port-unreachable", {RejectKind::Proto::Icmp, "port-unreachable"}},
    {"icmp-net-prohibited", {RejectKind::Proto::Icmp, "net-prohibited"}},
    {"net-prohib", {RejectKind::Proto::Icmp, "net-prohibited"}},
    {"icmp-host-prohibited", {RejectKind::Proto::Icmp, "host-prohibited"}},
    {"host-prohib", {RejectKind::Proto::Icmp, "host-prohibited"}},
    {"icmp-admin-prohibited", {RejectKind::Proto::Icmp, "admin-prohibited"}},
    {"admin-prohib", {RejectKind::Proto::Icmp, "admin-prohibited"}},
    {"tcp-reset", {RejectKind::Proto::TcpReset, ""}},
    {"tcp-rst", {RejectKind::Proto::TcpReset, ""}},
    {"icmp6-no-route", {RejectKind::Proto::Icmpv6, "no-route"}},
    {"no-route", {RejectKind::Proto::Icmpv6, "no-route"}},
    {"icmp6-adm-prohibited", {RejectKind::Proto::Icmpv6, "admin-prohibited"}},
    {"adm-prohibited", {RejectKind::Proto::Icmpv6, "admin-prohibited"}},
    {"icmp6-addr-unreachable", {RejectKind::Proto::Icmpv6, "addr-unreachable"}},
    {"addr-unreach", {RejectKind::Proto::Icmpv6, "addr-unreachable"}},
    {"icmp6-port-unreachable", {RejectKind::Proto::Icmpv6, "port-unreachable"}},
    {"icmp6-policy-fail", {RejectKind::Proto::Icmpv6, "policy-fail"}},
    {"policy-fail", {RejectKind::Proto::Icmpv6, "policy-fail"}},
    {"icmp6-reject-route", {RejectKind::Proto::Icmpv6, "reject-route"}},
    {"reject-route", {RejectKind::Proto::Icmpv6, "reject-route"}},
    {"port-unreach", {RejectKind::Proto::Icmp, "port-unreachable"}},
}};

// Kernel route types (RTN_*) with the names nft 1.0.6 accepts after `fib ... type`; throw, nat
// and xresolve have none and are written as numbers.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kFibTypes = {{
    {"unspec", "unspec"},
    {"unicast", "unicast"},
    {"local", "local"},
    {"broadcast", "broadcast"},
    {"anycast", "anycast"},
    {"multicast", "multicast"},
    {"blackhole", "blackhole"},
    {"unreachable", "unreachable"},
    {"prohibit", "prohibit"},
    {"throw", "9"},
    {"nat", "10"},
    {"xresolve", "11"},
}};

constexpr std::array<std::string_view, 8> kLogLevels = {"emerg", "alert",  "crit", "err",
                                                        "warn",  "notice", "info", "debug"};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

std::string_view familyName(ir::TableFamily family) {
    switch (family) {
        case ir::TableFamily::Inet:
            return "inet";
        case ir::TableFamily::Ip:
            return "ip";
        case ir::TableFamily::Ip6:
            return "ip6";
    }
    return "inet";
}

std::string chainName(std::string_view table, std::string_view chain) {
    const std::string name = ir::isBuiltinChain(table, chain) ? lower(chain) : std::string(chain);
    return std::string(table) + "_" + name;
}

std::optional<BaseChain> baseChain(std::string_view table, std::string_view chain) {
    if (!ir::isBuiltinChain(table, chain)) return std::nullopt;
    BaseChain b;
    // Points into a static table so that BaseChain can hold string_views.
    static const std::array<std::string_view, 5> kHooks = {"prerouting", "input", "forward",
                                                           "output", "postrouting"};
    const std::string hook = lower(chain);
    for (std::string_view h : kHooks)
        if (h == hook) b.hook = h;
    if (table == "filter") {
        b.type = "filter";
        b.priority = 0;
        b.priorityText = "filter";
    } else if (table == "mangle") {
        // iptable_mangle re-routes OUTPUT packets whose mark changed; only a route chain does.
        b.type = chain == "OUTPUT" ? "route" : "filter";
        b.priority = -150;
        b.priorityText = "mangle";
    } else if (table == "raw") {
        b.type = "filter";
        b.priority = -300;
        b.priorityText = "raw";
    } else if (table == "nat") {
        // NF_IP_PRI_NAT_DST for PREROUTING/OUTPUT, NF_IP_PRI_NAT_SRC for INPUT/POSTROUTING.
        // nft names dstnat only at prerouting and srcnat only at postrouting.
        b.type = "nat";
        const bool dst = chain == "PREROUTING" || chain == "OUTPUT";
        b.priority = dst ? -100 : 100;
        if (chain == "PREROUTING")
            b.priorityText = "dstnat";
        else if (chain == "POSTROUTING")
            b.priorityText = "srcnat";
        else
            b.priorityText = dst ? "-100" : "100";
    } else {
        return std::nullopt;
    }
    return b;
}

std::string protoName(uint8_t proto) { return nameOr<unsigned>(kProtocols, proto); }

std::string icmpTypeName(ir::Family family, uint8_t type) {
    return family == ir::Family::V4 ? nameOr<unsigned>(kIcmpTypes, type)
                                    : nameOr<unsigned>(kIcmpv6Types, type);
}

std::string icmpCodeName(ir::Family family, uint8_t code) {
    return family == ir::Family::V4 ? nameOr<unsigned>(kIcmpCodes, code)
                                    : nameOr<unsigned>(kIcmpv6Codes, code);
}

std::optional<RejectKind> rejectKind(std::string_view iptablesName, ir::Family ambiguousAs) {
    if (iptablesName == "port-unreach" && ambiguousAs == ir::Family::V6)
        return RejectKind{RejectKind::Proto::Icmpv6, "port-unreachable"};
    for (const auto& r : kRejects)
        if (r.iptables == iptablesName) return r.kind;
    return std::nullopt;
}

std::optional<std::string> fibTypeName(std::string_view routeType) {
    auto name = lookup(kFibTypes, routeType);
    if (!name) return std::nullopt;
    return std::string(*name);
}

int matchRank(const ir::Match& m) {
    using namespace ir;
    return std::visit(
        [](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, IfaceMatch>) return v.dir == IfaceDirection::In ? 0 : 1;
            if constexpr (std::is_same_v<T, MacMatch>) return 2;
            if constexpr (std::is_same_v<T, AddrMatch>) return v.dir == Direction::Source ? 3 : 4;
            if constexpr (std::is_same_v<T, ProtoMatch>) return 5;
            if constexpr (std::is_same_v<T, PortMatch>) return v.dir == Direction::Source ? 6 : 7;
            if constexpr (std::is_same_v<T, TcpFlagsMatch>) return 8;
            if constexpr (std::is_same_v<T, IcmpMatch>) return 9;
            if constexpr (std::is_same_v<T, AddrTypeMatch>)
                return v.dir == Direction::Source ? 10 : 11;
            if constexpr (std::is_same_v<T, CtStateMatch>) return 12;
            if constexpr (std::is_same_v<T, MarkMatch>) return 13;
            if constexpr (std::is_same_v<T, ConnmarkMatch>) return 14;
            if constexpr (std::is_same_v<T, OwnerMatch>)
                return v.kind == OwnerMatch::Kind::Uid ? 15 : 16;
            if constexpr (std::is_same_v<T, CgroupMatch>) return 17;
            if constexpr (std::is_same_v<T, SocketMatch>) return 18;
            // Last but opaque, so that only packets every other match accepted take tokens.
            if constexpr (std::is_same_v<T, LimitMatch>) return 19;
            if constexpr (std::is_same_v<T, OpaqueMatch>) return 20;
            // A new match kind must be placed here: this fails to compile until it is.
        },
        m);
}

std::string_view logLevelName(uint8_t level) {
    return kLogLevels[std::min<size_t>(level, kLogLevels.size() - 1)];
}

}  // namespace policyc::backends::nft
