// SPDX-License-Identifier: GPL-2.0-or-later
// The nft layout of a host's chains: a built-in chain that only jumps to policyc's generated
// chain holds that chain's rules itself, and nothing else is folded.
#include "backends/text/nft_layout.h"

#include <doctest/doctest.h>

#include "tests/unit/ipt_fixture_hosts.h"

using namespace policyc::testing::ipt_fixtures;
using policyc::backends::nft::nftLayout;

namespace {

std::vector<std::string> names(const Table& t) {
    std::vector<std::string> out;
    for (const auto& c : t.chains) out.push_back(c.name);
    return out;
}

const Rule kMarkUid = rule({uid(one(1000))}, SetMark{kMark1});
const Rule kSkipTunnel = rule({dst({net("192.0.2.1/32")})}, Return{});

}  // namespace

TEST_CASE("nft layout: a built-in chain only jumping to a generated chain takes its rules") {
    Chain hook = chain("OUTPUT", {rule({}, Jump{"POLICYC-OUTPUT"})});
    hook.ownership = ChainOwnership::Jumps;
    const Table t = table(TableFamily::Inet, "mangle",
                          {hook, chain("POLICYC-OUTPUT", {kSkipTunnel, kMarkUid})});
    const Table laid = nftLayout(t);
    REQUIRE(names(laid) == std::vector<std::string>{"OUTPUT"});
    CHECK(laid.chains[0].rules == std::vector<Rule>{kSkipTunnel, kMarkUid});
    CHECK(laid.chains[0].ownership == ChainOwnership::Whole);
}

TEST_CASE("nft layout: nothing is folded where the jump's return would differ or is not ours") {
    SUBCASE("the built-in chain has rules of its own after the jump") {
        const Table t = table(
            TableFamily::Inet, "mangle",
            {chain("OUTPUT", {rule({}, Jump{"POLICYC-OUTPUT"}), rule({oif("eth0")}, Accept{})}),
             chain("POLICYC-OUTPUT", {kSkipTunnel})});
        CHECK(nftLayout(t) == table(TableFamily::Inet, "mangle", t.chains));
    }
    SUBCASE("the jump is conditional") {
        const Table t = table(TableFamily::Inet, "mangle",
                              {chain("OUTPUT", {rule({oif("eth0")}, Jump{"POLICYC-OUTPUT"})}),
                               chain("POLICYC-OUTPUT", {kSkipTunnel})});
        CHECK(names(nftLayout(t)) == std::vector<std::string>{"OUTPUT", "POLICYC-OUTPUT"});
    }
    SUBCASE("a user chain of the policy's own") {
        const Table t =
            table(TableFamily::Inet, "filter",
                  {chain("INPUT", {rule({}, Jump{"mine"})}), chain("mine", {kSkipTunnel})});
        CHECK(names(nftLayout(t)) == std::vector<std::string>{"INPUT", "mine"});
    }
    SUBCASE("another rule also jumps to the generated chain") {
        const Table t = table(TableFamily::Inet, "filter",
                              {chain("INPUT", {rule({}, Jump{"POLICYC-INPUT"})}),
                               chain("mine", {rule({}, Goto{"POLICYC-INPUT"})}),
                               chain("POLICYC-INPUT", {kSkipTunnel})});
        CHECK(names(nftLayout(t)) == std::vector<std::string>{"INPUT", "mine", "POLICYC-INPUT"});
    }
}
