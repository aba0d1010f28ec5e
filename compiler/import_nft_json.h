// SPDX-License-Identifier: GPL-2.0-or-later
// The `nft -j list ruleset` reader: nftables JSON -> one ir::Host, with the table/chain mapping
// of the nft read-back (policyc's own table by name, other base chains by type, hook, priority).
#pragma once

#include <optional>
#include <string_view>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// Parses nft JSON already registered as `file` in `sources`. Tables of family inet, ip and ip6
/// become IR tables of that family. Every rule's span is its `{"rule": ...}` object in the text;
/// a rule policyc cannot express is a located error naming its table, chain and handle, never
/// dropped. nullopt when any error was reported (E001 syntax, E202 unsupported, E1xx values).
std::optional<ir::Host> importNftJson(uint32_t file, std::string_view hostName,
                                      const SourceManager& sources, Diagnostics& diags);

/// Reads the file (or standard input for "-") and imports it; the host is named after the
/// file's stem, made into a .pol identifier ("stdin" for "-").
std::optional<ir::Host> importNftJsonFile(std::string_view path, SourceManager& sources,
                                          Diagnostics& diags);

}  // namespace policyc
