// SPDX-License-Identifier: GPL-2.0-or-later
// The diagnostics engine and its text renderer (JSON and SARIF live in diagnostics_json.cpp).
#include "compiler/diagnostics.h"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace policyc {

std::string_view severityName(Severity s) {
    switch (s) {
        case Severity::Note:
            return "note";
        case Severity::Warning:
            return "warning";
        case Severity::Error:
            return "error";
    }
    return "error";
}

const std::vector<CodeInfo>& allCodes() {
    static const std::vector<CodeInfo> kCodes = {
#define POLICYC_DIAG(id, name, severity, summary) \
    {Code::id, #id, name, Severity::severity, summary},
#include "compiler/diagnostic_codes.def"
#undef POLICYC_DIAG
    };
    return kCodes;
}

const CodeInfo& codeInfo(Code c) { return allCodes().at(static_cast<size_t>(c)); }

std::optional<Code> codeByName(std::string_view name) {
    for (const auto& info : allCodes())
        if (info.name == name || info.id == name) return info.code;
    return std::nullopt;
}

Diagnostic& Diagnostics::report(Code code, SourceSpan span, std::string message) {
    Diagnostic d;
    d.code = code;
    d.severity = codeInfo(code).severity;
    d.span = span;
    d.message = std::move(message);
    d.host = host_;
    items_.push_back(std::move(d));
    return items_.back();
}

bool Diagnostics::hasErrors() const { return count(Severity::Error) > 0; }

size_t Diagnostics::count(Severity s) const {
    return static_cast<size_t>(std::count_if(items_.begin(), items_.end(),
                                             [s](const auto& d) { return d.severity == s; }));
}

namespace {
const RuleLocation& locationOf(const Diagnostic& d) {
    static const RuleLocation kNone;
    return d.location ? *d.location : kNone;
}

/// References into `d` (and the static kNone): never into a temporary.
auto orderKey(const Diagnostic& d) {
    const RuleLocation& loc = locationOf(d);
    return std::tie(d.host, d.span.file, d.span.line, d.span.column, d.code, loc.table, loc.chain,
                    loc.rule, d.message);
}
}  // namespace

std::vector<Diagnostic> Diagnostics::sorted() const {
    std::vector<Diagnostic> out = items_;
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return orderKey(a) < orderKey(b); });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const auto& a, const auto& b) { return orderKey(a) == orderKey(b); }),
              out.end());
    return out;
}

namespace {

void renderLocation(std::ostringstream& out, const SourceSpan& span,
                    const std::optional<RuleLocation>& loc, const SourceManager& sources) {
    if (span.valid()) {
        out << sources.path(span.file) << ':' << span.line << ':' << span.column << ": ";
    } else if (loc) {
        out << loc->table << '/' << loc->chain;
        if (loc->rule) out << '#' << loc->rule;
        out << ": ";
    } else {
        out << "policyc: ";
    }
}

/// The quoted source line and a caret under the span (tildes for the rest of it on that line).
void renderCaret(std::ostringstream& out, const SourceSpan& span, const SourceManager& sources) {
    if (!span.valid()) return;
    std::string_view line = sources.lineText(span.file, span.line);
    if (line.empty()) return;
    const std::string number = std::to_string(span.line);
    out << ' ' << number << " | " << line << '\n';
    out << ' ' << std::string(number.size(), ' ') << " | ";
    for (uint32_t c = 1; c < span.column && c <= line.size(); ++c)
        out << (line[c - 1] == '\t' ? '\t' : ' ');
    out << '^';
    if (span.endLine == span.line && span.endColumn > span.column) {
        const uint32_t end = std::min<uint32_t>(span.endColumn, static_cast<uint32_t>(line.size()));
        if (end > span.column) out << std::string(end - span.column, '~');
    }
    out << '\n';
}

}  // namespace

std::string renderText(const std::vector<Diagnostic>& diags, const SourceManager& sources) {
    std::ostringstream out;
    for (const auto& d : diags) {
        renderLocation(out, d.span, d.location, sources);
        out << severityName(d.severity) << ": ";
        if (!d.host.empty() && !d.span.valid()) out << "host '" << d.host << "': ";
        out << d.message << " [" << codeInfo(d.code).name << "]\n";
        renderCaret(out, d.span, sources);
        for (const auto& n : d.notes) {
            renderLocation(out, n.span, std::nullopt, sources);
            out << "note: " << n.message << '\n';
            renderCaret(out, n.span, sources);
        }
        if (!d.hint.empty()) out << "  hint: " << d.hint << '\n';
    }
    return out.str();
}

}  // namespace policyc
