// SPDX-License-Identifier: GPL-2.0-or-later
// What the analyzer asks of a host: the rules a packet meets at a hook (following jumps), the
// ip rule and route a mark leads to, interface facts, sysctl values. Plain queries over the IR.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc::analyzer {

/// One rule as met on a walk through a hook, with where it stands.
struct WalkedRule {
    const ir::Table* table;
    const ir::Chain* chain;
    size_t index;  // position in its chain
    const ir::Rule* rule;
};

/// The rules of `table` a packet of `family` can meet at built-in chain `hook`, in order, jumps
/// expanded in place (each user chain once per path; loops cut). Rules of the other family in
/// inet tables are left out.
std::vector<WalkedRule> walkHook(const ir::Host& host, std::string_view table,
                                 std::string_view hook, ir::Family family);

/// The first ip rule of `family` that a locally generated packet carrying `mark` selects by its
/// fwmark alone (rules with other selectors are conditional and skipped).
const ir::RoutingRule* fwmarkRule(const ir::Host& host, ir::Family family, uint32_t mark);

/// The route of `table` for `family`'s default destination (0.0.0.0/0 or ::/0), if any.
const ir::Route* defaultRoute(const ir::Host& host, uint32_t table, ir::Family family);

/// Whether routing table `table` has a route for `dst`. A table the host lists no route for is
/// taken to route everything (a .pol policy rarely spells out main), except `local`, which holds
/// the host's own addresses.
bool tableRoutes(const ir::Host& host, uint32_t table, const ir::IpAddr& dst);

/// Whether the host owns `addr` on one of its interfaces.
bool ownsAddress(const ir::Host& host, const ir::IpAddr& addr);

/// The value the policy sets for a sysctl key, if it sets one.
std::optional<std::string> sysctlValue(const ir::Host& host, std::string_view key);
const ir::Sysctl* findSysctl(const ir::Host& host, std::string_view key);

/// Whether an iptables-style interface name (trailing `+` = prefix) matches `name`.
bool ifaceNameMatches(std::string_view pattern, std::string_view name);

/// Where a finding on a rule is reported: its span, or table/chain/number for rules without one.
Diagnostic& reportOnRule(Diagnostics& diags, Code code, const WalkedRule& w, std::string message);

/// Whether a target ends the packet's walk through the chain (and so covers later rules).
bool isTerminal(const ir::Target& t);

}  // namespace policyc::analyzer
