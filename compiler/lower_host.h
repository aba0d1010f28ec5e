// SPDX-License-Identifier: GPL-2.0-or-later
// Shared state while one host is lowered: the IR being built, the rules that intents generate,
// and the marks, routing tables and rule priorities already taken.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/ir.h"
#include "compiler/value_reader.h"

namespace policyc {

struct GeneratedRule {
    std::string table;  // always in the inet table of that name
    std::string chain;
    ir::Rule rule;
};

struct HostBuilder {
    ir::Host host;
    std::vector<GeneratedRule> generated;
    /// Sysctls an intent needs unless the policy sets them itself (explicit settings win).
    std::vector<ir::Sysctl> defaultSysctls;
    std::set<uint32_t> usedMarks;
    std::set<uint32_t> usedTables;
    std::set<uint32_t> usedPriorities;
    uint32_t nextIntentPriority = 1000;    // intents: 1000 upwards, 10 per intent
    uint32_t nextExplicitPriority = 2000;  // `rule` without a priority

    uint32_t allocateMark();
    uint32_t allocateTable();
    /// The first of `size` consecutive free priorities (in blocks of 10).
    uint32_t allocatePriorityBlock(uint32_t size);
    void generate(std::string table, std::string chain, ir::Rule rule) {
        generated.push_back({std::move(table), std::move(chain), std::move(rule)});
    }
};

/// Lowers app, tproxy, masquerade, forward, forwarding and rp_filter declarations.
void lowerIntent(const ast::Item& item, HostBuilder& b, ValueReader& values);
/// Marks and tables named explicitly by intents, so automatic allocation avoids them.
void reserveIntentResources(const ast::Item& item, HostBuilder& b);

}  // namespace policyc
