// SPDX-License-Identifier: GPL-2.0-or-later
// The namespace's links as the analyzer needs them: name, kind (vxlan, wireguard, veth,
// loopback ...), addresses, and for VXLAN the underlay ends and port that tell its own
// encapsulated packets apart (scenario S4).
#pragma once

#include <vector>

#include "backends/netlink/rtnl_socket.h"
#include "compiler/ir.h"

namespace policyc::backends::netlink {

/// RTM_GETLINK and RTM_GETADDR dumps turned into ir::Interface values, in ifindex order.
/// WireGuard's own fwmark is a genetlink attribute, not read here (wireguard_genl.h).
NlStatus readLiveLinks(RtnlSocket& socket, std::vector<ir::Interface>& out);

}  // namespace policyc::backends::netlink
