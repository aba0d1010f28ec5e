// SPDX-License-Identifier: GPL-2.0-or-later
#include "driver/state_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace policyc {

namespace fs = std::filesystem;

std::optional<std::string> stateFilePath(std::string& error) {
    struct stat ns {};
    if (stat("/proc/self/ns/net", &ns) != 0) {
        error = std::string("cannot identify the network namespace: ") + std::strerror(errno);
        return std::nullopt;
    }
    const char* dir = std::getenv("POLICYC_STATE_DIR");
    return std::string(dir && *dir ? dir : "/var/lib/policyc") + "/netns-" +
           std::to_string(ns.st_ino) + ".json";
}

bool writeStateFile(const std::string& path, const nlohmann::json& state, std::string& error) {
    std::error_code ec;
    const fs::path target(path);
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
        error = "cannot create " + target.parent_path().string() + ": " + ec.message();
        return false;
    }
    fs::permissions(target.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
    const fs::path tmp = target.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write,
                        fs::perm_options::replace, ec);
        out << state.dump() << '\n';
        if (!out.flush()) {
            error = "cannot write " + tmp.string();
            return false;
        }
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        error = "cannot rename " + tmp.string() + ": " + ec.message();
        return false;
    }
    return true;
}

std::optional<nlohmann::json> readStateFile(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "no saved state at " + path +
                " (nothing was applied in this network namespace "
                "since the last rollback)";
        return std::nullopt;
    }
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        error = path + " is not a saved state: " + e.what();
        return std::nullopt;
    }
}

}  // namespace policyc
