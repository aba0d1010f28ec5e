// SPDX-License-Identifier: GPL-2.0-or-later
// Analyses over the IR. Each check reads a host and reports findings; none changes the IR.
#pragma once

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc::analyzer {

/// What the kernel itself would refuse, caught before it with a location (legacy loading only
/// says EINVAL/ELOOP for the whole table): invalid-hook, chain-loop, plus unused-chain.
void checkKernelValidity(const ir::Host& host, Diagnostics& diags);

/// Every check that works on a compiled host.
void runChecks(const ir::Host& host, Diagnostics& diags);

}  // namespace policyc::analyzer
