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
