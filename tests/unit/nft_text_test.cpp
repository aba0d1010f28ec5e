// SPDX-License-Identifier: GPL-2.0-or-later
// renderNft fixtures covering every match and target kind. Every expected text below is what
// nft 1.0.6 `nft list ruleset` printed after `nft -f` of the rendering in a scratch netns
// (tests/kernel/nft_oracle.sh); kernel/nft_text_oracle re-proves that on every kernel run.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backends/text/nft_text_vocab.h"
#include "backends/text/render.h"
#include "compiler/ir.h"
#include "tests/unit/fixture_writers.h"

using namespace policyc;
using namespace policyc::ir;

namespace {

IpAddr ip(const char* text) { return *IpAddr::parse(text); }
Prefix pfx(const char* text) { return *Prefix::parse(text); }
AddrRange range(const char* a, const char* b) { return AddrRange{ip(a), ip(b)}; }

Rule rule(std::vector<Match> matches, Target target = NoTarget{}, std::string comment = "") {
    Rule r;
    r.matches = std::move(matches);
    r.target = std::move(target);
    r.comment = std::move(comment);
    return r;
}

Chain chain(std::string name, std::vector<Rule> rules = {}, ChainPolicy p = ChainPolicy::None) {
    Chain c;
    c.name = std::move(name);
    c.policy = p;
    c.rules = std::move(rules);
    return c;
}

Table table(TableFamily f, std::string name, std::vector<Chain> chains) {
    Table t;
    t.family = f;
    t.name = std::move(name);
    t.chains = std::move(chains);
    return t;
}

Host host(std::vector<Table> tables) {
    Host h;
    h.name = "h";
    h.tables = std::move(tables);
    return h;
}

ProtoMatch proto(uint8_t p, bool negated = false) { return ProtoMatch{p, negated}; }
PortMatch dport(std::vector<NumRange> ports, bool negated = false) {
    return PortMatch{Direction::Destination, negated, std::move(ports)};
}
PortMatch sport(std::vector<NumRange> ports, bool negated = false) {
    return PortMatch{Direction::Source, negated, std::move(ports)};
}
AddrMatch saddr(std::vector<AddrItem> items, bool negated = false) {
    return AddrMatch{Direction::Source, negated, std::move(items)};
}
AddrMatch daddr(std::vector<AddrItem> items, bool negated = false) {
    return AddrMatch{Direction::Destination, negated, std::move(items)};
}
MarkMask mm(uint32_t value, uint32_t mask = 0xffffffff) { return MarkMask{value, mask}; }

struct Fixture {
    std::string name;
    Host host;
    std::string expected;
};

// ---------------------------------------------------------------------------------------------
// Fixtures

Fixture structure() {
    Fixture f{"structure", {}, {}};
    // Hosts list tables in any order; nft tables come out inet, ip, ip6.
    f.host = host({
        table(TableFamily::Ip6, "filter", {chain("lonely")}),
        table(TableFamily::Inet, "filter",
              {chain("INPUT", {rule({}, Jump{"MYCHAIN"}), rule({}, Goto{"Other-1"})},
                     ChainPolicy::Drop),
               chain("FORWARD"), chain("OUTPUT", {}, ChainPolicy::Accept),
               chain("MYCHAIN", {rule({}, Return{})}), chain("Other-1")}),
        table(TableFamily::Inet, "nat",
              {chain("PREROUTING"), chain("INPUT"), chain("OUTPUT"), chain("POSTROUTING")}),
        table(TableFamily::Inet, "mangle",
              {chain("PREROUTING"), chain("INPUT"), chain("FORWARD"), chain("OUTPUT"),
               chain("POSTROUTING")}),
        table(TableFamily::Inet, "raw", {chain("PREROUTING"), chain("OUTPUT")}),
        table(TableFamily::Ip, "nat", {chain("POSTROUTING"), chain("INPUT")}),
        table(TableFamily::Ip, "filter", {chain("INPUT", {}, ChainPolicy::Drop)}),
        table(TableFamily::Ip6, "nat",
              {chain("PREROUTING"), chain("OUTPUT"), chain("INPUT"), chain("POSTROUTING")}),
        table(TableFamily::Ip6, "mangle", {chain("OUTPUT", {}, ChainPolicy::Drop)}),
    });
    f.expected = R"nft(table inet policyc {
	chain filter_input {
		type filter hook input priority filter; policy drop;
		jump filter_MYCHAIN
		goto filter_Other-1
	}

	chain filter_forward {
		type filter hook forward priority filter; policy accept;
	}

	chain filter_output {
		type filter hook output priority filter; policy accept;
	}

	chain filter_MYCHAIN {
		return
	}

	chain filter_Other-1 {
	}

	chain nat_prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}

	chain nat_input {
		type nat hook input priority 100; policy accept;
	}

	chain nat_output {
		type nat hook output priority -100; policy accept;
	}

	chain nat_postrouting {
		type nat hook postrouting priority srcnat; policy accept;
	}

	chain mangle_prerouting {
		type filter hook prerouting priority mangle; policy accept;
	}

	chain mangle_input {
		type filter hook input priority mangle; policy accept;
	}

	chain mangle_forward {
		type filter hook forward priority mangle; policy accept;
	}

	chain mangle_output {
		type route hook output priority mangle; policy accept;
	}

	chain mangle_postrouting {
		type filter hook postrouting priority mangle; policy accept;
	}

	chain raw_prerouting {
		type filter hook prerouting priority raw; policy accept;
	}

	chain raw_output {
		type filter hook output priority raw; policy accept;
	}
}
table ip policyc {
	chain nat_postrouting {
		type nat hook postrouting priority srcnat; policy accept;
	}

	chain nat_input {
		type nat hook input priority 100; policy accept;
	}

	chain filter_input {
		type filter hook input priority filter; policy drop;
	}
}
table ip6 policyc {
	chain filter_lonely {
	}

	chain nat_prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}

	chain nat_output {
		type nat hook output priority -100; policy accept;
	}

	chain nat_input {
		type nat hook input priority 100; policy accept;
	}

	chain nat_postrouting {
		type nat hook postrouting priority srcnat; policy accept;
	}

	chain mangle_output {
		type route hook output priority mangle; policy drop;
	}
}
)nft";
    return f;
}

Fixture addresses() {
    Fixture f{"addresses", {}, {}};
    f.host = host({table(
        TableFamily::Inet, "filter",
        {chain("INPUT",
               {
                   rule({saddr({pfx("10.0.0.0/24")})}, Accept{}),
                   rule({saddr({pfx("10.0.0.1")})}, Accept{}),
                   rule({daddr({pfx("fd00::/8")})}, Accept{}),
                   rule({daddr({pfx("fd00::1")})}, Accept{}),
                   rule({saddr({pfx("10.0.0.7/24")})}, Accept{}),
                   rule({saddr({range("10.0.0.1", "10.0.0.9")})}, Accept{}),
                   // A block written as a range stays a range outside a set.
                   rule({saddr({range("10.0.0.0", "10.0.0.255")})}, Accept{}),
                   rule({saddr({range("10.0.0.3", "10.0.0.3")})}, Accept{}),
                   rule({saddr({pfx("0.0.0.0/0")})}, Accept{}),
                   rule({daddr({pfx("::/0")})}, Accept{}),
                   rule({saddr({pfx("10.0.0.0/24")}, true)}, Drop{}),
                   rule({saddr({range("10.0.0.1", "10.0.0.9")}, true)}, Drop{}),
                   rule({daddr({pfx("fd00::1")}, true)}, Drop{}),
                   // Plain addresses only: a hash set, sorted and de-duplicated, not merged.
                   rule({saddr({pfx("10.0.0.9"), pfx("10.0.0.2"), pfx("1.0.0.3"), pfx("10.0.0.1"),
                                pfx("10.0.0.2")})},
                        Accept{}),
                   // One interval: everything merges, aligned blocks print as prefixes.
                   rule({saddr({pfx("10.0.1.0/24"), pfx("10.0.0.1"), range("10.0.0.5", "10.0.0.9"),
                                pfx("9.0.0.0/8")})},
                        Accept{}),
                   rule({saddr({pfx("10.0.0.1"), pfx("10.0.0.0/24")})}, Accept{}),
                   rule({saddr({pfx("10.0.0.0/25"), pfx("10.0.0.128/25")})}, Accept{}),
                   rule({saddr({pfx("10.0.0.1"), pfx("10.0.0.2"), pfx("10.0.0.8/31")})}, Accept{}),
                   rule({saddr({range("10.0.0.0", "10.0.0.3"), pfx("10.0.0.8"),
                                range("10.0.0.4", "10.0.0.5")})},
                        Accept{}),
                   rule({saddr({pfx("10.0.0.0/8"), pfx("255.255.255.255")})}, Accept{}),
                   rule({saddr({pfx("0.0.0.0/1"), pfx("128.0.0.0/1")})}, Accept{}),
                   rule({daddr({pfx("fd00::2"), pfx("::1"), pfx("fd00::1")})}, Accept{}),
                   rule({daddr({pfx("fd00::1"), pfx("2001:db8::/32"), range("fe80::1", "fe80::3"),
                                range("fd00::", "fd00::ffff")})},
                        Accept{}),
                   rule({daddr({pfx("10.0.0.1"), pfx("10.0.0.2")}, true)}, Drop{}),
                   rule({saddr({pfx("10.0.0.0/24")}), daddr({pfx("10.0.1.1")})}, Accept{}),
               })})});
    f.expected = R"nft(table inet policyc {
	chain filter_input {
		type filter hook input priority filter; policy accept;
		ip saddr 10.0.0.0/24 accept
		ip saddr 10.0.0.1 accept
		ip6 daddr fd00::/8 accept
		ip6 daddr fd00::1 accept
		ip saddr 10.0.0.0/24 accept
		ip saddr 10.0.0.1-10.0.0.9 accept
		ip saddr 10.0.0.0-10.0.0.255 accept
		ip saddr 10.0.0.3 accept
		ip saddr 0.0.0.0/0 accept
		ip6 daddr ::/0 accept
		ip saddr != 10.0.0.0/24 drop
		ip saddr != 10.0.0.1-10.0.0.9 drop
		ip6 daddr != fd00::1 drop
		ip saddr { 1.0.0.3, 10.0.0.1, 10.0.0.2, 10.0.0.9 } accept
		ip saddr { 9.0.0.0/8, 10.0.0.1, 10.0.0.5-10.0.0.9, 10.0.1.0/24 } accept
		ip saddr 10.0.0.0/24 accept
		ip saddr 10.0.0.0/24 accept
		ip saddr { 10.0.0.1-10.0.0.2, 10.0.0.8/31 } accept
		ip saddr { 10.0.0.0-10.0.0.5, 10.0.0.8 } accept
		ip saddr { 10.0.0.0/8, 255.255.255.255 } accept
		ip saddr 0.0.0.0/0 accept
		ip6 daddr { ::1, fd00::1, fd00::2 } accept
		ip6 daddr { 2001:db8::/32, fd00::/112, fe80::1-fe80::3 } accept
		ip daddr != { 10.0.0.1, 10.0.0.2 } drop
		ip saddr 10.0.0.0/24 ip daddr 10.0.1.1 accept
	}
}
)nft";
    return f;
}

Fixture protocolsPorts() {
    Fixture f{"protocols_ports", {}, {}};
    const std::vector<Rule> common = {
        rule({proto(6)}, Accept{}),
        rule({proto(6, true)}, Drop{}),
        rule({proto(47)}, Accept{}),
        rule({proto(1)}, Accept{}),
        rule({proto(58)}, Accept{}),
        rule({proto(253)}, Accept{}),
        rule({proto(6), dport({{22, 22}})}, Accept{}),
        rule({proto(17), sport({{1000, 2000}})}, Accept{}),
        rule({proto(6), dport({{443, 443}, {80, 80}, {1000, 2000}})}, Accept{}),
        rule({proto(6), dport({{22, 22}}, true)}, Drop{}),
        rule({proto(6), dport({{1000, 2000}}, true)}, Drop{}),
        rule({proto(6), dport({{80, 80}, {443, 443}}, true)}, Drop{}),
        rule({proto(132), dport({{22, 22}})}, Accept{}),
        rule({proto(6), sport({{1, 1}}), dport({{2, 2}})}, Accept{}),
        // Ports with a range merge; plain ports stay apart.
        rule({proto(17), dport({{80, 80}, {81, 81}, {82, 90}})}, Accept{}),
        rule({proto(17), dport({{9, 9}, {3, 3}, {7, 7}, {1, 1}, {2, 2}, {3, 3}})}, Accept{}),
        rule({proto(6), dport({{0, 65535}})}, Accept{}),
        rule({proto(6), dport({{65535, 65535}, {0, 0}})}, Accept{}),
        rule({saddr({pfx("192.0.2.1")}), proto(6), dport({{22, 22}})}, Accept{}),
    };
    std::vector<Rule> v6 = common;
    v6.back() = rule({saddr({pfx("2001:db8::1")}), proto(6), dport({{22, 22}})}, Accept{});
    f.host = host({
        table(TableFamily::Inet, "filter", {chain("INPUT", common)}),
        table(TableFamily::Ip, "filter", {chain("INPUT", common)}),
        table(TableFamily::Ip6, "filter", {chain("INPUT", v6)}),
    });
    f.expected = R"nft(table inet policyc {
	chain filter_input {
		type filter hook input priority filter; policy accept;
		meta l4proto tcp accept
		meta l4proto != tcp drop
		meta l4proto gre accept
		meta l4proto icmp accept
		meta l4proto ipv6-icmp accept
		meta l4proto 253 accept
		tcp dport 22 accept
		udp sport 1000-2000 accept
		tcp dport { 80, 443, 1000-2000 } accept
		tcp dport != 22 drop
		tcp dport != 1000-2000 drop
		tcp dport != { 80, 443 } drop
		sctp dport 22 accept
		tcp sport 1 tcp dport 2 accept
		udp dport 80-90 accept
		udp dport { 1, 2, 3, 7, 9 } accept
		tcp dport 0-65535 accept
		tcp dport { 0, 65535 } accept
		ip saddr 192.0.2.1 tcp dport 22 accept
	}
}
table ip policyc {
	chain filter_input {
		type filter hook input priority filter; policy accept;
		ip protocol tcp accept
		ip protocol != tcp drop
		ip protocol gre accept
		ip protocol icmp accept
		ip protocol ipv6-icmp accept
		ip protocol 253 accept
		tcp dport 22 accept
		udp sport 1000-2000 accept
		tcp dport { 80, 443, 1000-2000 } accept
		tcp dport != 22 drop
		tcp dport != 1000-2000 drop
		tcp dport != { 80, 443 } drop
		sctp dport 22 accept
		tcp sport 1 tcp dport 2 accept
		udp dport 80-90 accept
		udp dport { 1, 2, 3, 7, 9 } accept
		tcp dport 0-65535 accept
		tcp dport { 0, 65535 } accept
		ip saddr 192.0.2.1 tcp dport 22 accept
	}
}
table ip6 policyc {
	chain filter_input {
		type filter hook input priority filter; policy accept;
		meta l4proto tcp accept
		meta l4proto != tcp drop
		meta l4proto gre accept
		meta l4proto icmp accept
		meta l4proto ipv6-icmp accept
		meta l4proto 253 accept
		tcp dport 22 accept
		udp sport 1000-2000 accept
		tcp dport { 80, 443, 1000-2000 } accept
		tcp dport != 22 drop
		tcp dport != 1000-2000 drop
		tcp dport != { 80, 443 } drop
		sctp dport 22 accept
		tcp sport 1 tcp dport 2 accept
		udp dport 80-90 accept
		udp dport { 1, 2, 3, 7, 9 } accept
		tcp dport 0-65535 accept
		tcp dport { 0, 65535 } accept
		ip6 saddr 2001:db8::1 tcp dport 22 accept
	}
}
)nft";
    return f;
}

Fixture matches() {
    Fixture f{"matches", {}, {}};
    using K = OwnerMatch::Kind;
    const IfaceDirection in = IfaceDirection::In, out = IfaceDirection::Out;
    f.host = host(
        {table(TableFamily::Inet, "filter",
               {chain("INPUT",
                      {
                          rule({IfaceMatch{in, false, "eth0"}}, Accept{}),
                          rule({IfaceMatch{in, false, "eth+"}}, Accept{}),
                          rule({IfaceMatch{in, true, "veth+"}}, Drop{}),
                          rule({IfaceMatch{in, false, "+"}}, Accept{}),
                          rule({IfaceMatch{in, false, "odd*"}}, Accept{}),
                          rule({CtStateMatch{false, kCtEstablished | kCtRelated}}, Accept{}),
                          rule({CtStateMatch{false, kCtInvalid | kCtNew | kCtEstablished |
                                                        kCtRelated | kCtUntracked}},
                               Accept{}),
                          rule({CtStateMatch{false, kCtNew}}, Accept{}),
                          rule({CtStateMatch{true, kCtInvalid}}, Accept{}),
                          rule({CtStateMatch{true, kCtEstablished | kCtRelated | kCtNew}}, Drop{}),
                          rule({MarkMatch{false, mm(1)}}, Accept{}),
                          rule({MarkMatch{true, mm(1)}}, Accept{}),
                          rule({MarkMatch{false, mm(1, 0xff)}}, Accept{}),
                          rule({MarkMatch{true, mm(1, 0xff)}}, Accept{}),
                          rule({MarkMatch{false, mm(0x10000, 0xffff0000)}}, Accept{}),
                          rule({MarkMatch{true, mm(0x80000000, 0x80000000)}}, Accept{}),
                          rule({MarkMatch{false, mm(0, 0)}}, Accept{}),
                          rule({MarkMatch{false, mm(0x100, 0xff)}}, Accept{}),
                          rule({ConnmarkMatch{false, mm(0xdeadbeef)}}, Accept{}),
                          rule({ConnmarkMatch{true, mm(2, 0xfffffffe)}}, Accept{}),
                          rule({ConnmarkMatch{false, mm(0x10, 0xf0f0)}}, Accept{}),
                          rule({IcmpMatch{Family::V4, false, 8, {}}}, Accept{}),
                          rule({proto(1), IcmpMatch{Family::V4, false, 3, 3}}, Accept{}),
                          rule({proto(1), IcmpMatch{Family::V4, true, 3, 3}}, Accept{}),
                          rule({proto(1), IcmpMatch{Family::V4, true, 0, {}}}, Accept{}),
                          rule({proto(1), IcmpMatch{Family::V4, false, 200, 77}}, Accept{}),
                          rule({proto(58), IcmpMatch{Family::V6, false, 135, {}}}, Accept{}),
                          rule({proto(58), IcmpMatch{Family::V6, false, 1, 4}}, Accept{}),
                          rule({proto(58), IcmpMatch{Family::V6, true, 1, 0}}, Accept{}),
                          rule({AddrTypeMatch{Direction::Destination, false, "local"}}, Accept{}),
                          rule({AddrTypeMatch{Direction::Source, true, "local"}}, Accept{}),
                          rule({AddrTypeMatch{Direction::Destination, false, "broadcast"}}, Drop{}),
                          rule({AddrTypeMatch{Direction::Destination, false, "throw"}}, Drop{}),
                          rule({LimitMatch{5, "minute", 5}}, Accept{}),
                          rule({LimitMatch{10, "second", 20}}, Accept{}),
                          rule({LimitMatch{1, "hour", 1}}, Accept{}),
                          rule({LimitMatch{3, "day", 5}}, Accept{}),
                          rule({MacMatch{false, {0xaa, 0xbb, 0xcc, 0x00, 0x0e, 0xff}}}, Accept{}),
                          rule({MacMatch{true, {0x02, 0, 0, 0, 0, 1}}}, Drop{}),
                          rule({SocketMatch{false}}, Accept{}),
                          // tcp flags in each of the shapes nft 1.0.6 lists them in
                          rule({proto(6), TcpFlagsMatch{false, 0x17, 0x02}}, Accept{}),
                          rule({proto(6), TcpFlagsMatch{true, 0x12, 0x02}}, Drop{}),
                          rule({proto(6), TcpFlagsMatch{false, 0x3f, 0}}, Drop{}),
                          rule({proto(6), TcpFlagsMatch{true, 0x05, 0}}, Drop{}),
                          rule({proto(6), TcpFlagsMatch{false, 0x02, 0x02}}, Accept{}),
                          rule({proto(6), TcpFlagsMatch{true, 0x80, 0x80}}, Accept{}),
                          rule({proto(6), TcpFlagsMatch{false, 0xff, 0x02}}, Accept{}),
                          rule({proto(6), TcpFlagsMatch{true, 0xff, 0}}, Accept{}),
                          rule({proto(6), TcpFlagsMatch{false, 0xff, 0x03}}, Accept{}),
                          rule({proto(6), TcpFlagsMatch{false, 0xc0, 0x40}}, Accept{}),
                          rule({}, Accept{}, "hello world"),
                          rule({}, NoTarget{}, "quote ' and \\ and ; # { }"),
                          // Every kind at once, in the IR's canonical order.
                          rule({proto(6), saddr({pfx("192.0.2.0/24")}), dport({{22, 22}}),
                                IfaceMatch{in, false, "br-lan"}, CtStateMatch{false, kCtNew},
                                MarkMatch{false, mm(1)}, ConnmarkMatch{false, mm(2)},
                                AddrTypeMatch{Direction::Destination, false, "local"},
                                LimitMatch{5, "second", 10}, MacMatch{false, {2, 0, 0, 0, 0, 2}}},
                               Accept{}, "all"),
                      }),
                chain("OUTPUT", {
                                    rule({IfaceMatch{out, false, "eth1"}}, Accept{}),
                                    rule({OwnerMatch{K::Uid, false, {1000, 1000}}}, Accept{}),
                                    rule({OwnerMatch{K::Uid, false, {0, 0}}}, Accept{}),
                                    rule({OwnerMatch{K::Uid, true, {1000, 2000}}}, Accept{}),
                                    rule({OwnerMatch{K::Gid, false, {100, 200}}}, Accept{}),
                                    rule({OwnerMatch{K::Gid, true, {4242, 4242}}}, Accept{}),
                                    rule({OwnerMatch{K::Uid, false, {1000, 1000}},
                                          OwnerMatch{K::Gid, false, {1000, 1000}}},
                                         Accept{}),
                                })})});
    f.expected = R"nft(table inet policyc {
	chain filter_input {
		type filter hook input priority filter; policy accept;
		iifname "eth0" accept
		iifname "eth*" accept
		iifname != "veth*" drop
		accept
		iifname "odd\*" accept
		ct state established,related accept
		ct state invalid,established,related,new,untracked accept
		ct state new accept
		ct state != invalid accept
		ct state ! established,related,new drop
		meta mark 0x00000001 accept
		meta mark != 0x00000001 accept
		meta mark & 0x000000ff == 0x00000001 accept
		meta mark & 0x000000ff != 0x00000001 accept
		meta mark 0x00010000/16 accept
		meta mark != 0x80000000/1 accept
		meta mark 0x00000000/0 accept
		meta mark & 0x000000ff == 0x00000100 accept
		ct mark 0xdeadbeef accept
		ct mark != 0x00000002/31 accept
		ct mark & 0x0000f0f0 == 0x00000010 accept
		icmp type echo-request accept
		icmp type destination-unreachable icmp code port-unreachable accept
		icmp type . icmp code != { destination-unreachable . port-unreachable } accept
		icmp type != echo-reply accept
		icmp type 200 icmp code 77 accept
		icmpv6 type nd-neighbor-solicit accept
		icmpv6 type destination-unreachable icmpv6 code port-unreachable accept
		icmpv6 type . icmpv6 code != { destination-unreachable . no-route } accept
		fib daddr type local accept
		fib saddr type != local accept
		fib daddr type broadcast drop
		fib daddr type 9 drop
		limit rate 5/minute accept
		limit rate 10/second burst 20 packets accept
		limit rate 1/hour burst 1 packets accept
		limit rate 3/day accept
		ether saddr aa:bb:cc:00:0e:ff accept
		ether saddr != 02:00:00:00:00:01 drop
		socket wildcard 0 accept
		tcp flags syn / fin,syn,rst,ack accept
		tcp flags != syn / syn,ack drop
		tcp flags ! fin,syn,rst,psh,ack,urg drop
		tcp flags fin,rst drop
		tcp flags & syn == syn accept
		tcp flags & cwr != cwr accept
		tcp flags == syn accept
		tcp flags != 0x0 accept
		tcp flags == 0x3 accept
		tcp flags ecn / ecn,cwr accept
		accept comment "hello world"
		counter packets 0 bytes 0 comment "quote ' and \ and ; # { }"
		iifname "br-lan" ether saddr 02:00:00:00:00:02 ip saddr 192.0.2.0/24 tcp dport 22 fib daddr type local ct state new meta mark 0x00000001 ct mark 0x00000002 limit rate 5/second burst 10 packets accept comment "all"
	}

	chain filter_output {
		type filter hook output priority filter; policy accept;
		oifname "eth1" accept
		meta skuid 1000 accept
		meta skuid 0 accept
		meta skuid != 1000-2000 accept
		meta skgid 100-200 accept
		meta skgid != 4242 accept
		meta skuid 1000 meta skgid 1000 accept
	}
}
)nft";
    return f;
}

Fixture filterTargets() {
    Fixture f{"filter_targets", {}, {}};
    const Rule v4only = rule({saddr({pfx("192.0.2.1")})}, Reject{});
    f.host = host({
        table(TableFamily::Inet, "filter",
              {chain("INPUT",
                     {
                         rule({}, Accept{}),
                         rule({}, Drop{}),
                         rule({}, Return{}),
                         rule({}, NoTarget{}),
                         rule({}, Jump{"LOGDROP"}),
                         rule({}, Goto{"LOGDROP"}),
                         rule({}, Reject{}),
                         v4only,
                         rule({daddr({pfx("2001:db8::1")})}, Reject{}),
                         rule({IcmpMatch{Family::V4, false, 8, {}}}, Reject{}),
                         rule({proto(1)}, Reject{}),
                         rule({proto(6), dport({{22, 22}})}, Reject{}),
                         rule({}, Reject{"icmp-port-unreachable"}),
                         rule({}, Reject{"icmp-net-unreachable"}),
                         rule({}, Reject{"icmp-host-unreachable"}),
                         rule({}, Reject{"icmp-proto-unreachable"}),
                         rule({}, Reject{"icmp-net-prohibited"}),
                         rule({}, Reject{"icmp-host-prohibited"}),
                         rule({}, Reject{"icmp-admin-prohibited"}),
                         rule({}, Reject{"icmp6-no-route"}),
                         rule({}, Reject{"icmp6-adm-prohibited"}),
                         rule({}, Reject{"icmp6-addr-unreachable"}),
                         rule({}, Reject{"icmp6-port-unreachable"}),
                         rule({}, Reject{"icmp6-policy-fail"}),
                         rule({}, Reject{"icmp6-reject-route"}),
                         rule({proto(6)}, Reject{"tcp-reset"}),
                         rule({saddr({pfx("192.0.2.1")}), proto(6)}, Reject{"tcp-reset"}),
                         rule({saddr({pfx("192.0.2.1")})}, Reject{"tcp-reset"}),
                         rule({proto(6), dport({{22, 22}})}, Reject{"tcp-reset"}),
                         rule({}, Log{}),
                         rule({}, Log{"x ", {}}),
                         rule({}, Log{"x ", 4}),
                         rule({}, Log{"dropped: ", 7}),
                         rule({}, Log{"", 0}),
                         rule({}, Log{"a", 1}),
                         rule({}, Log{"b", 2}),
                         rule({}, Log{"c", 3}),
                         rule({}, Log{"d", 5}),
                         rule({}, Log{"e", 6}),
                     },
                     ChainPolicy::Drop),
               chain("LOGDROP", {rule({}, Log{"LOGDROP ", 4}), rule({}, Drop{})})}),
        table(TableFamily::Ip, "filter",
              {chain("INPUT",
                     {
                         rule({}, Reject{}),
                         rule({saddr({pfx("192.0.2.1")})}, Reject{}),
                         rule({}, Reject{"icmp-port-unreachable"}),
                         rule({}, Reject{"icmp-host-prohibited"}),
                         rule({}, Reject{"port-unreach"}),
                         rule({proto(6)}, Reject{"tcp-reset"}),
                         rule({proto(6), CtStateMatch{false, kCtNew}}, Reject{"tcp-reset"}),
                         rule({proto(6), dport({{22, 22}})}, Reject{"tcp-reset"}),
                         rule({}, Jump{"X"}),
                     }),
               chain("X")}),
        table(TableFamily::Ip6, "filter",
              {chain("FORWARD",
                     {
                         rule({}, Reject{}),
                         rule({}, Reject{"icmp6-port-unreachable"}),
                         rule({}, Reject{"icmp6-adm-prohibited"}),
                         rule({}, Reject{"port-unreach"}),
                         rule({proto(6)}, Reject{"tcp-reset"}),
                         rule({saddr({pfx("2001:db8::1")}), proto(6)}, Reject{"tcp-reset"}),
                     })}),
    });
    f.expected = R"nft(table inet policyc {
	chain filter_input {
		type filter hook input priority filter; policy drop;
		accept
		drop
		return
		counter packets 0 bytes 0
		jump filter_LOGDROP
		goto filter_LOGDROP
		reject
		ip saddr 192.0.2.1 reject with icmp port-unreachable
		ip6 daddr 2001:db8::1 reject with icmpv6 port-unreachable
		icmp type echo-request reject with icmp port-unreachable
		meta l4proto icmp reject
		tcp dport 22 reject
		reject with icmp port-unreachable
		reject with icmp net-unreachable
		reject with icmp host-unreachable
		reject with icmp prot-unreachable
		reject with icmp net-prohibited
		reject with icmp host-prohibited
		reject with icmp admin-prohibited
		reject with icmpv6 no-route
		reject with icmpv6 admin-prohibited
		reject with icmpv6 addr-unreachable
		reject with icmpv6 port-unreachable
		reject with icmpv6 policy-fail
		reject with icmpv6 reject-route
		meta l4proto tcp reject with tcp reset
		ip saddr 192.0.2.1 meta l4proto tcp reject with tcp reset
		meta l4proto tcp ip saddr 192.0.2.1 reject with tcp reset
		tcp dport 22 reject with tcp reset
		log
		log prefix "x "
		log prefix "x "
		log prefix "dropped: " level debug
		log level emerg
		log prefix "a" level alert
		log prefix "b" level crit
		log prefix "c" level err
		log prefix "d" level notice
		log prefix "e" level info
	}

	chain filter_LOGDROP {
		log prefix "LOGDROP "
		drop
	}
}
table ip policyc {
	chain filter_input {
		type filter hook input priority filter; policy accept;
		reject
		ip saddr 192.0.2.1 reject
		reject
		reject with icmp host-prohibited
		reject
		reject with tcp reset
		ct state new reject with tcp reset
		tcp dport 22 reject with tcp reset
		jump filter_X
	}

	chain filter_X {
	}
}
table ip6 policyc {
	chain filter_forward {
		type filter hook forward priority filter; policy accept;
		reject
		reject
		reject with icmpv6 admin-prohibited
		reject
		reject with tcp reset
		ip6 saddr 2001:db8::1 reject with tcp reset
	}
}
)nft";
    return f;
}

Fixture mangleTargets() {
    Fixture f{"mangle_targets", {}, {}};
    const auto setmark = [](uint32_t v, uint32_t m) { return SetMark{mm(v, m)}; };
    const auto connmark = [](Connmark::Op op, uint32_t v, uint32_t m) {
        return Connmark{op, mm(v, m)};
    };
    using Op = Connmark::Op;
    const std::vector<Rule> marks = {
        rule({}, setmark(1, 0xffffffff)),
        rule({}, setmark(1, 0xff)),
        rule({}, setmark(1, 1)),
        rule({}, setmark(0, 0xff)),
        rule({}, setmark(0xff, 0)),
        rule({}, setmark(0x5, 0xffff0000)),
        rule({}, setmark(0, 0)),
        rule({}, connmark(Op::Set, 1, 0xffffffff)),
        rule({}, connmark(Op::Set, 0x100, 0xff00)),
        rule({}, connmark(Op::Save, 0, 0xffffffff)),
        rule({}, connmark(Op::Save, 0, 0xff)),
        rule({}, connmark(Op::Restore, 0, 0xffffffff)),
        rule({}, connmark(Op::Restore, 0, 0xffff)),
    };
    std::vector<Rule> pre = marks;
    pre.push_back(rule({proto(17), dport({{80, 80}})}, Tproxy{Family::V4, {}, 8000, mm(1, 1)}));
    pre.push_back(rule({proto(6)}, Tproxy{Family::V4, ip("10.0.0.1"), 8000, mm(0, 0)}));
    pre.push_back(rule({proto(6)}, Tproxy{Family::V6, ip("fd00::1"), 8080, mm(2, 0xffffffff)}));
    pre.push_back(rule({proto(6)}, Tproxy{Family::V6, {}, 8080, mm(0, 0)}));
    pre.push_back(rule({proto(6), SocketMatch{true}}, setmark(1, 0xffffffff)));
    f.host = host({
        table(TableFamily::Inet, "mangle", {chain("PREROUTING", pre), chain("OUTPUT", marks)}),
        table(TableFamily::Ip, "mangle",
              {chain(
                  "PREROUTING",
                  {rule({proto(6)}, Tproxy{Family::V4, ip("10.0.0.1"), 8000, mm(1, 1)}),
                   rule({proto(17), dport({{53, 53}})}, Tproxy{Family::V4, {}, 5353, mm(0, 0)})})}),
        table(TableFamily::Ip6, "mangle",
              {chain("PREROUTING",
                     {rule({proto(6)}, Tproxy{Family::V6, ip("fd00::1"), 8000, mm(1, 1)}),
                      rule({proto(17)}, Tproxy{Family::V6, {}, 8000, mm(0, 0)})})}),
    });
    f.expected = R"nft(table inet policyc {
	chain mangle_prerouting {
		type filter hook prerouting priority mangle; policy accept;
		meta mark set 0x00000001
		meta mark set meta mark & 0xffffff01 | 0x00000001
		meta mark set meta mark | 0x00000001
		meta mark set meta mark & 0xffffff00
		meta mark set meta mark ^ 0x000000ff
		meta mark set meta mark & 0x0000ffff ^ 0x00000005
		meta mark set meta mark
		ct mark set 0x00000001
		ct mark set ct mark & 0xffff01ff | 0x00000100
		ct mark set meta mark
		ct mark set meta mark & 0x000000ff
		meta mark set ct mark
		meta mark set ct mark & 0x0000ffff
		udp dport 80 tproxy ip to :8000 meta mark set meta mark | 0x00000001 accept
		meta l4proto tcp tproxy ip to 10.0.0.1:8000 accept
		meta l4proto tcp tproxy ip6 to [fd00::1]:8080 meta mark set 0x00000002 accept
		meta l4proto tcp tproxy ip6 to :8080 accept
		meta l4proto tcp socket transparent 1 meta mark set 0x00000001
	}

	chain mangle_output {
		type route hook output priority mangle; policy accept;
		meta mark set 0x00000001
		meta mark set meta mark & 0xffffff01 | 0x00000001
		meta mark set meta mark | 0x00000001
		meta mark set meta mark & 0xffffff00
		meta mark set meta mark ^ 0x000000ff
		meta mark set meta mark & 0x0000ffff ^ 0x00000005
		meta mark set meta mark
		ct mark set 0x00000001
		ct mark set ct mark & 0xffff01ff | 0x00000100
		ct mark set meta mark
		ct mark set meta mark & 0x000000ff
		meta mark set ct mark
		meta mark set ct mark & 0x0000ffff
	}
}
table ip policyc {
	chain mangle_prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip protocol tcp tproxy to 10.0.0.1:8000 meta mark set meta mark | 0x00000001 accept
		udp dport 53 tproxy to :5353 accept
	}
}
table ip6 policyc {
	chain mangle_prerouting {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp tproxy to [fd00::1]:8000 meta mark set meta mark | 0x00000001 accept
		meta l4proto udp tproxy to :8000 accept
	}
}
)nft";
    return f;
}

Fixture natTargets() {
    Fixture f{"nat_targets", {}, {}};
    const auto nat = [](Nat::Kind k, const char* a, const char* b, std::optional<NumRange> p) {
        Nat n{k, {}, {}, p};
        if (a) n.first = ip(a);
        if (b) n.last = ip(b);
        return n;
    };
    const auto D = Nat::Kind::Dnat, S = Nat::Kind::Snat;
    const std::optional<NumRange> none;
    f.host = host({
        table(TableFamily::Inet, "nat",
              {chain("PREROUTING",
                     {
                         rule({}, nat(D, "10.0.0.3", nullptr, none)),
                         rule({proto(6), dport({{1000, 1000}})},
                              nat(D, "10.0.0.3", nullptr, NumRange{1000, 1000})),
                         rule({proto(6)}, nat(D, "10.0.0.3", "10.0.0.9", NumRange{1000, 2000})),
                         rule({}, nat(D, "10.0.0.3", "10.0.0.9", none)),
                         rule({}, nat(D, "fd00::1", nullptr, none)),
                         rule({}, nat(D, "fd00::1", "fd00::9", none)),
                         rule({proto(6)}, nat(D, "fd00::1", nullptr, NumRange{80, 80})),
                         rule({proto(17)}, nat(D, "fd00::1", "fd00::9", NumRange{80, 90})),
                         rule({daddr({pfx("192.0.2.1")})}, nat(D, "10.0.0.3", nullptr, none)),
                         rule({proto(6), dport({{80, 80}})}, Redirect{NumRange{8080, 8080}}),
                         rule({proto(6)}, Redirect{NumRange{8080, 8090}}),
                         rule({}, Redirect{}),
                     }),
               chain("INPUT", {rule({}, nat(S, "10.0.0.1", nullptr, none))}),
               chain("OUTPUT",
                     {rule({proto(6)}, nat(D, "127.0.0.1", nullptr, NumRange{8080, 8080}))}),
               chain("POSTROUTING",
                     {
                         rule({IfaceMatch{IfaceDirection::Out, false, "eth1"}},
                              nat(S, "10.0.0.3", nullptr, none)),
                         rule({proto(6)}, nat(S, nullptr, nullptr, NumRange{1000, 2000})),
                         rule({}, Masquerade{}),
                         rule({proto(6)}, Masquerade{NumRange{1000, 2000}}),
                         rule({proto(17)}, Masquerade{NumRange{1000, 1000}}),
                     })}),
        table(TableFamily::Ip, "nat",
              {chain("PREROUTING",
                     {
                         rule({}, nat(D, "10.0.0.3", nullptr, none)),
                         rule({proto(6)}, nat(D, "10.0.0.3", nullptr, NumRange{1000, 1000})),
                         rule({proto(6), dport({{1, 1}})},
                              nat(D, "10.0.0.3", "10.0.0.9", NumRange{1000, 2000})),
                         rule({proto(6)}, Redirect{NumRange{8080, 8080}}),
                     }),
               chain("POSTROUTING",
                     {
                         rule({saddr({pfx("10.0.0.0/24")})}, nat(S, "192.0.2.1", nullptr, none)),
                         rule({proto(17)}, nat(S, nullptr, nullptr, NumRange{1000, 1000})),
                         rule({proto(6)}, Masquerade{NumRange{1000, 2000}}),
                     })}),
        table(TableFamily::Ip6, "nat",
              {chain("PREROUTING",
                     {
                         rule({}, nat(D, "fd00::1", nullptr, none)),
                         rule({proto(6)}, nat(D, "fd00::1", nullptr, NumRange{80, 80})),
                         rule({proto(6)}, nat(D, "fd00::1", "fd00::9", NumRange{80, 90})),
                     }),
               chain("POSTROUTING", {rule({}, Masquerade{})})}),
    });
    f.expected = R"nft(table inet policyc {
	chain nat_prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		dnat ip to 10.0.0.3
		tcp dport 1000 dnat ip to 10.0.0.3:1000
		meta l4proto tcp dnat ip to 10.0.0.3-10.0.0.9:1000-2000
		dnat ip to 10.0.0.3-10.0.0.9
		dnat ip6 to fd00::1
		dnat ip6 to fd00::1-fd00::9
		meta l4proto tcp dnat ip6 to [fd00::1]:80
		meta l4proto udp dnat ip6 to [fd00::1]-[fd00::9]:80-90
		ip daddr 192.0.2.1 dnat ip to 10.0.0.3
		tcp dport 80 redirect to :8080
		meta l4proto tcp redirect to :8080-8090
		redirect
	}

	chain nat_input {
		type nat hook input priority 100; policy accept;
		snat ip to 10.0.0.1
	}

	chain nat_output {
		type nat hook output priority -100; policy accept;
		meta l4proto tcp dnat ip to 127.0.0.1:8080
	}

	chain nat_postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" snat ip to 10.0.0.3
		meta l4proto tcp snat to :1000-2000
		masquerade
		meta l4proto tcp masquerade to :1000-2000
		meta l4proto udp masquerade to :1000
	}
}
table ip policyc {
	chain nat_prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		dnat to 10.0.0.3
		ip protocol tcp dnat to 10.0.0.3:1000
		tcp dport 1 dnat to 10.0.0.3-10.0.0.9:1000-2000
		ip protocol tcp redirect to :8080
	}

	chain nat_postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.0.0.0/24 snat to 192.0.2.1
		ip protocol udp snat to :1000
		ip protocol tcp masquerade to :1000-2000
	}
}
table ip6 policyc {
	chain nat_prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		dnat to fd00::1
		meta l4proto tcp dnat to [fd00::1]:80
		meta l4proto tcp dnat to [fd00::1]-[fd00::9]:80-90
	}

	chain nat_postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		masquerade
	}
}
)nft";
    return f;
}

Fixture rawTargets() {
    Fixture f{"raw_targets", {}, {}};
    f.host = host({
        table(TableFamily::Inet, "raw",
              {chain("PREROUTING", {rule({proto(17), dport({{53, 53}})}, Notrack{})}),
               chain("OUTPUT", {rule({}, Notrack{})})}),
        table(TableFamily::Ip, "raw", {chain("PREROUTING", {rule({}, Notrack{})})}),
    });
    f.expected = R"nft(table inet policyc {
	chain raw_prerouting {
		type filter hook prerouting priority raw; policy accept;
		udp dport 53 notrack
	}

	chain raw_output {
		type filter hook output priority raw; policy accept;
		notrack
	}
}
table ip policyc {
	chain raw_prerouting {
		type filter hook prerouting priority raw; policy accept;
		notrack
	}
}
)nft";
    return f;
}

Fixture cgroup() {
    Fixture f{"cgroup", {}, {}};
    f.host = host({table(TableFamily::Inet, "mangle",
                         {chain("OUTPUT", {
                                              rule({CgroupMatch{false, "/app"}}, Accept{}),
                                              rule({CgroupMatch{true, "app/x/"}}, Drop{}),
                                          })})});
    f.expected = R"nft(table inet policyc {
	chain mangle_output {
		type route hook output priority mangle; policy accept;
		socket cgroupv2 level 1 "app" accept
		socket cgroupv2 level 2 != "app/x" drop
	}
}
)nft";
    return f;
}

// IR tables without chains still make their nft table exist.
Fixture emptyTables() {
    Fixture f{"empty_tables", {}, {}};
    f.host = host({table(TableFamily::Ip6, "raw", {}), table(TableFamily::Inet, "filter", {})});
    f.expected = R"nft(table inet policyc {
}
table ip6 policyc {
}
)nft";
    return f;
}

std::vector<Fixture> fixtures() {
    return {
        {"empty", host({}), ""},
        emptyTables(),
        structure(),
        addresses(),
        protocolsPorts(),
        matches(),
        filterTargets(),
        mangleTargets(),
        natTargets(),
        rawTargets(),
        cgroup(),
    };
}

}  // namespace

TEST_CASE("nft_text: fixtures render as nft lists them back") {
    for (const auto& f : fixtures()) {
        CAPTURE(f.name);
        CHECK(backends::renderNft(f.host) == f.expected);
    }
}

TEST_CASE("nft_text: chain names and base chains mirror the legacy tables") {
    namespace nft = backends::nft;
    CHECK(nft::chainName("filter", "INPUT") == "filter_input");
    CHECK(nft::chainName("nat", "POSTROUTING") == "nat_postrouting");
    CHECK(nft::chainName("filter", "MYCHAIN") == "filter_MYCHAIN");
    CHECK(nft::chainName("filter", "input") == "filter_input");  // a user chain, kept as is
    CHECK_FALSE(nft::baseChain("filter", "MYCHAIN"));
    CHECK_FALSE(nft::baseChain("filter", "PREROUTING"));
    struct Row {
        const char* table;
        const char* chain;
        const char* type;
        int priority;
    };
    // NF_IP_PRI_* of iptable_filter/_nat/_mangle/_raw.
    const Row rows[] = {
        {"filter", "FORWARD", "filter", 0},    {"nat", "PREROUTING", "nat", -100},
        {"nat", "OUTPUT", "nat", -100},        {"nat", "INPUT", "nat", 100},
        {"nat", "POSTROUTING", "nat", 100},    {"mangle", "OUTPUT", "route", -150},
        {"mangle", "FORWARD", "filter", -150}, {"raw", "PREROUTING", "filter", -300},
    };
    for (const Row& r : rows) {
        CAPTURE(r.chain);
        auto base = nft::baseChain(r.table, r.chain);
        REQUIRE(base);
        CHECK(base->type == r.type);
        CHECK(base->priority == r.priority);
    }
}

// With POLICYC_ORACLE_DIR set, writes NAME.nft for tests/kernel/run_nft_fixture_oracle.sh.
POLICYC_FIXTURE_WRITER(nft) {
    for (const auto& f : fixtures())
        policyc::testing::writeFixtureFile(dir / (f.name + ".nft"), backends::renderNft(f.host));
}
