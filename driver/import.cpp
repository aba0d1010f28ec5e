// SPDX-License-Identifier: GPL-2.0-or-later
// Glue of the import verbs: the iptables-save and nft JSON readers, the canonical printer and
// the analyzer.
#include "driver/import.h"

#include <iostream>
#include <map>

#include "analyzer/checks.h"
#include "compiler/import_iptables.h"
#include "compiler/import_nft_json.h"
#include "compiler/ir_print.h"

namespace policyc {
namespace {

std::optional<ir::Host> importHost(std::string_view from, std::string_view file,
                                   SourceManager& sources, Diagnostics& diags) {
    if (from == "iptables-save") return importIptablesSaveFile(file, sources, diags);
    if (from == "nft-json") return importNftJsonFile(file, sources, diags);
    diags.report(Code::E302, {},
                 "--from " + std::string(from) +
                     " is not available: this version reads iptables-save and nft-json");
    return std::nullopt;
}

using Position = std::pair<uint32_t, uint32_t>;  // line, column

/// Where each imported rule (and chain) sits, by its position in the input file: a line is
/// enough for iptables-save, but `nft -j` prints the whole rule set on one line.
std::map<Position, RuleLocation> locationsByPosition(const ir::Host& host) {
    std::map<Position, RuleLocation> out;
    for (const auto& t : host.tables) {
        for (const auto& c : t.chains) {
            out[{c.span.line, c.span.column}] = RuleLocation{t.name, c.name, 0};
            for (size_t i = 0; i < c.rules.size(); ++i)
                out[{c.rules[i].span.line, c.rules[i].span.column}] =
                    RuleLocation{t.name, c.name, static_cast<unsigned>(i + 1)};
        }
    }
    return out;
}

}  // namespace

int runImport(std::string_view from, std::string_view file) {
    SourceManager sources;
    Diagnostics diags;
    auto host = importHost(from, file, sources, diags);
    std::cerr << renderText(diags.sorted(), sources);
    if (!host || diags.hasErrors()) return 2;
    std::cout << printHost(*host);
    return 0;
}

std::optional<ir::Policy> importAndCheck(std::string_view from, std::string_view file,
                                         SourceManager& sources, Diagnostics& diags) {
    auto host = importHost(from, file, sources, diags);
    if (!host) return std::nullopt;
    Diagnostics found;
    analyzer::runChecks(*host, found);
    const auto where = locationsByPosition(*host);
    for (const Diagnostic& d : found.items()) {
        Diagnostic& copy = diags.report(d.code, d.span, d.message);
        copy = d;
        if (copy.location || !copy.span.valid()) continue;
        if (auto it = where.find({copy.span.line, copy.span.column}); it != where.end()) {
            copy.location = it->second;
            continue;
        }
        // a finding that points into a rule rather than at its start: the line's only rule
        auto first = where.lower_bound({copy.span.line, 0});
        auto next = first == where.end() ? first : std::next(first);
        if (first != where.end() && first->first.first == copy.span.line &&
            (next == where.end() || next->first.first != copy.span.line))
            copy.location = first->second;
    }
    ir::Policy policy;
    policy.hosts.push_back(std::move(*host));
    return policy;
}

}  // namespace policyc
