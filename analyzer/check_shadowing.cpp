// SPDX-License-Identifier: GPL-2.0-or-later
// W001 shadowed-rule and W002 redundant-rule: a terminal rule whose packets are all ended by
// earlier terminal rules of its chain, found by subtracting their boxes from its own.
#include <algorithm>
#include <bit>
#include <map>
#include <memory_resource>
#include <utility>
#include <sstream>

#include "analyzer/checks.h"
#include "analyzer/match_space.h"

namespace policyc::analyzer {
namespace {

// Work caps per rule: past them the rule is skipped silently (no finding), never slow.
constexpr size_t kMaxCandidates = 1024;
constexpr size_t kMaxPieces = 256;
constexpr size_t kMaxWeight = 256;  // intervals and cubes in one remainder box
constexpr size_t kMaxNamed = 8;

bool isTerminal(const ir::Target& t) {
    return std::holds_alternative<ir::Accept>(t) || std::holds_alternative<ir::Drop>(t) ||
           std::holds_alternative<ir::Reject>(t) || std::holds_alternative<ir::Return>(t) ||
           std::holds_alternative<ir::Goto>(t) || std::holds_alternative<ir::Nat>(t) ||
           std::holds_alternative<ir::Masquerade>(t) || std::holds_alternative<ir::Redirect>(t) ||
           std::holds_alternative<ir::Tproxy>(t);
}

// Packet properties a non-terminal rule can change for the rules after it.
enum Effect : uint8_t { kSetsMark = 1, kSetsCtMark = 2, kSetsCtState = 4 };
constexpr unsigned kEffects = 3;

uint8_t directEffects(const ir::Target& t) {
    if (std::holds_alternative<ir::SetMark>(t)) return kSetsMark;
    // An extension kept from a live table without being understood may change anything.
    if (std::holds_alternative<ir::OpaqueTarget>(t)) return kSetsMark | kSetsCtMark | kSetsCtState;
    if (std::holds_alternative<ir::Notrack>(t)) return kSetsCtState;
    if (const auto* c = std::get_if<ir::Connmark>(&t))
        return c->op == ir::Connmark::Op::Restore ? kSetsMark : kSetsCtMark;
    return 0;
}

/// What a `jump` to each chain may change before it returns, through nested jumps.
std::map<std::string, uint8_t> chainEffects(const ir::Table& table) {
    std::map<std::string, uint8_t> eff;
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& c : table.chains) {
            uint8_t e = eff[c.name];
            for (const auto& r : c.rules) {
                e |= directEffects(r.target);
                if (const auto* j = std::get_if<ir::Jump>(&r.target)) e |= eff[j->chain];
                if (const auto* g = std::get_if<ir::Goto>(&r.target)) e |= eff[g->chain];
            }
            if (e != eff[c.name]) changed = true;
            eff[c.name] = e;
        }
    }
    return eff;
}

uint8_t constrainedEffects(const RuleSpace& s) {
    uint8_t out = 0;
    for (const Box& b : s.boxes) {
        if (!b.isFull(Dim::Mark)) out |= kSetsMark;
        if (!b.isFull(Dim::CtMark)) out |= kSetsCtMark;
        if (!b.isFull(Dim::CtState)) out |= kSetsCtState;
    }
    return out;
}

unsigned bitWidth(U128 x) {
    const auto hi = static_cast<uint64_t>(x >> 64);
    if (hi) return 64 + static_cast<unsigned>(std::bit_width(hi));
    return static_cast<unsigned>(std::bit_width(static_cast<uint64_t>(x)));
}

/// Earlier covering boxes, indexed per field so that a query visits only boxes that can
/// intersect it. Each box is filed under every field it narrows (by hull, grouped by interval
/// width class) and listed as a wildcard for the others; a query uses the one field whose
/// candidates are fewest.
class BoxIndex {
  public:
    BoxIndex() : kinds_(filled<Kind, 6>(&arena_)) {}
    BoxIndex(const BoxIndex&) = delete;
    BoxIndex& operator=(const BoxIndex&) = delete;

    void insert(const Box& b, uint32_t rule) {
        Kind& k = kinds_[kindOf(b)];
        k.all.push_back(rule);
        for (Dim d : kQueryOrder) {
            const auto h = narrowHull(b, d);
            const size_t di = static_cast<size_t>(d);
            if (!h)
                k.wild[di].push_back(rule);
            else
                k.narrow[di][bitWidth(h->hi - h->lo)].emplace(h->lo, Entry{h->hi, rule});
        }
    }

    /// Appends rules whose boxes may intersect `q`; false when more than `limit`.
    bool query(const Box& q, std::vector<uint32_t>& out, size_t limit) const {
        const Kind& k = kinds_[kindOf(q)];
        std::optional<Dim> best;
        // Counting a field's candidates walks them, so look for a field with few candidates
        // first: a field shared by many rules (one public address for every port forward)
        // would otherwise cost `limit` steps per query. Any field within the limit gives the
        // same findings (candidates that do not intersect subtract nothing).
        for (size_t cap : {size_t{16}, size_t{128}, limit}) {
            size_t bestCount = std::min({cap, limit, k.all.size()}) + 1;
            for (Dim d : kQueryOrder) {
                const auto h = narrowHull(q, d);
                if (!h) continue;
                size_t n = k.wild[static_cast<size_t>(d)].size();
                if (n < bestCount && scan(k, d, *h, bestCount - n - 1, [&](uint32_t) { ++n; })) {
                    best = d;
                    bestCount = n;
                }
            }
            if (best || cap >= limit) break;
        }
        if (!best) {
            if (k.all.size() > limit) return false;
            out.insert(out.end(), k.all.begin(), k.all.end());
            return true;
        }
        const auto& wild = k.wild[static_cast<size_t>(*best)];
        out.insert(out.end(), wild.begin(), wild.end());
        scan(k, *best, *narrowHull(q, *best), limit + 1, [&](uint32_t r) { out.push_back(r); });
        return true;
    }

  private:
    struct Entry {
        U128 hi;
        uint32_t rule;
    };
    // Everything lives in arena_: one entry per narrowed field of every box of a chain, made
    // one by one and freed all at once (malloc and free of each tree node were a tenth of lint).
    using Bucket = std::pmr::map<unsigned, std::pmr::multimap<U128, Entry>>;  // by width class
    struct Kind {
        explicit Kind(std::pmr::memory_resource* r)
            : narrow(filled<Bucket, kDims>(r)), wild(filled<std::pmr::vector<uint32_t>, kDims>(r)),
              all(r) {}
        std::array<Bucket, kDims> narrow;
        std::array<std::pmr::vector<uint32_t>, kDims> wild;
        std::pmr::vector<uint32_t> all;
    };

    static constexpr std::array<Dim, kDims> kQueryOrder = {
        Dim::Src,     Dim::Dst,    Dim::Dport,   Dim::Sport,   Dim::Iif,     Dim::Oif,  Dim::Uid,
        Dim::Gid,     Dim::Mark,   Dim::CtMark,  Dim::Mac,     Dim::Cgroup,  Dim::Icmp, Dim::Proto,
        Dim::CtState, Dim::Socket, Dim::SrcType, Dim::DstType, Dim::TcpFlags};

    /// The hull of a field when it is narrower than the whole field of its kind of box.
    static std::optional<Interval> narrowHull(const Box& b, Dim d) {
        static const auto kFull = [] {
            std::array<std::array<std::optional<Interval>, kDims>, 6> out;
            for (auto f : {ir::Family::V4, ir::Family::V6})
                for (auto c : {ProtoClass::Ports, ProtoClass::Icmp, ProtoClass::Other})
                    for (size_t d = 0; d < kDims; ++d)
                        out[kindOf(Box::full(f, c))][d] = Box::full(f, c).hull(static_cast<Dim>(d));
            return out;
        }();
        auto h = b.hull(d);
        if (!h) return std::nullopt;
        const auto& full = kFull[kindOf(b)][static_cast<size_t>(d)];
        if (full && *full == *h) return std::nullopt;
        return h;
    }

    /// Calls `f` for entries whose hull meets `h`, at most `budget` times; true if it finished.
    template <typename F>
    static bool scan(const Kind& k, Dim d, Interval h, size_t budget, F f) {
        for (const auto& [width, entries] : k.narrow[static_cast<size_t>(d)]) {
            // an entry of this class starts at most 2^width - 1 before its end
            const U128 reach = width >= 128 ? ~U128(0) : (U128(1) << width) - 1;
            const U128 from = h.lo > reach ? h.lo - reach : 0;
            for (auto it = entries.lower_bound(from); it != entries.end() && it->first <= h.hi;
                 ++it) {
                if (it->second.hi < h.lo) continue;
                if (budget-- == 0) return false;
                f(it->second.rule);
            }
        }
        return true;
    }

    static size_t kindOf(const Box& b) {
        return static_cast<size_t>(b.family) * 3 + static_cast<size_t>(b.cls);
    }
    /// N containers using `r`.
    template <typename T, size_t N>
    static std::array<T, N> filled(std::pmr::memory_resource* r) {
        return [r]<size_t... I>(std::index_sequence<I...>) {
            return std::array<T, N>{((void)I, T(r))...};
        }(std::make_index_sequence<N>{});
    }

    std::pmr::monotonic_buffer_resource arena_;  // before kinds_: outlives them
    std::array<Kind, 6> kinds_;
};

std::string verdictVerb(const ir::Target& t) {
    if (std::holds_alternative<ir::Accept>(t)) return "accepted";
    if (std::holds_alternative<ir::Drop>(t)) return "dropped";
    if (std::holds_alternative<ir::Reject>(t)) return "rejected";
    if (std::holds_alternative<ir::Return>(t)) return "returned";
    if (const auto* g = std::get_if<ir::Goto>(&t)) return "sent to chain '" + g->chain + "'";
    if (const auto* n = std::get_if<ir::Nat>(&t))
        return n->kind == ir::Nat::Kind::Snat ? "source-NATed" : "destination-NATed";
    if (std::holds_alternative<ir::Masquerade>(t)) return "masqueraded";
    if (std::holds_alternative<ir::Redirect>(t)) return "redirected";
    if (std::holds_alternative<ir::Tproxy>(t)) return "diverted by TPROXY";
    return "handled";
}

class ChainChecker {
  public:
    ChainChecker(const ir::Table& t, const ir::Chain& c, const std::map<std::string, uint8_t>& eff,
                 SpaceBuilder& b, Diagnostics& d)
        : table_(t), chain_(c), effects_(eff), builder_(b), diags_(d) {}

    void run() {
        const auto& rules = chain_.rules;
        spaces_.reserve(rules.size());
        for (uint32_t i = 0; i < rules.size(); ++i) {
            const ir::Rule& r = rules[i];
            spaces_.push_back(builder_.build(r, table_.family));
            const RuleSpace& s = spaces_.back();
            constrains_.push_back(constrainedEffects(s));
            const bool terminal = isTerminal(r.target);
            if (terminal && s.modelled && !s.boxes.empty()) check(i);
            noteEffects(r, i);
            if (terminal && s.modelled && !s.sometimes) {
                if (s.negatedOwner) spaces_.back().boxes = s.coverBoxes();
                for (const Box& b : spaces_.back().boxes) index_.insert(b, i);
            }
        }
    }

  private:
    void noteEffects(const ir::Rule& r, uint32_t i) {
        uint8_t e = directEffects(r.target);
        if (const auto* j = std::get_if<ir::Jump>(&r.target)) {
            auto it = effects_.find(j->chain);
            if (it != effects_.end()) e |= it->second;
        }
        for (unsigned b = 0; b < kEffects; ++b)
            if (e & (1u << b)) lastSet_[b] = static_cast<int64_t>(i);
    }

    /// A rule that matched on a mark set again since then saw a different packet than `now`.
    bool stale(uint32_t e) const {
        for (unsigned b = 0; b < kEffects; ++b)
            if ((constrains_[e] & (1u << b)) && lastSet_[b] > static_cast<int64_t>(e)) return true;
        return false;
    }

    void check(uint32_t i) {
        std::vector<uint32_t> cands;
        for (const Box& b : spaces_[i].boxes)
            if (!index_.query(b, cands, kMaxCandidates)) return;
        if (cands.empty()) return;  // nothing earlier meets it: it cannot be covered
        std::sort(cands.begin(), cands.end());
        cands.erase(std::unique(cands.begin(), cands.end()), cands.end());

        // In chain order, what each candidate removes is exactly the packets it ends first.
        std::vector<Box> rem = spaces_[i].boxes, next;
        std::vector<uint32_t> used;
        for (uint32_t e : cands) {
            if (stale(e)) continue;
            bool hit = false;
            for (const Box& eb : spaces_[e].boxes) {
                // Boxes it does not meet stay as they are (moved, not copied).
                if (std::none_of(rem.begin(), rem.end(),
                                 [&](const Box& p) { return p.intersects(eb); }))
                    continue;
                next.clear();
                for (Box& p : rem) {
                    if (p.intersects(eb))
                        hit |= subtract(p, eb, next);
                    else
                        next.push_back(std::move(p));
                }
                rem.swap(next);
            }
            if (hit) used.push_back(e);
            if (rem.empty()) break;
            if (rem.size() > kMaxPieces) return;
            if (hit && std::any_of(rem.begin(), rem.end(),
                                   [](const Box& b) { return b.weight() > kMaxWeight; }))
                return;
        }
        if (!rem.empty() || used.empty()) return;
        // one catch-all rule above: that is unreachable-rule, reported by its own check
        if (used.size() == 1 && chain_.rules[used[0]].matches.empty()) return;
        report(i, used);
    }

    std::string label(uint32_t j, bool withWord) const {
        const ir::Rule& r = chain_.rules[j];
        std::ostringstream out;
        if (r.span.valid())
            out << (withWord ? "line " : "") << r.span.line;
        else
            out << (withWord ? "rule " : "") << j + 1;
        return out.str();
    }

    std::string refs(const std::vector<uint32_t>& js) const {
        const bool spans = std::all_of(js.begin(), js.end(),
                                       [&](uint32_t j) { return chain_.rules[j].span.valid(); });
        if (js.size() == 1) return (spans ? "the rule at " : "") + label(js[0], true);
        std::string out = spans ? "rules at lines " : "rules ";
        const size_t shown = std::min(js.size(), kMaxNamed);
        for (size_t k = 0; k < shown; ++k) {
            if (k) out += (k + 1 == shown && shown == js.size()) ? " and " : ", ";
            out += label(js[k], false);
        }
        if (shown < js.size()) out += " and " + std::to_string(js.size() - shown) + " more";
        return out;
    }

    void report(uint32_t i, const std::vector<uint32_t>& used) {
        const ir::Rule& r = chain_.rules[i];
        std::vector<std::pair<std::string, std::vector<uint32_t>>> byVerb;
        bool differs = false;
        for (uint32_t j : used) {
            const ir::Target& t = chain_.rules[j].target;
            differs |= !(t == r.target);
            const std::string verb = verdictVerb(t);
            auto it = std::find_if(byVerb.begin(), byVerb.end(),
                                   [&](const auto& p) { return p.first == verb; });
            if (it == byVerb.end()) it = byVerb.insert(byVerb.end(), {verb, {}});
            it->second.push_back(j);
        }
        std::string msg;
        if (!differs) {
            msg = "redundant rule: every packet it matches is already " + byVerb[0].first + " by " +
                  refs(byVerb[0].second);
        } else if (byVerb.size() == 1) {
            msg = "rule never takes effect: every packet it matches is " + byVerb[0].first +
                  " earlier by " + refs(byVerb[0].second);
        } else {
            msg = "rule never takes effect: every packet it matches is handled earlier";
            for (size_t k = 0; k < byVerb.size(); ++k)
                msg += (k ? ", " : ": ") + byVerb[k].first + " by " + refs(byVerb[k].second);
        }
        Diagnostic& d = diags_.report(differs ? Code::W001 : Code::W002, r.span, msg);
        if (!r.span.valid()) d.location = RuleLocation{table_.name, chain_.name, i + 1};
        for (uint32_t j : used)
            if (chain_.rules[j].span.valid())
                d.notes.push_back({chain_.rules[j].span, "covered by this rule"});
        d.hint = differs ? "remove it, or move it above " + label(used[0], true) +
                               " if its own verdict should win"
                         : "remove it; the rules above already do what it does";
    }

    const ir::Table& table_;
    const ir::Chain& chain_;
    const std::map<std::string, uint8_t>& effects_;
    SpaceBuilder& builder_;
    Diagnostics& diags_;
    std::vector<RuleSpace> spaces_;
    std::vector<uint8_t> constrains_;
    std::array<int64_t, kEffects> lastSet_{-1, -1, -1};
    BoxIndex index_;
};

}  // namespace

void checkShadowing(const ir::Host& host, Diagnostics& diags) {
    for (const auto& t : host.tables) {
        const auto effects = chainEffects(t);
        SpaceBuilder builder;
        for (const auto& c : t.chains) ChainChecker(t, c, effects, builder, diags).run();
    }
}

}  // namespace policyc::analyzer
