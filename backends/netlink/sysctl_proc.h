// SPDX-License-Identifier: GPL-2.0-or-later
// Sysctls through /proc/sys, as sysctl(8) does: reading a key's value and writing a new one.
// /proc/sys/net belongs to the calling thread's network namespace.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace policyc::backends::netlink {

/// /proc/sys path of a dotted key: dots become slashes and a slash (the dot inside an interface
/// name, as sysctl spells net.ipv4.conf.eth0/100.rp_filter) a dot. Nullopt for a key that
/// would leave /proc/sys (an empty, "." or ".." component).
std::optional<std::string> sysctlPath(std::string_view key);

/// The value without its trailing newline; nullopt with `error` (an errno) when unreadable.
std::optional<std::string> readSysctl(std::string_view key, int& error);
/// Writes `value`; 0 or the errno of the open or write (EINVAL: the kernel refused the value).
int writeSysctl(std::string_view key, const std::string& value);

}  // namespace policyc::backends::netlink
