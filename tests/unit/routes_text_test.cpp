// SPDX-License-Identifier: GPL-2.0-or-later
// The per-family `ip -batch` and the sysctl.conf renderings. Every expected routes text below was
// first loaded into a scratch network namespace by tests/kernel/routes_oracle.py (iproute2 6.1,
// kernel 6.18; `routes6` with -6), which listed it back unchanged; the sysctl texts were echoed
// unchanged by `sysctl -p` in a netns. The kernel test kernel/routes_text_oracle re-proves this
// through the last test case here.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "backends/text/render.h"
#include "backends/text/routing_tag.h"
#include "tests/unit/fixture_writers.h"

using namespace policyc;
using namespace policyc::ir;
using Action = RoutingRule::Action;
using Type = Route::Type;

namespace {

Prefix pfx(std::string_view text) { return *Prefix::parse(text); }
IpAddr addr(std::string_view text) { return *IpAddr::parse(text); }

Interface iface(std::string name, std::vector<std::string_view> addresses,
                LinkKind kind = LinkKind::Veth) {
    Interface i;
    i.name = std::move(name);
    i.kind = kind;
    for (auto a : addresses) i.addresses.push_back(pfx(a));
    return i;
}

/// Fluent builders: GCC 12 warns about designated initializers that skip members.
struct RuleB {
    RoutingRule r;
    explicit RuleB(uint32_t priority) { r.priority = priority; }
    RuleB& v6() { return r.family = Family::V6, *this; }
    RuleB& invert() { return r.invert = true, *this; }
    RuleB& mark(uint32_t value, uint32_t mask = 0xffffffff) {
        return r.fwmark = MarkMask{value, mask}, *this;
    }
    RuleB& iif(std::string name) { return r.iif = std::move(name), *this; }
    RuleB& oif(std::string name) { return r.oif = std::move(name), *this; }
    RuleB& uids(uint32_t first, uint32_t last) { return r.uidrange = NumRange{first, last}, *this; }
    RuleB& from(std::string_view p) { return r.from = pfx(p), *this; }
    RuleB& to(std::string_view p) { return r.to = pfx(p), *this; }
    RuleB& lookup(uint32_t table) { return r.table = table, *this; }
    RuleB& action(Action a) { return r.action = a, *this; }
    operator RoutingRule() const { return r; }
};

struct RouteB {
    Route r;
    explicit RouteB(std::string_view dst, uint32_t table = kTableMain) {
        r.dst = pfx(dst);
        r.table = table;
    }
    RouteB& type(Type t) { return r.type = t, *this; }
    RouteB& via(std::string_view a) { return r.via = addr(a), *this; }
    RouteB& dev(std::string name) { return r.dev = std::move(name), *this; }
    RouteB& src(std::string_view a) { return r.src = addr(a), *this; }
    RouteB& metric(uint32_t m) { return r.metric = m, *this; }
    operator Route() const { return r; }
};

Sysctl sysctl(std::string key, std::string value) {
    Sysctl s;
    s.key = std::move(key);
    s.value = std::move(value);
    return s;
}

struct Fixture {
    std::string name;
    Host host;
    std::string routes4;  // renderRoutes(host, V4), for `ip -batch`
    std::string routes6;  // renderRoutes(host, V6), for `ip -6 -batch`
    std::string sysctl;
};

Fixture rulesV4() {
    Fixture f{"rules_v4", {}, {}, {}, {}};
    f.host.interfaces = {iface("eth0", {"10.0.0.3/24"}), iface("vlan3", {"10.0.3.3/24"})};
    f.host.routingRules = {
        RuleB(100).mark(1).lookup(3),
        RuleB(101)
            .invert()
            .mark(0x1, 0xff)
            .iif("eth0")
            .oif("vlan3")
            .uids(1000, 1000)
            .from("10.0.0.0/24")
            .to("10.1.0.0/16")
            .lookup(kTableMain),
        RuleB(102).iif("lo").lookup(kTableLocal),
        RuleB(103).uids(1000, 1999).lookup(kTableDefault),
        // A rule keeps host bits in its selector; a host prefix is listed without /32.
        RuleB(104).from("10.0.0.1/24").to("10.2.0.1/32").lookup(200000),
        // fwmark 0 must keep its mask; an all-zero mask and a /0 selector match everything.
        RuleB(105).mark(0).lookup(4000000000u),
        RuleB(106).mark(0, 0).from("0.0.0.0/0").lookup(7),
        RuleB(107).action(Action::Blackhole),
        RuleB(108).invert().mark(0x10, 0x10).action(Action::Unreachable),
        RuleB(109).oif("eth0").action(Action::Prohibit),
    };
    f.routes4 =
        "rule add priority 100 fwmark 0x1 lookup 3 protocol 211\n"
        "rule add priority 101 not fwmark 0x1/0xff iif eth0 oif vlan3 uidrange 1000-1000"
        " from 10.0.0.0/24 to 10.1.0.0/16 lookup main protocol 211\n"
        "rule add priority 102 iif lo lookup local protocol 211\n"
        "rule add priority 103 uidrange 1000-1999 lookup default protocol 211\n"
        "rule add priority 104 from 10.0.0.1/24 to 10.2.0.1/32 lookup 200000 protocol 211\n"
        "rule add priority 105 fwmark 0x0/0xffffffff lookup 4000000000 protocol 211\n"
        "rule add priority 106 lookup 7 protocol 211\n"
        "rule add priority 107 blackhole protocol 211\n"
        "rule add priority 108 not fwmark 0x10/0x10 unreachable protocol 211\n"
        "rule add priority 109 oif eth0 prohibit protocol 211\n";
    return f;
}

Fixture rulesV6() {
    Fixture f{"rules_v6", {}, {}, {}, {}};
    f.host.interfaces = {iface("eth0", {"10.0.0.3/24", "fd00::3/64"}),
                         iface("wg0", {"fd00:1::3/64"})};
    f.host.routingRules = {
        RuleB(50).v6().mark(0xca6c).lookup(51820),
        RuleB(50).mark(0xca6c).lookup(51820),
        RuleB(60)
            .v6()
            .invert()
            .mark(0x2, 0xf)
            .iif("eth0")
            .oif("wg0")
            .uids(0, 65534)
            .from("fd00::/64")
            .to("fd01::/48")
            .lookup(100),
        RuleB(61).v6().to("fd02::1/128").lookup(kTableMain),
        RuleB(62).v6().from("::/0").lookup(kTableLocal),
        RuleB(70).v6().action(Action::Blackhole),
        RuleB(71).v6().iif("wg0").action(Action::Unreachable),
        RuleB(72).v6().from("fd00::1/64").action(Action::Prohibit),
    };
    // The IPv4 twin of rule 50 goes to the IPv4 text only.
    f.routes4 = "rule add priority 50 fwmark 0xca6c lookup 51820 protocol 211\n";
    f.routes6 =
        "rule add priority 50 fwmark 0xca6c lookup 51820 protocol 211\n"
        "rule add priority 60 not fwmark 0x2/0xf iif eth0 oif wg0 uidrange 0-65534"
        " from fd00::/64 to fd01::/48 lookup 100 protocol 211\n"
        "rule add priority 61 to fd02::1/128 lookup main protocol 211\n"
        "rule add priority 62 lookup local protocol 211\n"
        "rule add priority 70 blackhole protocol 211\n"
        "rule add priority 71 iif wg0 unreachable protocol 211\n"
        "rule add priority 72 from fd00::1/64 prohibit protocol 211\n";
    return f;
}

Fixture routesV4() {
    Fixture f{"routes_v4", {}, {}, {}, {}};
    f.host.interfaces = {iface("lo", {"127.0.0.1/8"}, LinkKind::Loopback),
                         iface("eth0", {"10.0.0.3/24"})};
    f.host.routes = {
        RouteB("0.0.0.0/0", 3).via("10.0.0.1").dev("eth0"),
        RouteB("0.0.0.0/0", 100).type(Type::Local).dev("lo"),
        RouteB("10.6.0.0/16").via("10.0.0.1").dev("eth0").src("10.0.0.3").metric(10),
        RouteB("10.5.0.2/32", kTableDefault).dev("eth0").metric(0),
        RouteB("10.5.0.3/32", kTableLocal).dev("eth0"),
        RouteB("10.7.0.1/16", 4000000000u).dev("eth0"),
        RouteB("10.9.0.0/16", 3).type(Type::Blackhole),
        RouteB("10.8.0.0/16", 3).type(Type::Unreachable).metric(5),
        RouteB("0.0.0.0/0").type(Type::Prohibit),
    };
    f.routes4 =
        "route add default via 10.0.0.1 dev eth0 table 3 proto 211\n"
        "route add local default dev lo table 100 proto 211\n"
        "route add 10.6.0.0/16 via 10.0.0.1 dev eth0 src 10.0.0.3 metric 10 table main"
        " proto 211\n"
        "route add 10.5.0.2/32 dev eth0 table default proto 211\n"
        "route add 10.5.0.3/32 dev eth0 table local proto 211\n"
        "route add 10.7.0.0/16 dev eth0 table 4000000000 proto 211\n"
        "route add blackhole 10.9.0.0/16 table 3 proto 211\n"
        "route add unreachable 10.8.0.0/16 metric 5 table 3 proto 211\n"
        "route add prohibit default table main proto 211\n";
    return f;
}

Fixture routesV6() {
    Fixture f{"routes_v6", {}, {}, {}, {}};
    f.host.interfaces = {iface("eth0", {"fd00::3/64"})};
    f.host.routes = {
        RouteB("::/0", 3).via("fd00::1").dev("eth0"),
        RouteB("::/0", 100).type(Type::Local).dev("lo"),
        RouteB("fd00:6::/64").via("fd00::1").dev("eth0").src("fd00::3").metric(10),
        // IPv6 clears host bits itself and turns metric 0 into its default, 1024.
        RouteB("fd00:5::1/64", 5).dev("eth0").metric(0),
        RouteB("fd00:4::1/128", kTableDefault).dev("eth0"),
        RouteB("fd00:9::/64", 100).type(Type::Blackhole),
        RouteB("fd00:8::/64").type(Type::Unreachable).metric(7),
        RouteB("fd00:7::/64", kTableLocal).type(Type::Prohibit),
    };
    // `ip -6` reads `default` as ::/0 and lists it so.
    f.routes6 =
        "route add default via fd00::1 dev eth0 metric 1024 table 3 proto 211\n"
        "route add local default dev lo metric 1024 table 100 proto 211\n"
        "route add fd00:6::/64 via fd00::1 dev eth0 src fd00::3 metric 10 table main proto 211\n"
        "route add fd00:5::/64 dev eth0 metric 1024 table 5 proto 211\n"
        "route add fd00:4::1/128 dev eth0 metric 1024 table default proto 211\n"
        "route add blackhole fd00:9::/64 dev lo metric 1024 table 100 proto 211\n"
        "route add unreachable fd00:8::/64 dev lo metric 7 table main proto 211\n"
        "route add prohibit fd00:7::/64 dev lo metric 1024 table local proto 211\n";
    return f;
}

/// Scenario S1 (client) plus S2's and S3's sysctls: rules first, then routes, each in IR order.
Fixture scenarioClient() {
    Fixture f{"s1_client", {}, {}, {}, {}};
    f.host.interfaces = {iface("eth3", {"192.168.1.3/24"}),
                         iface("vlan3", {"10.0.0.3/24"}, LinkKind::Vxlan)};
    f.host.routingRules = {RuleB(1000).mark(1).lookup(3), RuleB(1001).iif("vlan3").lookup(3)};
    f.host.routes = {RouteB("0.0.0.0/0", 3).via("10.0.0.1").dev("vlan3"),
                     RouteB("0.0.0.0/0", 100).type(Type::Local).dev("lo")};
    f.host.sysctls = {sysctl("net.ipv4.conf.all.forwarding", "1"),
                      sysctl("net.ipv4.conf.all.rp_filter", "2"),
                      sysctl("net.ipv4.conf.vlan3.rp_filter", "0")};
    f.routes4 =
        "rule add priority 1000 fwmark 0x1 lookup 3 protocol 211\n"
        "rule add priority 1001 iif vlan3 lookup 3 protocol 211\n"
        "route add default via 10.0.0.1 dev vlan3 table 3 proto 211\n"
        "route add local default dev lo table 100 proto 211\n";
    f.sysctl =
        "net.ipv4.conf.all.forwarding = 1\n"
        "net.ipv4.conf.all.rp_filter = 2\n"
        "net.ipv4.conf.vlan3.rp_filter = 0\n";
    return f;
}

/// Both families interleaved in the IR: each text keeps its own family's rules, then its routes,
/// each in IR order.
Fixture mixedFamilies() {
    Fixture f{"mixed", {}, {}, {}, {}};
    f.host.interfaces = {iface("eth0", {"10.0.0.3/24", "fd00::3/64"})};
    f.host.routes = {RouteB("::/0", 3).via("fd00::1").dev("eth0"),
                     RouteB("0.0.0.0/0", 3).via("10.0.0.1").dev("eth0"),
                     RouteB("fd00:9::/64").type(Type::Blackhole),
                     RouteB("10.9.0.0/16").type(Type::Blackhole)};
    f.host.routingRules = {RuleB(10).v6().mark(1).lookup(3), RuleB(10).mark(1).lookup(3),
                           RuleB(20).from("10.0.0.0/24").lookup(3),
                           RuleB(20).v6().from("fd00::/64").lookup(3)};
    f.routes4 =
        "rule add priority 10 fwmark 0x1 lookup 3 protocol 211\n"
        "rule add priority 20 from 10.0.0.0/24 lookup 3 protocol 211\n"
        "route add default via 10.0.0.1 dev eth0 table 3 proto 211\n"
        "route add blackhole 10.9.0.0/16 table main proto 211\n";
    f.routes6 =
        "rule add priority 10 fwmark 0x1 lookup 3 protocol 211\n"
        "rule add priority 20 from fd00::/64 lookup 3 protocol 211\n"
        "route add default via fd00::1 dev eth0 metric 1024 table 3 proto 211\n"
        "route add blackhole fd00:9::/64 dev lo metric 1024 table main proto 211\n";
    return f;
}

Fixture sysctlsOnly() {
    Fixture f{"sysctls", {}, {}, {}, {}};
    f.host.sysctls = {sysctl("net.ipv6.conf.all.forwarding", "1"),
                      sysctl("net.ipv4.ip_nonlocal_bind", "1"),
                      sysctl("net.ipv4.conf.default.rp_filter", "0")};
    f.sysctl =
        "net.ipv6.conf.all.forwarding = 1\n"
        "net.ipv4.ip_nonlocal_bind = 1\n"
        "net.ipv4.conf.default.rp_filter = 0\n";
    return f;
}

std::vector<Fixture> fixtures() {
    return {rulesV4(),       rulesV6(),        routesV4(),   routesV6(),
            mixedFamilies(), scenarioClient(), sysctlsOnly()};
}

}  // namespace

TEST_CASE("routes_text: the protocol tag is 211") {
    CHECK(unsigned{backends::kRoutingProtocol} == 211);
}

TEST_CASE("routes_text: rules, routes and sysctls render in ip/sysctl listing form") {
    for (const auto& f : fixtures()) {
        CAPTURE(f.name);
        CHECK(backends::renderRoutes(f.host, Family::V4) == f.routes4);
        CHECK(backends::renderRoutes(f.host, Family::V6) == f.routes6);
        CHECK(backends::renderSysctl(f.host) == f.sysctl);
    }
}

TEST_CASE("routes_text: a host without rules, routes or sysctls renders nothing") {
    Host host;
    host.interfaces = {iface("eth0", {"10.0.0.3/24"})};
    CHECK(backends::renderRoutes(host, Family::V4).empty());
    CHECK(backends::renderRoutes(host, Family::V6).empty());
    CHECK(backends::renderSysctl(host).empty());
}

// With POLICYC_ORACLE_DIR set, writes NAME.routes (V4) and NAME.routes6 (V6), each only when not
// empty, NAME.ifaces (NAME=ADDR/LEN,... per interface, for routes_oracle.py) and NAME.sysctl for
// tests/kernel/run_routes_fixture_oracle.sh.
POLICYC_FIXTURE_WRITER(routes) {
    for (const auto& f : fixtures()) {
        const std::filesystem::path base = dir / f.name;
        for (const auto& [family, ext] :
             {std::pair{Family::V4, ".routes"}, std::pair{Family::V6, ".routes6"}}) {
            const std::string text = backends::renderRoutes(f.host, family);
            if (!text.empty()) policyc::testing::writeFixtureFile(base.string() + ext, text);
        }
        policyc::testing::writeFixtureFile(base.string() + ".sysctl",
                                           backends::renderSysctl(f.host));
        std::string ifaces;
        for (const auto& i : f.host.interfaces) {
            ifaces += i.name + "=";
            for (size_t n = 0; n < i.addresses.size(); ++n)
                ifaces += (n ? "," : "") + i.addresses[n].str();
            ifaces += '\n';
        }
        policyc::testing::writeFixtureFile(base.string() + ".ifaces", ifaces);
    }
}
