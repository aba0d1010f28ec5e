// SPDX-License-Identifier: GPL-2.0-or-later
// The routing protocol number policyc stamps on every ip rule and route it installs, so that it
// can find (and replace or remove) exactly its own objects again.
#pragma once

#include <cstdint>

namespace policyc::backends {

/// rtnetlink protocol (RTPROT_* / FRA_PROTOCOL): unused by iproute2's rt_protos, the routing
/// daemons and the kernel; `ip` shows it as `proto 211`.
constexpr uint8_t kRoutingProtocol = 211;

}  // namespace policyc::backends
