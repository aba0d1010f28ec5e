// SPDX-License-Identifier: GPL-2.0-or-later
// The sockopt side of the legacy backend: a raw socket of the table's family carries
// getsockopt/setsockopt requests to ip_tables or ip6_tables.
#include "backends/ipt/ipt_kernel.h"

// glibc's <netinet/in.h> must come before the kernel headers, which then defer to it.
// clang-format off
#include <netinet/in.h>
#include <sys/socket.h>
// clang-format on
#include <fcntl.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

namespace policyc::backends::ipt {
namespace {

using namespace policyc::ir;

// ip6t_getinfo/ip6t_replace/ip6t_get_entries have the ipt_ layouts (the entry type aside),
// and IP6T_SO_* equal IPT_SO_*; only the socket family and level differ.
static_assert(sizeof(ipt_getinfo) == sizeof(ip6t_getinfo));
static_assert(sizeof(ipt_replace) == sizeof(ip6t_replace));
static_assert(sizeof(ipt_get_entries) == sizeof(ip6t_get_entries));
static_assert(IPT_SO_SET_REPLACE == IP6T_SO_SET_REPLACE && IPT_SO_GET_INFO == IP6T_SO_GET_INFO &&
              IPT_SO_GET_ENTRIES == IP6T_SO_GET_ENTRIES);

std::string what(Family f, const std::string& table) {
    return "iptables " + table + " (" + (f == Family::V4 ? "IPv4" : "IPv6") + ")";
}

std::string errnoMeaning(int err) {
    switch (err) {
        case EPERM:
        case EACCES:
            return "needs CAP_NET_ADMIN in this network namespace";
        case ENOENT:
            return "no such table, or a match or target whose kernel module is not available";
        case EINVAL:
            return "the kernel refused an entry: a match or target option, a hook it is not "
                   "allowed in, or a malformed layout";
        case ELOOP:
            return "jumps between chains form a loop";
        case ENOMEM:
            return "the kernel is out of memory for the table";
        case EAGAIN:
            return "the table kept changing while policyc replaced it";
        case ENOPROTOOPT:
            return "ip_tables/ip6_tables is not available (module not loaded?)";
        default:
            return std::strerror(err);
    }
}

/// A raw socket of the table's family, closed on scope exit.
class TableSocket {
  public:
    explicit TableSocket(Family f)
        : family_(f),
          fd_(::socket(f == Family::V4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC,
                       IPPROTO_RAW)) {}
    ~TableSocket() {
        if (fd_ >= 0) ::close(fd_);
    }
    TableSocket(const TableSocket&) = delete;
    TableSocket& operator=(const TableSocket&) = delete;

    bool ok() const { return fd_ >= 0; }
    int level() const { return family_ == Family::V4 ? IPPROTO_IP : IPPROTO_IPV6; }
    bool get(int opt, void* data, socklen_t len) const {
        return ::getsockopt(fd_, level(), opt, data, &len) == 0;
    }
    bool set(int opt, const void* data, socklen_t len) const {
        return ::setsockopt(fd_, level(), opt, data, len) == 0;
    }

  private:
    Family family_;
    int fd_;
};

bool kernelError(Diagnostics& diags, Family f, const std::string& table, const std::string& op,
                 int err) {
    diags
        .report(Code::E301, {},
                what(f, table) + ": " + op + " failed: " + std::strerror(err) + " (errno " +
                    std::to_string(err) + "): " + errnoMeaning(err))
        .hint = "the kernel reports only an errno for the whole table, not which rule";
    return false;
}

std::optional<ipt_getinfo> getInfo(const TableSocket& s, Family f, const std::string& table,
                                   Diagnostics& diags) {
    ipt_getinfo info;
    std::memset(&info, 0, sizeof info);
    if (table.size() >= sizeof info.name) {
        diags.report(Code::E205, {}, what(f, table) + ": table name too long");
        return std::nullopt;
    }
    std::memcpy(info.name, table.data(), table.size());
    if (!s.get(IPT_SO_GET_INFO, &info, sizeof info)) {
        kernelError(diags, f, table, "IPT_SO_GET_INFO", errno);
        return std::nullopt;
    }
    return info;
}

}  // namespace

XtablesLock::XtablesLock(int waitSeconds) {
    const int fd = ::open("/run/xtables.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_ = std::string("cannot open /run/xtables.lock: ") + std::strerror(errno);
        return;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(waitSeconds);
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
            error_ = "another process holds /run/xtables.lock";
            ::close(fd);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fd_ = fd;
}

XtablesLock::~XtablesLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool tableExists(Family family, const std::string& table) {
    std::ifstream names(family == Family::V4 ? "/proc/net/ip_tables_names"
                                             : "/proc/net/ip6_tables_names");
    for (std::string name; std::getline(names, name);)
        if (name == table) return true;
    return false;
}

std::optional<Blob> readTable(Family family, const std::string& table, Diagnostics& diags) {
    TableSocket s(family);
    if (!s.ok()) {
        kernelError(diags, family, table, "opening a raw socket", errno);
        return std::nullopt;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto info = getInfo(s, family, table, diags);
        if (!info) return std::nullopt;
        std::vector<uint8_t> buf(sizeof(ipt_get_entries) + info->size, 0);
        ipt_get_entries req;
        std::memset(&req, 0, sizeof req);
        std::memcpy(req.name, info->name, sizeof req.name);
        req.size = info->size;
        std::memcpy(buf.data(), &req, sizeof req);
        if (!s.get(IPT_SO_GET_ENTRIES, buf.data(), static_cast<socklen_t>(buf.size()))) {
            if (errno == EAGAIN) continue;  // the size changed between the two calls
            kernelError(diags, family, table, "IPT_SO_GET_ENTRIES", errno);
            return std::nullopt;
        }
        Blob b;
        b.family = family;
        b.table = table;
        b.validHooks = info->valid_hooks;
        std::copy(std::begin(info->hook_entry), std::end(info->hook_entry), b.hookEntry.begin());
        std::copy(std::begin(info->underflow), std::end(info->underflow), b.underflow.begin());
        b.numEntries = info->num_entries;
        b.entries.assign(buf.begin() + sizeof req, buf.end());
        return b;
    }
    kernelError(diags, family, table, "IPT_SO_GET_ENTRIES", EAGAIN);
    return std::nullopt;
}

bool replaceTable(const Blob& blob, Diagnostics& diags, std::vector<EntryCounters>* replaced) {
    TableSocket s(blob.family);
    if (!s.ok()) return kernelError(diags, blob.family, blob.table, "opening a raw socket", errno);
    ipt_replace repl;
    std::memset(&repl, 0, sizeof repl);
    if (blob.table.size() >= sizeof repl.name) {
        diags.report(Code::E205, {}, what(blob.family, blob.table) + ": table name too long");
        return false;
    }
    std::memcpy(repl.name, blob.table.data(), blob.table.size());
    repl.valid_hooks = blob.validHooks;
    repl.num_entries = blob.numEntries;
    repl.size = static_cast<unsigned>(blob.entries.size());
    std::copy(blob.hookEntry.begin(), blob.hookEntry.end(), repl.hook_entry);
    std::copy(blob.underflow.begin(), blob.underflow.end(), repl.underflow);
    std::vector<uint8_t> buf(sizeof repl + blob.entries.size());
    std::copy(blob.entries.begin(), blob.entries.end(), buf.begin() + sizeof repl);
    int err = EAGAIN;
    for (int attempt = 0; attempt < 5 && err == EAGAIN; ++attempt) {
        auto info = getInfo(s, blob.family, blob.table, diags);
        if (!info) return false;
        // the kernel hands back the old table's counters here, one per old entry
        std::vector<xt_counters> counters(info->num_entries);
        repl.num_counters = info->num_entries;
        repl.counters = counters.data();
        std::memcpy(buf.data(), &repl, sizeof repl);
        if (s.set(IPT_SO_SET_REPLACE, buf.data(), static_cast<socklen_t>(buf.size()))) {
            if (replaced) {
                replaced->clear();
                for (const xt_counters& c : counters) replaced->push_back({c.pcnt, c.bcnt});
            }
            return true;
        }
        err = errno;
    }
    return kernelError(diags, blob.family, blob.table, "IPT_SO_SET_REPLACE", err);
}

bool addCounters(const Blob& blob, const std::vector<EntryCounters>& counters, Diagnostics& diags) {
    TableSocket s(blob.family);
    if (!s.ok()) return kernelError(diags, blob.family, blob.table, "opening a raw socket", errno);
    xt_counters_info info;
    std::memset(&info, 0, sizeof info);
    std::memcpy(info.name, blob.table.data(), std::min(blob.table.size(), sizeof info.name - 1));
    info.num_counters = static_cast<unsigned>(counters.size());
    std::vector<uint8_t> buf(sizeof info + counters.size() * sizeof(xt_counters));
    std::memcpy(buf.data(), &info, sizeof info);
    for (size_t i = 0; i < counters.size(); ++i) {
        const xt_counters c{counters[i].packets, counters[i].bytes};
        std::memcpy(buf.data() + sizeof info + i * sizeof c, &c, sizeof c);
    }
    static_assert(IPT_SO_SET_ADD_COUNTERS == IP6T_SO_SET_ADD_COUNTERS);
    if (s.set(IPT_SO_SET_ADD_COUNTERS, buf.data(), static_cast<socklen_t>(buf.size()))) return true;
    return kernelError(diags, blob.family, blob.table, "IPT_SO_SET_ADD_COUNTERS", errno);
}

}  // namespace policyc::backends::ipt
