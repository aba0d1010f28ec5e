// SPDX-License-Identifier: GPL-2.0-or-later
// Fork, unshare(CLONE_NEWNET), run, send the answer back through a pipe.
#include "backends/scratch_netns.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace policyc::backends {

ScratchResult inScratchNetns(const std::function<bool(std::string&)>& work) {
    int fds[2];
    if (pipe(fds) != 0) return {false, std::string("cannot make a pipe: ") + std::strerror(errno)};
    const pid_t child = fork();
    if (child < 0) {
        close(fds[0]);
        close(fds[1]);
        return {false, std::string("cannot fork: ") + std::strerror(errno)};
    }
    if (child == 0) {
        close(fds[0]);
        std::string text;
        bool ok = false;
        if (unshare(CLONE_NEWNET) != 0)
            text = std::string("cannot make a scratch network namespace: ") + std::strerror(errno);
        else
            ok = work(text);
        if (!text.empty() && write(fds[1], text.data(), text.size()) < 0) _exit(2);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    ScratchResult r;
    char buf[512];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) r.text.append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return r;
}

}  // namespace policyc::backends
