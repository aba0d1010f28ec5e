// SPDX-License-Identifier: GPL-2.0-or-later
#include "driver/apply.h"

#include <unistd.h>

#include <ostream>

namespace policyc {
namespace {

/// Undoes steps [0, count) in reverse order.
bool undoFirst(backends::ApplySteps& steps, size_t count, Diagnostics& diags, std::ostream& log) {
    bool restored = true;
    for (size_t i = count; i-- > 0;) {
        if (steps[i]->undo(diags)) {
            log << "rolled back: " << steps[i]->name() << '\n';
        } else {
            restored = false;
            diags.report(Code::E301, {},
                         "could not roll back '" + steps[i]->name() +
                             "': the kernel keeps the new state for it");
        }
    }
    return restored;
}

}  // namespace

ApplyOutcome applySteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log,
                        const std::string& failAt, unsigned pauseAfterSnapshot) {
    // Read everything first: a read error must stop us before anything changed.
    for (auto& step : steps) {
        if (!step->snapshot(diags)) return ApplyOutcome::RolledBack;
    }
    if (pauseAfterSnapshot) sleep(pauseAfterSnapshot);
    size_t applied = 0;
    bool ok = true;
    for (; applied < steps.size(); ++applied) {
        auto& step = *steps[applied];
        if (!failAt.empty() && step.name().find(failAt) != std::string::npos) {
            diags.report(Code::E301, {}, "injected failure before '" + step.name() + "'");
            ok = false;
            break;
        }
        if (!step.apply(diags)) {
            ok = false;
            break;
        }
        log << "applied: " << step.name() << '\n';
    }
    if (ok) return ApplyOutcome::Applied;
    return undoFirst(steps, applied, diags, log) ? ApplyOutcome::RolledBack : ApplyOutcome::Failed;
}

bool rollBackSteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log) {
    return undoFirst(steps, steps.size(), diags, log);
}

bool checkSteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log) {
    for (auto& step : steps) {
        if (!step->snapshot(diags)) return false;
    }
    bool ok = true;
    for (auto& step : steps) {
        if (step->check(diags))
            log << "checked: " << step->name() << '\n';
        else
            ok = false;
    }
    return ok;
}

}  // namespace policyc
