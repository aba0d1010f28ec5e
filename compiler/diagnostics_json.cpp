// SPDX-License-Identifier: GPL-2.0-or-later
// Machine-readable diagnostics: cli.md's JSON object and SARIF 2.1.0 (one reporting rule per
// code of diagnostic_codes.def, so rule indices are the codes' positions in that table).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compiler/diagnostics.h"

namespace policyc {

namespace {

// Keys in the order cli.md documents them; readers must not depend on it.
using Json = nlohmann::ordered_json;

/// Messages may quote source text that is not valid UTF-8; never throw on it.
std::string dump(const Json& j) {
    return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string_view codeName(Code c) { return codeInfo(c).name; }

void putPosition(Json& j, const SourceSpan& span, const SourceManager& sources) {
    if (!span.valid()) return;
    j["file"] = std::string(sources.path(span.file));
    j["line"] = span.line;
    if (span.column != 0) j["column"] = span.column;  // 0: the whole line (or file)
}

Json findingJson(const Diagnostic& d, const SourceManager& sources) {
    Json j = {
        {"code", codeName(d.code)}, {"severity", severityName(d.severity)}, {"message", d.message}};
    putPosition(j, d.span, sources);
    if (d.location) {
        if (!d.location->table.empty()) j["table"] = d.location->table;
        if (!d.location->chain.empty()) j["chain"] = d.location->chain;
        if (d.location->rule != 0) j["rule"] = d.location->rule;
    }
    if (!d.hint.empty()) j["hint"] = d.hint;
    if (!d.host.empty()) j["host"] = d.host;
    if (!d.notes.empty()) {
        Json notes = Json::array();
        for (const auto& n : d.notes) {
            Json note = {{"message", n.message}};
            putPosition(note, n.span, sources);
            notes.push_back(std::move(note));
        }
        j["notes"] = std::move(notes);
    }
    return j;
}

// ---------------------------------------------------------------------------------------------
// SARIF

constexpr std::string_view kSarifSchema =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// SARIF wants a URI reference: keep relative paths relative (viewers resolve them against the
/// checkout), make absolute ones file:// URIs, and percent-encode everything but unreserved
/// characters and '/'.
std::string fileUri(std::string_view path) {
    std::ostringstream out;
    if (!path.empty() && path.front() == '/') out << "file://";
    for (const unsigned char c : path) {
        const bool plain =
            std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
        if (plain && c < 0x80)
            out << c;
        else
            out << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0') << int{c}
                << std::nouppercase << std::dec;
    }
    return out.str();
}

/// Our columns count bytes; the run declares unicodeCodePoints, so count the code points that
/// start within the first `byteColumn` bytes of the line (UTF-8 continuation bytes do not).
uint32_t codePointColumn(const SourceManager& sources, uint32_t file, uint32_t line,
                         uint32_t byteColumn) {
    const std::string_view text = sources.lineText(file, line);
    if (text.empty()) return byteColumn;
    uint32_t column = 0;
    for (uint32_t i = 0; i < byteColumn; ++i) {
        if (i >= text.size()) return column + (byteColumn - i);
        if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) ++column;
    }
    return column;
}

Json regionJson(const SourceSpan& span, const SourceManager& sources) {
    Json region = {{"startLine", span.line}};
    if (span.column == 0) return region;
    region["startColumn"] = codePointColumn(sources, span.file, span.line, span.column);
    if (span.endLine < span.line || span.endColumn == 0) return region;
    region["endLine"] = span.endLine;
    // Ours is inclusive (the last byte), SARIF's exclusive: one past the last code point.
    region["endColumn"] = codePointColumn(sources, span.file, span.endLine, span.endColumn) + 1;
    return region;
}

Json physicalLocation(const SourceSpan& span, const SourceManager& sources) {
    return {{"artifactLocation", {{"uri", fileUri(sources.path(span.file))}}},
            {"region", regionJson(span, sources)}};
}

/// Same spelling as the text renderer: TABLE/CHAIN#RULE.
std::string ruleLocationName(const RuleLocation& loc) {
    std::string name = loc.table + "/" + loc.chain;
    if (loc.rule != 0) name += "#" + std::to_string(loc.rule);
    return name;
}

Json primaryLocation(const Diagnostic& d, const SourceManager& sources) {
    Json location = Json::object();
    if (d.span.valid()) location["physicalLocation"] = physicalLocation(d.span, sources);
    if (d.location) {
        Json logical = Json::object();
        logical["name"] =
            d.location->rule ? "#" + std::to_string(d.location->rule) : d.location->chain;
        logical["fullyQualifiedName"] = ruleLocationName(*d.location);
        location["logicalLocations"] = Json::array();
        location["logicalLocations"].push_back(std::move(logical));
    }
    return location;
}

/// FNV-1a 64: stable across runs and platforms, unlike std::hash.
std::string fingerprint(const Diagnostic& d, const SourceManager& sources) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    auto mix = [&hash](std::string_view part) {
        for (const unsigned char c : part) {
            hash ^= c;
            hash *= 0x100000001b3ULL;
        }
        hash ^= 0xff;  // field separator, so ("ab", "c") differs from ("a", "bc")
        hash *= 0x100000001b3ULL;
    };
    // No line, column or rule number: the finding keeps its identity when things move.
    mix(codeName(d.code));
    mix(d.host);
    mix(d.message);
    mix(d.span.valid() ? sources.path(d.span.file) : std::string_view{});
    mix(d.location ? d.location->table : std::string{});
    mix(d.location ? d.location->chain : std::string{});
    std::ostringstream out;
    out << std::hex << std::setw(16) << std::setfill('0') << hash;
    return out.str();
}

Json resultJson(const Diagnostic& d, const SourceManager& sources) {
    Json j = {{"ruleId", codeName(d.code)},
              {"ruleIndex", static_cast<size_t>(d.code)},
              {"level", severityName(d.severity)},
              {"message", {{"text", d.message}}}};
    if (d.span.valid() || d.location) j["locations"] = Json::array({primaryLocation(d, sources)});
    if (!d.notes.empty()) {
        Json related = Json::array();
        for (size_t i = 0; i < d.notes.size(); ++i) {
            const auto& n = d.notes[i];
            Json loc = {{"id", i + 1}, {"message", {{"text", n.message}}}};
            if (n.span.valid()) loc["physicalLocation"] = physicalLocation(n.span, sources);
            related.push_back(std::move(loc));
        }
        j["relatedLocations"] = std::move(related);
    }
    j["partialFingerprints"] = {{"policycFinding/v1", fingerprint(d, sources)}};
    Json properties = Json::object();
    if (!d.host.empty()) properties["host"] = d.host;
    if (!d.hint.empty()) properties["hint"] = d.hint;
    if (!properties.empty()) j["properties"] = std::move(properties);
    return j;
}

Json rulesJson() {
    Json rules = Json::array();
    for (const auto& info : allCodes()) {
        rules.push_back({{"id", info.name},
                         {"shortDescription", {{"text", info.summary}}},
                         {"defaultConfiguration", {{"level", severityName(info.severity)}}},
                         {"properties", {{"code", info.id}}}});
    }
    return rules;
}

}  // namespace

std::string renderJson(const std::vector<Diagnostic>& diags, const SourceManager& sources) {
    Json findings = Json::array();
    for (const auto& d : diags) findings.push_back(findingJson(d, sources));
    Json summary = Json::object();
    for (const Severity s : {Severity::Error, Severity::Warning, Severity::Note}) {
        summary[std::string(severityName(s))] = std::count_if(
            diags.begin(), diags.end(), [s](const auto& d) { return d.severity == s; });
    }
    return dump({{"findings", std::move(findings)}, {"summary", std::move(summary)}});
}

std::string renderSarif(const std::vector<Diagnostic>& diags, const SourceManager& sources) {
    Json results = Json::array();
    for (const auto& d : diags) results.push_back(resultJson(d, sources));
    Json run = {{"tool", {{"driver", {{"name", "policyc"}, {"rules", rulesJson()}}}}},
                {"columnKind", "unicodeCodePoints"},
                {"results", std::move(results)}};
    return dump({{"$schema", kSarifSchema}, {"version", "2.1.0"}, {"runs", Json::array({run})}});
}

}  // namespace policyc
