// SPDX-License-Identifier: GPL-2.0-or-later
#include "driver/apply.h"

#include <ostream>

namespace policyc {

ApplyOutcome applySteps(backends::ApplySteps& steps, Diagnostics& diags, std::ostream& log,
                        const std::string& failAt) {
    // Read everything first: a read error must stop us before anything changed.
    for (auto& step : steps) {
        if (!step->snapshot(diags)) return ApplyOutcome::RolledBack;
    }
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

    bool restored = true;
    for (size_t i = applied; i-- > 0;) {
        if (steps[i]->undo(diags)) {
            log << "rolled back: " << steps[i]->name() << '\n';
        } else {
            restored = false;
            diags.report(Code::E301, {},
                         "could not roll back '" + steps[i]->name() +
                             "': the kernel keeps the new state for it");
        }
    }
    return restored ? ApplyOutcome::RolledBack : ApplyOutcome::Failed;
}

}  // namespace policyc
