// SPDX-License-Identifier: GPL-2.0-or-later
// The nft JSON reader. nlohmann parses the document; the text is scanned once more to locate each
// element of the `nftables` array, since `nft -j` prints everything on one line.
#include "compiler/import_nft_json.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "compiler/compile.h"

namespace policyc {
namespace {

using namespace policyc::ir;
using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Positions

/// Byte offsets -> 1-based line and column.
class LineIndex {
  public:
    explicit LineIndex(std::string_view text) : size_(text.size()) {
        starts_.push_back(0);
        for (size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\n') starts_.push_back(i + 1);
    }
    std::pair<uint32_t, uint32_t> at(size_t offset) const {
        offset = std::min(offset, size_ == 0 ? 0 : size_ - 1);
        auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
        const size_t line = static_cast<size_t>(it - starts_.begin());
        return {static_cast<uint32_t>(line), static_cast<uint32_t>(offset - *(it - 1) + 1)};
    }

  private:
    std::vector<size_t> starts_;
    size_t size_;
};

struct Extent {
    size_t begin = 0;
    size_t end = 0;  // the last byte
};

/// The extent of every element of the top-level object's "nftables" array, in order. Strings are
/// skipped with their escapes, so a comment holding `{"rule":` cannot shift the count.
std::vector<Extent> arrayElements(std::string_view text) {
    std::vector<Extent> out, current;
    int depth = 0;
    bool inArray = false;  // inside the "nftables" array (depth 2)
    std::string lastKey;
    size_t keyStart = 0;
    bool elementOpen = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') {
            keyStart = i + 1;
            for (++i; i < text.size() && text[i] != '"'; ++i)
                if (text[i] == '\\') ++i;
            if (depth == 1) lastKey = std::string(text.substr(keyStart, i - keyStart));
            if (inArray && depth == 2 && !elementOpen) current.push_back({keyStart - 1, i});
            continue;
        }
        if (std::isspace(static_cast<unsigned char>(c)) || c == ':') continue;
        if (inArray && depth == 2 && c != ']' && c != ',' && !elementOpen) {
            current.push_back({i, i});
            elementOpen = c == '{' || c == '[';
            if (!elementOpen) {  // a scalar element: its extent ends at the next , or ]
                while (i + 1 < text.size() && text[i + 1] != ',' && text[i + 1] != ']') ++i;
                current.back().end = i;
                continue;
            }
        }
        if (c == '{' || c == '[') {
            if (c == '[' && depth == 1 && lastKey == "nftables") {
                inArray = true;
                current.clear();
            }
            ++depth;
        } else if (c == '}' || c == ']') {
            --depth;
            if (inArray && depth == 2 && elementOpen) {
                current.back().end = i;
                elementOpen = false;
            }
            if (inArray && depth == 1) {
                inArray = false;
                out = current;
            }
        }
    }
    if (inArray) out = current;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Values

std::optional<uint64_t> numberOf(const Json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) {
        const int64_t n = v.get<int64_t>();
        if (n < 0) return std::nullopt;
        return static_cast<uint64_t>(n);
    }
    if (!v.is_string()) return std::nullopt;
    std::string_view s = v.get_ref<const std::string&>();
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n, base);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return n;
}

std::optional<uint32_t> u32Of(const Json& v) {
    auto n = numberOf(v);
    if (!n || *n > 0xffffffffu) return std::nullopt;
    return static_cast<uint32_t>(*n);
}

const std::string* stringOf(const Json& v) {
    return v.is_string() ? &v.get_ref<const std::string&>() : nullptr;
}

/// The one key of `{"key": value}`, as nft spells expressions and statements.
const std::string* singleKey(const Json& v) {
    if (!v.is_object() || v.size() != 1) return nullptr;
    return &v.begin().key();
}

const Json* member(const Json& v, std::string_view key) {
    if (!v.is_object()) return nullptr;
    auto it = v.find(key);
    return it == v.end() ? nullptr : &*it;
}

/// A member or null: nft leaves out what does not apply, and input may be any JSON at all.
const Json& fieldOf(const Json& v, std::string_view key) {
    static const Json kNull;
    const Json* m = member(v, key);
    return m ? *m : kNull;
}

bool isTcpFlags(const Json& v) {
    const Json* p = member(v, "payload");
    return p && v.size() == 1 && fieldOf(*p, "protocol") == "tcp" &&
           fieldOf(*p, "field") == "flags";
}

/// A flag name, a number, or a list or `|` of them (their bits together).
std::optional<uint8_t> tcpFlagBits(const Json& v) {
    const auto& names = tcpFlagNames();
    const Json* ored = v.is_object() && v.size() == 1 ? member(v, "|") : nullptr;
    if (v.is_array() || (ored && ored->is_array())) {
        uint8_t bits = 0;
        for (const Json& e : ored ? *ored : v) {
            if (e.is_array()) return std::nullopt;
            auto b = tcpFlagBits(e);
            if (!b) return std::nullopt;
            bits |= *b;
        }
        return bits;
    }
    if (v.is_string()) {
        auto it = std::find(names.begin(), names.end(), v.get_ref<const std::string&>());
        if (it == names.end()) return std::nullopt;
        return static_cast<uint8_t>(1u << (it - names.begin()));
    }
    auto n = numberOf(v);
    if (!n || *n > 0xff) return std::nullopt;
    return static_cast<uint8_t>(*n);
}

std::string shown(const Json& v) {
    std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

// nft 1.0.6's symbol tables (src/proto.c, src/icmp...).
struct Symbol {
    std::string_view name;
    uint8_t value;
};
constexpr std::array<Symbol, 15> kIcmpTypes = {{{"echo-reply", 0},
                                                {"destination-unreachable", 3},
                                                {"source-quench", 4},
                                                {"redirect", 5},
                                                {"echo-request", 8},
                                                {"router-advertisement", 9},
                                                {"router-solicitation", 10},
                                                {"time-exceeded", 11},
                                                {"parameter-problem", 12},
                                                {"timestamp-request", 13},
                                                {"timestamp-reply", 14},
                                                {"info-request", 15},
                                                {"info-reply", 16},
                                                {"address-mask-request", 17},
                                                {"address-mask-reply", 18}}};
constexpr std::array<Symbol, 19> kIcmpv6Types = {{{"destination-unreachable", 1},
                                                  {"packet-too-big", 2},
                                                  {"time-exceeded", 3},
                                                  {"parameter-problem", 4},
                                                  {"echo-request", 128},
                                                  {"echo-reply", 129},
                                                  {"mld-listener-query", 130},
                                                  {"mld-listener-report", 131},
                                                  {"mld-listener-done", 132},
                                                  {"mld-listener-reduction", 132},
                                                  {"nd-router-solicit", 133},
                                                  {"nd-router-advert", 134},
                                                  {"nd-neighbor-solicit", 135},
                                                  {"nd-neighbor-advert", 136},
                                                  {"nd-redirect", 137},
                                                  {"router-renumbering", 138},
                                                  {"ind-neighbor-solicit", 141},
                                                  {"ind-neighbor-advert", 142},
                                                  {"mld2-listener-report", 143}}};
constexpr std::array<Symbol, 8> kIcmpCodes = {{{"net-unreachable", 0},
                                               {"host-unreachable", 1},
                                               {"prot-unreachable", 2},
                                               {"port-unreachable", 3},
                                               {"frag-needed", 4},
                                               {"net-prohibited", 9},
                                               {"host-prohibited", 10},
                                               {"admin-prohibited", 13}}};
constexpr std::array<Symbol, 6> kIcmpv6Codes = {{{"no-route", 0},
                                                 {"admin-prohibited", 1},
                                                 {"addr-unreachable", 3},
                                                 {"port-unreachable", 4},
                                                 {"policy-fail", 5},
                                                 {"reject-route", 6}}};

template <size_t N>
std::optional<uint8_t> symbolOrNumber(const Json& v, const std::array<Symbol, N>& table) {
    if (const std::string* s = stringOf(v))
        for (const Symbol& sym : table)
            if (sym.name == *s) return sym.value;
    auto n = numberOf(v);
    if (!n || *n > 255) return std::nullopt;
    return static_cast<uint8_t>(*n);
}

std::optional<uint8_t> protoOf(const Json& v) {
    if (const std::string* s = stringOf(v)) {
        if (*s == "icmpv6") return 58;
        if (auto p = protoByName(*s)) return p;
    }
    auto n = numberOf(v);
    if (!n || *n > 255) return std::nullopt;
    return static_cast<uint8_t>(*n);
}

std::optional<NumRange> rangeOf(const Json& v, uint32_t max) {
    if (const Json* r = member(v, "range"); r && r->is_array() && r->size() == 2) {
        auto lo = numberOf((*r)[0]), hi = numberOf((*r)[1]);
        if (!lo || !hi || *lo > *hi || *hi > max) return std::nullopt;
        return NumRange{static_cast<uint32_t>(*lo), static_cast<uint32_t>(*hi)};
    }
    auto n = numberOf(v);
    if (!n || *n > max) return std::nullopt;
    return NumRange{static_cast<uint32_t>(*n), static_cast<uint32_t>(*n)};
}

std::optional<IpAddr> addrOf(const Json& v) {
    const std::string* s = stringOf(v);
    return s ? IpAddr::parse(*s) : std::nullopt;
}

std::optional<AddrItem> addrItemOf(const Json& v) {
    if (const Json* p = member(v, "prefix")) {
        auto a = addrOf(fieldOf(*p, "addr"));
        auto len = numberOf(fieldOf(*p, "len"));
        if (!a || !len || *len > (a->family == Family::V4 ? 32u : 128u)) return std::nullopt;
        return Prefix{*a, static_cast<uint8_t>(*len)}.network();
    }
    if (const Json* r = member(v, "range"); r && r->is_array() && r->size() == 2) {
        auto lo = addrOf((*r)[0]), hi = addrOf((*r)[1]);
        if (!lo || !hi || lo->family != hi->family || *hi < *lo) return std::nullopt;
        return AddrRange{*lo, *hi};
    }
    const std::string* s = stringOf(v);
    if (!s) return std::nullopt;
    auto p = Prefix::parse(*s);
    if (!p) return std::nullopt;
    return p->network();
}

// ---------------------------------------------------------------------------------------------
// The document: tables, chains, sets, rules

struct RuleObj {
    const Json* json;
    SourceSpan span;
    std::string handle;
};

struct ChainObj {
    std::string name;
    const Json* json;
    SourceSpan span;
    bool base = false;
    std::optional<std::string> legacyTable;
    std::string irName;
    std::vector<RuleObj> rules;
};

struct TableObj {
    std::string family;  // "inet", "ip", "ip6", others refused
    std::string name;
    SourceSpan span;
    std::vector<ChainObj> chains;
    std::map<std::string, const Json*> sets;
};

std::optional<TableFamily> tableFamilyOf(std::string_view f) {
    if (f == "inet") return TableFamily::Inet;
    if (f == "ip") return TableFamily::Ip;
    if (f == "ip6") return TableFamily::Ip6;
    return std::nullopt;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

/// A hand-written base chain's legacy table and chain, by type, hook name and priority.
std::optional<std::pair<std::string, std::string>> legacyChain(std::string_view type,
                                                               std::string_view hook,
                                                               int64_t prio) {
    static const std::map<std::string_view, std::string_view> kHooks = {
        {"prerouting", "PREROUTING"},
        {"input", "INPUT"},
        {"forward", "FORWARD"},
        {"output", "OUTPUT"},
        {"postrouting", "POSTROUTING"}};
    auto h = kHooks.find(hook);
    if (h == kHooks.end()) return std::nullopt;
    return legacyChainOf(type, h->second, prio);
}

// ---------------------------------------------------------------------------------------------
// One rule

struct RuleContext {
    const TableObj* table = nullptr;
    const ChainObj* chain = nullptr;
    TableFamily family = TableFamily::Inet;
};

class RuleReader {
  public:
    explicit RuleReader(const RuleContext& ctx) : ctx_(ctx) {
        if (ctx.family == TableFamily::Ip) network_ = Family::V4;
        if (ctx.family == TableFamily::Ip6) network_ = Family::V6;
    }

    /// false with `error()` set when the rule has no IR equivalent.
    bool read(const Json& exprs, Rule& out);
    const std::string& error() const { return error_; }

  private:
    bool fail(std::string why) {
        if (error_.empty()) error_ = std::move(why);
        return false;
    }
    bool statement(const Json& stmt);
    bool match(const Json& m);
    bool payloadMatch(const Json& p, bool neg, const Json& right);
    bool metaMatch(const std::string& key, bool neg, const Json& right);
    bool ctMatch(const Json& ct, bool neg, const std::string& op, const Json& right);
    bool maskedMatch(const Json& operands, bool neg, const Json& right);
    bool tcpFlagsMatch(const std::string& op, const Json* mask, const Json& right);
    bool socketMatch(const Json& s, bool neg, const Json& right);
    bool fibMatch(const Json& f, bool neg, const Json& right);
    bool addrMatch(Direction dir, Family f, bool neg, const Json& right);
    bool portMatch(uint8_t proto, Direction dir, bool neg, const Json& right);
    bool icmpMatch(Family f, const std::string& field, bool neg, const Json& right);
    bool mangle(const Json& m);
    bool tcpMss(const Json& option, const Json& value);
    bool nat(const std::string& kind, const Json& n);
    bool tproxy(const Json& t);
    bool reject(const Json& r);
    bool log(const Json& l);
    bool limit(const Json& l);
    bool verdictTarget(const std::string& kind, const Json& v);
    bool foldTarget(Target& out);
    /// The elements a right-hand side stands for: a set's, a named set's, or the value itself.
    std::optional<std::vector<const Json*>> elements(const Json& right, bool& isSet);
    void addProto(uint8_t proto, bool negated);
    void useFamily(Family f, bool fromMatch) {
        if (depFamily_ == f) familyUsed_ = true;
        if (fromMatch) familyFromMatch_ = true;
    }
    bool dependsOn(Family f) {
        if (ctx_.family == TableFamily::Inet) {
            if (depFamily_ && depFamily_ != f) return fail("matches of both IPv4 and IPv6");
            depFamily_ = f;
        } else if (network_ != f) {
            return fail("an IPv" + std::string(f == Family::V4 ? "4" : "6") +
                        " match in a table of the other family");
        }
        network_ = f;
        return true;
    }

    const RuleContext& ctx_;
    std::optional<Family> network_;
    std::optional<Family> depFamily_;  // ip protocol / meta nfproto: needs a user in the rule
    bool familyUsed_ = false;
    bool familyFromMatch_ = false;
    std::vector<Match> matches_;
    std::vector<Target> actions_;
    bool counter_ = false;  // a counter statement: the rule counts (NoTarget::counts)
    std::string error_;
};

bool RuleReader::read(const Json& exprs, Rule& out) {
    if (!exprs.is_array()) return fail("'expr' is not a list of statements");
    for (const Json& stmt : exprs)
        if (!statement(stmt)) return false;
    if (depFamily_ && !familyUsed_)
        return fail(
            "a family match (ip protocol, meta nfproto) with no address of that family: "
            "policyc's protocol match covers both families");
    if (!foldTarget(out.target)) return false;
    // `icmp type` implies its protocol: nft's l4proto dependency is not a match of its own.
    for (const Match& m : matches_) {
        auto* icmp = std::get_if<IcmpMatch>(&m);
        if (!icmp) continue;
        const ProtoMatch dep{static_cast<uint8_t>(icmp->family == Family::V4 ? 1 : 58), false};
        std::erase_if(matches_, [&](const Match& x) {
            auto* p = std::get_if<ProtoMatch>(&x);
            return p && *p == dep;
        });
        break;
    }
    out.matches = std::move(matches_);
    sortMatches(out.matches);
    return true;
}

bool RuleReader::statement(const Json& stmt) {
    const std::string* kind = singleKey(stmt);
    if (!kind) return fail("a statement that is not {\"NAME\": ...}: " + shown(stmt));
    const Json& v = stmt.begin().value();
    if (*kind == "match") return match(v);
    // counters change nothing the kernel decides; a rule without other statement only counts
    if (*kind == "counter") return counter_ = true;
    if (*kind == "accept" || *kind == "drop" || *kind == "return" || *kind == "jump" ||
        *kind == "goto" || *kind == "continue")
        return verdictTarget(*kind, v);
    if (*kind == "mangle") return mangle(v);
    if (*kind == "snat" || *kind == "dnat" || *kind == "masquerade" || *kind == "redirect")
        return nat(*kind, v);
    if (*kind == "tproxy") return tproxy(v);
    if (*kind == "reject") return reject(v);
    if (*kind == "log") return log(v);
    if (*kind == "limit") return limit(v);
    if (*kind == "notrack") return actions_.push_back(Notrack{}), true;
    if (*kind == "xt") return fail("an xtables extension (a rule of iptables-nft)");
    return fail("statement '" + *kind + "'");
}

void RuleReader::addProto(uint8_t proto, bool negated) {
    const ProtoMatch p{proto, negated};
    for (const Match& m : matches_)
        if (auto* q = std::get_if<ProtoMatch>(&m); q && *q == p) return;
    matches_.push_back(p);
}

std::optional<std::vector<const Json*>> RuleReader::elements(const Json& right, bool& isSet) {
    std::vector<const Json*> out;
    const Json* list = nullptr;
    isSet = false;
    if (const Json* s = member(right, "set")) {
        list = s;
    } else if (const std::string* name = stringOf(right); name && name->starts_with('@')) {
        auto it = ctx_.table->sets.find(name->substr(1));
        if (it == ctx_.table->sets.end()) {
            fail("set '" + *name + "' is not in the dump");
            return std::nullopt;
        }
        const Json& set = *it->second;
        if (const Json* flags = member(set, "flags"))
            for (const Json& f : flags->is_array() ? *flags : Json::array({*flags}))
                if (f == "dynamic" || f == "timeout") {
                    fail("set '" + *name + "' changes at run time (flag " + f.dump() + ")");
                    return std::nullopt;
                }
        if (member(set, "map")) {
            fail("a map lookup");
            return std::nullopt;
        }
        static const Json kEmpty = Json::array();
        list = member(set, "elem") ? member(set, "elem") : &kEmpty;
    }
    if (!list) return std::vector<const Json*>{&right};
    isSet = true;
    if (!list->is_array()) return std::vector<const Json*>{list};
    for (const Json& e : *list) {
        // {"elem": {"val": X, "timeout": ...}} carries per-element options around the value
        const Json* el = member(e, "elem");
        out.push_back(el && member(*el, "val") ? member(*el, "val") : &e);
    }
    return out;
}

bool RuleReader::match(const Json& m) {
    const Json* opJ = member(m, "op");
    const Json* left = member(m, "left");
    const Json* right = member(m, "right");
    if (!opJ || !left || !right || !opJ->is_string()) return fail("a match without op/left/right");
    const std::string& op = opJ->get_ref<const std::string&>();
    // "!": none of a flag list's bits (`ct state ! established,new`), for ct state only.
    if (op != "==" && op != "!=" && op != "in" && op != "!")
        return fail("comparison '" + op + "' (policyc matches equality, sets and ranges)");
    const bool neg = op == "!=" || op == "!";
    const std::string* kind = singleKey(*left);
    if (!kind) return fail("a match on " + shown(*left));
    if (isTcpFlags(*left)) return tcpFlagsMatch(op, nullptr, *right);
    if (const Json* a = member(*left, "&");
        a && a->is_array() && a->size() == 2 && isTcpFlags((*a)[0]))
        return tcpFlagsMatch(op, &(*a)[1], *right);
    if (op == "!" && *kind != "ct")
        return fail("comparison '!' on " + shown(*left) + " (policyc reads it for ct state only)");
    const Json& l = left->begin().value();
    if (*kind == "payload") return payloadMatch(l, neg, *right);
    if (*kind == "meta") {
        const std::string* key = stringOf(fieldOf(l, "key"));
        if (!key) return fail("a meta match without a key");
        return metaMatch(*key, neg, *right);
    }
    if (*kind == "ct") return ctMatch(l, neg, op, *right);
    if (*kind == "&") return maskedMatch(l, neg, *right);
    if (*kind == "socket") return socketMatch(l, neg, *right);
    if (*kind == "fib") return fibMatch(l, neg, *right);
    return fail("a match on '" + *kind + "'");
}

bool RuleReader::payloadMatch(const Json& p, bool neg, const Json& right) {
    const std::string* proto = stringOf(fieldOf(p, "protocol"));
    const std::string* field = stringOf(fieldOf(p, "field"));
    if (!proto || !field) return fail("a raw payload match (base, offset, length)");
    const std::string what = *proto + " " + *field;
    if ((*proto == "ip" || *proto == "ip6") && (*field == "saddr" || *field == "daddr")) {
        const Family f = *proto == "ip" ? Family::V4 : Family::V6;
        if (!dependsOn(f)) return false;
        return addrMatch(*field == "saddr" ? Direction::Source : Direction::Destination, f, neg,
                         right);
    }
    if (*proto == "ip" && *field == "protocol") {
        if (!dependsOn(Family::V4)) return false;
        if (ctx_.family != TableFamily::Inet) familyUsed_ = true;
        auto n = protoOf(right);
        if (!n) return fail("'" + what + "' with " + shown(right));
        addProto(*n, neg);
        return true;
    }
    static const std::map<std::string_view, uint8_t> kL4 = {
        {"tcp", 6}, {"udp", 17}, {"sctp", 132}, {"th", 0}};
    if (auto it = kL4.find(*proto); it != kL4.end() && (*field == "sport" || *field == "dport")) {
        uint8_t l4 = it->second;
        if (l4 == 0) {  // th: the protocol must be known from a match before it
            for (const Match& m : matches_)
                if (auto* q = std::get_if<ProtoMatch>(&m); q && !q->negated) l4 = q->proto;
            if (l4 != 6 && l4 != 17 && l4 != 132)
                return fail("'th " + *field + "' without a tcp, udp or sctp protocol match");
        }
        return portMatch(l4, *field == "sport" ? Direction::Source : Direction::Destination, neg,
                         right);
    }
    if ((*proto == "icmp" || *proto == "icmpv6") && (*field == "type" || *field == "code"))
        return icmpMatch(*proto == "icmp" ? Family::V4 : Family::V6, *field, neg, right);
    if (*proto == "ether" && *field == "saddr") {
        const std::string* s = stringOf(right);
        MacMatch mac{neg, {}};
        if (!s || s->size() != 17) return fail("'ether saddr' with " + shown(right));
        for (size_t i = 0; i < 6; ++i) {
            auto [ptr, ec] =
                std::from_chars(s->data() + 3 * i, s->data() + 3 * i + 2, mac.mac[i], 16);
            if (ec != std::errc() || ptr != s->data() + 3 * i + 2 ||
                (i < 5 && (*s)[3 * i + 2] != ':'))
                return fail("'ether saddr' with " + shown(right));
        }
        matches_.push_back(mac);
        return true;
    }
    if (*proto == "ip6" && *field == "nexthdr")
        return fail(
            "'ip6 nexthdr' (the next header, not the upper-layer protocol that "
            "'meta l4proto' and policyc's protocol match see)");
    return fail("payload '" + what + "'");
}

bool RuleReader::addrMatch(Direction dir, Family f, bool neg, const Json& right) {
    bool isSet = false;
    auto els = elements(right, isSet);
    if (!els) return false;
    std::vector<AddrItem> items;
    for (const Json* e : *els) {
        auto item = addrItemOf(*e);
        if (!item || familyOf(*item) != f)
            return fail("an address match with " + shown(*e) + " (not an IPv" +
                        (f == Family::V4 ? "4" : "6") + " address, prefix or range)");
        items.push_back(*item);
    }
    if (items.empty()) return fail("an empty address set");
    useFamily(f, true);
    matches_.push_back(AddrMatch{dir, neg, std::move(items)});  // negated: none of them
    return true;
}

bool RuleReader::portMatch(uint8_t proto, Direction dir, bool neg, const Json& right) {
    bool isSet = false;
    auto els = elements(right, isSet);
    if (!els) return false;
    PortMatch m{dir, neg, {}};
    for (const Json* e : *els) {
        auto r = rangeOf(*e, 65535);
        if (!r) return fail("a port match with " + shown(*e));
        m.ports.push_back(*r);
    }
    if (m.ports.empty()) return fail("an empty port set");
    addProto(proto, false);
    matches_.push_back(std::move(m));
    return true;
}

bool RuleReader::icmpMatch(Family f, const std::string& field, bool neg, const Json& right) {
    const std::string key = f == Family::V4 ? "icmp" : "icmpv6";
    if (!dependsOn(f)) return false;
    if (ctx_.family != TableFamily::Inet) familyUsed_ = true;
    useFamily(f, true);
    if (field == "code") {
        IcmpMatch* last = matches_.empty() ? nullptr : std::get_if<IcmpMatch>(&matches_.back());
        auto code = f == Family::V4 ? symbolOrNumber(right, kIcmpCodes)
                                    : symbolOrNumber(right, kIcmpv6Codes);
        if (!last || last->code || last->negated || neg || !code)
            return fail("'" + key + " code' other than == right after its '" + key + " type'");
        last->code = code;
        return true;
    }
    auto type =
        f == Family::V4 ? symbolOrNumber(right, kIcmpTypes) : symbolOrNumber(right, kIcmpv6Types);
    if (!type) return fail("'" + key + " type' with " + shown(right) + " (one type only)");
    addProto(f == Family::V4 ? 1 : 58, false);
    matches_.push_back(IcmpMatch{f, neg, *type, {}});
    return true;
}

bool RuleReader::metaMatch(const std::string& key, bool neg, const Json& right) {
    if (key == "l4proto") {
        auto p = protoOf(right);
        if (!p) return fail("'meta l4proto' with " + shown(right) + " (one protocol only)");
        addProto(*p, neg);
        return true;
    }
    if (key == "iif" || key == "oif")
        // nft resolves the name to the device's index when it loads the rule: the rule then
        // follows that device, not a later one of the same name, as iifname/oifname would.
        return fail("'meta " + key + "' (an interface index, fixed when the rule was loaded; '" +
                    key + "name' matches by name and is policyc's interface match)");
    if (key == "iifname" || key == "oifname") {
        const std::string* s = stringOf(right);
        if (!s) return fail("'meta " + key + "' with " + shown(right) + " (one name only)");
        std::string name = *s;
        if (name.ends_with('+')) return fail("an interface name ending in '+'");
        if (name.ends_with("\\*"))
            return fail("an interface name ending in a literal '*'");
        else if (name.ends_with('*'))
            name.back() = '+';  // nft's wildcard is iptables' and the IR's '+'
        const auto dir = key.starts_with('i') ? IfaceDirection::In : IfaceDirection::Out;
        matches_.push_back(IfaceMatch{dir, neg, name});
        return true;
    }
    if (key == "skuid" || key == "skgid") {
        auto r = rangeOf(right, 0xffffffffu);
        if (!r) return fail("'meta " + key + "' with " + shown(right) + " (one id or a range)");
        const auto kind = key == "skuid" ? OwnerMatch::Kind::Uid : OwnerMatch::Kind::Gid;
        matches_.push_back(OwnerMatch{kind, neg, *r});
        return true;
    }
    if (key == "mark") {
        auto v = u32Of(right);
        if (!v) return fail("'meta mark' with " + shown(right) + " (one mark only)");
        matches_.push_back(MarkMatch{neg, {*v, 0xffffffff}});
        return true;
    }
    if (key == "nfproto") {
        const std::string* s = stringOf(right);
        if (!s || (*s != "ipv4" && *s != "ipv6") || neg)
            return fail("'meta nfproto' with " + shown(right));
        const Family f = *s == "ipv4" ? Family::V4 : Family::V6;
        if (!dependsOn(f)) return false;
        if (ctx_.family != TableFamily::Inet) familyUsed_ = true;
        return true;
    }
    return fail("'meta " + key + "'");
}

bool RuleReader::ctMatch(const Json& ct, bool neg, const std::string& op, const Json& right) {
    if (member(ct, "dir")) return fail("a ct match with a direction");
    const std::string* key = stringOf(fieldOf(ct, "key"));
    if (!key) return fail("a ct match without a key");
    if (op == "!" && *key != "state")
        return fail("comparison '!' on 'ct " + *key + "' (policyc reads it for ct state only)");
    if (*key == "mark") {
        auto v = u32Of(right);
        if (!v || op == "in") return fail("'ct mark' with " + shown(right) + " (one mark only)");
        matches_.push_back(ConnmarkMatch{neg, {*v, 0xffffffff}});
        return true;
    }
    if (*key != "state") return fail("'ct " + *key + "'");
    static const std::map<std::string_view, uint8_t> kStates = {{"invalid", kCtInvalid},
                                                                {"new", kCtNew},
                                                                {"established", kCtEstablished},
                                                                {"related", kCtRelated},
                                                                {"untracked", kCtUntracked}};
    // a flag list prints as an array; a set as {"set": [...]}: both mean "any of"
    bool isSet = false;
    std::optional<std::vector<const Json*>> els;
    if (right.is_array()) {
        els.emplace();
        for (const Json& e : right) els->push_back(&e);
    } else {
        els = elements(right, isSet);
        if (!els) return false;
    }
    uint8_t states = 0;
    for (const Json* e : *els) {
        const std::string* s = stringOf(*e);
        auto it = s ? kStates.find(*s) : kStates.end();
        if (it == kStates.end()) return fail("'ct state' with " + shown(*e));
        states |= it->second;
    }
    if (states == 0) return fail("an empty ct state set");
    matches_.push_back(CtStateMatch{neg, states});
    return true;
}

/// nft's forms of (flags & mask) == comp: `& mask ==|!= comp`, `==|!= value` (every bit),
/// `! mask` (none of them set) and `in mask` (one of them set, i.e. not none).
bool RuleReader::tcpFlagsMatch(const std::string& op, const Json* mask, const Json& right) {
    const auto value = tcpFlagBits(right);
    const auto bits = mask ? tcpFlagBits(*mask) : std::optional<uint8_t>(0xff);
    TcpFlagsMatch m{op == "!=", bits.value_or(0), value.value_or(0)};
    if (op == "!" || op == "in") {
        if (mask) return fail("comparison '" + op + "' of masked tcp flags");
        m = TcpFlagsMatch{op == "in", value.value_or(0), 0};
    }
    if (!value || !bits || m.mask == 0 || (m.comp & ~m.mask))
        return fail("'tcp flags' with " + shown(right) + (mask ? " / " + shown(*mask) : ""));
    addProto(6, false);
    matches_.push_back(m);
    return true;
}

bool RuleReader::maskedMatch(const Json& operands, bool neg, const Json& right) {
    if (!operands.is_array() || operands.size() != 2)
        return fail("a bitwise and of " + shown(operands));
    const std::string* kind = singleKey(operands[0]);
    const std::string* key = kind ? stringOf(fieldOf(operands[0].begin().value(), "key")) : nullptr;
    auto mask = u32Of(operands[1]);
    auto value = u32Of(right);
    const bool meta = kind && *kind == "meta", ct = kind && *kind == "ct";
    if (!key || *key != "mark" || !(meta || ct) || !mask || !value ||
        (ct && member(operands[0].begin().value(), "dir")))
        return fail("a masked match other than 'meta mark' or 'ct mark'");
    if (meta)
        matches_.push_back(MarkMatch{neg, {*value, *mask}});
    else
        matches_.push_back(ConnmarkMatch{neg, {*value, *mask}});
    return true;
}

bool RuleReader::socketMatch(const Json& s, bool neg, const Json& right) {
    const std::string* key = stringOf(fieldOf(s, "key"));
    if (!key) return fail("a socket match without a key");
    if (*key == "cgroupv2") {
        const std::string* path = stringOf(right);
        if (!path) return fail("'socket cgroupv2' with " + shown(right));
        std::string p = *path;
        while (p.starts_with('/')) p.erase(p.begin());
        while (p.ends_with('/')) p.pop_back();
        const auto depth = p.empty() ? 0 : 1 + std::count(p.begin(), p.end(), '/');
        // nft 1.0.6 leaves the level out of its JSON; the path's depth is the level
        auto level = member(s, "level") ? numberOf(s["level"]) : static_cast<uint64_t>(depth);
        if (level != static_cast<uint64_t>(depth))
            return fail("'socket cgroupv2 level " + fieldOf(s, "level").dump() +
                        "' with a path of " + std::to_string(depth) + " levels");
        matches_.push_back(CgroupMatch{neg, "/" + p});
        return true;
    }
    auto v = numberOf(right);
    if (!neg && v == 1u && *key == "transparent")
        return matches_.push_back(SocketMatch{true}), true;
    if (!neg && v == 0u && *key == "wildcard") return matches_.push_back(SocketMatch{false}), true;
    return fail("'socket " + *key + "' with " + shown(right));
}

bool RuleReader::fibMatch(const Json& f, bool neg, const Json& right) {
    static const std::set<std::string_view> kTypes = {
        "unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
        "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};
    const Json* flags = member(f, "flags");
    const std::string* result = stringOf(fieldOf(f, "result"));
    std::vector<std::string> fl;
    if (flags && flags->is_array()) {
        for (const Json& x : *flags)
            if (const std::string* s = stringOf(x)) fl.push_back(*s);
    } else if (flags && flags->is_string()) {
        fl.push_back(flags->get<std::string>());
    }
    const std::string* type = stringOf(right);
    if (!result || *result != "type" || fl.size() != 1 || (fl[0] != "saddr" && fl[0] != "daddr"))
        return fail("a fib lookup other than 'fib saddr type' or 'fib daddr type'");
    if (!type || !kTypes.count(*type)) return fail("'fib " + fl[0] + " type' with " + shown(right));
    matches_.push_back(
        AddrTypeMatch{fl[0] == "saddr" ? Direction::Source : Direction::Destination, neg, *type});
    return true;
}

// --- statements ------------------------------------------------------------------------------

bool RuleReader::verdictTarget(const std::string& kind, const Json& v) {
    if (kind == "accept") return actions_.push_back(Accept{}), true;
    if (kind == "drop") return actions_.push_back(Drop{}), true;
    if (kind == "return") return actions_.push_back(Return{}), true;
    if (kind == "continue") return fail("verdict 'continue'");
    const std::string* target = stringOf(fieldOf(v, "target"));
    if (!target || target->empty()) return fail("'" + kind + "' without a target chain");
    std::string name = *target;
    // chains jumped to from policyc's own table carry the legacy table's prefix
    if (ctx_.table->name == "policyc") {
        const std::string prefix = *ctx_.chain->legacyTable + "_";
        if (!name.starts_with(prefix) || name.size() == prefix.size())
            return fail("'" + kind + " " + name + "' leaves table '" + *ctx_.chain->legacyTable +
                        "' (chains of policyc's table are named " + prefix + "NAME)");
        name.erase(0, prefix.size());
    }
    if (kind == "jump") return actions_.push_back(Jump{name}), true;
    return actions_.push_back(Goto{name}), true;
}

/// A mark expression as (source & keep) ^ flip, the form of nft's bitwise expression.
struct MarkExpr {
    std::string source;  // "", "meta" or "ct"
    uint32_t keep = 0;
    uint32_t flip = 0;
};

std::optional<MarkExpr> markExpr(const Json& v, int depth) {
    if (depth > 8) return std::nullopt;
    if (auto n = u32Of(v)) return MarkExpr{"", 0, *n};
    const std::string* kind = singleKey(v);
    if (!kind) return std::nullopt;
    const Json& body = v.begin().value();
    if (*kind == "meta" || *kind == "ct") {
        if (fieldOf(body, "key") != "mark" || member(body, "dir")) return std::nullopt;
        return MarkExpr{*kind, 0xffffffff, 0};
    }
    if (!body.is_array() || body.size() != 2) return std::nullopt;
    auto a = markExpr(body[0], depth + 1);
    auto c = u32Of(body[1]);
    if (!a || !c) return std::nullopt;
    if (*kind == "&") return MarkExpr{a->source, a->keep & *c, a->flip & *c};
    if (*kind == "|") return MarkExpr{a->source, a->keep & ~*c, a->flip | *c};
    if (*kind == "^") return MarkExpr{a->source, a->keep, a->flip ^ *c};
    return std::nullopt;
}

bool RuleReader::mangle(const Json& m) {
    const Json* key = member(m, "key");
    const Json* value = member(m, "value");
    const std::string* kind = key ? singleKey(*key) : nullptr;
    if (kind && value && *kind == "tcp option") return tcpMss(key->begin().value(), *value);
    if (!kind || !value || (*kind != "meta" && *kind != "ct") ||
        fieldOf(key->begin().value(), "key") != "mark" || member(key->begin().value(), "dir"))
        return fail("a statement setting " + (key ? shown(*key) : std::string("nothing")) +
                    " (policyc sets meta mark and ct mark)");
    auto e = markExpr(*value, 0);
    if (!e) return fail("'" + *kind + " mark set' to " + shown(*value));
    const bool toCt = *kind == "ct";
    if (e->source.empty() || e->source == *kind) {  // key = (key & keep) ^ flip
        const MarkMask mm{e->flip, ~e->keep};
        if (toCt)
            actions_.push_back(Connmark{Connmark::Op::Set, mm});
        else
            actions_.push_back(SetMark{mm});
        return true;
    }
    if (e->flip != 0) return fail("a mark copy with an xor or or");
    actions_.push_back(Connmark{toCt ? Connmark::Op::Save : Connmark::Op::Restore, {0, e->keep}});
    return true;
}

/// `tcp option maxseg size set rt mtu | N`
bool RuleReader::tcpMss(const Json& option, const Json& value) {
    if (fieldOf(option, "name") != "maxseg" || fieldOf(option, "field") != "size")
        return fail("a statement setting tcp option " + shown(option) +
                    " (policyc sets maxseg size)");
    if (const Json* rt = member(value, "rt"); rt && fieldOf(*rt, "key") == "mtu")
        return actions_.push_back(TcpMss{}), true;
    if (value.is_number_unsigned() && value.get<uint64_t>() <= 65535)
        return actions_.push_back(TcpMss{value.get<uint16_t>()}), true;
    return fail("'tcp option maxseg size set' to " + shown(value));
}

bool RuleReader::nat(const std::string& kind, const Json& n) {
    if (member(n, "flags") || member(n, "type_flags"))
        return fail("'" + kind + "' with flags (random, persistent, fully-random, netmap ...)");
    std::optional<NumRange> ports;
    if (const Json* p = member(n, "port")) {
        ports = rangeOf(*p, 65535);
        if (!ports) return fail("'" + kind + "' to port " + shown(*p));
    }
    if (kind == "masquerade") return actions_.push_back(Masquerade{ports}), true;
    if (kind == "redirect") return actions_.push_back(Redirect{ports}), true;
    Nat nat;
    nat.kind = kind == "snat" ? Nat::Kind::Snat : Nat::Kind::Dnat;
    nat.ports = ports;
    if (const Json* a = member(n, "addr")) {
        if (const Json* r = member(*a, "range"); r && r->is_array() && r->size() == 2) {
            nat.first = addrOf((*r)[0]);
            nat.last = addrOf((*r)[1]);
            if (!nat.first || !nat.last || nat.first->family != nat.last->family)
                return fail("'" + kind + "' to " + shown(*a));
            if (*nat.last == *nat.first) nat.last.reset();
        } else {
            nat.first = addrOf(*a);
            if (!nat.first) return fail("'" + kind + "' to " + shown(*a));
        }
        if (!dependsOn(nat.first->family)) return false;
        useFamily(nat.first->family, false);
    } else if (!ports) {
        return fail("'" + kind + "' without an address or port");
    }
    actions_.push_back(nat);
    return true;
}

bool RuleReader::tproxy(const Json& t) {
    Tproxy tp;
    const std::string* fam = stringOf(fieldOf(t, "family"));
    if (const Json* a = member(t, "addr")) {
        tp.addr = addrOf(*a);
        if (!tp.addr) return fail("'tproxy' to " + shown(*a));
    }
    std::optional<Family> f;
    if (fam && (*fam == "ip" || *fam == "ip6")) f = *fam == "ip" ? Family::V4 : Family::V6;
    if (!f && tp.addr) f = tp.addr->family;
    if (!f) f = network_;
    if (!f || (tp.addr && tp.addr->family != *f)) return fail("a tproxy of unknown family");
    tp.family = *f;
    auto port = rangeOf(fieldOf(t, "port"), 65535);
    if (!port || !port->single()) return fail("'tproxy' without one port");
    tp.port = static_cast<uint16_t>(port->first);
    useFamily(*f, false);
    actions_.push_back(tp);
    return true;
}

bool RuleReader::reject(const Json& r) {
    const std::string* type = stringOf(fieldOf(r, "type"));
    const std::string* code = stringOf(fieldOf(r, "expr"));
    if (r.is_null() || (type && *type == "icmpx" && (!code || *code == "port-unreachable")))
        return actions_.push_back(Reject{}), true;
    if (type && *type == "tcp reset") {
        bool tcp = false;
        for (const Match& m : matches_)
            if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated && p->proto == 6)
                tcp = true;
        if (!tcp) return fail("'reject with tcp reset' without a tcp match");
        return actions_.push_back(Reject{"tcp-reset"}), true;
    }
    if (!type || (*type != "icmp" && *type != "icmpv6"))
        return fail("'reject' of type " + shown(fieldOf(r, "type")));
    const Family f = *type == "icmp" ? Family::V4 : Family::V6;
    static const std::map<std::string_view, std::string_view> kV4 = {
        {"net-unreachable", "icmp-net-unreachable"},
        {"host-unreachable", "icmp-host-unreachable"},
        {"prot-unreachable", "icmp-proto-unreachable"},
        {"port-unreachable", "icmp-port-unreachable"},
        {"net-prohibited", "icmp-net-prohibited"},
        {"host-prohibited", "icmp-host-prohibited"},
        {"admin-prohibited", "icmp-admin-prohibited"}};
    static const std::map<std::string_view, std::string_view> kV6 = {
        {"no-route", "icmp6-no-route"},
        {"admin-prohibited", "icmp6-adm-prohibited"},
        {"addr-unreachable", "icmp6-addr-unreachable"},
        {"port-unreachable", "icmp6-port-unreachable"},
        {"policy-fail", "icmp6-policy-fail"},
        {"reject-route", "icmp6-reject-route"}};
    const auto& names = f == Family::V4 ? kV4 : kV6;
    const std::string c = code ? *code : "port-unreachable";
    auto it = names.find(c);
    if (it == names.end()) return fail("'reject with " + *type + " " + c + "'");
    if (ctx_.family != TableFamily::Inet && network_ != f)
        return fail("'reject with " + *type + "' in a table of the other family");
    useFamily(f, false);
    // the family's default code is what plain `reject` gives once the family is known
    const bool known = ctx_.family != TableFamily::Inet || familyFromMatch_;
    if (known && c == "port-unreachable") return actions_.push_back(Reject{}), true;
    actions_.push_back(Reject{std::string(it->second)});
    return true;
}

bool RuleReader::log(const Json& l) {
    Log out;
    out.level = 4;  // nft leaves out its default level (warning); the frontend spells it
    if (l.is_null()) return actions_.push_back(out), true;
    if (!l.is_object()) return fail("'log' with " + shown(l));
    static const std::map<std::string_view, uint8_t> kLevels = {
        {"emerg", 0}, {"alert", 1},  {"crit", 2}, {"err", 3},
        {"warn", 4},  {"notice", 5}, {"info", 6}, {"debug", 7}};
    for (const auto& [k, v] : l.items()) {
        if (k == "prefix" && v.is_string()) {
            out.prefix = v.get<std::string>();
        } else if (k == "level" && v.is_string() && kLevels.count(v.get<std::string>())) {
            out.level = kLevels.at(v.get<std::string>());
        } else {
            return fail("'log' with " + k + " " + shown(v) + " (policyc logs a prefix and level)");
        }
    }
    actions_.push_back(out);
    return true;
}

bool RuleReader::limit(const Json& l) {
    static const std::map<std::string_view, std::string_view> kUnits = {
        {"second", "second"}, {"minute", "minute"}, {"hour", "hour"}, {"day", "day"}};
    static const std::string kSecond = "second";
    if (!l.is_object()) return fail("'limit' with " + shown(l));
    if (fieldOf(l, "inv") == true) return fail("'limit rate over'");
    if (const Json* u = member(l, "rate_unit"); u && *u != "packets")
        return fail("a limit in bytes");
    if (const Json* u = member(l, "burst_unit"); u && *u != "packets")
        return fail("a limit burst in bytes");
    auto rate = u32Of(fieldOf(l, "rate"));
    const std::string* per = member(l, "per") ? stringOf(l["per"]) : &kSecond;
    auto unit = per ? kUnits.find(*per) : kUnits.end();
    auto burst = member(l, "burst") ? u32Of(l["burst"]) : std::optional<uint32_t>(5);
    if (!rate || *rate == 0 || unit == kUnits.end() || !burst)
        return fail("'limit' with " + shown(l));
    matches_.push_back(LimitMatch{*rate, std::string(unit->second), *burst});
    return true;
}

/// One IR target from the statements: `tproxy ... meta mark set M accept` is one Tproxy.
bool RuleReader::foldTarget(Target& out) {
    auto& a = actions_;
    if (!a.empty() && std::holds_alternative<Tproxy>(a.front())) {
        Tproxy t = std::get<Tproxy>(a.front());
        size_t k = 1;
        if (k < a.size() && std::holds_alternative<SetMark>(a[k]))
            t.mark = std::get<SetMark>(a[k++]).mark;
        // nft's tproxy does not end the chain; the IR's, like iptables' TPROXY, does
        if (k >= a.size() || !std::holds_alternative<Accept>(a[k]))
            return fail("tproxy without 'accept' after it (nft's tproxy does not end the chain)");
        if (++k != a.size()) return fail("statements after tproxy other than a mark and accept");
        bool l4 = false;
        for (const Match& m : matches_)
            if (auto* p = std::get_if<ProtoMatch>(&m);
                p && !p->negated && (p->proto == 6 || p->proto == 17))
                l4 = true;
        if (!l4) return fail("tproxy without a tcp or udp match");
        out = t;
        return true;
    }
    if (a.size() > 1)
        return fail("more than one statement (the model has one target per rule, as iptables)");
    out = a.empty() ? Target{NoTarget{counter_}} : a.front();
    return true;
}

// ---------------------------------------------------------------------------------------------
// The file

class JsonReader {
  public:
    JsonReader(uint32_t file, const SourceManager& sources, Diagnostics& diags)
        : file_(file), text_(sources.file(file).text), lines_(text_), diags_(diags) {}

    std::optional<Host> read(std::string_view hostName);

  private:
    SourceSpan span(const Extent& e) const {
        auto [l1, c1] = lines_.at(e.begin);
        auto [l2, c2] = lines_.at(e.end);
        return {file_, l1, c1, l2, c2};
    }
    void error(Code code, SourceSpan at, std::string message) {
        diags_.report(code, at, std::move(message));
    }
    void readDocument(const Json& list);
    void collect(const Json& element, SourceSpan at);
    void placeChains(TableObj& t);
    void readRules(const TableObj& t, const ChainObj& c, Chain& into);
    TableObj* findTable(const std::string& family, const std::string& name) {
        for (TableObj& t : tables_)
            if (t.family == family && t.name == name) return &t;
        return nullptr;
    }
    static std::string where(const TableObj& t, const std::string& chain) {
        return "table " + t.family + " " + t.name + ", chain " + chain;
    }

    uint32_t file_;
    const std::string& text_;
    LineIndex lines_;
    Diagnostics& diags_;
    std::vector<TableObj> tables_;
    Host host_;
};

std::optional<Host> JsonReader::read(std::string_view hostName) {
    host_.name = std::string(hostName);
    host_.rulesOnly = true;  // a dump has no links, routing or sysctls
    const size_t errorsBefore = diags_.count(Severity::Error);
    Json doc;
    try {
        doc = Json::parse(text_);
    } catch (const Json::parse_error& e) {
        const size_t at = e.byte == 0 ? 0 : e.byte - 1;
        std::string what = e.what();
        if (auto p = what.find(": "); p != std::string::npos) what = what.substr(p + 2);
        error(Code::E001, span({at, at}), "not JSON: " + what);
        return std::nullopt;
    } catch (const Json::exception& e) {  // a number out of range has no position
        error(Code::E001, span({0, 0}), std::string("not usable JSON: ") + e.what());
        return std::nullopt;
    }
    const Json* list = member(doc, "nftables");
    if (!list || !list->is_array()) {
        error(Code::E001, span({0, 0}),
              "not the output of 'nft -j list ruleset' (expected {\"nftables\": [...]})");
        return std::nullopt;
    }
    try {
        readDocument(*list);
    } catch (const Json::exception& e) {  // every access is checked; this is a safety net
        error(Code::E001, span({0, 0}), std::string("unusable input: ") + e.what());
    }
    if (diags_.count(Severity::Error) > errorsBefore) return std::nullopt;
    return host_;
}

void JsonReader::readDocument(const Json& list) {
    const size_t errorsBefore = diags_.count(Severity::Error);
    const std::vector<Extent> extents = arrayElements(text_);
    for (size_t i = 0; i < list.size(); ++i) {
        const SourceSpan at = i < extents.size() ? span(extents[i]) : span({0, 0});
        collect(list[i], at);
    }
    if (diags_.count(Severity::Error) > errorsBefore) return;
    // One IR table per (family, legacy table); chains keep the order nft lists them in.
    std::map<std::pair<TableFamily, std::string>, std::pair<std::string, SourceSpan>> owners;
    for (TableObj& t : tables_) {
        placeChains(t);
        const TableFamily family = *tableFamilyOf(t.family);
        for (const ChainObj& c : t.chains) {
            if (!c.legacyTable) continue;
            auto ir = std::find_if(host_.tables.begin(), host_.tables.end(), [&](const Table& x) {
                return x.family == family && x.name == *c.legacyTable;
            });
            if (ir == host_.tables.end()) {
                // .pol cannot declare one table name for inet and for ip/ip6
                auto clash =
                    std::find_if(host_.tables.begin(), host_.tables.end(), [&](const Table& x) {
                        return x.name == *c.legacyTable &&
                               (x.family == TableFamily::Inet) != (family == TableFamily::Inet);
                    });
                if (clash != host_.tables.end()) {
                    error(Code::E202, c.span,
                          where(t, c.name) + " stands for " + *c.legacyTable + " " + c.irName +
                              " of family " + t.family + ", and another table already gave " +
                              *c.legacyTable + " chains of family " +
                              std::string(tableFamilyName(clash->family)) +
                              ": policyc has no table of both inet and ip/ip6");
                    continue;
                }
                host_.tables.push_back(Table{family, *c.legacyTable, {}, t.span});
                ir = host_.tables.end() - 1;
            }
            const auto key = std::make_pair(family, *c.legacyTable + " " + c.irName);
            if (auto [it, fresh] = owners.try_emplace(key, where(t, c.name), c.span); !fresh) {
                diags_
                    .report(Code::E102, c.span,
                            where(t, c.name) + " stands for " + *c.legacyTable + " " + c.irName +
                                ", as " + it->second.first +
                                " does: policyc has one chain of that name")
                    .notes.push_back({it->second.second, "the first one"});
                continue;
            }
            Chain chain{c.irName, ChainPolicy::None, {}, c.span};
            if (c.base)
                chain.policy = c.json->value("policy", Json("accept")) == "drop"
                                   ? ChainPolicy::Drop
                                   : ChainPolicy::Accept;
            readRules(t, c, chain);
            ir->chains.push_back(std::move(chain));
        }
    }
}

void JsonReader::collect(const Json& element, SourceSpan at) {
    const std::string* kind = singleKey(element);
    if (!kind) {
        error(Code::E001, at, "an element of 'nftables' that is not {\"KIND\": {...}}");
        return;
    }
    const Json& o = element.begin().value();
    if (*kind == "metainfo") return;
    if (!o.is_object()) {
        error(Code::E001, at, "'" + *kind + "' is not an object");
        return;
    }
    const std::string* familyName = stringOf(fieldOf(o, "family"));
    const std::string family = familyName ? *familyName : "";
    const std::string* table = stringOf(fieldOf(o, *kind == "table" ? "name" : "table"));
    if (*kind == "table") {
        if (!table) return error(Code::E001, at, "a table without a name");
        if (!tableFamilyOf(family))
            return error(
                Code::E202, at,
                "table " + family + " " + *table + ": policyc models inet, ip and ip6 tables only");
        if (findTable(family, *table))
            return error(Code::E102, at, "table " + family + " " + *table + " appears twice");
        tables_.push_back(TableObj{family, *table, at, {}, {}});
        return;
    }
    TableObj* t = table ? findTable(family, *table) : nullptr;
    if (*kind == "chain" || *kind == "rule" || *kind == "set") {
        if (!t)
            return error(Code::E001, at,
                         "a " + *kind + " of table " + family + " " + (table ? *table : "?") +
                             ", which is not in the input");
    }
    if (*kind == "set") {
        const std::string* name = stringOf(fieldOf(o, "name"));
        if (name) t->sets[*name] = &o;
        return;
    }
    if (*kind == "chain") {
        const std::string* name = stringOf(fieldOf(o, "name"));
        if (!name || name->empty()) return error(Code::E001, at, "a chain without a name");
        for (const ChainObj& c : t->chains)
            if (c.name == *name) return error(Code::E102, at, where(*t, *name) + " appears twice");
        t->chains.push_back(ChainObj{*name, &o, at, member(o, "hook") != nullptr, {}, "", {}});
        return;
    }
    if (*kind == "rule") {
        const std::string* chain = stringOf(fieldOf(o, "chain"));
        ChainObj* c = nullptr;
        for (ChainObj& x : t->chains)
            if (chain && x.name == *chain) c = &x;
        if (!c)
            return error(
                Code::E001, at,
                "a rule of " + where(*t, chain ? *chain : "?") + ", which is not in the input");
        const Json* h = member(o, "handle");
        c->rules.push_back(
            RuleObj{&o, at, h ? h->dump(-1, ' ', false, Json::error_handler_t::replace) : "?"});
        return;
    }
    // maps, counters, quotas, flowtables ...: they act only through a rule that names them, and
    // such a rule is refused
}

/// Places each chain: policyc's by name, others' base chains by hook, user chains by jumps.
void JsonReader::placeChains(TableObj& t) {
    const bool own = t.name == "policyc";
    std::map<std::string, std::string> taken;  // legacy chain -> the nft chain placed there
    for (ChainObj& c : t.chains) {
        if (own) {
            const auto us = c.name.find('_');
            const std::string table = c.name.substr(0, us);
            if (us == std::string::npos || us + 1 == c.name.size() || !isKnownTable(table))
                continue;
            c.legacyTable = table;
            c.irName = c.name.substr(us + 1);
            if (c.base) c.irName = upper(c.irName);
            continue;
        }
        if (!c.base) continue;
        const std::string* type = stringOf(fieldOf(*c.json, "type"));
        const std::string* hook = stringOf(fieldOf(*c.json, "hook"));
        const Json prio = fieldOf(*c.json, "prio");
        if (!type || !hook || !prio.is_number_integer()) continue;
        auto m = legacyChain(*type, *hook, prio.get<int64_t>());
        if (!m) continue;
        const std::string key = m->first + " " + m->second;
        if (auto it = taken.find(key); it != taken.end()) {
            error(Code::E202, c.span,
                  where(t, c.name) + ": a second base chain for " + key + " (after chain " +
                      it->second + "); policyc has one chain per table and hook");
            continue;
        }
        taken[key] = c.name;
        c.legacyTable = m->first;
        c.irName = m->second;
    }
    // user chains of other tables follow the first placed chain that jumps to them
    for (bool changed = true; changed && !own;) {
        changed = false;
        for (ChainObj& from : t.chains) {
            if (!from.legacyTable) continue;
            for (const RuleObj& r : from.rules) {
                const Json* exprs = member(*r.json, "expr");
                if (!exprs || !exprs->is_array()) continue;
                for (const Json& s : *exprs) {
                    const std::string* k = singleKey(s);
                    if (!k || (*k != "jump" && *k != "goto")) continue;
                    const std::string* target = stringOf(fieldOf(s.begin().value(), "target"));
                    for (ChainObj& to : t.chains)
                        if (target && to.name == *target && !to.legacyTable && !to.base) {
                            to.legacyTable = from.legacyTable;
                            to.irName = to.name;
                            changed = true;
                        }
                }
            }
        }
    }
    for (const ChainObj& c : t.chains) {
        if (c.legacyTable) {
            if (!c.base && isBuiltinChain(*c.legacyTable, c.irName))
                error(Code::E102, c.span,
                      where(t, c.name) + ": a user chain named like the built-in " +
                          *c.legacyTable + " " + c.irName);
            continue;
        }
        const bool drops = c.base && c.json->value("policy", Json()) == "drop";
        if (c.rules.empty() && !drops) continue;  // nothing to lose: it decides nothing
        error(Code::E202, c.span,
              where(t, c.name) + ": no iptables table and chain it stands for (" +
                  (c.base ? "a base chain of another type, hook or priority"
                          : "a user chain no placed chain jumps to") +
                  ", " + std::to_string(c.rules.size()) + " rules)");
    }
}

void JsonReader::readRules(const TableObj& t, const ChainObj& c, Chain& into) {
    const RuleContext ctx{&t, &c, *tableFamilyOf(t.family)};
    for (const RuleObj& r : c.rules) {
        Rule rule;
        rule.span = r.span;
        RuleReader reader(ctx);
        bool ok = false;
        try {
            const Json* exprs = member(*r.json, "expr");
            ok = exprs && reader.read(*exprs, rule);
            if (!exprs) reader.read(Json(), rule);
            if (ok)
                if (const Json* cm = member(*r.json, "comment")) {
                    if (!cm->is_string())
                        ok = false;
                    else
                        rule.comment = cm->get<std::string>();
                }
        } catch (const Json::exception& e) {
            ok = false;
            error(Code::E001, r.span,
                  where(t, c.name) + ", rule handle " + r.handle + ": malformed: " + e.what());
            continue;
        }
        if (!ok) {
            const std::string why = reader.error().empty() ? "a malformed rule" : reader.error();
            error(Code::E202, r.span,
                  where(t, c.name) + ", rule handle " + r.handle + ": " + why +
                      " has no policyc equivalent");
            continue;
        }
        into.rules.push_back(std::move(rule));
    }
    // a jump must stay within the legacy table the chain stands for
    for (const Rule& rule : into.rules) {
        const std::string* target = nullptr;
        if (auto* j = std::get_if<Jump>(&rule.target)) target = &j->chain;
        if (auto* g = std::get_if<Goto>(&rule.target)) target = &g->chain;
        if (!target) continue;
        const ChainObj* to = nullptr;
        for (const ChainObj& x : t.chains)
            if (x.legacyTable == c.legacyTable && x.irName == *target && !x.base) to = &x;
        if (!to)
            error(Code::E204, rule.span,
                  where(t, c.name) + ": jump or goto to '" + *target +
                      "', which is not a user chain of the same table (" + *c.legacyTable + ")");
    }
}

}  // namespace

std::optional<Host> importNftJson(uint32_t file, std::string_view hostName,
                                  const SourceManager& sources, Diagnostics& diags) {
    JsonReader reader(file, sources, diags);
    return reader.read(hostName);
}

std::optional<Host> importNftJsonFile(std::string_view path, SourceManager& sources,
                                      Diagnostics& diags) {
    auto file = loadSource(path, sources, diags);
    if (!file) return std::nullopt;
    return importNftJson(*file, importedHostName(path), sources, diags);
}

}  // namespace policyc
