// SPDX-License-Identifier: GPL-2.0-or-later
// The canonical .pol printer: hand-built IR for every element against text written by hand from
// the printing contract (docs/language.md), then the same fixtures compiled back from the printed
// text: compileText(printPolicy(p)) == p.
#include "compiler/ir_print.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace {

using namespace policyc;
using namespace policyc::ir;

IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
Prefix pfx(std::string_view s) { return Prefix::parse(s).value(); }

Rule makeRule(std::vector<Match> matches, Target target = Accept{}, std::string comment = {}) {
    Rule r;
    r.matches = std::move(matches);
    sortMatches(r.matches);  // fixtures hold the canonical order the lowering produces
    r.target = std::move(target);
    r.comment = std::move(comment);
    return r;
}

ProtoMatch tcp() { return ProtoMatch{6, false}; }
ProtoMatch udp() { return ProtoMatch{17, false}; }
PortMatch dport(std::vector<NumRange> p, bool negated = false) {
    return PortMatch{Direction::Destination, negated, std::move(p)};
}
PortMatch sport(std::vector<NumRange> p) {
    return PortMatch{Direction::Source, false, std::move(p)};
}
AddrMatch saddr(std::vector<AddrItem> items, bool negated = false) {
    return AddrMatch{Direction::Source, negated, std::move(items)};
}
AddrMatch daddr(std::vector<AddrItem> items) {
    return AddrMatch{Direction::Destination, false, std::move(items)};
}
MarkMask mark(uint32_t v, uint32_t m = 0xffffffff) { return MarkMask{v, m}; }

struct RuleCase {
    Rule rule;
    std::string text;
};

/// Every match kind, each in a rule that accepts.
std::vector<RuleCase> printMatchCases() {
    const std::array<uint8_t, 6> mac = {0xaa, 0xBB, 0xcc, 0xdd, 0xee, 0xff};
    const std::array<uint8_t, 6> lowMac = {0x00, 0x11, 0x02, 0x03, 0x0a, 0xf0};
    return {
        {makeRule({tcp()}), "proto tcp accept"},
        {makeRule({ProtoMatch{17, true}}), "proto != udp accept"},
        {makeRule({ProtoMatch{47, false}}), "proto 47 accept"},
        {makeRule({ProtoMatch{1, false}}), "proto icmp accept"},
        {makeRule({ProtoMatch{58, false}}), "proto icmpv6 accept"},
        {makeRule({ProtoMatch{132, false}}), "proto sctp accept"},

        {makeRule({saddr({pfx("10.0.0.0/24")})}), "ip saddr 10.0.0.0/24 accept"},
        {makeRule({saddr({pfx("10.0.0.1")})}), "ip saddr 10.0.0.1 accept"},
        {makeRule({saddr({pfx("10.0.0.1/32")})}), "ip saddr 10.0.0.1 accept"},
        {makeRule({daddr({pfx("fd00::/8")})}), "ip6 daddr fd00::/8 accept"},
        {makeRule({daddr({pfx("fd00::1/128")})}), "ip6 daddr fd00::1 accept"},
        {makeRule({saddr({pfx("10.0.0.1"), pfx("10.1.0.0/16")})}),
         "ip saddr { 10.0.0.1, 10.1.0.0/16 } accept"},
        {makeRule({saddr({AddrRange{ip("10.0.0.1"), ip("10.0.0.9")}})}),
         "ip saddr 10.0.0.1-10.0.0.9 accept"},
        {makeRule({daddr({AddrRange{ip("fd00::1"), ip("fd00::9")}, pfx("fd01::/64")})}),
         "ip6 daddr { fd00::1-fd00::9, fd01::/64 } accept"},
        {makeRule({saddr({pfx("10.0.0.1")}, true)}), "ip saddr != 10.0.0.1 accept"},

        // A tcp/udp/sctp ProtoMatch travels inside the port matches that need it.
        {makeRule({tcp(), dport({{22, 22}})}), "tcp dport 22 accept"},
        {makeRule({udp(), sport({{1000, 2000}})}), "udp sport 1000-2000 accept"},
        {makeRule({tcp(), dport({{80, 80}, {443, 443}})}), "tcp dport { 80, 443 } accept"},
        {makeRule({tcp(), dport({{22, 22}}, true)}), "tcp dport != 22 accept"},
        {makeRule({ProtoMatch{132, false}, dport({{9899, 9899}})}), "sctp dport 9899 accept"},
        {makeRule({tcp(), saddr({pfx("10.0.0.0/8")}), sport({{1024, 65535}}),
                   dport({{22, 22}, {8000, 8080}})}),
         "ip saddr 10.0.0.0/8 tcp sport 1024-65535 tcp dport { 22, 8000-8080 } accept"},
        // Only the port matches' own protocol is folded; a negated one still prints.
        {makeRule({ProtoMatch{6, true}}), "proto != tcp accept"},

        {makeRule({IfaceMatch{IfaceDirection::In, false, "eth0"}}), "iif eth0 accept"},
        {makeRule({IfaceMatch{IfaceDirection::Out, false, "eth+"}}), "oif eth+ accept"},
        {makeRule({IfaceMatch{IfaceDirection::In, true, "eth0"}}), "iif != eth0 accept"},
        {makeRule({IfaceMatch{IfaceDirection::Out, false, "eth0.100"}}), "oif eth0.100 accept"},
        {makeRule({IfaceMatch{IfaceDirection::Out, false, "wg-0"}}), "oif wg-0 accept"},
        {makeRule({IfaceMatch{IfaceDirection::In, false, "local"}}), "iif local accept"},
        {makeRule({IfaceMatch{IfaceDirection::In, false, "set"}}), "iif \"set\" accept"},
        {makeRule({IfaceMatch{IfaceDirection::In, false, "1eth"}}), "iif \"1eth\" accept"},
        {makeRule({IfaceMatch{IfaceDirection::In, false, "eth-"}}), "iif \"eth-\" accept"},
        {makeRule({IfaceMatch{IfaceDirection::In, false, "a\"b\\c"}}),
         "iif \"a\\\"b\\\\c\" accept"},

        {makeRule({CtStateMatch{false, kCtRelated | kCtEstablished}}),
         "ct state established,related accept"},
        {makeRule({CtStateMatch{true, kCtInvalid}}), "ct state != invalid accept"},
        {makeRule({CtStateMatch{false,
                                kCtUntracked | kCtRelated | kCtEstablished | kCtNew | kCtInvalid}}),
         "ct state invalid,new,established,related,untracked accept"},

        {makeRule({MarkMatch{false, mark(1)}}), "mark 0x1 accept"},
        {makeRule({MarkMatch{false, mark(0x1, 0xff)}}), "mark 0x1/0xff accept"},
        {makeRule({MarkMatch{true, mark(0xCA6C)}}), "mark != 0xca6c accept"},
        {makeRule({ConnmarkMatch{false, mark(0x1, 0xff)}}), "ct mark 0x1/0xff accept"},
        {makeRule({ConnmarkMatch{true, mark(0)}}), "ct mark != 0x0 accept"},

        {makeRule({OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1000}}}), "user 1000 accept"},
        {makeRule({OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1005}}}),
         "user 1000-1005 accept"},
        {makeRule({OwnerMatch{OwnerMatch::Kind::Gid, false, {100, 100}}}), "group 100 accept"},
        {makeRule({OwnerMatch{OwnerMatch::Kind::Uid, true, {0, 0}}}), "user != 0 accept"},

        {makeRule({CgroupMatch{false, "/app"}}), "cgroup \"/app\" accept"},
        {makeRule({CgroupMatch{true, "app/x"}}), "cgroup != \"app/x\" accept"},
        {makeRule({SocketMatch{false}}), "socket accept"},
        {makeRule({SocketMatch{true}}), "socket transparent accept"},

        {makeRule({IcmpMatch{Family::V4, false, 8, std::nullopt}}), "icmp type 8 accept"},
        {makeRule({IcmpMatch{Family::V6, false, 128, 0}}), "icmpv6 type 128 code 0 accept"},
        {makeRule({IcmpMatch{Family::V4, true, 8, std::nullopt}}), "icmp type != 8 accept"},

        {makeRule({AddrTypeMatch{Direction::Destination, false, "local"}}),
         "addrtype daddr local accept"},
        {makeRule({AddrTypeMatch{Direction::Destination, true, "local"}}),
         "addrtype daddr != local accept"},
        {makeRule({AddrTypeMatch{Direction::Source, false, "broadcast"}}),
         "addrtype saddr broadcast accept"},

        {makeRule({LimitMatch{5, "minute", 10}}), "limit 5/minute burst 10 accept"},
        {makeRule({LimitMatch{1, "second", 5}}), "limit 1/second burst 5 accept"},
        {makeRule({MacMatch{false, mac}}), "ether saddr aa:bb:cc:dd:ee:ff accept"},
        {makeRule({MacMatch{true, lowMac}}), "ether saddr != 00:11:02:03:0a:f0 accept"},

        // `tcp flags` carries its protocol, as `tcp dport` does
        {makeRule({ProtoMatch{6, false}, TcpFlagsMatch{false, 0x17, 0x02}}),
         "tcp flags syn / fin,syn,rst,ack accept"},
        {makeRule({ProtoMatch{6, false}, TcpFlagsMatch{true, 0x12, 0x02}}),
         "tcp flags != syn / syn,ack accept"},
        {makeRule({ProtoMatch{6, false}, TcpFlagsMatch{false, 0xff, 0}}),
         "tcp flags none / fin,syn,rst,psh,ack,urg,ecn,cwr accept"},
        {makeRule({ProtoMatch{6, false}, dport({{22, 22}}), TcpFlagsMatch{false, 0xc0, 0x80}}),
         "tcp dport 22 tcp flags cwr / ecn,cwr accept"},

        // Several kinds together print in the IR's canonical order.
        {makeRule({CtStateMatch{false, kCtNew}, IfaceMatch{IfaceDirection::In, false, "eth0"},
                   dport({{22, 22}}), saddr({pfx("192.168.0.0/16")}), tcp(),
                   LimitMatch{3, "minute", 5}}),
         "ip saddr 192.168.0.0/16 tcp dport 22 iif eth0 ct state new limit 3/minute burst 5 "
         "accept"},
    };
}

/// Every target kind, plus comments.
std::vector<RuleCase> printTargetCases() {
    using Op = Connmark::Op;
    return {
        {makeRule({}, NoTarget{}), "counter"},
        {makeRule({}, Accept{}), "accept"},
        {makeRule({}, Drop{}), "drop"},
        {makeRule({}, Return{}), "return"},
        {makeRule({}, Jump{"MYCHAIN"}), "jump MYCHAIN"},
        {makeRule({}, Goto{"other-chain"}), "goto other-chain"},
        {makeRule({}, Reject{}), "reject"},
        {makeRule({}, Reject{"tcp-reset"}), "reject with tcp-reset"},
        {makeRule({}, Reject{"icmp-port-unreachable"}), "reject with icmp-port-unreachable"},
        {makeRule({}, Log{}), "log"},
        {makeRule({}, Log{"x", 4}), "log prefix \"x\" level 4"},
        {makeRule({}, Log{"", 0}), "log level 0"},
        {makeRule({}, Log{"say \"hi\" \\ ", std::nullopt}), "log prefix \"say \\\"hi\\\" \\\\ \""},
        {makeRule({}, SetMark{mark(1)}), "mark set 0x1"},
        {makeRule({}, SetMark{mark(0x10, 0xf0)}), "mark set 0x10/0xf0"},
        {makeRule({}, Connmark{Op::Set, mark(1)}), "ct mark set 0x1"},
        {makeRule({}, Connmark{Op::Set, mark(1, 0xff)}), "ct mark set 0x1/0xff"},
        {makeRule({}, Connmark{Op::Save, mark(0)}), "ct mark save"},
        {makeRule({}, Connmark{Op::Save, mark(0, 0xff)}), "ct mark save mask 0xff"},
        {makeRule({}, Connmark{Op::Restore, mark(0)}), "ct mark restore"},
        {makeRule({}, Connmark{Op::Restore, mark(0, 0xff00)}), "ct mark restore mask 0xff00"},
        {makeRule({}, Nat{Nat::Kind::Snat, ip("10.0.0.3"), {}, {}}), "snat to 10.0.0.3"},
        {makeRule({tcp()}, Nat{Nat::Kind::Dnat, ip("10.0.0.3"), {}, NumRange{1000, 1000}}),
         "proto tcp dnat to 10.0.0.3:1000"},
        {makeRule({tcp()},
                  Nat{Nat::Kind::Snat, ip("10.0.0.3"), ip("10.0.0.9"), NumRange{1000, 2000}}),
         "proto tcp snat to 10.0.0.3-10.0.0.9:1000-2000"},
        {makeRule({}, Nat{Nat::Kind::Snat, ip("10.0.0.3"), ip("10.0.0.9"), {}}),
         "snat to 10.0.0.3-10.0.0.9"},
        {makeRule({tcp()}, Nat{Nat::Kind::Dnat, ip("fd00::1"), {}, NumRange{80, 80}}),
         "proto tcp dnat to [fd00::1]:80"},
        {makeRule({}, Nat{Nat::Kind::Dnat, ip("fd00::1"), {}, {}}), "dnat to fd00::1"},
        {makeRule({}, Nat{Nat::Kind::Snat, ip("fd00::1"), ip("fd00::9"), {}}),
         "snat to fd00::1-fd00::9"},
        {makeRule({tcp()}, Nat{Nat::Kind::Dnat, {}, {}, NumRange{1000, 1000}}),
         "proto tcp dnat to :1000"},
        {makeRule({}, Masquerade{}), "masquerade"},
        {makeRule({tcp()}, Masquerade{NumRange{1000, 2000}}), "proto tcp masquerade to :1000-2000"},
        {makeRule({tcp()}, Redirect{NumRange{8080, 8080}}), "proto tcp redirect to :8080"},
        {makeRule({tcp()}, Redirect{NumRange{8080, 8090}}), "proto tcp redirect to :8080-8090"},
        {makeRule({udp(), dport({{80, 80}})}, Tproxy{Family::V4, {}, 8000, mark(1, 1)}),
         "udp dport 80 tproxy ip to :8000 mark 0x1/0x1"},
        {makeRule({}, Tproxy{Family::V4, ip("10.0.0.1"), 8000, mark(0x100, 0xffffffff)}),
         "tproxy ip to 10.0.0.1:8000 mark 0x100/0xffffffff"},
        {makeRule({}, Tproxy{Family::V6, ip("fd00::1"), 8000, mark(0, 0xff)}),
         "tproxy ip6 to [fd00::1]:8000 mark 0x0/0xff"},
        // Without a mark the rule is closed, or a next rule's `mark` match would join it.
        {makeRule({}, Tproxy{Family::V6, {}, 8000, mark(0, 0)}), "tproxy ip6 to :8000;"},
        {makeRule({}, Tproxy{Family::V4, {}, 8000, mark(0, 0)}, "tp"),
         "tproxy ip to :8000 comment \"tp\""},
        {makeRule({}, Notrack{}), "notrack"},
        {makeRule({tcp(), TcpFlagsMatch{false, 0x06, 0x02}}, TcpMss{}),
         "tcp flags syn / syn,rst tcp mss clamp"},
        {makeRule({tcp()}, TcpMss{1400}), "proto tcp tcp mss set 1400"},
        {makeRule({tcp(), dport({{22, 22}})}, Accept{}, "allow \"ssh\" \\o/"),
         "tcp dport 22 accept comment \"allow \\\"ssh\\\" \\\\o/\""},
        {makeRule({}, NoTarget{}, "count"), "counter comment \"count\""},
        // no statement at all: nft loads only the matches
        {makeRule({tcp(), dport({{22, 22}})}, NoTarget{false}), "tcp dport 22;"},
        {makeRule({tcp(), dport({{23, 23}})}, NoTarget{false}, "nothing"),
         "tcp dport 23 comment \"nothing\";"},
    };
}

struct InterfaceCase {
    Interface iface;
    std::string text;
};

std::vector<InterfaceCase> printInterfaceCases() {
    auto make = [](std::string name, LinkKind kind, std::vector<Prefix> addrs) {
        Interface i;
        i.name = std::move(name);
        i.kind = kind;
        i.addresses = std::move(addrs);
        return i;
    };
    Interface vxlan = make("vlan3", LinkKind::Vxlan, {pfx("10.0.0.3/24")});
    vxlan.peer = ip("10.0.0.1");
    vxlan.underlayLocal = ip("192.168.1.3");
    vxlan.underlayRemote = ip("111.100.13.92");
    vxlan.underlayPort = 4789;
    vxlan.fwmark = 0xca6c;
    Interface wg = make("wg0", LinkKind::WireGuard, {pfx("fd10::2/64")});
    wg.underlayPort = 51820;
    wg.fwmark = 0xca6c;
    Interface ethPeer = make("eth9", LinkKind::Ethernet, {});
    ethPeer.peer = ip("10.9.0.1");
    return {
        {make("eth3", LinkKind::Ethernet, {pfx("192.168.1.3/24")}),
         "interface eth3 { address 192.168.1.3/24 }"},
        {make("eth0", LinkKind::Ethernet, {}), "interface eth0"},
        {make("lo", LinkKind::Loopback, {}), "interface lo { kind loopback }"},
        {make("v0", LinkKind::Veth, {pfx("10.1.0.1/24"), pfx("fd00::1/64")}),
         "interface v0 { kind veth; address 10.1.0.1/24, fd00::1/64 }"},
        {make("lo", LinkKind::Loopback, {pfx("127.0.0.1/8"), pfx("10.255.0.1/32")}),
         "interface lo { kind loopback; address 127.0.0.1/8, 10.255.0.1/32 }"},
        {vxlan,
         "tunnel vlan3 { kind vxlan; address 10.0.0.3/24; peer 10.0.0.1; local 192.168.1.3; "
         "remote 111.100.13.92; port 4789; fwmark 0xca6c }"},
        {wg, "tunnel wg0 { kind wireguard; address fd10::2/64; port 51820; fwmark 0xca6c }"},
        {make("gre1", LinkKind::Tunnel, {}), "tunnel gre1 { kind tunnel }"},
        {ethPeer, "interface eth9 { peer 10.9.0.1 }"},
    };
}

struct RoutingRuleCase {
    RoutingRule rule;
    std::string text;
};

std::vector<RoutingRuleCase> printRoutingRuleCases() {
    using Action = RoutingRule::Action;
    auto make = [](uint32_t priority, uint32_t table) {
        RoutingRule r;
        r.priority = priority;
        r.table = table;
        return r;
    };
    RoutingRule byMark = make(100, 3);
    byMark.fwmark = mark(1);
    RoutingRule byIif = make(101, 3);
    byIif.iif = "vlan3";
    RoutingRule notMark = make(200, kTableMain);
    notMark.family = Family::V6;
    notMark.invert = true;
    notMark.fwmark = mark(0xca6c, 0xffff);
    RoutingRule everything = make(300, 1000);
    everything.fwmark = mark(0x2, 0xff);
    everything.iif = "eth0";
    everything.oif = "wg-0";
    everything.uidrange = NumRange{1000, 1999};
    everything.from = pfx("10.0.0.0/24");
    everything.to = pfx("192.168.1.1");
    RoutingRule single = make(310, kTableLocal);
    single.uidrange = NumRange{1000, 1000};
    RoutingRule v6to = make(320, kTableDefault);
    v6to.family = Family::V6;
    v6to.to = pfx("fd00::/8");
    RoutingRule hole = make(400, kTableMain);
    hole.from = pfx("10.9.0.0/16");
    hole.action = Action::Blackhole;
    RoutingRule unreach = make(401, kTableMain);
    unreach.action = Action::Unreachable;
    RoutingRule prohibit = make(402, kTableMain);
    prohibit.family = Family::V6;
    prohibit.action = Action::Prohibit;
    return {
        {byMark, "rule priority 100 fwmark 0x1 lookup 3"},
        {byIif, "rule priority 101 iif vlan3 lookup 3"},
        {notMark, "rule ip6 priority 200 not fwmark 0xca6c/0xffff lookup main"},
        {everything,
         "rule priority 300 fwmark 0x2/0xff iif eth0 oif wg-0 uidrange 1000-1999 "
         "from 10.0.0.0/24 to 192.168.1.1 lookup 1000"},
        {single, "rule priority 310 uidrange 1000-1000 lookup local"},
        {v6to, "rule ip6 priority 320 to fd00::/8 lookup default"},
        {hole, "rule priority 400 from 10.9.0.0/16 blackhole"},
        {unreach, "rule priority 401 unreachable"},
        {prohibit, "rule ip6 priority 402 prohibit"},
    };
}

struct RouteCase {
    Route route;
    std::string text;
};

std::vector<RouteCase> printRouteCases() {
    using Type = Route::Type;
    auto make = [](Type type, std::string_view dst, uint32_t table) {
        Route r;
        r.type = type;
        r.dst = pfx(dst);
        r.table = table;
        return r;
    };
    Route viaTunnel = make(Type::Unicast, "0.0.0.0/0", 3);
    viaTunnel.via = ip("10.0.0.1");
    viaTunnel.dev = "vlan3";
    Route localDefault = make(Type::Local, "0.0.0.0/0", 100);
    localDefault.dev = "lo";
    Route v6Default = make(Type::Local, "::/0", 100);
    v6Default.dev = "lo";
    Route full = make(Type::Unicast, "10.2.0.0/16", kTableMain);
    full.via = ip("10.0.0.254");
    full.dev = "eth0";
    full.src = ip("10.0.0.3");
    full.metric = 50;
    Route v6Via = make(Type::Unicast, "::/0", kTableMain);
    v6Via.via = ip("fe80::1");
    v6Via.dev = "eth0";
    Route hostRoute = make(Type::Unicast, "10.9.9.9/32", kTableLocal);
    hostRoute.dev = "eth1";
    return {
        {viaTunnel, "route default via 10.0.0.1 dev vlan3 table 3"},
        {localDefault, "route local default dev lo table 100"},
        {v6Default, "route ip6 local default dev lo table 100"},
        {full, "route 10.2.0.0/16 via 10.0.0.254 dev eth0 src 10.0.0.3 metric 50"},
        {v6Via, "route ip6 default via fe80::1 dev eth0"},
        {hostRoute, "route 10.9.9.9 dev eth1 table local"},
        {make(Type::Blackhole, "10.0.0.0/8", kTableMain), "route blackhole 10.0.0.0/8"},
        {make(Type::Unreachable, "fd00::/8", kTableDefault),
         "route ip6 unreachable fd00::/8 table default"},
        {make(Type::Prohibit, "192.168.0.0/16", 7), "route prohibit 192.168.0.0/16 table 7"},
    };
}

struct SysctlCase {
    Sysctl sysctl;
    std::string text;
};

std::vector<SysctlCase> printSysctlCases() {
    return {
        {{"net.ipv4.conf.all.forwarding", "1", {}}, "sysctl net.ipv4.conf.all.forwarding = 1"},
        {{"net.ipv4.conf.vlan3.rp_filter", "2", {}}, "sysctl net.ipv4.conf.vlan3.rp_filter = 2"},
        {{"net.ipv4.ip_local_port_range", "32768 60999", {}},
         "sysctl net.ipv4.ip_local_port_range = \"32768 60999\""},
        {{"net.ipv4.tcp_congestion_control", "bbr", {}},
         "sysctl net.ipv4.tcp_congestion_control = bbr"},
        {{"net.core.test_minus", "-1", {}}, "sysctl net.core.test_minus = \"-1\""},
        {{"net.core.test_quote", "a\"b", {}}, "sysctl net.core.test_quote = \"a\\\"b\""},
        {{"net.core.test_empty", "", {}}, "sysctl net.core.test_empty = \"\""},
    };
}

/// Scenarios S1 (client) and S2 (server) as the lowering would build them, one file, two hosts.
Policy printSitePolicy() {
    Host client;
    client.name = "client";
    for (auto& c : printInterfaceCases())
        if (c.iface.name == "vlan3" || c.iface.name == "eth3") client.interfaces.push_back(c.iface);

    Table mangle{TableFamily::Inet, "mangle", {}, {}};
    Chain out{"OUTPUT", ChainPolicy::None, {}, {}};
    out.rules.push_back(makeRule({udp(), daddr({pfx("111.100.13.92")}), dport({{4789, 4789}})},
                                 Return{}, "vxlan underlay"));
    out.rules.push_back(
        makeRule({OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1000}}}, SetMark{mark(1)}));
    mangle.chains.push_back(out);
    Table nat{TableFamily::Ip, "nat", {}, {}};
    Chain post{"POSTROUTING", ChainPolicy::None, {}, {}};
    post.rules.push_back(
        makeRule({IfaceMatch{IfaceDirection::Out, false, "vlan3"}, MarkMatch{false, mark(1)}},
                 Nat{Nat::Kind::Snat, ip("10.0.0.3"), {}, {}}));
    nat.chains.push_back(post);
    Table filter{TableFamily::Inet, "filter", {}, {}};
    Chain input{"INPUT", ChainPolicy::Drop, {}, {}};
    input.rules.push_back(makeRule({CtStateMatch{false, kCtEstablished | kCtRelated}}));
    input.rules.push_back(makeRule({}, Jump{"ssh"}));
    filter.chains.push_back(input);
    filter.chains.push_back(Chain{"FORWARD", ChainPolicy::Accept, {}, {}});
    Chain ssh{"ssh", ChainPolicy::None, {}, {}};
    ssh.rules.push_back(makeRule({tcp(), dport({{22, 22}})}, Accept{}, "ssh"));
    filter.chains.push_back(ssh);
    client.tables = {mangle, nat, filter};
    for (auto& c : printRoutingRuleCases())
        if (c.rule.priority == 100 || c.rule.priority == 101) client.routingRules.push_back(c.rule);
    client.routes.push_back(printRouteCases().front().route);

    Host server;
    server.name = "server";
    server.sysctls.push_back(printSysctlCases().front().sysctl);
    Host empty;
    empty.name = "spare";
    Host onlyTable;
    onlyTable.name = "bare";
    onlyTable.tables.push_back(Table{TableFamily::Ip6, "raw", {}, {}});
    return Policy{{client, server, empty, onlyTable}};
}

const char* const kSiteText =
    "host client {\n"
    "    interface eth3 { address 192.168.1.3/24 }\n"
    "    tunnel vlan3 { kind vxlan; address 10.0.0.3/24; peer 10.0.0.1; local 192.168.1.3; "
    "remote 111.100.13.92; port 4789; fwmark 0xca6c }\n"
    R"(
    table inet mangle {
        chain OUTPUT {
            ip daddr 111.100.13.92 udp dport 4789 return comment "vxlan underlay"
            user 1000 mark set 0x1
        }
    }

    table ip nat {
        chain POSTROUTING {
            oif vlan3 mark 0x1 snat to 10.0.0.3
        }
    }

    table inet filter {
        chain INPUT policy drop {
            ct state established,related accept
            jump ssh
        }

        chain FORWARD policy accept { }

        chain ssh {
            tcp dport 22 accept comment "ssh"
        }
    }

    rule priority 100 fwmark 0x1 lookup 3
    rule priority 101 iif vlan3 lookup 3

    route default via 10.0.0.1 dev vlan3 table 3
}

host server {
    sysctl net.ipv4.conf.all.forwarding = 1
}

host spare { }

host bare {
    table ip6 raw { }
}
)";

/// Every element fixture in one host the lowering accepts: the interfaces that routing names
/// exist, jumps find their chains, routing rules are in priority order.
Policy printRoundTripPolicy() {
    Host host;
    host.name = "everything";
    auto addLink = [&host](const Interface& i) {
        if (!host.findInterface(i.name)) host.interfaces.push_back(i);
    };
    for (const auto& c : printInterfaceCases()) addLink(c.iface);
    for (const char* name : {"eth1", "wg-0"}) {
        Interface i;
        i.name = name;
        addLink(i);
    }
    Chain all{"c", ChainPolicy::None, {}, {}};
    for (const auto& c : printMatchCases()) all.rules.push_back(c.rule);
    for (const auto& c : printTargetCases()) {
        all.rules.push_back(c.rule);
        // The rule that a tproxy without a mark must not swallow.
        if (c.text.ends_with(";")) all.rules.push_back(makeRule({MarkMatch{false, mark(1)}}));
    }
    Table filter{TableFamily::Inet, "filter", {}, {}};
    filter.chains = {all, Chain{"MYCHAIN", ChainPolicy::None, {}, {}},
                     Chain{"other-chain", ChainPolicy::None, {}, {}}};
    host.tables.push_back(filter);
    for (const auto& c : printRoutingRuleCases()) host.routingRules.push_back(c.rule);
    for (const auto& c : printRouteCases()) host.routes.push_back(c.route);
    for (const auto& c : printSysctlCases()) host.sysctls.push_back(c.sysctl);
    return Policy{{host}};
}

/// Compares element by element so a failure names the printed line that did not come back.
void checkSameHost(const Host& back, const Host& want) {
    CHECK(back.name == want.name);
    REQUIRE(back.interfaces.size() == want.interfaces.size());
    for (size_t i = 0; i < want.interfaces.size(); ++i) {
        CAPTURE(printInterface(want.interfaces[i]));
        CHECK(back.interfaces[i] == want.interfaces[i]);
    }
    REQUIRE(back.tables.size() == want.tables.size());
    for (size_t t = 0; t < want.tables.size(); ++t) {
        const Table& bt = back.tables[t];
        const Table& wt = want.tables[t];
        CHECK(bt.name == wt.name);
        CHECK(bt.family == wt.family);
        REQUIRE(bt.chains.size() == wt.chains.size());
        for (size_t c = 0; c < wt.chains.size(); ++c) {
            CHECK(bt.chains[c].name == wt.chains[c].name);
            CHECK(bt.chains[c].policy == wt.chains[c].policy);
            REQUIRE(bt.chains[c].rules.size() == wt.chains[c].rules.size());
            for (size_t r = 0; r < wt.chains[c].rules.size(); ++r) {
                CAPTURE(printRule(wt.chains[c].rules[r]));
                CHECK(bt.chains[c].rules[r] == wt.chains[c].rules[r]);
            }
        }
    }
    REQUIRE(back.routingRules.size() == want.routingRules.size());
    for (size_t i = 0; i < want.routingRules.size(); ++i) {
        CAPTURE(printRoutingRule(want.routingRules[i]));
        CHECK(back.routingRules[i] == want.routingRules[i]);
    }
    REQUIRE(back.routes.size() == want.routes.size());
    for (size_t i = 0; i < want.routes.size(); ++i) {
        CAPTURE(printRoute(want.routes[i]));
        CHECK(back.routes[i] == want.routes[i]);
    }
    CHECK(back.sysctls == want.sysctls);
    CHECK(back == want);
}

void checkRoundTrip(const Policy& policy) {
    const std::string text = printPolicy(policy);
    SourceManager sources;
    Diagnostics diags;
    auto back = compileText(text, "printed.pol", sources, diags);
    INFO(renderText(diags.sorted(), sources));
    REQUIRE(back);
    REQUIRE(back->hosts.size() == policy.hosts.size());
    for (size_t h = 0; h < policy.hosts.size(); ++h) checkSameHost(back->hosts[h], policy.hosts[h]);
    CHECK(printPolicy(*back) == text);
}

}  // namespace

TEST_CASE("print: every match kind has its one spelling") {
    for (const auto& c : printMatchCases()) {
        CAPTURE(c.text);
        CHECK(printRule(c.rule) == c.text);
    }
}

TEST_CASE("print: every target kind has its one spelling") {
    for (const auto& c : printTargetCases()) {
        CAPTURE(c.text);
        CHECK(printRule(c.rule) == c.text);
    }
}

TEST_CASE("print: interfaces and tunnels") {
    for (const auto& c : printInterfaceCases()) {
        CAPTURE(c.text);
        CHECK(printInterface(c.iface) == c.text);
    }
}

TEST_CASE("print: routing rules, routes and sysctls") {
    for (const auto& c : printRoutingRuleCases()) {
        CAPTURE(c.text);
        CHECK(printRoutingRule(c.rule) == c.text);
    }
    for (const auto& c : printRouteCases()) {
        CAPTURE(c.text);
        CHECK(printRoute(c.route) == c.text);
    }
    for (const auto& c : printSysctlCases()) {
        CAPTURE(c.text);
        CHECK(printSysctl(c.sysctl) == c.text);
    }
}

TEST_CASE("print: hosts lay out sections in contract order, hosts apart by a blank line") {
    const Policy site = printSitePolicy();
    CHECK(printPolicy(site) == kSiteText);
    CHECK(printHost(site.hosts[1]) ==
          "host server {\n"
          "    sysctl net.ipv4.conf.all.forwarding = 1\n"
          "}\n");
    CHECK(printPolicy(Policy{}).empty());
}

TEST_CASE("print: a port match without its protocol still shows that something is wrong") {
    // Invalid IR (PortMatch needs a tcp/udp/sctp ProtoMatch); the text must not parse as valid.
    CHECK(printRule(makeRule({dport({{22, 22}})})) == "? dport 22 accept");
}

TEST_CASE("print: printed text compiles back to an equal IR") {
    SUBCASE("the two-host site") { checkRoundTrip(printSitePolicy()); }
    SUBCASE("every element fixture") { checkRoundTrip(printRoundTripPolicy()); }
}
