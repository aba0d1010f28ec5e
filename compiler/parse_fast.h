// SPDX-License-Identifier: GPL-2.0-or-later
// The fast path of parseFile: a hand-written lexer and recursive-descent parser for
// grammar/Policy.g4 that builds the same ast::File as the generated ANTLR parser, in a fraction
// of its time and memory.
// Contract
//   in : the text of one file (already checked to be UTF-8 without NUL bytes)
//   out: the AST ANTLR's parse would give, or nullopt whenever the fast path cannot be sure of
//        that: any syntax error, nesting deeper than InputLimits::maxNesting, or a choice between
//        two readings it does not decide. The caller then runs ANTLR, which reports the errors.
//   raises: nothing
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "compiler/ast.h"

namespace policyc {

std::optional<ast::File> parseFast(uint32_t fileId, std::string_view text,
                                   std::string_view implicitHostName);

/// The grammar's literal tokens as the fast lexer knows them, quoted as ANTLR's vocabulary
/// spells them ("'host'", "'{'" ...): a test compares them with the generated lexer's.
std::vector<std::string_view> fastLexerLiterals();

}  // namespace policyc
