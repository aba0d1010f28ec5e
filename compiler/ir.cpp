// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the IR value types: address parsing/printing and the kernel's table vocabulary.
#include "compiler/ir.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace policyc::ir {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    std::string s(text);
    IpAddr a;
    if (s.find(':') == std::string::npos) {
        if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
        a.family = Family::V4;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = Family::V6;
    return a;
}

std::string IpAddr::str() const {
    if (family == Family::V4) {  // as inet_ntop spells it, without its sprintf per address
        char buf[16];
        char* p = buf;
        for (size_t i = 0; i < 4; ++i) {
            if (i) *p++ = '.';
            p = std::to_chars(p, buf + sizeof buf, bytes[i]).ptr;
        }
        return std::string(buf, p);
    }
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

bool IpAddr::isUnspecified() const {
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
    size_t slash = text.find('/');
    auto addr = IpAddr::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    const unsigned max = addr->family == Family::V4 ? 32 : 128;
    unsigned len = max;
    if (slash != std::string_view::npos) {
        std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        len = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            len = len * 10 + static_cast<unsigned>(c - '0');
        }
        if (len > max) return std::nullopt;
    }
    return Prefix{*addr, static_cast<uint8_t>(len)};
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(length); }

Prefix Prefix::network() const {
    Prefix p = *this;
    const unsigned bytes = addr.family == Family::V4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; ++i) {
        const int keep = static_cast<int>(length) - static_cast<int>(i * 8);
        if (keep >= 8) continue;
        p.addr.bytes[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    }
    return p;
}

AddrRange Prefix::range() const {
    AddrRange r{network().addr, network().addr};
    const unsigned bytes = addr.family == Family::V4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; ++i) {
        const int keep = static_cast<int>(length) - static_cast<int>(i * 8);
        if (keep < 8) r.last.bytes[i] |= keep <= 0 ? 0xff : static_cast<uint8_t>(0xff >> keep);
    }
    return r;
}

bool Prefix::contains(const IpAddr& a) const {
    if (a.family != addr.family) return false;
    Prefix other{a, length};
    return other.network().addr == network().addr;
}

Family familyOf(const AddrItem& item) {
    return std::visit(
        [](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Prefix>) {
                return v.addr.family;
            } else {
                return v.first.family;
            }
        },
        item);
}

const std::vector<std::string_view>& builtinChains(std::string_view table) {
    static const std::map<std::string_view, std::vector<std::string_view>, std::less<>> kChains = {
        {"filter", {"INPUT", "FORWARD", "OUTPUT"}},
        {"nat", {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
        {"mangle", {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
        {"raw", {"PREROUTING", "OUTPUT"}},
    };
    static const std::vector<std::string_view> kNone;
    auto it = kChains.find(table);
    return it == kChains.end() ? kNone : it->second;
}

bool isBuiltinChain(std::string_view table, std::string_view chain) {
    const auto& chains = builtinChains(table);
    return std::find(chains.begin(), chains.end(), chain) != chains.end();
}

std::optional<std::pair<std::string, std::string>> legacyChainOf(std::string_view type,
                                                                 std::string_view hook,
                                                                 int64_t prio) {
    const std::string chain(hook);
    std::string table;
    if (type == "nat")
        table = "nat";
    else if (type == "route")
        table = "mangle";
    else if (type != "filter")
        return std::nullopt;
    else if (prio <= -200 && isBuiltinChain("raw", chain))
        table = "raw";
    else if (prio <= -50 || !isBuiltinChain("filter", chain))
        table = "mangle";
    else
        table = "filter";
    if (!isBuiltinChain(table, chain)) return std::nullopt;
    return std::make_pair(table, chain);
}

bool isKnownTable(std::string_view table) { return !builtinChains(table).empty(); }

namespace {
// The names iptables-save prints (from /etc/protocols as iptables 1.8.9 knows them).
const std::vector<std::pair<std::string_view, uint8_t>> kProtocols = {
    {"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17},       {"dccp", 33},  {"ipv6", 41},
    {"gre", 47}, {"esp", 50}, {"ah", 51}, {"ipv6-icmp", 58}, {"sctp", 132}, {"udplite", 136},
};
}  // namespace

std::optional<uint8_t> protoByName(std::string_view name) {
    if (name == "icmpv6") return 58;
    for (const auto& [n, p] : kProtocols)
        if (n == name) return p;
    return std::nullopt;
}

const std::array<std::string_view, 8>& tcpFlagNames() {
    static constexpr std::array<std::string_view, 8> kNames = {"fin", "syn", "rst", "psh",
                                                               "ack", "urg", "ecn", "cwr"};
    return kNames;
}

std::string protoName(uint8_t proto) {
    for (const auto& [n, p] : kProtocols)
        if (p == proto) return std::string(n);
    return std::to_string(proto);
}

namespace {
int matchSubKey(const Match& m) {
    return std::visit(
        [](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, AddrMatch> || std::is_same_v<T, PortMatch> ||
                          std::is_same_v<T, AddrTypeMatch>) {
                return static_cast<int>(v.dir);
            } else if constexpr (std::is_same_v<T, IfaceMatch>) {
                return static_cast<int>(v.dir);
            } else if constexpr (std::is_same_v<T, OwnerMatch>) {
                return static_cast<int>(v.kind);
            } else {
                return 0;
            }
        },
        m);
}

/// Held by the entry's ipt_ip part rather than by a match module.
bool inIptablesHeader(const Match& m) {
    if (std::holds_alternative<IfaceMatch>(m)) return true;
    if (const auto* o = std::get_if<OpaqueMatch>(&m)) return o->header;
    if (const auto* p = std::get_if<ProtoMatch>(&m)) return !p->portModule;
    if (const auto* a = std::get_if<AddrMatch>(&m))
        return std::all_of(a->items.begin(), a->items.end(),
                           [](const AddrItem& i) { return std::holds_alternative<Prefix>(i); });
    return false;
}

/// "None of these addresses" does not depend on their order (unlike a positive set, which
/// iptables expands into rules in its order): kept in address order, as nft lists it back.
void sortNoneOf(std::vector<Match>& matches) {
    auto first = [](const AddrItem& i) {
        if (const auto* p = std::get_if<Prefix>(&i)) return std::make_pair(p->addr.bytes, 0);
        return std::make_pair(std::get<AddrRange>(i).first.bytes, 1);
    };
    for (Match& m : matches)
        if (auto* a = std::get_if<AddrMatch>(&m); a && a->negated && a->items.size() > 1)
            std::stable_sort(
                a->items.begin(), a->items.end(),
                [&](const AddrItem& x, const AddrItem& y) { return first(x) < first(y); });
}

bool matchOrder(const Match& a, const Match& b) {
    if (a.index() != b.index()) return a.index() < b.index();
    return matchSubKey(a) < matchSubKey(b);
}
}  // namespace

std::optional<uint64_t> sortMatchesAroundComment(std::vector<Match>& matches,
                                                 const std::vector<bool>& beforeComment,
                                                 std::vector<SourceSpan>* spans) {
    sortNoneOf(matches);
    std::vector<size_t> order(matches.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return matchOrder(matches[a], matches[b]); });
    std::vector<Match> sorted;
    sorted.reserve(matches.size());
    uint64_t mask = 0;
    bool after = false;
    for (size_t i = 0; i < order.size(); ++i) {
        sorted.push_back(std::move(matches[order[i]]));
        // iptables lists the header (-s, -i, -p) first whatever the rule's order
        const bool before = (order[i] < beforeComment.size() && beforeComment[order[i]]) ||
                            inIptablesHeader(sorted.back());
        if (before && i < 64) mask |= uint64_t{1} << i;
        after = after || !before;
    }
    matches = std::move(sorted);
    if (spans && spans->size() == order.size()) {
        std::vector<SourceSpan> sortedSpans;
        sortedSpans.reserve(order.size());
        for (size_t i : order) sortedSpans.push_back((*spans)[i]);
        *spans = std::move(sortedSpans);
    }
    if (!after || matches.size() > 64) return std::nullopt;
    return mask;
}

void sortMatches(std::vector<Match>& matches, std::vector<SourceSpan>* spans) {
    if (spans && !spans->empty() && spans->size() == matches.size()) {
        (void)sortMatchesAroundComment(matches, {}, spans);  // the same order, spans along
        return;
    }
    sortNoneOf(matches);
    const auto before = matchOrder;
    // A rule has a handful of matches: a stable insertion sort orders them the same way as
    // std::stable_sort without its temporary buffer (an allocation per rule).
    if (matches.size() > 16) {
        std::stable_sort(matches.begin(), matches.end(), before);
        return;
    }
    for (size_t i = 1; i < matches.size(); ++i) {
        size_t j = i;
        while (j > 0 && before(matches[i], matches[j - 1])) --j;
        if (j == i) continue;
        Match m = std::move(matches[i]);
        std::move_backward(matches.begin() + static_cast<long>(j),
                           matches.begin() + static_cast<long>(i),
                           matches.begin() + static_cast<long>(i) + 1);
        matches[j] = std::move(m);
    }
}

SourceSpan Rule::partSpan(std::optional<size_t> match) const {
    const SourceSpan& s = !match ? parts.target
                          : parts.matches.size() == matches.size() && *match < matches.size()
                              ? parts.matches[*match]
                              : span;
    return s.valid() ? s : span;
}

std::optional<Family> ruleFamily(const Rule& rule) {
    std::optional<Family> fam;
    auto note = [&](Family f) { fam = f; };
    for (const Match& m : rule.matches) {
        if (auto* a = std::get_if<AddrMatch>(&m); a && !a->items.empty())
            note(familyOf(a->items[0]));
        if (auto* i = std::get_if<IcmpMatch>(&m)) note(i->family);
        // xt_addrtype refuses these types for IPv6 (no broadcast; blackhole and up are v4 only)
        if (auto* t = std::get_if<AddrTypeMatch>(&m);
            t && (t->type == "broadcast" || t->type == "blackhole" || t->type == "prohibit" ||
                  t->type == "throw" || t->type == "nat" || t->type == "xresolve")) {
            note(Family::V4);
        }
        if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated) {
            if (p->proto == 1) note(Family::V4);
            if (p->proto == 58) note(Family::V6);
        }
    }
    if (auto* n = std::get_if<Nat>(&rule.target); n && n->first) note(n->first->family);
    if (auto* t = std::get_if<Tproxy>(&rule.target)) note(t->family);
    // A family-specific reject type (icmp6-adm-prohibited) is how a rule without addresses in
    // an inet table targets one family, e.g. the IPv6 block of a per-application policy.
    if (auto* r = std::get_if<Reject>(&rule.target); r && r->with.starts_with("icmp6-"))
        note(Family::V6);
    if (auto* r = std::get_if<Reject>(&rule.target); r && r->with.starts_with("icmp-"))
        note(Family::V4);
    return fam;
}

std::string_view tableFamilyName(TableFamily f) {
    switch (f) {
        case TableFamily::Inet:
            return "inet";
        case TableFamily::Ip:
            return "ip";
        case TableFamily::Ip6:
            return "ip6";
    }
    return "inet";
}

namespace {
constexpr std::array<std::pair<LinkKind, std::string_view>, 6> kLinkKinds = {{
    {LinkKind::Ethernet, "ethernet"},
    {LinkKind::Loopback, "loopback"},
    {LinkKind::Veth, "veth"},
    {LinkKind::Vxlan, "vxlan"},
    {LinkKind::WireGuard, "wireguard"},
    {LinkKind::Tunnel, "tunnel"},
}};
}  // namespace

std::string_view linkKindName(LinkKind k) {
    for (const auto& [kind, name] : kLinkKinds)
        if (kind == k) return name;
    return "ethernet";
}

std::optional<LinkKind> linkKindByName(std::string_view n) {
    for (const auto& [kind, name] : kLinkKinds)
        if (name == n) return kind;
    return std::nullopt;
}

const Interface* Host::findInterface(std::string_view n) const {
    for (const auto& i : interfaces)
        if (i.name == n) return &i;
    return nullptr;
}

const Chain* Table::findChain(std::string_view n) const {
    for (const auto& c : chains)
        if (c.name == n) return &c;
    return nullptr;
}

Chain* Table::findChain(std::string_view n) {
    return const_cast<Chain*>(std::as_const(*this).findChain(n));
}

const Table* Host::findTable(TableFamily f, std::string_view n) const {
    for (const auto& t : tables)
        if (t.family == f && t.name == n) return &t;
    return nullptr;
}

const Host* Policy::findHost(std::string_view n) const {
    for (const auto& h : hosts)
        if (h.name == n) return &h;
    return nullptr;
}

}  // namespace policyc::ir
