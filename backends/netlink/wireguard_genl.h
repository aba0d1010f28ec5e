// SPDX-License-Identifier: GPL-2.0-or-later
// WireGuard's own fwmark, the mark it puts on its encapsulated packets (`wg set wg0 fwmark`):
// a generic netlink attribute of the "wireguard" family, not a link attribute. owner-mark-leak
// needs it to tell the tunnel's outer packets from the application's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "backends/netlink/rtnl_socket.h"

struct nlmsghdr;

namespace policyc::backends::netlink {

/// The fwmark of WireGuard device `ifname` (0: none set), read with WG_CMD_GET_DEVICE.
/// ENOENT when the kernel has no "wireguard" genetlink family (then it has no such device).
NlStatus readWireGuardFwmark(const std::string& ifname, uint32_t& fwmark);

/// The requests, and the two replies' contents, apart from the socket (tested on their own).
Message familyRequest(const std::string& name);
/// The family id in a CTRL_CMD_GETFAMILY reply, if the reply is about family `name`.
std::optional<uint16_t> familyIdOf(const nlmsghdr& reply, const std::string& name);
Message wireGuardDeviceRequest(uint16_t family, const std::string& ifname);
/// WGDEVICE_A_FWMARK of one WG_CMD_GET_DEVICE reply; nullopt when the message has none (a
/// reply split over several messages carries it in the first).
std::optional<uint32_t> wireGuardFwmarkOf(const nlmsghdr& reply);

}  // namespace policyc::backends::netlink
