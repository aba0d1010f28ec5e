// SPDX-License-Identifier: GPL-2.0-or-later
// How both parsers of parse.cpp (ANTLR's tree walk and the hand-written fast path) turn what
// they read into ast nodes, so that the two cannot drift apart: clauses from their words and
// values in source order, string literals unquoted, the implicit host named after the file.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "compiler/ast.h"

namespace policyc::astbuild {

/// A string literal's text without its quotes and with `\x` reduced to `x`.
inline std::string unquote(std::string_view s) {
    if (s.size() < 2 || s.front() != '"') return std::string(s);
    std::string out;
    out.reserve(s.size() - 2);
    for (size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] == '\\' && i + 2 < s.size()) ++i;
        out.push_back(s[i]);
    }
    return out;
}

/// The implicit host's name: the file's stem ("stdin" for "-").
inline std::string stemOf(std::string_view path) {
    size_t slash = path.rfind('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    size_t dot = base.rfind('.');
    if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
    if (base.empty() || base == "-") return "stdin";
    return std::string(base);
}

/// Builds a clause from a construct's parts in source order: leading keywords form the key,
/// values are arguments, and a keyword after the first value (or one of the option words)
/// names the value that follows it.
class ClauseBuilder {
  public:
    void negate() { c_.negated = true; }

    void word(std::string_view w) {
        static constexpr std::array<std::string_view, 6> kOptionWords = {
            "with", "prefix", "level", "burst", "code", "mask"};
        if (w == ";" || w == "/") return;  // `/` only parts `tcp flags` lists
        const bool option =
            std::find(kOptionWords.begin(), kOptionWords.end(), w) != kOptionWords.end();
        if (inKey_ && !option) {
            if (!c_.key.empty()) c_.key += ' ';
            c_.key += w;
        } else {
            if (!pending_.empty()) c_.options.emplace_back(std::move(pending_), ast::Value{});
            pending_ = std::string(w);
            inKey_ = false;
        }
    }

    void value(ast::Value v) {
        inKey_ = false;
        if (!pending_.empty()) {
            c_.options.emplace_back(std::move(pending_), std::move(v));
            pending_.clear();
        } else {
            c_.args.push_back(std::move(v));
        }
    }

    /// The clause, spanning the whole construct it was built from.
    ast::Clause finish(SourceSpan span) && {
        if (!pending_.empty()) c_.options.emplace_back(std::move(pending_), ast::Value{});
        c_.span = span;
        return std::move(c_);
    }

  private:
    ast::Clause c_;
    std::string pending_;
    bool inKey_ = true;
};

}  // namespace policyc::astbuild
