// SPDX-License-Identifier: GPL-2.0-or-later
// nftables vocabulary shared by the nft renderings: the table and chain names policyc owns, base
// chain hooks, and the symbolic names nft 1.0.6 prints for numbers (protocols, icmp, reject).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/ir.h"

namespace policyc::backends::nft {

/// Every nft table policyc owns has this name; its family comes from the IR table.
inline constexpr std::string_view kTableName = "policyc";

/// "inet", "ip", "ip6".
std::string_view familyName(ir::TableFamily family);

/// `<table>_<chain>`: built-in chains lower-cased (filter_input), user chains as written
/// (filter_MYCHAIN), so chains of different iptables tables never collide in one nft table.
std::string chainName(std::string_view table, std::string_view chain);

/// How an iptables built-in chain becomes an nft base chain with the legacy table's hook and
/// priority, so that both backends order their work the same way.
struct BaseChain {
    std::string_view type;          // filter, nat, route
    std::string_view hook;          // prerouting, input, forward, output, postrouting
    int priority = 0;               // the legacy NF_IP_PRI_* value
    std::string_view priorityText;  // as `nft list ruleset` prints it: filter, dstnat, 100 ...
};

/// Nothing for user chains and for tables policyc does not know.
std::optional<BaseChain> baseChain(std::string_view table, std::string_view chain);

/// Where a match goes in a rule: nft lists expressions in the order they were written (save
/// the dependencies the renderings add), and this order reads like hand-written nft. The text
/// rendering and the linearizer share it, so the kernel holds what the text says.
int matchRank(const ir::Match& m);

/// Protocol names as nft prints them (from Debian 12 netbase /etc/protocols); else the number.
std::string protoName(uint8_t proto);

/// `icmp type` / `icmpv6 type` and `icmp code` / `icmpv6 code` symbols; else the number.
std::string icmpTypeName(ir::Family family, uint8_t type);
std::string icmpCodeName(ir::Family family, uint8_t code);

/// An iptables --reject-with name as nft spells it.
struct RejectKind {
    enum class Proto : uint8_t { Icmp, Icmpv6, TcpReset } proto = Proto::Icmp;
    std::string_view code;  // nft's icmp/icmpv6 reject code name; empty for tcp reset
};
/// `ambiguousAs` picks the family of the alias both tables know ("port-unreach").
std::optional<RejectKind> rejectKind(std::string_view iptablesName, ir::Family ambiguousAs);

/// `fib ... type` symbol for a kernel route type name ("9" for throw, which nft cannot name);
/// nothing for a name the kernel does not know.
std::optional<std::string> fibTypeName(std::string_view routeType);

/// `log level` names by syslog level (0 emerg .. 7 debug).
std::string_view logLevelName(uint8_t level);

}  // namespace policyc::backends::nft
