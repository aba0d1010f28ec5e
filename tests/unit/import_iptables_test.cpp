// SPDX-License-Identifier: GPL-2.0-or-later
// The iptables-save reader: one line per match and target against the IR it must give, the
// located errors for what the IR cannot hold, and print -> compile giving back the same IR.
// Lines marked canonical are spelled as iptables-legacy-save 1.8.9 lists them (each was loaded
// with iptables-legacy-restore and listed back in a scratch netns; kernel/import_round_trip does
// the same for whole dumps), so renderIptables must print them back unchanged.
#include "compiler/import_iptables.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/text/render.h"
#include "compiler/compile.h"
#include "compiler/ir_print.h"

namespace {

using namespace policyc;
using namespace policyc::ir;

IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
Prefix net(std::string_view s) { return Prefix::parse(s).value(); }
NumRange one(uint32_t v) { return {v, v}; }

struct Imported {
    SourceManager sources;
    Diagnostics diags;
    std::optional<Host> host;
};

std::unique_ptr<Imported> importText(const std::string& text) {
    auto r = std::make_unique<Imported>();
    const uint32_t file = r->sources.add("dump.txt", text);
    r->host = importIptablesSave(file, "dump", r->sources, r->diags);
    return r;
}

/// A dump with the table's built-in chains, one user chain `u` and `line` in `chain`.
std::string dumpWith(std::string_view table, std::string_view chain, std::string_view line) {
    std::string text = "*" + std::string(table) + "\n";
    for (auto c : builtinChains(table)) text += ":" + std::string(c) + " ACCEPT [0:0]\n";
    text += ":u - [0:0]\n-A " + std::string(chain) + " " + std::string(line) + "\nCOMMIT\n";
    return text;
}

struct Case {
    std::string_view table;
    std::string_view chain;
    std::string_view line;  // after `-A CHAIN`
    std::vector<Match> matches;
    Target target;
    bool canonical = true;  // iptables-legacy-save lists it exactly so
    std::string comment = {};
    Family family = Family::V4;
    std::optional<uint64_t> commentAfter = {};  // bit i: sorted match i precedes the comment
};

const std::vector<Case>& cases() {
    using D = Direction;
    using IF = IfaceDirection;
    static const std::vector<Case> kCases = {
        {"filter",
         "INPUT",
         "-s 10.0.0.0/8 -j ACCEPT",
         {AddrMatch{D::Source, false, {net("10.0.0.0/8")}}},
         Accept{}},
        {"filter",
         "INPUT",
         "! -d 192.168.1.1/32 -j DROP",
         {AddrMatch{D::Destination, true, {net("192.168.1.1/32")}}},
         Drop{}},
        {"filter",
         "INPUT",
         "-s 10.1.2.3/8 -j ACCEPT",
         {AddrMatch{D::Source, false, {net("10.0.0.0/8")}}},
         Accept{},
         false},
        {"filter", "INPUT", "-i eth+ -j RETURN", {IfaceMatch{IF::In, false, "eth+"}}, Return{}},
        {"filter", "OUTPUT", "! -o wg0 -j u", {IfaceMatch{IF::Out, true, "wg0"}}, Jump{"u"}},
        {"filter", "INPUT", "-g u", {}, Goto{"u"}},
        {"filter", "INPUT", "-p gre -j ACCEPT", {ProtoMatch{47, false}}, Accept{}},
        {"filter", "INPUT", "! -p udp -j ACCEPT", {ProtoMatch{17, true}}, Accept{}},
        {"filter", "INPUT", "-p 132 -j ACCEPT", {ProtoMatch{132, false}}, Accept{}, false},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --dport 22 -j ACCEPT",
         {ProtoMatch{6, false}, PortMatch{D::Destination, false, {one(22)}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-p udp -m udp ! --sport 1000:2000 -j DROP",
         {ProtoMatch{17, false}, PortMatch{D::Source, true, {{1000, 2000}}}},
         Drop{}},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
         {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x17, 0x02}},
         Accept{}},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --sport 5 --dport 80 ! --tcp-flags SYN,ACK SYN -j DROP",
         {ProtoMatch{6, false}, PortMatch{D::Source, false, {one(5)}},
          PortMatch{D::Destination, false, {one(80)}}, TcpFlagsMatch{true, 0x12, 0x02}},
         Drop{}},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE -j DROP",
         {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x3f, 0}},
         Drop{}},
        {"filter",
         "INPUT",
         "-p tcp -m tcp ! --syn -j DROP",
         {ProtoMatch{6, false}, TcpFlagsMatch{true, 0x17, 0x02}},
         Drop{},
         false},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --tcp-flags ALL ack,Fin -j DROP",
         {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x3f, 0x11}},
         Drop{},
         false},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --tcp-flags NONE NONE -j DROP",
         {ProtoMatch{6, false, true}},
         Drop{},
         false},
        {"filter",
         "INPUT",
         "-p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT",
         {ProtoMatch{6, false},
          PortMatch{D::Destination, false, {one(80), one(443), {8000, 8080}}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-p udp -m multiport --sports 53,67 -j ACCEPT",
         {ProtoMatch{17, false}, PortMatch{D::Source, false, {one(53), one(67)}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m iprange --src-range 10.0.0.1-10.0.0.9 -j ACCEPT",
         {AddrMatch{D::Source, false, {AddrRange{ip("10.0.0.1"), ip("10.0.0.9")}}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m iprange ! --dst-range 10.0.0.1-10.0.0.9 -j ACCEPT",
         {AddrMatch{D::Destination, true, {AddrRange{ip("10.0.0.1"), ip("10.0.0.9")}}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
         {CtStateMatch{false, kCtRelated | kCtEstablished}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m conntrack ! --ctstate INVALID,NEW,UNTRACKED -j DROP",
         {CtStateMatch{true, kCtInvalid | kCtNew | kCtUntracked}},
         Drop{}},
        {"filter",
         "INPUT",
         "-m state --state NEW -j ACCEPT",
         {CtStateMatch{false, kCtNew, true}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m state ! --state INVALID,RELATED -j DROP",
         {CtStateMatch{true, kCtInvalid | kCtRelated, true}},
         Drop{}},
        // A -m tcp/udp without a condition stays (ProtoMatch::portModule), as does a negated
        // full range in it, which iptables-legacy-save 1.8.9 lists as a bare -m tcp.
        {"filter", "INPUT", "-p tcp -m tcp -j ACCEPT", {ProtoMatch{6, false, true}}, Accept{}},
        {"filter",
         "INPUT",
         "-p udp -m udp --sport : -j ACCEPT",
         {ProtoMatch{17, false, true}},
         Accept{},
         false},
        {"filter",
         "INPUT",
         "-p tcp -m tcp ! --dport : -j DROP",
         {ProtoMatch{6, false, true}, PortMatch{D::Destination, true, {{0, 65535}}}},
         Drop{},
         false},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --dport 0:65535 --sport 22 -j ACCEPT",
         {ProtoMatch{6, false}, PortMatch{D::Source, false, {one(22)}}},
         Accept{},
         false},
        {"filter",
         "INPUT",
         "-p udp -m udp -m multiport --dports 53,67 -j ACCEPT",
         {ProtoMatch{17, false, true}, PortMatch{D::Destination, false, {one(53), one(67)}}},
         Accept{}},
        // one port or the full range in multiport stays in multiport (`tcp dport { 22 }`)
        {"filter",
         "INPUT",
         "-p tcp -m multiport --dports 22 -j ACCEPT",
         {ProtoMatch{6, false}, PortMatch{D::Destination, false, {one(22)}, true}},
         Accept{}},
        {"filter",
         "INPUT",
         "-p udp -m multiport --sports 0:65535 -j ACCEPT",
         {ProtoMatch{17, false}, PortMatch{D::Source, false, {{0, 65535}}, true}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m mark --mark 0x1 -j ACCEPT",
         {MarkMatch{false, {1, 0xffffffff}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m mark ! --mark 0x10/0xf0 -j ACCEPT",
         {MarkMatch{true, {0x10, 0xf0}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m connmark --mark 0x2/0xff -j ACCEPT",
         {ConnmarkMatch{false, {2, 0xff}}},
         Accept{}},
        {"filter",
         "OUTPUT",
         "-m owner --uid-owner 1000 -j ACCEPT",
         {OwnerMatch{OwnerMatch::Kind::Uid, false, one(1000)}},
         Accept{}},
        {"filter",
         "OUTPUT",
         "-m owner ! --gid-owner 100-200 -j ACCEPT",
         {OwnerMatch{OwnerMatch::Kind::Gid, true, {100, 200}}},
         Accept{}},
        {"filter",
         "OUTPUT",
         "-m cgroup --path app/x -j ACCEPT",
         {CgroupMatch{false, "app/x"}},
         Accept{},
         false},
        {"mangle",
         "PREROUTING",
         "-p tcp -m socket --transparent -j ACCEPT",
         {ProtoMatch{6, false}, SocketMatch{true}},
         Accept{}},
        {"mangle", "PREROUTING", "-m socket -j ACCEPT", {SocketMatch{false}}, Accept{}},
        {"filter",
         "INPUT",
         "-p icmp -m icmp --icmp-type 8 -j ACCEPT",
         {ProtoMatch{1, false}, IcmpMatch{Family::V4, false, 8, std::nullopt}},
         Accept{}},
        {"filter",
         "INPUT",
         "-p icmp -m icmp --icmp-type 3/4 -j ACCEPT",
         {ProtoMatch{1, false}, IcmpMatch{Family::V4, false, 3, 4}},
         Accept{}},
        {"filter",
         "INPUT",
         "-p icmp -m icmp --icmp-type echo-request -j ACCEPT",
         {ProtoMatch{1, false}, IcmpMatch{Family::V4, false, 8, std::nullopt}},
         Accept{},
         false},
        {"filter",
         "INPUT",
         "-p icmp -m icmp --icmp-type port-unreachable -j ACCEPT",
         {ProtoMatch{1, false}, IcmpMatch{Family::V4, false, 3, 3}},
         Accept{},
         false},
        {"filter",
         "INPUT",
         "-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j ACCEPT",
         {ProtoMatch{58, false}, IcmpMatch{Family::V6, false, 134, std::nullopt}},
         Accept{},
         true,
         "",
         Family::V6},
        {"filter",
         "INPUT",
         "-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT",
         {ProtoMatch{58, false}, IcmpMatch{Family::V6, false, 135, std::nullopt}},
         Accept{},
         false,
         "",
         Family::V6},
        {"filter",
         "INPUT",
         "-m addrtype --dst-type LOCAL -j ACCEPT",
         {AddrTypeMatch{D::Destination, false, "local"}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m addrtype ! --src-type BROADCAST -j ACCEPT",
         {AddrTypeMatch{D::Source, true, "broadcast"}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m limit --limit 12/min --limit-burst 10 -j ACCEPT",
         {LimitMatch{12, "minute", 10}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m limit --limit 1/sec -j ACCEPT",
         {LimitMatch{1, "second", 5}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m mac --mac-source 00:00:f1:05:a0:e0 -j ACCEPT",
         {MacMatch{false, {0, 0, 0xf1, 5, 0xa0, 0xe0}}},
         Accept{}},
        {"filter",
         "INPUT",
         "-m comment --comment \"User: \\\"x\\\"\" -j ACCEPT",
         {},
         Accept{},
         true,
         "User: \"x\""},
        {"filter", "INPUT", "-m comment --comment ssh -j ACCEPT", {}, Accept{}, true, "ssh"},
        {"filter",
         "INPUT",
         "-j REJECT --reject-with icmp-host-prohibited",
         {},
         Reject{"icmp-host-prohibited"}},
        {"filter",
         "INPUT",
         "-p tcp -j REJECT --reject-with tcp-reset",
         {ProtoMatch{6, false}},
         Reject{"tcp-reset"}},
        {"filter",
         "INPUT",
         "-j REJECT --reject-with icmp6-adm-prohibited",
         {},
         Reject{"icmp6-adm-prohibited"},
         true,
         "",
         Family::V6},
        {"filter",
         "INPUT",
         "-j LOG --log-prefix \"UNKNOWN WLAN dropped:\" --log-level 6",
         {},
         Log{"UNKNOWN WLAN dropped:", 6}},
        {"filter", "INPUT", "-j LOG", {}, Log{}},
        {"filter", "INPUT", "-j LOG --log-level info", {}, Log{"", 6}, false},
        {"mangle", "OUTPUT", "-j MARK --set-xmark 0x1/0xffffffff", {}, SetMark{{1, 0xffffffff}}},
        {"mangle", "OUTPUT", "-j MARK --set-mark 0x1/0xf", {}, SetMark{{1, 0xf}}, false},
        {"mangle", "OUTPUT", "-j MARK --or-mark 0x4", {}, SetMark{{4, 4}}, false},
        {"mangle", "OUTPUT", "-j MARK --and-mark 0xff", {}, SetMark{{0, 0xffffff00}}, false},
        {"mangle",
         "OUTPUT",
         "-j CONNMARK --set-xmark 0x2/0xff",
         {},
         Connmark{Connmark::Op::Set, {2, 0xff}}},
        {"mangle",
         "OUTPUT",
         "-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
         {},
         Connmark{Connmark::Op::Save, {0, 0xffffffff}}},
        {"mangle",
         "PREROUTING",
         "-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff",
         {},
         Connmark{Connmark::Op::Restore, {0, 0xff}}},
        {"mangle",
         "PREROUTING",
         "-j CONNMARK --restore-mark --mask 0xff",
         {},
         Connmark{Connmark::Op::Restore, {0, 0xff}},
         false},
        {"nat",
         "POSTROUTING",
         "-o eth0 -j SNAT --to-source 1.2.3.4",
         {IfaceMatch{IF::Out, false, "eth0"}},
         Nat{Nat::Kind::Snat, ip("1.2.3.4"), std::nullopt, std::nullopt}},
        {"nat",
         "POSTROUTING",
         "-p tcp -j SNAT --to-source 1.2.3.4-1.2.3.9:1000-2000",
         {ProtoMatch{6, false}},
         Nat{Nat::Kind::Snat, ip("1.2.3.4"), ip("1.2.3.9"), NumRange{1000, 2000}}},
        {"nat",
         "PREROUTING",
         "-p tcp -m tcp --dport 1000 -j DNAT --to-destination 10.0.0.3:1000",
         {ProtoMatch{6, false}, PortMatch{D::Destination, false, {one(1000)}}},
         Nat{Nat::Kind::Dnat, ip("10.0.0.3"), std::nullopt, one(1000)}},
        {"nat",
         "PREROUTING",
         "-p tcp -j DNAT --to-destination [fd00::3]:80",
         {ProtoMatch{6, false}},
         Nat{Nat::Kind::Dnat, ip("fd00::3"), std::nullopt, one(80)},
         true,
         "",
         Family::V6},
        {"nat",
         "POSTROUTING",
         "-o eth1 -j MASQUERADE",
         {IfaceMatch{IF::Out, false, "eth1"}},
         Masquerade{}},
        {"nat",
         "POSTROUTING",
         "-p udp -j MASQUERADE --to-ports 1024-2048",
         {ProtoMatch{17, false}},
         Masquerade{NumRange{1024, 2048}}},
        {"nat",
         "PREROUTING",
         "-p tcp -j REDIRECT --to-ports 8080",
         {ProtoMatch{6, false}},
         Redirect{one(8080)}},
        {"mangle",
         "PREROUTING",
         "-p tcp -j TPROXY --on-port 8000 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1",
         {ProtoMatch{6, false}},
         Tproxy{Family::V4, std::nullopt, 8000, {1, 1}}},
        {"mangle",
         "PREROUTING",
         "-p tcp -j TPROXY --on-port 8000 --on-ip 127.0.0.1 --tproxy-mark 0x1/0xffffffff",
         {ProtoMatch{6, false}},
         Tproxy{Family::V4, ip("127.0.0.1"), 8000, {1, 0xffffffff}}},
        {"raw", "PREROUTING", "-p udp -j CT --notrack", {ProtoMatch{17, false}}, Notrack{}},
        {"raw", "PREROUTING", "-j NOTRACK", {}, Notrack{}, false},
        {"mangle",
         "FORWARD",
         "-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
         {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x06, 0x02}},
         TcpMss{}},
        {"mangle",
         "POSTROUTING",
         "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 0",
         {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x17, 0x02}},
         TcpMss{0}},
        {"mangle",
         "OUTPUT",
         "-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 65515",
         {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x06, 0x02}},
         TcpMss{65515}},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --sport 1:1023 --dport 22 -m conntrack --ctstate NEW -m comment --comment "
         "\"two ports\" -j ACCEPT",
         {ProtoMatch{6, false}, PortMatch{D::Source, false, {{1, 1023}}},
          PortMatch{D::Destination, false, {one(22)}}, CtStateMatch{false, kCtNew}},
         Accept{},
         true,
         "two ports"},
        {"filter",
         "INPUT",
         "-p tcp -m comment --comment first -m tcp --dport 22 -j ACCEPT",
         {ProtoMatch{6, false}, PortMatch{D::Destination, false, {one(22)}}},
         Accept{},
         true,
         "first",
         Family::V4,
         0b01},
        {"filter",
         "INPUT",
         "-p tcp -m tcp --dport 22 -m comment --comment mid -m conntrack --ctstate NEW -j ACCEPT",
         {ProtoMatch{6, false}, PortMatch{D::Destination, false, {one(22)}},
          CtStateMatch{false, kCtNew}},
         Accept{},
         true,
         "mid",
         Family::V4,
         0b011},
        // the tcp module a bare -m tcp opens stands after the comment
        {"filter",
         "INPUT",
         "-p tcp -m comment --comment bare -m tcp -j ACCEPT",
         {ProtoMatch{6, false, true}},
         Accept{},
         true,
         "bare",
         Family::V4,
         0b0},
        // kube-proxy writes its comments first
        {"nat",
         "PREROUTING",
         "-m comment --comment \"kube services\" -m addrtype --dst-type LOCAL -j ACCEPT",
         {AddrTypeMatch{D::Destination, false, "local"}},
         Accept{},
         true,
         "kube services",
         Family::V4,
         0b0},
        {"filter",
         "INPUT",
         "-s fd00::/64 -j ACCEPT",
         {AddrMatch{D::Source, false, {net("fd00::/64")}}},
         Accept{},
         true,
         "",
         Family::V6},
        {"filter",
         "INPUT",
         "-m conntrack --ctstate NEW",
         {CtStateMatch{false, kCtNew}},
         NoTarget{}},
    };
    return kCases;
}

}  // namespace

TEST_CASE("import_iptables: every match and target becomes its IR") {
    for (const Case& c : cases()) {
        CAPTURE(c.line);
        auto r = importText(dumpWith(c.table, c.chain, c.line));
        REQUIRE_MESSAGE(r->host, renderText(r->diags.sorted(), r->sources));
        const Host& h = *r->host;
        REQUIRE(h.tables.size() == 1);
        CHECK(h.tables[0].family == (c.family == Family::V4 ? TableFamily::Ip : TableFamily::Ip6));
        const Chain* chain = nullptr;
        for (const auto& ch : h.tables[0].chains)
            if (ch.name == c.chain) chain = &ch;
        REQUIRE(chain);
        REQUIRE(chain->rules.size() == 1);
        const Rule& rule = chain->rules[0];
        std::vector<Match> want = c.matches;
        sortMatches(want);
        CHECK(rule.matches == want);
        CHECK(rule.target == c.target);
        CHECK(rule.comment == c.comment);
        CHECK(rule.commentAfter == c.commentAfter);
        CHECK(rule.span.line == builtinChains(c.table).size() + 3);
        CHECK(rule.span.column == 1);
        // The printed .pol compiles back to the same host, iptables' own spellings included.
        SourceManager sources;
        Diagnostics diags;
        auto policy = compileText(printHost(h), "printed.pol", sources, diags);
        REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
        REQUIRE(policy->hosts.size() == 1);
        CHECK(policy->hosts[0].tables == h.tables);
        if (c.canonical) {
            // POLICYC_IMPORT_ORACLE_DIR: write the canonical dumps for a check with the real tool.
            if (const char* dir = std::getenv("POLICYC_IMPORT_ORACLE_DIR")) {
                static int n = 0;
                std::ofstream(std::string(dir) + "/" + std::to_string(++n) +
                              (c.family == Family::V4 ? ".v4" : ".v6"))
                    << dumpWith(c.table, c.chain, c.line);
            }
            const std::string rendered = backends::renderIptables(h, c.family);
            CHECK(rendered.find("-A " + std::string(c.chain) + " " + std::string(c.line) + "\n") !=
                  std::string::npos);
        }
    }
}

TEST_CASE("import_iptables: a comment that leads a rule prints and compiles back in place") {
    // printed first in its rule, it would end the rule before: the printer closes that one
    auto r = importText(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -p tcp -j DROP\n"
        "-A INPUT -m comment --comment lead -m mark --mark 0x1 -j ACCEPT\n"
        "-A INPUT -m comment --comment again -m mark --mark 0x2 -j ACCEPT\nCOMMIT\n");
    REQUIRE_MESSAGE(r->host, renderText(r->diags.sorted(), r->sources));
    const std::string printed = printHost(*r->host);
    CHECK(printed.find("proto tcp drop;\n") != std::string::npos);
    CHECK(printed.find("comment \"lead\" mark 0x1 accept;\n") != std::string::npos);
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(printed, "printed.pol", sources, diags);
    REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
    CHECK(policy->hosts[0].tables == r->host->tables);
    const std::string rendered = backends::renderIptables(policy->hosts[0], Family::V4);
    CHECK(rendered.find("-A INPUT -m comment --comment lead -m mark --mark 0x1 -j ACCEPT\n") !=
          std::string::npos);
}

TEST_CASE("import_iptables: each match and the target point at the options that gave them") {
    // Sorting puts the interface before the mark and the protocol first; the spans follow.
    auto r = importText(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
        ":OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -m mark --mark 0x1 ! -i eth0 -p tcp -m tcp --dport 22 "
        "-j LOG --log-prefix x\nCOMMIT\n");
    REQUIRE_MESSAGE(r->host, renderText(r->diags.sorted(), r->sources));
    const Rule& rule = r->host->tables[0].chains[0].rules[0];
    REQUIRE(rule.parts.matches.size() == rule.matches.size());
    auto columns = [&](size_t i) {
        const SourceSpan& s = rule.parts.matches[i];
        return std::make_pair(s.column, s.endColumn);
    };
    for (size_t i = 0; i < rule.matches.size(); ++i) {
        CHECK(rule.parts.matches[i].line == 5);
        if (std::holds_alternative<MarkMatch>(rule.matches[i]))
            CHECK(columns(i) == std::pair(18u, 27u));
        if (std::holds_alternative<IfaceMatch>(rule.matches[i]))
            CHECK(columns(i) == std::pair(29u, 37u));
        if (std::holds_alternative<ProtoMatch>(rule.matches[i]))
            CHECK(columns(i) == std::pair(39u, 44u));
        if (std::holds_alternative<PortMatch>(rule.matches[i]))
            CHECK(columns(i) == std::pair(53u, 62u));
    }
    CHECK(rule.parts.target.column == 64);
    CHECK(rule.parts.target.endColumn == 84);
}

TEST_CASE("import_iptables: file structure, counters, policies and comments") {
    auto r = importText(
        "# Generated by iptables-save v1.8.9\n"
        "*filter\n"
        ":INPUT DROP [12:345]\n"
        ":FORWARD ACCEPT [0:0]\n"
        ":OUTPUT ACCEPT [0:0]\n"
        ":empty - [0:0]\n"
        "[3:4] -A INPUT -i lo -j ACCEPT\n"
        "COMMIT\n"
        "# Completed\n"
        "*nat\n"
        ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":POSTROUTING ACCEPT [0:0]\n"
        "COMMIT\n");
    REQUIRE_MESSAGE(r->host, renderText(r->diags.sorted(), r->sources));
    CHECK(r->host->name == "dump");
    REQUIRE(r->host->tables.size() == 2);
    const Table& f = r->host->tables[0];
    CHECK(f.name == "filter");
    CHECK(f.family == TableFamily::Ip);
    REQUIRE(f.chains.size() == 4);
    CHECK(f.chains[0].policy == ChainPolicy::Drop);
    CHECK(f.chains[1].policy == ChainPolicy::Accept);
    CHECK(f.chains[3].name == "empty");
    CHECK(f.chains[3].policy == ChainPolicy::None);
    REQUIRE(f.chains[0].rules.size() == 1);
    CHECK(f.chains[0].rules[0].span.line == 7);
    CHECK(r->host->tables[1].name == "nat");
    CHECK(r->host->tables[1].chains.size() == 4);
}

namespace {

struct ErrorCase {
    std::string_view text;  // a whole dump
    uint32_t line;
    uint32_t column;
    Code code;
    std::string_view words;  // part of the message
};

const std::string kHead =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

}  // namespace

TEST_CASE("import_iptables: unsupported and bad input are located errors") {
    const std::vector<ErrorCase> errors = {
        {"-A INPUT -m quota --quota 10 -j ACCEPT\nCOMMIT\n", 5, 13, Code::E202, "match '-m quota'"},
        {"-A INPUT -j NFLOG --nflog-group 1\nCOMMIT\n", 5, 13, Code::E202, "target 'NFLOG'"},
        {":ccccccccccccccccccccccccccccc - [0:0]\nCOMMIT\n", 5, 1, Code::E205,
         "longer than 28 bytes"},
        {"-A INPUT -j NOSUCHCHAIN\nCOMMIT\n", 5, 13, Code::E202, "target 'NOSUCHCHAIN'"},
        {"-A INPUT -g nochain\nCOMMIT\n", 5, 13, Code::E202, "goto 'nochain'"},
        // found by fuzz_import_iptables: a goto named like a target, with that target's options
        {"-A INPUT -g LOG --log-prefix x\nCOMMIT\n", 5, 17, Code::E001, "takes no options"},
        {"-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT\nCOMMIT\n", 5, 32, Code::E103, "'70000'"},
        {"-A INPUT -p tcp -m tcp --dport 9:3 -j ACCEPT\nCOMMIT\n", 5, 32, Code::E103, "'9:3'"},
        {"-A INPUT -p tcp -m tcp --tcp-option 2 -j ACCEPT\nCOMMIT\n", 5, 24, Code::E202,
         "'--tcp-option'"},
        {"-A INPUT -p tcp -m tcp --tcp-flags SYN SYN,ACK -j ACCEPT\nCOMMIT\n", 5, 40, Code::E202,
         "outside"},
        {"-A INPUT -p tcp -m tcp --tcp-flags SYN,BOGUS SYN -j ACCEPT\nCOMMIT\n", 5, 36, Code::E103,
         "'SYN,BOGUS'"},
        {"-A INPUT -p tcp -m tcp --syn --tcp-flags ALL SYN -j ACCEPT\nCOMMIT\n", 5, 46, Code::E106,
         "only one"},
        {"-A INPUT -p tcp -m tcp ! --tcp-flags NONE NONE -j ACCEPT\nCOMMIT\n", 5, 43, Code::E202,
         "never"},
        {"-A INPUT -p tcp -m multiport --ports 80,443 -j ACCEPT\nCOMMIT\n", 5, 30, Code::E202,
         "either"},
        {"-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", 5, 17, Code::E202, "'--dport'"},
        {"-A INPUT -j CT --helper ftp\nCOMMIT\n", 5, 16, Code::E202, "'--helper'"},
        {"-A INPUT -j LOG --log-uid\nCOMMIT\n", 5, 17, Code::E202, "'--log-uid'"},
        {"-A INPUT -j MARK --set-xmark 0x1 --bogus\nCOMMIT\n", 5, 34, Code::E202, "'--bogus'"},
        {"-A INPUT -m comment --comment \"open\n", 5, 1, Code::E001, "quote"},
        {"-A NOPE -j ACCEPT\nCOMMIT\n", 5, 4, Code::E204, "'NOPE'"},
        {"-A INPUT -j ACCEPT\n", 1, 1, Code::E001, "no COMMIT"},
        {"-I INPUT -j ACCEPT\nCOMMIT\n", 5, 1, Code::E001, "'-I'"},
        {"-A INPUT -s 10.0.0.1 -j ACCEPT\n-A INPUT -s ::1 -j ACCEPT\nCOMMIT\n", 6, 13, Code::E104,
         "IPv6"},
        {"-A INPUT -j ACCEPT !\nCOMMIT\n", 5, 20, Code::E001, "'!'"},
        {"-A INPUT -j SNAT --to-source [fd00::1-fd00::9]:80\nCOMMIT\n", 5, 30, Code::E202,
         "IPv6 NAT range"},
        // iptables 1.8.9: "TCPMSS target: At least one parameter is required", and its range
        {"-A FORWARD -p tcp -j TCPMSS\nCOMMIT\n", 5, 22, Code::E001, "needs one of its options"},
        {"-A FORWARD -p tcp -j TCPMSS --set-mss 65516\nCOMMIT\n", 5, 39, Code::E103, "'65516'"},
        {"-A FORWARD -p tcp -j TCPMSS --clamp-mss-to-pmtu --set-mss 4\nCOMMIT\n", 5, 59, Code::E106,
         "exclude each other"},
    };
    for (const auto& e : errors) {
        CAPTURE(e.text);
        auto r = importText(kHead + std::string(e.text));
        CHECK_FALSE(r->host);
        const auto sorted = r->diags.sorted();
        REQUIRE_FALSE(sorted.empty());
        const Diagnostic& d = sorted.front();
        CHECK(d.code == e.code);
        CHECK(d.span.line == e.line);
        CHECK(d.span.column == e.column);
        CHECK_MESSAGE(d.message.find(e.words) != std::string::npos, d.message);
    }
    auto table = importText("*security\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
    CHECK_FALSE(table->host);
    CHECK(table->diags.sorted().front().code == Code::E202);
    auto xml = importText("<iptables-rules version=\"1.0\">\n<table name=\"x\">\n");
    CHECK(xml->diags.sorted().size() == 1);  // stops at the first line that is not a dump
}
