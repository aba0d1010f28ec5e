// SPDX-License-Identifier: GPL-2.0-or-later
// Text renderings of one host, each in its listing tool's own canonical form, so that the text
// policyc prints is exactly what the tool lists back after loading it.
#pragma once

#include <string>

#include "compiler/ir.h"

namespace policyc::backends {

/// iptables-restore input in iptables-legacy-save's form (without the comment and counter
/// noise): `V4` renders `ip` and `inet` tables for iptables, `V6` `ip6` and `inet` for ip6tables.
/// Tables without rules are still listed when they have a chain with a policy or a user chain.
std::string renderIptables(const ir::Host& host, ir::Family family);

/// `nft -f` input in `nft list ruleset` form: one nft table per family the host uses.
std::string renderNft(const ir::Host& host);

/// `ip -batch` input for one family: V4 is for `ip -batch FILE` (IPv4 rules and routes), V6 for
/// `ip -6 -batch FILE` (IPv6 rules and routes). Every line carries policyc's protocol tag.
std::string renderRoutes(const ir::Host& host, ir::Family family);

/// sysctl.conf lines `key = value`.
std::string renderSysctl(const ir::Host& host);

}  // namespace policyc::backends
