// SPDX-License-Identifier: GPL-2.0-or-later
// Bytes as lower-case hex and back: how kernel bytes policyc keeps verbatim (saved states,
// opaque xtables extensions) are written in JSON and text.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace policyc {

std::string toHex(std::span<const uint8_t> bytes);
/// nullopt for an odd length or a character that is not a lower-case hex digit.
std::optional<std::vector<uint8_t>> fromHex(std::string_view text);

}  // namespace policyc
