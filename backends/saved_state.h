// SPDX-License-Identifier: GPL-2.0-or-later
// What `apply` keeps of the state it replaced, so that `apply --rollback` can put it back from
// another process: each step's snapshot as JSON (kernel messages and blobs as hex, exactly as
// the kernel gave them), and the steps that reinstall it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/apply_step.h"
#include "compiler/hex.h"

namespace policyc::backends {

/// The steps that reinstall `saved` (an array of ApplyStep::saved() values): each is an
/// ordinary step (snapshot, apply, undo), so a rollback is all-or-nothing too. nullopt with
/// `error` when the state is malformed.
std::optional<ApplySteps> restoreSteps(const nlohmann::json& saved, std::string& error);

/// Per backend, for restoreSteps: a JSON value that is not what their saved() wrote throws
/// nlohmann::json::exception or returns nullopt with `error`.
std::optional<ApplySteps> legacyRestoreSteps(const nlohmann::json& saved, std::string& error);
std::optional<ApplySteps> nftRestoreSteps(const nlohmann::json& saved, std::string& error);
std::optional<ApplySteps> routingRestoreSteps(const nlohmann::json& saved, std::string& error);

}  // namespace policyc::backends
