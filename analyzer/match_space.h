// SPDX-License-Identifier: GPL-2.0-or-later
// The packet-space algebra behind shadowed/redundant-rule: a rule's matches become a union of
// boxes (one value set per packet field), and boxes subtract from each other exactly.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir.h"

namespace policyc::analyzer {

__extension__ typedef unsigned __int128 U128;  // IPv6 addresses and interface names fit

/// A vector that keeps a single element inline: nearly every value set of a box is one
/// interval or one cube, and boxes are made and copied once or more per rule.
template <typename T>
class SmallVec {
  public:
    SmallVec() = default;
    SmallVec(std::initializer_list<T> init) {
        for (const T& v : init) push_back(v);
    }

    size_t size() const { return heap_.empty() ? n_ : heap_.size(); }
    bool empty() const { return size() == 0; }
    const T* begin() const { return heap_.empty() ? &one_ : heap_.data(); }
    const T* end() const { return begin() + size(); }
    const T& operator[](size_t i) const { return begin()[i]; }
    const T& front() const { return *begin(); }
    const T& back() const { return begin()[size() - 1]; }
    void push_back(const T& v) {
        if (heap_.empty()) {
            if (n_ == 0) {
                one_ = v;
                n_ = 1;
                return;
            }
            heap_.reserve(4);
            heap_.push_back(one_);
        }
        heap_.push_back(v);
    }

  private:
    T one_{};
    uint8_t n_ = 0;
    std::vector<T> heap_;  // every element, once there are two or more
};

struct Interval {
    U128 lo = 0;
    U128 hi = 0;  // inclusive
    bool operator==(const Interval&) const = default;
};

/// Sorted, disjoint, non-adjacent inclusive intervals.
class IntervalSet {
  public:
    IntervalSet() = default;
    static IntervalSet range(U128 lo, U128 hi);
    static IntervalSet point(U128 v) { return range(v, v); }

    bool empty() const { return ivs_.empty(); }
    bool isRange(U128 lo, U128 hi) const;
    IntervalSet intersect(const IntervalSet& o) const;
    IntervalSet minus(const IntervalSet& o) const;
    bool intersects(const IntervalSet& o) const;
    /// The complement within [0, max].
    IntervalSet complement(U128 max) const { return range(0, max).minus(*this); }
    std::optional<Interval> hull() const;
    void add(U128 lo, U128 hi);  // union with one interval
    const SmallVec<Interval>& intervals() const { return ivs_; }

  private:
    SmallVec<Interval> ivs_;
};

/// A ternary pattern over 32 bits: the values v with (v & mask) == value.
struct Cube {
    uint32_t value = 0;
    uint32_t mask = 0;
    bool operator==(const Cube&) const = default;
};

/// Disjoint cubes: how value/mask matches (fwmark, ct mark) stay exact under negation.
class CubeSet {
  public:
    CubeSet() : cubes_{Cube{}} {}
    static CubeSet of(Cube c);
    static CubeSet none() { return CubeSet(SmallVec<Cube>{}); }

    bool empty() const { return cubes_.empty(); }
    bool full() const { return cubes_.size() == 1 && cubes_[0].mask == 0; }
    CubeSet intersect(const CubeSet& o) const;
    CubeSet minus(const CubeSet& o) const;
    bool intersects(const CubeSet& o) const;
    /// An interval when the set is one cube whose mask covers the high bits (for indexing).
    std::optional<Interval> hull() const;
    const SmallVec<Cube>& cubes() const { return cubes_; }

  private:
    explicit CubeSet(SmallVec<Cube> c) : cubes_(std::move(c)) {}
    SmallVec<Cube> cubes_;
};

/// Packet fields. Interval fields first, then the two cube fields.
enum class Dim : uint8_t {
    Src,
    Dst,
    Proto,
    Sport,
    Dport,
    Icmp,  // type << 8 | code
    Iif,
    Oif,
    CtState,  // bit number of ir::CtState
    Uid,      // 2^32 = no socket
    Gid,
    Cgroup,  // 0 = no socket, 1..n = interned paths, others = any other path
    Socket,  // 0 none, 1 socket, 2 transparent socket
    SrcType,
    DstType,
    Mac,
    Mark,
    CtMark,
    TcpFlags,  // the tcp header's flags byte, in the low 8 bits of the cube
};
constexpr size_t kIntervalDims = 16;
constexpr size_t kDims = 19;
constexpr bool isCubeDim(Dim d) { return static_cast<size_t>(d) >= kIntervalDims; }
std::string_view dimName(Dim d);

/// Which protocols a box is about: port protocols carry ports, ICMP carries type/code. Splitting
/// boxes on this keeps "a tcp packet has ports, an icmp one has none" exact.
enum class ProtoClass : uint8_t { Ports, Icmp, Other };

U128 domainMax(Dim d, ir::Family f);

struct Box {
    ir::Family family = ir::Family::V4;
    ProtoClass cls = ProtoClass::Other;
    std::array<IntervalSet, kIntervalDims> iv;
    std::array<CubeSet, kDims - kIntervalDims> cube;

    /// Every packet of the family and protocol class.
    static Box full(ir::Family f, ProtoClass c);
    bool empty() const;
    bool sameKind(const Box& o) const { return family == o.family && cls == o.cls; }
    bool intersects(const Box& o) const;
    bool isFull(Dim d) const;
    /// The interval a box is indexed under in one field (nullopt: not expressible).
    std::optional<Interval> hull(Dim d) const;
    /// Intervals plus cubes: the cost of the next subtraction from this box.
    size_t weight() const;
};

/// Appends `a \ b` to `out` as disjoint boxes (at most one per field); false when a and b
/// are disjoint (then `a` itself is appended).
bool subtract(const Box& a, const Box& b, std::vector<Box>& out);

/// What one rule matches, in boxes; plus the facts that decide whether it can cover others.
struct RuleSpace {
    std::vector<Box> boxes;
    bool sometimes = false;  // a limit match: matches only part of the time
    bool modelled = true;    // false: a match this algebra cannot express
    /// `! --uid-owner`: iptables matches socketless packets, nft `meta skuid !=` does not; the
    /// boxes include them (safe for the covered side), coverBoxes() leaves them out.
    bool negatedOwner = false;
    std::vector<Box> coverBoxes() const;
};

/// Turns rules into boxes. Holds the cgroup path interning, so use one builder per table.
class SpaceBuilder {
  public:
    RuleSpace build(const ir::Rule& rule, ir::TableFamily table);
    /// 1.. for each distinct cgroup path; 0 stands for "no socket".
    uint32_t cgroupId(const std::string& path);

  private:
    std::map<std::string, uint32_t> cgroups_;
};

/// An address as a point of its field's interval domain (V4: 32 bits, V6: 128).
U128 addrValue(const ir::IpAddr& a);

/// An interface name (a trailing '+' is a prefix wildcard) as an interval of 16-byte names.
Interval ifaceInterval(const std::string& name);

}  // namespace policyc::analyzer
