// SPDX-License-Identifier: GPL-2.0-or-later
// `policyc apply`: every step of a backend, all or nothing.
#pragma once

#include <string>

#include "backends/apply_step.h"
#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc {

enum class ApplyOutcome { Applied, RolledBack, Failed };

/// Snapshots every step, applies them in order and, when one fails, undoes the ones already
/// applied in reverse order. `failAt`, when not empty, makes the first step whose name contains
/// it fail before it runs (tests prove the rollback with it: POLICYC_INJECT_FAILURE).
/// Failed means the rollback itself failed: the kernel may be half-changed, which the
/// diagnostics say step by step.
ApplyOutcome applySteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log,
                        const std::string& failAt = "");

}  // namespace policyc
