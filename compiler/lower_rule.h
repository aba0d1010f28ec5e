// SPDX-License-Identifier: GPL-2.0-or-later
// lowerRule: one ast::Rule -> one ir::Rule (matches typed and in canonical order).
#pragma once

#include <optional>

#include "compiler/ast.h"
#include "compiler/ir.h"
#include "compiler/value_reader.h"

namespace policyc {

/// The table a rule is written in: its family decides which addresses are allowed.
struct RuleContext {
    ir::TableFamily family = ir::TableFamily::Inet;
    std::string table;
};

std::optional<ir::Rule> lowerRule(const ast::Rule& rule, const RuleContext& ctx,
                                  ValueReader& values);

}  // namespace policyc
