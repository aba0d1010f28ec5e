// SPDX-License-Identifier: GPL-2.0-or-later
// Glue of `policyc import --from KIND FILE` and `policyc lint --from KIND FILE`: read a rule set
// dump into a one-host policy, print it as .pol, or run the analyzer on it.
#pragma once

#include <optional>
#include <string_view>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// `import`: prints the .pol for FILE on standard output; diagnostics on standard error.
/// 0 on success, 2 when the input cannot be imported (nothing is printed then).
int runImport(std::string_view from, std::string_view file);

/// `lint --from`: imports FILE and runs every host check on it. Findings on imported rules keep
/// the rule's line as span and carry its table/chain/number as RuleLocation. nullopt when the
/// import failed (its errors are in `diags`).
std::optional<ir::Policy> importAndCheck(std::string_view from, std::string_view file,
                                         SourceManager& sources, Diagnostics& diags);

}  // namespace policyc
