// SPDX-License-Identifier: GPL-2.0-or-later
// The IR as JSON (`build --emit json`): every element with its fields under the IR's member
// names, enums as readable lower-case names, addresses as strings, spans as file/line/column.
#pragma once

#include <nlohmann/json.hpp>

#include "compiler/ir.h"
#include "compiler/source.h"

namespace policyc {

/// {"hosts": [host...]}.
nlohmann::json toJson(const ir::Policy& policy, const SourceManager& sources);
/// One host: name, interfaces, tables (chains, rules with "match"/"target" objects),
/// routingRules, routes, sysctls. Absent optionals and spans without a source are omitted.
nlohmann::json toJson(const ir::Host& host, const SourceManager& sources);

}  // namespace policyc
