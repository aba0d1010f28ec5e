// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/cgroup2.h"

#include <fstream>
#include <sstream>

namespace policyc::backends {

std::optional<std::string> cgroup2Mount() {
    std::ifstream in("/proc/self/mountinfo");
    return cgroup2MountIn(in);
}

std::optional<std::string> cgroup2MountIn(std::istream& in) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL FIELDS...] - FSTYPE SOURCE SUPEROPTIONS
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, mountPoint, word;
        fields >> id >> parent >> dev >> root >> mountPoint;
        while (fields >> word && word != "-") {
        }
        std::string fsType;
        fields >> fsType;
        if (fsType == "cgroup2") return mountPoint;
    }
    return std::nullopt;
}

}  // namespace policyc::backends
