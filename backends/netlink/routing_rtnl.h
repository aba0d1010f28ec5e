// SPDX-License-Identifier: GPL-2.0-or-later
// IR routing rules and routes to and from rtnetlink messages (RTM_*RULE with FRA_* attributes,
// RTM_*ROUTE with RTA_*), encoded as `ip rule add` / `ip route add` of iproute2 6.1 encode them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "backends/netlink/rtnl_socket.h"
#include "compiler/ir.h"

namespace policyc::backends::netlink {

/// Interface names and indexes, for routes (rules carry names). Apply uses the live namespace's
/// (systemInterfaces); tests can pass a fixed table.
struct InterfaceNames {
    std::function<std::optional<uint32_t>(const std::string&)> index;
    std::function<std::optional<std::string>(uint32_t)> name;
};
InterfaceNames systemInterfaces();

/// RTM_NEWRULE (flags NLM_F_CREATE|NLM_F_EXCL) or RTM_DELRULE for `rule`, tagged with
/// policyc's protocol.
Message encodeRule(const ir::RoutingRule& rule, uint16_t type);

/// RTM_NEWROUTE or RTM_DELROUTE for `route`, tagged with policyc's protocol; nullopt (and
/// `error` says which) when its device has no index.
std::optional<Message> encodeRoute(const ir::Route& route, uint16_t type,
                                   const InterfaceNames& names, std::string& error);

/// The rule a RTM_NEWRULE message describes; nullopt when the IR cannot express it (goto, nop,
/// tos, ports, ip proto, l3mdev, tunnel id, suppress_* selectors, another family).
std::optional<ir::RoutingRule> decodeRule(const nlmsghdr& nlh);
/// The route a RTM_NEWROUTE message describes; nullopt when the IR cannot express it (other
/// route types, multipath, nexthop objects, gateways of the other family, tos, cloned routes).
/// IPv6 reject routes are bound to `lo` by the kernel; that device is left out.
std::optional<ir::Route> decodeRoute(const nlmsghdr& nlh, const InterfaceNames& names);

/// FRA_PROTOCOL of a rule message, rtm_protocol of a route message (0 when absent).
uint8_t ruleProtocol(const nlmsghdr& nlh);
uint8_t routeProtocol(const nlmsghdr& nlh);

/// A dump request for every rule (RTM_GETRULE) or route of every table (RTM_GETROUTE) of one
/// family.
Message dumpRequest(uint16_t type, ir::Family family);

/// A dumped rule or route turned into the request that deletes exactly it (`ip rule/route
/// flush` does the same).
Message deletionOf(const nlmsghdr& dumped);

/// Short human words for messages: "ip rule priority 100 (IPv4)", "route 10.0.0.0/8 table 3".
std::string describe(const ir::RoutingRule& rule);
std::string describe(const ir::Route& route);

/// A live rule or route with the message the kernel dumped for it.
template <typename T>
struct Live {
    T ir;
    Message dumped;
};

struct LiveRouting {
    std::vector<Live<ir::RoutingRule>> rules;
    std::vector<Live<ir::Route>> routes;
    /// Dumped objects (of the selected protocol) the IR cannot express, described.
    std::vector<std::string> unexpressible;
};

/// Dumps rules and routes of both families and every table. `protocol` selects the objects of
/// one originator (kRoutingProtocol for policyc's own); nullopt keeps all.
NlStatus readLiveRouting(RtnlSocket& socket, std::optional<uint8_t> protocol, LiveRouting& out);

}  // namespace policyc::backends::netlink
