// SPDX-License-Identifier: GPL-2.0-or-later
// How a host's tables become iptables tables, chains and entries: the decisions the text
// renderer (backends/text/iptables_text.cpp) and the blob encoder must make identically.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::ipt {

/// xt_multiport holds at most 15 ports, a range taking two: the chunks, in order.
std::vector<std::vector<ir::NumRange>> multiportChunks(const std::vector<ir::NumRange>& ports);

/// One rule as the iptables entries it needs: a positive match with several addresses (or more
/// ports than one multiport takes) becomes one entry per address (or port chunk), earlier
/// matches varying slowest. Negated matches stay whole ("not A and not B" is one entry).
std::vector<std::vector<ir::Match>> expandLines(const std::vector<ir::Match>& matches);

/// A negated match on several addresses ("none of them") as one entry holds it: the first
/// prefix in the ip header (`! -d A`), every other item a negated iprange (`-m iprange !
/// --dst-range B-B`). Any other match comes back as it is.
std::vector<ir::AddrMatch> entryParts(const ir::AddrMatch& m);

/// The rule's port module: "tcp"/"udp"/"sctp" when a positive protocol match has one, else "";
/// `forced` when that match asks for it beyond policyc's own use (ir::ProtoMatch::portModule).
struct PortModule {
    std::string_view name;
    bool forced = false;
};
PortModule portModuleFor(const std::vector<ir::Match>& matches);

/// Whether a port condition goes into the port module rather than multiport: one range, and
/// not the full range unless the module is forced (libxt_tcp/udp list no full range, not even
/// a negated one in iptables 1.8.9, while multiport lists it verbatim).
bool inPortModule(const ir::PortMatch& m, const PortModule& module);

/// The IR tables that fill one iptables table: the `ip`/`ip6` table and the `inet` table of the
/// same name (rules in host order), since one iptables table cannot be loaded twice.
struct TableBlock {
    std::string name;
    std::vector<const ir::Table*> parts;
};

/// The blocks of `family`, in listing order (raw, mangle, nat, filter, unknown names last).
/// iptables-legacy-save lists newest-created first, so loaders create them in reverse.
std::vector<TableBlock> collectBlocks(const ir::Host& host, ir::Family family);

/// Built-in chains in hook order, then user chains sorted by strcmp as libiptc keeps them;
/// policyc's generated chains only when they hold rules of `family`.
std::vector<std::string> chainOrder(const TableBlock& block, ir::Family family);

/// A built-in chain's policy: the first part that sets one; None for user chains.
ir::ChainPolicy blockPolicy(const TableBlock& block, const std::string& chain);

/// The rules of `chain` for `family`, in host order: inet rules of the other family left out,
/// and jumps to generated chains chainOrder leaves out.
std::vector<const ir::Rule*> blockRules(const TableBlock& block, const std::string& chain,
                                        ir::Family family);

}  // namespace policyc::backends::ipt
