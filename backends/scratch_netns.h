// SPDX-License-Identifier: GPL-2.0-or-later
// Running a check in a network namespace made for it: the kernel validates some things only
// when it commits them (legacy tables have no check mode; nft checks expression hooks only on
// commit), so a dry run commits in a child process whose namespace vanishes with it.
#pragma once

#include <functional>
#include <string>

namespace policyc::backends {

/// What the child reported: `ok` from `work`'s return, `text` what it wrote back.
struct ScratchResult {
    bool ok = false;
    std::string text;
};

/// Forks, moves the child into a new network namespace and runs `work` there; `work` fills
/// its string (sent back through a pipe) and returns whether the check passed. A failure to
/// fork, make the namespace or read the answer is `ok == false` with `text` saying so.
ScratchResult inScratchNetns(const std::function<bool(std::string&)>& work);

}  // namespace policyc::backends
