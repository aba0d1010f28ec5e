// SPDX-License-Identifier: GPL-2.0-or-later
// Interval and cube sets, boxes and their exact difference, and the translation of ir::Match
// values into boxes. Kernel semantics that matter here are noted where they are modelled.
#include "analyzer/match_space.h"

#include <algorithm>
#include <bit>

namespace policyc::analyzer {

// ---------------------------------------------------------------------------------------------
// IntervalSet

IntervalSet IntervalSet::range(U128 lo, U128 hi) {
    IntervalSet s;
    if (lo <= hi) s.ivs_.push_back({lo, hi});
    return s;
}

bool IntervalSet::isRange(U128 lo, U128 hi) const {
    return ivs_.size() == 1 && ivs_[0].lo == lo && ivs_[0].hi == hi;
}

IntervalSet IntervalSet::intersect(const IntervalSet& o) const {
    IntervalSet out;
    size_t i = 0, j = 0;
    while (i < ivs_.size() && j < o.ivs_.size()) {
        const U128 lo = std::max(ivs_[i].lo, o.ivs_[j].lo);
        const U128 hi = std::min(ivs_[i].hi, o.ivs_[j].hi);
        if (lo <= hi) out.ivs_.push_back({lo, hi});
        if (ivs_[i].hi < o.ivs_[j].hi)
            ++i;
        else
            ++j;
    }
    return out;
}

bool IntervalSet::intersects(const IntervalSet& o) const {
    size_t i = 0, j = 0;
    while (i < ivs_.size() && j < o.ivs_.size()) {
        if (std::max(ivs_[i].lo, o.ivs_[j].lo) <= std::min(ivs_[i].hi, o.ivs_[j].hi)) return true;
        if (ivs_[i].hi < o.ivs_[j].hi)
            ++i;
        else
            ++j;
    }
    return false;
}

IntervalSet IntervalSet::minus(const IntervalSet& o) const {
    IntervalSet out;
    size_t j = 0;
    for (const Interval& a : ivs_) {
        while (j < o.ivs_.size() && o.ivs_[j].hi < a.lo) ++j;
        U128 cur = a.lo;
        bool done = false;
        for (size_t k = j; k < o.ivs_.size() && o.ivs_[k].lo <= a.hi; ++k) {
            const Interval& b = o.ivs_[k];
            if (b.lo > cur) out.ivs_.push_back({cur, b.lo - 1});
            if (b.hi >= a.hi) {
                done = true;
                break;
            }
            cur = b.hi + 1;
        }
        if (!done) out.ivs_.push_back({cur, a.hi});
    }
    return out;
}

std::optional<Interval> IntervalSet::hull() const {
    if (ivs_.empty()) return std::nullopt;
    return Interval{ivs_.front().lo, ivs_.back().hi};
}

void IntervalSet::add(U128 lo, U128 hi) {
    if (lo > hi) return;
    SmallVec<Interval> out;
    bool placed = false;
    for (const Interval& a : ivs_) {
        // disjoint and not adjacent: keep; otherwise merge into [lo, hi]
        if (a.hi < lo && a.hi + 1 < lo) {
            out.push_back(a);
        } else if (a.lo > hi && a.lo - 1 > hi) {
            if (!placed) out.push_back({lo, hi});
            placed = true;
            out.push_back(a);
        } else {
            lo = std::min(lo, a.lo);
            hi = std::max(hi, a.hi);
        }
    }
    if (!placed) out.push_back({lo, hi});
    ivs_ = std::move(out);
}

// ---------------------------------------------------------------------------------------------
// CubeSet

namespace {

bool cubesMeet(Cube a, Cube b) { return ((a.value ^ b.value) & a.mask & b.mask) == 0; }

/// a \ b as disjoint cubes: fix, one at a time, each bit b pins and a leaves free.
void cubeMinus(Cube a, Cube b, SmallVec<Cube>& out) {
    if (!cubesMeet(a, b)) {
        out.push_back(a);
        return;
    }
    uint32_t bits = b.mask & ~a.mask;
    Cube cur = a;
    while (bits) {
        const uint32_t bit = bits & -bits;
        bits &= bits - 1;
        out.push_back({cur.value | (~b.value & bit), cur.mask | bit});
        cur = {cur.value | (b.value & bit), cur.mask | bit};
    }
}

}  // namespace

CubeSet CubeSet::of(Cube c) { return CubeSet({Cube{c.value & c.mask, c.mask}}); }

CubeSet CubeSet::intersect(const CubeSet& o) const {
    SmallVec<Cube> out;
    for (Cube a : cubes_)
        for (Cube b : o.cubes_)
            if (cubesMeet(a, b)) out.push_back({a.value | b.value, a.mask | b.mask});
    return CubeSet(std::move(out));
}

bool CubeSet::intersects(const CubeSet& o) const {
    for (Cube a : cubes_)
        for (Cube b : o.cubes_)
            if (cubesMeet(a, b)) return true;
    return false;
}

CubeSet CubeSet::minus(const CubeSet& o) const {
    SmallVec<Cube> cur = cubes_;
    for (Cube b : o.cubes_) {
        SmallVec<Cube> next;
        for (Cube a : cur) cubeMinus(a, b, next);
        cur = std::move(next);
    }
    return CubeSet(std::move(cur));
}

std::optional<Interval> CubeSet::hull() const {
    if (cubes_.size() != 1) return std::nullopt;
    const uint32_t m = cubes_[0].mask;
    const uint32_t free = ~m;  // must be a run of low bits for the cube to be an interval
    if ((free & (free + 1)) != 0) return std::nullopt;
    return Interval{cubes_[0].value, static_cast<U128>(cubes_[0].value | free)};
}

// ---------------------------------------------------------------------------------------------
// Boxes

namespace {

constexpr U128 kAll128 = ~static_cast<U128>(0);
constexpr U128 kNoSocket = static_cast<U128>(1) << 32;

size_t idx(Dim d) { return static_cast<size_t>(d); }

IntervalSet protoSet(ir::Family f, ProtoClass c) {
    const U128 icmp = f == ir::Family::V4 ? 1 : 58;
    IntervalSet ports;
    for (U128 p : {6, 17, 132}) ports.add(p, p);
    switch (c) {
        case ProtoClass::Ports:
            return ports;
        case ProtoClass::Icmp:
            return IntervalSet::point(icmp);
        case ProtoClass::Other:
            break;
    }
    IntervalSet taken = ports;
    taken.add(icmp, icmp);
    return taken.complement(255);
}

}  // namespace

std::string_view dimName(Dim d) {
    static constexpr std::array<std::string_view, kDims> kNames = {
        "src",      "dst",      "proto", "sport",   "dport",    "icmp",   "iif",
        "oif",      "ct state", "uid",   "gid",     "cgroup",   "socket", "src type",
        "dst type", "mac",      "mark",  "ct mark", "tcp flags"};
    return kNames[idx(d)];
}

U128 domainMax(Dim d, ir::Family f) {
    switch (d) {
        case Dim::Src:
        case Dim::Dst:
            return f == ir::Family::V4 ? 0xffffffffu : kAll128;
        case Dim::Proto:
            return 255;
        case Dim::Sport:
        case Dim::Dport:
        case Dim::Icmp:
            return 65535;
        case Dim::Iif:
        case Dim::Oif:
            return kAll128;
        case Dim::CtState:
            return 4;
        case Dim::Uid:
        case Dim::Gid:
        case Dim::Cgroup:
            return kNoSocket;
        case Dim::Socket:
            return 2;
        case Dim::SrcType:
        case Dim::DstType:
            return 11;
        case Dim::Mac:
            return (static_cast<U128>(1) << 48) - 1;
        case Dim::Mark:
        case Dim::CtMark:
            return 0xffffffffu;
        case Dim::TcpFlags:
            return 0xff;
    }
    return 0;
}

namespace {

/// The six full boxes, made once: every rule's boxes start as copies of them.
const Box& fullBox(ir::Family f, ProtoClass c) {
    static const std::array<Box, 6> kBoxes = [] {
        std::array<Box, 6> out;
        for (auto fam : {ir::Family::V4, ir::Family::V6}) {
            for (auto cls : {ProtoClass::Ports, ProtoClass::Icmp, ProtoClass::Other}) {
                Box& b = out[static_cast<size_t>(fam) * 3 + static_cast<size_t>(cls)];
                b.family = fam;
                b.cls = cls;
                for (size_t i = 0; i < kIntervalDims; ++i)
                    b.iv[i] = IntervalSet::range(0, domainMax(static_cast<Dim>(i), fam));
                b.iv[idx(Dim::Proto)] = protoSet(fam, cls);
            }
        }
        return out;
    }();
    return kBoxes[static_cast<size_t>(f) * 3 + static_cast<size_t>(c)];
}

}  // namespace

Box Box::full(ir::Family f, ProtoClass c) { return fullBox(f, c); }

bool Box::empty() const {
    return std::any_of(iv.begin(), iv.end(), [](const auto& s) { return s.empty(); }) ||
           std::any_of(cube.begin(), cube.end(), [](const auto& s) { return s.empty(); });
}

bool Box::intersects(const Box& o) const {
    if (!sameKind(o)) return false;
    for (size_t i = 0; i < kIntervalDims; ++i)
        if (!iv[i].intersects(o.iv[i])) return false;
    for (size_t i = 0; i < cube.size(); ++i)
        if (!cube[i].intersects(o.cube[i])) return false;
    return true;
}

bool Box::isFull(Dim d) const {
    if (isCubeDim(d)) return cube[idx(d) - kIntervalDims].full();
    return iv[idx(d)].isRange(0, domainMax(d, family));
}

std::optional<Interval> Box::hull(Dim d) const {
    if (isCubeDim(d)) return cube[idx(d) - kIntervalDims].hull();
    return iv[idx(d)].hull();
}

size_t Box::weight() const {
    size_t n = 0;
    for (const auto& s : iv) n += s.intervals().size();
    for (const auto& s : cube) n += s.cubes().size();
    return n;
}

bool subtract(const Box& a, const Box& b, std::vector<Box>& out) {
    if (!a.intersects(b)) {
        out.push_back(a);
        return false;
    }
    Box cur = a;
    for (size_t i = 0; i < kIntervalDims; ++i) {
        if (b.isFull(static_cast<Dim>(i))) continue;
        IntervalSet rest = cur.iv[i].minus(b.iv[i]);
        if (rest.empty()) continue;
        Box piece = cur;
        piece.iv[i] = std::move(rest);
        out.push_back(std::move(piece));
        cur.iv[i] = cur.iv[i].intersect(b.iv[i]);
    }
    for (size_t i = 0; i < cur.cube.size(); ++i) {
        if (b.cube[i].full()) continue;
        CubeSet rest = cur.cube[i].minus(b.cube[i]);
        if (rest.empty()) continue;
        Box piece = cur;
        piece.cube[i] = std::move(rest);
        out.push_back(std::move(piece));
        cur.cube[i] = cur.cube[i].intersect(b.cube[i]);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Matches into boxes

U128 addrValue(const ir::IpAddr& a) {
    const size_t n = a.family == ir::Family::V4 ? 4 : 16;
    U128 v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | a.bytes[i];
    return v;
}

namespace {

Interval addrInterval(const ir::AddrItem& item) {
    if (const auto* r = std::get_if<ir::AddrRange>(&item))
        return {addrValue(r->first), addrValue(r->last)};
    const auto& p = std::get<ir::Prefix>(item);
    const unsigned bits = p.addr.family == ir::Family::V4 ? 32 : 128;
    const unsigned host = bits - std::min<unsigned>(p.length, bits);
    const U128 hostMask = host == 0 ? 0 : (host == 128 ? kAll128 : (U128(1) << host) - 1);
    const U128 v = addrValue(p.addr);
    return {v & ~hostMask, v | hostMask};
}

// Kernel route types (RTN_*) in numeric order, as xt_addrtype and nft fib name them.
constexpr std::array<std::string_view, 12> kRouteTypes = {
    "unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
    "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};

struct MatchApplier {
    Box& box;
    RuleSpace& space;
    SpaceBuilder& builder;

    void restrict(Dim d, IntervalSet s, bool negated) {
        if (negated) s = s.complement(domainMax(d, box.family));
        box.iv[idx(d)] = box.iv[idx(d)].intersect(s);
    }
    void restrictCube(Dim d, const ir::MarkMask& m, bool negated) {
        CubeSet s = CubeSet::of({m.value, m.mask});
        if (negated) s = CubeSet().minus(s);
        auto& slot = box.cube[idx(d) - kIntervalDims];
        slot = slot.intersect(s);
    }
    void nothing() { box.iv[idx(Dim::Proto)] = IntervalSet(); }

    void operator()(const ir::ProtoMatch& m) {
        restrict(Dim::Proto, IntervalSet::point(m.proto), m.negated);
    }
    void operator()(const ir::AddrMatch& m) {
        // `ip saddr != X` and `! -s X` still only match packets of X's family
        if (m.items.empty() || ir::familyOf(m.items[0]) != box.family) return nothing();
        IntervalSet s;
        for (const auto& item : m.items) {
            const Interval i = addrInterval(item);
            s.add(i.lo, i.hi);
        }
        restrict(m.dir == ir::Direction::Source ? Dim::Src : Dim::Dst, s, m.negated);
    }
    void operator()(const ir::PortMatch& m) {
        if (box.cls != ProtoClass::Ports) return nothing();
        IntervalSet s;
        for (const auto& r : m.ports) s.add(r.first, std::min<uint32_t>(r.last, 65535));
        restrict(m.dir == ir::Direction::Source ? Dim::Sport : Dim::Dport, s, m.negated);
    }
    void operator()(const ir::TcpFlagsMatch& m) {
        // only tcp packets have the flags, whether the test is negated or not
        if (box.cls != ProtoClass::Ports) return nothing();
        restrict(Dim::Proto, IntervalSet::point(6), false);
        restrictCube(Dim::TcpFlags, ir::MarkMask{m.comp, m.mask}, m.negated);
    }
    void operator()(const ir::IfaceMatch& m) {
        const Interval i = ifaceInterval(m.name);
        restrict(m.dir == ir::IfaceDirection::In ? Dim::Iif : Dim::Oif,
                 IntervalSet::range(i.lo, i.hi), m.negated);
    }
    void operator()(const ir::CtStateMatch& m) {
        IntervalSet s;
        for (unsigned b = 0; b < 5; ++b)
            if (m.states & (1u << b)) s.add(b, b);
        restrict(Dim::CtState, s, m.negated);
    }
    void operator()(const ir::MarkMatch& m) { restrictCube(Dim::Mark, m.mark, m.negated); }
    void operator()(const ir::ConnmarkMatch& m) { restrictCube(Dim::CtMark, m.mark, m.negated); }
    void operator()(const ir::OwnerMatch& m) {
        // xt_owner: without a socket, `! --uid-owner X` matches (match ^ invert == 0)
        const Dim d = m.kind == ir::OwnerMatch::Kind::Uid ? Dim::Uid : Dim::Gid;
        space.negatedOwner |= m.negated;
        restrict(d, IntervalSet::range(m.ids.first, m.ids.last), m.negated);
    }
    void operator()(const ir::CgroupMatch& m) {
        // xt_cgroup: no full socket, no match, even when inverted
        IntervalSet s = IntervalSet::point(builder.cgroupId(m.path));
        if (m.negated) s = s.complement(kNoSocket).minus(IntervalSet::point(0));
        restrict(Dim::Cgroup, s, false);
    }
    void operator()(const ir::SocketMatch& m) {
        restrict(Dim::Socket, IntervalSet::range(m.transparent ? 2 : 1, 2), false);
    }
    void operator()(const ir::IcmpMatch& m) {
        if (box.cls != ProtoClass::Icmp || m.family != box.family) return nothing();
        const U128 base = static_cast<U128>(m.type) << 8;
        restrict(Dim::Icmp,
                 m.code ? IntervalSet::point(base | *m.code) : IntervalSet::range(base, base | 255),
                 m.negated);
    }
    void operator()(const ir::AddrTypeMatch& m) {
        auto it = std::find(kRouteTypes.begin(), kRouteTypes.end(), m.type);
        if (it == kRouteTypes.end()) {
            space.modelled = false;
            return;
        }
        const U128 v = static_cast<U128>(it - kRouteTypes.begin());
        restrict(m.dir == ir::Direction::Source ? Dim::SrcType : Dim::DstType,
                 IntervalSet::point(v), m.negated);
    }
    void operator()(const ir::LimitMatch&) { space.sometimes = true; }
    void operator()(const ir::OpaqueMatch&) { space.modelled = false; }
    void operator()(const ir::MacMatch& m) {
        U128 v = 0;
        for (uint8_t b : m.mac) v = (v << 8) | b;
        restrict(Dim::Mac, IntervalSet::point(v), m.negated);
    }
};

/// The protocols a rule's positive matches allow (ports and ICMP types name theirs).
IntervalSet positiveProtos(const ir::Rule& rule) {
    IntervalSet s = IntervalSet::range(0, 255);
    for (const auto& m : rule.matches) {
        if (const auto* p = std::get_if<ir::ProtoMatch>(&m); p && !p->negated)
            s = s.intersect(IntervalSet::point(p->proto));
    }
    return s;
}

}  // namespace

Interval ifaceInterval(const std::string& name) {
    const bool wildcard = !name.empty() && name.back() == '+';
    const std::string stem = wildcard ? name.substr(0, name.size() - 1) : name;
    U128 lo = 0;
    size_t i = 0;
    for (; i < 16 && i < stem.size(); ++i)
        lo |= static_cast<U128>(uint8_t(stem[i])) << (8 * (15 - i));
    const U128 rest = i >= 16 ? 0 : (i == 0 ? kAll128 : (U128(1) << (8 * (16 - i))) - 1);
    return {lo, wildcard ? lo | rest : lo};
}

uint32_t SpaceBuilder::cgroupId(const std::string& path) {
    // "/app" and "app/" name the same cgroup
    size_t b = path.find_first_not_of('/');
    size_t e = path.find_last_not_of('/');
    std::string key = b == std::string::npos ? "" : path.substr(b, e - b + 1);
    auto [it, fresh] = cgroups_.emplace(key, static_cast<uint32_t>(cgroups_.size() + 1));
    (void)fresh;
    return it->second;
}

std::vector<Box> RuleSpace::coverBoxes() const {
    if (!negatedOwner) return boxes;
    std::vector<Box> out;
    const IntervalSet withSocket = IntervalSet::range(0, kNoSocket - 1);
    for (Box b : boxes) {
        for (Dim d : {Dim::Uid, Dim::Gid}) b.iv[idx(d)] = b.iv[idx(d)].intersect(withSocket);
        if (!b.empty()) out.push_back(std::move(b));
    }
    return out;
}

RuleSpace SpaceBuilder::build(const ir::Rule& rule, ir::TableFamily table) {
    RuleSpace space;
    std::vector<ir::Family> families;
    if (table != ir::TableFamily::Ip6) families.push_back(ir::Family::V4);
    if (table != ir::TableFamily::Ip) families.push_back(ir::Family::V6);
    if (table == ir::TableFamily::Inet) {
        if (auto only = ir::ruleFamily(rule)) families = {*only};
    }
    const IntervalSet protos = positiveProtos(rule);
    for (ir::Family f : families) {
        for (ProtoClass c : {ProtoClass::Ports, ProtoClass::Icmp, ProtoClass::Other}) {
            const Box& full = fullBox(f, c);
            if (!full.iv[idx(Dim::Proto)].intersects(protos)) continue;  // saves the work
            Box box = full;
            MatchApplier apply{box, space, *this};
            for (const auto& m : rule.matches) std::visit(apply, m);
            if (!box.empty()) space.boxes.push_back(std::move(box));
        }
    }
    return space;
}

}  // namespace policyc::analyzer
