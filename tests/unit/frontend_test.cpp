// SPDX-License-Identifier: GPL-2.0-or-later
// Front end: the re-print check over every sample and golden case, includes, definitions and
// located errors of the resolver.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "compiler/compile.h"
#include "compiler/ir_print.h"

using namespace policyc;
namespace fs = std::filesystem;

namespace {
std::vector<fs::path> policyFiles() {
    std::vector<fs::path> out;
    for (const char* dir : {"samples", "tests/golden/ok"})
        for (const auto& e : fs::directory_iterator(fs::path(POLICYC_SOURCE_DIR) / dir))
            if (e.path().extension() == ".pol") out.push_back(e.path());
    return out;
}
ir::Policy spelledOut(ir::Policy p) {
    for (auto& h : p.hosts)
        for (auto& t : h.tables)
            for (auto& c : t.chains) c.ownership = ir::ChainOwnership::Whole;
    return p;
}

}  // namespace

TEST_CASE("every sample and golden case re-prints to .pol that compiles to the same IR") {
    const auto files = policyFiles();
    REQUIRE(files.size() >= 6);
    for (const auto& path : files) {
        CAPTURE(path.string());
        SourceManager sources;
        Diagnostics diags;
        auto policy = compileFile(path.string(), sources, diags);
        REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
        const std::string printed = printPolicy(*policy);
        Diagnostics diags2;
        auto again = compileText(printed, "reprinted.pol", sources, diags2);
        REQUIRE_MESSAGE(again, renderText(diags2.sorted(), sources));
        // A printed policy spells every chain out, so it owns them whole (ChainOwnership).
        CHECK(*again == spelledOut(*policy));
        CHECK(printPolicy(*again) == printed);
    }
}

TEST_CASE("includes splice files in place, inside hosts and at file level") {
    const fs::path dir = fs::temp_directory_path() / "policyc-include-test";
    fs::create_directories(dir);
    std::ofstream(dir / "rules.pol")
        << "define ssh = 22\ntable filter { chain INPUT { tcp dport $ssh accept } }\n";
    std::ofstream(dir / "main.pol") << "host a {\n    include \"rules.pol\"\n}\n";
    std::ofstream(dir / "loop.pol") << "include \"loop.pol\"\n";
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileFile((dir / "main.pol").string(), sources, diags);
    REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
    const auto& chain = policy->hosts.at(0).tables.at(0).chains.at(0);
    REQUIRE(chain.rules.size() == 1);
    CHECK(std::get<ir::PortMatch>(chain.rules[0].matches[1]).ports[0].first == 22);
    CHECK(chain.rules[0].span.file != 0);
    CHECK(sources.path(chain.rules[0].span.file).ends_with("rules.pol"));

    Diagnostics loopDiags;
    CHECK_FALSE(compileFile((dir / "loop.pol").string(), sources, loopDiags));
    REQUIRE(loopDiags.sorted().size() == 1);
    CHECK(loopDiags.sorted()[0].code == Code::E105);
    CHECK(loopDiags.sorted()[0].span.line == 1);
    fs::remove_all(dir);
}

TEST_CASE("the resolver reports every error of a file with its location") {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(
        "define x = $y\n"
        "table filter { chain INPUT {\n"
        "  ip saddr 10.0.0.0/33 drop\n"
        "  udp dport 1-0 accept\n"
        "  mark set 0x100000000\n"
        "  ip saddr 10.0.0.1 reject with icmp6-adm-prohibited\n"
        "} }\n",
        "r.pol", sources, diags);
    CHECK_FALSE(policy);
    auto has = [&](uint32_t line, Code code) {
        for (const auto& d : diags.sorted())
            if (d.span.line == line && d.code == code) return true;
        return false;
    };
    CHECK(has(3, Code::E103));  // prefix /33
    CHECK(has(4, Code::E103));  // empty port range
    CHECK(has(5, Code::E103));  // mark over 32 bits
    CHECK(has(6, Code::E104));  // IPv4 address with an IPv6 reject type
}

TEST_CASE("an app generates both halves of the tunnel exclusion before its owner mark") {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(
        "tunnel t0 { kind vxlan; address 10.0.0.3/24; peer 10.0.0.1; remote 192.0.2.1 }\n"
        "app a { user 1000; via t0 }\n",
        "app.pol", sources, diags);
    REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
    const ir::Host& h = policy->hosts.at(0);
    const ir::Table* mangle = h.findTable(ir::TableFamily::Inet, "mangle");
    REQUIRE(mangle);
    // mangle OUTPUT only jumps to policyc's own chain, which a legacy apply owns (the kernel's
    // other rules in OUTPUT are kept); RETURN there leaves policyc's rules, not the hook.
    REQUIRE(mangle->chains.size() == 2);
    const auto& hook = mangle->chains.at(0);
    CHECK(hook.name == "OUTPUT");
    CHECK(hook.ownership == ir::ChainOwnership::Jumps);
    REQUIRE(hook.rules.size() == 1);
    CHECK(hook.rules[0].target == ir::Target{ir::Jump{"POLICYC-OUTPUT"}});
    const auto& out = mangle->chains.at(1);
    CHECK(out.name == "POLICYC-OUTPUT");
    REQUIRE(out.rules.size() == 2);
    CHECK(std::holds_alternative<ir::Return>(out.rules[0].target));  // outer packets first
    CHECK(std::holds_alternative<ir::SetMark>(out.rules[1].target));
    REQUIRE(h.routingRules.size() == 4);
    CHECK(h.routingRules[0].to == ir::Prefix::parse("192.0.2.1/32"));  // before the fwmark rule
    CHECK(h.routingRules[1].fwmark.has_value());
    CHECK(h.routingRules[2].iif == "t0");
    // by uid as well, after the exclusion (the tunnel's outer packets carry the same uid)
    CHECK(h.routingRules[3].uidrange == ir::NumRange{1000, 1000});
    CHECK(h.routingRules[0].priority < h.routingRules[1].priority);
    CHECK(h.routingRules[0].priority < h.routingRules[3].priority);
}

TEST_CASE("generated rules join a built-in chain the policy spells out through one jump") {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(
        "tunnel t0 { kind vxlan; address 10.0.0.3/24; peer 10.0.0.1; remote 192.0.2.1 }\n"
        "app a { user 1000; via t0 }\n"
        "table mangle { chain OUTPUT { oif eth9 mark set 0x7 } }\n",
        "mixed.pol", sources, diags);
    REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
    const ir::Table* mangle = policy->hosts.at(0).findTable(ir::TableFamily::Inet, "mangle");
    REQUIRE(mangle);
    const auto& hook = mangle->chains.at(0);
    CHECK(hook.ownership == ir::ChainOwnership::Whole);  // spelled out: the policy's whole
    REQUIRE(hook.rules.size() == 2);
    CHECK(hook.rules[0].target == ir::Target{ir::Jump{"POLICYC-OUTPUT"}});  // generated first
    CHECK(std::holds_alternative<ir::SetMark>(hook.rules[1].target));

    Diagnostics clash;
    CHECK_FALSE(compileText(
        "tunnel t0 { kind vxlan; address 10.0.0.3/24; peer 10.0.0.1; remote 192.0.2.1 }\n"
        "app a { user 1000; via t0 }\n"
        "table mangle {\n  chain POLICYC-OUTPUT { accept }\n}\n",
        "clash.pol", sources, clash));
    REQUIRE(clash.sorted().size() == 1);
    CHECK(clash.sorted()[0].code == Code::E102);
    CHECK(clash.sorted()[0].span.line == 4);
    CHECK(clash.sorted()[0].message.find("reserved") != std::string::npos);
}

TEST_CASE("@allow suppressions survive re-printing, though they never count in equality") {
    SourceManager sources;
    Diagnostics diags;
    const std::string path =
        std::string(POLICYC_SOURCE_DIR) + "/tests/golden/lint/allow_silences.pol";
    auto policy = compileFile(path, sources, diags);
    REQUIRE_MESSAGE(policy, renderText(diags.sorted(), sources));
    const ir::Rule& rule = policy->hosts.at(0).tables.at(0).chains.at(0).rules.at(1);
    REQUIRE(rule.allow.items.size() == 1);
    CHECK(rule.allow.items[0].code == "unreachable-rule");
    const std::string printed = printPolicy(*policy);
    CHECK(printed.find("@allow(unreachable-rule, \"kept for the audit trail") != std::string::npos);
    Diagnostics again;
    auto back = compileText(printed, "reprinted.pol", sources, again);
    REQUIRE(back);
    const ir::Rule& rule2 = back->hosts.at(0).tables.at(0).chains.at(0).rules.at(1);
    REQUIRE(rule2.allow.items.size() == 1);
    CHECK(rule2.allow.items[0].reason == rule.allow.items[0].reason);
}

TEST_CASE("findings without a source span order and de-duplicate by table, chain and rule") {
    Diagnostics diags;
    for (unsigned rule : {3u, 1u, 3u, 2u}) {
        diags.report(Code::W003, {}, "x").location = RuleLocation{"filter", "INPUT", rule};
    }
    diags.report(Code::W003, {}, "x").location = RuleLocation{"filter", "FORWARD", 9};
    const auto sorted = diags.sorted();
    REQUIRE(sorted.size() == 4);  // the second rule 3 is a duplicate
    CHECK(sorted[0].location->chain == "FORWARD");
    CHECK(sorted[1].location->rule == 1);
    CHECK(sorted[2].location->rule == 2);
    CHECK(sorted[3].location->rule == 3);
}
