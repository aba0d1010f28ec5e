// SPDX-License-Identifier: GPL-2.0-or-later
// What apply saves for --rollback reads back as it was written: hex, nft objects as messages,
// and malformed states are errors, not steps.
#include "backends/saved_state.h"

#include <doctest/doctest.h>

#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_linearize.h"
#include "compiler/compile.h"

using namespace policyc;
using namespace policyc::backends;

TEST_CASE("saved state: hex round trip and refusals") {
    const std::vector<uint8_t> bytes{0x00, 0x7f, 0x80, 0xff, 0x0a};
    CHECK(toHex(bytes) == "007f80ff0a");
    CHECK(fromHex("007f80ff0a") == bytes);
    CHECK_FALSE(fromHex("abc"));
    CHECK_FALSE(fromHex("zz"));
    CHECK_FALSE(fromHex("AB"));  // toHex writes lower case only
}

TEST_CASE("saved state: nft objects survive message form byte for byte") {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(
        "table filter { chain INPUT policy drop {\n"
        "  tcp dport { 22, 80, 8000-8080 } ip saddr { 10.0.0.0/8 } accept\n"
        "  mark 0x1 drop\n} }\n",
        "saved.pol", sources, diags);
    REQUIRE(policy);
    const auto ruleset = nft::linearize(policy->hosts.at(0));
    REQUIRE(ruleset.errors.empty());
    size_t sets = 0;
    for (const auto& o : ruleset.objects) {
        CAPTURE(static_cast<int>(o.kind));
        const auto msg = nft::objectMessage(o);
        auto back = nft::objectFromMessage(msg, o.family);
        REQUIRE(back);
        CHECK(back->kind == o.kind);
        // A set's chain only names it in error messages; a message does not carry it.
        if (o.kind != nft::NftObject::Kind::Set) CHECK(back->chainName == o.chainName);
        if (o.kind == nft::NftObject::Kind::Set) {
            ++sets;
            const auto elements = nft::setElements(o);
            REQUIRE(elements);
            CHECK_FALSE(elements->empty());
            nft::addSetElements(*back, *elements);
            const auto again = nft::setElements(*back);
            REQUIRE(again);
            REQUIRE(again->size() == elements->size());
            for (size_t i = 0; i < again->size(); ++i) {
                CHECK((*again)[i].key == (*elements)[i].key);
                CHECK((*again)[i].flags == (*elements)[i].flags);
            }
        }
        CHECK(nft::objectMessage(*back) == msg);
    }
    CHECK(sets == 1);  // the ports, an interval set (a single prefix needs none)
    CHECK_FALSE(nft::objectFromMessage({1, 2, 3}, 1));
}

TEST_CASE("saved state: a malformed state is an error, not steps") {
    std::string error;
    CHECK_FALSE(restoreSteps(nlohmann::json::object(), error));
    CHECK(error.find("not a list") != std::string::npos);
    CHECK_FALSE(restoreSteps(nlohmann::json::parse(R"([{"kind": "iptables"}])"), error));
    CHECK(error.find("malformed") != std::string::npos);
    CHECK_FALSE(restoreSteps(nlohmann::json::parse(R"([{"kind": "nftables", "families": [1],
                                   "objects": [{"family": 1, "msg": "0102"}]}])"),
                             error));
    CHECK(error.find("cannot be read back") != std::string::npos);
    auto none = restoreSteps(nlohmann::json::array(), error);
    REQUIRE(none);
    CHECK(none->empty());
}
