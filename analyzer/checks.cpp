// SPDX-License-Identifier: GPL-2.0-or-later
// The order checks run in; findings are sorted by location afterwards anyway.
#include "analyzer/checks.h"

namespace policyc::analyzer {

void runChecks(const ir::Host& host, Diagnostics& diags) {
    checkKernelValidity(host, diags);
    checkHygiene(host, diags);
    checkShadowing(host, diags);
    checkRouting(host, diags);
}

void applySuppressions(const ir::Policy& policy, Diagnostics& diags) {
    struct Silenced {
        std::string_view code;
        SourceSpan rule;
    };
    std::vector<Silenced> silenced;
    for (const auto& h : policy.hosts)
        for (const auto& t : h.tables)
            for (const auto& c : t.chains)
                for (const auto& r : c.rules)
                    for (const auto& a : r.allow.items) silenced.push_back({a.code, r.span});
    if (silenced.empty()) return;
    diags.remove([&](const Diagnostic& d) {
        if (!d.span.valid()) return false;
        for (const auto& s : silenced) {
            if (codeInfo(d.code).name == s.code && d.span.file == s.rule.file &&
                d.span.line >= s.rule.line && d.span.line <= s.rule.endLine)
                return true;
        }
        return false;
    });
}

}  // namespace policyc::analyzer
