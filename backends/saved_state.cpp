// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/saved_state.h"

namespace policyc::backends {

std::optional<ApplySteps> restoreSteps(const nlohmann::json& saved, std::string& error) {
    if (!saved.is_array()) {
        error = "the saved state is not a list of steps";
        return std::nullopt;
    }
    // Saved in apply order: legacy tables or the nft step, then routing, then sysctls. Each
    // backend takes its own kinds.
    ApplySteps steps;
    try {
        for (auto* make : {&legacyRestoreSteps, &nftRestoreSteps, &routingRestoreSteps}) {
            auto part = make(saved, error);
            if (!part) return std::nullopt;
            for (auto& s : *part) steps.push_back(std::move(s));
        }
    } catch (const nlohmann::json::exception& e) {
        error = std::string("the saved state is malformed: ") + e.what();
        return std::nullopt;
    }
    return steps;
}

}  // namespace policyc::backends
