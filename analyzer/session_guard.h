// SPDX-License-Identifier: GPL-2.0-or-later
// The apply-time guard of `lockout-risk`: would the host's filter drop a packet of the SSH
// session the operator is applying through (SSH_CONNECTION)? Decided on the packet-space
// algebra, conservatively: a rule that may drop some packet of the session counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/ir.h"

namespace policyc::analyzer {

/// One TCP connection as sshd describes it in SSH_CONNECTION: "CLIENT CPORT SERVER SPORT".
struct SshSession {
    ir::IpAddr client;
    uint16_t clientPort = 0;
    ir::IpAddr server;
    uint16_t serverPort = 0;
};

/// nullopt when the text is not four fields of that shape (both addresses of one family).
std::optional<SshSession> parseSshConnection(std::string_view text);

/// Where the session would be cut: the first filter rule (INPUT for its packets, OUTPUT for
/// the replies) that may drop or reject an established packet of it before a rule accepts all
/// of them, or the chain's DROP policy. nullopt: the session survives.
struct SessionCut {
    std::string where;  // "filter INPUT rule 3", "filter INPUT policy DROP"
    SourceSpan span;
};
std::optional<SessionCut> sessionCut(const ir::Host& host, const SshSession& session);

}  // namespace policyc::analyzer
