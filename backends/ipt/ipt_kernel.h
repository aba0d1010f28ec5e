// SPDX-License-Identifier: GPL-2.0-or-later
// ip_tables/ip6_tables sockopt I/O (IPT_SO_GET_INFO, _GET_ENTRIES, _SET_REPLACE) in the
// caller's network namespace, and the xtables lock iptables takes around the same work.
#pragma once

#include <optional>
#include <string>

#include "backends/ipt/ipt_blob.h"
#include "compiler/diagnostics.h"

namespace policyc::backends::ipt {

/// flock(LOCK_EX) on /run/xtables.lock, as iptables holds it, for this object's lifetime.
/// Waits up to `waitSeconds`; `held()` is false when it could not get the lock.
class XtablesLock {
  public:
    explicit XtablesLock(int waitSeconds = 10);
    ~XtablesLock();
    XtablesLock(const XtablesLock&) = delete;
    XtablesLock& operator=(const XtablesLock&) = delete;
    bool held() const { return fd_ >= 0; }
    const std::string& error() const { return error_; }

  private:
    int fd_ = -1;
    std::string error_;
};

/// Whether the table exists in this network namespace (/proc/net/ip{,6}_tables_names), without
/// creating it: any sockopt on a table makes the kernel instantiate it, and legacy tables
/// cannot be removed again.
bool tableExists(ir::Family family, const std::string& table);

/// The live table: info and every entry. The kernel creates the table in the namespace on first
/// access, so reading also creates it (what fixes iptables-legacy-save's table order).
std::optional<Blob> readTable(ir::Family family, const std::string& table, Diagnostics& diags);

/// IPT_SO_SET_REPLACE with room for the replaced table's counters, which land in `replaced`
/// (one per old entry) when given; retried a few times on EAGAIN (the table changed under
/// us). A refusal is an E301 diagnostic naming the errno.
bool replaceTable(const Blob& blob, Diagnostics& diags,
                  std::vector<EntryCounters>* replaced = nullptr);

/// IPT_SO_SET_ADD_COUNTERS: adds `counters` (one per entry of `blob`, the table now loaded)
/// to the kernel's.
bool addCounters(const Blob& blob, const std::vector<EntryCounters>& counters, Diagnostics& diags);

}  // namespace policyc::backends::ipt
