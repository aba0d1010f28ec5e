// SPDX-License-Identifier: GPL-2.0-or-later
// An rtnetlink socket (libmnl, kept out of this header): one request at a time, acknowledged,
// with the kernel's extended-ack text when it refuses; and dumps, delivered message by message.
// The same request/dump discipline serves generic netlink.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace policyc::backends::netlink {

/// One netlink message, nlmsghdr first; seq and portid are filled in by RtnlSocket.
using Message = std::vector<uint8_t>;

/// The outcome of a request or dump: errno 0 or the kernel's (positive) errno and its words.
struct NlStatus {
    int error = 0;
    std::string extack;  // NLMSGERR_ATTR_MSG, when the kernel gave one
    bool ok() const { return error == 0; }
    /// "strerror(error)" plus ": extack" when there is one.
    std::string describe() const;
};

class RtnlSocket {
  public:
    /// `protocol`: NETLINK_ROUTE (0), or NETLINK_GENERIC for a genetlink family (WireGuard).
    explicit RtnlSocket(int protocol = 0);
    ~RtnlSocket();
    RtnlSocket(const RtnlSocket&) = delete;
    RtnlSocket& operator=(const RtnlSocket&) = delete;

    /// Why the socket could not be opened or bound (error 0: it is usable).
    const NlStatus& openStatus() const { return open_; }
    /// Sends `msg` with NLM_F_REQUEST|NLM_F_ACK and waits for its acknowledgement.
    NlStatus request(Message msg);
    /// Sends `msg` as a dump request and hands every reply message to `each`. A dump the
    /// kernel marks as interrupted (NLM_F_DUMP_INTR) is started over, a few times at most.
    NlStatus dump(const Message& msg, const std::function<void(const nlmsghdr&)>& each);

  private:
    NlStatus send(Message& msg, uint16_t flags);
    NlStatus dumpOnce(const Message& msg, const std::function<void(const nlmsghdr&)>& each,
                      bool& interrupted);

    mnl_socket* nl_ = nullptr;
    NlStatus open_;
    uint32_t portid_ = 0;
    uint32_t seq_ = 0;
    std::vector<uint8_t> buffer_;
};

}  // namespace policyc::backends::netlink
