// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/netlink/links_rtnl.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <map>

namespace policyc::backends::netlink {
namespace {

/// Calls `each` for every attribute in [begin, begin+len): libmnl's iteration macros do
/// arithmetic on void pointers, which C++ does not allow.
template <class F>
void forEachAttr(const void* begin, size_t len, F each) {
    auto* a = static_cast<const nlattr*>(begin);
    int left = static_cast<int>(len);
    while (mnl_attr_ok(a, left)) {
        each(a);
        left -= static_cast<int>(MNL_ALIGN(a->nla_len));
        a = mnl_attr_next(a);
    }
}

template <class F>
void forEachMessageAttr(const nlmsghdr& nlh, size_t header, F each) {
    const auto* begin = static_cast<const char*>(mnl_nlmsg_get_payload_offset(&nlh, header));
    const auto* end = reinterpret_cast<const char*>(&nlh) + nlh.nlmsg_len;
    forEachAttr(begin, static_cast<size_t>(end - begin), each);
}

template <class F>
void forEachNested(const nlattr* nest, F each) {
    forEachAttr(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), each);
}

Message dumpOf(uint16_t type, uint8_t family, size_t headerSize) {
    Message msg(NLMSG_SPACE(headerSize), 0);
    auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
    nlh->nlmsg_len = static_cast<uint32_t>(msg.size());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_DUMP;
    // ifinfomsg and ifaddrmsg both begin with the family byte
    *reinterpret_cast<uint8_t*>(NLMSG_DATA(nlh)) = family;
    return msg;
}

std::optional<ir::IpAddr> addressOf(const nlattr* a, uint8_t family) {
    ir::IpAddr ip;
    const size_t len = mnl_attr_get_payload_len(a);
    if (family == AF_INET && len == 4) {
        ip.family = ir::Family::V4;
    } else if (family == AF_INET6 && len == 16) {
        ip.family = ir::Family::V6;
    } else {
        return std::nullopt;
    }
    std::memcpy(ip.bytes.data(), mnl_attr_get_payload(a), len);
    return ip;
}

ir::LinkKind kindOf(const std::string& kind, unsigned flags) {
    if (flags & IFF_LOOPBACK) return ir::LinkKind::Loopback;
    if (kind == "vxlan") return ir::LinkKind::Vxlan;
    if (kind == "wireguard") return ir::LinkKind::WireGuard;
    if (kind == "veth") return ir::LinkKind::Veth;
    static const char* kTunnels[] = {"gre",    "gretap", "ipip", "sit",  "ip6tnl", "ip6gre",
                                     "geneve", "tun",    "vti",  "vti6", "xfrm"};
    for (const char* t : kTunnels)
        if (kind == t) return ir::LinkKind::Tunnel;
    return ir::LinkKind::Ethernet;
}

void readVxlan(const nlattr* data, ir::Interface& i) {
    forEachNested(data, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case IFLA_VXLAN_GROUP:
                i.underlayRemote = addressOf(a, AF_INET);
                break;
            case IFLA_VXLAN_GROUP6:
                i.underlayRemote = addressOf(a, AF_INET6);
                break;
            case IFLA_VXLAN_LOCAL:
                i.underlayLocal = addressOf(a, AF_INET);
                break;
            case IFLA_VXLAN_LOCAL6:
                i.underlayLocal = addressOf(a, AF_INET6);
                break;
            case IFLA_VXLAN_PORT:
                i.underlayPort = ntohs(mnl_attr_get_u16(a));
                break;
            default:
                break;
        }
    });
    // A remote of 0.0.0.0 means "learned from the FDB", not a known peer.
    if (i.underlayRemote && i.underlayRemote->isUnspecified()) i.underlayRemote.reset();
}

}  // namespace

NlStatus readLiveLinks(RtnlSocket& socket, std::vector<ir::Interface>& out) {
    std::map<int, ir::Interface> byIndex;
    NlStatus st =
        socket.dump(dumpOf(RTM_GETLINK, AF_UNSPEC, sizeof(ifinfomsg)), [&](const nlmsghdr& nlh) {
            if (nlh.nlmsg_type != RTM_NEWLINK) return;
            const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&nlh));
            ir::Interface iface;
            std::string kind;
            const nlattr* linkinfo = nullptr;
            forEachMessageAttr(nlh, sizeof(ifinfomsg), [&](const nlattr* a) {
                if (mnl_attr_get_type(a) == IFLA_IFNAME) iface.name = mnl_attr_get_str(a);
                if (mnl_attr_get_type(a) == IFLA_LINKINFO) linkinfo = a;
            });
            const nlattr* data = nullptr;
            if (linkinfo) {
                forEachNested(linkinfo, [&](const nlattr* b) {
                    if (mnl_attr_get_type(b) == IFLA_INFO_KIND) kind = mnl_attr_get_str(b);
                    if (mnl_attr_get_type(b) == IFLA_INFO_DATA) data = b;
                });
            }
            iface.kind = kindOf(kind, ifi->ifi_flags);
            if (iface.kind == ir::LinkKind::Vxlan && data) readVxlan(data, iface);
            if (iface.kind == ir::LinkKind::Vxlan && !iface.underlayPort) iface.underlayPort = 4789;
            byIndex[ifi->ifi_index] = std::move(iface);
        });
    if (!st.ok()) return st;
    st = socket.dump(dumpOf(RTM_GETADDR, AF_UNSPEC, sizeof(ifaddrmsg)), [&](const nlmsghdr& nlh) {
        if (nlh.nlmsg_type != RTM_NEWADDR) return;
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(&nlh));
        auto it = byIndex.find(static_cast<int>(ifa->ifa_index));
        if (it == byIndex.end()) return;
        std::optional<ir::IpAddr> local, address;
        forEachMessageAttr(nlh, sizeof(ifaddrmsg), [&](const nlattr* a) {
            if (mnl_attr_get_type(a) == IFA_LOCAL) local = addressOf(a, ifa->ifa_family);
            if (mnl_attr_get_type(a) == IFA_ADDRESS) address = addressOf(a, ifa->ifa_family);
        });
        // IFA_LOCAL is the host's own address on point-to-point links, IFA_ADDRESS the peer's
        if (auto own = local ? local : address)
            it->second.addresses.push_back(ir::Prefix{*own, ifa->ifa_prefixlen});
    });
    if (!st.ok()) return st;
    for (auto& [index, iface] : byIndex) out.push_back(std::move(iface));
    return st;
}

}  // namespace policyc::backends::netlink
