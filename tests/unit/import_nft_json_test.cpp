// SPDX-License-Identifier: GPL-2.0-or-later
// The nft JSON reader: each statement as `nft -j list ruleset` 1.0.6 prints it (every expression
// JSON below was printed by nft 1.0.6 after loading the rule with `nft -f` in a scratch netns)
// against the IR it must give; located errors; and nftables' own rule tests counted.
#include "compiler/import_nft_json.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

using namespace policyc;
using namespace policyc::ir;

struct Imported {
    SourceManager sources;
    Diagnostics diags;
    std::optional<Host> host;
    std::string errors() const { return renderText(diags.sorted(), sources); }
};

std::unique_ptr<Imported> importText(const std::string& text) {
    auto r = std::make_unique<Imported>();
    const uint32_t file = r->sources.add("dump.json", text);
    r->host = importNftJson(file, "dump", r->sources, r->diags);
    return r;
}

/// One table `family t` with one chain, and a rule (handle 7) whose statements are `expr`.
std::string docWith(std::string_view family, std::string_view chain, std::string_view expr) {
    const std::string f(family);
    return R"({"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": ")" + f +
           R"(", "name": "t", "handle": 1}}, )" + std::string(chain) +
           R"(, {"rule": {"family": ")" + f +
           R"(", "table": "t", "chain": "c", "handle": 7, "expr": )" + std::string(expr) + "}}]}";
}

std::string baseChain(std::string_view family, std::string_view type, std::string_view hook,
                      int prio, std::string_view policy = "accept") {
    return R"({"chain": {"family": ")" + std::string(family) +
           R"(", "table": "t", "name": "c", "handle": 1, "type": ")" + std::string(type) +
           R"(", "hook": ")" + std::string(hook) + R"(", "prio": )" + std::to_string(prio) +
           R"(, "policy": ")" + std::string(policy) + R"("}})";
}

/// The one rule of the one chain, or a failed check.
const Rule* onlyRule(const Imported& r) {
    REQUIRE_MESSAGE(r.host, r.errors());
    REQUIRE(r.host->tables.size() == 1);
    REQUIRE(r.host->tables[0].chains.size() == 1);
    REQUIRE(r.host->tables[0].chains[0].rules.size() == 1);
    return &r.host->tables[0].chains[0].rules[0];
}

const std::string kMatchDaddr =
    R"({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, )";

struct Case {
    std::string_view family;
    std::string_view expr;  // the rule's statements as nft -j printed them
    std::vector<Match> matches;
    Target target;
};

IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
Prefix net(std::string_view s) { return Prefix::parse(s).value(); }

TEST_CASE("import_nft_json: each statement nft prints becomes its IR") {
    const std::vector<Case> cases =
        {
            // tcp flags in each form nft -j lists them (loaded from nft text, dumped)
            {"inet",
             R"([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["fin", "syn", "rst", "ack"]]}, "right": "syn"}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x17, 0x02}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "!=", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["syn", "ack"]]}, "right": "syn"}}, {"drop": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{true, 0x12, 0x02}},
             Drop{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["fin", "syn", "rst", "psh", "ack", "urg"]]}, "right": ["fin", "psh", "urg"]}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x3f, 0x29}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "!=", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, "syn"]}, "right": "syn"}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{true, 0x02, 0x02}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "!", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": ["fin", "syn", "rst", "ack"]}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x17, 0}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "in", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": ["fin", "syn"]}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{true, 0x03, 0}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "in", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": "syn"}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{true, 0x02, 0}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": "syn"}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0xff, 0x02}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "!=", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": 0}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{true, 0xff, 0}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": 3}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0xff, 0x03}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["ecn", "cwr"]]}, "right": "ecn"}}, {"accept": null}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0xc0, 0x40}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 123}}, {"notrack": null}])",
             {ProtoMatch{17, false}, PortMatch{Direction::Destination, false, {{123, 123}}}},
             Notrack{}},
            // as `nft -j list ruleset` (1.0.6) shows `tcp option maxseg size set rt mtu | 1400`
            {"inet",
             R"([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["syn", "rst"]]}, "right": "syn"}}, {"mangle": {"key": {"tcp option": {"name": "maxseg", "field": "size"}}, "value": {"rt": {"key": "mtu"}}}}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x06, 0x02}},
             TcpMss{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["syn", "rst"]]}, "right": "syn"}}, {"mangle": {"key": {"tcp option": {"name": "maxseg", "field": "size"}}, "value": 1400}}])",
             {ProtoMatch{6, false}, TcpFlagsMatch{false, 0x06, 0x02}},
             TcpMss{1400}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth0"}}, {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"match": {"op": "==", "left": {"socket": {"key": "transparent"}}, "right": 1}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"|": [{"meta": {"key": "mark"}}, 1]}}}])",
             {ProtoMatch{6, false}, IfaceMatch{IfaceDirection::In, false, "eth0"},
              SocketMatch{true}},
             SetMark{{1, 1}}},
            {"inet",
             R"([{"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"&": [{"ct": {"key": "mark"}}, 255]}}}])",
             {},
             Connmark{Connmark::Op::Restore, {0, 0xff}}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 5}}, {"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"meta": {"key": "mark"}}}}])",
             {MarkMatch{false, {5, 0xffffffff}}},
             Connmark{Connmark::Op::Save, {0, 0xffffffff}}},
            {"inet",
             R"([{"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"|": [{"&": [{"ct": {"key": "mark"}}, 4294967046]}, 6]}}}])",
             {},
             Connmark{Connmark::Op::Set, {6, 0xff}}},
            {"ip",
             R"([{"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"^": [{"meta": {"key": "mark"}}, 5]}}}])",
             {},
             SetMark{{5, 0}}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": 1000}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}])",
             {OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1000}}},
             SetMark{{1, 0xffffffff}}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "skgid"}}, "right": {"range": [100, 200]}}}, {"drop": null}])",
             {OwnerMatch{OwnerMatch::Kind::Gid, false, {100, 200}}},
             Drop{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth1"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8443}}, {"dnat": {"family": "ip", "addr": "192.168.0.10", "port": 443}}])",
             {ProtoMatch{6, false}, PortMatch{Direction::Destination, false, {{8443, 8443}}},
              IfaceMatch{IfaceDirection::In, false, "eth1"}},
             Nat{Nat::Kind::Dnat, ip("192.168.0.10"), {}, NumRange{443, 443}}},
            {"ip",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"snat": {"addr": {"range": ["1.2.3.4", "1.2.3.9"]}, "port": {"range": [1000, 2000]}}}])",
             {ProtoMatch{6, false}},
             Nat{Nat::Kind::Snat, ip("1.2.3.4"), ip("1.2.3.9"), NumRange{1000, 2000}}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth1"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.9.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}}, {"masquerade": {"port": {"range": [1024, 2048]}}}])",
             {ProtoMatch{17, false}, AddrMatch{Direction::Source, false, {net("10.9.0.0/16")}},
              IfaceMatch{IfaceDirection::Out, false, "eth1"}},
             Masquerade{NumRange{1024, 2048}}},
            {"ip",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 81}}, {"redirect": null}])",
             {ProtoMatch{6, false}, PortMatch{Direction::Destination, false, {{81, 81}}}},
             Redirect{}},
            {"inet",
             R"([{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}])",
             {CtStateMatch{false, kCtEstablished | kCtRelated}},
             Accept{}},
            {"ip",
             R"([{"match": {"op": "!=", "left": {"ct": {"key": "state"}}, "right": "established"}}, {"drop": null}])",
             {CtStateMatch{true, kCtEstablished}},
             Drop{}},
            {"ip",
             R"([{"match": {"op": "==", "left": {"ct": {"key": "state"}}, "right": {"set": ["established", "new"]}}}, {"accept": null}])",
             {CtStateMatch{false, kCtEstablished | kCtNew}},
             Accept{}},
            // nft 1.0.6's "none of" form (`ct state ! established,new`) and the inverted set
            {"ip",
             R"([{"match": {"op": "!", "left": {"ct": {"key": "state"}}, "right": ["established", "new"]}}, {"drop": null}])",
             {CtStateMatch{true, kCtEstablished | kCtNew}},
             Drop{}},
            {"ip",
             R"([{"match": {"op": "!=", "left": {"ct": {"key": "state"}}, "right": {"set": ["established", "new"]}}}, {"drop": null}])",
             {CtStateMatch{true, kCtEstablished | kCtNew}},
             Drop{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [80, 443, {"range": [8000, 8080]}]}}}, {"accept": null}])",
             {ProtoMatch{6, false},
              PortMatch{Direction::Destination, false, {{80, 80}, {443, 443}, {8000, 8080}}}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"set": [{"prefix": {"addr": "10.1.0.0", "len": 16}}, "10.2.0.1"]}}}, {"drop": null}])",
             {AddrMatch{Direction::Source, false, {net("10.1.0.0/16"), net("10.2.0.1/32")}}},
             Drop{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"range": ["10.9.0.1", "10.9.0.9"]}}}, {"drop": null}])",
             {AddrMatch{Direction::Source, false, {AddrRange{ip("10.9.0.1"), ip("10.9.0.9")}}}},
             Drop{}},
            {"ip",
             R"([{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"set": ["5.6.7.8", "1.2.3.4"]}}}, {"accept": null}])",
             // none of them: one match, its items in canonical (address) order
             {AddrMatch{Direction::Source, true, {net("1.2.3.4/32"), net("5.6.7.8/32")}}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "fd00::", "len": 64}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}])",
             {ProtoMatch{6, false}, AddrMatch{Direction::Source, false, {net("fd00::/64")}},
              PortMatch{Direction::Destination, false, {{22, 22}}}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": "echo-request"}}, {"limit": {"rate": 5, "burst": 10, "per": "second"}}, {"accept": null}])",
             {IcmpMatch{Family::V4, false, 8, {}}, LimitMatch{5, "second", 10}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "!=", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, 240]}, "right": 16}}, {"counter": {"packets": 0, "bytes": 0}}])",
             {ProtoMatch{6, true}, MarkMatch{false, {16, 0xf0}}},
             NoTarget{}},
            {"ip",
             R"([{"match": {"op": "==", "left": {"&": [{"ct": {"key": "mark"}}, 255]}, "right": 1}}, {"accept": null}])",
             {ConnmarkMatch{false, {1, 0xff}}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "broadcast"}}, {"drop": null}])",
             {AddrTypeMatch{Direction::Destination, false, "broadcast"}},
             Drop{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ether", "field": "saddr"}}, "right": "02:00:00:00:00:01"}}, {"drop": null}])",
             {MacMatch{false, {2, 0, 0, 0, 0, 1}}},
             Drop{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 25}}, {"reject": {"type": "tcp reset"}}])",
             {ProtoMatch{6, false}, PortMatch{Direction::Destination, false, {{25, 25}}}},
             Reject{"tcp-reset"}},
            {"inet",
             R"([{"reject": {"type": "icmpx", "expr": "port-unreachable"}}])",
             {},
             Reject{}},
            {"ip", R"([{"reject": {"type": "icmp", "expr": "port-unreachable"}}])", {}, Reject{}},
            {"ip",
             R"([{"reject": {"type": "icmp", "expr": "host-unreachable"}}])",
             {},
             Reject{"icmp-host-unreachable"}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": 1000}}, {"reject": {"type": "icmpv6", "expr": "admin-prohibited"}}])",
             {OwnerMatch{OwnerMatch::Kind::Uid, false, {1000, 1000}}},
             Reject{"icmp6-adm-prohibited"}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "1.2.3.4"}}, {"reject": {"type": "icmp", "expr": "port-unreachable"}}])",
             {AddrMatch{Direction::Source, false, {net("1.2.3.4/32")}}},
             Reject{}},
            {"ip", R"([{"log": {"prefix": "x", "level": "info"}}])", {}, Log{"x", 6}},
            {"ip", R"([{"log": null}])", {}, Log{"", 4}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth*"}}, {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}}, {"accept": null}])",
             {IfaceMatch{IfaceDirection::In, false, "eth+"},
              IfaceMatch{IfaceDirection::Out, false, "eth0"}},
             Accept{}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth0"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 80}}, {"tproxy": {"family": "ip", "port": 8000}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"|": [{"meta": {"key": "mark"}}, 1]}}}, {"accept": null}])",
             {ProtoMatch{17, false}, PortMatch{Direction::Destination, false, {{80, 80}}},
              IfaceMatch{IfaceDirection::In, false, "eth0"}},
             Tproxy{Family::V4, {}, 8000, {1, 1}}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}}, {"tproxy": {"family": "ip6", "addr": "::1", "port": 8000}}, {"accept": null}])",
             {ProtoMatch{6, false}, PortMatch{Direction::Destination, false, {{80, 80}}}},
             Tproxy{Family::V6, ip("::1"), 8000, {0, 0}}},
            {"inet",
             R"([{"match": {"op": "==", "left": {"socket": {"key": "cgroupv2"}}, "right": "torrent"}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 2}}])",
             {CgroupMatch{false, "/torrent"}},
             SetMark{{2, 0xffffffff}}},
            {"ip",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "protocol"}}, "right": "tcp"}}, {"accept": null}])",
             {ProtoMatch{6, false}},
             Accept{}},
        };
    for (const Case& c : cases) {
        CAPTURE(c.expr);
        auto r = importText(docWith(c.family, baseChain(c.family, "filter", "input", 0), c.expr));
        const Rule* rule = onlyRule(*r);
        std::vector<Match> want = c.matches;
        sortMatches(want);
        CHECK(rule->matches == want);
        CHECK(rule->target == c.target);
    }
}

TEST_CASE("import_nft_json: chains map to legacy tables, sets, comments and jumps") {
    // policyc's own table: chains by name, jumps lose the table prefix
    const std::string own =
        R"({"nftables": [{"table": {"family": "inet", "name": "policyc", "handle": 2}},
{"chain": {"family": "inet", "table": "policyc", "name": "filter_input", "handle": 6, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
{"chain": {"family": "inet", "table": "policyc", "name": "filter_logging", "handle": 9}},
{"rule": {"family": "inet", "table": "policyc", "chain": "filter_input", "handle": 26, "comment": "ssh from the lan", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]}},
{"rule": {"family": "inet", "table": "policyc", "chain": "filter_input", "handle": 27, "expr": [{"jump": {"target": "filter_logging"}}]}},
{"rule": {"family": "inet", "table": "policyc", "chain": "filter_logging", "handle": 28, "expr": [{"return": null}]}}]})";
    auto r = importText(own);
    REQUIRE_MESSAGE(r->host, r->errors());
    REQUIRE(r->host->tables.size() == 1);
    const Table& t = r->host->tables[0];
    CHECK(t.family == TableFamily::Inet);
    CHECK(t.name == "filter");
    REQUIRE(t.chains.size() == 2);
    CHECK(t.chains[0].name == "INPUT");
    CHECK(t.chains[0].policy == ChainPolicy::Drop);
    CHECK(t.chains[0].rules[0].comment == "ssh from the lan");
    CHECK(t.chains[0].rules[1].target == Target{Jump{"logging"}});
    CHECK(t.chains[1].name == "logging");
    // the rule's span is its {"rule": object: line 4 (the document has line breaks), column 1
    CHECK(t.chains[0].rules[0].span.line == 4);
    CHECK(t.chains[0].rules[0].span.column == 1);
    CHECK(t.chains[0].rules[1].span.line == 5);

    // another table: base chains by type, hook and priority; user chains follow their jumper;
    // named sets give their elements
    const std::string other =
        R"({"nftables": [{"table": {"family": "ip", "name": "fw", "handle": 1}},)"
        R"({"set": {"family": "ip", "name": "blk", "table": "fw", "type": "ipv4_addr", "handle": 6, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}, {"range": ["172.16.0.1", "172.16.0.9"]}, "192.168.1.1"]}},)"
        R"({"chain": {"family": "ip", "table": "fw", "name": "out", "handle": 1, "type": "route", "hook": "output", "prio": -150, "policy": "accept"}},)"
        R"({"chain": {"family": "ip", "table": "fw", "name": "sub", "handle": 2}},)"
        R"({"chain": {"family": "ip", "table": "fw", "name": "raw", "handle": 3, "type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}},)"
        R"({"rule": {"family": "ip", "table": "fw", "chain": "out", "handle": 8, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@blk"}}, {"goto": {"target": "sub"}}]}},)"
        R"({"rule": {"family": "ip", "table": "fw", "chain": "sub", "handle": 9, "expr": [{"return": null}]}}]})";
    r = importText(other);
    REQUIRE_MESSAGE(r->host, r->errors());
    REQUIRE(r->host->tables.size() == 2);
    CHECK(r->host->tables[1].name == "raw");  // an empty base chain is kept, with its policy
    CHECK(r->host->tables[1].chains[0].name == "PREROUTING");
    const Table& m = r->host->tables[0];
    CHECK(m.family == TableFamily::Ip);
    CHECK(m.name == "mangle");
    REQUIRE(m.chains.size() == 2);
    CHECK(m.chains[0].name == "OUTPUT");
    CHECK(m.chains[0].policy == ChainPolicy::Accept);
    CHECK(m.chains[1].name == "sub");
    const AddrMatch want{
        Direction::Source,
        false,
        {net("10.0.0.0/8"), AddrRange{ip("172.16.0.1"), ip("172.16.0.9")}, net("192.168.1.1/32")}};
    CHECK(m.chains[0].rules[0].matches == std::vector<Match>{want});
    CHECK(m.chains[0].rules[0].target == Target{Goto{"sub"}});
    // one line: the rule spans are exact columns of the {"rule": objects
    const std::string& text = r->sources.file(1).text;
    CHECK(m.chains[0].rules[0].span.line == 1);
    CHECK(text.substr(m.chains[0].rules[0].span.column - 1, 9) == R"({"rule": )");
    CHECK(m.chains[1].rules[0].span.column > m.chains[0].rules[0].span.column);
    CHECK(text[m.chains[1].rules[0].span.endColumn - 1] == '}');
}

/// The first error's rendering (file:line:col: error: message [code]).
std::string firstError(const Imported& r) {
    for (const Diagnostic& d : r.diags.sorted())
        if (d.severity == Severity::Error) return renderText({d}, r.sources);
    return "";
}

TEST_CASE("import_nft_json: what the IR cannot hold is a located error") {
    SUBCASE("an unknown expression names table, chain and handle, at the rule's object") {
        const std::string doc = docWith(
            "inet", baseChain("inet", "filter", "input", 0),
            R"([{"match": {"op": "==", "left": {"osf": {"key": "name"}}, "right": "Linux"}}, {"drop": null}])");
        auto r = importText(doc);
        CHECK_FALSE(r->host);
        const std::string e = firstError(*r);
        const size_t column = doc.find(R"({"rule":)") + 1;
        CHECK(e.find("dump.json:1:" + std::to_string(column) + ": error: ") == 0);
        CHECK(e.find("table inet t, chain c, rule handle 7: a match on 'osf'") !=
              std::string::npos);
        CHECK(e.find("[unsupported-construct]") != std::string::npos);
    }
    SUBCASE("several statements, a set of protocols, an xtables rule, a map") {
        for (
            std::string_view expr :
            {R"([{"log": {"prefix": "x"}}, {"accept": null}])",
             R"([{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["tcp", "udp"]}}}, {"accept": null}])",
             R"([{"xt": {"type": "match", "name": "owner"}}])",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "nexthdr"}}, "right": "udp"}}, {"accept": null}])",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "protocol"}}, "right": "tcp"}}, {"accept": null}])",
             R"([{"masquerade": {"flags": "random"}}])",
             R"([{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, "syn"]}, "right": ["syn", "ack"]}}, {"accept": null}])",
             R"([{"match": {"op": "in", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, "syn"]}, "right": "syn"}}, {"accept": null}])",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": "bogus"}}, {"accept": null}])",
             R"([{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}}, {"tproxy": {"family": "ip", "port": 8000}}])",
             R"([{"match": {"op": "<", "left": {"meta": {"key": "mark"}}, "right": 5}}, {"accept": null}])",
             R"([{"vmap": {"key": {"meta": {"key": "mark"}}, "data": {"set": []}}}])"}) {
            CAPTURE(expr);
            auto r = importText(docWith("inet", baseChain("inet", "filter", "input", 0), expr));
            CHECK_FALSE(r->host);
            CHECK(firstError(*r).find("rule handle 7: ") != std::string::npos);
        }
    }
    SUBCASE("an interface index (meta iif/oif, as nft -j lists them) names the by-name match") {
        for (std::string_view key : {"iif", "oif"}) {
            CAPTURE(key);
            auto r = importText(docWith("ip", baseChain("ip", "filter", "input", 0),
                                        R"([{"match": {"op": "==", "left": {"meta": {"key": ")" +
                                            std::string(key) +
                                            R"("}}, "right": "lo"}}, {"accept": null}])"));
            CHECK_FALSE(r->host);
            const std::string e = firstError(*r);
            CAPTURE(e);
            CHECK(e.find("dump.json:1:") == 0);
            CHECK(e.find("rule handle 7: 'meta " + std::string(key) + "' (an interface index") !=
                  std::string::npos);
            CHECK(e.find("'" + std::string(key) + "name' matches by name") != std::string::npos);
        }
    }
    SUBCASE("a chain with rules that stands for no iptables chain") {
        auto r = importText(
            docWith("inet", baseChain("inet", "filter", "ingress", 0), R"([{"accept": null}])"));
        CHECK_FALSE(r->host);
        CHECK(firstError(*r).find("chain c: no iptables table and chain") != std::string::npos);
    }
    SUBCASE("chains of one legacy table from an inet and an ip table") {
        const std::string doc =
            R"({"nftables": [{"table": {"family": "inet", "name": "a"}}, {"table": {"family": "ip", "name": "b"}},)"
            R"({"chain": {"family": "inet", "table": "a", "name": "c", "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},)"
            R"({"chain": {"family": "ip", "table": "b", "name": "c", "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}]})";
        auto r = importText(doc);
        CHECK_FALSE(r->host);
        CHECK(firstError(*r).find("table ip b, chain c stands for filter OUTPUT of family ip") !=
              std::string::npos);
    }
    SUBCASE("a family policyc does not model") {
        auto r = importText(R"({"nftables": [{"table": {"family": "bridge", "name": "b"}}]})");
        CHECK_FALSE(r->host);
        CHECK(firstError(*r).find("dump.json:1:15: error: table bridge b:") == 0);
    }
    SUBCASE("a JSON syntax error at its line and column") {
        auto r = importText(
            "{\"nftables\": [\n  {\"table\": {\"family\": \"ip\",, \"name\": \"t\"}}\n]}");
        CHECK_FALSE(r->host);
        const std::string e = firstError(*r);
        CAPTURE(e);
        CHECK(e.find("dump.json:2:29: error: not JSON: ") == 0);
        CHECK(e.find("[syntax-error]") != std::string::npos);
    }
    SUBCASE("JSON that is not a rule set") {
        auto r = importText(R"([1, 2])");
        CHECK_FALSE(r->host);
        CHECK(firstError(*r).find("dump.json:1:1: error: not the output of 'nft -j list") == 0);
    }
}

TEST_CASE("import_nft_json: nftables' own rule tests are imported or refused, located") {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(POLICYC_SOURCE_DIR) / "../shared/conformance/nftables/py";
    if (!fs::exists(root)) {
        MESSAGE("skipped: " << root.string() << " is missing");
        return;
    }
    int imported = 0, refused = 0, total = 0;
    for (const auto& dir : fs::directory_iterator(root)) {
        if (!dir.is_directory()) continue;
        const std::string fam = dir.path().filename().string();
        const std::string family = fam == "any" ? "ip" : fam;
        for (const auto& file : fs::directory_iterator(dir.path())) {
            if (!file.path().string().ends_with(".t.json")) continue;
            std::ifstream in(file.path());
            std::stringstream all;
            all << in.rdbuf();
            // "# RULE" lines introduce each rule's JSON list of statements
            std::string text = "\n" + all.str();
            size_t at = 0;
            while ((at = text.find("\n#", at)) != std::string::npos) {
                const size_t body = text.find('\n', at + 1);
                const size_t next = body == std::string::npos ? body : text.find("\n#", body);
                if (body == std::string::npos) break;
                const std::string expr =
                    text.substr(body, next == std::string::npos ? std::string::npos : next - body);
                at = body;
                if (!nlohmann::json::accept(expr)) continue;
                ++total;
                CAPTURE(file.path().string());
                CAPTURE(expr);
                auto r = importText(docWith(family, baseChain(family, "filter", "input", 0), expr));
                if (r->host) {
                    ++imported;
                    continue;
                }
                ++refused;
                const std::string e = firstError(*r);
                CHECK(e.find("dump.json:1:") == 0);
                CHECK(e.find("rule handle 7: ") != std::string::npos);
            }
        }
    }
    MESSAGE("nftables rule tests: " << total << " rules, " << imported << " imported, " << refused
                                    << " refused with a located error, 0 crashed");
    CHECK(total > 1000);
    CHECK(imported > 100);
}

}  // namespace
