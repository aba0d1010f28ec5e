// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/netlink/wireguard_genl.h"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include <cerrno>

namespace policyc::backends::netlink {

namespace {

constexpr size_t kRoom = 256;  // a header, a genl header and one name attribute

Message genlRequest(uint16_t type, uint8_t cmd, uint8_t version,
                    void (*put)(nlmsghdr*, const std::string&), const std::string& arg) {
    Message buf(kRoom);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    genl->cmd = cmd;
    genl->version = version;
    put(nlh, arg);
    buf.resize(nlh->nlmsg_len);
    return buf;
}

/// The attribute of `type` in a genetlink message, if it is there.
const nlattr* genlAttr(const nlmsghdr& msg, uint16_t type) {
    if (msg.nlmsg_len < mnl_nlmsg_size(sizeof(genlmsghdr))) return nullptr;
    const nlattr* found = nullptr;
    struct Search {
        uint16_t type;
        const nlattr** found;
    } search{type, &found};
    mnl_attr_parse(
        &msg, sizeof(genlmsghdr),
        [](const nlattr* attr, void* data) {
            auto* s = static_cast<Search*>(data);
            if (mnl_attr_get_type(attr) == s->type) *s->found = attr;
            return MNL_CB_OK;
        },
        &search);
    return found;
}

}  // namespace

Message familyRequest(const std::string& name) {
    return genlRequest(
        GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1,
        [](nlmsghdr* nlh, const std::string& n) {
            mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, n.c_str());
        },
        name);
}

std::optional<uint16_t> familyIdOf(const nlmsghdr& reply, const std::string& name) {
    const nlattr* named = genlAttr(reply, CTRL_ATTR_FAMILY_NAME);
    if (!named || mnl_attr_validate(named, MNL_TYPE_NUL_STRING) < 0 ||
        mnl_attr_get_str(named) != name)
        return std::nullopt;
    const nlattr* id = genlAttr(reply, CTRL_ATTR_FAMILY_ID);
    if (!id || mnl_attr_validate(id, MNL_TYPE_U16) < 0) return std::nullopt;
    return mnl_attr_get_u16(id);
}

Message wireGuardDeviceRequest(uint16_t family, const std::string& ifname) {
    return genlRequest(
        family, WG_CMD_GET_DEVICE, WG_GENL_VERSION,
        [](nlmsghdr* nlh, const std::string& n) {
            mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, n.c_str());
        },
        ifname);
}

std::optional<uint32_t> wireGuardFwmarkOf(const nlmsghdr& reply) {
    const nlattr* mark = genlAttr(reply, WGDEVICE_A_FWMARK);
    if (!mark || mnl_attr_validate(mark, MNL_TYPE_U32) < 0) return std::nullopt;
    return mnl_attr_get_u32(mark);
}

NlStatus readWireGuardFwmark(const std::string& ifname, uint32_t& fwmark) {
    RtnlSocket genl(NETLINK_GENERIC);
    if (!genl.openStatus().ok()) return genl.openStatus();
    // Asked as a dump, which RtnlSocket delivers message by message; kernels that do not
    // filter a family dump by name send every family, hence the name check in familyIdOf.
    std::optional<uint16_t> family;
    NlStatus st = genl.dump(familyRequest(WG_GENL_NAME), [&](const nlmsghdr& m) {
        if (!family) family = familyIdOf(m, WG_GENL_NAME);
    });
    if (!st.ok() && st.error != ENOENT) return st;
    if (!family) return {ENOENT, "the kernel has no wireguard genetlink family"};
    std::optional<uint32_t> mark;
    // WG_CMD_GET_DEVICE is dump-only: its reply may span several messages (peers).
    st = genl.dump(wireGuardDeviceRequest(*family, ifname), [&](const nlmsghdr& m) {
        if (!mark) mark = wireGuardFwmarkOf(m);
    });
    if (!st.ok()) return st;
    fwmark = mark.value_or(0);
    return {};
}

}  // namespace policyc::backends::netlink
