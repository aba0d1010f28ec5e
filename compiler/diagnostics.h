// SPDX-License-Identifier: GPL-2.0-or-later
// Diagnostics are values: every stage reports into one engine passed explicitly; the driver
// renders them as text (gcc style, with the source line and a caret), JSON or SARIF 2.1.0.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/source.h"

namespace policyc {

enum class Severity : uint8_t { Note, Warning, Error };
std::string_view severityName(Severity s);

/// Every code policyc can raise, from one table (diagnostic_codes.def).
enum class Code : uint16_t {
#define POLICYC_DIAG(id, name, severity, summary) id,
#include "compiler/diagnostic_codes.def"
#undef POLICYC_DIAG
};

struct CodeInfo {
    Code code;
    std::string_view id;       // "E001"
    std::string_view name;     // "syntax-error": the stable name printed in brackets
    Severity severity;         // default severity
    std::string_view summary;  // one line, for SARIF rules and docs
};
const CodeInfo& codeInfo(Code c);
const std::vector<CodeInfo>& allCodes();
std::optional<Code> codeByName(std::string_view name);

struct DiagNote {
    SourceSpan span;
    std::string message;
};

/// Where a finding on imported or live rules sits, when there is no source span.
struct RuleLocation {
    std::string table;
    std::string chain;
    unsigned rule = 0;  // 1-based position in the chain; 0 = the chain itself
};

struct Diagnostic {
    Code code{};
    Severity severity = Severity::Error;
    SourceSpan span;
    std::string message;
    std::optional<RuleLocation> location;
    std::string host;  // host the finding belongs to, when the file has several
    std::vector<DiagNote> notes;
    std::string hint;
};

class Diagnostics {
  public:
    /// Records a diagnostic with the code's default severity; chain `.note()`/`.hint` on it.
    Diagnostic& report(Code code, SourceSpan span, std::string message);
    bool hasErrors() const;
    size_t count(Severity s) const;
    bool empty() const { return items_.empty(); }
    /// Ordered by file, line, column, code; duplicates (same code, place, message) removed.
    std::vector<Diagnostic> sorted() const;
    const std::vector<Diagnostic>& items() const { return items_; }
    /// Drops the diagnostics `silenced` says yes to (in-source @allow suppressions).
    template <class Pred>
    void remove(Pred silenced) {
        std::erase_if(items_, silenced);
    }
    /// Set on every diagnostic reported from now on (lint of a multi-host file).
    void setHost(std::string host) { host_ = std::move(host); }

  private:
    std::vector<Diagnostic> items_;
    std::string host_;
};

/// `FILE:LINE:COLUMN: SEVERITY: MESSAGE [CODE]`, the source line with a caret, then notes/hints.
std::string renderText(const std::vector<Diagnostic>& diags, const SourceManager& sources);
/// cli.md's JSON object: {"findings": [...], "summary": {...}}.
std::string renderJson(const std::vector<Diagnostic>& diags, const SourceManager& sources);
/// SARIF 2.1.0 with one reporting rule per code.
std::string renderSarif(const std::vector<Diagnostic>& diags, const SourceManager& sources);

}  // namespace policyc
