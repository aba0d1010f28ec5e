// SPDX-License-Identifier: GPL-2.0-or-later
// The IR as JSON: hand-checked objects for a few elements of each kind, and the text writer
// against nlohmann's dump(2).
#include "compiler/ir_json.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "compiler/compile.h"

using namespace policyc;
using namespace policyc::ir;
using nlohmann::json;

namespace {

Prefix pfx(std::string_view text) { return *Prefix::parse(text); }
IpAddr addr(std::string_view text) { return *IpAddr::parse(text); }

/// Scenario S1's client in IR form, with spans into a registered file.
struct S1 {
    SourceManager sources;
    Host host;

    S1() {
        const uint32_t file = sources.add("site.pol", "host client {\n}\n");
        host.name = "client";
        host.span = {file, 1, 1, 2, 1};

        Interface tunnel;
        tunnel.name = "vlan3";
        tunnel.kind = LinkKind::Vxlan;
        tunnel.addresses = {pfx("10.0.0.3/24")};
        tunnel.peer = addr("10.0.0.1");
        tunnel.underlayRemote = addr("192.168.1.1");
        tunnel.underlayPort = 4789;
        host.interfaces.push_back(tunnel);

        Rule mark;
        mark.matches = {OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1000}},
                        AddrMatch{Direction::Destination, true, {pfx("10.0.0.0/8")}},
                        PortMatch{Direction::Destination, false, {{22, 22}, {1000, 2000}}}};
        mark.target = SetMark{{1, 0xffffffff}};
        mark.comment = "app A";
        mark.span = {file, 12, 5, 12, 40};
        Chain output{"OUTPUT", ChainPolicy::None, {mark}, {}};
        host.tables.push_back(Table{TableFamily::Inet, "mangle", {output}, {}});

        Rule snat;
        snat.matches = {CtStateMatch{false, kCtNew | kCtEstablished},
                        IfaceMatch{IfaceDirection::Out, false, "vlan3"}};
        snat.target = Nat{Nat::Kind::Snat, addr("10.0.0.3"), std::nullopt, NumRange{1024, 65535}};
        Chain post{"POSTROUTING", ChainPolicy::Accept, {snat}, {}};
        host.tables.push_back(Table{TableFamily::Ip, "nat", {post}, {}});

        RoutingRule rule;
        rule.priority = 1000;
        rule.fwmark = MarkMask{1};
        rule.table = 3;
        rule.span = {file, 20, 3, 20, 30};
        host.routingRules.push_back(rule);
        RoutingRule hole;
        hole.family = Family::V6;
        hole.priority = 1001;
        hole.invert = true;
        hole.uidrange = NumRange{1000, 1999};
        hole.action = RoutingRule::Action::Blackhole;
        host.routingRules.push_back(hole);

        Route route;
        route.table = 3;
        route.dst = pfx("0.0.0.0/0");
        route.via = addr("10.0.0.1");
        route.dev = "vlan3";
        host.routes.push_back(route);
        host.sysctls.push_back(Sysctl{"net.ipv4.conf.all.forwarding", "1", {}});
    }
};

}  // namespace

TEST_CASE("ir_json: a host has every section, spans only where they point into a file") {
    S1 s;
    const json j = toJson(s.host, s.sources);
    CHECK(j["name"] == "client");
    CHECK(j["span"] == json{{"file", "site.pol"}, {"line", 1}, {"column", 1}});
    for (const char* key : {"interfaces", "tables", "routingRules", "routes", "sysctls"}) {
        CAPTURE(key);
        CHECK(j[key].is_array());
    }
    CHECK_FALSE(j["sysctls"][0].contains("span"));
    CHECK(j["sysctls"][0] == json{{"key", "net.ipv4.conf.all.forwarding"}, {"value", "1"}});
}

TEST_CASE("ir_json: interfaces name their kind and omit what they do not have") {
    S1 s;
    const json i = toJson(s.host, s.sources)["interfaces"][0];
    CHECK(i == json{{"name", "vlan3"},
                    {"kind", "vxlan"},
                    {"addresses", {"10.0.0.3/24"}},
                    {"peer", "10.0.0.1"},
                    {"underlayRemote", "192.168.1.1"},
                    {"underlayPort", 4789}});
}

TEST_CASE("ir_json: rules carry match objects and a target object") {
    S1 s;
    const json t = toJson(s.host, s.sources)["tables"][0];
    CHECK(t["family"] == "inet");
    CHECK(t["name"] == "mangle");
    const json chain = t["chains"][0];
    CHECK(chain["name"] == "OUTPUT");
    CHECK(chain["policy"] == "none");
    const json rule = chain["rules"][0];
    CHECK(rule["comment"] == "app A");
    CHECK(rule["span"] == json{{"file", "site.pol"}, {"line", 12}, {"column", 5}});
    CHECK(rule["matches"][0] ==
          json{{"match", "owner"}, {"kind", "uid"}, {"negated", false}, {"ids", "1000"}});
    CHECK(rule["matches"][1] == json{{"match", "addr"},
                                     {"dir", "destination"},
                                     {"negated", true},
                                     {"items", {"10.0.0.0/8"}}});
    CHECK(rule["matches"][2]["ports"] == json{"22", "1000-2000"});
    CHECK(rule["target"] == json{{"target", "mark"}, {"mark", "0x1/0xffffffff"}});

    const json nat = toJson(s.host, s.sources)["tables"][1];
    CHECK(nat["family"] == "ip");
    CHECK(nat["chains"][0]["policy"] == "accept");
    const json snat = nat["chains"][0]["rules"][0];
    CHECK_FALSE(snat.contains("span"));
    CHECK_FALSE(snat.contains("comment"));
    CHECK(snat["matches"][0] ==
          json{{"match", "ctstate"}, {"negated", false}, {"states", {"new", "established"}}});
    CHECK(snat["matches"][1] ==
          json{{"match", "iface"}, {"dir", "out"}, {"negated", false}, {"name", "vlan3"}});
    CHECK(
        snat["target"] ==
        json{{"target", "nat"}, {"kind", "snat"}, {"first", "10.0.0.3"}, {"ports", "1024-65535"}});
}

TEST_CASE("ir_json: routing rules, routes and the policy wrapper") {
    S1 s;
    const json j = toJson(s.host, s.sources);
    CHECK(j["routingRules"][0] ==
          json{{"family", "ipv4"},
               {"priority", 1000},
               {"invert", false},
               {"fwmark", "0x1/0xffffffff"},
               {"action", "lookup"},
               {"table", 3},
               {"span", {{"file", "site.pol"}, {"line", 20}, {"column", 3}}}});
    CHECK(j["routingRules"][1] == json{{"family", "ipv6"},
                                       {"priority", 1001},
                                       {"invert", true},
                                       {"uidrange", "1000-1999"},
                                       {"action", "blackhole"}});
    CHECK(j["routes"][0] == json{{"family", "ipv4"},
                                 {"type", "unicast"},
                                 {"table", 3},
                                 {"dst", "0.0.0.0/0"},
                                 {"via", "10.0.0.1"},
                                 {"dev", "vlan3"}});

    Policy policy;
    policy.hosts = {s.host, Host{}};
    const json p = toJson(policy, s.sources);
    REQUIRE(p["hosts"].size() == 2);
    CHECK(p["hosts"][0] == j);
    CHECK(p["hosts"][1]["name"] == "");
}

TEST_CASE("ir_json: the remaining match and target kinds") {
    const SourceManager none;
    Rule r;
    r.matches = {
        ProtoMatch{6, true},
        ConnmarkMatch{false, {0x10, 0xf0}},
        CgroupMatch{false, "/app"},
        SocketMatch{true},
        IcmpMatch{Family::V6, false, 128, std::nullopt},
        AddrTypeMatch{Direction::Destination, false, "local"},
        LimitMatch{10, "second", 5},
        MacMatch{true, {0x02, 0x00, 0x5e, 0x10, 0xab, 0x0f}},
        AddrMatch{Direction::Source, false, {AddrRange{addr("10.0.0.1"), addr("10.0.0.9")}}}};
    r.target = Tproxy{Family::V4, std::nullopt, 8000, {1, 1}};
    Host h;
    h.tables = {Table{TableFamily::Ip6, "mangle", {Chain{"PREROUTING", {}, {r}, {}}}, {}}};
    const json m = toJson(h, none)["tables"][0]["chains"][0]["rules"][0];
    CHECK(m["matches"][0] == json{{"match", "proto"}, {"negated", true}, {"proto", "tcp"}});
    CHECK(m["matches"][1]["mark"] == "0x10/0xf0");
    CHECK(m["matches"][2]["path"] == "/app");
    CHECK(m["matches"][3] == json{{"match", "socket"}, {"transparent", true}});
    CHECK(m["matches"][4] ==
          json{{"match", "icmp"}, {"family", "ipv6"}, {"negated", false}, {"type", 128}});
    CHECK(m["matches"][5]["type"] == "local");
    CHECK(m["matches"][6] ==
          json{{"match", "limit"}, {"rate", 10}, {"unit", "second"}, {"burst", 5}});
    CHECK(m["matches"][7]["mac"] == "02:00:5e:10:ab:0f");
    CHECK(m["matches"][8]["items"] == json{"10.0.0.1-10.0.0.9"});
    r.matches = {ProtoMatch{6, false}, TcpFlagsMatch{true, 0xc2, 0x02}};
    h.tables[0].chains[0].rules = {r};
    CHECK(toJson(h, none)["tables"][0]["chains"][0]["rules"][0]["matches"][1] ==
          json{{"match", "tcpflags"},
               {"negated", true},
               {"comp", {"syn"}},
               {"mask", {"syn", "ecn", "cwr"}}});
    r.matches = {OpaqueMatch{{"recent", 1, {0x00, 0xff}}, 2}};
    h.tables[0].chains[0].rules = {r};
    CHECK(toJson(h, none)["tables"][0]["chains"][0]["rules"][0]["matches"][0] ==
          json{{"match", "opaque"},
               {"position", 2},
               {"extension", {{"name", "recent"}, {"revision", 1}, {"data", "00ff"}}}});
    CHECK(m["target"] ==
          json{{"target", "tproxy"}, {"family", "ipv4"}, {"port", 8000}, {"mark", "0x1/0x1"}});

    const std::vector<std::pair<Target, json>> targets = {
        {NoTarget{}, {{"target", "none"}}},
        {Accept{}, {{"target", "accept"}}},
        {Drop{}, {{"target", "drop"}}},
        {Return{}, {{"target", "return"}}},
        {Jump{"x"}, {{"target", "jump"}, {"chain", "x"}}},
        {Goto{"y"}, {{"target", "goto"}, {"chain", "y"}}},
        {Reject{}, {{"target", "reject"}}},
        {Reject{"tcp-reset"}, {{"target", "reject"}, {"with", "tcp-reset"}}},
        {Log{"in: ", 6}, {{"target", "log"}, {"prefix", "in: "}, {"level", 6}}},
        {Connmark{Connmark::Op::Save, {0, 0xff}},
         {{"target", "connmark"}, {"op", "save"}, {"mask", "0xff"}}},
        {Connmark{Connmark::Op::Set, {1, 0xff}},
         {{"target", "connmark"}, {"op", "set"}, {"mark", "0x1/0xff"}}},
        {Nat{Nat::Kind::Dnat, addr("10.0.0.3"), addr("10.0.0.4"), std::nullopt},
         {{"target", "nat"}, {"kind", "dnat"}, {"first", "10.0.0.3"}, {"last", "10.0.0.4"}}},
        {Masquerade{}, {{"target", "masquerade"}}},
        {Redirect{NumRange{8080, 8080}}, {{"target", "redirect"}, {"ports", "8080"}}},
        {Notrack{}, {{"target", "notrack"}}},
        {TcpMss{}, {{"target", "tcpmss"}, {"mss", "clamp"}}},
        {TcpMss{1400}, {{"target", "tcpmss"}, {"mss", 1400}}},
        {OpaqueTarget{{"NFLOG", 0, {0x03, 0xab}}},
         {{"target", "opaque"},
          {"extension", {{"name", "NFLOG"}, {"revision", 0}, {"data", "03ab"}}}}},
    };
    for (const auto& [target, expected] : targets) {
        Rule t;
        t.target = target;
        h.tables[0].chains[0].rules = {t};
        const json got = toJson(h, none)["tables"][0]["chains"][0]["rules"][0]["target"];
        CHECK(got == expected);
    }

    // The iptables-only spellings appear when set (an imported or read-back rule set).
    Rule spelled;
    spelled.matches = {ProtoMatch{6, false, true}, CtStateMatch{false, kCtNew, true}};
    spelled.comment = "c";
    spelled.commentAfter = 0b01;
    h.tables[0].chains[0].rules = {spelled};
    const json s = toJson(h, none)["tables"][0]["chains"][0]["rules"][0];
    CHECK(s["matches"][0] ==
          json{{"match", "proto"}, {"negated", false}, {"proto", "tcp"}, {"portModule", true}});
    CHECK(
        s["matches"][1] ==
        json{{"match", "ctstate"}, {"negated", false}, {"states", {"new"}}, {"stateModule", true}});
    CHECK(s["commentAfter"] == 0b01);
}

TEST_CASE("ir_json: renderJson writes exactly what nlohmann's dump(2) prints") {
    auto same = [](const Host& h, const SourceManager& sources) {
        const std::string text = renderJson(h, sources);
        CHECK(text == json::parse(text).dump(2));
    };
    S1 s;
    same(s.host, s.sources);
    same(Host{}, s.sources);

    // Escapes: quotes, backslashes, control characters, UTF-8 kept as is.
    Rule r;
    r.comment = "q\" b\\ \b\f\n\r\t \x01\x1f\x7f.";
    r.target = Log{"caf\xc3\xa9\t\xf0\x9f\x98\x80", std::nullopt};
    Host h;
    h.name = "\xe2\x82\xac";
    h.tables = {Table{TableFamily::Inet, "filter", {Chain{"INPUT", {}, {r}, {}}}, {}}};
    same(h, s.sources);
    CHECK(renderJson(h, s.sources).find(R"("comment": "q\" b\\ \b\f\n\r\t \u0001\u001f)") !=
          std::string::npos);
    // Bad UTF-8 (a file name, say): nlohmann's own error, as before.
    h.name = "bad\xff";
    CHECK_THROWS_AS(renderJson(h, s.sources), json::type_error);

    Policy policy;
    policy.hosts = {s.host, Host{}};
    const std::string text = renderJson(policy, s.sources);
    CHECK(text == json::parse(text).dump(2));
}

TEST_CASE("ir_json: every sample and golden case renders as nlohmann would") {
    for (const char* dir : {"samples", "tests/golden/ok", "tests/golden/lint"}) {
        for (const auto& e :
             std::filesystem::directory_iterator(std::filesystem::path(POLICYC_SOURCE_DIR) / dir)) {
            if (e.path().extension() != ".pol") continue;
            CAPTURE(e.path().string());
            SourceManager sources;
            Diagnostics diags;
            auto policy = compileFile(e.path().string(), sources, diags);
            if (!policy) continue;
            for (const auto& h : policy->hosts) {
                const std::string text = renderJson(h, sources);
                CHECK(text == json::parse(text).dump(2));
            }
        }
    }
}
