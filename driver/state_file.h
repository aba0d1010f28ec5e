// SPDX-License-Identifier: GPL-2.0-or-later
// Where `apply` keeps the state it replaced, per network namespace, for `apply --rollback`:
// $POLICYC_STATE_DIR (default /var/lib/policyc)/netns-INODE.json, written atomically, 0600.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace policyc {

/// The state file of the calling thread's network namespace; nullopt when /proc/self/ns/net
/// cannot be read (with `error`).
std::optional<std::string> stateFilePath(std::string& error);

/// Writes `state` to `path` through a temporary file and rename. False with `error`.
bool writeStateFile(const std::string& path, const nlohmann::json& state, std::string& error);

/// nullopt with `error` when the file is missing or not JSON.
std::optional<nlohmann::json> readStateFile(const std::string& path, std::string& error);

}  // namespace policyc
