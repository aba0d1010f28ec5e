// SPDX-License-Identifier: GPL-2.0-or-later
// renderIptables against iptables-legacy-save. Every expected text below is the read-back of
// iptables 1.8.9 (loaded with *-legacy-restore, listed with *-legacy-save in a scratch netns by
// tests/kernel/ipt_oracle.sh); ctest -L kernel re-proves them (kernel/iptables_text_oracle).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "backends/text/render.h"
#include "tests/unit/fixture_writers.h"

namespace {

using namespace policyc::ir;
using policyc::backends::renderIptables;

// ---------------------------------------------------------------------------------------------
// IR builders

IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
AddrItem net(std::string_view s) { return Prefix::parse(s).value(); }
AddrItem span(std::string_view a, std::string_view b) { return AddrRange{ip(a), ip(b)}; }
NumRange one(uint32_t v) { return {v, v}; }
NumRange span(uint32_t a, uint32_t b) { return {a, b}; }

Match src(std::vector<AddrItem> items, bool neg = false) {
    return AddrMatch{Direction::Source, neg, std::move(items)};
}
Match dst(std::vector<AddrItem> items, bool neg = false) {
    return AddrMatch{Direction::Destination, neg, std::move(items)};
}
Match proto(uint8_t p, bool neg = false) { return ProtoMatch{p, neg}; }
Match sport(std::vector<NumRange> r, bool neg = false) {
    return PortMatch{Direction::Source, neg, std::move(r)};
}
Match dport(std::vector<NumRange> r, bool neg = false) {
    return PortMatch{Direction::Destination, neg, std::move(r)};
}
Match iif(std::string name, bool neg = false) {
    return IfaceMatch{IfaceDirection::In, neg, std::move(name)};
}
Match oif(std::string name, bool neg = false) {
    return IfaceMatch{IfaceDirection::Out, neg, std::move(name)};
}
Match uid(NumRange r, bool neg = false) { return OwnerMatch{OwnerMatch::Kind::Uid, neg, r}; }
Match gid(NumRange r, bool neg = false) { return OwnerMatch{OwnerMatch::Kind::Gid, neg, r}; }
Match icmp(uint8_t type, std::optional<uint8_t> code = {}, bool neg = false) {
    return IcmpMatch{Family::V4, neg, type, code};
}
Match icmp6(uint8_t type, std::optional<uint8_t> code = {}, bool neg = false) {
    return IcmpMatch{Family::V6, neg, type, code};
}

Rule rule(std::vector<Match> matches, Target target = NoTarget{}, std::string comment = {}) {
    Rule r;
    r.matches = std::move(matches);
    r.target = std::move(target);
    r.comment = std::move(comment);
    return r;
}
Chain chain(std::string name, std::vector<Rule> rules, ChainPolicy policy = ChainPolicy::None) {
    return Chain{std::move(name), policy, std::move(rules), {}};
}
Table table(TableFamily family, std::string name, std::vector<Chain> chains) {
    return Table{family, std::move(name), std::move(chains), {}};
}
Host host(std::vector<Table> tables) {
    Host h;
    h.tables = std::move(tables);
    return h;
}

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58;
constexpr MarkMask kMark1{0x1, 0xffffffff};

// ---------------------------------------------------------------------------------------------
// Fixtures: one host each, rendered for one family

Host filterHost() {
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

Host matchesHost() {
    auto in = [](std::vector<Match> m, std::string comment = {}) {
        return rule(std::move(m), Accept{}, std::move(comment));
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

Host expansionHost() {
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

Host natMangleRawHost() {
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
               chain("DIVERT", {rule({}, SetMark{kMark1}), rule({}, Accept{})})}),
        table(TableFamily::Ip, "raw",
              {chain("PREROUTING", {rule({iif("lo")}, Notrack{})}),
               chain("OUTPUT", {rule({proto(kUdp), dport({one(53)})}, Notrack{})})}),
    });
}

/// Inet and ip/ip6 tables side by side: per-family rules, a merged filter block, a table whose
/// rules all belong to the other family.
Host inetHost() {
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

Host v6Host() {
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

struct Fixture {
    const char* name;
    Family family;
    Host (*host)();
    const char* expected;
};

const std::vector<Fixture>& fixtures() {
    static const std::vector<Fixture> kFixtures = {
        {"filter_v4", Family::V4, filterHost, R"(*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:Beta - [0:0]
:alpha - [0:0]
:zeta - [0:0]
-A INPUT -s 10.0.0.0/24 -d 10.0.1.5/32 -i eth0 -p tcp -m tcp --sport 1000:2000 --dport 22 -j ACCEPT
-A INPUT ! -s 10.1.0.0/16 ! -i wg+ ! -p udp -j DROP
-A INPUT -j zeta
-A INPUT ! -s 0.0.0.0/0 -g alpha
-A INPUT -p tcp -m tcp ! --dport 22 -j RETURN
-A INPUT -p sctp -m sctp --dport 53
-A INPUT -p gre -j ACCEPT
-A INPUT -j ACCEPT
-A INPUT -p 99 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A INPUT -j LOG
-A INPUT -j LOG --log-prefix "in: " --log-level 6
-A INPUT -j LOG --log-prefix x
-A INPUT -j LOG --log-level 0
-A FORWARD -i eth0 ! -o eth1 -j ACCEPT
-A Beta -o wg+ -j ACCEPT
-A alpha -s 10.0.0.0/24 -j RETURN
COMMIT
)"},
        {"matches_v4", Family::V4, matchesHost, R"(*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -m owner --uid-owner 1000-1005 --gid-owner 100 -j ACCEPT
-A OUTPUT -m owner --uid-owner 1000 -m owner --uid-owner 2000 --gid-owner 100 -j ACCEPT
-A OUTPUT -m owner ! --uid-owner 0 ! --gid-owner 5 -j ACCEPT
-A OUTPUT -m cgroup --path "/pcx-ipt-test" -j ACCEPT
-A OUTPUT -m cgroup ! --path "pcx-ipt-test/sub" -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack ! --ctstate INVALID,NEW,UNTRACKED -j ACCEPT
-A INPUT -m mark --mark 0x1 -m mark ! --mark 0x2/0x2 -j ACCEPT
-A INPUT -m mark --mark 0x0 -j ACCEPT
-A INPUT -m connmark ! --mark 0x10/0xf0 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p icmp -m icmp ! --icmp-type 3/4 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 0/0 -j ACCEPT
-A INPUT -m addrtype --src-type UNICAST --dst-type LOCAL -j ACCEPT
-A INPUT -m addrtype ! --src-type BROADCAST -j ACCEPT
-A INPUT -m limit --limit 5/min --limit-burst 10 -j ACCEPT
-A INPUT -m limit --limit 1/sec -j ACCEPT
-A INPUT -m limit --limit 1/min -j ACCEPT
-A INPUT -m limit --limit 7/hour --limit-burst 1 -j ACCEPT
-A INPUT -m mac --mac-source aa:bb:cc:dd:ee:0f -j ACCEPT
-A INPUT -m mac ! --mac-source 00:11:22:33:44:55 -j ACCEPT
-A INPUT -m socket -j ACCEPT
-A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m limit --limit 3/min -m comment --comment "ssh in" -j ACCEPT
-A INPUT -m comment --comment "x\'y\"z\\w" -j ACCEPT
-A INPUT -m comment --comment plain-comment_1 -j ACCEPT
COMMIT
)"},
        {"expansion_v4", Family::V4, expansionHost, R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/24 -d 10.0.2.1/32 -j ACCEPT
-A INPUT -s 10.0.0.0/24 -d 10.0.3.0/24 -j ACCEPT
-A INPUT -d 10.0.2.1/32 -m iprange --src-range 10.0.1.1-10.0.1.9 -j ACCEPT
-A INPUT -d 10.0.3.0/24 -m iprange --src-range 10.0.1.1-10.0.1.9 -j ACCEPT
-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.0.1.1-10.0.1.9 -j DROP
-A INPUT -p tcp -m multiport --dports 80,443,1000:2000 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 16,17,18,19,20 -j ACCEPT
-A INPUT -p udp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15 -j ACCEPT
-A INPUT -p udp -m multiport ! --sports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -m multiport ! --sports 16,17,18,19,20 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m multiport --sports 1,2 -j ACCEPT
-A INPUT -p tcp -m multiport ! --dports 0:65535 -j DROP
-A INPUT -p tcp -m multiport --sports 0:65535 -j ACCEPT
-A INPUT -p udplite -m multiport --dports 53 -j ACCEPT
COMMIT
)"},
        {"nat_mangle_raw_v4", Family::V4, natMangleRawHost, R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i lo -j CT --notrack
-A OUTPUT -p udp -m udp --dport 53 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DIVERT - [0:0]
-A PREROUTING -p tcp -m socket --transparent -j DIVERT
-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 8000 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1
-A PREROUTING -p tcp -m tcp --dport 81 -j TPROXY --on-port 8000 --on-ip 10.0.0.1 --tproxy-mark 0x0/0x0
-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff
-A PREROUTING -j MARK --set-xmark 0x1/0xff
-A PREROUTING -j CONNMARK --set-xmark 0x1/0xff
-A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff
-A DIVERT -j MARK --set-xmark 0x1/0xffffffff
-A DIVERT -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.3
-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 10.0.0.3:8080
-A PREROUTING -p tcp -m tcp --dport 82 -j DNAT --to-destination 10.0.0.3-10.0.0.9:1000-2000
-A PREROUTING -p tcp -m tcp --dport 83 -j REDIRECT --to-ports 8080
-A PREROUTING -p tcp -m tcp --dport 84 -j REDIRECT
-A OUTPUT -p tcp -j DNAT --to-destination :8080
-A OUTPUT -p udp -j REDIRECT --to-ports 8080-8090
-A POSTROUTING -o eth0 -j SNAT --to-source 10.0.0.3
-A POSTROUTING -o eth0 -p udp -j SNAT --to-source 10.0.0.3-10.0.0.9:1000-2000
-A POSTROUTING -o eth1 -j MASQUERADE
-A POSTROUTING -o eth1 -p tcp -j MASQUERADE --to-ports 1000-2000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
)"},
        {"inet_v4", Family::V4, inetHost, R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING ! -d 192.168.0.0/16 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:common - [0:0]
:v4only - [0:0]
-A INPUT -s 10.0.0.0/8 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-port-unreachable
-A INPUT -i eth0 -j DROP
-A common -j RETURN
COMMIT
)"},
        {"inet_v6", Family::V6, inetHost, R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:common - [0:0]
:v6only - [0:0]
-A INPUT -s fd00::/8 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp6-port-unreachable
-A common -j RETURN
COMMIT
)"},
        {"tables_v6", Family::V6, v6Host, R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m socket -j ACCEPT
-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 8000 --on-ip :: --tproxy-mark 0x1/0x1
-A PREROUTING -p tcp -m tcp --dport 81 -j TPROXY --on-port 8000 --on-ip 2001:db8::1 --tproxy-mark 0x0/0x0
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination [2001:db8::3]:8080
-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 2001:db8::3
-A PREROUTING -p tcp -m tcp --dport 82 -j DNAT --to-destination [2001:db8::3-2001:db8::9]:1000-2000
-A PREROUTING -p tcp -m tcp --dport 83 -j DNAT --to-destination 2001:db8::3-2001:db8::9
-A PREROUTING -p tcp -j REDIRECT --to-ports 8080
-A POSTROUTING -o eth0 -j SNAT --to-source 2001:db8::3
-A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1000-2000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 2001:db8::/32 -d 2001:db8::1/128 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT ! -s 2001:db8::/64 -j ACCEPT
-A INPUT ! -s ::/0 -j DROP
-A INPUT -m iprange --src-range 2001:db8::1-2001:db8::9 -j ACCEPT
-A INPUT -s fd00::/8 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 ! --icmpv6-type 135 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 255 -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -j REJECT --reject-with icmp6-port-unreachable
-A INPUT -j REJECT --reject-with icmp6-adm-prohibited
-A INPUT -j LOG --log-prefix "v6 "
COMMIT
)"},
    };
    return kFixtures;
}

}  // namespace

TEST_CASE("iptables text: each fixture renders as iptables-legacy-save lists it back") {
    for (const Fixture& f : fixtures()) {
        INFO("fixture " << f.name);
        CHECK(renderIptables(f.host(), f.family) == f.expected);
    }
}

TEST_CASE("iptables text: no qualifying table renders as the empty string") {
    CHECK(renderIptables(host({}), Family::V4).empty());
    CHECK(renderIptables(host({table(TableFamily::Ip6, "filter", {})}), Family::V4).empty());
    CHECK(renderIptables(host({table(TableFamily::Ip, "filter", {})}), Family::V6).empty());
}

// ctest's kernel/iptables_text_oracle sets POLICYC_ORACLE_DIR, then loads every file written
// here with tests/kernel/ipt_oracle.sh, so the expectations above stay proven by the kernel.
POLICYC_FIXTURE_WRITER(iptables) {
    for (const Fixture& f : fixtures()) {
        policyc::testing::writeFixtureFile(
            dir / (std::string(f.name) + (f.family == Family::V4 ? ".v4" : ".v6")),
            renderIptables(f.host(), f.family));
    }
}
