// SPDX-License-Identifier: GPL-2.0-or-later
// One iptables table as the kernel takes it in IPT_SO_SET_REPLACE and gives it back from
// IPT_SO_GET_ENTRIES, laid out as libiptc's iptc_commit() does; and the way back to IR.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc::backends::ipt {

constexpr size_t kNumHooks = 5;  // NF_INET_NUMHOOKS

/// A table's entries with the header fields of ipt_replace/ip6t_replace (same for both).
struct Blob {
    ir::Family family = ir::Family::V4;
    std::string table;
    uint32_t validHooks = 0;
    std::array<uint32_t, kNumHooks> hookEntry{};
    std::array<uint32_t, kNumHooks> underflow{};
    uint32_t numEntries = 0;
    std::vector<uint8_t> entries;
    bool operator==(const Blob&) const = default;
};

/// The iptables tables `host` fills for `family`, in the order to create them in the kernel
/// (filter, nat, mangle, raw), so that iptables-legacy-save (newest first) lists them in
/// renderIptables' order.
std::vector<std::string> tablesToLoad(const ir::Host& host, ir::Family family);

/// The table `table` of `host` for `family` (its `ip`/`ip6` and `inet` parts), expanded as
/// renderIptables expands it. nullopt with a diagnostic when something has no encoding.
std::optional<Blob> encodeTable(const ir::Host& host, ir::Family family, std::string_view table,
                                Diagnostics& diags);

/// Back to IR: every built-in chain (with its policy, Accept when the kernel says ACCEPT),
/// user chains, one rule per entry. An entry policyc cannot represent is an error naming it.
std::optional<ir::Table> decodeTable(const Blob& blob, Diagnostics& diags);

/// The same table layout and entries, counters aside (they change with every packet). Both
/// blobs come from the kernel (GET_ENTRIES), so their layout is trusted.
bool sameRules(const Blob& a, const Blob& b);

/// Packet and byte counters of one entry, in entry order (the kernel's xt_counters).
struct EntryCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

/// The counters `to` should start with when it replaces `from`, whose entries counted
/// `counters`: an entry of `to` equal to one of `from` in the same chain (counters aside, jumps
/// compared by the chain they reach) takes that entry's counters, each old entry at most once,
/// in order; new entries start at zero. So a rule that did not change keeps its counts, as
/// libiptc keeps them. Both blobs come from policyc's encoder or the kernel.
std::vector<EntryCounters> carryCounters(const Blob& from,
                                         const std::vector<EntryCounters>& counters,
                                         const Blob& to);

}  // namespace policyc::backends::ipt
