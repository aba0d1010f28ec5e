// SPDX-License-Identifier: GPL-2.0-or-later
// shadowed-rule / redundant-rule: hand cases, a brute-force comparison with a packet-by-packet
// simulation over tiny domains, and a (skipped by default) 200,000-rule timing run.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

#include "analyzer/checks.h"
#include "analyzer/match_space.h"

using namespace policyc;
using namespace policyc::ir;

namespace {

Prefix pfx(const char* s) { return *Prefix::parse(s); }
Match src(const char* p, bool neg = false) { return AddrMatch{Direction::Source, neg, {pfx(p)}}; }
Match tcp() { return ProtoMatch{6, false}; }
Match dport(uint32_t a, uint32_t b, bool neg = false) {
    return PortMatch{Direction::Destination, neg, {{a, b}}};
}
Match iif(const char* n, bool neg = false) { return IfaceMatch{IfaceDirection::In, neg, n}; }

Rule rule(std::vector<Match> m, Target t) {
    Rule r;
    r.matches = std::move(m);
    r.target = std::move(t);
    return r;
}

/// One chain; rule k gets line k+1 unless `spans` is false.
Host hostWith(std::vector<Rule> rules, TableFamily fam = TableFamily::Inet, bool spans = true) {
    for (size_t k = 0; k < rules.size(); ++k)
        if (spans)
            rules[k].span = {1, static_cast<uint32_t>(k + 1), 1, static_cast<uint32_t>(k + 1), 9};
    Host h;
    h.name = "h";
    Table t;
    t.family = fam;
    t.name = "filter";
    Chain c;
    c.name = "INPUT";
    c.rules = std::move(rules);
    t.chains.push_back(std::move(c));
    h.tables.push_back(std::move(t));
    return h;
}

std::vector<Diagnostic> run(const Host& h) {
    Diagnostics d;
    analyzer::checkShadowing(h, d);
    return d.items();
}

}  // namespace

TEST_CASE("shadowing: an exact duplicate is redundant") {
    auto ds = run(
        hostWith({rule({tcp(), dport(22, 22)}, Accept{}), rule({tcp(), dport(22, 22)}, Accept{})}));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == Code::W002);
    CHECK(ds[0].span.line == 2);
    CHECK(ds[0].message ==
          "redundant rule: every packet it matches is already accepted by the rule at line 1");
    REQUIRE(ds[0].notes.size() == 1);
    CHECK(ds[0].notes[0].span.line == 1);
    CHECK(ds[0].notes[0].message == "covered by this rule");
}

TEST_CASE("shadowing: two prefixes together shadow a third") {
    auto ds =
        run(hostWith({rule({src("10.0.0.0/25")}, Drop{}), rule({src("10.0.0.128/25")}, Drop{}),
                      rule({src("10.0.0.0/24")}, Accept{})}));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == Code::W001);
    CHECK(ds[0].span.line == 3);
    CHECK(ds[0].message ==
          "rule never takes effect: every packet it matches is dropped earlier by rules at lines "
          "1 and 2");
    CHECK(ds[0].notes.size() == 2);
    CHECK(ds[0].hint == "remove it, or move it above line 1 if its own verdict should win");
    // one of the two halves alone does not
    CHECK(run(hostWith({rule({src("10.0.0.0/25")}, Drop{}), rule({src("10.0.0.0/24")}, Accept{})}))
              .empty());
}

TEST_CASE("shadowing: port ranges split across rules") {
    auto ds = run(hostWith(
        {rule({tcp(), dport(1, 100)}, Accept{}), rule({tcp(), dport(101, 200)}, Accept{}),
         rule({tcp(), dport(50, 150)}, Accept{}), rule({tcp(), dport(50, 201)}, Accept{})}));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == Code::W002);
    CHECK(ds[0].span.line == 3);
}

TEST_CASE("shadowing: a negation and its complement cover everything of the family") {
    auto ds =
        run(hostWith({rule({src("10.0.0.0/8", true)}, Drop{}), rule({src("10.0.0.0/8")}, Accept{}),
                      rule({src("0.0.0.0/0"), tcp()}, Accept{}), rule({tcp()}, Accept{})}));
    REQUIRE(ds.size() == 1);  // the family-less rule 4 still has every IPv6 packet
    CHECK(ds[0].span.line == 3);
    CHECK(ds[0].code == Code::W001);
    CHECK(ds[0].message ==
          "rule never takes effect: every packet it matches is handled earlier: dropped by the "
          "rule at line 1, accepted by the rule at line 2");
}

TEST_CASE("shadowing: an IPv4 rule never covers an IPv6 or a dual-family one") {
    CHECK(run(hostWith({rule({src("0.0.0.0/0")}, Drop{}), rule({src("fd00::/8"), tcp()}, Drop{}),
                        rule({tcp(), dport(22, 22)}, Drop{})}))
              .empty());
    // in an ip (IPv4-only) table the same dual-family rule is covered
    auto ds = run(hostWith({rule({src("0.0.0.0/0")}, Drop{}), rule({tcp(), dport(22, 22)}, Drop{})},
                           TableFamily::Ip));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == Code::W002);
}

TEST_CASE("shadowing: non-terminal and limit rules do not cover") {
    CHECK(run(hostWith({rule({tcp()}, Log{"x", {}}), rule({tcp()}, SetMark{{1, 0xffffffff}}),
                        rule({tcp()}, Jump{"X"}), rule({tcp()}, NoTarget{}),
                        rule({tcp(), LimitMatch{10, "second", 5}}, Accept{}),
                        rule({tcp(), dport(22, 22)}, Accept{})}))
              .empty());
    // a limit rule can itself be covered
    auto ds = run(
        hostWith({rule({tcp()}, Accept{}), rule({tcp(), LimitMatch{10, "second", 5}}, Accept{})}));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == Code::W002);
}

TEST_CASE("shadowing: interface wildcards") {
    auto ds = run(hostWith({rule({iif("eth+")}, Drop{}), rule({iif("eth0")}, Accept{})}));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].code == Code::W001);
    CHECK(run(hostWith({rule({iif("eth0")}, Drop{}), rule({iif("eth+")}, Accept{})})).empty());
    CHECK(run(hostWith({rule({iif("eth+")}, Drop{}), rule({iif("wlan0")}, Accept{})})).empty());
    // `eth+` includes the name "eth" itself, as xt's ifname_compare does
    CHECK(run(hostWith({rule({iif("eth+")}, Drop{}), rule({iif("eth")}, Drop{})})).size() == 1);
}

TEST_CASE("shadowing: a catch-all alone is left to unreachable-rule, a union is not") {
    CHECK(run(hostWith({rule({}, Accept{}), rule({tcp()}, Drop{})})).empty());
    auto ds = run(hostWith({rule({tcp(), dport(1, 100)}, Drop{}), rule({}, Accept{}),
                            rule({tcp(), dport(50, 150)}, Drop{})}));
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].span.line == 3);
    CHECK(ds[0].code == Code::W001);
}

TEST_CASE("shadowing: rules without spans are located by table, chain and position") {
    auto ds = run(hostWith({rule({tcp()}, Drop{}), rule({tcp(), dport(80, 80)}, Accept{})},
                           TableFamily::Inet, false));
    REQUIRE(ds.size() == 1);
    REQUIRE(ds[0].location);
    CHECK(ds[0].location->table == "filter");
    CHECK(ds[0].location->chain == "INPUT");
    CHECK(ds[0].location->rule == 2);
    CHECK(ds[0].message ==
          "rule never takes effect: every packet it matches is dropped earlier "
          "by rule 1");
    CHECK(ds[0].notes.empty());
}

TEST_CASE("shadowing: marks, conntrack state and owners") {
    const Match mark1 = MarkMatch{false, {1, 0xffffffff}};
    CHECK(run(hostWith({rule({mark1}, Accept{}), rule({mark1}, Accept{})})).size() == 1);
    // the mark is set again in between: the later rule sees other packets' marks
    CHECK(run(hostWith({rule({mark1}, Accept{}), rule({}, SetMark{{1, 0xffffffff}}),
                        rule({mark1}, Accept{})}))
              .empty());
    // ... also when a jumped-to chain sets it
    Host h = hostWith({rule({mark1}, Accept{}), rule({tcp()}, Jump{"M"}), rule({mark1}, Accept{})});
    Chain m;
    m.name = "M";
    m.rules.push_back(rule({}, SetMark{{2, 0xffffffff}}));
    h.tables[0].chains.push_back(m);
    CHECK(run(h).empty());
    // value/mask halves cover every mark
    CHECK(run(hostWith({rule({MarkMatch{false, {1, 1}}}, Drop{}),
                        rule({MarkMatch{false, {0, 1}}}, Drop{}), rule({tcp()}, Drop{})}))
              .size() == 1);
    CHECK(run(hostWith({rule({CtStateMatch{false, kCtEstablished | kCtRelated}}, Accept{}),
                        rule({CtStateMatch{false, kCtNew}}, Accept{}),
                        rule({CtStateMatch{false, kCtNew | kCtEstablished}}, Accept{})}))
              .size() == 1);
    // `! --uid-owner` and `--uid-owner` leave socketless packets uncovered (nft: not matched)
    const Match uid = OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1000}};
    const Match notUid = OwnerMatch{OwnerMatch::Kind::Uid, true, {1000, 1000}};
    CHECK(run(hostWith({rule({notUid}, Drop{}), rule({uid}, Accept{}), rule({tcp()}, Accept{})}))
              .empty());
    CHECK(run(hostWith({rule({notUid}, Drop{}), rule({uid}, Accept{}), rule({uid, tcp()}, Drop{})}))
              .size() == 1);
}

TEST_CASE("shadowing: tcp flags are a cube of the tcp header's flags byte") {
    const Match syn = TcpFlagsMatch{false, 0x02, 0x02};
    const Match noSyn = TcpFlagsMatch{false, 0x02, 0};
    const Match notSyn = TcpFlagsMatch{true, 0x02, 0x02};
    // syn set, then syn clear: every tcp packet is taken, a later tcp rule never fires
    CHECK(run(hostWith({rule({tcp(), syn}, Drop{}), rule({tcp(), noSyn}, Drop{}),
                        rule({tcp(), dport(22, 22)}, Accept{})}))
              .size() == 1);
    // `!= syn / syn` is `none / syn`: the second rule is redundant
    CHECK(run(hostWith({rule({tcp(), notSyn}, Drop{}), rule({tcp(), noSyn}, Drop{})})).size() == 1);
    // --syn (syn of fin,syn,rst,ack) does not cover every packet with syn set
    CHECK(run(hostWith({rule({tcp(), TcpFlagsMatch{false, 0x17, 0x02}}, Drop{}),
                        rule({tcp(), syn}, Drop{})}))
              .empty());
    // only tcp packets have flags: a udp rule after both halves still fires
    CHECK(run(hostWith({rule({tcp(), syn}, Drop{}), rule({tcp(), noSyn}, Drop{}),
                        rule({ProtoMatch{17, false}}, Accept{})}))
              .empty());
}

TEST_CASE("match space: cube and interval differences are exact") {
    using namespace policyc::analyzer;
    CubeSet all;
    CubeSet rest = all.minus(CubeSet::of({0x10, 0xf0}));
    CHECK(rest.cubes().size() == 4);
    CHECK_FALSE(rest.intersects(CubeSet::of({0x10, 0xff})));
    CHECK(rest.intersects(CubeSet::of({0x20, 0xff})));
    CHECK(rest.minus(CubeSet::of({0, 0x80})).minus(CubeSet::of({0x80, 0x80})).empty());
    IntervalSet s = IntervalSet::range(0, 100).minus(IntervalSet::range(10, 20));
    CHECK(s.intervals().size() == 2);
    CHECK(s.complement(100).isRange(10, 20));
    auto eth = ifaceInterval("eth+");
    auto eth0 = ifaceInterval("eth0");
    CHECK(eth.lo <= eth0.lo);
    CHECK(eth0.hi <= eth.hi);
    CHECK(ifaceInterval("+").lo == 0);
    CHECK(ifaceInterval("+").hi == ~U128(0));
}

// ---------------------------------------------------------------------------------------------
// Brute force: every packet of a tiny domain, simulated rule by rule.

namespace {

struct Packet {
    Family family;
    IpAddr src;
    uint8_t proto;
    std::optional<uint16_t> dport;
    std::string iif;
    uint8_t ct;  // one CtState bit
    uint32_t mark;
};

std::vector<Packet> allPackets() {
    std::vector<Packet> out;
    const std::vector<std::string> v4 = {"10.0.0.0", "10.0.0.4", "10.0.0.8", "10.0.0.12",
                                         "192.168.0.1"};
    const std::vector<std::string> v6 = {"fd00::", "fd00::4", "fd00::8", "fd00::c", "2001:db8::1"};
    for (Family f : {Family::V4, Family::V6})
        for (const auto& a : f == Family::V4 ? v4 : v6)
            for (uint8_t proto : {uint8_t(6), uint8_t(17), uint8_t(f == Family::V4 ? 1 : 58)})
                for (int port = -1; port <= 8; ++port) {
                    const bool ported = proto == 6 || proto == 17;
                    if (ported != (port >= 0)) continue;
                    std::optional<uint16_t> dp;
                    if (port >= 0) dp = port == 8 ? 1000 : port;
                    for (const char* i : {"eth0", "eth1", "wlan0"})
                        for (uint8_t ct : {kCtNew, kCtEstablished, kCtInvalid})
                            for (uint32_t mark = 0; mark < 8; ++mark)
                                out.push_back({f, *IpAddr::parse(a), proto, dp, i, ct, mark});
                }
    return out;
}

bool matches(const Packet& p, const Match& m) {
    if (auto* a = std::get_if<AddrMatch>(&m)) {
        const auto& pr = std::get<Prefix>(a->items[0]);
        if (pr.addr.family != p.family) return false;
        return pr.contains(p.src) != a->negated;
    }
    if (auto* pm = std::get_if<ProtoMatch>(&m)) return (p.proto == pm->proto) != pm->negated;
    if (auto* pt = std::get_if<PortMatch>(&m)) {
        if (!p.dport) return false;
        bool in = false;
        for (auto r : pt->ports) in |= *p.dport >= r.first && *p.dport <= r.last;
        return in != pt->negated;
    }
    if (auto* i = std::get_if<IfaceMatch>(&m)) {
        const bool wild = i->name.back() == '+';
        const std::string stem = wild ? i->name.substr(0, i->name.size() - 1) : i->name;
        const bool in = wild ? p.iif.starts_with(stem) : p.iif == stem;
        return in != i->negated;
    }
    if (auto* c = std::get_if<CtStateMatch>(&m)) return ((c->states & p.ct) != 0) != c->negated;
    if (auto* k = std::get_if<MarkMatch>(&m))
        return ((p.mark & k->mark.mask) == k->mark.value) != k->negated;
    if (std::holds_alternative<LimitMatch>(m)) return true;
    FAIL("unexpected match kind");
    return false;
}

bool matches(const Packet& p, const Rule& r) {
    return std::all_of(r.matches.begin(), r.matches.end(),
                       [&](const Match& m) { return matches(p, m); });
}

bool terminal(const Rule& r) {
    return std::holds_alternative<Accept>(r.target) || std::holds_alternative<Drop>(r.target) ||
           std::holds_alternative<Return>(r.target);
}
bool hasLimit(const Rule& r) {
    return std::any_of(r.matches.begin(), r.matches.end(),
                       [](const Match& m) { return std::holds_alternative<LimitMatch>(m); });
}

/// The expected code for rule i: nullopt, W001 or W002, by simulation of every packet.
std::optional<Code> reference(const std::vector<Rule>& rules, size_t i,
                              const std::vector<Packet>& packets) {
    const Rule& r = rules[i];
    if (!terminal(r)) return std::nullopt;
    std::vector<bool> used(i, false);
    bool any = false;
    for (const Packet& p : packets) {
        if (!matches(p, r)) continue;
        any = true;
        size_t j = 0;
        while (j < i && !(terminal(rules[j]) && !hasLimit(rules[j]) && matches(p, rules[j]))) ++j;
        if (j == i) return std::nullopt;
        used[j] = true;
    }
    if (!any) return std::nullopt;
    size_t n = 0, last = 0;
    bool differs = false;
    for (size_t j = 0; j < i; ++j)
        if (used[j]) ++n, last = j, differs |= !(rules[j].target == r.target);
    if (n == 1 && rules[last].matches.empty()) return std::nullopt;
    return differs ? Code::W001 : Code::W002;
}

std::vector<Rule> randomRules(std::mt19937& rng, bool setters) {
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    auto chance = [&](int pct) { return pick(100) < pct; };
    const char* v4[] = {"10.0.0.0/30", "10.0.0.4/30", "10.0.0.8/30", "10.0.0.12/30",
                        "10.0.0.0/29", "10.0.0.8/29", "10.0.0.0/28"};
    const char* v6[] = {"fd00::/126", "fd00::4/126", "fd00::8/126", "fd00::c/126",
                        "fd00::/125", "fd00::8/125", "fd00::/124"};
    std::vector<Rule> rules(3 + pick(7));
    for (Rule& r : rules) {
        if (!chance(10)) {
            if (chance(60))
                r.matches.push_back(src(chance(50) ? v4[pick(7)] : v6[pick(7)], chance(20)));
            if (chance(50)) {
                const uint8_t proto = chance(50) ? 6 : 17;
                r.matches.push_back(ProtoMatch{proto, chance(15)});
                if (!std::get<ProtoMatch>(r.matches.back()).negated && chance(50)) {
                    PortMatch pm{Direction::Destination, chance(15), {}};
                    for (int k = 1 + pick(2); k > 0; --k) {
                        uint32_t a = pick(8), b = pick(8);
                        pm.ports.push_back({std::min(a, b), std::max(a, b)});
                    }
                    r.matches.push_back(pm);
                }
            }
            if (chance(30)) {
                const char* names[] = {"eth0", "eth1", "eth+"};
                r.matches.push_back(iif(names[pick(3)], chance(20)));
            }
            if (chance(25)) {
                const uint8_t states[] = {kCtNew, kCtEstablished, kCtNew | kCtEstablished};
                r.matches.push_back(CtStateMatch{chance(15), states[pick(3)]});
            }
            if (chance(25)) {
                const uint32_t masks[] = {1, 2, 3, 0xffffffff};
                const uint32_t mask = masks[pick(4)];
                r.matches.push_back(MarkMatch{chance(15), {pick(4) & mask, mask}});
            }
            if (!setters && chance(10)) r.matches.push_back(LimitMatch{1, "second", 5});
        }
        const int t = pick(100);
        if (setters && t < 20)
            r.target = SetMark{{static_cast<uint32_t>(pick(4)), 0xffffffff}};
        else if (t < 40)
            r.target = Accept{};
        else if (t < 80)
            r.target = Drop{};
        else if (t < 88)
            r.target = Return{};
        else if (t < 95)
            r.target = Log{"", {}};
        else
            r.target = NoTarget{};
        sortMatches(r.matches);
    }
    return rules;
}

std::map<uint32_t, Code> analyzerCodes(const std::vector<Rule>& rules) {
    std::map<uint32_t, Code> out;
    for (const auto& d : run(hostWith(rules))) {
        CHECK_MESSAGE(out.count(d.span.line) == 0, "two findings on one rule");
        out[d.span.line] = d.code;
    }
    return out;
}

std::string dump(const std::vector<Rule>& rules) {
    std::ostringstream out;
    for (size_t k = 0; k < rules.size(); ++k)
        out << k + 1 << ": " << rules[k].matches.size() << " matches, target index "
            << rules[k].target.index() << "\n";
    return out.str();
}

}  // namespace

TEST_CASE("shadowing: brute force over tiny domains agrees with packet simulation") {
    const auto packets = allPackets();
    std::mt19937 rng(20240611);
    size_t findings[2] = {0, 0};
    for (int round = 0; round < 300; ++round) {
        const auto rules = randomRules(rng, false);
        const auto got = analyzerCodes(rules);
        for (size_t i = 0; i < rules.size(); ++i) {
            const auto want = reference(rules, i, packets);
            const auto it = got.find(static_cast<uint32_t>(i + 1));
            const std::optional<Code> have =
                it == got.end() ? std::nullopt : std::optional<Code>(it->second);
            INFO("round " << round << " rule " << i + 1 << "\n" << dump(rules));
            CHECK(have == want);
            if (want) ++findings[*want == Code::W001 ? 0 : 1];
        }
    }
    // the generator must produce both kinds of findings, or the comparison proves little
    CHECK(findings[0] > 20);
    CHECK(findings[1] > 20);
}

TEST_CASE("shadowing: with mark setters in the chain, every finding is a rule that never fires") {
    const auto packets = allPackets();
    std::mt19937 rng(7);
    size_t flagged = 0;
    for (int round = 0; round < 300; ++round) {
        const auto rules = randomRules(rng, true);
        for (const auto& [line, code] : analyzerCodes(rules)) {
            ++flagged;
            const size_t i = line - 1;
            for (Packet p : packets) {
                size_t j = 0;
                for (; j < i; ++j) {
                    if (!matches(p, rules[j])) continue;
                    if (auto* s = std::get_if<SetMark>(&rules[j].target))
                        p.mark = (p.mark & ~s->mark.mask) ^ s->mark.value;
                    if (terminal(rules[j])) break;
                }
                INFO("round " << round << " rule " << line << "\n" << dump(rules));
                REQUIRE_FALSE((j == i && matches(p, rules[i])));
            }
        }
    }
    CHECK(flagged > 20);
}

// ---------------------------------------------------------------------------------------------
// Scale: `policyc_unit_tests -tc='*200?000*' --no-skip` prints the timings.

namespace {

IpAddr v4n(uint32_t n) {
    IpAddr a;
    a.bytes = {10, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
    return a;
}
Rule uidMark(uint32_t n) {
    return rule({OwnerMatch{OwnerMatch::Kind::Uid, false, {n, n}}}, SetMark{{n & 0xffff, 0xffff}});
}
/// Port n to 10.x.y.z:80; every 1000th forward repeats an earlier port.
Rule portForward(uint32_t n) {
    const uint32_t port = n % 1000 == 999 ? n - 500 : n;
    return rule({AddrMatch{Direction::Destination, false, {Prefix{v4n(0xff0001), 32}}}, tcp(),
                 dport(1 + port % 60000, 1 + port % 60000)},
                Nat{Nat::Kind::Dnat, v4n(n), {}, NumRange{80, 80}});
}
/// Host drops; every 16th is a /24 drop that later host drops fall into.
Rule addrFilter(uint32_t n) {
    if (n % 16 == 0)
        return rule({AddrMatch{Direction::Source, false, {Prefix{v4n(n << 4), 24}}}}, Drop{});
    return rule({AddrMatch{Direction::Source, false, {Prefix{v4n(n * 8), 32}}}}, Drop{});
}

Chain chainOf(std::string name, std::vector<Rule> rules) {
    Chain c;
    c.name = std::move(name);
    c.rules = std::move(rules);
    for (size_t k = 0; k < c.rules.size(); ++k)
        c.rules[k].span = {1, static_cast<uint32_t>(k + 1), 1, static_cast<uint32_t>(k + 1), 9};
    return c;
}

size_t timeIt(const Host& h, const char* what) {
    const auto t0 = std::chrono::steady_clock::now();
    Diagnostics d;
    analyzer::checkShadowing(h, d);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::map<Code, size_t> n;
    for (const auto& x : d.items()) ++n[x.code];
    std::cout << what << ": " << ms << " ms, W001 " << n[Code::W001] << ", W002 " << n[Code::W002]
              << "\n";
    CHECK(ms < 10000);
    return d.items().size();
}

}  // namespace

TEST_CASE("shadowing: 200,000 generated rules" * doctest::skip()) {
    // as on a real host: marks in mangle OUTPUT, forwards in nat PREROUTING, filters in INPUT
    std::vector<Rule> marks, forwards, filters;
    for (uint32_t n = 0; n < 60000; ++n) marks.push_back(uidMark(n));
    for (uint32_t n = 0; n < 60000; ++n) forwards.push_back(portForward(n));
    filters.push_back(rule({CtStateMatch{false, kCtEstablished | kCtRelated}}, Accept{}));
    filters.push_back(rule({tcp(), dport(22, 22)}, Accept{}));
    for (uint32_t n = 0; filters.size() < 80000; ++n) filters.push_back(addrFilter(n));
    Host h;
    for (auto [name, chain, rules] :
         {std::tuple{"mangle", "OUTPUT", &marks}, std::tuple{"nat", "PREROUTING", &forwards},
          std::tuple{"filter", "INPUT", &filters}}) {
        Table t;
        t.family = TableFamily::Ip;
        t.name = name;
        t.chains.push_back(chainOf(chain, *rules));
        h.tables.push_back(std::move(t));
    }
    CHECK(timeIt(h, "200000 rules in three tables") > 100);

    // worst case: everything in one chain, where most rules genuinely overlap many others
    std::vector<Rule> mixed;
    mixed.push_back(rule({CtStateMatch{false, kCtEstablished | kCtRelated}}, Accept{}));
    for (uint32_t n = 0; mixed.size() < 200000; ++n)
        mixed.push_back(n % 3 == 0 ? uidMark(n) : n % 3 == 1 ? portForward(n) : addrFilter(n));
    mixed.push_back(rule({tcp()}, Drop{}));
    timeIt(hostWith(std::move(mixed)), "200000 rules in one mixed chain");
}
