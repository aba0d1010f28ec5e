// SPDX-License-Identifier: GPL-2.0-or-later
// Analyses over the IR. Each check reads a host and reports findings; none changes the IR.
#pragma once

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc::analyzer {

/// What the kernel itself would refuse, caught before it with a location (legacy loading only
/// says EINVAL/ELOOP for the whole table): invalid-hook, chain-loop, plus unused-chain.
void checkKernelValidity(const ir::Host& host, Diagnostics& diags);

/// Mark-based policy routing across the layers: owner-mark-leak, missing-snat, rp-filter-drop,
/// ipv6-leak, tproxy-no-local-route, mark-collision.
void checkRouting(const ir::Host& host, Diagnostics& diags);

/// Rule hygiene and host-wide settings: unreachable-rule, nat-without-forwarding, lockout-risk.
void checkHygiene(const ir::Host& host, Diagnostics& diags);

/// Checks across the hosts of one site file: site-mismatch.
void checkSite(const ir::Policy& policy, Diagnostics& diags);

/// shadowed-rule and redundant-rule: terminal rules whose packets earlier terminal rules of the
/// same chain all end already (with another verdict: W001; with the same: W002).
void checkShadowing(const ir::Host& host, Diagnostics& diags);

/// Removes findings that a rule's `@allow(code, "reason")` silences: same code, primary
/// location inside that rule.
void applySuppressions(const ir::Policy& policy, Diagnostics& diags);

/// Every check that works on a compiled host.
void runChecks(const ir::Host& host, Diagnostics& diags);

}  // namespace policyc::analyzer
