// SPDX-License-Identifier: GPL-2.0-or-later
// libnftnl objects -> IR: reads back every expression pattern nft_linearize.cpp emits (which are
// nft 1.0.6's own), eliding the dependencies nft adds (meta nfproto, ether type, iiftype) as
// nft's delinearizer does, and the common hand-written ones. Anything else is reported.
#include "backends/nft/nft_delinearize.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <sstream>

#include "backends/nft/nft_values.h"
#include "backends/text/nft_text_vocab.h"

namespace policyc::backends::nft {
namespace {

/// libnftnl returns NULL for an attribute a message lacks; the kernel always sends names, but a
/// dump is input, and a std::string from NULL is undefined behaviour (found by fuzzing).
std::string orEmpty(const char* s) { return s ? s : ""; }

using namespace policyc::ir;

// ---------------------------------------------------------------------------------------------
// Expression accessors

std::string_view nameOf(const nftnl_expr* e) {
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    return name ? name : "";
}
bool has(const nftnl_expr* e, uint16_t attr) { return nftnl_expr_is_set(e, attr); }
uint32_t u32(const nftnl_expr* e, uint16_t attr) { return nftnl_expr_get_u32(e, attr); }

Bytes data(const nftnl_expr* e, uint16_t attr) {
    uint32_t len = 0;
    const auto* p = static_cast<const uint8_t*>(nftnl_expr_get(e, attr, &len));
    return p ? Bytes(p, p + len) : Bytes{};
}

uint32_t hostValue(const Bytes& b) {
    uint32_t v = 0;
    std::memcpy(&v, b.data(), std::min<size_t>(b.size(), 4));
    return v;
}

uint32_t beValue(const Bytes& b) {
    uint32_t v = 0;
    for (uint8_t x : b) v = (v << 8) | x;
    return v;
}

/// Leading one bits of a mask, or -1 when the mask is not a prefix.
int prefixLength(const Bytes& mask) {
    int n = 0;
    const int bits = static_cast<int>(mask.size() * 8);
    while (n < bits && (mask[n / 8] & (0x80 >> (n % 8)))) ++n;
    for (int i = n; i < bits; ++i)
        if (mask[i / 8] & (0x80 >> (i % 8))) return -1;
    return n;
}

bool decrement(Bytes& b) {
    for (size_t i = b.size(); i-- > 0;)
        if (b[i]-- != 0) return true;
    return false;
}

IpAddr ipOf(const Bytes& b) {
    IpAddr a;
    a.family = b.size() == 16 ? Family::V6 : Family::V4;
    std::copy_n(b.begin(), std::min<size_t>(b.size(), 16), a.bytes.begin());
    return a;
}

/// A CIDR block becomes a prefix (as nft lists it), anything else a range.
AddrItem addrItem(const Bytes& lo, const Bytes& hi) {
    Bytes mask(lo.size(), 0);
    int p = 0;
    const int bits = static_cast<int>(lo.size() * 8);
    auto bit = [](const Bytes& b, int i) { return (b[i / 8] >> (7 - i % 8)) & 1; };
    while (p < bits && bit(lo, p) == bit(hi, p)) ++p;
    bool block = true;
    for (int i = p; i < bits; ++i) block = block && bit(lo, i) == 0 && bit(hi, i) == 1;
    if (block) return Prefix{ipOf(lo), static_cast<uint8_t>(p)};
    return AddrRange{ipOf(lo), ipOf(hi)};
}

// ---------------------------------------------------------------------------------------------
// Sets

struct SetIndex {
    std::map<std::tuple<uint16_t, std::string, std::string>, const nftnl_set*> byName;
    std::map<uint32_t, const nftnl_set*> byId;  // linearizer output: names repeat, ids do not
};

/// Elements as inclusive ranges; nft's interval encoding is a start element plus an end element
/// one past the last value, none for an interval open to the top.
std::vector<std::pair<Bytes, Bytes>> setRanges(const nftnl_set* s) {
    struct El {
        Bytes key;
        bool end;
    };
    std::vector<El> els;
    auto* it = nftnl_set_elems_iter_create(const_cast<nftnl_set*>(s));
    for (auto* e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
        uint32_t len = 0;
        const auto* k =
            static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
        const bool end =
            nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
            (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
        els.push_back({Bytes(k, k + len), end});
    }
    nftnl_set_elems_iter_destroy(it);
    std::vector<std::pair<Bytes, Bytes>> out;
    const bool interval = nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL;
    if (!interval) {
        for (const El& e : els) out.emplace_back(e.key, e.key);
        std::sort(out.begin(), out.end());
        return out;
    }
    std::stable_sort(els.begin(), els.end(),
                     [](const El& a, const El& b) { return a.key < b.key; });
    for (size_t i = 0; i < els.size(); ++i) {
        if (els[i].end) continue;  // the leading end element at zero
        if (i + 1 < els.size() && els[i + 1].end) {
            Bytes hi = els[i + 1].key;
            decrement(hi);
            out.emplace_back(els[i].key, hi);
            ++i;
        } else {
            out.emplace_back(els[i].key, Bytes(els[i].key.size(), 0xff));
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Right-hand sides: what a loaded register is compared with

struct Rhs {
    enum class Kind : uint8_t { Eq, Neq, Range, NotRange, Set } kind = Kind::Eq;
    bool negated = false;  // Set: inverted lookup
    Bytes value, hi;
    std::optional<Bytes> mask;  // a bitwise before the comparison (xor zero)
    std::vector<std::pair<Bytes, Bytes>> ranges;
};

// ---------------------------------------------------------------------------------------------
// One rule

struct RuleReader {
    std::vector<nftnl_expr*> ex;
    size_t i = 0;
    TableFamily table = TableFamily::Inet;
    uint16_t family = 0;
    std::string tableName;
    std::string legacyTable;
    bool ownTable = false;
    const SetIndex* sets = nullptr;
    const std::string* cgroupRoot = nullptr;

    std::optional<Family> network;    // from the table, nfproto or ether type
    std::optional<Family> depFamily;  // a dependency that still needs a user
    bool familyUsed = false;
    bool familyFromMatch = false;
    std::optional<uint8_t> l4;
    std::vector<Match> matches;
    std::vector<Target> actions;
    bool counter = false;  // a counter statement: the rule counts (NoTarget::counts)
    std::string error;

    const nftnl_expr* peek(size_t k = 0) const { return i + k < ex.size() ? ex[i + k] : nullptr; }
    bool peekIs(size_t k, std::string_view n) const { return peek(k) && nameOf(peek(k)) == n; }
    bool fail(const std::string& why) {
        if (error.empty()) error = why;
        return false;
    }
    void useFamily(Family f, bool fromMatch) {
        if (depFamily == f) familyUsed = true;
        if (fromMatch) familyFromMatch = true;
    }
};

bool readRhs(RuleReader& r, Rhs& out) {
    if (r.peekIs(0, "bitwise")) {
        const nftnl_expr* b = r.peek();
        const Bytes x = data(b, NFTNL_EXPR_BITWISE_XOR);
        if (std::any_of(x.begin(), x.end(), [](uint8_t v) { return v != 0; }))
            return r.fail("a bitwise xor in a match");
        out.mask = data(b, NFTNL_EXPR_BITWISE_MASK);
        ++r.i;
    }
    const nftnl_expr* e = r.peek();
    if (!e) return r.fail("a load without a comparison");
    const std::string_view n = nameOf(e);
    if (n == "cmp") {
        const uint32_t op = u32(e, NFTNL_EXPR_CMP_OP);
        out.value = data(e, NFTNL_EXPR_CMP_DATA);
        ++r.i;
        if (op == NFT_CMP_EQ) return out.kind = Rhs::Kind::Eq, true;
        if (op == NFT_CMP_NEQ) return out.kind = Rhs::Kind::Neq, true;
        if (op == NFT_CMP_GTE && r.peekIs(0, "cmp") &&
            u32(r.peek(), NFTNL_EXPR_CMP_OP) == NFT_CMP_LTE) {
            out.hi = data(r.peek(), NFTNL_EXPR_CMP_DATA);
            ++r.i;
            return out.kind = Rhs::Kind::Range, true;
        }
        return r.fail("a comparison other than ==, != or a range");
    }
    if (n == "range") {
        if (u32(e, NFTNL_EXPR_RANGE_OP) != NFT_RANGE_NEQ) {
            out.kind = Rhs::Kind::Range;
        } else {
            out.kind = Rhs::Kind::NotRange;
        }
        out.value = data(e, NFTNL_EXPR_RANGE_FROM_DATA);
        out.hi = data(e, NFTNL_EXPR_RANGE_TO_DATA);
        ++r.i;
        return true;
    }
    if (n == "lookup") {
        const nftnl_set* s = nullptr;
        if (has(e, NFTNL_EXPR_LOOKUP_SET_ID)) {
            auto it = r.sets->byId.find(u32(e, NFTNL_EXPR_LOOKUP_SET_ID));
            if (it != r.sets->byId.end()) s = it->second;
        }
        if (!s) {
            auto it = r.sets->byName.find(
                {r.family, r.tableName, orEmpty(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET))});
            if (it != r.sets->byName.end()) s = it->second;
        }
        if (!s) return r.fail("a lookup in a set that is not in the dump");
        if (has(e, NFTNL_EXPR_LOOKUP_DREG)) return r.fail("a map lookup");
        out.kind = Rhs::Kind::Set;
        out.negated =
            has(e, NFTNL_EXPR_LOOKUP_FLAGS) && (u32(e, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV);
        out.ranges = setRanges(s);
        ++r.i;
        return true;
    }
    return r.fail("a load followed by '" + std::string(n) + "'");
}

bool negatedOf(const Rhs& rhs) {
    return rhs.kind == Rhs::Kind::Neq || rhs.kind == Rhs::Kind::NotRange || rhs.negated;
}

// ---------------------------------------------------------------------------------------------
// Payload fields

enum class Field : uint8_t {
    Proto4,
    Saddr,
    Daddr,
    Sport,
    Dport,
    TcpFlags,
    IcmpType,
    IcmpCode,
    Mac,
    Ether
};

struct FieldAt {
    Field field;
    uint32_t offset;
    uint32_t len;
};

std::vector<FieldAt> fieldsOf(const RuleReader& r, uint32_t base) {
    switch (base) {
        case NFT_PAYLOAD_LL_HEADER:
            return {{Field::Mac, 6, 6}, {Field::Ether, 12, 2}};
        case NFT_PAYLOAD_NETWORK_HEADER:
            if (r.network == Family::V4)
                return {{Field::Proto4, 9, 1}, {Field::Saddr, 12, 4}, {Field::Daddr, 16, 4}};
            if (r.network == Family::V6) return {{Field::Saddr, 8, 16}, {Field::Daddr, 24, 16}};
            return {};
        case NFT_PAYLOAD_TRANSPORT_HEADER:
            if (r.l4 == 1 || r.l4 == 58) return {{Field::IcmpType, 0, 1}, {Field::IcmpCode, 1, 1}};
            if (r.l4 == 6)
                return {{Field::Sport, 0, 2}, {Field::Dport, 2, 2}, {Field::TcpFlags, 13, 1}};
            return {{Field::Sport, 0, 2}, {Field::Dport, 2, 2}};
    }
    return {};
}

Rhs slice(const Rhs& rhs, size_t from, size_t len) {
    Rhs s;
    s.kind = rhs.kind;
    s.value = Bytes(rhs.value.begin() + static_cast<std::ptrdiff_t>(from),
                    rhs.value.begin() + static_cast<std::ptrdiff_t>(from + len));
    return s;
}

bool addrField(RuleReader& r, Direction dir, uint32_t fieldLen, uint32_t loadLen, const Rhs& rhs) {
    const Family f = fieldLen == 4 ? Family::V4 : Family::V6;
    AddrMatch m{dir, negatedOf(rhs), {}};
    auto padded = [&](Bytes v) {
        v.resize(fieldLen, 0);
        return v;
    };
    switch (rhs.kind) {
        case Rhs::Kind::Eq:
        case Rhs::Kind::Neq: {
            int len = static_cast<int>(loadLen) * 8;
            if (rhs.mask && (len = prefixLength(*rhs.mask)) < 0) return r.fail("an address mask");
            m.items.push_back(Prefix{ipOf(padded(rhs.value)), static_cast<uint8_t>(len)});
            break;
        }
        case Rhs::Kind::Range:
        case Rhs::Kind::NotRange:
            m.items.push_back(addrItem(rhs.value, rhs.hi));
            break;
        case Rhs::Kind::Set:
            for (const auto& [lo, hi] : rhs.ranges) m.items.push_back(addrItem(lo, hi));
            break;
    }
    if (m.items.empty()) return r.fail("an empty address set");
    r.useFamily(f, true);
    r.matches.push_back(std::move(m));
    return true;
}

bool portField(RuleReader& r, Direction dir, const Rhs& rhs) {
    PortMatch m{dir, negatedOf(rhs), {}};
    switch (rhs.kind) {
        case Rhs::Kind::Eq:
        case Rhs::Kind::Neq:
            if (rhs.value.size() != 2 || rhs.mask) return r.fail("a partial port");
            m.ports.push_back({beValue(rhs.value), beValue(rhs.value)});
            break;
        case Rhs::Kind::Range:
        case Rhs::Kind::NotRange:
            m.ports.push_back({beValue(rhs.value), beValue(rhs.hi)});
            break;
        case Rhs::Kind::Set:
            for (const auto& [lo, hi] : rhs.ranges) m.ports.push_back({beValue(lo), beValue(hi)});
            break;
    }
    r.matches.push_back(std::move(m));
    return true;
}

bool simpleEq(const Rhs& rhs) {
    return (rhs.kind == Rhs::Kind::Eq || rhs.kind == Rhs::Kind::Neq) && !rhs.mask;
}

bool addProto(RuleReader& r, uint8_t proto, bool negated) {
    ProtoMatch p{proto, negated};
    if (!negated) r.l4 = proto;
    for (const Match& m : r.matches)
        if (auto* q = std::get_if<ProtoMatch>(&m); q && *q == p) return true;
    r.matches.push_back(p);
    return true;
}

bool applyField(RuleReader& r, const FieldAt& f, uint32_t loadLen, const Rhs& rhs) {
    switch (f.field) {
        case Field::Proto4:
            if (!simpleEq(rhs)) return r.fail("a protocol set or range");
            return addProto(r, rhs.value[0], rhs.kind == Rhs::Kind::Neq);
        case Field::Saddr:
        case Field::Daddr:
            return addrField(r,
                             f.field == Field::Saddr ? Direction::Source : Direction::Destination,
                             f.len, loadLen, rhs);
        case Field::Sport:
        case Field::Dport:
            return portField(
                r, f.field == Field::Sport ? Direction::Source : Direction::Destination, rhs);
        case Field::TcpFlags: {
            if ((rhs.kind != Rhs::Kind::Eq && rhs.kind != Rhs::Kind::Neq) ||
                rhs.value.size() != 1 || (rhs.mask && rhs.mask->size() != 1))
                return r.fail("a tcp flags set or range");
            const uint8_t mask = rhs.mask ? (*rhs.mask)[0] : 0xff;
            const uint8_t comp = rhs.value[0];
            if (mask == 0 || (comp & ~mask)) return r.fail("a tcp flags test policyc cannot spell");
            r.matches.push_back(TcpFlagsMatch{rhs.kind == Rhs::Kind::Neq, mask, comp});
            return true;
        }
        case Field::IcmpType: {
            if (!simpleEq(rhs)) return r.fail("an icmp type set");
            const Family fam = r.l4 == 1 ? Family::V4 : Family::V6;
            r.useFamily(fam, true);
            r.matches.push_back(IcmpMatch{fam, rhs.kind == Rhs::Kind::Neq, rhs.value[0], {}});
            return true;
        }
        case Field::IcmpCode: {
            IcmpMatch* last =
                r.matches.empty() ? nullptr : std::get_if<IcmpMatch>(&r.matches.back());
            if (!last || last->code || rhs.kind != Rhs::Kind::Eq || rhs.mask)
                return r.fail("an icmp code without its type");
            last->code = rhs.value[0];
            return true;
        }
        case Field::Mac: {
            if (!simpleEq(rhs) || rhs.value.size() != 6) return r.fail("a partial MAC address");
            MacMatch m{rhs.kind == Rhs::Kind::Neq, {}};
            std::copy_n(rhs.value.begin(), 6, m.mac.begin());
            r.matches.push_back(m);
            return true;
        }
        case Field::Ether: {
            // the dependency nft puts before a network header match in an inet table
            if (rhs.kind != Rhs::Kind::Eq || rhs.value.size() != 2) return r.fail("ether type");
            if (rhs.value == Bytes{0x08, 0x00})
                r.network = r.depFamily = Family::V4;
            else if (rhs.value == Bytes{0x86, 0xdd})
                r.network = r.depFamily = Family::V6;
            else
                return r.fail("ether type other than ip or ip6");
            return true;
        }
    }
    return false;
}

/// `icmp type . icmp code != { t . c }`: two loads into a concatenation and an inverted lookup.
bool readIcmpConcat(RuleReader& r) {
    r.i += 2;
    Rhs rhs;
    if (!readRhs(r, rhs) || rhs.kind != Rhs::Kind::Set || rhs.ranges.size() != 1 ||
        rhs.ranges[0].first.size() != 8)
        return r.fail("a concatenation other than icmp type . code");
    const Family fam = r.l4 == 1 ? Family::V4 : Family::V6;
    r.useFamily(fam, true);
    const Bytes& k = rhs.ranges[0].first;
    r.matches.push_back(IcmpMatch{fam, rhs.negated, k[0], k[4]});
    return true;
}

bool readPayload(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    if (u32(e, NFTNL_EXPR_PAYLOAD_DREG) != NFT_REG_1)
        return r.fail("a payload load into a register");
    const uint32_t base = u32(e, NFTNL_EXPR_PAYLOAD_BASE);
    const uint32_t offset = u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
    const uint32_t len = u32(e, NFTNL_EXPR_PAYLOAD_LEN);
    if (base == NFT_PAYLOAD_TRANSPORT_HEADER && r.peekIs(1, "payload") &&
        u32(r.peek(1), NFTNL_EXPR_PAYLOAD_DREG) != NFT_REG_1 && (r.l4 == 1 || r.l4 == 58))
        return readIcmpConcat(r);
    ++r.i;
    Rhs rhs;
    if (!readRhs(r, rhs)) return false;
    if (base == NFT_PAYLOAD_NETWORK_HEADER && !r.network)
        return r.fail("a network header match without a known family");
    const auto fields = fieldsOf(r, base);
    // One field, possibly a prefix of it ...
    for (const FieldAt& f : fields)
        if (f.offset == offset && len <= f.len &&
            (len == f.len || !simpleEq(rhs) || f.field == Field::Saddr || f.field == Field::Daddr))
            return applyField(r, f, len, rhs);
    // ... or several whole fields nft merged into one load.
    if (rhs.kind != Rhs::Kind::Eq || rhs.mask) return r.fail("a payload match policyc cannot read");
    uint32_t at = offset;
    while (at < offset + len) {
        auto f = std::find_if(fields.begin(), fields.end(), [&](const FieldAt& x) {
            return x.offset == at && x.offset + x.len <= offset + len;
        });
        if (f == fields.end()) return r.fail("a payload match policyc cannot read");
        if (!applyField(r, *f, f->len, slice(rhs, at - offset, f->len))) return false;
        at += f->len;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// meta and ct

std::optional<std::string> ifaceName(const Bytes& v) {
    auto nul = std::find(v.begin(), v.end(), 0);
    if (nul == v.end()) return std::string(v.begin(), v.end()) + "+";
    return std::string(v.begin(), nul);
}

/// `meta mark` / `ct mark` loaded, then (maybe a bitwise and) a store: a mark statement.
bool readMarkStore(RuleReader& r, bool fromCt) {
    std::optional<Bytes> mask, xorValue;
    size_t k = 1;
    if (r.peekIs(1, "bitwise")) {
        mask = data(r.peek(1), NFTNL_EXPR_BITWISE_MASK);
        xorValue = data(r.peek(1), NFTNL_EXPR_BITWISE_XOR);
        k = 2;
    }
    const nftnl_expr* store = r.peek(k);
    const bool toCt = nameOf(store) == "ct";
    const uint32_t key =
        u32(store, toCt ? uint16_t{NFTNL_EXPR_CT_KEY} : uint16_t{NFTNL_EXPR_META_KEY});
    if (key != (toCt ? uint32_t{NFT_CT_MARK} : uint32_t{NFT_META_MARK}))
        return r.fail("a store of a mark elsewhere");
    const uint32_t m = mask ? hostValue(*mask) : 0xffffffff;
    const uint32_t x = xorValue ? hostValue(*xorValue) : 0;
    r.i += k + 1;
    if (fromCt == toCt) {  // key = (key & ~mask) ^ value
        const MarkMask mm{x, ~m};
        if (toCt)
            r.actions.push_back(Connmark{Connmark::Op::Set, mm});
        else
            r.actions.push_back(SetMark{mm});
        return true;
    }
    if (x != 0) return r.fail("a mark copy with an xor");
    r.actions.push_back(Connmark{toCt ? Connmark::Op::Save : Connmark::Op::Restore, {0, m}});
    return true;
}

bool isStore(const nftnl_expr* e) {
    if (!e) return false;
    const auto n = nameOf(e);
    if (n == "meta") return has(e, NFTNL_EXPR_META_SREG);
    if (n == "ct") return has(e, NFTNL_EXPR_CT_SREG);
    return false;
}

bool readOwner(RuleReader& r, OwnerMatch::Kind kind) {
    OwnerMatch m{kind, false, {}};
    const bool swapped = r.peekIs(0, "byteorder");
    if (swapped) ++r.i;
    Rhs rhs;
    if (!readRhs(r, rhs) || rhs.mask) return r.fail("an owner match policyc cannot read");
    m.negated = negatedOf(rhs);
    auto num = [&](const Bytes& b) { return swapped ? beValue(b) : hostValue(b); };
    if (rhs.kind == Rhs::Kind::Eq || rhs.kind == Rhs::Kind::Neq)
        m.ids = {num(rhs.value), num(rhs.value)};
    else if (rhs.kind == Rhs::Kind::Set)
        return r.fail("a set of owners");
    else
        m.ids = {num(rhs.value), num(rhs.hi)};
    r.matches.push_back(m);
    return true;
}

bool readMeta(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    if (!has(e, NFTNL_EXPR_META_DREG)) return r.fail("a meta statement policyc cannot read");
    const uint32_t key = u32(e, NFTNL_EXPR_META_KEY);
    if (key == NFT_META_MARK &&
        (isStore(r.peek(1)) || (r.peekIs(1, "bitwise") && isStore(r.peek(2)))))
        return readMarkStore(r, false);
    ++r.i;
    if (key == NFT_META_SKUID || key == NFT_META_SKGID)
        return readOwner(r, key == NFT_META_SKUID ? OwnerMatch::Kind::Uid : OwnerMatch::Kind::Gid);
    Rhs rhs;
    if (!readRhs(r, rhs)) return false;
    const bool neg = negatedOf(rhs);
    switch (key) {
        case NFT_META_NFPROTO:
            if (rhs.kind != Rhs::Kind::Eq || rhs.value.size() != 1)
                return r.fail("a meta nfproto match policyc cannot read");
            if (rhs.value[0] != NFPROTO_IPV4 && rhs.value[0] != NFPROTO_IPV6)
                return r.fail("meta nfproto other than ipv4 or ipv6");
            r.network = r.depFamily = rhs.value[0] == NFPROTO_IPV4 ? Family::V4 : Family::V6;
            return true;
        case NFT_META_L4PROTO:
            if (!simpleEq(rhs) || rhs.value.size() != 1) return r.fail("a set of protocols");
            return addProto(r, rhs.value[0], neg);
        case NFT_META_IIFNAME:
        case NFT_META_OIFNAME: {
            if (!simpleEq(rhs)) return r.fail("a set of interface names");
            const auto dir = key == NFT_META_IIFNAME ? IfaceDirection::In : IfaceDirection::Out;
            r.matches.push_back(IfaceMatch{dir, neg, *ifaceName(rhs.value)});
            return true;
        }
        case NFT_META_MARK: {
            if (rhs.kind != Rhs::Kind::Eq && rhs.kind != Rhs::Kind::Neq)
                return r.fail("a set or range of marks");
            const uint32_t mask = rhs.mask ? hostValue(*rhs.mask) : 0xffffffff;
            r.matches.push_back(MarkMatch{neg, {hostValue(rhs.value), mask}});
            return true;
        }
        case NFT_META_IIFTYPE:
            // the dependency of an ether saddr match
            if (rhs.kind != Rhs::Kind::Eq || rhs.value != Bytes{1, 0})
                return r.fail("meta iiftype other than ether");
            return true;
    }
    return r.fail("meta key " + std::to_string(key));
}

bool readCt(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    if (!has(e, NFTNL_EXPR_CT_DREG)) return r.fail("a ct statement policyc cannot read");
    if (has(e, NFTNL_EXPR_CT_DIR)) return r.fail("a ct match with a direction");
    const uint32_t key = u32(e, NFTNL_EXPR_CT_KEY);
    if (key == NFT_CT_MARK &&
        (isStore(r.peek(1)) || (r.peekIs(1, "bitwise") && isStore(r.peek(2)))))
        return readMarkStore(r, true);
    ++r.i;
    Rhs rhs;
    if (!readRhs(r, rhs)) return false;
    if (key == NFT_CT_MARK) {
        if (rhs.kind != Rhs::Kind::Eq && rhs.kind != Rhs::Kind::Neq)
            return r.fail("a set or range of ct marks");
        const uint32_t mask = rhs.mask ? hostValue(*rhs.mask) : 0xffffffff;
        r.matches.push_back(ConnmarkMatch{negatedOf(rhs), {hostValue(rhs.value), mask}});
        return true;
    }
    if (key != NFT_CT_STATE) return r.fail("ct key " + std::to_string(key));
    // nft's ct_state bits: invalid 1, established 2, related 4, new 8, untracked 64
    static constexpr std::array<std::pair<uint32_t, uint8_t>, 5> kBits = {
        {{1, kCtInvalid}, {2, kCtEstablished}, {4, kCtRelated}, {8, kCtNew}, {64, kCtUntracked}}};
    auto states = [](uint32_t bits) {
        uint8_t s = 0;
        for (const auto& [b, st] : kBits)
            if (bits & b) s |= st;
        return s;
    };
    const uint32_t v = hostValue(rhs.value);
    if (rhs.mask && v == 0 && (rhs.kind == Rhs::Kind::Neq || rhs.kind == Rhs::Kind::Eq)) {
        // bits != 0: in the set; bits == 0: in none of them (a state has exactly one bit)
        r.matches.push_back(CtStateMatch{rhs.kind == Rhs::Kind::Eq, states(hostValue(*rhs.mask))});
        return true;
    }
    if (!rhs.mask && (rhs.kind == Rhs::Kind::Neq || rhs.kind == Rhs::Kind::Eq)) {
        if (std::has_single_bit(v)) {
            r.matches.push_back(CtStateMatch{rhs.kind == Rhs::Kind::Neq, states(v)});
            return true;
        }
        // The state compared with several bits (`ct state != a | b`, written by hand or by
        // policyc before 2026-11-22): no state equals it, so != holds for every packet.
        if (rhs.kind == Rhs::Kind::Neq) return true;
        return r.fail("a ct state compared with several states at once (matches nothing)");
    }
    return r.fail("a ct state match policyc cannot read");
}

// ---------------------------------------------------------------------------------------------
// socket, fib, limit

std::optional<std::string> cgroupPath(const std::string& root, uint32_t level, uint64_t id) {
    namespace fs = std::filesystem;
    std::error_code ec;
    auto inode = [](const fs::path& p) -> std::optional<uint64_t> {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return std::nullopt;
        return st.st_ino;
    };
    if (level == 0) return inode(root) == id ? std::optional<std::string>("/") : std::nullopt;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_directory(ec)) continue;
        if (static_cast<uint32_t>(it.depth()) + 1 < level) continue;
        if (static_cast<uint32_t>(it.depth()) + 1 > level) {
            it.disable_recursion_pending();
            continue;
        }
        it.disable_recursion_pending();
        if (inode(it->path()) == id) return "/" + fs::relative(it->path(), root).string();
    }
    return std::nullopt;
}

bool readSocket(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    const uint32_t key = u32(e, NFTNL_EXPR_SOCKET_KEY);
    const uint32_t level = has(e, NFTNL_EXPR_SOCKET_LEVEL) ? u32(e, NFTNL_EXPR_SOCKET_LEVEL) : 0;
    ++r.i;
    Rhs rhs;
    if (!readRhs(r, rhs) || !simpleEq(rhs)) return r.fail("a socket match policyc cannot read");
    if (key == NFT_SOCKET_CGROUPV2) {
        uint64_t id = 0;
        std::memcpy(&id, rhs.value.data(), std::min<size_t>(rhs.value.size(), 8));
        auto path = cgroupPath(*r.cgroupRoot, level, id);
        if (!path) return r.fail("a cgroup whose id is not under " + *r.cgroupRoot);
        r.matches.push_back(CgroupMatch{rhs.kind == Rhs::Kind::Neq, *path});
        return true;
    }
    if (rhs.kind != Rhs::Kind::Eq || rhs.value.size() != 1) return r.fail("a socket match");
    if (key == NFT_SOCKET_TRANSPARENT && rhs.value[0] == 1)
        return r.matches.push_back(SocketMatch{true}), true;
    if (key == NFT_SOCKET_WILDCARD && rhs.value[0] == 0)
        return r.matches.push_back(SocketMatch{false}), true;
    return r.fail("a socket match policyc cannot read");
}

bool readFib(RuleReader& r) {
    static constexpr std::array<std::string_view, 12> kTypes = {
        "unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
        "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};
    const nftnl_expr* e = r.peek();
    const uint32_t flags = u32(e, NFTNL_EXPR_FIB_FLAGS);
    if (u32(e, NFTNL_EXPR_FIB_RESULT) != NFT_FIB_RESULT_ADDRTYPE ||
        (flags != NFTA_FIB_F_SADDR && flags != NFTA_FIB_F_DADDR))
        return r.fail("a fib lookup other than saddr/daddr type");
    ++r.i;
    Rhs rhs;
    if (!readRhs(r, rhs) || !simpleEq(rhs)) return r.fail("a set of address types");
    const uint32_t t = hostValue(rhs.value);
    if (t >= kTypes.size()) return r.fail("address type " + std::to_string(t));
    r.matches.push_back(
        AddrTypeMatch{flags == NFTA_FIB_F_SADDR ? Direction::Source : Direction::Destination,
                      rhs.kind == Rhs::Kind::Neq, std::string(kTypes[t])});
    return true;
}

bool readLimit(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    ++r.i;
    if (u32(e, NFTNL_EXPR_LIMIT_TYPE) != NFT_LIMIT_PKTS ||
        (has(e, NFTNL_EXPR_LIMIT_FLAGS) && u32(e, NFTNL_EXPR_LIMIT_FLAGS) != 0))
        return r.fail("a byte or inverted limit");
    static constexpr std::array<std::pair<uint64_t, std::string_view>, 4> kUnits = {
        {{1, "second"}, {60, "minute"}, {3600, "hour"}, {86400, "day"}}};
    const uint64_t unit = nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_UNIT);
    for (const auto& [s, name] : kUnits)
        if (s == unit) {
            r.matches.push_back(
                LimitMatch{static_cast<uint32_t>(nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_RATE)),
                           std::string(name), u32(e, NFTNL_EXPR_LIMIT_BURST)});
            return true;
        }
    return r.fail("a limit per " + std::to_string(unit) + " seconds");
}

// ---------------------------------------------------------------------------------------------
// Statements

std::string rejectName(Family f, uint8_t code) {
    static constexpr std::array<std::string_view, 7> kV4 = {
        "icmp-net-unreachable",  "icmp-host-unreachable", "icmp-proto-unreachable",
        "icmp-port-unreachable", "icmp-net-prohibited",   "icmp-host-prohibited",
        "icmp-admin-prohibited"};
    static constexpr std::array<std::string_view, 6> kV6 = {
        "icmp6-no-route",         "icmp6-adm-prohibited", "icmp6-addr-unreachable",
        "icmp6-port-unreachable", "icmp6-policy-fail",    "icmp6-reject-route"};
    for (std::string_view n : f == Family::V4
                                  ? std::vector<std::string_view>(kV4.begin(), kV4.end())
                                  : std::vector<std::string_view>(kV6.begin(), kV6.end())) {
        auto kind = rejectKind(n, f);
        if (kind && icmpCodeNumber(f, kind->code) == code) return std::string(n);
    }
    return "";
}

bool readReject(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    ++r.i;
    const uint32_t type = u32(e, NFTNL_EXPR_REJECT_TYPE);
    const uint8_t code =
        has(e, NFTNL_EXPR_REJECT_CODE) ? nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE) : 0;
    if (type == NFT_REJECT_TCP_RST) return r.actions.push_back(Reject{"tcp-reset"}), true;
    if (type == NFT_REJECT_ICMPX_UNREACH) {
        if (code != NFT_REJECT_ICMPX_PORT_UNREACH) return r.fail("an icmpx reject code");
        return r.actions.push_back(Reject{}), true;
    }
    if (type != NFT_REJECT_ICMP_UNREACH || !r.network) return r.fail("a reject of unknown family");
    const Family f = *r.network;
    r.useFamily(f, false);
    // the family's default code is what plain `reject` gives once the family is known
    const bool known = r.table != TableFamily::Inet || r.familyFromMatch;
    if (known && code == (f == Family::V4 ? 3 : 4)) return r.actions.push_back(Reject{}), true;
    std::string name = rejectName(f, code);
    if (name.empty()) return r.fail("reject code " + std::to_string(code));
    r.actions.push_back(Reject{name});
    return true;
}

bool readLog(RuleReader& r) {
    const nftnl_expr* e = r.peek();
    ++r.i;
    if (has(e, NFTNL_EXPR_LOG_GROUP) || has(e, NFTNL_EXPR_LOG_FLAGS))
        return r.fail("log to a group or with flags");
    Log log;
    if (has(e, NFTNL_EXPR_LOG_PREFIX))
        log.prefix = orEmpty(nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX));
    // nft leaves out its default level (warning); the frontend spells it
    log.level = has(e, NFTNL_EXPR_LOG_LEVEL) ? static_cast<uint8_t>(u32(e, NFTNL_EXPR_LOG_LEVEL))
                                             : uint8_t{4};
    r.actions.push_back(log);
    return true;
}

bool readVerdict(RuleReader& r, const std::string& jumpPrefix) {
    const nftnl_expr* e = r.peek();
    ++r.i;
    const int code = static_cast<int>(u32(e, NFTNL_EXPR_IMM_VERDICT));
    auto target = [&]() {
        std::string c = orEmpty(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
        if (!jumpPrefix.empty() && c.rfind(jumpPrefix, 0) == 0) c.erase(0, jumpPrefix.size());
        return c;
    };
    switch (code) {
        case NF_ACCEPT:
            return r.actions.push_back(Accept{}), true;
        case NF_DROP:
            return r.actions.push_back(Drop{}), true;
        case NFT_RETURN:
            return r.actions.push_back(Return{}), true;
        case NFT_JUMP:
            return r.actions.push_back(Jump{target()}), true;
        case NFT_GOTO:
            return r.actions.push_back(Goto{target()}), true;
    }
    return r.fail("verdict " + std::to_string(code));
}

/// The exthdr write of `tcp option maxseg size set ...`, from reg 1.
bool isMssWrite(const nftnl_expr* e) {
    return e && nameOf(e) == "exthdr" && has(e, NFTNL_EXPR_EXTHDR_SREG) &&
           u32(e, NFTNL_EXPR_EXTHDR_SREG) == NFT_REG_1 &&
           u32(e, NFTNL_EXPR_EXTHDR_OP) == NFT_EXTHDR_OP_TCPOPT &&
           nftnl_expr_get_u8(e, NFTNL_EXPR_EXTHDR_TYPE) == 2 &&
           u32(e, NFTNL_EXPR_EXTHDR_OFFSET) == 2 && u32(e, NFTNL_EXPR_EXTHDR_LEN) == 2;
}

/// `rt load tcpmss`, a 2-byte hton and the MSS option write: `... set rt mtu`.
bool readRtMss(RuleReader& r) {
    const nftnl_expr* rt = r.peek();
    if (u32(rt, NFTNL_EXPR_RT_KEY) != NFT_RT_TCPMSS || u32(rt, NFTNL_EXPR_RT_DREG) != NFT_REG_1 ||
        !r.peekIs(1, "byteorder") || !isMssWrite(r.peek(2)))
        return r.fail("an rt expression other than 'tcp option maxseg size set rt mtu'");
    const nftnl_expr* bo = r.peek(1);
    if (u32(bo, NFTNL_EXPR_BYTEORDER_OP) != NFT_BYTEORDER_HTON ||
        u32(bo, NFTNL_EXPR_BYTEORDER_SIZE) != 2 || u32(bo, NFTNL_EXPR_BYTEORDER_LEN) != 2)
        return r.fail("an rt tcpmss load not turned to network order");
    r.i += 3;
    r.actions.push_back(TcpMss{});
    return true;
}

/// Data immediates load registers for the statement that follows them.
bool readImmediates(RuleReader& r) {
    std::map<uint32_t, Bytes> regs;
    while (r.peekIs(0, "immediate") && u32(r.peek(), NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT) {
        regs[u32(r.peek(), NFTNL_EXPR_IMM_DREG)] = data(r.peek(), NFTNL_EXPR_IMM_DATA);
        ++r.i;
    }
    const nftnl_expr* e = r.peek();
    if (!e) return r.fail("an immediate without a user");
    const std::string_view n = nameOf(e);
    ++r.i;
    auto reg = [&](uint16_t attr) -> std::optional<Bytes> {
        if (!has(e, attr)) return std::nullopt;
        auto it = regs.find(u32(e, attr));
        if (it == regs.end()) return std::nullopt;
        return it->second;
    };
    auto ports = [&](uint16_t minAttr, uint16_t maxAttr) -> std::optional<NumRange> {
        auto lo = reg(minAttr);
        if (!lo) return std::nullopt;
        auto hi = reg(maxAttr);
        return NumRange{beValue(*lo), beValue(hi ? *hi : *lo)};
    };
    if (isStore(e) && regs.size() == 1 && regs.count(NFT_REG_1)) {
        const bool ct = n == "ct";
        const uint32_t key =
            u32(e, ct ? uint16_t{NFTNL_EXPR_CT_KEY} : uint16_t{NFTNL_EXPR_META_KEY});
        if (key != (ct ? uint32_t{NFT_CT_MARK} : uint32_t{NFT_META_MARK}))
            return r.fail("a meta or ct statement");
        const MarkMask m{hostValue(regs[NFT_REG_1]), 0xffffffff};
        if (ct)
            r.actions.push_back(Connmark{Connmark::Op::Set, m});
        else
            r.actions.push_back(SetMark{m});
        return true;
    }
    if (isMssWrite(e) && regs.size() == 1 && regs.count(NFT_REG_1) && regs[NFT_REG_1].size() == 2) {
        r.actions.push_back(TcpMss{static_cast<uint16_t>(beValue(regs[NFT_REG_1]))});
        return true;
    }
    if (n == "nat") {
        Nat nat;
        nat.kind = u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_SNAT ? Nat::Kind::Snat : Nat::Kind::Dnat;
        if (auto a = reg(NFTNL_EXPR_NAT_REG_ADDR_MIN)) nat.first = ipOf(*a);
        if (auto a = reg(NFTNL_EXPR_NAT_REG_ADDR_MAX); a && nat.first && ipOf(*a) != *nat.first)
            nat.last = ipOf(*a);
        nat.ports = ports(NFTNL_EXPR_NAT_REG_PROTO_MIN, NFTNL_EXPR_NAT_REG_PROTO_MAX);
        if (nat.first) r.useFamily(nat.first->family, false);
        return r.actions.push_back(nat), true;
    }
    if (n == "masq")
        return r.actions.push_back(
                   Masquerade{ports(NFTNL_EXPR_MASQ_REG_PROTO_MIN, NFTNL_EXPR_MASQ_REG_PROTO_MAX)}),
               true;
    if (n == "redir")
        return r.actions.push_back(
                   Redirect{ports(NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFTNL_EXPR_REDIR_REG_PROTO_MAX)}),
               true;
    if (n == "tproxy") {
        Tproxy t;
        const uint32_t fam =
            has(e, NFTNL_EXPR_TPROXY_FAMILY) ? u32(e, NFTNL_EXPR_TPROXY_FAMILY) : uint32_t{0};
        if (auto a = reg(NFTNL_EXPR_TPROXY_REG_ADDR)) t.addr = ipOf(*a);
        if (fam == NFPROTO_IPV6 || (t.addr && t.addr->family == Family::V6) ||
            (fam != NFPROTO_IPV4 && r.network == Family::V6))
            t.family = Family::V6;
        auto port = reg(NFTNL_EXPR_TPROXY_REG_PORT);
        if (!port) return r.fail("tproxy without a port");
        t.port = static_cast<uint16_t>(beValue(*port));
        r.useFamily(t.family, false);
        return r.actions.push_back(t), true;
    }
    return r.fail("immediate values for '" + std::string(n) + "'");
}

bool readOne(RuleReader& r, const std::string& jumpPrefix) {
    const nftnl_expr* e = r.peek();
    const std::string_view n = nameOf(e);
    if (n == "payload") return readPayload(r);
    if (n == "meta") return readMeta(r);
    if (n == "ct") return readCt(r);
    if (n == "socket") return readSocket(r);
    if (n == "fib") return readFib(r);
    if (n == "limit") return readLimit(r);
    if (n == "reject") return readReject(r);
    if (n == "log") return readLog(r);
    // counters change nothing the kernel decides; a rule without other statement only counts
    if (n == "counter") return ++r.i, r.counter = true, true;
    if (n == "notrack") return ++r.i, r.actions.push_back(Notrack{}), true;
    if (n == "rt") return readRtMss(r);
    if (n == "masq" || n == "redir" || n == "nat" || n == "tproxy") return readImmediates(r);
    if (n == "immediate") {
        if (u32(e, NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT) return readVerdict(r, jumpPrefix);
        return readImmediates(r);
    }
    if (n == "match" || n == "target")
        return r.fail("an xtables " + std::string(n) + " (a rule of iptables-nft)");
    return r.fail("expression '" + std::string(n) + "'");
}

/// One IR target from the statements: `tproxy ... meta mark set M accept` is one Tproxy.
bool foldTarget(RuleReader& r, Target& out) {
    auto& a = r.actions;
    if (!a.empty() && std::holds_alternative<Tproxy>(a.front())) {
        Tproxy t = std::get<Tproxy>(a.front());
        size_t k = 1;
        if (k < a.size() && std::holds_alternative<SetMark>(a[k]))
            t.mark = std::get<SetMark>(a[k++]).mark;
        if (k < a.size() && std::holds_alternative<Accept>(a[k])) ++k;
        if (k != a.size()) return r.fail("statements after tproxy");
        out = t;
        return true;
    }
    if (a.size() > 1) return r.fail("more than one statement (the model has one target per rule)");
    out = a.empty() ? Target{NoTarget{r.counter}} : a.front();
    return true;
}

std::string ruleComment(const nftnl_rule* rule) {
    if (!nftnl_rule_is_set(rule, NFTNL_RULE_USERDATA)) return "";
    uint32_t len = 0;
    const void* ud = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
    std::string comment;
    nftnl_udata_parse(
        ud, len,
        [](const nftnl_udata* attr, void* out) -> int {
            if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
                const char* s = static_cast<const char*>(nftnl_udata_get(attr));
                *static_cast<std::string*>(out) = std::string(s, strnlen(s, nftnl_udata_len(attr)));
            }
            return MNL_CB_OK;
        },
        &comment);
    return comment;
}

// ---------------------------------------------------------------------------------------------
// Tables and chains

std::optional<TableFamily> tableFamily(uint32_t nfproto) {
    if (nfproto == NFPROTO_INET) return TableFamily::Inet;
    if (nfproto == NFPROTO_IPV4) return TableFamily::Ip;
    if (nfproto == NFPROTO_IPV6) return TableFamily::Ip6;
    return std::nullopt;
}

std::string familyText(uint32_t nfproto) {
    if (auto f = tableFamily(nfproto)) return std::string(familyName(*f));
    switch (nfproto) {
        case NFPROTO_ARP:
            return "arp";
        case NFPROTO_BRIDGE:
            return "bridge";
        case NFPROTO_NETDEV:
            return "netdev";
    }
    return std::to_string(nfproto);
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

/// A hand-written base chain's legacy table and chain, by type, hook number and priority.
std::optional<std::pair<std::string, std::string>> legacyChain(const std::string& type,
                                                               uint32_t hook, int prio) {
    static constexpr std::array<std::string_view, 5> kHooks = {"PREROUTING", "INPUT", "FORWARD",
                                                               "OUTPUT", "POSTROUTING"};
    if (hook >= kHooks.size()) return std::nullopt;
    return legacyChainOf(type, kHooks[hook], prio);
}

struct ChainInfo {
    const nftnl_chain* chain = nullptr;
    std::string nftName;
    std::optional<std::string> legacyTable;  // nothing: not (yet) placed
    std::string irName;
    ChainPolicy policy = ChainPolicy::None;
    std::vector<const NftObject*> rules;
};

struct TableInfo {
    uint16_t family = 0;
    std::string name;
    std::vector<ChainInfo> chains;
};

std::string where(const TableInfo& t, const std::string& chain) {
    return "nftables table " + familyText(t.family) + " " + t.name + ", chain " + chain;
}

std::string ruleWhere(const TableInfo& t, const ChainInfo& c, const NftObject& o) {
    std::ostringstream s;
    s << where(t, c.nftName) << ", rule ";
    if (nftnl_rule_is_set(o.rule.get(), NFTNL_RULE_HANDLE))
        s << "handle " << nftnl_rule_get_u64(o.rule.get(), NFTNL_RULE_HANDLE);
    else
        s << "#" << o.ruleIndex + 1;
    return s.str();
}

/// Places each chain: policyc's by name, others' base chains by hook, user chains by jumps.
void placeChains(TableInfo& t, std::vector<std::string>& unreadable) {
    const bool own = t.name == kTableName;
    std::set<std::string> taken;
    for (ChainInfo& c : t.chains) {
        const bool base = nftnl_chain_is_set(c.chain, NFTNL_CHAIN_HOOKNUM);
        if (base && nftnl_chain_is_set(c.chain, NFTNL_CHAIN_POLICY) &&
            nftnl_chain_get_u32(c.chain, NFTNL_CHAIN_POLICY) == NF_DROP)
            c.policy = ChainPolicy::Drop;
        if (own) {
            const auto us = c.nftName.find('_');
            const std::string table = c.nftName.substr(0, us);
            if (us == std::string::npos || !isKnownTable(table)) continue;
            c.legacyTable = table;
            c.irName = c.nftName.substr(us + 1);
            if (base) c.irName = upper(c.irName);
        } else if (base) {
            const char* type = nftnl_chain_get_str(c.chain, NFTNL_CHAIN_TYPE);
            auto m =
                legacyChain(type ? type : "", nftnl_chain_get_u32(c.chain, NFTNL_CHAIN_HOOKNUM),
                            nftnl_chain_get_s32(c.chain, NFTNL_CHAIN_PRIO));
            if (!m || !taken.insert(m->first + " " + m->second).second) continue;
            c.legacyTable = m->first;
            c.irName = m->second;
        }
    }
    // user chains of other tables follow the first placed chain that jumps to them
    for (bool changed = true; changed && !own;) {
        changed = false;
        for (ChainInfo& from : t.chains) {
            if (!from.legacyTable) continue;
            for (const NftObject* o : from.rules) {
                nftnl_expr_iter* it = nftnl_expr_iter_create(o->rule.get());
                while (nftnl_expr* e = nftnl_expr_iter_next(it)) {
                    if (nameOf(e) != "immediate" || !has(e, NFTNL_EXPR_IMM_CHAIN)) continue;
                    const std::string target = orEmpty(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
                    for (ChainInfo& to : t.chains)
                        if (to.nftName == target && !to.legacyTable &&
                            !nftnl_chain_is_set(to.chain, NFTNL_CHAIN_HOOKNUM)) {
                            to.legacyTable = from.legacyTable;
                            to.irName = to.nftName;
                            changed = true;
                        }
                }
                nftnl_expr_iter_destroy(it);
            }
        }
    }
    for (const ChainInfo& c : t.chains)
        if (!c.legacyTable)
            unreadable.push_back(where(t, c.nftName) +
                                 ": no iptables table and chain it stands for (" +
                                 std::to_string(c.rules.size()) + " rules)");
}

/// `icmp type` implies its protocol: nft's `meta l4proto icmp` dependency is not a match of its
/// own (nft's delinearizer drops it the same way).
void elideIcmpProto(std::vector<Match>& matches) {
    for (const Match& m : matches) {
        auto* icmp = std::get_if<IcmpMatch>(&m);
        if (!icmp) continue;
        const ProtoMatch dep{static_cast<uint8_t>(icmp->family == Family::V4 ? 1 : 58), false};
        auto it = std::find_if(matches.begin(), matches.end(), [&](const Match& x) {
            auto* p = std::get_if<ProtoMatch>(&x);
            return p && *p == dep;
        });
        if (it != matches.end()) matches.erase(it);
        return;
    }
}

/// A rule's expressions as libnftnl prints them ("[ meta load l4proto => reg 1 ] ..."), with
/// counter values left out so that a rule does not differ from itself as packets pass.
std::string expressionsText(const nftnl_rule* rule) {
    std::string out;
    std::vector<char> buf(4096);
    nftnl_expr_iter* it = nftnl_expr_iter_create(rule);
    while (nftnl_expr* e = nftnl_expr_iter_next(it)) {
        const std::string name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        std::string body;
        if (name != "counter" &&
            nftnl_expr_snprintf(buf.data(), buf.size(), e, NFTNL_OUTPUT_DEFAULT, 0) > 0)
            body = buf.data();
        while (!body.empty() && body.back() == ' ') body.pop_back();
        out += (out.empty() ? "[ " : " [ ") + name + (body.empty() ? "" : " " + body) + " ]";
    }
    nftnl_expr_iter_destroy(it);
    return out;
}

void readChainRules(const TableInfo& t, const ChainInfo& c, const SetIndex& sets,
                    const std::string& cgroupRoot, Chain& into,
                    std::vector<std::string>& unreadable, std::vector<std::string>& verbatim) {
    const auto family = *tableFamily(t.family);
    const std::string jumpPrefix = t.name == kTableName ? *c.legacyTable + "_" : "";
    for (const NftObject* o : c.rules) {
        RuleReader r;
        nftnl_expr_iter* it = nftnl_expr_iter_create(o->rule.get());
        while (nftnl_expr* e = nftnl_expr_iter_next(it)) r.ex.push_back(e);
        nftnl_expr_iter_destroy(it);
        r.table = family;
        r.family = t.family;
        r.tableName = t.name;
        r.sets = &sets;
        r.cgroupRoot = &cgroupRoot;
        if (family == TableFamily::Ip) r.network = Family::V4;
        if (family == TableFamily::Ip6) r.network = Family::V6;
        bool ok = true;
        while (ok && r.i < r.ex.size()) ok = readOne(r, jumpPrefix);
        Rule rule;
        if (ok && r.depFamily && !r.familyUsed)
            ok = r.fail("a family match (meta nfproto) on its own");
        if (ok) ok = foldTarget(r, rule.target);
        if (!ok) {
            unreadable.push_back(ruleWhere(t, c, *o) + ": " + r.error);
            verbatim.push_back(unreadable.back());
            const std::string text = expressionsText(o->rule.get());
            rule.target = OpaqueTarget{{std::string(kNftVerbatim), 0, {text.begin(), text.end()}}};
            rule.comment = ruleComment(o->rule.get());
            into.rules.push_back(std::move(rule));
            continue;
        }
        rule.matches = std::move(r.matches);
        elideIcmpProto(rule.matches);
        sortMatches(rule.matches);
        rule.comment = ruleComment(o->rule.get());
        into.rules.push_back(std::move(rule));
    }
}

}  // namespace

DelinearizeResult delinearize(const NftRuleset& ruleset, const std::string& cgroupRoot) {
    DelinearizeResult out;
    SetIndex sets;
    std::vector<TableInfo> tables;
    auto findTable = [&](uint16_t family, const std::string& name) -> TableInfo* {
        for (TableInfo& t : tables)
            if (t.family == family && t.name == name) return &t;
        return nullptr;
    };
    for (const NftObject& o : ruleset.objects) {
        switch (o.kind) {
            case NftObject::Kind::Table:
                tables.push_back(
                    {o.family, orEmpty(nftnl_table_get_str(o.table.get(), NFTNL_TABLE_NAME)), {}});
                break;
            case NftObject::Kind::Chain: {
                const std::string table =
                    orEmpty(nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_TABLE));
                if (TableInfo* t = findTable(o.family, table))
                    t->chains.push_back(
                        {o.chain.get(),
                         orEmpty(nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_NAME)),
                         std::nullopt,
                         "",
                         ChainPolicy::None,
                         {}});
                break;
            }
            case NftObject::Kind::Set: {
                const nftnl_set* s = o.set.get();
                auto* ms = const_cast<nftnl_set*>(s);
                sets.byName[{o.family, orEmpty(nftnl_set_get_str(ms, NFTNL_SET_TABLE)),
                             orEmpty(nftnl_set_get_str(ms, NFTNL_SET_NAME))}] = s;
                if (nftnl_set_is_set(ms, NFTNL_SET_ID))
                    sets.byId[nftnl_set_get_u32(ms, NFTNL_SET_ID)] = s;
                break;
            }
            case NftObject::Kind::Rule: {
                const std::string table =
                    orEmpty(nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_TABLE));
                const std::string chain =
                    orEmpty(nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_CHAIN));
                if (TableInfo* t = findTable(o.family, table))
                    for (ChainInfo& c : t->chains)
                        if (c.nftName == chain) c.rules.push_back(&o);
                break;
            }
        }
    }
    for (TableInfo& t : tables) {
        if (!tableFamily(t.family)) {
            out.unreadable.push_back("nftables table " + familyText(t.family) + " " + t.name +
                                     ": the model has no " + familyText(t.family) + " tables");
            continue;
        }
        placeChains(t, out.unreadable);
        std::vector<Table> mine;  // one IR table per legacy table this nft table stands for
        for (const ChainInfo& c : t.chains) {
            if (!c.legacyTable) continue;
            auto ir = std::find_if(mine.begin(), mine.end(),
                                   [&](const Table& x) { return x.name == *c.legacyTable; });
            if (ir == mine.end()) {
                mine.push_back(Table{*tableFamily(t.family), *c.legacyTable, {}, {}});
                ir = mine.end() - 1;
            }
            Chain chain{c.irName, c.policy, {}, {}};
            readChainRules(t, c, sets, cgroupRoot, chain, out.unreadable, out.verbatim);
            ir->chains.push_back(std::move(chain));
        }
        for (Table& x : mine) out.tables.push_back(std::move(x));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Dumping the whole ruleset

namespace {

struct Dump {
    NftRuleset* into;
    NftObject::Kind kind;
};

int dumpCb(const nlmsghdr* nlh, void* data) {
    auto* d = static_cast<Dump*>(data);
    NftObject o;
    o.kind = d->kind;
    switch (d->kind) {
        case NftObject::Kind::Table:
            o.table.reset(nftnl_table_alloc());
            if (nftnl_table_nlmsg_parse(nlh, o.table.get()) < 0) return MNL_CB_ERROR;
            o.family =
                static_cast<uint16_t>(nftnl_table_get_u32(o.table.get(), NFTNL_TABLE_FAMILY));
            break;
        case NftObject::Kind::Chain:
            o.chain.reset(nftnl_chain_alloc());
            if (nftnl_chain_nlmsg_parse(nlh, o.chain.get()) < 0) return MNL_CB_ERROR;
            o.family =
                static_cast<uint16_t>(nftnl_chain_get_u32(o.chain.get(), NFTNL_CHAIN_FAMILY));
            o.chainName = orEmpty(nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_NAME));
            break;
        case NftObject::Kind::Set:
            o.set.reset(nftnl_set_alloc());
            if (nftnl_set_nlmsg_parse(nlh, o.set.get()) < 0) return MNL_CB_ERROR;
            o.family = static_cast<uint16_t>(nftnl_set_get_u32(o.set.get(), NFTNL_SET_FAMILY));
            break;
        case NftObject::Kind::Rule:
            o.rule.reset(nftnl_rule_alloc());
            if (nftnl_rule_nlmsg_parse(nlh, o.rule.get()) < 0) return MNL_CB_ERROR;
            o.family = static_cast<uint16_t>(nftnl_rule_get_u32(o.rule.get(), NFTNL_RULE_FAMILY));
            o.chainName = orEmpty(nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_CHAIN));
            break;
    }
    d->into->objects.push_back(std::move(o));
    return MNL_CB_OK;
}

int elemsCb(const nlmsghdr* nlh, void* data) {
    return nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data)) < 0 ? MNL_CB_ERROR
                                                                               : MNL_CB_OK;
}

}  // namespace

namespace {

/// Every object of `kinds` in every table of every family.
bool dumpAll(NftSocket& sock, std::span<const std::pair<NftObject::Kind, uint16_t>> kinds,
             NftRuleset& part, std::string& error) {
    for (const auto& [kind, msg] : kinds) {
        std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
        nlmsghdr* nlh =
            nftnl_nlmsg_build_hdr(buf.data(), msg, NFPROTO_UNSPEC, NLM_F_DUMP, sock.nextSeq());
        Dump d{&part, kind};
        if (!talk(sock, nlh, dumpCb, &d, error)) return false;
    }
    return true;
}

}  // namespace

bool dumpChains(NftSocket& sock, NftRuleset& into, std::string& error) {
    if (!sock.error().empty()) return error = sock.error(), false;
    static constexpr std::array<std::pair<NftObject::Kind, uint16_t>, 1> kMsgs = {
        {{NftObject::Kind::Chain, NFT_MSG_GETCHAIN}}};
    return dumpAll(sock, kMsgs, into, error);
}

bool dumpRuleset(NftSocket& sock, NftRuleset& into, std::string& error) {
    if (!sock.error().empty()) return error = sock.error(), false;
    static constexpr std::array<std::pair<NftObject::Kind, uint16_t>, 4> kMsgs = {
        {{NftObject::Kind::Table, NFT_MSG_GETTABLE},
         {NftObject::Kind::Chain, NFT_MSG_GETCHAIN},
         {NftObject::Kind::Set, NFT_MSG_GETSET},
         {NftObject::Kind::Rule, NFT_MSG_GETRULE}}};
    NftRuleset part;
    if (!dumpAll(sock, kMsgs, part, error)) return false;
    for (NftObject& o : part.objects) {
        if (o.kind != NftObject::Kind::Set) continue;
        std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, o.family, NLM_F_DUMP,
                                              sock.nextSeq());
        nftnl_set_elems_nlmsg_build_payload(nlh, o.set.get());
        if (!talk(sock, nlh, elemsCb, o.set.get(), error)) return false;
    }
    for (NftObject& o : part.objects) into.objects.push_back(std::move(o));
    return true;
}

}  // namespace policyc::backends::nft
