// SPDX-License-Identifier: GPL-2.0-or-later
// The legacy backend's ipt_replace blobs: decode(encode(x)) == x for every match, target and
// chain shape; libiptc's layout (hook_entry/underflow, chain heads and feet, jump offsets); and,
// (kernel/ipt_blob_load, --no-skip) as root, every fixture loaded through IPT_SO_SET_REPLACE in a
// scratch netns and listed by iptables-legacy-save, which must print renderIptables' text.
#include "backends/ipt/ipt_blob.h"

// glibc's <netinet/in.h> before the kernel headers, which then defer to it.
// clang-format off
#include <netinet/in.h>
#include <sys/socket.h>
// clang-format on
#include <doctest/doctest.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "backends/apply_step.h"
#include "backends/ipt/ipt_kernel.h"
#include "backends/ipt/ipt_ownership.h"
#include "backends/nft/nft_linearize.h"
#include "backends/scratch_netns.h"
#include "backends/text/render.h"
#include "tests/unit/ipt_fixture_hosts.h"

namespace {

using namespace policyc::ir;
using namespace policyc::backends::ipt;
using policyc::Diagnostics;
using policyc::backends::renderIptables;

using namespace policyc::testing::ipt_fixtures;

struct Fixture {
    const char* name;
    Family family;
    Host (*host)();
};

const std::vector<Fixture>& fixtures() {
    static const std::vector<Fixture> kFixtures = {
        {"filter_v4", Family::V4, filterHost},
        {"matches_v4", Family::V4, matchesHost},
        {"expansion_v4", Family::V4, expansionHost},
        {"nat_mangle_raw_v4", Family::V4, natMangleRawHost},
        {"inet_v4", Family::V4, inetHost},
        {"inet_v6", Family::V6, inetHost},
        {"tables_v6", Family::V6, v6Host},
    };
    return kFixtures;
}

// ---------------------------------------------------------------------------------------------
// Round trips: tables in the decoder's canonical form (every built-in chain with an explicit
// policy, user chains sorted, one entry per rule, network addresses, canonical limit units)

Table canonical(Table t) {
    for (Chain& c : t.chains)
        for (Rule& r : c.rules) sortMatches(r.matches);
    return t;
}

Table decoded(const Table& t, Family f) {
    Host h = host({t});
    Diagnostics diags;
    auto blob = encodeTable(h, f, t.name, diags);
    REQUIRE_MESSAGE(blob, (diags.empty() ? std::string() : diags.items().front().message));
    auto back = decodeTable(*blob, diags);
    REQUIRE_MESSAGE(back, (diags.empty() ? std::string() : diags.items().front().message));
    return *back;
}

/// `after`: Rule::commentAfter, bit i for sorted match i given before the comment.
Rule commented(Rule r, std::string comment, uint64_t after) {
    r.comment = std::move(comment);
    r.commentAfter = after;
    return r;
}

Table v4MatchesTable() {
    return canonical(table(
        TableFamily::Ip, "filter",
        {chain("INPUT",
               {
                   rule({src({net("10.0.0.0/24")}), dst({net("10.0.1.5")}), iif("eth0"),
                         proto(kTcp), sport({span(1000, 2000)}), dport({one(22)})},
                        Accept{}),
                   rule({src({net("10.1.0.0/16")}, true), iif("wg+", true), proto(kUdp, true)},
                        Drop{}),
                   rule({oif("eth1", true)}, Jump{"alpha"}),
                   rule({src({net("0.0.0.0/0")}, true)}, Goto{"beta"}),
                   rule({proto(kTcp), dport({one(80), one(443), span(1000, 2000)})}, Accept{}),
                   rule({proto(kUdp), sport({one(1), one(2), one(3)}, true)}, Drop{}),
                   // a full range stays in multiport when written as a set of one
                   rule({proto(kTcp),
                         PortMatch{Direction::Destination, false, {span(0, 65535)}, true}},
                        Accept{}),
                   rule({proto(kUdp), dport({one(53)}, true)}),
                   rule({proto(132), sport({one(7)}), dport({span(53, 54)})}),
                   rule({src({span("10.0.1.1", "10.0.1.9")}),
                         dst({span("10.0.2.1", "10.0.2.9")}, true)}),
                   rule({CtStateMatch{false, kCtRelated | kCtEstablished}}),
                   rule({CtStateMatch{true, kCtInvalid | kCtUntracked | kCtNew}}),
                   rule({CtStateMatch{false, kCtNew, true}}),
                   rule({CtStateMatch{true, kCtInvalid | kCtRelated, true}}),
                   rule({ProtoMatch{kTcp, false, true}}),
                   rule({ProtoMatch{kUdp, false, true}, dport({one(1), one(2)})}),
                   rule({ProtoMatch{kTcp, false, true}, sport({one(5)}),
                         dport({span(0, 65535)}, true)}),
                   rule({ProtoMatch{kUdp, false, true}, sport({span(0, 65535)}, true)}),
                   commented(rule({proto(kTcp), dport({one(22)}), CtStateMatch{false, kCtNew}}),
                             "first", 0b001),
                   commented(rule({proto(kTcp), dport({one(22)}), CtStateMatch{false, kCtNew}}),
                             "mid", 0b011),
                   rule({MarkMatch{false, kMark1}, MarkMatch{true, {0x2, 0x2}}}),
                   rule({ConnmarkMatch{true, {0x10, 0xf0}}}),
                   rule({uid(span(1000, 1005)), gid(one(100))}),
                   rule({uid(one(0), true), uid(one(7))}),
                   rule({CgroupMatch{false, "/a/b"}}),
                   rule({CgroupMatch{true, "c"}}),
                   rule({SocketMatch{true}}),
                   rule({SocketMatch{false}}),
                   rule({icmp(8)}),
                   rule({icmp(3, 4, true)}),
                   rule({icmp(255)}),
                   rule({AddrTypeMatch{Direction::Destination, false, "local"},
                         AddrTypeMatch{Direction::Source, true, "unicast"}}),
                   rule({LimitMatch{5, "minute", 10}}),
                   rule({LimitMatch{7, "hour", 1}}),
                   rule({LimitMatch{2, "second", 5}}),
                   rule({MacMatch{true, {0, 0x11, 0x22, 0x33, 0x44, 0x55}}}),
                   rule({proto(47)}, Accept{}, "x'y\"z\\w"),
               },
               ChainPolicy::Drop),
         chain("FORWARD", {}, ChainPolicy::Accept), chain("OUTPUT", {}, ChainPolicy::Drop),
         chain("alpha", {rule({}, Return{})}), chain("beta", {})}));
}

Table v4TargetsTable() {
    const Target targets[] = {
        Reject{},
        Reject{"tcp-reset"},
        Reject{"icmp-admin-prohibited"},
        Log{},
        Log{"in: ", 6},
        Log{"", 0},
        SetMark{{0x1, 0xff}},
        Connmark{Connmark::Op::Set, {0x1, 0xff}},
        Connmark{Connmark::Op::Save, {0, 0xffffffff}},
        Connmark{Connmark::Op::Restore, {0, 0xff}},
        Nat{Nat::Kind::Snat, ip("10.0.0.3"), {}, {}},
        Nat{Nat::Kind::Snat, ip("10.0.0.3"), ip("10.0.0.9"), span(1000, 2000)},
        Nat{Nat::Kind::Dnat, ip("10.0.0.3"), {}, one(8080)},
        Nat{Nat::Kind::Dnat, {}, {}, one(8080)},
        Masquerade{},
        Masquerade{span(1000, 2000)},
        Redirect{},
        Redirect{one(8080)},
        Tproxy{Family::V4, {}, 8000, {0x1, 0x1}},
        Tproxy{Family::V4, ip("10.0.0.1"), 8000, {0, 0}},
        Notrack{},
        TcpMss{},
        TcpMss{1400},
        Return{},
        NoTarget{},
    };
    std::vector<Rule> rules;
    for (const Target& t : targets) rules.push_back(rule({proto(kTcp)}, t));
    return table(
        TableFamily::Ip, "mangle",
        {chain("PREROUTING", rules, ChainPolicy::Accept), chain("INPUT", {}, ChainPolicy::Accept),
         chain("FORWARD", {}, ChainPolicy::Drop), chain("OUTPUT", {}, ChainPolicy::Accept),
         chain("POSTROUTING", {}, ChainPolicy::Accept)});
}

Table v6Table() {
    const Target targets[] = {
        Reject{},
        Reject{"icmp6-adm-prohibited"},
        Reject{"tcp-reset"},
        Nat{Nat::Kind::Snat, ip("2001:db8::3"), {}, {}},
        Nat{Nat::Kind::Snat, ip("2001:db8::3"), ip("2001:db8::9"), span(1, 2)},
        Nat{Nat::Kind::Dnat, ip("2001:db8::3"), {}, one(8080)},
        Masquerade{span(1000, 2000)},
        Redirect{one(8080)},
        Tproxy{Family::V6, ip("2001:db8::1"), 8000, {0x1, 0x1}},
        Tproxy{Family::V6, {}, 1, {0, 0}},
    };
    std::vector<Rule> rules = {
        rule(
            {src({net("2001:db8::/32")}), dst({net("2001:db8::1")}), proto(kTcp), dport({one(22)})},
            Accept{}),
        rule({src({net("::/0")}, true)}, Goto{"x"}),
        rule({src({span("2001:db8::1", "2001:db8::9")})}, Jump{"x"}),
        rule({icmp6(128)}),
        rule({icmp6(1, 4, true)}),
        rule({AddrTypeMatch{Direction::Destination, false, "multicast"}}),
    };
    for (const Target& t : targets) rules.push_back(rule({proto(kUdp)}, t));
    return canonical(
        table(TableFamily::Ip6, "nat",
              {chain("PREROUTING", rules, ChainPolicy::Accept),
               chain("INPUT", {}, ChainPolicy::Accept), chain("OUTPUT", {}, ChainPolicy::Accept),
               chain("POSTROUTING", {}, ChainPolicy::Accept), chain("x", {rule({}, Accept{})})}));
}

}  // namespace

TEST_CASE("ipt blob: every IPv4 match kind decodes to what was encoded") {
    const Table t = v4MatchesTable();
    CHECK(decoded(t, Family::V4) == t);
}

TEST_CASE("ipt blob: every IPv4 target kind decodes to what was encoded") {
    const Table t = v4TargetsTable();
    const Table back = decoded(t, Family::V4);
    REQUIRE(back.chains.size() == t.chains.size());
    for (size_t i = 0; i < t.chains[0].rules.size(); ++i) {
        INFO("rule " << i + 1);
        CHECK(back.chains[0].rules[i] == t.chains[0].rules[i]);
    }
    CHECK(back == t);
}

TEST_CASE("ipt blob: IPv6 addresses, icmp6, targets and chains decode to what was encoded") {
    const Table t = v6Table();
    CHECK(decoded(t, Family::V6) == t);
}

TEST_CASE("ipt blob: a table the host does not fill is built-in chains with ACCEPT policies") {
    Diagnostics diags;
    auto blob = encodeTable(host({}), Family::V4, "raw", diags);
    REQUIRE(blob);
    auto back = decodeTable(*blob, diags);
    REQUIRE(back);
    CHECK(*back == table(TableFamily::Ip, "raw",
                         {chain("PREROUTING", {}, ChainPolicy::Accept),
                          chain("OUTPUT", {}, ChainPolicy::Accept)}));
    CHECK(blob->numEntries == 3);
}

TEST_CASE("ipt blob: libiptc's layout of chains, policies, jumps and the final ERROR entry") {
    // sizes: ipt_entry 112, standard target 40, ERROR target 64
    const Host h =
        host({table(TableFamily::Ip, "filter",
                    {chain("INPUT", {rule({}, Accept{}), rule({}, Jump{"u"}), rule({}, Goto{"u"})},
                           ChainPolicy::Drop),
                     chain("u", {rule({}, Drop{})})})});
    Diagnostics diags;
    auto blob = encodeTable(h, Family::V4, "filter", diags);
    REQUIRE(blob);
    CHECK(blob->validHooks == 0x0e);
    CHECK(blob->hookEntry[NF_INET_LOCAL_IN] == 0);
    CHECK(blob->underflow[NF_INET_LOCAL_IN] == 456);
    CHECK(blob->hookEntry[NF_INET_FORWARD] == 608);
    CHECK(blob->underflow[NF_INET_FORWARD] == 608);
    CHECK(blob->hookEntry[NF_INET_LOCAL_OUT] == 760);
    CHECK(blob->underflow[NF_INET_LOCAL_OUT] == 760);
    CHECK(blob->numEntries == 10);
    REQUIRE(blob->entries.size() == 1568);

    auto entry = [&](size_t off) {
        ipt_entry e;
        std::memcpy(&e, blob->entries.data() + off, sizeof e);
        return e;
    };
    auto verdict = [&](size_t off) {
        int v = 0;
        std::memcpy(&v, blob->entries.data() + off + sizeof(ipt_entry) + sizeof(xt_entry_target),
                    sizeof v);
        return v;
    };
    auto targetName = [&](size_t off) {
        return std::string(
            reinterpret_cast<const char*>(blob->entries.data() + off + sizeof(ipt_entry) + 2));
    };
    CHECK(verdict(0) == -NF_ACCEPT - 1);
    CHECK(verdict(152) == 1088);  // the first entry after u's ERROR head at 912
    CHECK(entry(152).ip.flags == 0);
    CHECK(verdict(304) == 1088);
    CHECK(entry(304).ip.flags == IPT_F_GOTO);
    CHECK(verdict(456) == -NF_DROP - 1);
    CHECK(verdict(608) == -NF_ACCEPT - 1);
    CHECK(targetName(912) == XT_ERROR_TARGET);
    CHECK(entry(912).next_offset == 176);
    CHECK(std::string(reinterpret_cast<const char*>(blob->entries.data() + 912 + sizeof(ipt_entry) +
                                                    32)) == "u");
    CHECK(verdict(1088) == -NF_DROP - 1);
    CHECK(verdict(1240) == XT_RETURN);
    CHECK(targetName(1392) == XT_ERROR_TARGET);
    CHECK(std::string(reinterpret_cast<const char*>(blob->entries.data() + 1392 +
                                                    sizeof(ipt_entry) + 32)) == "ERROR");
}

namespace {

/// The match records of the filter table's first entry (INPUT's first rule) as "name/rev:hex".
std::vector<std::string> firstEntryMatches(const Rule& r) {
    Diagnostics diags;
    auto blob = encodeTable(host({table(TableFamily::Ip, "filter", {chain("INPUT", {r})})}),
                            Family::V4, "filter", diags);
    REQUIRE(blob);
    ipt_entry e;
    std::memcpy(&e, blob->entries.data(), sizeof e);
    std::vector<std::string> out;
    for (size_t at = sizeof e; at < e.target_offset;) {
        xt_entry_match m;
        std::memcpy(&m, blob->entries.data() + at, sizeof m);
        std::ostringstream text;
        text << m.u.user.name << "/" << int(m.u.user.revision) << ":" << std::hex;
        for (size_t i = sizeof m; i < m.u.user.match_size; ++i)
            text << (blob->entries[at + i] < 16 ? "0" : "") << int(blob->entries[at + i]);
        out.push_back(text.str());
        at += m.u.user.match_size;
    }
    return out;
}

}  // namespace

// Each expected payload is what iptables-legacy-restore 1.8.9 loaded for the line named, read
// back with IPT_SO_GET_ENTRIES (padding included: it must be zero, not stack bytes).
TEST_CASE("ipt blob: payloads are byte for byte those iptables-legacy-restore loads") {
    // -p udp -m udp --dport 53
    CHECK(firstEntryMatches(rule({proto(kUdp), dport({one(53)})})) ==
          std::vector<std::string>{"udp/0:0000ffff350035000000000000000000"});
    // -m mark --mark 0x1
    CHECK(firstEntryMatches(rule({MarkMatch{false, kMark1}})) ==
          std::vector<std::string>{"mark/1:01000000ffffffff0000000000000000"});
    // -p tcp -m tcp (and -p tcp -m tcp --sport :)
    CHECK(firstEntryMatches(rule({ProtoMatch{kTcp, false, true}})) ==
          std::vector<std::string>{"tcp/0:0000ffff0000ffff0000000000000000"});
    // -p tcp -m tcp ! --sport :
    CHECK(firstEntryMatches(rule({ProtoMatch{kTcp, false, true}, sport({span(0, 65535)}, true)})) ==
          std::vector<std::string>{"tcp/0:0000ffff0000ffff0000000100000000"});
    // -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN (--syn)
    CHECK(firstEntryMatches(rule({proto(kTcp), TcpFlagsMatch{false, 0x17, 0x02}})) ==
          std::vector<std::string>{"tcp/0:0000ffff0000ffff0017020000000000"});
    // -p tcp -m tcp --dport 22 ! --tcp-flags SYN,ACK SYN: ports and flags in one xt_tcp
    CHECK(
        firstEntryMatches(rule({proto(kTcp), dport({one(22)}), TcpFlagsMatch{true, 0x12, 0x02}})) ==
        std::vector<std::string>{"tcp/0:0000ffff160016000012020400000000"});
    // -p icmp -m icmp --icmp-type 255/255 (listed as "any", code kept)
    CHECK(firstEntryMatches(rule({icmp(255, 255)})) ==
          std::vector<std::string>{"icmp/0:ffffff0000000000"});
    // -m state ! --state INVALID,RELATED: conntrack flagged as the state alias
    CHECK(firstEntryMatches(rule({CtStateMatch{true, kCtInvalid | kCtRelated, true}})) ==
          std::vector<std::string>{"conntrack/3:" + std::string(292, '0') + "0120010005" +
                                   std::string(34, '0')});
    // -p tcp -m comment --comment first -m tcp --dport 22
    const auto ms =
        firstEntryMatches(commented(rule({proto(kTcp), dport({one(22)})}), "first", 0b01));
    REQUIRE(ms.size() == 2);
    CHECK(ms[0] == "comment/0:6669727374" + std::string(2 * 256 - 10, '0'));
    CHECK(ms[1] == "tcp/0:0000ffff160016000000000000000000");
}

TEST_CASE("ipt blob: a comment given after every module is written last") {
    Rule r = commented(rule({proto(kTcp), dport({one(22)})}, Accept{}), "c", 0b11);
    const auto ms = firstEntryMatches(r);
    REQUIRE(ms.size() == 2);
    CHECK(ms[0].starts_with("tcp/0:"));
    CHECK(ms[1].starts_with("comment/0:"));
}

TEST_CASE("ipt blob: a rule without target falls through to the next entry's offset") {
    const Host h = host({table(TableFamily::Ip, "raw", {chain("OUTPUT", {rule({})})})});
    Diagnostics diags;
    auto blob = encodeTable(h, Family::V4, "raw", diags);
    REQUIRE(blob);
    int v = 0;
    // PREROUTING policy at 0, OUTPUT's rule at 152
    std::memcpy(&v, blob->entries.data() + 152 + sizeof(ipt_entry) + sizeof(xt_entry_target),
                sizeof v);
    CHECK(v == 304);
}

TEST_CASE("ipt blob: an unknown match or target is kept byte for byte, in its place") {
    // Two modules (mark, then owner) and a MARK target; the mark module and the target are
    // renamed to extensions policyc does not know, as another tool's rule would hold them.
    const Host h = host({table(
        TableFamily::Ip, "filter",
        {chain("OUTPUT", {rule({MarkMatch{false, kMark1}, uid(one(7))}, SetMark{{0x5, 0xff}})})})});
    Diagnostics diags;
    auto blob = encodeTable(h, Family::V4, "filter", diags);
    REQUIRE(blob);
    auto rename = [&](std::string_view from, const char* to) {
        const std::string_view bytes(reinterpret_cast<const char*>(blob->entries.data()),
                                     blob->entries.size());
        const size_t at = bytes.find(std::string(from) + '\0');
        REQUIRE(at != std::string_view::npos);
        std::memcpy(blob->entries.data() + at, to, std::strlen(to) + 1);
    };
    rename("mark", "zzz");
    rename("MARK", "ZZZ");
    auto table = decodeTable(*blob, diags);
    REQUIRE_MESSAGE(table, (diags.items().empty() ? std::string() : diags.items().back().message));
    const Rule& r = table->chains.at(2).rules.at(0);
    REQUIRE(r.matches.size() == 2);
    CHECK(r.matches[0] == uid(one(7)));
    const auto* m = std::get_if<OpaqueMatch>(&r.matches[1]);
    REQUIRE(m);
    CHECK(m->ext.name == "zzz");
    CHECK(m->position == 0);  // it came first, before owner
    CHECK(m->ext.data.size() == XT_ALIGN(sizeof(xt_mark_mtinfo1)));
    const auto* t = std::get_if<OpaqueTarget>(&r.target);
    REQUIRE(t);
    CHECK(t->ext.name == "ZZZ");
    CHECK(t->ext.revision == 2);

    // Encoded again: the same bytes, the unknown module still first.
    auto again = encodeTable(host({*table}), Family::V4, "filter", diags);
    REQUIRE(again);
    CHECK(sameRules(*again, *blob));
    CHECK(again->entries == blob->entries);

    // Reviewable, and refused by the tools that cannot know it.
    const std::string text = renderIptables(host({*table}), Family::V4);
    CHECK(text.find("-A OUTPUT -m zzz --opaque-revision 1 --opaque-data ") != std::string::npos);
    CHECK(text.find(" -m owner --uid-owner 7 -j ZZZ --opaque-revision 2 --opaque-data ") !=
          std::string::npos);
    const auto nft = policyc::backends::nft::linearize(host({*table}));
    REQUIRE(nft.errors.size() == 2);
    CHECK(nft.errors[0].find("iptables match 'zzz' revision 1") != std::string::npos);
}

TEST_CASE("ipt blob: an ip part policyc cannot spell is kept whole beside what it reads") {
    // Conditions no iptables option of policyc writes: ip6's tos flag, a v4 mask that is no
    // prefix with host bits outside it. The first entry of filter is INPUT's rule.
    auto check = [](Family f, TableFamily tf, auto patch) {
        const Host h = host({table(tf, "filter", {chain("INPUT", {rule({proto(kTcp)}, Drop{})})})});
        Diagnostics diags;
        auto blob = encodeTable(h, f, "filter", diags);
        REQUIRE(blob);
        patch(blob->entries.data());
        auto table = decodeTable(*blob, diags);
        REQUIRE_MESSAGE(table, (diags.empty() ? std::string() : diags.items().back().message));
        const Rule& r = table->chains.at(0).rules.at(0);
        CHECK(std::find(r.matches.begin(), r.matches.end(), Match{proto(kTcp)}) != r.matches.end());
        const auto header = std::find_if(r.matches.begin(), r.matches.end(), [](const Match& m) {
            const auto* o = std::get_if<OpaqueMatch>(&m);
            return o && o->header;
        });
        REQUIRE(header != r.matches.end());
        CHECK(std::get<OpaqueMatch>(*header).ext.data.size() ==
              (f == Family::V4 ? sizeof(ipt_ip) : sizeof(ip6t_ip6)));
        auto again = encodeTable(host({*table}), f, "filter", diags);
        REQUIRE(again);
        CHECK(again->entries == blob->entries);
        CHECK(renderIptables(host({*table}), f).find("-A INPUT --opaque-header ") !=
              std::string::npos);
        CHECK(policyc::backends::nft::linearize(host({*table})).errors.size() == 1);
    };
    check(Family::V6, TableFamily::Ip6, [](uint8_t* entry) {
        ip6t_ip6 ip6;
        std::memcpy(&ip6, entry, sizeof ip6);
        ip6.flags |= IP6T_F_TOS;
        ip6.tos = 0x10;
        std::memcpy(entry, &ip6, sizeof ip6);
    });
    check(Family::V4, TableFamily::Ip, [](uint8_t* entry) {
        ipt_ip ip4;
        std::memcpy(&ip4, entry, sizeof ip4);
        const uint8_t src[4] = {10, 1, 2, 3}, mask[4] = {255, 0, 255, 0};
        std::memcpy(&ip4.src, src, 4);
        std::memcpy(&ip4.smsk, mask, 4);
        std::memcpy(entry, &ip4, sizeof ip4);
    });
}

TEST_CASE("ipt blob: a jump to a missing chain and an over-long comment are diagnosed") {
    Diagnostics diags;
    CHECK_FALSE(encodeTable(
        host({table(TableFamily::Ip, "filter", {chain("INPUT", {rule({}, Jump{"nope"})})})}),
        Family::V4, "filter", diags));
    CHECK_FALSE(
        encodeTable(host({table(TableFamily::Ip, "filter",
                                {chain("INPUT", {rule({}, Accept{}, std::string(256, 'c'))})})}),
                    Family::V4, "filter", diags));
    REQUIRE(diags.items().size() == 2);
    CHECK(diags.items()[0].code == policyc::Code::E204);
    CHECK(diags.items()[1].code == policyc::Code::E205);
}

// The kernel holds a user chain's name in its ERROR entry, 30 bytes with the NUL: a longer
// name used to be cut there, and a name without NUL was read past the field (fuzz_ipt_blob).
TEST_CASE("ipt blob: a chain name fits its ERROR entry whole or is refused") {
    auto withChain = [](const std::string& name) {
        return host({table(TableFamily::Ip, "filter",
                           {chain("INPUT", {rule({}, Jump{name})}), chain(name, {})})});
    };
    Diagnostics diags;
    const std::string longest(29, 'c');
    const auto blob = encodeTable(withChain(longest), Family::V4, "filter", diags);
    REQUIRE(blob);
    const auto back = decodeTable(*blob, diags);
    REQUIRE(back);
    CHECK(back->chains.back().name == longest);
    CHECK(diags.items().empty());
    CHECK_FALSE(encodeTable(withChain(longest + "c"), Family::V4, "filter", diags));
    REQUIRE(diags.items().size() == 1);
    CHECK(diags.items()[0].code == policyc::Code::E205);
    CHECK(diags.items()[0].message.find("longer than the kernel's 29 bytes") != std::string::npos);

    Blob unterminated = *blob;
    auto name = std::search(unterminated.entries.begin(), unterminated.entries.end(),
                            longest.begin(), longest.end());
    REQUIRE(name != unterminated.entries.end());
    name[29] = 'c';  // the NUL that ends the name
    Diagnostics d;
    CHECK_FALSE(decodeTable(unterminated, d));
    REQUIRE_FALSE(d.items().empty());
    CHECK(d.items().back().message.find("no terminating NUL") != std::string::npos);
}

TEST_CASE("ipt blob: tcp flags ecn and cwr are refused at the rule, iptables cannot name them") {
    Diagnostics diags;
    Rule r = rule({proto(kTcp), TcpFlagsMatch{false, 0x42, 0x40}}, Accept{});
    r.span = policyc::SourceSpan{1, 7, 5, 7, 40};
    CHECK_FALSE(encodeTable(host({table(TableFamily::Ip, "filter", {chain("INPUT", {r})})}),
                            Family::V4, "filter", diags));
    REQUIRE(diags.items().size() == 1);
    CHECK(diags.items()[0].code == policyc::Code::E202);
    CHECK(diags.items()[0].span.line == 7);
    CHECK(diags.items()[0].message.find("ecn and cwr") != std::string::npos);
}

// A GET_ENTRIES answer is read field by field; sizes that reach past their entry (found by
// fuzz_ipt_blob: a standard target with no verdict at the blob's end) are errors, not reads.
TEST_CASE("ipt blob: a match or target reaching past its entry is a malformed-entry error") {
    const Host h = host({table(TableFamily::Ip, "filter",
                               {chain("INPUT", {rule({MarkMatch{false, kMark1}}, Accept{})})})});
    Diagnostics diags;
    const auto blob = encodeTable(h, Family::V4, "filter", diags);
    REQUIRE(blob);
    auto sizeAt = [](Blob& b, size_t at) {
        return reinterpret_cast<uint16_t*>(b.entries.data() + at);
    };
    const auto& first = *reinterpret_cast<const ipt_entry*>(blob->entries.data());
    SUBCASE("match size beyond the target offset") {
        Blob bad = *blob;
        *sizeAt(bad, sizeof(ipt_entry)) = 0x400;
        Diagnostics d;
        CHECK_FALSE(decodeTable(bad, d));
        CHECK(d.items().back().message.find("malformed match") != std::string::npos);
    }
    SUBCASE("target size beyond the entry") {
        Blob bad = *blob;
        *sizeAt(bad, first.target_offset) = 0x400;
        Diagnostics d;
        CHECK_FALSE(decodeTable(bad, d));
        CHECK(d.items().back().message.find("malformed target") != std::string::npos);
    }
    SUBCASE("a standard target without its verdict") {
        Blob bad = *blob;
        *sizeAt(bad, first.target_offset) = sizeof(xt_entry_target);
        Diagnostics d;
        CHECK_FALSE(decodeTable(bad, d));
        CHECK(d.items().back().message.find("without a verdict") != std::string::npos);
    }
}

TEST_CASE("ipt blob: sameRules ignores counters and nothing else") {
    const Host h = host({table(TableFamily::Ip, "filter",
                               {chain("INPUT", {rule({MarkMatch{false, kMark1}}, Accept{})})})});
    Diagnostics diags;
    const auto blob = encodeTable(h, Family::V4, "filter", diags);
    REQUIRE(blob);
    Blob counted = *blob;
    auto* first = reinterpret_cast<ipt_entry*>(counted.entries.data());
    first->counters.pcnt = 7;
    first->counters.bcnt = 700;
    CHECK(sameRules(*blob, counted));
    Blob changed = counted;
    reinterpret_cast<ipt_entry*>(changed.entries.data())->ip.src.s_addr = htonl(0x0a000001);
    CHECK_FALSE(sameRules(*blob, changed));
    const auto other =
        encodeTable(host({table(TableFamily::Ip, "filter", {chain("INPUT", {rule({}, Drop{})})})}),
                    Family::V4, "filter", diags);
    REQUIRE(other);
    CHECK_FALSE(sameRules(*blob, *other));
}

TEST_CASE("ipt blob: carryCounters keeps the counts of unchanged rules, jumps included") {
    auto filter = [](std::vector<Rule> input) {
        return host({table(TableFamily::Ip, "filter",
                           {chain("INPUT", std::move(input)), chain("u", {rule({}, Return{})})})});
    };
    const Rule marked = rule({MarkMatch{false, kMark1}}, Accept{});
    const Rule jump = rule({}, Jump{"u"});
    Diagnostics diags;
    const auto from = encodeTable(filter({marked, jump}), Family::V4, "filter", diags);
    const auto to = encodeTable(filter({rule({iif("eth9")}, Drop{}), marked, jump}), Family::V4,
                                "filter", diags);
    REQUIRE(from);
    REQUIRE(to);
    std::vector<EntryCounters> counted;
    for (uint64_t i = 0; i < from->numEntries; ++i) counted.push_back({i + 1, 100 * (i + 1)});
    const auto carried = carryCounters(*from, counted, *to);
    REQUIRE(carried.size() == to->numEntries);
    CHECK(carried[0].packets == 0);  // the new rule
    CHECK(carried[1].packets == 1);  // the mark rule, one entry later
    CHECK(carried[2].packets == 2);  // the jump: its offset moved, its chain did not
    CHECK(carried[2].bytes == 200);
    CHECK(carried[3].packets == 3);  // INPUT's policy
    // Each old entry is used once: a second copy of a rule starts at zero.
    const auto twice = encodeTable(filter({marked, marked, jump}), Family::V4, "filter", diags);
    REQUIRE(twice);
    const auto again = carryCounters(*from, counted, *twice);
    CHECK(again[0].packets == 1);
    CHECK(again[1].packets == 0);
}

// ---------------------------------------------------------------------------------------------
// Kernel proof: skipped in unit runs; ctest kernel/ipt_blob_load runs them with --no-skip

namespace {

std::string normalizeSave(const std::string& text) {
    static const std::regex kCounters(R"(^(:\S+ \S+) \[\d+:\d+\]$)");
    std::istringstream in(text);
    std::string out, line;
    while (std::getline(in, line)) {
        if (line.starts_with("#")) continue;
        out += std::regex_replace(line, kCounters, "$1 [0:0]") + "\n";
    }
    return out;
}

std::string runCommand(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "popen failed";
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

/// In the calling (child) process's fresh netns: load every table of the fixture as blobs, then
/// report what iptables-legacy-save lists and what renderIptables makes of the decoded tables.
std::string loadAndList(const Host& h, Family f) {
    Diagnostics diags;
    Host back;
    for (const std::string& t : tablesToLoad(h, f)) {
        if (!readTable(f, t, diags)) return "ERR read " + diags.items().back().message;
        auto blob = encodeTable(h, f, t, diags);
        if (!blob || !replaceTable(*blob, diags)) return "ERR " + diags.items().back().message;
        auto live = readTable(f, t, diags);
        auto table = live ? decodeTable(*live, diags) : std::nullopt;
        if (!table) return "ERR decode " + diags.items().back().message;
        back.tables.push_back(*table);
    }
    const std::string tool = f == Family::V4 ? "iptables-legacy-save" : "ip6tables-legacy-save";
    return normalizeSave(runCommand(tool + " 2>&1")) + '\0' + renderIptables(back, f);
}

std::string inFreshNetns(const Host& h, Family f) {
    return policyc::backends::inScratchNetns([&](std::string& out) {
               out = loadAndList(h, f);
               return true;
           })
        .text;
}

std::filesystem::path cgroup2Root() {
    std::ifstream mounts("/proc/self/mounts");
    std::string dev, dir, type, rest;
    while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
        if (type == "cgroup2") return dir;
    return {};
}

}  // namespace

TEST_CASE("ipt blob kernel: blobs load and list back as renderIptables renders them" *
          doctest::skip()) {
    if (::geteuid() != 0) {
        MESSAGE("skipped: loading tables needs root");
        std::exit(77);  // ctest's SKIP_RETURN_CODE
    }
    // -m cgroup --path resolves the path at load time; cgroups are not per network namespace
    const std::filesystem::path root = cgroup2Root();
    REQUIRE_MESSAGE(!root.empty(), "no cgroup2 mount for the cgroup fixtures");
    const bool made = std::filesystem::create_directories(root / "pcx-ipt-test" / "sub");
    for (const Fixture& fx : fixtures()) {
        INFO("fixture " << fx.name);
        const Host h = fx.host();
        const std::string r = inFreshNetns(h, fx.family);
        const size_t split = r.find('\0');
        REQUIRE_MESSAGE(split != std::string::npos, r);
        CHECK(r.substr(0, split) == renderIptables(h, fx.family));
        CHECK(r.substr(split + 1) == renderIptables(h, fx.family));
    }
    if (made) {
        std::filesystem::remove(root / "pcx-ipt-test" / "sub");
        std::filesystem::remove(root / "pcx-ipt-test");
    }
}

namespace {

std::string saveBoth() {
    return normalizeSave(runCommand("iptables-legacy-save 2>&1")) + "--\n" +
           normalizeSave(runCommand("ip6tables-legacy-save 2>&1"));
}

/// In the child's fresh netns: preload an older policy, then snapshot, apply and undo the steps
/// of `next`, reporting the listings after each stage.
std::string applyAndUndo(const Host& before, const Host& next) {
    Diagnostics diags;
    auto pre = policyc::backends::legacySteps(before);
    for (auto& s : pre)
        if (!s->snapshot(diags) || !s->apply(diags)) return "ERR preload " + s->name();
    pre.clear();  // one apply's steps hold the xtables lock until they are destroyed
    const std::string old = saveBoth();
    auto steps = policyc::backends::legacySteps(next);
    std::string names;
    for (auto& s : steps) {
        names += s->name() + ";";
        if (!s->snapshot(diags)) return "ERR snapshot " + s->name();
    }
    for (auto& s : steps)
        if (!s->apply(diags)) return "ERR apply " + diags.items().back().message;
    const std::string applied = saveBoth();
    for (auto it = steps.rbegin(); it != steps.rend(); ++it)
        if (!(*it)->undo(diags)) return "ERR undo " + diags.items().back().message;
    const std::string undone = saveBoth();
    steps.clear();
    // TPROXY outside mangle PREROUTING: the kernel refuses the whole table with EINVAL
    const Host bad =
        host({table(TableFamily::Ip, "filter",
                    {chain("INPUT", {rule({proto(kTcp)}, Tproxy{Family::V4, {}, 1})})})});
    auto badSteps = policyc::backends::legacySteps(bad);
    if (badSteps.size() != 1 || !badSteps[0]->snapshot(diags)) return "ERR bad snapshot";
    Diagnostics refused;
    const bool applied2 = badSteps[0]->apply(refused);
    const std::string refusal =
        applied2 || refused.items().empty()
            ? "applied"
            : std::string(policyc::codeInfo(refused.items().back().code).id) + " " +
                  refused.items().back().message;
    return names + '\0' + old + '\0' + applied + '\0' + undone + '\0' + refusal + '\0' + saveBoth();
}

std::vector<std::string> splitNul(const std::string& s) {
    std::vector<std::string> parts;
    size_t from = 0;
    for (size_t at; (at = s.find('\0', from)) != std::string::npos; from = at + 1)
        parts.push_back(s.substr(from, at - from));
    parts.push_back(s.substr(from));
    return parts;
}

}  // namespace

TEST_CASE("ipt blob kernel: legacySteps apply a host and undo puts the old tables back" *
          doctest::skip()) {
    if (::geteuid() != 0) {
        MESSAGE("skipped: loading tables needs root");
        std::exit(77);
    }
    const Host before =
        host({table(TableFamily::Ip, "filter",
                    {chain("INPUT", {rule({iif("old0")}, Drop{})}),
                     chain("oldchain", {rule({}, Return{})})}),
              table(TableFamily::Ip6, "filter", {chain("OUTPUT", {}, ChainPolicy::Drop)})});
    const Host next = inetHost();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        const std::string r =
            ::unshare(CLONE_NEWNET) == 0 ? applyAndUndo(before, next) : "ERR unshare";
        (void)!::write(fds[1], r.data(), r.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    const auto parts = splitNul(out);
    REQUIRE_MESSAGE(parts.size() == 6, out);
    CHECK(parts[0] ==
          "iptables filter (IPv4);iptables nat (IPv4);iptables filter (IPv6);iptables nat (IPv6);");
    // applying lists the new host as renderIptables renders it, plus the chains of the old
    // tables it does not declare (kept: ipt_ownership.h); undo restores the old listing
    auto kept = [&](Family f) {
        std::vector<Table> live;
        for (const Table& t : before.tables)
            if (t.family == (f == Family::V4 ? TableFamily::Ip : TableFamily::Ip6))
                live.push_back(t);
        return renderIptables(withForeignChains(next, f, live), f);
    };
    CHECK(parts[2] == kept(Family::V4) + "--\n" + kept(Family::V6));
    CHECK(parts[2].find("oldchain") != std::string::npos);
    auto both = [](const Host& h) {
        return renderIptables(h, Family::V4) + "--\n" + renderIptables(h, Family::V6);
    };
    CHECK(parts[1] == both(before));
    // legacy tables cannot be removed, so the nat tables apply created stay, empty
    Host restored = before;
    restored.tables.push_back(table(TableFamily::Ip, "nat", {}));
    restored.tables.push_back(table(TableFamily::Ip6, "nat", {}));
    CHECK(parts[3] == both(restored));
    CHECK(parts[4] ==
          "E301 iptables filter (IPv4): IPT_SO_SET_REPLACE failed: Invalid argument (errno 22): "
          "the kernel refused an entry: a match or target option, a hook it is not allowed in, "
          "or a malformed layout");
    CHECK(parts[5] == parts[3]);  // the refused replace changed nothing
}
