// SPDX-License-Identifier: GPL-2.0-or-later
// The IR as JSON (`build --emit json`): every element with its fields under the IR's member
// names, enums as readable lower-case names, addresses as strings, spans as file/line/column.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// {"hosts": [host...]}.
nlohmann::json toJson(const ir::Policy& policy, const SourceManager& sources);
/// One host: name, interfaces, tables (chains, rules with "match"/"target" objects),
/// routingRules, routes, sysctls. Absent optionals and spans without a source are omitted.
nlohmann::json toJson(const ir::Host& host, const SourceManager& sources);

/// The same documents as text, byte for byte `toJson(...).dump(2)`, written without building
/// a json tree (what `build` uses: it is the largest rendering).
std::string renderJson(const ir::Policy& policy, const SourceManager& sources);
std::string renderJson(const ir::Host& host, const SourceManager& sources);

}  // namespace policyc
