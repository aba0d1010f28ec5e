// SPDX-License-Identifier: GPL-2.0-or-later
// RtnlSocket over libmnl. Errors are parsed by hand rather than with mnl_cb_run so that the
// extended ack (the kernel's own explanation of a refusal) reaches the diagnostic.
#include "backends/netlink/rtnl_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace policyc::backends::netlink {

namespace {

constexpr int kDumpAttempts = 4;
// Large enough for any dump datagram (libmnl's later MNL_SOCKET_DUMP_SIZE).
constexpr size_t kReceiveBuffer = 32768;

int errorAttribute(const nlattr* attr, void* data) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
        *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
    return MNL_CB_OK;
}

/// The errno and extended-ack text of an NLMSG_ERROR message (error 0: an acknowledgement).
NlStatus parseError(const nlmsghdr* nlh) {
    NlStatus status;
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return {EBADMSG, "truncated error"};
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    status.error = -err->error;
    if (status.error != 0 && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        // The attributes follow the echoed request, which NETLINK_CAP_ACK cuts to its header.
        size_t offset = sizeof(nlmsgerr);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
        if (mnl_nlmsg_size(offset) <= nlh->nlmsg_len)
            mnl_attr_parse(nlh, static_cast<unsigned>(offset), errorAttribute, &status.extack);
    }
    return status;
}

}  // namespace

std::string NlStatus::describe() const {
    std::ostringstream out;
    out << std::strerror(error);
    if (!extack.empty()) out << ": " << extack;
    return out.str();
}

RtnlSocket::RtnlSocket(int protocol) : buffer_(kReceiveBuffer) {
    nl_ = mnl_socket_open(protocol);
    if (!nl_) {
        open_ = {errno, "cannot open a netlink socket"};
        return;
    }
    // Both are optional refinements: older kernels without them still work.
    int one = 1;
    mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
        open_ = {errno, "cannot bind the netlink socket"};
        return;
    }
    portid_ = mnl_socket_get_portid(nl_);
}

RtnlSocket::~RtnlSocket() {
    if (nl_) mnl_socket_close(nl_);
}

NlStatus RtnlSocket::send(Message& msg, uint16_t flags) {
    if (!open_.ok()) return open_;
    auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
    nlh->nlmsg_flags |= flags;
    nlh->nlmsg_seq = ++seq_;
    nlh->nlmsg_pid = 0;
    if (mnl_socket_sendto(nl_, msg.data(), nlh->nlmsg_len) < 0) return {errno, ""};
    return {};
}

NlStatus RtnlSocket::request(Message msg) {
    if (NlStatus sent = send(msg, NLM_F_REQUEST | NLM_F_ACK); !sent.ok()) return sent;
    const uint32_t seq = seq_;
    for (;;) {
        const ssize_t len = mnl_socket_recvfrom(nl_, buffer_.data(), buffer_.size());
        if (len < 0) return {errno, ""};
        int remaining = static_cast<int>(len);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data());
             mnl_nlmsg_ok(nlh, remaining); nlh = mnl_nlmsg_next(nlh, &remaining)) {
            if (nlh->nlmsg_seq == seq && nlh->nlmsg_type == NLMSG_ERROR) return parseError(nlh);
        }
    }
}

NlStatus RtnlSocket::dumpOnce(const Message& request,
                              const std::function<void(const nlmsghdr&)>& each, bool& interrupted) {
    Message msg = request;
    if (NlStatus sent = send(msg, NLM_F_REQUEST | NLM_F_DUMP); !sent.ok()) return sent;
    const uint32_t seq = seq_;
    for (;;) {
        const ssize_t len = mnl_socket_recvfrom(nl_, buffer_.data(), buffer_.size());
        if (len < 0) return {errno, ""};
        int remaining = static_cast<int>(len);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data());
             mnl_nlmsg_ok(nlh, remaining); nlh = mnl_nlmsg_next(nlh, &remaining)) {
            if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;
            if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
            if (nlh->nlmsg_type == NLMSG_DONE) return {};
            if (nlh->nlmsg_type == NLMSG_ERROR) return parseError(nlh);
            if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) each(*nlh);
        }
    }
}

NlStatus RtnlSocket::dump(const Message& msg, const std::function<void(const nlmsghdr&)>& each) {
    // Messages of an interrupted dump are buffered so that `each` sees one consistent dump.
    for (int attempt = 0;; ++attempt) {
        std::vector<Message> messages;
        bool interrupted = false;
        const NlStatus status = dumpOnce(
            msg,
            [&](const nlmsghdr& nlh) {
                const auto* bytes = reinterpret_cast<const uint8_t*>(&nlh);
                messages.emplace_back(bytes, bytes + nlh.nlmsg_len);
            },
            interrupted);
        if (!status.ok()) return status;
        if (interrupted && attempt + 1 < kDumpAttempts) continue;
        if (interrupted) return {EINTR, "the dump kept changing while it was read"};
        for (const auto& m : messages) each(*reinterpret_cast<const nlmsghdr*>(m.data()));
        return {};
    }
}

}  // namespace policyc::backends::netlink
