// SPDX-License-Identifier: GPL-2.0-or-later
// parse: bytes -> ast::File. The only file that includes ANTLR headers.
// Contract
//   in : one registered source file (SourceManager id)
//   out: ast::File with a span on every node; includes are NOT expanded here (lower does it)
//   raises: E001 syntax-error (every one found, with ANTLR's recovery), E002 for binary input
#pragma once

#include <optional>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/source.h"

namespace policyc {

std::optional<ast::File> parseFile(uint32_t fileId, const SourceManager& sources,
                                   Diagnostics& diags);

/// parseFile without its fast path (parse_fast.h): always the generated ANTLR parser. The
/// reference the fast path is tested against.
std::optional<ast::File> parseFileWithAntlr(uint32_t fileId, const SourceManager& sources,
                                            Diagnostics& diags);

}  // namespace policyc
