// SPDX-License-Identifier: GPL-2.0-or-later
// Byte values of the nftables backend: keys in the byte order nft uses, the shape nft gives a
// right-hand side (value, prefix, range or anonymous set, as nft_text_sets.cpp prints it) and
// the kernel numbers behind nft's symbolic names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::nft {

using Bytes = std::vector<uint8_t>;

Bytes hostU32(uint32_t v);
Bytes be16(uint32_t v);
Bytes be32(uint32_t v);
/// `len` bytes whose first `prefix` bits are set.
Bytes prefixMask(uint32_t len, uint32_t prefix);

/// One element of an anonymous set as nft sends it.
struct SetElem {
    Bytes key;
    bool end = false;   // NFT_SET_ELEM_INTERVAL_END
    bool open = false;  // an interval reaching the top of the key space (no end element)
};

/// A right-hand side after nft's own set processing (sorting, merging, single-element sets).
struct Shape {
    enum class Kind : uint8_t { Value, Prefix, Range, Set } kind = Kind::Value;
    Bytes lo, hi;
    uint32_t prefix = 0;
    bool interval = false;  // Set: an interval set
    std::vector<SetElem> elems;
};

Shape addrShape(const std::vector<ir::AddrItem>& items);
Shape portShape(const std::vector<ir::NumRange>& ports);

/// RTN_* of a kernel route type name ("local" 2 ...).
std::optional<uint32_t> routeTypeNumber(std::string_view name);
/// `limit rate N/unit`: the unit in seconds.
uint64_t limitUnitSeconds(std::string_view unit);
/// The icmp / icmpv6 code behind nft's reject code name.
std::optional<uint8_t> icmpCodeNumber(ir::Family family, std::string_view name);
/// NF_INET_* of a hook name.
uint32_t hookNumber(std::string_view hook);

}  // namespace policyc::backends::nft
