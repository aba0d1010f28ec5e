// SPDX-License-Identifier: GPL-2.0-or-later
// `policyc apply`: every step of a backend, all or nothing; its dry run; taking it back.
#pragma once

#include <iosfwd>
#include <string>

#include "backends/apply_step.h"
#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc {

enum class ApplyOutcome { Applied, RolledBack, Failed };

/// Snapshots every step, applies them in order and, when one fails, undoes the ones already
/// applied in reverse order. `failAt`, when not empty, makes the first step whose name contains
/// it fail before it runs (tests prove the rollback with it: POLICYC_INJECT_FAILURE).
/// `pauseAfterSnapshot` seconds pass between the snapshot and the first change (tests change
/// the kernel meanwhile, as a concurrent program would: POLICYC_PAUSE_AFTER_SNAPSHOT).
/// Failed means the rollback itself failed: the kernel may be half-changed, which the
/// diagnostics say step by step.
ApplyOutcome applySteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log,
                        const std::string& failAt = "", unsigned pauseAfterSnapshot = 0);

/// Undoes every step of an apply that succeeded, last first (`--confirm` without an answer).
/// False when one could not be undone (each is a diagnostic).
bool rollBackSteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log);

/// `--dry-run`: snapshots every step and has the kernel validate each (ApplyStep::check); the
/// kernel is unchanged. False when a step would be refused (each is a diagnostic).
bool checkSteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log);

}  // namespace policyc
