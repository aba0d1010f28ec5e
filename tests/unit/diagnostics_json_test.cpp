// SPDX-License-Identifier: GPL-2.0-or-later
// Diagnostics as cli.md's JSON object and as SARIF 2.1.0: the output is parsed back and its
// shape checked key by key.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "compiler/diagnostics.h"

using namespace policyc;
using nlohmann::json;

namespace {

struct Sample {
    SourceManager sources;
    uint32_t file = 0;
    std::vector<Diagnostic> diags;

    Sample() {
        // Line 2 has a two-byte character before the span: byte column 9 is code point 8.
        file = sources.add("site.pol", "host client {\n  # é\tmark owner 1000\n}\n");
        Diagnostics engine;
        engine.setHost("client");
        auto& snat = engine.report(Code::W006, {file, 2, 9, 2, 12}, "packets keep their source");
        snat.hint = "add snat to 10.0.0.3";
        snat.notes.push_back({{file, 1, 1, 1, 4}, "rerouted here"});
        snat.notes.push_back({{}, "a note without a place"});
        engine.setHost("");
        auto& live = engine.report(Code::W003, {}, "rule after a terminal verdict");
        live.location = RuleLocation{"filter", "INPUT", 3};
        engine.report(Code::E001, {file, 3, 1, 3, 1}, "unexpected '}'");
        diags = engine.sorted();
    }

    const Diagnostic& byCode(Code c) const {
        for (const auto& d : diags)
            if (d.code == c) return d;
        FAIL("no such diagnostic");
        return diags.front();
    }
};

const json* findByCode(const json& array, const char* key, std::string_view code) {
    for (const auto& item : array)
        if (item.at(key) == code) return &item;
    return nullptr;
}

}  // namespace

TEST_CASE("diagnostics_json: cli.md's findings object") {
    Sample s;
    const json j = json::parse(renderJson(s.diags, s.sources));
    REQUIRE(j["findings"].size() == 3);
    CHECK(j["summary"] == json{{"error", 1}, {"warning", 2}, {"note", 0}});

    const json* snat = findByCode(j["findings"], "code", "missing-snat");
    REQUIRE(snat);
    CHECK(*snat ==
          json{{"code", "missing-snat"},
               {"severity", "warning"},
               {"message", "packets keep their source"},
               {"file", "site.pol"},
               {"line", 2},
               {"column", 9},
               {"hint", "add snat to 10.0.0.3"},
               {"host", "client"},
               {"notes",
                {{{"message", "rerouted here"}, {"file", "site.pol"}, {"line", 1}, {"column", 1}},
                 {{"message", "a note without a place"}}}}});

    const json* live = findByCode(j["findings"], "code", "unreachable-rule");
    REQUIRE(live);
    CHECK(*live == json{{"code", "unreachable-rule"},
                        {"severity", "warning"},
                        {"message", "rule after a terminal verdict"},
                        {"table", "filter"},
                        {"chain", "INPUT"},
                        {"rule", 3}});

    const json* syntax = findByCode(j["findings"], "code", "syntax-error");
    REQUIRE(syntax);
    for (const char* absent : {"table", "chain", "rule", "hint", "host", "notes"}) {
        CAPTURE(absent);
        CHECK_FALSE(syntax->contains(absent));
    }
}

TEST_CASE("diagnostics_json: no findings still prints the summary") {
    const SourceManager none;
    const json j = json::parse(renderJson({}, none));
    CHECK(j == json{{"findings", json::array()},
                    {"summary", {{"error", 0}, {"warning", 0}, {"note", 0}}}});
}

TEST_CASE("diagnostics_json: SARIF log, run and one reporting rule per code") {
    Sample s;
    const json log = json::parse(renderSarif(s.diags, s.sources));
    CHECK(log["version"] == "2.1.0");
    CHECK(log["$schema"].get<std::string>().find("sarif-schema-2.1.0.json") != std::string::npos);
    REQUIRE(log["runs"].size() == 1);
    const json& run = log["runs"][0];
    CHECK(run["columnKind"] == "unicodeCodePoints");
    CHECK(run["tool"]["driver"]["name"] == "policyc");
    const json& rules = run["tool"]["driver"]["rules"];
    REQUIRE(rules.size() == allCodes().size());
    for (size_t i = 0; i < rules.size(); ++i) {
        const CodeInfo& info = allCodes()[i];
        CAPTURE(info.name);
        CHECK(rules[i]["id"] == info.name);
        CHECK(rules[i]["shortDescription"]["text"] == info.summary);
        CHECK(rules[i]["defaultConfiguration"]["level"] == severityName(info.severity));
    }
    CHECK(rules[static_cast<size_t>(Code::W005)]["defaultConfiguration"]["level"] == "error");

    REQUIRE(run["results"].size() == 3);
    for (const auto& result : run["results"]) {
        CAPTURE(result.dump());
        CHECK(rules[result["ruleIndex"].get<size_t>()]["id"] == result["ruleId"]);
        CHECK(result["partialFingerprints"].size() == 1);
    }
}

TEST_CASE("diagnostics_json: SARIF results, regions in code points, related and logical places") {
    Sample s;
    const json results = json::parse(renderSarif(s.diags, s.sources))["runs"][0]["results"];

    const json* snat = findByCode(results, "ruleId", "missing-snat");
    REQUIRE(snat);
    CHECK((*snat)["level"] == "warning");
    CHECK((*snat)["message"]["text"] == "packets keep their source");
    const json& physical = (*snat)["locations"][0]["physicalLocation"];
    CHECK(physical["artifactLocation"]["uri"] == "site.pol");
    // Bytes 9..12 inclusive follow the two-byte 'é': code points 8..11, exclusive end 12.
    CHECK(physical["region"] ==
          json{{"startLine", 2}, {"startColumn", 8}, {"endLine", 2}, {"endColumn", 12}});
    REQUIRE((*snat)["relatedLocations"].size() == 2);
    CHECK((*snat)["relatedLocations"][0]["message"]["text"] == "rerouted here");
    CHECK((*snat)["relatedLocations"][0]["physicalLocation"]["region"] ==
          json{{"startLine", 1}, {"startColumn", 1}, {"endLine", 1}, {"endColumn", 5}});
    CHECK_FALSE((*snat)["relatedLocations"][1].contains("physicalLocation"));
    CHECK((*snat)["properties"] == json{{"host", "client"}, {"hint", "add snat to 10.0.0.3"}});

    const json* live = findByCode(results, "ruleId", "unreachable-rule");
    REQUIRE(live);
    const json& location = (*live)["locations"][0];
    CHECK_FALSE(location.contains("physicalLocation"));
    CHECK(location["logicalLocations"][0]["fullyQualifiedName"] == "filter/INPUT#3");

    const json* syntax = findByCode(results, "ruleId", "syntax-error");
    REQUIRE(syntax);
    CHECK((*syntax)["level"] == "error");
    CHECK_FALSE(syntax->contains("relatedLocations"));
    CHECK_FALSE(syntax->contains("properties"));
}

TEST_CASE("diagnostics_json: fingerprints ignore lines but not code, host or message") {
    Sample s;
    auto fingerprintOf = [&s](const Diagnostic& d) {
        const json log = json::parse(renderSarif({d}, s.sources));
        return log["runs"][0]["results"][0]["partialFingerprints"].begin().value();
    };
    const Diagnostic base = s.byCode(Code::W006);
    Diagnostic moved = base;
    moved.span.line = 40;
    moved.span.endLine = 40;
    CHECK(fingerprintOf(moved) == fingerprintOf(base));
    Diagnostic reworded = base;
    reworded.message += "!";
    CHECK(fingerprintOf(reworded) != fingerprintOf(base));
    Diagnostic otherHost = base;
    otherHost.host = "server";
    CHECK(fingerprintOf(otherHost) != fingerprintOf(base));
    Diagnostic otherCode = base;
    otherCode.code = Code::W009;
    CHECK(fingerprintOf(otherCode) != fingerprintOf(base));
}

TEST_CASE("diagnostics_json: odd paths and bytes stay valid JSON and URIs") {
    SourceManager sources;
    const uint32_t file = sources.add("/srv/my policy#1.pol", "x\n");
    Diagnostics engine;
    engine.report(Code::E001, {file, 1, 1, 1, 1}, std::string("bad byte \xff here"));
    const auto diags = engine.sorted();
    const json j = json::parse(renderJson(diags, sources));
    engine.report(Code::E002, {file, 1, 0, 0, 0}, "a whole-file problem");
    const json all = json::parse(renderJson(engine.sorted(), sources));
    const json* whole = findByCode(all["findings"], "code", "unreadable-input");
    REQUIRE(whole);
    CHECK((*whole)["line"] == 1);
    CHECK_FALSE(whole->contains("column"));
    const json log = json::parse(renderSarif(engine.sorted(), sources));
    const json* result = findByCode(log["runs"][0]["results"], "ruleId", "unreadable-input");
    REQUIRE(result);
    CHECK((*result)["locations"][0]["physicalLocation"]["region"] == json{{"startLine", 1}});
    CHECK(j["findings"][0]["file"] == "/srv/my policy#1.pol");
    CHECK(j["findings"][0]["message"] == "bad byte \xEF\xBF\xBD here");
    const json sarif = json::parse(renderSarif(diags, sources));
    CHECK(sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
               ["uri"] == "file:///srv/my%20policy%231.pol");
}
