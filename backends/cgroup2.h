// SPDX-License-Identifier: GPL-2.0-or-later
// Where the cgroup v2 hierarchy is mounted. nft 1.0.6 assumes /sys/fs/cgroup; hybrid layouts
// (Debian 12 here) mount it at /sys/fs/cgroup/unified, and the kernel only needs the cgroup's
// inode number, so policyc finds the mount itself.
#pragma once

#include <istream>
#include <optional>
#include <string>

namespace policyc::backends {

/// The first cgroup2 mount point in /proc/self/mountinfo, or nullopt when there is none.
std::optional<std::string> cgroup2Mount();
/// The same, from mountinfo text (for tests).
std::optional<std::string> cgroup2MountIn(std::istream& mountinfo);

}  // namespace policyc::backends
