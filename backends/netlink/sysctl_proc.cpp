// SPDX-License-Identifier: GPL-2.0-or-later
// /proc/sys reads and writes with plain file descriptors, because the kernel reports a refused
// value as the errno of write(2), which iostreams would hide.
#include "backends/netlink/sysctl_proc.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace policyc::backends::netlink {

namespace {

/// Closes the descriptor on every path out.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

bool safeComponent(std::string_view c) { return !c.empty() && c != "." && c != ".."; }

}  // namespace

std::optional<std::string> sysctlPath(std::string_view key) {
    std::string path = "/proc/sys/";
    std::string component;
    for (const char ch : key) {
        if (ch == '.') {
            if (!safeComponent(component)) return std::nullopt;
            path += component + '/';
            component.clear();
        } else {
            component += ch == '/' ? '.' : ch;
        }
    }
    if (!safeComponent(component)) return std::nullopt;
    return path + component;
}

std::optional<std::string> readSysctl(std::string_view key, int& error) {
    const auto path = sysctlPath(key);
    if (!path) return error = EINVAL, std::nullopt;
    const Fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return error = errno, std::nullopt;
    std::string value;
    char chunk[256];
    for (;;) {
        const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return error = errno, std::nullopt;
        if (n == 0) break;
        value.append(chunk, static_cast<size_t>(n));
    }
    if (!value.empty() && value.back() == '\n') value.pop_back();
    error = 0;
    return value;
}

int writeSysctl(std::string_view key, const std::string& value) {
    const auto path = sysctlPath(key);
    if (!path) return EINVAL;
    const Fd fd(::open(path->c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return errno;
    // One write: procfs parses each write(2) as a whole value.
    const std::string text = value + '\n';
    ssize_t n;
    do {
        n = ::write(fd.get(), text.data(), text.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    return n == static_cast<ssize_t>(text.size()) ? 0 : EIO;
}

}  // namespace policyc::backends::netlink
