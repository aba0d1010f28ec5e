// SPDX-License-Identifier: GPL-2.0-or-later
// What a legacy apply keeps of a live table: the chains the host does not declare.
#include "backends/ipt/ipt_ownership.h"

#include <doctest/doctest.h>

#include "backends/ipt/ipt_blob.h"
#include "backends/text/render.h"
#include "tests/unit/ipt_fixture_hosts.h"

using namespace policyc::testing::ipt_fixtures;
using namespace policyc::backends::ipt;

namespace {

std::vector<std::string> names(const Table& t) {
    std::vector<std::string> out;
    for (const auto& c : t.chains) out.push_back(c.name);
    return out;
}

}  // namespace

TEST_CASE("ipt ownership: declared chains are the host's, every other live chain is kept") {
    const Table live =
        table(TableFamily::Ip, "filter",
              {chain("INPUT", {rule({iif("eth0")}, Drop{})}, ChainPolicy::Drop),
               chain("FORWARD", {rule({}, Jump{"DOCKER"})}, ChainPolicy::Drop),
               chain("OUTPUT", {}, ChainPolicy::Accept), chain("DOCKER", {rule({}, Return{})}),
               chain("mine", {rule({}, Accept{})})});
    const Host h = host({table(
        TableFamily::Inet, "filter",
        {chain("INPUT", {rule({iif("lo")}, Accept{})}), chain("mine", {rule({}, Drop{})})})});
    const Table kept = foreignChains(h, Family::V4, live);
    // INPUT and mine are declared; OUTPUT is as the kernel makes it (nothing to keep).
    CHECK(names(kept) == std::vector<std::string>{"FORWARD", "DOCKER"});
    CHECK(kept.chains[0].policy == ChainPolicy::Drop);

    // Installed: the host's INPUT and mine, the live FORWARD (policy and jump) and DOCKER.
    const Host merged = withForeignChains(h, Family::V4, {live});
    const std::string text = policyc::backends::renderIptables(merged, Family::V4);
    CHECK(text.find(":FORWARD DROP") != std::string::npos);
    CHECK(text.find("-A FORWARD -j DOCKER") != std::string::npos);
    CHECK(text.find("-A DOCKER -j RETURN") != std::string::npos);
    CHECK(text.find("-A INPUT -i lo -j ACCEPT") != std::string::npos);
    CHECK(text.find("-i eth0") == std::string::npos);
    CHECK(text.find("-A mine -j DROP") != std::string::npos);
    CHECK(text.find("-A mine -j ACCEPT") == std::string::npos);
    policyc::Diagnostics diags;
    CHECK(encodeTable(merged, Family::V4, "filter", diags));

    // The IPv6 view of an inet host declares the same chains.
    const Table live6 = table(TableFamily::Ip6, "filter", {chain("mine", {rule({}, Accept{})})});
    CHECK(foreignChains(h, Family::V6, live6).chains.empty());
}

TEST_CASE(
    "ipt ownership: policyc's chains and its jumps are its own, other rules at the hook stay") {
    // Live: a foreign rule and an earlier apply's jump in mangle OUTPUT, that apply's chain, a
    // chain it left at PREROUTING, and another tool's chain.
    const Table live = table(
        TableFamily::Ip, "mangle",
        {chain("PREROUTING", {rule({}, Jump{"POLICYC-PREROUTING"})}, ChainPolicy::Accept),
         chain("OUTPUT",
               {rule({oif("eth9")}, SetMark{{0x7, 0xff}}), rule({}, Jump{"POLICYC-OUTPUT"})},
               ChainPolicy::Accept),
         chain("POLICYC-OUTPUT", {rule({uid(one(5))}, SetMark{kMark1})}),
         chain("POLICYC-PREROUTING", {rule({}, Accept{})}), chain("other", {rule({}, Return{})})});
    Chain hook = chain("OUTPUT", {rule({}, Jump{"POLICYC-OUTPUT"})});
    hook.ownership = ChainOwnership::Jumps;
    const Host h =
        host({table(TableFamily::Inet, "mangle",
                    {hook, chain("POLICYC-OUTPUT", {rule({uid(one(1000))}, SetMark{kMark1})})})});

    const Table kept = foreignChains(h, Family::V4, live);
    // OUTPUT keeps only its foreign rule; PREROUTING loses the stale jump and is then as the
    // kernel makes it; policyc's chains are never kept.
    REQUIRE(names(kept) == std::vector<std::string>{"OUTPUT", "other"});
    CHECK(kept.chains[0].rules == std::vector<Rule>{rule({oif("eth9")}, SetMark{{0x7, 0xff}})});

    const std::string text =
        policyc::backends::renderIptables(withForeignChains(h, Family::V4, {live}), Family::V4);
    CHECK(text ==
          "*mangle\n"
          ":PREROUTING ACCEPT [0:0]\n"
          ":INPUT ACCEPT [0:0]\n"
          ":FORWARD ACCEPT [0:0]\n"
          ":OUTPUT ACCEPT [0:0]\n"
          ":POSTROUTING ACCEPT [0:0]\n"
          ":POLICYC-OUTPUT - [0:0]\n"
          ":other - [0:0]\n"
          "-A OUTPUT -j POLICYC-OUTPUT\n"
          "-A OUTPUT -o eth9 -j MARK --set-xmark 0x7/0xff\n"
          "-A POLICYC-OUTPUT -m owner --uid-owner 1000 -j MARK --set-xmark 0x1/0xffffffff\n"
          "-A other -j RETURN\n"
          "COMMIT\n");

    // A built-in chain the policy spells out is its own whole, generated jump and all.
    Host whole = h;
    whole.tables[0].chains[0].ownership = ChainOwnership::Whole;
    CHECK(names(foreignChains(whole, Family::V4, live)) == std::vector<std::string>{"other"});
    CHECK(holdsGeneratedChains(live));
    CHECK_FALSE(holdsGeneratedChains(kept));
}
