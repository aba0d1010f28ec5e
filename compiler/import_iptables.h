// SPDX-License-Identifier: GPL-2.0-or-later
// The iptables-save reader: `iptables-save` / `ip6tables-save` text -> one ir::Host whose tables
// are all `ip` or all `ip6`. Anything the IR cannot hold is a located error, never dropped.
#pragma once

#include <optional>
#include <string_view>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// Parses iptables-save text already registered as `file` in `sources`. The tables are `ip6`
/// when the text holds IPv6 evidence (an IPv6 address, ipv6-icmp, -m icmp6, an icmp6-* reject
/// type), else `ip`; evidence of both families is an error. Every rule's span is its line.
/// nullopt when any error was reported (E001 syntax, E202 unsupported, E1xx values).
std::optional<ir::Host> importIptablesSave(uint32_t file, std::string_view hostName,
                                           const SourceManager& sources, Diagnostics& diags);

/// Reads the file (or standard input for "-") and imports it; the host is named after the
/// file's stem, made into a .pol identifier ("stdin" for "-").
std::optional<ir::Host> importIptablesSaveFile(std::string_view path, SourceManager& sources,
                                               Diagnostics& diags);

}  // namespace policyc
