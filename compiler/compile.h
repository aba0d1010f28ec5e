// SPDX-License-Identifier: GPL-2.0-or-later
// The front end in one call: read -> parse -> expand includes -> lower, for every host.
// Contract
//   in : a .pol file (path, or "-" for standard input) or its text
//   out: ir::Policy with one Host per host of the file, or nullopt when any error was reported
//   raises: E0xx, E1xx, E2xx (see diagnostic_codes.def)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// Limits against hostile input; each gives a located error.
struct InputLimits {
    size_t maxFileBytes = 64u << 20;
    int maxIncludeDepth = 16;
    /// Files read for one compilation, the root and every include (re-reads counted).
    uint32_t maxIncludedFiles = 1024;
    /// Braces (blocks and sets) open at once; the parser recurses per level.
    int maxNesting = 64;
    /// Rules written in a host's tables.
    size_t maxRulesPerHost = 1'000'000;
    /// Values a host's lists expand to, definitions and sets included: `define`s of `define`s
    /// multiply, so a small file could otherwise ask for billions. Well above what
    /// maxRulesPerHost rules with a few lists each need.
    size_t maxValuesPerHost = 16'000'000;
};

std::optional<ir::Policy> compileFile(std::string_view path, SourceManager& sources,
                                      Diagnostics& diags);
std::optional<ir::Policy> compileText(std::string_view text, std::string_view path,
                                      SourceManager& sources, Diagnostics& diags);

/// The .pol identifier an imported rule set's host is named after: the file's stem with other
/// characters made '_' ("stdin" for "-").
std::string importedHostName(std::string_view path);

/// Reads a file (or standard input for "-") into the source manager; E002 on failure.
std::optional<uint32_t> loadSource(std::string_view path, SourceManager& sources,
                                   Diagnostics& diags, SourceSpan from = {});

}  // namespace policyc
