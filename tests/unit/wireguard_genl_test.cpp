// SPDX-License-Identifier: GPL-2.0-or-later
// WireGuard's fwmark over generic netlink. This kernel has no wireguard module, so the device
// reply is built here as the kernel's wg_get_device_dump writes it; the family lookup runs
// against the real kernel with a family every kernel has (nlctrl).
#include "backends/netlink/wireguard_genl.h"

#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include <cerrno>
#include <vector>

namespace nl = policyc::backends::netlink;

namespace {

/// A genetlink message of `family`/`cmd` with the attributes `put` adds.
template <class Put>
std::vector<uint8_t> genlMessage(uint16_t family, uint8_t cmd, Put put) {
    std::vector<uint8_t> buf(512);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = family;
    auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    genl->cmd = cmd;
    genl->version = WG_GENL_VERSION;
    put(nlh);
    buf.resize(nlh->nlmsg_len);
    return buf;
}

const nlmsghdr& header(const std::vector<uint8_t>& m) {
    return *reinterpret_cast<const nlmsghdr*>(m.data());
}

}  // namespace

TEST_CASE("wireguard genl: the fwmark of a device reply, and none in a continuation") {
    const auto first = genlMessage(30, WG_CMD_GET_DEVICE, [](nlmsghdr* nlh) {
        mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
        mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
        mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
        mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0xca6c);
    });
    CHECK(nl::wireGuardFwmarkOf(header(first)) == 0xca6cu);
    const auto more = genlMessage(30, WG_CMD_GET_DEVICE, [](nlmsghdr* nlh) {
        mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
    });
    CHECK_FALSE(nl::wireGuardFwmarkOf(header(more)));
    // a malformed attribute is no fwmark, not a misread one
    const auto shortMark = genlMessage(
        30, WG_CMD_GET_DEVICE, [](nlmsghdr* nlh) { mnl_attr_put_u16(nlh, WGDEVICE_A_FWMARK, 5); });
    CHECK_FALSE(nl::wireGuardFwmarkOf(header(shortMark)));
}

TEST_CASE("wireguard genl: the device request names the device in the wireguard family") {
    const auto req = nl::wireGuardDeviceRequest(30, "wg0");
    const nlmsghdr& nlh = header(req);
    CHECK(nlh.nlmsg_type == 30);
    const auto* genl = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(&nlh));
    CHECK(genl->cmd == WG_CMD_GET_DEVICE);
    CHECK(genl->version == WG_GENL_VERSION);
    std::string name;
    mnl_attr_parse(
        &nlh, sizeof(genlmsghdr),
        [](const nlattr* a, void* data) {
            if (mnl_attr_get_type(a) == WGDEVICE_A_IFNAME)
                *static_cast<std::string*>(data) = mnl_attr_get_str(a);
            return MNL_CB_OK;
        },
        &name);
    CHECK(name == "wg0");
}

TEST_CASE("wireguard genl: the family lookup, against the kernel's own controller") {
    // nlctrl is every kernel's first family, at the fixed id GENL_ID_CTRL.
    nl::RtnlSocket genl(NETLINK_GENERIC);
    REQUIRE_MESSAGE(genl.openStatus().ok(), genl.openStatus().describe());
    std::optional<uint16_t> id;
    auto st = genl.dump(nl::familyRequest("nlctrl"),
                        [&](const nlmsghdr& m) { id = id ? id : nl::familyIdOf(m, "nlctrl"); });
    REQUIRE_MESSAGE(st.ok(), st.describe());
    CHECK(id == uint16_t{GENL_ID_CTRL});
    // a reply about another family is not taken for the one asked for
    const auto other = genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [](nlmsghdr* nlh) {
        mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 21);
        mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "ethtool");
    });
    CHECK_FALSE(nl::familyIdOf(header(other), WG_GENL_NAME));
    CHECK(nl::familyIdOf(header(other), "ethtool") == uint16_t{21});

    // Where wireguard is not loaded, reading a device's fwmark says so.
    uint32_t mark = 0;
    const auto wg = nl::readWireGuardFwmark("wg0", mark);
    // With the module loaded and no wg0 the kernel says ENODEV; without it, policyc says why.
    CHECK((wg.ok() || wg.error == ENODEV || wg.error == ENOENT));
    if (wg.error == ENOENT)
        CHECK(wg.describe().find("no wireguard genetlink family") != std::string::npos);
}
