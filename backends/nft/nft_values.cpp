// SPDX-License-Identifier: GPL-2.0-or-later
// Byte values and right-hand-side shapes for the nftables backend. The shapes follow the rules
// nft_text_sets.cpp documents for the text (sorting, merging, one-element sets), and the set
// elements follow nft 1.0.6's interval encoding: a leading end element at zero, each interval as
// its start plus an end element one past it, and no end element for an interval that reaches the
// top of the key space (flagged "open" in the element's user data instead).
#include "backends/nft/nft_values.h"

#include <linux/netfilter.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace policyc::backends::nft {

Bytes hostU32(uint32_t v) {
    Bytes out(4);
    std::memcpy(out.data(), &v, 4);
    return out;
}

Bytes be16(uint32_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }

Bytes be32(uint32_t v) {
    return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes prefixMask(uint32_t len, uint32_t prefix) {
    Bytes out(len, 0);
    for (uint32_t i = 0; i < prefix && i < len * 8; ++i)
        out[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
    return out;
}

namespace {

struct Item {
    Bytes lo, hi;
    bool interval = false;
    Shape plain;  // the item written alone
};

bool increment(Bytes& b) {
    for (size_t i = b.size(); i-- > 0;)
        if (++b[i] != 0) return true;
    return false;
}

int blockPrefix(const Bytes& lo, const Bytes& hi) {
    const int bits = static_cast<int>(lo.size() * 8);
    auto bit = [](const Bytes& b, int i) { return (b[i / 8] >> (7 - i % 8)) & 1; };
    int p = 0;
    while (p < bits && bit(lo, p) == bit(hi, p)) ++p;
    for (int i = p; i < bits; ++i)
        if (bit(lo, i) != 0 || bit(hi, i) != 1) return -1;
    return p;
}

Shape value(const Bytes& v) {
    Shape s;
    s.lo = s.hi = v;
    return s;
}

Shape interval(const Bytes& lo, const Bytes& hi, bool blocks) {
    if (lo == hi) return value(lo);
    Shape s;
    s.lo = lo;
    s.hi = hi;
    const int p = blocks ? blockPrefix(lo, hi) : -1;
    if (p >= 0) {
        s.kind = Shape::Kind::Prefix;
        s.prefix = static_cast<uint32_t>(p);
    } else {
        s.kind = Shape::Kind::Range;
    }
    return s;
}

std::vector<std::pair<Bytes, Bytes>> merged(std::vector<Item> items) {
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.lo < b.lo; });
    std::vector<std::pair<Bytes, Bytes>> out;
    for (const Item& e : items) {
        if (!out.empty()) {
            Bytes next = out.back().second;
            const bool wrapped = !increment(next);
            if (wrapped || e.lo <= next) {
                out.back().second = std::max(out.back().second, e.hi);
                continue;
            }
        }
        out.emplace_back(e.lo, e.hi);
    }
    return out;
}

std::vector<SetElem> intervalElems(const std::vector<std::pair<Bytes, Bytes>>& ranges) {
    std::vector<SetElem> out;
    if (!ranges.empty() && std::any_of(ranges.front().first.begin(), ranges.front().first.end(),
                                       [](uint8_t b) { return b != 0; }))
        out.push_back({Bytes(ranges.front().first.size(), 0), true, false});
    for (const auto& [lo, hi] : ranges) {
        out.push_back({lo, false, false});
        Bytes end = hi;
        if (increment(end))
            out.push_back({end, true, false});
        else
            out.back().open = true;
    }
    return out;
}

Shape shapeOf(std::vector<Item> items, bool blocks) {
    if (items.size() == 1) return items.front().plain;
    const bool isInterval =
        std::any_of(items.begin(), items.end(), [](const Item& e) { return e.interval; });
    Shape s;
    s.kind = Shape::Kind::Set;
    if (isInterval) {
        const auto ranges = merged(std::move(items));
        if (ranges.size() == 1) return interval(ranges[0].first, ranges[0].second, blocks);
        s.interval = true;
        s.elems = intervalElems(ranges);
        return s;
    }
    std::vector<Bytes> values;
    for (const Item& e : items) values.push_back(e.lo);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    if (values.size() == 1) return value(values.front());
    for (const Bytes& v : values) s.elems.push_back({v, false, false});
    return s;
}

Bytes addrBytes(const ir::IpAddr& a) {
    const size_t n = a.family == ir::Family::V4 ? 4 : 16;
    return Bytes(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

Item addrItem(const ir::AddrItem& item) {
    Item e;
    if (auto* p = std::get_if<ir::Prefix>(&item)) {
        const ir::Prefix net = p->network();
        e.lo = addrBytes(net.addr);
        e.hi = e.lo;
        for (int i = net.length; i < static_cast<int>(e.hi.size() * 8); ++i)
            e.hi[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(0x80 >> (i % 8));
        e.interval = !net.isHost();
        if (net.isHost()) {
            e.plain = value(e.lo);
        } else {
            e.plain.kind = Shape::Kind::Prefix;
            e.plain.lo = e.lo;
            e.plain.hi = e.hi;
            e.plain.prefix = net.length;
        }
    } else {
        const auto& r = std::get<ir::AddrRange>(item);
        e.lo = addrBytes(r.first);
        e.hi = addrBytes(r.last);
        e.interval = r.first != r.last;
        if (e.interval) {
            e.plain.kind = Shape::Kind::Range;
            e.plain.lo = e.lo;
            e.plain.hi = e.hi;
        } else {
            e.plain = value(e.lo);
        }
    }
    return e;
}

}  // namespace

Shape addrShape(const std::vector<ir::AddrItem>& items) {
    std::vector<Item> elems;
    for (const auto& item : items) elems.push_back(addrItem(item));
    return shapeOf(std::move(elems), true);
}

Shape portShape(const std::vector<ir::NumRange>& ports) {
    std::vector<Item> elems;
    for (const auto& p : ports) {
        Item e{be16(p.first), be16(p.last), !p.single(), {}};
        e.plain = p.single() ? value(e.lo) : interval(e.lo, e.hi, false);
        elems.push_back(std::move(e));
    }
    return shapeOf(std::move(elems), false);
}

std::optional<uint32_t> routeTypeNumber(std::string_view name) {
    static constexpr std::array<std::string_view, 12> kTypes = {
        "unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
        "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};
    for (size_t i = 0; i < kTypes.size(); ++i)
        if (kTypes[i] == name) return static_cast<uint32_t>(i);
    return std::nullopt;
}

uint64_t limitUnitSeconds(std::string_view unit) {
    if (unit == "minute") return 60;
    if (unit == "hour") return 3600;
    if (unit == "day") return 86400;
    if (unit == "week") return 604800;
    return 1;
}

std::optional<uint8_t> icmpCodeNumber(ir::Family family, std::string_view name) {
    using P = std::pair<std::string_view, uint8_t>;
    static constexpr std::array<P, 8> kV4 = {{{"net-unreachable", 0},
                                             {"host-unreachable", 1},
                                             {"prot-unreachable", 2},
                                             {"port-unreachable", 3},
                                             {"frag-needed", 4},
                                             {"net-prohibited", 9},
                                             {"host-prohibited", 10},
                                             {"admin-prohibited", 13}}};
    static constexpr std::array<P, 6> kV6 = {{{"no-route", 0},
                                             {"admin-prohibited", 1},
                                             {"addr-unreachable", 3},
                                             {"port-unreachable", 4},
                                             {"policy-fail", 5},
                                             {"reject-route", 6}}};
    if (family == ir::Family::V4) {
        for (const auto& [n, c] : kV4)
            if (n == name) return c;
    } else {
        for (const auto& [n, c] : kV6)
            if (n == name) return c;
    }
    return std::nullopt;
}

uint32_t hookNumber(std::string_view hook) {
    if (hook == "prerouting") return NF_INET_PRE_ROUTING;
    if (hook == "input") return NF_INET_LOCAL_IN;
    if (hook == "forward") return NF_INET_FORWARD;
    if (hook == "output") return NF_INET_LOCAL_OUT;
    return NF_INET_POST_ROUTING;
}

}  // namespace policyc::backends::nft
