// SPDX-License-Identifier: GPL-2.0-or-later
// The front end in one call: read -> parse -> expand includes -> lower, for every host.
// Contract
//   in : a .pol file (path, or "-" for standard input) or its text
//   out: ir::Policy with one Host per host of the file, or nullopt when any error was reported
//   raises: E0xx, E1xx, E2xx (see diagnostic_codes.def)
#pragma once

#include <optional>
#include <string_view>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// Limits against hostile input; each gives a located error.
struct InputLimits {
    size_t maxFileBytes = 64u << 20;
    int maxIncludeDepth = 16;
};

std::optional<ir::Policy> compileFile(std::string_view path, SourceManager& sources,
                                      Diagnostics& diags);
std::optional<ir::Policy> compileText(std::string_view text, std::string_view path,
                                      SourceManager& sources, Diagnostics& diags);

/// Reads a file (or standard input for "-") into the source manager; E002 on failure.
std::optional<uint32_t> loadSource(std::string_view path, SourceManager& sources,
                                   Diagnostics& diags, SourceSpan from = {});

}  // namespace policyc
