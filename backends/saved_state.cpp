// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/saved_state.h"

namespace policyc::backends {

std::string toHex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

std::optional<std::vector<uint8_t>> fromHex(std::string_view text) {
    if (text.size() % 2) return std::nullopt;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::vector<uint8_t> out;
    out.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2) {
        const int hi = digit(text[i]), lo = digit(text[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return out;
}

std::optional<ApplySteps> restoreSteps(const nlohmann::json& saved, std::string& error) {
    if (!saved.is_array()) {
        error = "the saved state is not a list of steps";
        return std::nullopt;
    }
    // Saved in apply order: legacy tables or the nft step, then routing, then sysctls. Each
    // backend takes its own kinds.
    ApplySteps steps;
    try {
        for (auto* make : {&legacyRestoreSteps, &nftRestoreSteps, &routingRestoreSteps}) {
            auto part = make(saved, error);
            if (!part) return std::nullopt;
            for (auto& s : *part) steps.push_back(std::move(s));
        }
    } catch (const nlohmann::json::exception& e) {
        error = std::string("the saved state is malformed: ") + e.what();
        return std::nullopt;
    }
    return steps;
}

}  // namespace policyc::backends
