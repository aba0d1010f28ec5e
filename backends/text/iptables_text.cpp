// SPDX-License-Identifier: GPL-2.0-or-later
// iptables-restore text for one host and family, spelled exactly as iptables-legacy-save 1.8.9
// lists it back (minus '#' lines and counters), so the rendering is its own expected read-back.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "backends/ipt/ipt_shape.h"
#include "backends/text/render.h"
#include "compiler/hex.h"

namespace policyc::backends {
namespace {

using namespace policyc::ir;

// ---------------------------------------------------------------------------------------------
// Small spellings

std::string hex(uint32_t v) {
    char buf[16] = {'0', 'x'};
    return std::string(buf, std::to_chars(buf + 2, buf + sizeof buf, v, 16).ptr);
}

/// `--mark` style: the mask is left out when it is all ones (libxt_mark's print_mark).
std::string markText(const MarkMask& m) {
    return m.mask == 0xffffffff ? hex(m.value) : hex(m.value) + "/" + hex(m.mask);
}

/// `--set-xmark` / `--tproxy-mark` style: always value/mask.
std::string xmarkText(const MarkMask& m) { return hex(m.value) + "/" + hex(m.mask); }

std::string rangeText(const NumRange& r, char sep) {
    std::string s = std::to_string(r.first);
    if (!r.single()) s += sep + std::to_string(r.last);
    return s;
}

std::string bang(bool negated) { return negated ? "! " : ""; }

/// xtables_save_string(): bare when only [A-Za-z0-9_-], else double-quoted with `"`, `\` and
/// `'` backslash-escaped; iptables-restore's tokenizer undoes exactly that.
std::string quoted(std::string_view s) {
    constexpr std::string_view kBare =
        "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (!s.empty() && s.find_first_not_of(kBare) == std::string_view::npos) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\' || c == '\'') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

std::string macText(const std::array<uint8_t, 6>& mac) {
    std::ostringstream out;
    out << std::hex;
    for (size_t i = 0; i < mac.size(); ++i) {
        out << (i ? ":" : "") << (mac[i] < 16 ? "0" : "") << static_cast<unsigned>(mac[i]);
    }
    return out.str();
}

/// libxt_tcp's print_tcpf: flag names in bit order, NONE for none. ECN and CWR have no
/// iptables name: written all the same, so that iptables-restore refuses the line.
std::string tcpFlagsText(uint8_t flags) {
    std::string out;
    for (size_t i = 0; i < tcpFlagNames().size(); ++i)
        if (flags & (1u << i))
            out += (out.empty() ? "" : ",") + upper(std::string(tcpFlagNames()[i]));
    return out.empty() ? "NONE" : out;
}

/// ctstate names in the bit order libxt_conntrack prints them.
std::string ctStateText(uint8_t states) {
    static const std::array<std::pair<uint8_t, std::string_view>, 5> kNames = {{
        {kCtInvalid, "INVALID"},
        {kCtNew, "NEW"},
        {kCtRelated, "RELATED"},
        {kCtEstablished, "ESTABLISHED"},
        {kCtUntracked, "UNTRACKED"},
    }};
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if (!(states & bit)) continue;
        if (!out.empty()) out += ',';
        out += name;
    }
    return out;
}

/// libxt_limit stores period = unit / rate (in 1/10000 s) and prints it back in the largest
/// unit that loses nothing, so "60/min" lists as "1/sec"; this mirrors its print_rate().
std::string limitRateText(uint32_t rate, const std::string& unit) {
    struct Unit {
        std::string_view name;
        std::string_view irName;
        uint32_t mult;
    };
    static const std::array<Unit, 4> kUnits = {{
        {"day", "day", 10000u * 24 * 60 * 60},
        {"hour", "hour", 10000u * 60 * 60},
        {"min", "minute", 10000u * 60},
        {"sec", "second", 10000u},
    }};
    auto it = std::find_if(kUnits.begin(), kUnits.end(),
                           [&](const Unit& u) { return u.irName == unit || u.name == unit; });
    const uint32_t mult = it == kUnits.end() ? kUnits[3].mult : it->mult;
    const uint32_t period = rate == 0 ? 0 : mult / rate;
    if (period == 0) return std::to_string(rate) + "/" + unit;  // restore rejects it anyway
    size_t i = 1;
    for (; i < kUnits.size(); ++i) {
        const uint32_t m = kUnits[i].mult;
        if (period > m || m / period < m % period) break;
    }
    return std::to_string(kUnits[i - 1].mult / period) + "/" + std::string(kUnits[i - 1].name);
}

// ---------------------------------------------------------------------------------------------
// One -A line

/// Where an option lands in the line. iptables-save prints the ip header part first, then the
/// matches in the order they were entered; this fixed order is policyc's choice of entry order.
enum Section : size_t {
    kSrc,  // kSrc..kProto: the ip header part, listed first and in this order
    kDst,
    kIn,
    kOut,
    kProto,
    kProtoModule,  // -m tcp/udp/sctp/icmp/icmp6
    kMultiport,
    kIprange,
    kConntrack,
    kMark,
    kConnmark,
    kOwner,
    kCgroup,
    kSocket,
    kAddrtype,
    kLimit,
    kMac,
    kSectionCount,
};

/// Collects the options of one line. A section holds `-m NAME` modules; an option whose slot
/// (e.g. --uid-owner) is taken in the current module opens another module of the same name,
/// which is how one rule carries two uid conditions. The comment goes before the first module
/// holding a match given after it (Rule::commentAfter), as the blob encoder places it.
class LineBuilder {
  public:
    void header(Section s, std::string text) { option(s, "", 0, std::move(text)); }
    bool empty(Section s) const { return sections_[s].empty(); }

    /// Whether the options that follow belong to a match given after the rule's comment.
    void afterComment(bool after) { afterComment_ = after; }

    void option(Section s, std::string_view module, unsigned slot, std::string text,
                bool fresh = false) {
        auto& mods = sections_[s];
        const unsigned bit = 1u << slot;
        if (fresh || mods.empty() || mods.back().name != module || (mods.back().slots & bit))
            mods.push_back({std::string(module), 0, {}});
        mods.back().slots |= bit;
        mods.back().afterComment = mods.back().afterComment || afterComment_;
        if (!text.empty()) mods.back().options.push_back(std::move(text));
    }

    /// A module kept verbatim from a live table, at its place among the line's modules.
    void opaque(uint32_t position, std::string text) {
        opaque_.push_back({position, std::move(text)});
    }

    /// The header options, then the modules in entry order: the comment before the first
    /// module given after it (last when none is), kept extensions at their places.
    std::string str(const std::string& comment) const {
        std::string header;
        std::vector<std::string> modules;
        std::optional<size_t> commentAt;
        for (const auto& mods : sections_) {
            for (const auto& m : mods) {
                std::string text = m.name.empty() ? "" : " -m " + m.name;
                for (const auto& o : m.options) text += ' ' + o;
                if (!m.name.empty() && m.afterComment && !commentAt) commentAt = modules.size();
                (m.name.empty() ? header : modules.emplace_back()) += text;
            }
        }
        if (!comment.empty()) {
            const size_t at = commentAt.value_or(modules.size());
            modules.insert(modules.begin() + static_cast<long>(at),
                           " -m comment --comment " + quoted(comment));
        }
        for (const auto& [position, text] : opaque_)
            modules.insert(modules.begin() + std::min<size_t>(position, modules.size()), text);
        for (const auto& m : modules) header += m;
        return header;
    }

  private:
    struct Module {
        std::string name;
        unsigned slots;
        std::vector<std::string> options;
        bool afterComment = false;
    };
    std::array<std::vector<Module>, kSectionCount> sections_;
    bool afterComment_ = false;
    std::vector<std::pair<uint32_t, std::string>> opaque_;  // sorted by position (decoder order)
};

/// An extension policyc keeps without understanding it: named, with its bytes, so that a
/// review sees it and iptables-restore refuses the line rather than load something else.
std::string opaqueOptions(const OpaqueExtension& x) {
    return " --opaque-revision " + std::to_string(x.revision) + " --opaque-data " +
           (x.data.empty() ? std::string("-") : toHex(x.data));
}

/// Renders matches of a line whose AddrMatches hold one item and whose positive PortMatches fit
/// one multiport (see expandLines).
struct MatchRenderer {
    LineBuilder& b;
    ipt::PortModule portModule;  // "tcp"/"udp"/"sctp" when the rule's protocol has one

    void operator()(const ProtoMatch& m) {
        if (m.proto == 0 && !m.negated) return;  // "all": iptables-save prints nothing
        b.header(kProto, bang(m.negated) + "-p " + protoName(m.proto));
        // the module opens here, first of its section; the port conditions join it
        if (m.portModule && !m.negated && !portModule.name.empty())
            b.option(kProtoModule, portModule.name, 2, "");
    }
    void operator()(const AddrMatch& m) {
        for (const AddrMatch& part : ipt::entryParts(m))
            for (const AddrItem& item : part.items) addrItem(part, item);
    }
    void operator()(const PortMatch& m) {
        const bool src = m.dir == Direction::Source;
        // A forced module takes a negated full range, which iptables 1.8.9 then lists as a
        // bare `-m tcp`: written out here all the same, so that restoring the text loads it.
        if (ipt::inPortModule(m, portModule)) {
            b.option(
                kProtoModule, portModule.name, src ? 0 : 1,
                bang(m.negated) + (src ? "--sport " : "--dport ") + rangeText(m.ports[0], ':'));
            return;
        }
        for (const auto& chunk : ipt::multiportChunks(m.ports)) {
            std::string list;
            for (const NumRange& r : chunk) list += (list.empty() ? "" : ",") + rangeText(r, ':');
            b.option(kMultiport, "multiport", 0,
                     bang(m.negated) + (src ? "--sports " : "--dports ") + list, true);
        }
    }
    void operator()(const TcpFlagsMatch& m) {
        b.option(
            kProtoModule, "tcp", 3,
            bang(m.negated) + "--tcp-flags " + tcpFlagsText(m.mask) + " " + tcpFlagsText(m.comp));
    }
    void operator()(const IfaceMatch& m) {
        const bool in = m.dir == IfaceDirection::In;
        b.header(in ? kIn : kOut, bang(m.negated) + (in ? "-i " : "-o ") + m.name);
    }
    void operator()(const CtStateMatch& m) {
        b.option(
            kConntrack, m.stateModule ? "state" : "conntrack", 0,
            bang(m.negated) + (m.stateModule ? "--state " : "--ctstate ") + ctStateText(m.states));
    }
    void operator()(const MarkMatch& m) {
        b.option(kMark, "mark", 0, bang(m.negated) + "--mark " + markText(m.mark));
    }
    void operator()(const ConnmarkMatch& m) {
        b.option(kConnmark, "connmark", 0, bang(m.negated) + "--mark " + markText(m.mark));
    }
    void operator()(const OwnerMatch& m) {
        const bool uid = m.kind == OwnerMatch::Kind::Uid;
        b.option(kOwner, "owner", uid ? 0 : 1,
                 bang(m.negated) + (uid ? "--uid-owner " : "--gid-owner ") + rangeText(m.ids, '-'));
    }
    void operator()(const CgroupMatch& m) {
        b.option(kCgroup, "cgroup", 0, bang(m.negated) + "--path " + quoted(m.path));
    }
    void operator()(const SocketMatch& m) {
        b.option(kSocket, "socket", 0, m.transparent ? "--transparent" : "");
    }
    void operator()(const IcmpMatch& m) {
        const bool v4 = m.family == Family::V4;
        if (b.empty(kProto)) b.header(kProto, std::string("-p ") + (v4 ? "icmp" : "ipv6-icmp"));
        std::string type = std::to_string(m.type);
        if (m.code) type += "/" + std::to_string(*m.code);
        if (v4 && m.type == 255) type = "any";  // type 255 is the kernel's wildcard; code ignored
        b.option(kProtoModule, v4 ? "icmp" : "icmp6", 0,
                 bang(m.negated) + (v4 ? "--icmp-type " : "--icmpv6-type ") + type);
    }
    void operator()(const AddrTypeMatch& m) {
        const bool src = m.dir == Direction::Source;
        b.option(kAddrtype, "addrtype", src ? 0 : 1,
                 bang(m.negated) + (src ? "--src-type " : "--dst-type ") + upper(m.type));
    }
    void operator()(const LimitMatch& m) {
        std::string text = "--limit " + limitRateText(m.rate, m.unit);
        if (m.burst != 5) text += " --limit-burst " + std::to_string(m.burst);
        b.option(kLimit, "limit", 0, text);
    }
    void operator()(const MacMatch& m) {
        b.option(kMac, "mac", 0, bang(m.negated) + "--mac-source " + macText(m.mac));
    }
    void operator()(const OpaqueMatch& m) {
        if (m.header)  // before -s: the header policyc could not spell, whole
            b.header(kSrc, "--opaque-header " + toHex(m.ext.data));
        else
            b.opaque(m.position, " -m " + m.ext.name + opaqueOptions(m.ext));
    }

    void addrItem(const AddrMatch& m, const AddrItem& item) {
        const bool src = m.dir == Direction::Source;
        if (const auto* p = std::get_if<Prefix>(&item)) {
            if (p->length == 0 && !m.negated) return;  // "anywhere" is not listed
            b.header(src ? kSrc : kDst,
                     bang(m.negated) + (src ? "-s " : "-d ") + p->network().str());
            return;
        }
        const auto& r = std::get<AddrRange>(item);
        b.option(kIprange, "iprange", src ? 0 : 1,
                 bang(m.negated) + (src ? "--src-range " : "--dst-range ") + r.first.str() + "-" +
                     r.last.str());
    }
};

std::string unspecified(Family f) { return f == Family::V4 ? "0.0.0.0" : "::"; }

std::string natText(const Nat& n) {
    std::string addr = n.first ? n.first->str() : "";
    if (n.first && n.last) addr += "-" + n.last->str();
    if (!n.ports) return addr;
    const bool v6 = n.first && n.first->family == Family::V6;
    return (v6 ? "[" + addr + "]" : addr) + ":" + rangeText(*n.ports, '-');
}

std::string toPorts(const std::optional<NumRange>& ports) {
    return ports ? " --to-ports " + rangeText(*ports, '-') : "";
}

/// The target part of a line, with its leading space; empty for NoTarget.
struct TargetRenderer {
    Family family;

    std::string operator()(const NoTarget&) const { return ""; }
    std::string operator()(const Accept&) const { return " -j ACCEPT"; }
    std::string operator()(const Drop&) const { return " -j DROP"; }
    std::string operator()(const Return&) const { return " -j RETURN"; }
    std::string operator()(const Jump& t) const { return " -j " + t.chain; }
    std::string operator()(const Goto& t) const { return " -g " + t.chain; }
    std::string operator()(const Reject& t) const {
        const std::string def =
            family == Family::V4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
        return " -j REJECT --reject-with " + (t.with.empty() ? def : t.with);
    }
    std::string operator()(const Log& t) const {
        std::string s = " -j LOG";
        if (!t.prefix.empty()) s += " --log-prefix " + quoted(t.prefix);
        if (t.level && *t.level != 4) s += " --log-level " + std::to_string(*t.level);
        return s;
    }
    std::string operator()(const SetMark& t) const {
        return " -j MARK --set-xmark " + xmarkText(t.mark);
    }
    std::string operator()(const Connmark& t) const {
        switch (t.op) {
            case Connmark::Op::Set:
                return " -j CONNMARK --set-xmark " + xmarkText(t.mark);
            case Connmark::Op::Save:
                return " -j CONNMARK --save-mark" + ctMasks(t.mark.mask);
            case Connmark::Op::Restore:
                return " -j CONNMARK --restore-mark" + ctMasks(t.mark.mask);
        }
        return "";
    }
    std::string operator()(const Nat& t) const {
        return t.kind == Nat::Kind::Snat ? " -j SNAT --to-source " + natText(t)
                                         : " -j DNAT --to-destination " + natText(t);
    }
    std::string operator()(const Masquerade& t) const {
        return " -j MASQUERADE" + toPorts(t.ports);
    }
    std::string operator()(const Redirect& t) const { return " -j REDIRECT" + toPorts(t.ports); }
    std::string operator()(const Tproxy& t) const {
        return " -j TPROXY --on-port " + std::to_string(t.port) + " --on-ip " +
               (t.addr ? t.addr->str() : unspecified(family)) + " --tproxy-mark " +
               xmarkText(t.mark);
    }
    std::string operator()(const Notrack&) const { return " -j CT --notrack"; }
    std::string operator()(const TcpMss& t) const {
        return t.mss ? " -j TCPMSS --set-mss " + std::to_string(*t.mss)
                     : std::string(" -j TCPMSS --clamp-mss-to-pmtu");
    }
    std::string operator()(const OpaqueTarget& t) const {
        return " -j " + t.ext.name + opaqueOptions(t.ext);
    }

    static std::string ctMasks(uint32_t mask) {
        return " --nfmask " + hex(mask) + " --ctmask " + hex(mask);
    }
};

void renderRule(std::ostream& out, const std::string& chain, const Rule& rule, Family family) {
    std::vector<Match> matches = rule.matches;
    sortMatches(matches);  // the IR keeps them sorted; hand-built rules need not be
    const ipt::PortModule portModule = ipt::portModuleFor(matches);
    const std::string target = std::visit(TargetRenderer{family}, rule.target);
    for (const auto& line : ipt::expandLines(matches)) {
        LineBuilder b;
        MatchRenderer r{b, portModule};
        for (size_t i = 0; i < line.size(); ++i) {
            b.afterComment(!precedesComment(rule.commentAfter, i));
            std::visit(r, line[i]);
        }
        out << "-A " << chain << b.str(rule.comment) << target << '\n';
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

using ipt::TableBlock;

std::string_view policyText(const TableBlock& block, const std::string& chain) {
    if (!isBuiltinChain(block.name, chain)) return "-";
    return ipt::blockPolicy(block, chain) == ChainPolicy::Drop ? "DROP" : "ACCEPT";
}

void renderBlock(std::ostream& out, const TableBlock& block, Family family) {
    const std::vector<std::string> chains = ipt::chainOrder(block, family);
    out << '*' << block.name << '\n';
    for (const std::string& c : chains)
        out << ':' << c << ' ' << policyText(block, c) << " [0:0]\n";
    for (const std::string& c : chains)
        for (const Rule* rule : ipt::blockRules(block, c, family))
            renderRule(out, c, *rule, family);
    out << "COMMIT\n";
}

}  // namespace

std::string renderIptables(const ir::Host& host, ir::Family family) {
    std::ostringstream out;
    for (const TableBlock& block : ipt::collectBlocks(host, family))
        renderBlock(out, block, family);
    return out.str();
}

}  // namespace policyc::backends
