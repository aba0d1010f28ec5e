// SPDX-License-Identifier: GPL-2.0-or-later
#include "compiler/ir.h"

#include <doctest/doctest.h>

using namespace policyc::ir;

TEST_CASE("addresses parse and print in canonical form") {
    CHECK(IpAddr::parse("10.0.0.3")->str() == "10.0.0.3");
    CHECK(IpAddr::parse("2001:db8:0::1")->str() == "2001:db8::1");
    CHECK_FALSE(IpAddr::parse("10.0.0.256"));
    CHECK_FALSE(IpAddr::parse("fe80::1::2"));
    auto p = Prefix::parse("10.0.0.7/24");
    REQUIRE(p);
    CHECK(p->network().str() == "10.0.0.0/24");
    CHECK(p->contains(*IpAddr::parse("10.0.0.200")));
    CHECK_FALSE(p->contains(*IpAddr::parse("10.0.1.1")));
    CHECK(Prefix::parse("::/0")->length == 0);
    CHECK_FALSE(Prefix::parse("10.0.0.0/33"));
    CHECK(Prefix::parse("1.2.3.4")->isHost());
}

TEST_CASE("spans never take part in equality") {
    Rule a, b;
    a.target = Accept{};
    b.target = Accept{};
    a.span = {1, 2, 3, 2, 9};
    b.span = {2, 7, 1, 7, 4};
    CHECK(a == b);
    b.target = Drop{};
    CHECK_FALSE(a == b);
}

TEST_CASE("a rule's family comes from its addresses, icmp and nat targets") {
    Rule r;
    CHECK_FALSE(ruleFamily(r));
    r.matches.push_back(AddrMatch{Direction::Source, false, {*Prefix::parse("fd00::/8")}});
    CHECK(ruleFamily(r) == Family::V6);
    Rule n;
    n.target = Nat{Nat::Kind::Snat, IpAddr::parse("10.0.0.3"), {}, {}};
    CHECK(ruleFamily(n) == Family::V4);
}
