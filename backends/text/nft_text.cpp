// SPDX-License-Identifier: GPL-2.0-or-later
// `nft -f` text for one host, spelled exactly as nft 1.0.6 `nft list ruleset` prints it back, so
// the rendering is its own expected read-back (tests/kernel/nft_oracle.sh proves it).
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <iomanip>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "backends/text/nft_layout.h"
#include "backends/text/nft_text_sets.h"
#include "backends/text/nft_text_vocab.h"
#include "backends/text/render.h"

namespace policyc::backends {
namespace {

using namespace policyc::ir;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// ---------------------------------------------------------------------------------------------
// Small spellings

/// Marks always print as 0x plus eight hex digits.
std::string hex8(uint32_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "0x00000000";
    for (size_t i = 9; v; --i, v >>= 4) out[i] = kDigits[v & 0xf];
    return out;
}

std::string neq(bool negated) { return negated ? "!= " : ""; }

std::string nftString(std::string_view s) {
    // nft's scanner takes everything up to the next `"` verbatim: there is no escape to undo,
    // and a `"` inside cannot be written at all (lower must refuse it for this backend).
    return "\"" + std::string(s) + "\"";
}

std::string numRange(const NumRange& r) {
    return r.single() ? std::to_string(r.first)
                      : std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::string macText(const std::array<uint8_t, 6>& mac) {
    std::ostringstream out;
    out << std::hex << std::setfill('0');
    for (size_t i = 0; i < mac.size(); ++i)
        out << (i ? ":" : "") << std::setw(2) << static_cast<unsigned>(mac[i]);
    return out.str();
}

/// nft keeps a mask whose ones are contiguous from the top as a prefix: 0xffff0000 is /16.
std::optional<int> maskPrefix(uint32_t mask) {
    const uint32_t inverted = ~mask;
    if ((inverted & (inverted + 1)) != 0) return std::nullopt;
    int len = 0;
    for (uint32_t m = mask; m & 0x80000000u; m <<= 1) ++len;
    return len;
}

/// `meta mark 0x00000001`, `meta mark 0x00010000/16`, `meta mark & 0x000000ff == 0x00000001`.
std::string markMatch(std::string_view key, bool negated, const MarkMask& m) {
    std::string out(key);
    if (m.mask == 0xffffffff) return out + " " + neq(negated) + hex8(m.value);
    // A value with bits outside a prefix mask would be cut to the prefix on reloading nft's
    // listing, so only a value inside the mask takes the prefix form.
    auto prefix = maskPrefix(m.mask);
    if (prefix && (m.value & ~m.mask) == 0)
        return out + " " + neq(negated) + hex8(m.value) + "/" + std::to_string(*prefix);
    return out + " & " + hex8(m.mask) + (negated ? " != " : " == ") + hex8(m.value);
}

/// The kernel's bitwise `(src & mask) ^ xor`, spelled as nft's delinearizer prints it: the xor
/// bits outside the mask become an `|`, so (mark & 0xffffff00) ^ 1 is `& 0xffffff01 | 0x1`.
std::string bitwise(std::string_view src, uint32_t mask, uint32_t xorValue) {
    uint32_t m = mask, x = xorValue, o = 0;
    if (mask != 0xffffffff || xorValue != 0) {
        o = (mask & xorValue) ^ xorValue;
        x = xorValue & mask;
        m = mask | o;
    }
    std::string out(src);
    if (m != 0xffffffff) out += " & " + hex8(m);
    if (x != 0) out += " ^ " + hex8(x);
    if (o != 0) out += " | " + hex8(o);
    return out;
}

/// mark = (mark & ~mask) ^ value (MARK --set-xmark); a full mask is a plain assignment.
std::string markSet(std::string_view key, const MarkMask& m) {
    const std::string head = std::string(key) + " set ";
    if (m.mask == 0xffffffff) return head + hex8(m.value);
    return head + bitwise(key, ~m.mask, m.value);
}

std::string addrKeyword(Family f) { return f == Family::V4 ? "ip" : "ip6"; }

/// Address as a NAT or tproxy target: IPv6 needs brackets only when a port follows.
std::string natAddr(const IpAddr& a, bool portFollows) {
    return a.family == Family::V6 && portFollows ? "[" + a.str() + "]" : a.str();
}

// ---------------------------------------------------------------------------------------------
// One rule

/// What the rule's expressions tell nft about the packet, which decides what nft hides or adds.
struct RuleContext {
    TableFamily table;
    std::string_view tableName;
    const Rule& rule;
    const ProtoMatch* proto = nullptr;  // the positive protocol match, if any
    bool hideProto = false;             // nft drops it from the listing as an implicit dependency
    std::optional<Family> network;      // set by an address or icmp match

    RuleContext(TableFamily t, std::string_view name, const Rule& r);
};

template <typename T>
bool hasMatch(const Rule& rule) {
    return std::any_of(rule.matches.begin(), rule.matches.end(),
                       [](const Match& m) { return std::holds_alternative<T>(m); });
}

/// The transport header keyword of port matches: the protocol match names it ("th" is nft's
/// any-transport header, for a rule whose protocol has no ports of its own).
std::string portProto(const ProtoMatch* proto) {
    static constexpr std::array<std::pair<uint8_t, std::string_view>, 5> kPorted = {{
        {6, "tcp"},
        {17, "udp"},
        {33, "dccp"},
        {132, "sctp"},
        {136, "udplite"},
    }};
    for (const auto& [number, name] : kPorted)
        if (proto && proto->proto == number) return std::string(name);
    return "th";
}

bool isTcpReset(const Rule& rule, TableFamily table) {
    auto* r = std::get_if<Reject>(&rule.target);
    if (!r) return false;
    auto kind = nft::rejectKind(r->with, table == TableFamily::Ip6 ? Family::V6 : Family::V4);
    return kind && kind->proto == nft::RejectKind::Proto::TcpReset;
}

RuleContext::RuleContext(TableFamily t, std::string_view name, const Rule& r)
    : table(t), tableName(name), rule(r) {
    for (const Match& m : r.matches) {
        if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated && !proto) proto = p;
        if (auto* a = std::get_if<AddrMatch>(&m); a && !a->items.empty())
            network = familyOf(a->items.front());
        if (auto* i = std::get_if<IcmpMatch>(&m)) network = i->family;
    }
    if (!proto) return;
    // `tcp dport` and `icmp type` carry the protocol themselves; in ip and ip6 tables so does
    // `reject with tcp reset` (an inet table keeps the explicit `meta l4proto tcp`).
    const bool ports = hasMatch<PortMatch>(r) && portProto(proto) != "th";
    const bool flags = hasMatch<TcpFlagsMatch>(r) && proto->proto == 6;
    bool icmp = false;
    for (const Match& m : r.matches)
        if (auto* i = std::get_if<IcmpMatch>(&m))
            icmp = icmp || proto->proto == (i->family == Family::V4 ? 1 : 58);
    const bool reset = t != TableFamily::Inet && proto->proto == 6 && isTcpReset(r, t);
    hideProto = ports || flags || icmp || reset;
}

std::string ctStates(uint8_t states, bool negated) {
    // Bit order of the kernel's NF_CT_STATE_* values, the order nft lists them in.
    static const std::array<std::pair<uint8_t, std::string_view>, 5> kNames = {{
        {kCtInvalid, "invalid"},
        {kCtEstablished, "established"},
        {kCtRelated, "related"},
        {kCtNew, "new"},
        {kCtUntracked, "untracked"},
    }};
    std::string out;
    int count = 0;
    for (const auto& [bit, name] : kNames) {
        if (!(states & bit)) continue;
        if (!out.empty()) out += ",";
        out += name;
        ++count;
    }
    // A connection has exactly one state. `ct state != a | b` compares the state with the
    // value a|b, which no state equals: it matches every packet. "None of these" is
    // `ct state & (a | b) == 0`, which nft lists as `ct state ! a,b`.
    if (negated && count > 1) return "ct state ! " + out;
    return "ct state " + neq(negated) + out;
}

std::string cgroupMatch(const CgroupMatch& c) {
    // nft resolves the path below /sys/fs/cgroup and prints it without a leading slash.
    std::string path = c.path;
    while (!path.empty() && path.front() == '/') path.erase(path.begin());
    while (!path.empty() && path.back() == '/') path.pop_back();
    const auto level = path.empty() ? 0 : 1 + std::count(path.begin(), path.end(), '/');
    return "socket cgroupv2 level " + std::to_string(level) + " " + neq(c.negated) +
           nftString(path);
}

std::string icmpMatch(const IcmpMatch& i) {
    const std::string key = i.family == Family::V4 ? "icmp" : "icmpv6";
    const std::string type = nft::icmpTypeName(i.family, i.type);
    if (!i.code) return key + " type " + neq(i.negated) + type;
    const std::string code = nft::icmpCodeName(i.family, *i.code);
    // "not this type with this code" needs both in one comparison: a concatenation.
    if (i.negated) return key + " type . " + key + " code != { " + type + " . " + code + " }";
    return key + " type " + type + " " + key + " code " + code;
}

/// nft 1.0.6 lists `(flags & mask) == comp` in one of four shapes, by what mask and comp are.
std::string tcpFlagsMatch(const TcpFlagsMatch& f) {
    auto list = [](uint8_t flags) {
        std::string out;
        for (size_t i = 0; i < tcpFlagNames().size(); ++i)
            if (flags & (1u << i)) out += (out.empty() ? "" : ",") + std::string(tcpFlagNames()[i]);
        return out;
    };
    const std::string eq = f.negated ? "!= " : "== ";
    if (f.mask == 0xff) {  // no bitwise: one flag by name, any other value in hex
        if (std::has_single_bit(f.comp)) return "tcp flags " + eq + list(f.comp);
        std::ostringstream hex;
        hex << "0x" << std::hex << unsigned{f.comp};
        return "tcp flags " + eq + hex.str();
    }
    if (f.comp == 0) return "tcp flags " + std::string(f.negated ? "" : "! ") + list(f.mask);
    if (std::has_single_bit(f.mask)) return "tcp flags & " + list(f.mask) + " " + eq + list(f.comp);
    return "tcp flags " + neq(f.negated) + list(f.comp) + " / " + list(f.mask);
}

std::string ifaceMatch(const IfaceMatch& i) {
    std::string name = i.name;
    if (!name.empty() && name.back() == '+') {
        name.back() = '*';
    } else if (!name.empty() && name.back() == '*') {
        name.insert(name.size() - 1, "\\");  // a literal trailing star
    }
    // iptables' bare "+" matches every interface; nft refuses an all-wildcard name.
    if (name == "*" && !i.negated) return "";
    const std::string key = i.dir == IfaceDirection::In ? "iifname" : "oifname";
    return key + " " + neq(i.negated) + nftString(name);
}

std::string matchText(const RuleContext& ctx, const Match& m) {
    return std::visit(
        Overloaded{
            [&](const ProtoMatch& p) -> std::string {
                if (&p == ctx.proto && ctx.hideProto) return "";
                const std::string key =
                    ctx.table == TableFamily::Ip ? "ip protocol " : "meta l4proto ";
                return key + neq(p.negated) + nft::protoName(p.proto);
            },
            [&](const AddrMatch& a) -> std::string {
                if (a.items.empty()) return "";
                const std::string key = addrKeyword(familyOf(a.items.front())) +
                                        (a.dir == Direction::Source ? " saddr " : " daddr ");
                return key + neq(a.negated) + nft::addrSetText(a.items);
            },
            [&](const PortMatch& p) -> std::string {
                const std::string key =
                    portProto(ctx.proto) + (p.dir == Direction::Source ? " sport " : " dport ");
                return key + neq(p.negated) + nft::portSetText(p.ports);
            },
            [](const TcpFlagsMatch& f) { return tcpFlagsMatch(f); },
            [](const IfaceMatch& i) { return ifaceMatch(i); },
            [](const CtStateMatch& c) { return ctStates(c.states, c.negated); },
            [](const MarkMatch& mm) { return markMatch("meta mark", mm.negated, mm.mark); },
            [](const ConnmarkMatch& c) { return markMatch("ct mark", c.negated, c.mark); },
            [](const OwnerMatch& o) {
                // nft 1.0.6 lists ids as numbers even when /etc/passwd names them.
                const std::string key =
                    o.kind == OwnerMatch::Kind::Uid ? "meta skuid " : "meta skgid ";
                return key + neq(o.negated) + numRange(o.ids);
            },
            [](const CgroupMatch& c) { return cgroupMatch(c); },
            [](const SocketMatch& s) -> std::string {
                // xt_socket ignores sockets bound to a wildcard address unless --transparent
                // is combined with them; see the report for the remaining differences.
                return s.transparent ? "socket transparent 1" : "socket wildcard 0";
            },
            [](const IcmpMatch& i) { return icmpMatch(i); },
            [](const AddrTypeMatch& a) {
                const auto name = nft::fibTypeName(a.type);
                return std::string(a.dir == Direction::Source ? "fib saddr type "
                                                              : "fib daddr type ") +
                       neq(a.negated) + (name ? *name : a.type);
            },
            [](const LimitMatch& l) {
                // nft's default burst is 5 packets and is left out of the listing.
                std::string out = "limit rate " + std::to_string(l.rate) + "/" + l.unit;
                if (l.burst != 5) out += " burst " + std::to_string(l.burst) + " packets";
                return out;
            },
            [](const MacMatch& mac) {
                return "ether saddr " + neq(mac.negated) + macText(mac.mac);
            },
            // As nft lists an xtables compat expression; it has no loadable text.
            [](const OpaqueMatch& o) {
                return o.header ? std::string("xt ip header") : "xt match " + nftString(o.ext.name);
            },
        },
        m);
}

std::string rejectText(const RuleContext& ctx, const Reject& r) {
    using Proto = nft::RejectKind::Proto;
    if (r.with.empty()) {
        // A plain inet reject is icmpx (the packet's own family); once an address or icmp
        // match fixed the family, nft lists the family's port-unreachable instead.
        if (ctx.table != TableFamily::Inet || !ctx.network) return "reject";
        return ctx.network == Family::V4 ? "reject with icmp port-unreachable"
                                         : "reject with icmpv6 port-unreachable";
    }
    const Family ambiguous =
        ctx.table == TableFamily::Ip6 || ctx.network == Family::V6 ? Family::V6 : Family::V4;
    auto kind = nft::rejectKind(r.with, ambiguous);
    if (!kind) return "reject with " + r.with;  // unknown: let nft refuse it loudly
    if (kind->proto == Proto::TcpReset) return "reject with tcp reset";
    const bool v4 = kind->proto == Proto::Icmp;
    // The family's default code is left out in single-family tables.
    const TableFamily own = v4 ? TableFamily::Ip : TableFamily::Ip6;
    if (ctx.table == own && kind->code == "port-unreachable") return "reject";
    return std::string(v4 ? "reject with icmp " : "reject with icmpv6 ") + std::string(kind->code);
}

std::string natText(const RuleContext& ctx, const Nat& n) {
    std::string out = n.kind == Nat::Kind::Snat ? "snat" : "dnat";
    if (n.first && ctx.table == TableFamily::Inet) out += " " + addrKeyword(n.first->family);
    out += " to ";
    const bool ports = n.ports.has_value();
    if (n.first) {
        out += natAddr(*n.first, ports);
        if (n.last) out += "-" + natAddr(*n.last, ports);
    }
    if (ports) out += ":" + numRange(*n.ports);
    return out;
}

std::string tproxyText(const RuleContext& ctx, const Tproxy& t) {
    std::string out = "tproxy";
    if (ctx.table == TableFamily::Inet) out += " " + addrKeyword(t.family);
    out += " to ";
    if (t.addr) out += natAddr(*t.addr, true);
    out += ":" + std::to_string(t.port);
    // The mark is set after tproxy, which stops the rule when no socket takes the packet,
    // so only diverted packets are marked; then accept, as the TPROXY target does.
    if (t.mark.mask != 0 || t.mark.value != 0) out += " " + markSet("meta mark", t.mark);
    return out + " accept";
}

std::string connmarkText(const Connmark& c) {
    switch (c.op) {
        case Connmark::Op::Set:
            return markSet("ct mark", c.mark);
        // nft 1.0.6 cannot combine two registers, so a partial mask keeps only the masked
        // bits instead of merging them into the old value (as iptables-translate does too).
        case Connmark::Op::Save:
            return "ct mark set " + bitwise("meta mark", c.mark.mask, 0);
        case Connmark::Op::Restore:
            return "meta mark set " + bitwise("ct mark", c.mark.mask, 0);
    }
    return "";
}

std::string portsSuffix(const std::optional<NumRange>& ports) {
    return ports ? " to :" + numRange(*ports) : "";
}

std::string targetText(const RuleContext& ctx, const Target& t) {
    return std::visit(
        Overloaded{
            // nft lists the counter with its values; a rule without statement has matches
            [](const NoTarget& t) -> std::string {
                return t.counts ? "counter packets 0 bytes 0" : "";
            },
            [](const Accept&) -> std::string { return "accept"; },
            [](const Drop&) -> std::string { return "drop"; },
            [](const Return&) -> std::string { return "return"; },
            [&](const Jump& j) { return "jump " + nft::chainName(ctx.tableName, j.chain); },
            [&](const Goto& g) { return "goto " + nft::chainName(ctx.tableName, g.chain); },
            [&](const Reject& r) { return rejectText(ctx, r); },
            [](const Log& l) {
                std::string out = "log";
                if (!l.prefix.empty()) out += " prefix " + nftString(l.prefix);
                if (l.level && *l.level != 4)
                    out += " level " + std::string(nft::logLevelName(*l.level));
                return out;
            },
            [](const SetMark& s) { return markSet("meta mark", s.mark); },
            [](const Connmark& c) { return connmarkText(c); },
            [&](const Nat& n) { return natText(ctx, n); },
            [](const Masquerade& m) { return "masquerade" + portsSuffix(m.ports); },
            [](const Redirect& r) { return "redirect" + portsSuffix(r.ports); },
            [&](const Tproxy& tp) { return tproxyText(ctx, tp); },
            [](const Notrack&) -> std::string { return "notrack"; },
            [](const TcpMss& t) -> std::string {
                return "tcp option maxseg size set " +
                       (t.mss ? std::to_string(*t.mss) : std::string("rt mtu"));
            },
            [](const OpaqueTarget& o) -> std::string {
                if (o.ext.name == kNftVerbatim)  // a rule read back verbatim: its expressions
                    return std::string(o.ext.data.begin(), o.ext.data.end());
                return "xt target " + nftString(o.ext.name);
            },
        },
        t);
}

std::string ruleText(TableFamily family, std::string_view table, const Rule& rule) {
    const RuleContext ctx(family, table, rule);
    std::vector<const Match*> order;
    for (const Match& m : rule.matches) order.push_back(&m);
    std::stable_sort(order.begin(), order.end(), [](const Match* a, const Match* b) {
        return nft::matchRank(*a) < nft::matchRank(*b);
    });

    std::vector<std::string> parts;
    // An inet table lists the dependency nft adds for `reject with tcp reset` up front.
    const bool tcpKnown = ctx.proto && ctx.proto->proto == 6;
    if (family == TableFamily::Inet && !tcpKnown && isTcpReset(rule, family))
        parts.push_back("meta l4proto tcp");
    for (const Match* m : order) {
        std::string text = matchText(ctx, *m);
        if (!text.empty()) parts.push_back(std::move(text));
    }
    parts.push_back(targetText(ctx, rule.target));
    if (!rule.comment.empty()) parts.push_back("comment " + nftString(rule.comment));

    std::string out;
    for (const std::string& p : parts)
        if (!p.empty()) out += (out.empty() ? "" : " ") + p;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Chains and tables

void writeChain(std::ostream& out, TableFamily family, const Table& table, const Chain& chain) {
    out << "\tchain " << nft::chainName(table.name, chain.name) << " {\n";
    if (auto base = nft::baseChain(table.name, chain.name)) {
        out << "\t\ttype " << base->type << " hook " << base->hook << " priority "
            << base->priorityText << "; policy "
            << (chain.policy == ChainPolicy::Drop ? "drop" : "accept") << ";\n";
    }
    for (const Rule& rule : nft::nftRules(table, chain))
        out << "\t\t" << ruleText(family, table.name, rule) << "\n";
    out << "\t}\n";
}

}  // namespace

std::string renderNft(const Host& host) {
    std::ostringstream out;
    // nft lists tables in the order they were created; this fixed order is policyc's choice.
    for (TableFamily family : {TableFamily::Inet, TableFamily::Ip, TableFamily::Ip6}) {
        const bool present = std::any_of(host.tables.begin(), host.tables.end(),
                                         [&](const Table& t) { return t.family == family; });
        if (!present) continue;
        out << "table " << nft::familyName(family) << " " << nft::kTableName << " {\n";
        bool first = true;
        for (const Table& table : host.tables) {
            if (table.family != family) continue;
            for (const Chain& chain : table.chains) {
                if (nft::foldedIntoBaseChain(table, chain)) continue;
                if (!first) out << "\n";
                first = false;
                writeChain(out, family, table, chain);
            }
        }
        out << "}\n";
    }
    return out.str();
}

}  // namespace policyc::backends
