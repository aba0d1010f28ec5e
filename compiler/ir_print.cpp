// SPDX-License-Identifier: GPL-2.0-or-later
// The canonical .pol printer. Every IR element has exactly one spelling (docs/language.md), the
// one the lowering maps back to that same element, so `compile(print(ir)) == ir`.
#include "compiler/ir_print.h"

#include <array>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

namespace policyc {

using namespace ir;

namespace {

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// ---------------------------------------------------------------------------------------------
// Words and values

bool isIdChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '+' || c == '*';
}

/// Whether `s` lexes as one ID token: [a-zA-Z_] [a-zA-Z0-9_.+*]* ( '-' [a-zA-Z0-9_.+*]+ )*.
bool isIdentifier(std::string_view s) {
    if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '-' && i + 1 < s.size() && isIdChar(s[i + 1])) continue;
        if (!isIdChar(s[i])) return false;
    }
    return true;
}

/// Whether `s` can stand bare where the grammar takes a `name`: an ID, or a keyword that the
/// `name` rule admits. `set`, `save` and `restore` are keywords it does not admit.
bool isPlainName(std::string_view s) {
    return isIdentifier(s) && s != "set" && s != "save" && s != "restore";
}

bool isDecimal(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

/// A value position that takes a name or a string: bare when it lexes as a name.
std::string nameOrQuoted(std::string_view s) { return isPlainName(s) ? std::string(s) : quote(s); }

std::string hex(uint32_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

std::string markText(const MarkMask& m) {
    return m.mask == 0xffffffff ? hex(m.value) : hex(m.value) + "/" + hex(m.mask);
}

std::string rangeText(const NumRange& r) {
    return r.single() ? std::to_string(r.first)
                      : std::to_string(r.first) + "-" + std::to_string(r.last);
}

/// Host prefixes print as the bare address: the lowering reads a bare address as a host prefix.
std::string prefixText(const Prefix& p) { return p.isHost() ? p.addr.str() : p.str(); }

std::string addrItemText(const AddrItem& item) {
    return std::visit(Overloaded{
                          [](const Prefix& p) { return prefixText(p); },
                          [](const AddrRange& r) { return r.first.str() + "-" + r.last.str(); },
                      },
                      item);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty() && !p.empty()) out += sep;
        out += p;
    }
    return out;
}

/// One value bare, several as a `{ a, b }` set.
std::string setText(const std::vector<std::string>& values) {
    return values.size() == 1 ? values.front() : "{ " + join(values, ", ") + " }";
}

std::string neg(bool negated) { return negated ? "!= " : ""; }

std::string familyWord(Family f) { return f == Family::V4 ? "ip" : "ip6"; }

std::string dirWord(Direction d) { return d == Direction::Source ? "saddr" : "daddr"; }

std::string protoWord(uint8_t proto) {
    static const std::array<std::pair<uint8_t, std::string_view>, 5> kNames = {{
        {6, "tcp"},
        {17, "udp"},
        {1, "icmp"},
        {58, "icmpv6"},
        {132, "sctp"},
    }};
    for (const auto& [number, name] : kNames)
        if (number == proto) return std::string(name);
    return std::to_string(proto);
}

bool isPortProto(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132; }

std::string tableRef(uint32_t table) {
    switch (table) {
        case kTableMain:
            return "main";
        case kTableLocal:
            return "local";
        case kTableDefault:
            return "default";
        default:
            return std::to_string(table);
    }
}

// ---------------------------------------------------------------------------------------------
// Matches

/// What a match printer needs to know about the rest of its rule: `tcp dport 22` stands for a
/// ProtoMatch and a PortMatch together, so the ProtoMatch it carries is not printed on its own.
struct PrintContext {
    std::optional<size_t> impliedProto;  // index of the ProtoMatch the port matches spell
    std::string l4 = "?";                // the word port matches start with
    /// The implied protocol opens iptables' port module, which its port matches do not ask
    /// for: a full range (no condition) asks for it.
    bool moduleClause = false;
};

PrintContext printContext(const Rule& rule) {
    PrintContext ctx;
    bool hasPorts = false;
    bool negatedFullRange = false;  // lowers to the port module by itself
    for (const Match& m : rule.matches) {
        const auto* p = std::get_if<PortMatch>(&m);
        // `tcp flags` carries its protocol as `tcp dport` does
        hasPorts = hasPorts || p || std::holds_alternative<TcpFlagsMatch>(m);
        negatedFullRange = negatedFullRange || (p && p->negated && p->ports.size() == 1 &&
                                                p->ports[0] == NumRange{0, 65535});
    }
    if (!hasPorts) return ctx;
    for (size_t i = 0; i < rule.matches.size(); ++i) {
        const auto* p = std::get_if<ProtoMatch>(&rule.matches[i]);
        if (p && !p->negated && isPortProto(p->proto)) {
            ctx.impliedProto = i;
            ctx.l4 = protoWord(p->proto);
            ctx.moduleClause = p->portModule && !negatedFullRange;
            break;
        }
    }
    return ctx;
}

std::string ctStateText(uint8_t states) {
    static const std::array<std::pair<uint8_t, std::string_view>, 5> kStates = {{
        {kCtInvalid, "invalid"},
        {kCtNew, "new"},
        {kCtEstablished, "established"},
        {kCtRelated, "related"},
        {kCtUntracked, "untracked"},
    }};
    std::string out;
    for (const auto& [bit, name] : kStates) {
        if (!(states & bit)) continue;
        if (!out.empty()) out += ",";
        out += name;
    }
    return out;
}

/// A comma list of tcp flag names in bit order; `none` for no flag.
std::string tcpFlagsText(uint8_t flags) {
    std::string out;
    for (size_t i = 0; i < tcpFlagNames().size(); ++i)
        if (flags & (1u << i)) out += (out.empty() ? "" : ",") + std::string(tcpFlagNames()[i]);
    return out.empty() ? "none" : out;
}

std::string macText(const std::array<uint8_t, 6>& mac) {
    std::ostringstream out;
    out << std::hex;
    for (size_t i = 0; i < mac.size(); ++i) {
        if (i) out << ':';
        out << (mac[i] < 16 ? "0" : "") << static_cast<unsigned>(mac[i]);
    }
    return out.str();
}

/// Only read from live legacy tables, never written in .pol: the text names it so that a reader
/// sees it, and (starting with '<') cannot be compiled back by mistake.
std::string opaqueText(std::string_view kind, const OpaqueExtension& x) {
    return "<iptables " + std::string(kind) + " '" + x.name + "' revision " +
           std::to_string(x.revision) + ", " + std::to_string(x.data.size()) +
           " bytes: no .pol form>";
}

std::string matchText(const Match& match, const PrintContext& ctx) {
    return std::visit(
        Overloaded{
            [](const ProtoMatch& m) {
                // iptables' `-p tcp -m tcp` (a module without condition) is a full port range
                if (m.portModule && !m.negated && isPortProto(m.proto))
                    return protoWord(m.proto) + " sport 0-65535";
                return "proto " + neg(m.negated) + protoWord(m.proto);
            },
            [](const AddrMatch& m) {
                std::vector<std::string> items;
                for (const auto& item : m.items) items.push_back(addrItemText(item));
                const Family f = m.items.empty() ? Family::V4 : familyOf(m.items.front());
                return familyWord(f) + " " + dirWord(m.dir) + " " + neg(m.negated) + setText(items);
            },
            [&ctx](const PortMatch& m) {
                std::vector<std::string> ports;
                for (const auto& r : m.ports) ports.push_back(rangeText(r));
                const char* word = m.dir == Direction::Source ? " sport " : " dport ";
                if (m.multiport && ports.size() == 1)  // iptables' -m multiport of one
                    return ctx.l4 + word + neg(m.negated) + "{ " + ports[0] + " }";
                return ctx.l4 + word + neg(m.negated) + setText(ports);
            },
            [](const TcpFlagsMatch& m) {
                return "tcp flags " + neg(m.negated) + tcpFlagsText(m.comp) + " / " +
                       tcpFlagsText(m.mask);
            },
            [](const IfaceMatch& m) {
                const char* word = m.dir == IfaceDirection::In ? "iif " : "oif ";
                return word + neg(m.negated) + nameOrQuoted(m.name);
            },
            [](const CtStateMatch& m) {
                return (m.stateModule ? "state " : "ct state ") + neg(m.negated) +
                       ctStateText(m.states);
            },
            [](const MarkMatch& m) { return "mark " + neg(m.negated) + markText(m.mark); },
            [](const ConnmarkMatch& m) { return "ct mark " + neg(m.negated) + markText(m.mark); },
            [](const OwnerMatch& m) {
                const char* word = m.kind == OwnerMatch::Kind::Uid ? "user " : "group ";
                return word + neg(m.negated) + rangeText(m.ids);
            },
            [](const CgroupMatch& m) { return "cgroup " + neg(m.negated) + quote(m.path); },
            [](const SocketMatch& m) {
                return std::string(m.transparent ? "socket transparent" : "socket");
            },
            [](const IcmpMatch& m) {
                std::string out = m.family == Family::V4 ? "icmp type " : "icmpv6 type ";
                out += neg(m.negated) + std::to_string(m.type);
                if (m.code) out += " code " + std::to_string(*m.code);
                return out;
            },
            [](const AddrTypeMatch& m) {
                return "addrtype " + dirWord(m.dir) + " " + neg(m.negated) + nameOrQuoted(m.type);
            },
            [](const LimitMatch& m) {
                return "limit " + std::to_string(m.rate) + "/" + m.unit + " burst " +
                       std::to_string(m.burst);
            },
            [](const MacMatch& m) { return "ether saddr " + neg(m.negated) + macText(m.mac); },
            [](const OpaqueMatch& m) {
                if (!m.header) return opaqueText("match", m.ext);
                return "<iptables ip header, " + std::to_string(m.ext.data.size()) +
                       " bytes: no .pol form>";
            },
        },
        match);
}

// ---------------------------------------------------------------------------------------------
// Targets

/// `addr`, `addr:ports`, `[v6addr]:ports` or `:ports`; ranges as `a-b`.
std::string endpointText(const std::optional<IpAddr>& first, const std::optional<IpAddr>& last,
                         const std::optional<NumRange>& ports) {
    std::string addr;
    if (first) addr = last ? first->str() + "-" + last->str() : first->str();
    if (!ports) return addr;
    if (first && first->family == Family::V6) addr = "[" + addr + "]";
    return addr + ":" + rangeText(*ports);
}

std::string connmarkText(const Connmark& c) {
    switch (c.op) {
        case Connmark::Op::Set:
            return "ct mark set " + markText(c.mark);
        case Connmark::Op::Save:
        case Connmark::Op::Restore: {
            std::string out = c.op == Connmark::Op::Save ? "ct mark save" : "ct mark restore";
            if (c.mark.mask != 0xffffffff) out += " mask " + hex(c.mark.mask);
            return out;
        }
    }
    return "";
}

std::string tproxyText(const Tproxy& t) {
    std::string out = "tproxy " + familyWord(t.family) + " to " +
                      endpointText(t.addr, std::nullopt, NumRange{t.port, t.port});
    if (t.mark.mask != 0) out += " mark " + hex(t.mark.value) + "/" + hex(t.mark.mask);
    return out;
}

std::string logText(const Log& l) {
    std::string out = "log";
    if (!l.prefix.empty()) out += " prefix " + quote(l.prefix);
    if (l.level) out += " level " + std::to_string(*l.level);
    return out;
}

std::string targetText(const Target& target) {
    return std::visit(
        Overloaded{
            [](const NoTarget& t) { return std::string(t.counts ? "counter" : ""); },
            [](const Accept&) { return std::string("accept"); },
            [](const Drop&) { return std::string("drop"); },
            [](const Return&) { return std::string("return"); },
            [](const Jump& j) { return "jump " + j.chain; },
            [](const Goto& g) { return "goto " + g.chain; },
            [](const Reject& r) { return r.with.empty() ? "reject" : "reject with " + r.with; },
            [](const Log& l) { return logText(l); },
            [](const SetMark& s) { return "mark set " + markText(s.mark); },
            [](const Connmark& c) { return connmarkText(c); },
            [](const Nat& n) {
                const char* word = n.kind == Nat::Kind::Snat ? "snat to " : "dnat to ";
                return word + endpointText(n.first, n.last, n.ports);
            },
            [](const Masquerade& m) {
                return m.ports ? "masquerade to :" + rangeText(*m.ports) : "masquerade";
            },
            // `redirect` without a port has no spelling in the grammar (it needs `to VALUE`).
            [](const Redirect& r) {
                return r.ports ? "redirect to :" + rangeText(*r.ports) : "redirect";
            },
            [](const Tproxy& t) { return tproxyText(t); },
            [](const Notrack&) { return std::string("notrack"); },
            [](const TcpMss& t) {
                return t.mss ? "tcp mss set " + std::to_string(*t.mss) : "tcp mss clamp";
            },
            [](const OpaqueTarget& t) { return opaqueText("target", t.ext); },
        },
        target);
}

/// A tproxy statement's optional `mark` would swallow a next rule that starts with a `mark`
/// match (the parser takes the longest statement), so such a rule is closed with `;`.
bool commentAmongMatches(const Rule& rule) { return rule.commentAfter && !rule.comment.empty(); }

bool needsTerminator(const Rule& rule) {
    // a rule without statement is its matches closed by `;`
    if (const auto* n = std::get_if<NoTarget>(&rule.target); n && !n->counts) return true;
    const auto* t = std::get_if<Tproxy>(&rule.target);
    return t && t->mark.mask == 0 && (rule.comment.empty() || commentAmongMatches(rule));
}

// ---------------------------------------------------------------------------------------------
// Host blocks

std::string indent(int level) { return std::string(static_cast<size_t>(level) * 4, ' '); }

void printChain(std::ostream& out, const Chain& chain, int level) {
    out << indent(level) << "chain " << chain.name;
    if (chain.policy != ChainPolicy::None)
        out << " policy " << (chain.policy == ChainPolicy::Accept ? "accept" : "drop");
    if (chain.rules.empty()) {
        out << " { }\n";
        return;
    }
    out << " {\n";
    std::vector<std::string> texts;
    for (const Rule& rule : chain.rules) texts.push_back(printRule(rule));
    for (size_t i = 0; i < texts.size(); ++i) {
        // a leading comment would otherwise close the rule before (the parser is greedy)
        const bool closeIt = i + 1 < texts.size() && texts[i + 1].starts_with("comment ") &&
                             !texts[i].ends_with(";");
        out << indent(level + 1) << texts[i] << (closeIt ? ";" : "") << "\n";
    }
    out << indent(level) << "}\n";
}

void printTable(std::ostream& out, const Table& table, int level) {
    out << indent(level) << "table " << tableFamilyName(table.family) << " " << table.name;
    if (table.chains.empty()) {
        out << " { }\n";
        return;
    }
    out << " {\n";
    for (size_t i = 0; i < table.chains.size(); ++i) {
        if (i) out << "\n";
        printChain(out, table.chains[i], level + 1);
    }
    out << indent(level) << "}\n";
}

/// The host's sections in contract order; each is a list of blocks, empty sections are skipped.
std::vector<std::vector<std::string>> hostSections(const Host& host) {
    std::vector<std::vector<std::string>> sections(5);
    for (const auto& i : host.interfaces) sections[0].push_back(printInterface(i));
    for (const auto& t : host.tables) {
        std::ostringstream block;
        printTable(block, t, 1);
        sections[1].push_back(block.str());
    }
    for (const auto& r : host.routingRules) sections[2].push_back(printRoutingRule(r));
    for (const auto& r : host.routes) sections[3].push_back(printRoute(r));
    for (const auto& s : host.sysctls) sections[4].push_back(printSysctl(s));
    return sections;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points

std::string printRule(const Rule& rule) {
    const PrintContext ctx = printContext(rule);
    std::vector<std::string> parts;
    for (const auto& a : rule.allow.items)
        parts.push_back("@allow(" + a.code + ", " + quote(a.reason) + ")");
    // A comment iptables holds among the modules is written among the matches, after those
    // given before it (Rule::commentAfter).
    const bool among = commentAmongMatches(rule);
    auto matches = [&](bool beforeComment) {
        for (size_t i = 0; i < rule.matches.size(); ++i) {
            if (among && precedesComment(rule.commentAfter, i) != beforeComment) continue;
            if (ctx.impliedProto != i)
                parts.push_back(matchText(rule.matches[i], ctx));
            else if (ctx.moduleClause)
                parts.push_back(ctx.l4 + " sport 0-65535");
        }
    };
    matches(true);
    if (among) {
        parts.push_back("comment " + quote(rule.comment));
        matches(false);
    }
    parts.push_back(targetText(rule.target));
    if (!among && !rule.comment.empty()) parts.push_back("comment " + quote(rule.comment));
    return join(parts, " ") + (needsTerminator(rule) ? ";" : "");
}

std::string printInterface(const Interface& iface) {
    std::vector<std::string> items;
    if (iface.kind != LinkKind::Ethernet)
        items.push_back("kind " + std::string(linkKindName(iface.kind)));
    if (!iface.addresses.empty()) {
        std::vector<std::string> addrs;
        for (const auto& p : iface.addresses) addrs.push_back(p.str());
        items.push_back("address " + join(addrs, ", "));
    }
    if (iface.peer) items.push_back("peer " + iface.peer->str());
    if (iface.underlayLocal) items.push_back("local " + iface.underlayLocal->str());
    if (iface.underlayRemote) items.push_back("remote " + iface.underlayRemote->str());
    if (iface.underlayPort) items.push_back("port " + std::to_string(*iface.underlayPort));
    if (iface.fwmark) items.push_back("fwmark " + hex(*iface.fwmark));

    std::string out = (iface.isTunnel() ? "tunnel " : "interface ") + iface.name;
    if (items.empty()) return iface.isTunnel() ? out + " { }" : out;
    return out + " { " + join(items, "; ") + " }";
}

std::string printRoutingRule(const RoutingRule& r) {
    std::vector<std::string> parts{"rule"};
    if (r.family == Family::V6) parts.push_back("ip6");
    parts.push_back("priority " + std::to_string(r.priority));
    if (r.invert) parts.push_back("not");
    if (r.fwmark) parts.push_back("fwmark " + markText(*r.fwmark));
    if (r.iif) parts.push_back("iif " + *r.iif);
    if (r.oif) parts.push_back("oif " + *r.oif);
    if (r.uidrange)
        parts.push_back("uidrange " + std::to_string(r.uidrange->first) + "-" +
                        std::to_string(r.uidrange->last));
    if (r.from) parts.push_back("from " + prefixText(*r.from));
    if (r.to) parts.push_back("to " + prefixText(*r.to));
    switch (r.action) {
        case RoutingRule::Action::Lookup:
            parts.push_back("lookup " + tableRef(r.table));
            break;
        case RoutingRule::Action::Blackhole:
            parts.push_back("blackhole");
            break;
        case RoutingRule::Action::Unreachable:
            parts.push_back("unreachable");
            break;
        case RoutingRule::Action::Prohibit:
            parts.push_back("prohibit");
            break;
    }
    return join(parts, " ");
}

std::string printRoute(const Route& r) {
    static const std::array<std::string_view, 5> kTypes = {"", "local", "blackhole", "unreachable",
                                                           "prohibit"};
    std::vector<std::string> parts{"route"};
    if (r.family() == Family::V6) parts.push_back("ip6");
    parts.push_back(std::string(kTypes[static_cast<size_t>(r.type)]));
    parts.push_back(r.dst.length == 0 ? "default" : prefixText(r.dst));
    if (r.via) parts.push_back("via " + r.via->str());
    if (r.dev) parts.push_back("dev " + *r.dev);
    if (r.src) parts.push_back("src " + r.src->str());
    if (r.table != kTableMain) parts.push_back("table " + tableRef(r.table));
    if (r.metric) parts.push_back("metric " + std::to_string(*r.metric));
    return join(parts, " ");
}

std::string printSysctl(const Sysctl& s) {
    const bool bare = isDecimal(s.value) || isPlainName(s.value);
    return "sysctl " + s.key + " = " + (bare ? s.value : quote(s.value));
}

std::string printHost(const Host& host) {
    std::ostringstream out;
    out << "host " << host.name;
    const auto sections = hostSections(host);
    bool first = true;
    for (const auto& section : sections) {
        if (section.empty()) continue;
        out << (first ? " {\n" : "\n");
        first = false;
        for (size_t i = 0; i < section.size(); ++i) {
            // Tables come indented and newline-terminated, each set apart by a blank line; the
            // one-line items do not.
            const std::string& block = section[i];
            if (!block.empty() && block.back() == '\n')
                out << (i ? "\n" : "") << block;
            else
                out << indent(1) << block << "\n";
        }
    }
    out << (first ? " { }\n" : "}\n");
    return out.str();
}

std::string printPolicy(const Policy& policy) {
    std::string out;
    for (size_t i = 0; i < policy.hosts.size(); ++i) {
        if (i) out += "\n";
        out += printHost(policy.hosts[i]);
    }
    return out;
}

}  // namespace policyc
