// SPDX-License-Identifier: GPL-2.0-or-later
// Anonymous set elements the way nft 1.0.6 lists them. Measured rules (nft_oracle.sh):
// - a set of plain values only is a hash set: listed sorted, duplicates dropped, never merged;
// - one prefix or range makes it an interval set: sorted, overlapping and adjacent elements
//   merged; each interval then prints as a value, an aligned address block as a/len, else a-b;
// - a single item is no set at all (a range stays a-b even when it is a block);
// - a set of several items that merges into one element is listed with braces, but reloading
//   that listing yields the plain element, which is what we print (the listing's fixpoint).
#include "backends/text/nft_text_sets.h"

#include <algorithm>
#include <cstdint>
#include <functional>

namespace policyc::backends::nft {
namespace {

using Bytes = std::vector<uint8_t>;  // big-endian, one width per set

struct Element {
    Bytes lo, hi;
    bool interval = false;  // written as a prefix or range, which makes the set an interval set
    std::string plain;      // the spelling of this element alone
};

/// lo + 1; false when it wraps.
bool increment(Bytes& b) {
    for (size_t i = b.size(); i-- > 0;)
        if (++b[i] != 0) return true;
    return false;
}

/// The prefix length when [lo, hi] is exactly one aligned block, else -1.
int blockPrefix(const Bytes& lo, const Bytes& hi) {
    const int bits = static_cast<int>(lo.size() * 8);
    auto bit = [](const Bytes& b, int i) { return (b[i / 8] >> (7 - i % 8)) & 1; };
    int p = 0;
    while (p < bits && bit(lo, p) == bit(hi, p)) ++p;
    for (int i = p; i < bits; ++i)
        if (bit(lo, i) != 0 || bit(hi, i) != 1) return -1;
    return p;
}

using Printer = std::function<std::string(const Bytes&)>;

std::string intervalText(const Bytes& lo, const Bytes& hi, bool blocks, const Printer& print) {
    if (lo == hi) return print(lo);
    if (blocks) {
        const int p = blockPrefix(lo, hi);
        if (p >= 0) return print(lo) + "/" + std::to_string(p);
    }
    return print(lo) + "-" + print(hi);
}

std::vector<std::pair<Bytes, Bytes>> merged(std::vector<Element> elems) {
    std::sort(elems.begin(), elems.end(),
              [](const Element& a, const Element& b) { return a.lo < b.lo; });
    std::vector<std::pair<Bytes, Bytes>> out;
    for (const Element& e : elems) {
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

std::string setText(std::vector<Element> elems, bool blocks, const Printer& print) {
    if (elems.size() == 1) return elems.front().plain;
    std::vector<std::string> shown;
    const bool interval =
        std::any_of(elems.begin(), elems.end(), [](const Element& e) { return e.interval; });
    if (interval) {
        for (const auto& [lo, hi] : merged(std::move(elems)))
            shown.push_back(intervalText(lo, hi, blocks, print));
    } else {
        std::sort(elems.begin(), elems.end(),
                  [](const Element& a, const Element& b) { return a.lo < b.lo; });
        Bytes last;
        for (const Element& e : elems) {
            if (!shown.empty() && e.lo == last) continue;
            shown.push_back(print(e.lo));
            last = e.lo;
        }
    }
    // nft lists `{ x }` for a set that merged into one element, but reads `{ x }` back as x
    // alone, so only the plain spelling is listed unchanged.
    if (shown.size() == 1) return shown.front();
    std::string out = "{ ";
    for (size_t i = 0; i < shown.size(); ++i) out += (i ? ", " : "") + shown[i];
    return out + " }";
}

Bytes addrBytes(const ir::IpAddr& a) {
    const size_t n = a.family == ir::Family::V4 ? 4 : 16;
    return Bytes(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

ir::IpAddr bytesAddr(const Bytes& b) {
    ir::IpAddr a;
    a.family = b.size() == 4 ? ir::Family::V4 : ir::Family::V6;
    std::copy(b.begin(), b.end(), a.bytes.begin());
    return a;
}

Element addrElement(const ir::AddrItem& item) {
    Element e;
    if (auto* p = std::get_if<ir::Prefix>(&item)) {
        const ir::Prefix net = p->network();
        e.lo = addrBytes(net.addr);
        e.hi = e.lo;
        for (int i = net.length; i < static_cast<int>(e.hi.size() * 8); ++i)
            e.hi[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(0x80 >> (i % 8));
        e.interval = !net.isHost();
        e.plain = net.isHost() ? net.addr.str() : net.str();
    } else {
        const auto& r = std::get<ir::AddrRange>(item);
        e.lo = addrBytes(r.first);
        e.hi = addrBytes(r.last);
        // A one-address range is written as the address, a plain value.
        e.interval = r.first != r.last;
        e.plain = e.interval ? r.first.str() + "-" + r.last.str() : r.first.str();
    }
    return e;
}

Bytes portBytes(uint32_t v) {
    return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v & 0xff)};
}

}  // namespace

std::string addrSetText(const std::vector<ir::AddrItem>& items) {
    std::vector<Element> elems;
    for (const auto& item : items) elems.push_back(addrElement(item));
    return setText(std::move(elems), true, [](const Bytes& b) { return bytesAddr(b).str(); });
}

std::string portSetText(const std::vector<ir::NumRange>& ports) {
    std::vector<Element> elems;
    for (const auto& p : ports) {
        Element e{portBytes(p.first), portBytes(p.last), !p.single(), ""};
        e.plain = p.single() ? std::to_string(p.first)
                             : std::to_string(p.first) + "-" + std::to_string(p.last);
        elems.push_back(std::move(e));
    }
    return setText(std::move(elems), false, [](const Bytes& b) {
        return std::to_string((static_cast<unsigned>(b[0]) << 8) | b[1]);
    });
}

}  // namespace policyc::backends::nft
