// SPDX-License-Identifier: GPL-2.0-or-later
// The canonical .pol printer: IR -> .pol text that compiles back to an equal IR. Used for
// `--dump-after`, golden files, `import` and diff output; deterministic, 4 spaces per level.
#pragma once

#include <string>

#include "compiler/ir.h"

namespace policyc {

/// Every host as `host NAME { ... }`, hosts separated by a blank line.
std::string printPolicy(const ir::Policy& policy);

/// One `host NAME { ... }` block: interfaces, tables, routing rules, routes, sysctls.
std::string printHost(const ir::Host& host);

/// One-line forms of single elements (no indentation, no newline), for diff output and messages.
std::string printRule(const ir::Rule& rule);
std::string printInterface(const ir::Interface& iface);
std::string printRoutingRule(const ir::RoutingRule& rule);
std::string printRoute(const ir::Route& route);
std::string printSysctl(const ir::Sysctl& sysctl);

}  // namespace policyc
