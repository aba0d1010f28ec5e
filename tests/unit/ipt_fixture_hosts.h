// SPDX-License-Identifier: GPL-2.0-or-later
// Hand-built hosts covering every iptables match and target, and the IR builders they use.
// Shared by the text renderer's tests (iptables_text_test.cpp, whose expected texts are
// iptables-legacy-save's read-back) and the blob encoder's (ipt_blob_test.cpp, which loads the
// same hosts as blobs and must list back the same text).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir.h"

namespace policyc::testing::ipt_fixtures {

using namespace policyc::ir;

// ---------------------------------------------------------------------------------------------
// IR builders

inline IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
inline AddrItem net(std::string_view s) { return Prefix::parse(s).value(); }
inline AddrItem span(std::string_view a, std::string_view b) { return AddrRange{ip(a), ip(b)}; }
inline NumRange one(uint32_t v) { return {v, v}; }
inline NumRange span(uint32_t a, uint32_t b) { return {a, b}; }

inline Match src(std::vector<AddrItem> items, bool neg = false) {
    return AddrMatch{Direction::Source, neg, std::move(items)};
}
inline Match dst(std::vector<AddrItem> items, bool neg = false) {
    return AddrMatch{Direction::Destination, neg, std::move(items)};
}
inline Match proto(uint8_t p, bool neg = false) { return ProtoMatch{p, neg}; }
inline Match sport(std::vector<NumRange> r, bool neg = false) {
    return PortMatch{Direction::Source, neg, std::move(r)};
}
inline Match dport(std::vector<NumRange> r, bool neg = false) {
    return PortMatch{Direction::Destination, neg, std::move(r)};
}
inline Match iif(std::string name, bool neg = false) {
    return IfaceMatch{IfaceDirection::In, neg, std::move(name)};
}
inline Match oif(std::string name, bool neg = false) {
    return IfaceMatch{IfaceDirection::Out, neg, std::move(name)};
}
inline Match uid(NumRange r, bool neg = false) { return OwnerMatch{OwnerMatch::Kind::Uid, neg, r}; }
inline Match gid(NumRange r, bool neg = false) { return OwnerMatch{OwnerMatch::Kind::Gid, neg, r}; }
inline Match icmp(uint8_t type, std::optional<uint8_t> code = {}, bool neg = false) {
    return IcmpMatch{Family::V4, neg, type, code};
}
inline Match icmp6(uint8_t type, std::optional<uint8_t> code = {}, bool neg = false) {
    return IcmpMatch{Family::V6, neg, type, code};
}

inline Rule rule(std::vector<Match> matches, Target target = NoTarget{}, std::string comment = {}) {
    Rule r;
    r.matches = std::move(matches);
    r.target = std::move(target);
    r.comment = std::move(comment);
    return r;
}
inline Chain chain(std::string name, std::vector<Rule> rules,
                   ChainPolicy policy = ChainPolicy::None) {
    return Chain{std::move(name), policy, std::move(rules), {}};
}
inline Table table(TableFamily family, std::string name, std::vector<Chain> chains) {
    return Table{family, std::move(name), std::move(chains), {}};
}
inline Host host(std::vector<Table> tables) {
    Host h;
    h.tables = std::move(tables);
    return h;
}

inline constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58;
inline constexpr MarkMask kMark1{0x1, 0xffffffff};

// ---------------------------------------------------------------------------------------------
// Fixtures: one host each, rendered for one family

inline Host filterHost() {
    return host({table(
        TableFamily::Ip, "filter",
        {chain("INPUT",
               {
                   rule({src({net("10.0.0.0/24")}), dst({net("10.0.1.5")}), iif("eth0"),
                         proto(kTcp), sport({span(1000, 2000)}), dport({one(22)})},
                        Accept{}),
                   rule({src({net("10.1.0.0/16")}, true), iif("wg+", true), proto(kUdp, true)},
                        Drop{}),
                   rule({src({net("0.0.0.0/0")})}, Jump{"zeta"}),
                   rule({src({net("0.0.0.0/0")}, true)}, Goto{"alpha"}),
                   rule({proto(kTcp), dport({one(22)}, true)}, Return{}),
                   rule({proto(132), dport({one(53)})}),
                   rule({proto(47)}, Accept{}),
                   rule({proto(0)}, Accept{}),
                   rule({proto(99)}, Accept{}),
                   rule({}, Reject{}),
                   rule({proto(kTcp)}, Reject{"tcp-reset"}),
                   rule({}, Reject{"icmp-host-prohibited"}),
                   rule({}, Log{}),
                   rule({}, Log{"in: ", 6}),
                   rule({}, Log{"x", 4}),
                   rule({}, Log{"", 0}),
               },
               ChainPolicy::Drop),
         chain("FORWARD", {rule({iif("eth0"), oif("eth1", true)}, Accept{})}, ChainPolicy::Drop),
         chain("OUTPUT", {}, ChainPolicy::Accept), chain("zeta", {}),
         chain("Beta", {rule({oif("wg+")}, Accept{})}),
         chain("alpha", {rule({src({net("10.0.0.7/24")})}, Return{})})})});
}

inline Host matchesHost() {
    auto in = [](std::vector<Match> m, std::string comment = {}) {
        return rule(std::move(m), Accept{}, std::move(comment));
    };
    auto placed = [](Rule r, uint64_t commentAfter) {
        r.commentAfter = commentAfter;
        return r;
    };
    std::vector<Rule> input = {
        in({CtStateMatch{false, kCtRelated | kCtEstablished}}),
        in({CtStateMatch{true, kCtInvalid | kCtUntracked | kCtNew}}),
        in({MarkMatch{false, kMark1}, MarkMatch{true, {0x2, 0x2}}}),
        in({MarkMatch{false, {0, 0xffffffff}}}),
        in({ConnmarkMatch{true, {0x10, 0xf0}}}),
        in({icmp(8)}),
        in({icmp(3, 4, true)}),
        in({icmp(255, 3)}),
        in({proto(kIcmp), icmp(0, 0)}),
        in({AddrTypeMatch{Direction::Destination, false, "local"},
            AddrTypeMatch{Direction::Source, false, "unicast"}}),
        in({AddrTypeMatch{Direction::Source, true, "broadcast"}}),
        in({LimitMatch{5, "minute", 10}}),
        in({LimitMatch{60, "minute", 5}}),
        in({LimitMatch{1440, "day", 5}}),
        in({LimitMatch{7, "hour", 1}}),
        in({MacMatch{false, {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}}}),
        in({MacMatch{true, {0, 0x11, 0x22, 0x33, 0x44, 0x55}}}),
        in({SocketMatch{false}}),
        in({proto(kTcp), TcpFlagsMatch{false, 0x17, 0x02}}),
        in({proto(kTcp), dport({one(22)}), TcpFlagsMatch{true, 0x12, 0x02}}),
        // What iptables spells its own way: -m state, an empty -m tcp/udp, a comment between
        // the modules.
        in({CtStateMatch{false, kCtNew, true}}),
        in({CtStateMatch{true, kCtInvalid | kCtRelated, true}}),
        in({ProtoMatch{kTcp, false, true}}),
        in({ProtoMatch{kUdp, false, true}, dport({one(1), one(2)})}),
        placed(in({proto(kTcp), dport({one(22)}), CtStateMatch{false, kCtNew},
                   LimitMatch{3, "minute", 5}},
                  "mid"),
               0b0011),
        placed(in({proto(kTcp), dport({one(22)})}, "first"), 0b01),
        // Out of canonical order on purpose: the renderer fixes the order.
        in({LimitMatch{3, "minute", 5}, CtStateMatch{false, kCtNew}, dport({one(22)}), proto(kTcp),
            src({net("10.0.0.1")})},
           "ssh in"),
        in({}, "x'y\"z\\w"),
        in({}, "plain-comment_1"),
    };
    // owner and cgroup need a locally generated packet: OUTPUT.
    std::vector<Rule> output = {
        in({uid(span(1000, 1005)), gid(one(100))}),
        in({gid(one(100)), uid(one(1000)), uid(one(2000))}),
        in({uid(one(0), true), gid(one(5), true)}),
        in({CgroupMatch{false, "/pcx-ipt-test"}}),
        in({CgroupMatch{true, "pcx-ipt-test/sub"}}),
    };
    return host({table(TableFamily::Ip, "filter", {chain("INPUT", input)}),
                 table(TableFamily::Ip, "mangle", {chain("OUTPUT", output)})});
}

inline Host expansionHost() {
    std::vector<NumRange> twenty;
    for (uint32_t p = 1; p <= 20; ++p) twenty.push_back(one(p));
    return host({table(
        TableFamily::Ip, "filter",
        {chain("INPUT",
               {
                   rule({src({net("10.0.0.0/24"), span("10.0.1.1", "10.0.1.9")}),
                         dst({net("10.0.2.1"), net("10.0.3.0/24")})},
                        Accept{}),
                   rule({src({span("10.0.0.1", "10.0.0.9")}),
                         dst({span("10.0.1.1", "10.0.1.9")}, true)},
                        Drop{}),
                   rule({proto(kTcp), dport({one(80), one(443), span(1000, 2000)})}, Accept{}),
                   rule({proto(kTcp), dport(twenty)}, Accept{}),
                   rule({proto(kUdp), dport({span(1, 2), span(3, 4), span(5, 6), span(7, 8),
                                             span(9, 10), span(11, 12), span(13, 14), one(15)})},
                        Accept{}),
                   rule({proto(kUdp), sport(twenty, true)}, Drop{}),
                   rule({proto(kTcp), sport({one(1), one(2)}), dport({one(22)})}, Accept{}),
                   rule({proto(kTcp), dport({span(0, 65535)}, true)}, Drop{}),
                   rule({proto(kTcp), sport({span(0, 65535)})}, Accept{}),
                   rule({proto(136), dport({one(53)})}, Accept{}),
               })})});
}

inline Host natMangleRawHost() {
    return host({
        table(TableFamily::Ip, "filter", {}),
        table(
            TableFamily::Ip, "nat",
            {chain("PREROUTING",
                   {
                       rule({proto(kTcp), dport({one(80)})},
                            Nat{Nat::Kind::Dnat, ip("10.0.0.3"), {}, {}}),
                       rule({proto(kTcp), dport({one(81)})},
                            Nat{Nat::Kind::Dnat, ip("10.0.0.3"), {}, one(8080)}),
                       rule({proto(kTcp), dport({one(82)})},
                            Nat{Nat::Kind::Dnat, ip("10.0.0.3"), ip("10.0.0.9"), span(1000, 2000)}),
                       rule({proto(kTcp), dport({one(83)})}, Redirect{one(8080)}),
                       rule({proto(kTcp), dport({one(84)})}, Redirect{}),
                   }),
             chain("OUTPUT", {rule({proto(kTcp)}, Nat{Nat::Kind::Dnat, {}, {}, one(8080)}),
                              rule({proto(kUdp)}, Redirect{span(8080, 8090)})}),
             chain("POSTROUTING",
                   {
                       rule({oif("eth0")}, Nat{Nat::Kind::Snat, ip("10.0.0.3"), {}, {}}),
                       rule({oif("eth0"), proto(kUdp)},
                            Nat{Nat::Kind::Snat, ip("10.0.0.3"), ip("10.0.0.9"), span(1000, 2000)}),
                       rule({oif("eth1")}, Masquerade{}),
                       rule({oif("eth1"), proto(kTcp)}, Masquerade{span(1000, 2000)}),
                   })}),
        table(TableFamily::Ip, "mangle",
              {chain("PREROUTING",
                     {
                         rule({proto(kTcp), SocketMatch{true}}, Jump{"DIVERT"}),
                         rule({proto(kTcp), dport({one(80)})},
                              Tproxy{Family::V4, {}, 8000, {0x1, 0x1}}),
                         rule({proto(kTcp), dport({one(81)})},
                              Tproxy{Family::V4, ip("10.0.0.1"), 8000}),
                         rule({}, SetMark{kMark1}),
                         rule({}, SetMark{{0x1, 0xff}}),
                         rule({}, Connmark{Connmark::Op::Set, {0x1, 0xff}}),
                         rule({}, Connmark{Connmark::Op::Save, {0, 0xffffffff}}),
                         rule({}, Connmark{Connmark::Op::Restore, {0, 0xff}}),
                     }),
               chain("FORWARD",
                     {rule({proto(kTcp), TcpFlagsMatch{false, 0x06, 0x02}}, TcpMss{}),
                      rule({proto(kTcp), TcpFlagsMatch{false, 0x17, 0x02}}, TcpMss{1400})}),
               chain("DIVERT", {rule({}, SetMark{kMark1}), rule({}, Accept{})})}),
        table(TableFamily::Ip, "raw",
              {chain("PREROUTING", {rule({iif("lo")}, Notrack{})}),
               chain("OUTPUT", {rule({proto(kUdp), dport({one(53)})}, Notrack{})})}),
    });
}

/// Inet and ip/ip6 tables side by side: per-family rules, a merged filter block, a table whose
/// rules all belong to the other family.
inline Host inetHost() {
    return host({
        table(TableFamily::Inet, "filter",
              {chain("INPUT",
                     {
                         rule({src({net("10.0.0.0/8")})}, Accept{}),
                         rule({src({net("fd00::/8")})}, Accept{}),
                         rule({icmp(8)}, Accept{}),
                         rule({icmp6(128)}, Accept{}),
                         rule({proto(kTcp), dport({one(22)})}, Accept{}),
                         rule({}, Reject{}),
                     }),
               chain("common", {rule({}, Return{})})}),
        table(TableFamily::Ip, "filter",
              {chain("INPUT", {rule({iif("eth0")}, Drop{})}, ChainPolicy::Drop),
               chain("v4only", {})}),
        table(TableFamily::Ip6, "filter",
              {chain("FORWARD", {}, ChainPolicy::Drop), chain("v6only", {})}),
        table(TableFamily::Inet, "nat",
              {chain("POSTROUTING", {rule({dst({net("192.168.0.0/16")}, true)}, Masquerade{})})}),
    });
}

inline Host v6Host() {
    return host({
        table(
            TableFamily::Ip6, "filter",
            {chain("INPUT",
                   {
                       rule({src({net("2001:db8::/32")}), dst({net("2001:db8::1")}), proto(kTcp),
                             dport({one(22)})},
                            Accept{}),
                       rule({src({net("2001:db8:0:0:1::/64")}, true)}, Accept{}),
                       rule({src({net("::/0")}, true)}, Drop{}),
                       rule({src({span("2001:db8::1", "2001:db8::9"), net("fd00::/8")})}, Accept{}),
                       rule({icmp6(128)}, Accept{}),
                       rule({icmp6(1, 4)}, Accept{}),
                       rule({proto(kIcmp6), icmp6(135, {}, true)}, Accept{}),
                       rule({icmp6(255)}, Accept{}),
                       rule({proto(kIcmp)}, Accept{}),
                       rule({}, Reject{}),
                       rule({}, Reject{"icmp6-adm-prohibited"}),
                       rule({}, Log{"v6 ", {}}),
                   })}),
        table(TableFamily::Ip6, "nat",
              {chain("PREROUTING",
                     {
                         rule({proto(kTcp), dport({one(80)})},
                              Nat{Nat::Kind::Dnat, ip("2001:db8::3"), {}, one(8080)}),
                         rule({proto(kTcp), dport({one(81)})},
                              Nat{Nat::Kind::Dnat, ip("2001:db8::3"), {}, {}}),
                         rule({proto(kTcp), dport({one(82)})},
                              Nat{Nat::Kind::Dnat, ip("2001:db8::3"), ip("2001:db8::9"),
                                  span(1000, 2000)}),
                         rule({proto(kTcp), dport({one(83)})},
                              Nat{Nat::Kind::Dnat, ip("2001:db8::3"), ip("2001:db8::9"), {}}),
                         rule({proto(kTcp)}, Redirect{one(8080)}),
                     }),
               chain("POSTROUTING",
                     {rule({oif("eth0")}, Nat{Nat::Kind::Snat, ip("2001:db8::3"), {}, {}}),
                      rule({oif("eth0"), proto(kTcp)}, Masquerade{span(1000, 2000)})})}),
        table(TableFamily::Ip6, "mangle",
              {chain("PREROUTING",
                     {
                         rule({proto(kTcp), SocketMatch{false}}, Accept{}),
                         rule({proto(kTcp), dport({one(80)})},
                              Tproxy{Family::V6, {}, 8000, {0x1, 0x1}}),
                         rule({proto(kTcp), dport({one(81)})},
                              Tproxy{Family::V6, ip("2001:db8::1"), 8000}),
                     })}),
        table(TableFamily::Ip6, "raw", {chain("PREROUTING", {rule({}, Notrack{})})}),
    });
}

}  // namespace policyc::testing::ipt_fixtures
