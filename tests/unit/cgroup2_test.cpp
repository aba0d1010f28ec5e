// SPDX-License-Identifier: GPL-2.0-or-later
#include <doctest/doctest.h>

#include <sstream>

#include "backends/cgroup2.h"

TEST_CASE("the cgroup2 mount is found in mountinfo, hybrid layouts included") {
    // Debian 12's hybrid layout as /proc/self/mountinfo shows it (optional fields vary).
    std::istringstream hybrid(
        "25 30 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
        "26 25 0:24 / /sys/fs/cgroup ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755\n"
        "27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"
        "28 26 0:26 / /sys/fs/cgroup/memory rw shared:10 - cgroup cgroup rw,memory\n");
    CHECK(policyc::backends::cgroup2MountIn(hybrid) == "/sys/fs/cgroup/unified");
    std::istringstream unified("30 1 0:27 / /sys/fs/cgroup rw master:1 - cgroup2 cgroup2 rw\n");
    CHECK(policyc::backends::cgroup2MountIn(unified) == "/sys/fs/cgroup");
    std::istringstream none("25 30 0:23 / /sys rw - sysfs sysfs rw\n");
    CHECK_FALSE(policyc::backends::cgroup2MountIn(none));
}
