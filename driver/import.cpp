// SPDX-License-Identifier: GPL-2.0-or-later
// Glue of the import verbs: the iptables-save reader, the canonical printer and the analyzer.
#include "driver/import.h"

#include <iostream>
#include <map>

#include "analyzer/checks.h"
#include "compiler/import_iptables.h"
#include "compiler/ir_print.h"

namespace policyc {
namespace {

std::optional<ir::Host> importHost(std::string_view from, std::string_view file,
                                   SourceManager& sources, Diagnostics& diags) {
    if (from == "iptables-save") return importIptablesSaveFile(file, sources, diags);
    diags.report(Code::E302, {},
                 "--from " + std::string(from) +
                     " is not available yet: this version reads "
                     "iptables-save only");
    return std::nullopt;
}

/// Where each imported rule (and chain) sits, by its line in the input file.
std::map<uint32_t, RuleLocation> locationsByLine(const ir::Host& host) {
    std::map<uint32_t, RuleLocation> out;
    for (const auto& t : host.tables) {
        for (const auto& c : t.chains) {
            out[c.span.line] = RuleLocation{t.name, c.name, 0};
            for (size_t i = 0; i < c.rules.size(); ++i)
                out[c.rules[i].span.line] =
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
    const auto where = locationsByLine(*host);
    for (const Diagnostic& d : found.items()) {
        Diagnostic& copy = diags.report(d.code, d.span, d.message);
        copy = d;
        if (copy.location || !copy.span.valid()) continue;
        if (auto it = where.find(copy.span.line); it != where.end()) copy.location = it->second;
    }
    ir::Policy policy;
    policy.hosts.push_back(std::move(*host));
    return policy;
}

}  // namespace policyc
