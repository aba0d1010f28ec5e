// SPDX-License-Identifier: GPL-2.0-or-later
// The iptables-save reader. A line is tokenized the way iptables-restore does (double quotes,
// backslash escapes); each `-m` module and `-j` target has a table of the options it accepts.
#include "compiler/import_iptables.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "compiler/compile.h"

namespace policyc {
namespace {

using namespace policyc::ir;

struct Token {
    std::string text;
    uint32_t column = 0;  // 1-based byte column of its first character
    uint32_t length = 0;  // bytes as written, quotes included
};

/// iptables-restore's tokenizer: whitespace separates, double quotes group, and a backslash in
/// quotes escapes the next character. nullopt when a quote is left open.
std::optional<std::vector<Token>> tokenize(std::string_view line) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < line.size()) {
        if (std::isspace(static_cast<unsigned char>(line[i]))) {
            ++i;
            continue;
        }
        Token t;
        t.column = static_cast<uint32_t>(i + 1);
        bool quoted = false;
        for (; i < line.size(); ++i) {
            const char c = line[i];
            if (!quoted && std::isspace(static_cast<unsigned char>(c))) break;
            if (c == '"') {
                quoted = !quoted;
            } else if (quoted && c == '\\' && i + 1 < line.size()) {
                t.text += line[++i];
            } else {
                t.text += c;
            }
        }
        if (quoted) return std::nullopt;
        t.length = static_cast<uint32_t>(i + 1 - t.column);
        out.push_back(std::move(t));
    }
    return out;
}

template <class T>
std::optional<T> parseNumber(std::string_view s, int base = 10) {
    if (s.empty()) return std::nullopt;
    if (base == 0) {
        base = 10;
        if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            s.remove_prefix(2);
            base = 16;
        }
    }
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<NumRange> parseRange(std::string_view s, char sep, uint32_t max) {
    const size_t at = s.find(sep);
    auto first = parseNumber<uint32_t>(s.substr(0, at));
    auto last = at == std::string_view::npos ? first : parseNumber<uint32_t>(s.substr(at + 1));
    if (!first || !last || *first > *last || *last > max) return std::nullopt;
    return NumRange{*first, *last};
}

/// A port or a:b as libxt_tcp/udp read it: an empty side is 0 or 65535 (":4", "4:", ":").
std::optional<NumRange> parsePortRange(std::string_view s) {
    const size_t at = s.find(':');
    if (at == std::string_view::npos) return parseRange(s, ':', 65535);
    const std::string first = at == 0 ? "0" : std::string(s.substr(0, at));
    const std::string last = at + 1 == s.size() ? "65535" : std::string(s.substr(at + 1));
    return parseRange(first + ":" + last, ':', 65535);
}

std::optional<MarkMask> parseMark(std::string_view s) {
    const size_t at = s.find('/');
    auto value = parseNumber<uint32_t>(s.substr(0, at), 0);
    if (!value) return std::nullopt;
    if (at == std::string_view::npos) return MarkMask{*value, 0xffffffff};
    auto mask = parseNumber<uint32_t>(s.substr(at + 1), 0);
    if (!mask) return std::nullopt;
    return MarkMask{*value, *mask};
}

std::optional<std::array<uint8_t, 6>> parseMac(std::string_view s) {
    std::array<uint8_t, 6> mac{};
    for (size_t i = 0; i < mac.size(); ++i) {
        if (s.size() < 2 || (i + 1 < mac.size() && (s.size() < 3 || s[2] != ':')))
            return std::nullopt;
        auto byte = parseNumber<uint8_t>(s.substr(0, 2), 16);
        if (!byte) return std::nullopt;
        mac[i] = *byte;
        s.remove_prefix(i + 1 < mac.size() ? 3 : 2);
    }
    if (!s.empty()) return std::nullopt;
    return mac;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

/// ICMP type names as libxt_icmp / libip6t_icmp6 accept them; a name for a whole type has no
/// code (the kernel's 0..255 code range).
struct IcmpName {
    std::string_view name;
    uint8_t type;
    int code;  // -1: any code
};

const std::vector<IcmpName>& icmpNames(Family f) {
    static const std::vector<IcmpName> kV4 = {
        {"any", 255, -1},
        {"echo-reply", 0, -1},
        {"destination-unreachable", 3, -1},
        {"network-unreachable", 3, 0},
        {"host-unreachable", 3, 1},
        {"protocol-unreachable", 3, 2},
        {"port-unreachable", 3, 3},
        {"fragmentation-needed", 3, 4},
        {"source-route-failed", 3, 5},
        {"network-unknown", 3, 6},
        {"host-unknown", 3, 7},
        {"network-prohibited", 3, 9},
        {"host-prohibited", 3, 10},
        {"TOS-network-unreachable", 3, 11},
        {"TOS-host-unreachable", 3, 12},
        {"communication-prohibited", 3, 13},
        {"host-precedence-violation", 3, 14},
        {"precedence-cutoff", 3, 15},
        {"source-quench", 4, -1},
        {"redirect", 5, -1},
        {"network-redirect", 5, 0},
        {"host-redirect", 5, 1},
        {"TOS-network-redirect", 5, 2},
        {"TOS-host-redirect", 5, 3},
        {"echo-request", 8, -1},
        {"router-advertisement", 9, -1},
        {"router-solicitation", 10, -1},
        {"time-exceeded", 11, -1},
        {"ttl-zero-during-transit", 11, 0},
        {"ttl-zero-during-reassembly", 11, 1},
        {"parameter-problem", 12, -1},
        {"ip-header-bad", 12, 0},
        {"required-option-missing", 12, 1},
        {"timestamp-request", 13, -1},
        {"timestamp-reply", 14, -1},
        {"address-mask-request", 17, -1},
        {"address-mask-reply", 18, -1},
    };
    static const std::vector<IcmpName> kV6 = {
        {"destination-unreachable", 1, -1},
        {"no-route", 1, 0},
        {"communication-prohibited", 1, 1},
        {"beyond-scope", 1, 2},
        {"address-unreachable", 1, 3},
        {"port-unreachable", 1, 4},
        {"failed-policy", 1, 5},
        {"reject-route", 1, 6},
        {"packet-too-big", 2, -1},
        {"time-exceeded", 3, -1},
        {"ttl-zero-during-transit", 3, 0},
        {"ttl-zero-during-reassembly", 3, 1},
        {"parameter-problem", 4, -1},
        {"bad-header", 4, 0},
        {"unknown-header-type", 4, 1},
        {"unknown-option", 4, 2},
        {"echo-request", 128, -1},
        {"echo-reply", 129, -1},
        {"mld-listener-query", 130, -1},
        {"mld-listener-report", 131, -1},
        {"mld-listener-done", 132, -1},
        {"mld-listener-reduction", 132, -1},
        {"router-solicitation", 133, -1},
        {"router-advertisement", 134, -1},
        {"neighbour-solicitation", 135, -1},
        {"neighbor-solicitation", 135, -1},
        {"neighbour-advertisement", 136, -1},
        {"neighbor-advertisement", 136, -1},
        {"redirect", 137, -1},
    };
    return f == Family::V4 ? kV4 : kV6;
}

std::optional<IcmpMatch> parseIcmpType(std::string_view s, Family f) {
    IcmpMatch m;
    m.family = f;
    for (const auto& n : icmpNames(f)) {
        if (n.name != s) continue;
        m.type = n.type;
        if (n.code >= 0) m.code = static_cast<uint8_t>(n.code);
        return m;
    }
    const size_t slash = s.find('/');
    auto type = parseNumber<uint8_t>(s.substr(0, slash));
    if (!type) return std::nullopt;
    m.type = *type;
    // libxt_icmp reads a code range; only the whole range (any code) fits the IR
    if (slash != std::string_view::npos && s.substr(slash + 1) != "0:255") {
        auto code = parseNumber<uint8_t>(s.substr(slash + 1));
        if (!code) return std::nullopt;
        m.code = *code;
    }
    return m;
}

std::optional<uint8_t> parseCtStates(std::string_view s) {
    static const std::map<std::string_view, uint8_t> kStates = {
        {"INVALID", kCtInvalid},         {"NEW", kCtNew},
        {"ESTABLISHED", kCtEstablished}, {"RELATED", kCtRelated},
        {"UNTRACKED", kCtUntracked},
    };
    uint8_t states = 0;
    while (true) {
        const size_t comma = s.find(',');
        auto it = kStates.find(s.substr(0, comma));
        if (it == kStates.end()) return std::nullopt;
        states |= it->second;
        if (comma == std::string_view::npos) return states;
        s.remove_prefix(comma + 1);
    }
}

std::optional<uint8_t> parseLogLevel(std::string_view s) {
    static const std::array<std::string_view, 8> kNames = {"emerg",   "alert",  "crit", "error",
                                                           "warning", "notice", "info", "debug"};
    for (size_t i = 0; i < kNames.size(); ++i)
        if (kNames[i] == s) return static_cast<uint8_t>(i);
    if (s == "panic") return 0;
    if (s == "err") return 3;
    if (s == "warn") return 4;
    auto n = parseNumber<uint8_t>(s);
    if (!n || *n > 7) return std::nullopt;
    return n;
}

std::optional<LimitMatch> parseLimitRate(std::string_view s, LimitMatch m) {
    static const std::map<std::string_view, std::string_view> kUnits = {
        {"s", "second"},   {"sec", "second"},    {"second", "second"}, {"m", "minute"},
        {"min", "minute"}, {"minute", "minute"}, {"h", "hour"},        {"hour", "hour"},
        {"d", "day"},      {"day", "day"},
    };
    const size_t slash = s.find('/');
    auto rate = parseNumber<uint32_t>(s.substr(0, slash));
    if (!rate || *rate == 0) return std::nullopt;
    m.rate = *rate;
    m.unit = "second";
    if (slash != std::string_view::npos) {
        auto it = kUnits.find(s.substr(slash + 1));
        if (it == kUnits.end()) return std::nullopt;
        m.unit = it->second;
    }
    return m;
}

// ---------------------------------------------------------------------------------------------
// One -A line

/// Everything about a table line needed after the whole file is read.
struct PendingJump {
    size_t table;
    size_t chain;
    size_t rule;
    uint32_t line;
    Token token;
};

class RuleReader;
using OptionHandler = std::function<bool(RuleReader&, bool negated)>;

/// Reads the tokens after `-A CHAIN` into a rule. Each option handler consumes its values and
/// returns false after reporting an error.
class RuleReader {
  public:
    RuleReader(std::vector<Token> tokens, size_t start, uint32_t file, uint32_t line,
               Diagnostics& diags)
        : tokens_(std::move(tokens)), pos_(start), file_(file), line_(line), diags_(diags) {}

    bool read(Rule& rule);

    bool sawV4() const { return v4_.has_value(); }
    bool sawV6() const { return v6_.has_value(); }
    SourceSpan v4Span() const { return *v4_; }
    SourceSpan v6Span() const { return *v6_; }
    const std::optional<Token>& jumpToken() const { return jump_; }

    // Used by the option handlers.
    const Token* value(std::string_view what);
    const Token& previous() const { return tokens_[pos_ - 1]; }  // the option or value just read
    bool fail(Code code, const Token& at, std::string message);
    SourceSpan span(const Token& t) const { return spanOf(t, t); }
    SourceSpan spanOf(const Token& first, const Token& last) const {
        return {file_, line_, first.column, line_,
                last.column + std::max<uint32_t>(last.length, 1) - 1};
    }
    void evidence(Family f, const Token& t) { (f == Family::V4 ? v4_ : v6_) = span(t); }
    /// A match, pointed at by the option (with its `!` and values) that gave it.
    void add(Match m) {
        rule_->matches.push_back(std::move(m));
        rule_->parts.matches.push_back(spanOf(tokens_[optionStart_], previous()));
    }
    Rule& rule() { return *rule_; }
    const std::string& module() const { return module_; }
    /// CONNMARK --mask, --nfmask, --ctmask as read, resolved at the end of the line.
    std::array<std::optional<uint32_t>, 3> ctMasks;
    /// -m tcp/udp port conditions kept, and whether one is a (negated) full range: they decide
    /// ProtoMatch::portModule at the end of the line.
    unsigned portConditions = 0;
    bool portFullRange = false;

  private:
    bool readOption(const Token& opt, bool negated);
    bool finishModule();
    bool checkProtocols(const Rule& rule);
    bool readModule(const Token& name);
    bool readTarget(const Token& name, bool isGoto);
    void keepModuleShape(Rule& rule) const;

    std::vector<Token> tokens_;
    size_t pos_;
    size_t optionStart_ = 0;             // the token the option being read begins with
    std::optional<size_t> targetStart_;  // the -j/-g token
    uint32_t file_;
    uint32_t line_;
    Diagnostics& diags_;
    Rule* rule_ = nullptr;
    std::string module_;                       // the last -m, or "-j NAME" once the target began
    unsigned modulesRead_ = 0;                 // -m modules other than comment, so far
    std::optional<unsigned> commentModule_;    // how many of them came before -m comment
    size_t matchesBeforeComment_ = 0;          // how many matches were read before it
    bool portModuleAfterComment_ = false;      // a -m tcp/udp came after -m comment
    std::optional<Token> moduleToken_;         // the -m or -j name module_ comes from
    std::set<std::string> optionsSeen_;        // module_'s options: iptables takes each once
    std::map<std::string, Token> protoNeeds_;  // -m tcp/udp/icmp/icmp6: each needs its -p
    bool hasTarget_ = false;
    std::optional<SourceSpan> v4_;
    std::optional<SourceSpan> v6_;
    std::optional<Token> jump_;
};

const Token* RuleReader::value(std::string_view what) {
    if (pos_ >= tokens_.size()) {
        const Token& last = tokens_.back();
        fail(Code::E001, last, "'" + last.text + "' needs " + std::string(what));
        return nullptr;
    }
    return &tokens_[pos_++];
}

bool RuleReader::fail(Code code, const Token& at, std::string message) {
    diags_.report(code, span(at), std::move(message));
    return false;
}

bool badValue(RuleReader& r, const Token& t, std::string_view what) {
    return r.fail(Code::E103, t, "'" + t.text + "' is not " + std::string(what));
}

// --- generic matches (the ip header part) ----------------------------------------------------

/// "a.b.c.d/255.255.0.0" as "a.b.c.d/16"; nullopt for a mask with holes.
std::optional<std::string> dottedMaskAsLength(const std::string& text) {
    const size_t slash = text.find('/');
    auto mask = IpAddr::parse(std::string_view(text).substr(slash + 1));
    if (!mask || mask->family != Family::V4) return std::nullopt;
    uint32_t bits = 0;
    for (size_t i = 0; i < 4; ++i) bits = bits << 8 | mask->bytes[i];
    const uint32_t ones = static_cast<uint32_t>(std::countl_one(bits));
    if (ones < 32 && (bits << ones) != 0) return std::nullopt;
    return text.substr(0, slash) + "/" + std::to_string(ones);
}

bool addrOption(RuleReader& r, bool neg, Direction dir) {
    const Token* v = r.value("an address");
    if (!v) return false;
    std::string text = v->text;
    const size_t slash = text.find('/');
    if (slash != std::string::npos && text.find('.', slash) != std::string::npos) {
        auto asLength = dottedMaskAsLength(text);
        if (!asLength)
            return r.fail(Code::E202, *v, "a netmask with holes has no policyc equivalent");
        text = *asLength;
    }
    auto p = Prefix::parse(text);
    if (!p) return badValue(r, *v, "an address or prefix");
    r.evidence(p->addr.family, *v);
    r.add(AddrMatch{dir, neg, {p->network()}});
    return true;
}

bool ifaceOption(RuleReader& r, bool neg, IfaceDirection dir) {
    const Token* v = r.value("an interface name");
    if (!v) return false;
    r.add(IfaceMatch{dir, neg, v->text});
    return true;
}

bool protoOption(RuleReader& r, bool neg) {
    const Token* v = r.value("a protocol");
    if (!v) return false;
    std::optional<uint8_t> proto = protoByName(lower(v->text));
    if (!proto) proto = parseNumber<uint8_t>(v->text);
    if (v->text == "all" || v->text == "0") proto = 0;
    if (!proto) return r.fail(Code::E101, *v, "unknown protocol '" + v->text + "'");
    if (*proto == 58) r.evidence(Family::V6, *v);
    if (*proto == 0 && neg) return r.fail(Code::E103, *v, "'! -p all' would never match");
    if (*proto != 0 || neg) r.add(ProtoMatch{*proto, neg});
    return true;
}

// --- module options ----------------------------------------------------------------------------

bool portOption(RuleReader& r, bool neg, Direction dir) {
    const Token* v = r.value("a port or range");
    if (!v) return false;
    auto range = parsePortRange(v->text);
    if (!range) return badValue(r, *v, "a port or port range (0..65535, a:b)");
    const bool full = range->first == 0 && range->last == 65535;
    // libxt_tcp/udp store `--sport :` as the module's default, no condition at all
    if (full && !neg) return true;
    r.add(PortMatch{dir, neg, {*range}});
    ++r.portConditions;
    r.portFullRange = r.portFullRange || full;
    return true;
}

/// libxt_tcp's flag list: names (any case), ALL or NONE, comma separated.
std::optional<uint8_t> parseTcpFlags(std::string_view text) {
    uint8_t bits = 0;
    while (true) {
        const size_t comma = text.find(',');
        const std::string name = lower(std::string(text.substr(0, comma)));
        const auto& names = tcpFlagNames();
        const auto it = std::find(names.begin(), names.begin() + 6, name);
        if (name == "all")
            bits |= 0x3f;
        else if (it != names.begin() + 6)
            bits |= static_cast<uint8_t>(1u << (it - names.begin()));
        else if (name != "none")
            return std::nullopt;
        if (comma == std::string_view::npos) return bits;
        text.remove_prefix(comma + 1);
    }
}

/// --tcp-flags MASK COMP and --syn (FIN,SYN,RST,ACK SYN), in the tcp module.
bool tcpFlagsOption(RuleReader& r, bool neg, std::optional<std::pair<uint8_t, uint8_t>> syn) {
    const Token* at = &r.previous();
    uint8_t mask = 0, comp = 0;
    if (syn) {
        std::tie(mask, comp) = *syn;
    } else {
        const Token* m = r.value("a flag list to test");
        const Token* c = m ? r.value("the flags that must be set") : nullptr;
        if (!c) return false;
        auto maskBits = parseTcpFlags(m->text);
        if (!maskBits) return badValue(r, *m, "a tcp flag list (FIN,SYN,RST,PSH,ACK,URG,ALL,NONE)");
        auto compBits = parseTcpFlags(c->text);
        if (!compBits) return badValue(r, *c, "a tcp flag list (FIN,SYN,RST,PSH,ACK,URG,ALL,NONE)");
        mask = *maskBits, comp = *compBits, at = c;
    }
    for (const Match& m : r.rule().matches)
        if (std::holds_alternative<TcpFlagsMatch>(m))
            return r.fail(Code::E106, *at, "only one of --syn and --tcp-flags in a rule");
    if (comp & ~mask)
        return r.fail(Code::E202, *at,
                      "flags set outside the tested ones never match; policyc has no such rule");
    if (mask == 0) {  // nothing tested: the module's default, listed as a bare -m tcp
        if (neg) return r.fail(Code::E202, *at, "'! --tcp-flags NONE NONE' never matches");
        return true;
    }
    r.add(TcpFlagsMatch{neg, mask, comp});
    ++r.portConditions;
    return true;
}

bool multiportOption(RuleReader& r, bool neg, Direction dir) {
    const Token* v = r.value("a port list");
    if (!v) return false;
    PortMatch m{dir, neg, {}};
    std::string_view s = v->text;
    while (true) {
        const size_t comma = s.find(',');
        auto range = parseRange(s.substr(0, comma), ':', 65535);
        if (!range) return badValue(r, *v, "a port list (p,q:r,...)");
        m.ports.push_back(*range);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    if (neg && m.ports.size() > 1)
        return r.fail(Code::E202, *v, "a negated multiport list has no policyc equivalent");
    m.multiport = m.ports.size() == 1;
    r.add(std::move(m));
    return true;
}

bool iprangeOption(RuleReader& r, bool neg, Direction dir) {
    const Token* v = r.value("an address range");
    if (!v) return false;
    const size_t dash = v->text.find('-');
    auto first = IpAddr::parse(std::string_view(v->text).substr(0, dash));
    auto last = dash == std::string::npos
                    ? first
                    : IpAddr::parse(std::string_view(v->text).substr(dash + 1));
    if (!first || !last || first->family != last->family)
        return badValue(r, *v, "an address range a-b");
    r.evidence(first->family, *v);
    r.add(AddrMatch{dir, neg, {AddrRange{*first, *last}}});
    return true;
}

bool ctstateOption(RuleReader& r, bool neg, bool stateModule) {
    const Token* v = r.value("a state list");
    if (!v) return false;
    auto states = parseCtStates(v->text);
    if (!states &&
        (v->text.find("SNAT") != std::string::npos || v->text.find("DNAT") != std::string::npos))
        return r.fail(Code::E202, *v, "ctstate SNAT/DNAT have no policyc equivalent");
    if (!states) return badValue(r, *v, "a list of INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED");
    r.add(CtStateMatch{neg, *states, stateModule});
    return true;
}

bool markOption(RuleReader& r, bool neg, bool connmark) {
    const Token* v = r.value("a mark");
    if (!v) return false;
    auto mark = parseMark(v->text);
    if (!mark) return badValue(r, *v, "a mark value[/mask]");
    if (connmark)
        r.add(ConnmarkMatch{neg, *mark});
    else
        r.add(MarkMatch{neg, *mark});
    return true;
}

/// A user or group name as iptables resolves it while loading: on this machine.
std::optional<NumRange> ownerByName(const std::string& name, OwnerMatch::Kind kind) {
    std::vector<char> buf(16384);
    if (kind == OwnerMatch::Kind::Uid) {
        passwd pw{}, *found = nullptr;
        if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
            return std::nullopt;
        return NumRange{found->pw_uid, found->pw_uid};
    }
    group gr{}, *found = nullptr;
    if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found)
        return std::nullopt;
    return NumRange{found->gr_gid, found->gr_gid};
}

/// A port, a range a-b, or a service name (/etc/services, for the rule's protocol).
std::optional<NumRange> portsOrService(std::string_view text, const char* proto) {
    if (auto range = parseRange(text, '-', 65535)) return range;
    const std::string name(text);
    servent se{}, *found = nullptr;
    std::vector<char> buf(4096);
    if (getservbyname_r(name.c_str(), proto, &se, buf.data(), buf.size(), &found) != 0 || !found)
        return std::nullopt;
    const uint32_t port = ntohs(static_cast<uint16_t>(found->s_port));
    return NumRange{port, port};
}

/// The protocol a service name is looked up for: the rule's -p (tcp when it has none).
const char* serviceProtocol(RuleReader& r) {
    for (const auto& m : r.rule().matches)
        if (const auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated) {
            if (p->proto == 17) return "udp";
            if (p->proto == 132) return "sctp";
            if (p->proto == 33) return "dccp";
        }
    return "tcp";
}

bool ownerOption(RuleReader& r, bool neg, OwnerMatch::Kind kind) {
    const Token* v = r.value("an id");
    if (!v) return false;
    auto ids = parseRange(v->text, '-', 0xffffffff);
    if (!ids) ids = ownerByName(v->text, kind);
    if (!ids)
        return badValue(r, *v,
                        kind == OwnerMatch::Kind::Uid
                            ? "a numeric id, an id range a-b or a user of this machine"
                            : "a numeric id, an id range a-b or a group of this machine");
    r.add(OwnerMatch{kind, neg, *ids});
    return true;
}

bool cgroupOption(RuleReader& r, bool neg) {
    const Token* v = r.value("a cgroup path");
    if (!v) return false;
    r.add(CgroupMatch{neg, v->text});
    return true;
}

bool icmpOption(RuleReader& r, bool neg, Family f) {
    const Token* v = r.value("an ICMP type");
    if (!v) return false;
    auto m = parseIcmpType(v->text, f);
    if (!m) return badValue(r, *v, f == Family::V4 ? "an ICMP type" : "an ICMPv6 type");
    m->negated = neg;
    r.add(*m);
    return true;
}

bool addrtypeOption(RuleReader& r, bool neg, Direction dir) {
    static const std::set<std::string_view> kTypes = {
        "UNSPEC",    "UNICAST",     "LOCAL",    "BROADCAST", "ANYCAST", "MULTICAST",
        "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW",     "NAT",     "XRESOLVE"};
    const Token* v = r.value("an address type");
    if (!v) return false;
    if (v->text.find(',') != std::string::npos)
        return r.fail(Code::E202, *v, "an addrtype list has no policyc equivalent (one type)");
    if (!kTypes.count(v->text)) return badValue(r, *v, "an address type (LOCAL, UNICAST ...)");
    r.add(AddrTypeMatch{dir, neg, lower(v->text)});
    return true;
}

LimitMatch* currentLimit(RuleReader& r) {
    for (auto& m : r.rule().matches)
        if (auto* l = std::get_if<LimitMatch>(&m)) return l;
    r.add(LimitMatch{3, "hour", 5});  // libxt_limit's defaults
    return std::get_if<LimitMatch>(&r.rule().matches.back());
}

bool limitOption(RuleReader& r, bool) {
    const Token* v = r.value("a rate");
    if (!v) return false;
    LimitMatch* l = currentLimit(r);
    auto m = parseLimitRate(v->text, *l);
    if (!m) return badValue(r, *v, "a rate N[/second|/minute|/hour|/day]");
    *l = *m;
    return true;
}

bool limitBurstOption(RuleReader& r, bool) {
    const Token* v = r.value("a burst");
    if (!v) return false;
    auto n = parseNumber<uint32_t>(v->text);
    if (!n || *n == 0 || *n > 10000) return badValue(r, *v, "a burst 1..10000");
    currentLimit(r)->burst = *n;
    return true;
}

bool macOption(RuleReader& r, bool neg) {
    const Token* v = r.value("a MAC address");
    if (!v) return false;
    auto mac = parseMac(v->text);
    if (!mac) return badValue(r, *v, "a MAC address xx:xx:xx:xx:xx:xx");
    r.add(MacMatch{neg, *mac});
    return true;
}

bool commentOption(RuleReader& r, bool) {
    const Token* v = r.value("a comment");
    if (!v) return false;
    if (!r.rule().comment.empty())
        return r.fail(Code::E202, *v, "a second comment on one rule has no policyc equivalent");
    r.rule().comment = v->text;
    return true;
}

// --- target options -----------------------------------------------------------------------------

bool rejectWith(RuleReader& r, bool) {
    const Token* v = r.value("a reject type");
    if (!v) return false;
    static const std::map<std::string_view, std::string_view> kAliases = {
        {"icmp-net-unreachable", "icmp-net-unreachable"},
        {"icmp-host-unreachable", "icmp-host-unreachable"},
        {"icmp-port-unreachable", "icmp-port-unreachable"},
        {"icmp-proto-unreachable", "icmp-proto-unreachable"},
        {"icmp-net-prohibited", "icmp-net-prohibited"},
        {"icmp-host-prohibited", "icmp-host-prohibited"},
        {"icmp-admin-prohibited", "icmp-admin-prohibited"},
        {"tcp-reset", "tcp-reset"},
        {"tcp-rst", "tcp-reset"},
        {"icmp6-no-route", "icmp6-no-route"},
        {"no-route", "icmp6-no-route"},
        {"icmp6-adm-prohibited", "icmp6-adm-prohibited"},
        {"adm-prohibited", "icmp6-adm-prohibited"},
        {"icmp6-addr-unreachable", "icmp6-addr-unreachable"},
        {"addr-unreach", "icmp6-addr-unreachable"},
        {"icmp6-port-unreachable", "icmp6-port-unreachable"},
        {"port-unreach", "icmp6-port-unreachable"},
    };
    auto it = kAliases.find(v->text);
    if (it == kAliases.end())
        return r.fail(Code::E202, *v, "reject type '" + v->text + "' has no policyc equivalent");
    if (it->second.starts_with("icmp6-")) r.evidence(Family::V6, *v);
    if (it->second.starts_with("icmp-")) r.evidence(Family::V4, *v);
    std::get<Reject>(r.rule().target).with = std::string(it->second);
    return true;
}

bool logPrefix(RuleReader& r, bool) {
    const Token* v = r.value("a prefix");
    if (!v) return false;
    std::get<Log>(r.rule().target).prefix = v->text;
    return true;
}

bool logLevel(RuleReader& r, bool) {
    const Token* v = r.value("a level");
    if (!v) return false;
    auto level = parseLogLevel(v->text);
    if (!level) return badValue(r, *v, "a syslog level 0..7 or name");
    std::get<Log>(r.rule().target).level = *level;
    return true;
}

/// MARK/CONNMARK value operations, as libxt_MARK turns them into xor/mask pairs.
enum class MarkOp { SetX, Set, And, Or, Xor };

std::optional<MarkMask> markOp(MarkOp op, std::string_view text) {
    auto m = parseMark(text);
    if (!m) return std::nullopt;
    const bool masked = text.find('/') != std::string_view::npos;
    switch (op) {
        case MarkOp::SetX:
            return m;
        case MarkOp::Set:
            return MarkMask{m->value, masked ? m->mask | m->value : 0xffffffff};
        case MarkOp::And:
            return masked ? std::nullopt : std::optional(MarkMask{0, ~m->value});
        case MarkOp::Or:
            return masked ? std::nullopt : std::optional(MarkMask{m->value, m->value});
        case MarkOp::Xor:
            return masked ? std::nullopt : std::optional(MarkMask{m->value, 0});
    }
    return std::nullopt;
}

OptionHandler setMark(MarkOp op) {
    return [op](RuleReader& r, bool) {
        const Token* v = r.value("a mark");
        if (!v) return false;
        auto m = markOp(op, v->text);
        if (!m) return badValue(r, *v, "a mark value[/mask]");
        if (auto* t = std::get_if<SetMark>(&r.rule().target)) t->mark = *m;
        if (auto* t = std::get_if<Connmark>(&r.rule().target)) {
            t->op = Connmark::Op::Set;
            t->mark = *m;
        }
        return true;
    };
}

/// CONNMARK --save-mark/--restore-mark and their masks; --nfmask and --ctmask must agree
/// because the IR holds one mask (checked at the end of the line).
OptionHandler connmarkCopy(Connmark::Op op) {
    return [op](RuleReader& r, bool) {
        auto& t = std::get<Connmark>(r.rule().target);
        t.op = op;
        t.mark = MarkMask{0, 0xffffffff};
        return true;
    };
}

OptionHandler connmarkMask(int which) {  // 0: --mask, 1: --nfmask, 2: --ctmask
    return [which](RuleReader& r, bool) {
        const Token* v = r.value("a mask");
        if (!v) return false;
        auto mask = parseNumber<uint32_t>(v->text, 0);
        if (!mask) return badValue(r, *v, "a mask");
        r.ctMasks[static_cast<size_t>(which)] = *mask;
        return true;
    };
}

/// `a[-b][:p[-q]]`, IPv6 addresses in brackets when ports follow.
bool natSpec(RuleReader& r, const Token& v, std::optional<IpAddr>& first,
             std::optional<IpAddr>& last, std::optional<NumRange>& ports) {
    std::string_view s = v.text;
    std::string_view addr = s, portText;
    if (s.starts_with('[')) {
        const size_t close = s.find(']');
        if (close == std::string_view::npos) return badValue(r, v, "an address[:ports]");
        addr = s.substr(1, close - 1);
        const std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return badValue(r, v, "[address]:ports");
            portText = rest.substr(1);
        }
    } else if (std::count(s.begin(), s.end(), ':') == 1) {
        const size_t colon = s.find(':');
        addr = s.substr(0, colon);
        portText = s.substr(colon + 1);
    }
    if (portText.find('/') != std::string_view::npos)
        return r.fail(Code::E202, v, "a NAT port offset (/base) has no policyc equivalent");
    if (!portText.empty()) {
        ports = portsOrService(portText, serviceProtocol(r));
        if (!ports) return badValue(r, v, "a port, port range a-b or service name");
    }
    if (addr.empty()) return true;
    const size_t dash = addr.find('-');
    first = IpAddr::parse(addr.substr(0, dash));
    if (dash != std::string_view::npos) last = IpAddr::parse(addr.substr(dash + 1));
    if (!first || (dash != std::string_view::npos && (!last || last->family != first->family)))
        return badValue(r, v, "an address or range a-b");
    if (last && *last == *first) last.reset();
    r.evidence(first->family, v);
    if (first->family == Family::V6 && last && ports)
        return r.fail(Code::E202, v, "an IPv6 NAT range with ports has no .pol spelling yet");
    return true;
}

bool natTo(RuleReader& r, bool) {
    const Token* v = r.value("an address");
    if (!v) return false;
    auto& t = std::get<Nat>(r.rule().target);
    if (t.first || t.ports)
        return r.fail(Code::E202, *v, "several NAT ranges have no policyc equivalent");
    return natSpec(r, *v, t.first, t.last, t.ports);
}

bool toPorts(RuleReader& r, bool) {
    const Token* v = r.value("a port or range");
    if (!v) return false;
    auto ports = portsOrService(v->text, serviceProtocol(r));
    if (!ports) return badValue(r, *v, "a port, port range a-b or service name");
    if (auto* t = std::get_if<Masquerade>(&r.rule().target)) t->ports = ports;
    if (auto* t = std::get_if<Redirect>(&r.rule().target)) t->ports = ports;
    return true;
}

bool tproxyPort(RuleReader& r, bool) {
    const Token* v = r.value("a port");
    if (!v) return false;
    auto port = parseNumber<uint16_t>(v->text);
    if (!port) return badValue(r, *v, "a port");
    std::get<Tproxy>(r.rule().target).port = *port;
    return true;
}

bool tproxyIp(RuleReader& r, bool) {
    const Token* v = r.value("an address");
    if (!v) return false;
    auto a = IpAddr::parse(v->text);
    if (!a) return badValue(r, *v, "an address");
    auto& t = std::get<Tproxy>(r.rule().target);
    r.evidence(a->family, *v);
    if (!a->isUnspecified()) t.addr = *a;
    return true;
}

bool tproxyMark(RuleReader& r, bool) {
    const Token* v = r.value("a mark");
    if (!v) return false;
    auto m = parseMark(v->text);
    if (!m) return badValue(r, *v, "a mark value[/mask]");
    std::get<Tproxy>(r.rule().target).mark = *m;
    return true;
}

bool tcpMssSet(RuleReader& r, bool) {
    const Token* v = r.value("an MSS");
    if (!v) return false;
    // iptables' own limit (65535 less the IPv4 header); ip6tables stops at 65495
    auto mss = parseNumber<uint16_t>(v->text);
    if (!mss || *mss > 65515) return badValue(r, *v, "an MSS 0..65515");
    std::get<TcpMss>(r.rule().target).mss = *mss;
    return true;
}

bool tcpMssClamp(RuleReader&, bool) { return true; }  // TcpMss{} clamps

// --- the tables ---------------------------------------------------------------------------------

using Handlers = std::map<std::string, OptionHandler, std::less<>>;

/// Options of each `-m` module, by spelling (long aliases included).
const std::map<std::string, Handlers, std::less<>>& moduleOptions() {
    using D = Direction;
    auto port = [](D d) { return [d](RuleReader& r, bool n) { return portOption(r, n, d); }; };
    auto mport = [](D d) {
        return [d](RuleReader& r, bool n) { return multiportOption(r, n, d); };
    };
    auto range = [](D d) { return [d](RuleReader& r, bool n) { return iprangeOption(r, n, d); }; };
    auto addrtype = [](D d) {
        return [d](RuleReader& r, bool n) { return addrtypeOption(r, n, d); };
    };
    auto owner = [](OwnerMatch::Kind k) {
        return [k](RuleReader& r, bool n) { return ownerOption(r, n, k); };
    };
    auto icmp = [](Family f) { return [f](RuleReader& r, bool n) { return icmpOption(r, n, f); }; };
    const Handlers ports = {{"--sport", port(D::Source)},
                            {"--source-port", port(D::Source)},
                            {"--dport", port(D::Destination)},
                            {"--destination-port", port(D::Destination)}};
    Handlers tcp = ports;
    tcp.emplace("--tcp-flags",
                [](RuleReader& r, bool n) { return tcpFlagsOption(r, n, std::nullopt); });
    tcp.emplace("--syn", [](RuleReader& r, bool n) {
        return tcpFlagsOption(r, n, std::pair<uint8_t, uint8_t>{0x17, 0x02});
    });
    static const std::map<std::string, Handlers, std::less<>> kModules = {
        {"tcp", tcp},
        {"udp", ports},
        {"multiport",
         {{"--sports", mport(D::Source)},
          {"--source-ports", mport(D::Source)},
          {"--dports", mport(D::Destination)},
          {"--destination-ports", mport(D::Destination)}}},
        {"iprange", {{"--src-range", range(D::Source)}, {"--dst-range", range(D::Destination)}}},
        {"conntrack",
         {{"--ctstate", [](RuleReader& r, bool n) { return ctstateOption(r, n, false); }}}},
        {"state", {{"--state", [](RuleReader& r, bool n) { return ctstateOption(r, n, true); }}}},
        {"mark", {{"--mark", [](RuleReader& r, bool n) { return markOption(r, n, false); }}}},
        {"connmark", {{"--mark", [](RuleReader& r, bool n) { return markOption(r, n, true); }}}},
        {"owner",
         {{"--uid-owner", owner(OwnerMatch::Kind::Uid)},
          {"--gid-owner", owner(OwnerMatch::Kind::Gid)}}},
        {"cgroup", {{"--path", cgroupOption}}},
        {"socket",
         {{"--transparent",
           [](RuleReader& r, bool) {
               for (auto& m : r.rule().matches)
                   if (auto* s = std::get_if<SocketMatch>(&m)) s->transparent = true;
               return true;
           }}}},
        {"icmp", {{"--icmp-type", icmp(Family::V4)}}},
        {"icmp6", {{"--icmpv6-type", icmp(Family::V6)}}},
        {"addrtype",
         {{"--src-type", addrtype(D::Source)}, {"--dst-type", addrtype(D::Destination)}}},
        {"limit", {{"--limit", limitOption}, {"--limit-burst", limitBurstOption}}},
        {"mac", {{"--mac-source", macOption}}},
        {"comment", {{"--comment", commentOption}}},
    };
    return kModules;
}

/// Targets: the IR value a `-j NAME` starts as, and its options.
struct TargetKind {
    Target initial;
    Handlers options;
};

const std::map<std::string, TargetKind, std::less<>>& targetKinds() {
    static const std::map<std::string, TargetKind, std::less<>> kTargets = {
        {"ACCEPT", {Accept{}, {}}},
        {"DROP", {Drop{}, {}}},
        {"RETURN", {Return{}, {}}},
        {"REJECT", {Reject{}, {{"--reject-with", rejectWith}}}},
        {"LOG", {Log{}, {{"--log-prefix", logPrefix}, {"--log-level", logLevel}}}},
        {"MARK",
         {SetMark{},
          {{"--set-xmark", setMark(MarkOp::SetX)},
           {"--set-mark", setMark(MarkOp::Set)},
           {"--and-mark", setMark(MarkOp::And)},
           {"--or-mark", setMark(MarkOp::Or)},
           {"--xor-mark", setMark(MarkOp::Xor)}}}},
        {"CONNMARK",
         {Connmark{},
          {{"--set-xmark", setMark(MarkOp::SetX)},
           {"--set-mark", setMark(MarkOp::Set)},
           {"--and-mark", setMark(MarkOp::And)},
           {"--or-mark", setMark(MarkOp::Or)},
           {"--xor-mark", setMark(MarkOp::Xor)},
           {"--save-mark", connmarkCopy(Connmark::Op::Save)},
           {"--restore-mark", connmarkCopy(Connmark::Op::Restore)},
           {"--mask", connmarkMask(0)},
           {"--nfmask", connmarkMask(1)},
           {"--ctmask", connmarkMask(2)}}}},
        {"SNAT", {Nat{Nat::Kind::Snat, {}, {}, {}}, {{"--to-source", natTo}}}},
        {"DNAT", {Nat{Nat::Kind::Dnat, {}, {}, {}}, {{"--to-destination", natTo}}}},
        {"MASQUERADE", {Masquerade{}, {{"--to-ports", toPorts}}}},
        {"REDIRECT", {Redirect{}, {{"--to-ports", toPorts}}}},
        {"TPROXY",
         {Tproxy{},
          {{"--on-port", tproxyPort}, {"--on-ip", tproxyIp}, {"--tproxy-mark", tproxyMark}}}},
        {"CT",
         {NoTarget{},
          {{"--notrack",
            [](RuleReader& r, bool) {
                r.rule().target = Notrack{};
                return true;
            }}}}},
        {"NOTRACK", {Notrack{}, {}}},
        {"TCPMSS", {TcpMss{}, {{"--set-mss", tcpMssSet}, {"--clamp-mss-to-pmtu", tcpMssClamp}}}},
    };
    return kTargets;
}

bool RuleReader::read(Rule& rule) {
    rule_ = &rule;
    bool negated = false;
    const Token* bangToken = nullptr;
    while (pos_ < tokens_.size()) {
        const Token& t = tokens_[pos_++];
        if (t.text == "!") {
            negated = true;
            bangToken = &t;
            continue;
        }
        optionStart_ = bangToken ? static_cast<size_t>(bangToken - tokens_.data()) : pos_ - 1;
        if (!readOption(t, negated)) return false;
        negated = false;
        bangToken = nullptr;
    }
    if (bangToken)
        return fail(Code::E001, *bangToken, "'!' at the end of the rule negates nothing");
    if (!finishModule() || !checkProtocols(rule)) return false;
    // the target's options are the rest of the line: nothing but them may follow -j
    if (targetStart_) rule.parts.target = spanOf(tokens_[*targetStart_], tokens_.back());
    keepModuleShape(rule);
    if (module_ == "-j CT" && std::holds_alternative<NoTarget>(rule.target))
        return fail(Code::E202, tokens_.back(), "CT without --notrack has no policyc equivalent");
    if (module_ == "-j TCPMSS" && optionsSeen_.size() > 1)
        return fail(Code::E106, tokens_.back(),
                    "'--set-mss' and '--clamp-mss-to-pmtu' exclude each other");
    if (auto* c = std::get_if<Connmark>(&rule.target); c && c->op != Connmark::Op::Set) {
        const auto nf = ctMasks[1] ? ctMasks[1] : ctMasks[0];
        const auto ct = ctMasks[2] ? ctMasks[2] : ctMasks[0];
        if (nf.value_or(0xffffffff) != ct.value_or(0xffffffff))
            return fail(Code::E202, tokens_.back(),
                        "different --nfmask and --ctmask have no policyc equivalent");
        c->mark = MarkMask{0, nf.value_or(0xffffffff)};
    }
    return true;
}

bool RuleReader::readOption(const Token& opt, bool negated) {
    using D = Direction;
    using I = IfaceDirection;
    static const std::map<std::string, OptionHandler, std::less<>> kGeneric = {
        {"-s", [](RuleReader& r, bool n) { return addrOption(r, n, D::Source); }},
        {"--source", [](RuleReader& r, bool n) { return addrOption(r, n, D::Source); }},
        {"-d", [](RuleReader& r, bool n) { return addrOption(r, n, D::Destination); }},
        {"--destination", [](RuleReader& r, bool n) { return addrOption(r, n, D::Destination); }},
        {"-i", [](RuleReader& r, bool n) { return ifaceOption(r, n, I::In); }},
        {"--in-interface", [](RuleReader& r, bool n) { return ifaceOption(r, n, I::In); }},
        {"-o", [](RuleReader& r, bool n) { return ifaceOption(r, n, I::Out); }},
        {"--out-interface", [](RuleReader& r, bool n) { return ifaceOption(r, n, I::Out); }},
        {"-p", protoOption},
        {"--protocol", protoOption},
    };
    if (opt.text == "-m" || opt.text == "--match") {
        if (hasTarget_) return fail(Code::E001, opt, "'-m' after the target");
        const Token* name = value("a match name");
        return name && readModule(*name);
    }
    if (opt.text == "-j" || opt.text == "--jump" || opt.text == "-g" || opt.text == "--goto") {
        if (hasTarget_) return fail(Code::E001, opt, "a second target in one rule");
        const Token* name = value("a target name");
        return name && readTarget(*name, opt.text == "-g" || opt.text == "--goto");
    }
    // A module's or target's own options first: iptables gives them precedence too.
    const Handlers* own = nullptr;
    if (hasTarget_) {
        auto it = module_.starts_with("-j ")
                      ? targetKinds().find(std::string_view(module_).substr(3))
                      : targetKinds().end();
        if (it != targetKinds().end()) {
            own = &it->second.options;
        } else if (jump_) {  // options after a name that is not a known target: an extension
            const Token name = *jump_;
            jump_.reset();
            if (module_.starts_with("-g "))
                return fail(Code::E001, opt, "'-g " + name.text + "' takes no options");
            return fail(Code::E202, name, "target '" + name.text + "' is not supported by policyc");
        }
    } else if (!module_.empty()) {
        own = &moduleOptions().at(module_);
    }
    if (own) {
        if (auto it = own->find(opt.text); it != own->end()) {
            if (!optionsSeen_.insert(it->first).second)
                return fail(Code::E106, opt, "'" + opt.text + "' can only be given once");
            return it->second(*this, negated);
        }
    }
    if (!hasTarget_) {
        if (auto it = kGeneric.find(opt.text); it != kGeneric.end())
            return it->second(*this, negated);
    }
    const std::string where =
        module_.empty() ? "" : " of '" + (hasTarget_ ? module_ : "-m " + module_) + "'";
    if (module_ == "multiport" && opt.text == "--ports")
        return fail(Code::E202, opt,
                    "'-m multiport --ports' matches either port; policyc has no 'either' "
                    "(write a source and a destination rule)");
    return fail(Code::E202, opt,
                "option '" + opt.text + "'" + where + " is not supported by policyc");
}

/// iptables refuses these modules and targets without one of their options.
bool RuleReader::finishModule() {
    static const std::set<std::string, std::less<>> kNeedOption = {
        "icmp",        "icmp6",   "multiport", "iprange",   "mark",     "connmark", "owner",
        "conntrack",   "state",   "cgroup",    "addrtype",  "comment",  "mac",      "-j MARK",
        "-j CONNMARK", "-j SNAT", "-j DNAT",   "-j TPROXY", "-j TCPMSS"};
    if (!moduleToken_ || !optionsSeen_.empty() || !kNeedOption.count(module_)) return true;
    const std::string what = module_.starts_with("-j ") ? module_ : "-m " + module_;
    return fail(Code::E001, *moduleToken_, "'" + what + "' needs one of its options");
}

/// What the kernel (or iptables) refuses without the right `-p`.
bool RuleReader::checkProtocols(const Rule& rule) {
    static const std::map<std::string, std::pair<uint8_t, std::string_view>, std::less<>>
        kModuleProto = {{"tcp", {6, "tcp"}},
                        {"udp", {17, "udp"}},
                        {"icmp", {1, "icmp"}},
                        {"icmp6", {58, "ipv6-icmp"}}};
    std::optional<uint8_t> proto;
    for (const Match& m : rule.matches)
        if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated) proto = p->proto;
    for (const auto& [name, token] : protoNeeds_) {
        const auto& [number, spelling] = kModuleProto.at(name);
        if (proto != number)
            return fail(Code::E106, token,
                        "'-m " + name + "' needs '-p " + std::string(spelling) + "'");
    }
    const auto oneOf = [&](std::initializer_list<uint8_t> ps) {
        return proto && std::find(ps.begin(), ps.end(), *proto) != ps.end();
    };
    const Target& t = rule.target;
    const auto* nat = std::get_if<Nat>(&t);
    const auto* masq = std::get_if<Masquerade>(&t);
    const auto* redir = std::get_if<Redirect>(&t);
    const auto* reject = std::get_if<Reject>(&t);
    std::string need;
    if (((nat && nat->ports) || (masq && masq->ports) || (redir && redir->ports)) &&
        !oneOf({6, 17, 33, 132}))
        need = "ports need '-p tcp', 'udp', 'sctp' or 'dccp'";
    if (std::holds_alternative<Tproxy>(t) && !oneOf({6, 17}))
        need = "TPROXY needs '-p tcp' or '-p udp'";
    if (reject && reject->with == "tcp-reset" && !oneOf({6})) need = "tcp-reset needs '-p tcp'";
    if (need.empty()) return true;
    return fail(Code::E106, moduleToken_ ? *moduleToken_ : tokens_.back(), need);
}

/// What iptables keeps of the modules beyond their conditions: a -m tcp/udp policyc would not
/// write (see ProtoMatch::portModule), and the comment's place when modules follow it.
void RuleReader::keepModuleShape(Rule& rule) const {
    const bool portModule = protoNeeds_.count("tcp") || protoNeeds_.count("udp");
    if (portModule && (portConditions == 0 || portFullRange)) {
        for (Match& m : rule.matches)
            if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated) p->portModule = true;
    }
    if (!commentModule_ || *commentModule_ == modulesRead_) return;  // the comment is last
    // A protocol that opens a -m tcp/udp of its own stands where that module does.
    std::vector<bool> before(rule.matches.size());
    for (size_t i = 0; i < before.size(); ++i) {
        const auto* p = std::get_if<ProtoMatch>(&rule.matches[i]);
        before[i] = p && p->portModule ? !portModuleAfterComment_ : i < matchesBeforeComment_;
    }
    rule.commentAfter = sortMatchesAroundComment(rule.matches, before, &rule.parts.matches);
}

bool RuleReader::readModule(const Token& name) {
    if (!finishModule()) return false;
    if (!moduleOptions().count(name.text))
        return fail(Code::E202, name, "match '-m " + name.text + "' is not supported by policyc");
    if (name.text != "comment") {
        ++modulesRead_;
    } else if (!commentModule_) {
        commentModule_ = modulesRead_;
        matchesBeforeComment_ = rule_->matches.size();
    }
    if (commentModule_ && (name.text == "tcp" || name.text == "udp"))
        portModuleAfterComment_ = true;
    if (name.text == "socket") add(SocketMatch{});
    if (name.text == "icmp") evidence(Family::V4, name);
    if (name.text == "icmp6") evidence(Family::V6, name);
    if (name.text == "tcp" || name.text == "udp" || name.text == "icmp" || name.text == "icmp6")
        protoNeeds_.emplace(name.text, name);
    module_ = name.text;
    moduleToken_ = name;
    optionsSeen_.clear();
    return true;
}

bool RuleReader::readTarget(const Token& name, bool isGoto) {
    if (!finishModule()) return false;
    hasTarget_ = true;
    targetStart_ = optionStart_;
    // A goto names a chain, never an extension: its options are not a target's.
    module_ = (isGoto ? "-g " : "-j ") + name.text;
    moduleToken_ = name;
    optionsSeen_.clear();
    if (isGoto) {
        rule_->target = Goto{name.text};
        jump_ = name;
        return true;
    }
    auto it = targetKinds().find(name.text);
    if (it != targetKinds().end()) {
        rule_->target = it->second.initial;
        return true;
    }
    // Not an extension: a user chain, checked once the table's chains are all known.
    rule_->target = Jump{name.text};
    jump_ = name;
    return true;
}

// ---------------------------------------------------------------------------------------------
// The file

class SaveReader {
  public:
    SaveReader(uint32_t file, const SourceManager& sources, Diagnostics& diags)
        : file_(file), sources_(sources), diags_(diags) {}

    std::optional<Host> read(std::string_view hostName);

  private:
    /// false: the line is not iptables-save text at all, and reading stops there.
    bool line(uint32_t n, std::string_view text);
    void tableLine(uint32_t n, const Token& t);
    void chainLine(uint32_t n, const std::vector<Token>& tokens);
    void ruleLine(uint32_t n, std::vector<Token> tokens, size_t start);
    void commit(uint32_t n, const Token& t);
    void checkJumps(size_t table);
    SourceSpan span(uint32_t line, const Token& t) const {
        return {file_, line, t.column, line, t.column + std::max<uint32_t>(t.length, 1) - 1};
    }
    SourceSpan lineSpan(uint32_t line, std::string_view text) const {
        return {file_, line, 1, line, static_cast<uint32_t>(std::max<size_t>(text.size(), 1))};
    }
    Chain* findChain(std::string_view name) {
        for (auto& c : host_.tables[*current_].chains)
            if (c.name == name) return &c;
        return nullptr;
    }

    uint32_t file_;
    const SourceManager& sources_;
    Diagnostics& diags_;
    Host host_;
    std::optional<size_t> current_;  // the table being read, between *name and COMMIT
    std::vector<PendingJump> jumps_;
    std::optional<SourceSpan> v4_, v6_;
};

std::optional<Host> SaveReader::read(std::string_view hostName) {
    host_.name = std::string(hostName);
    host_.rulesOnly = true;  // a dump has no links, routing or sysctls
    const std::string& text = sources_.file(file_).text;
    const size_t errorsBefore = diags_.count(Severity::Error);
    uint32_t n = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string_view l(text.data() + start, end - start);
        if (l.ends_with('\r')) l.remove_suffix(1);
        if (!line(++n, l)) break;
        start = end + 1;
    }
    if (current_ && diags_.count(Severity::Error) == errorsBefore) {
        diags_.report(Code::E001, host_.tables[*current_].span,
                      "table '" + host_.tables[*current_].name + "' has no COMMIT");
    }
    if (v4_ && v6_) {
        diags_
            .report(Code::E104, *v6_,
                    "IPv6 in a file that also has IPv4 (here below); "
                    "import the iptables and ip6tables dumps separately")
            .notes.push_back({*v4_, "IPv4 here"});
    }
    if (host_.tables.empty() && diags_.count(Severity::Error) == errorsBefore)
        diags_.report(Code::E001, SourceSpan{file_, 1, 1, 1, 1}, "no '*table' in the input");
    if (diags_.count(Severity::Error) > errorsBefore) return std::nullopt;
    const Family f = v6_ ? Family::V6 : Family::V4;
    for (auto& t : host_.tables) {
        t.family = f == Family::V6 ? TableFamily::Ip6 : TableFamily::Ip;
        for (auto& c : t.chains) {
            for (auto& r : c.rules) {
                if (auto* tp = std::get_if<Tproxy>(&r.target)) tp->family = f;
                sortMatches(r.matches, &r.parts.matches);
            }
        }
    }
    return host_;
}

bool SaveReader::line(uint32_t n, std::string_view text) {
    auto tokens = tokenize(text);
    if (!tokens) {
        diags_.report(Code::E001, lineSpan(n, text), "unterminated double quote");
        return true;
    }
    if (tokens->empty() || tokens->front().text.starts_with('#')) return true;
    const Token& first = tokens->front();
    if (first.text.starts_with('*')) return tableLine(n, first), true;
    if (first.text == "COMMIT") return commit(n, first), true;
    if (!current_) {
        diags_.report(Code::E001, span(n, first),
                      "'" + first.text +
                          "' outside a table "
                          "(expected '*filter', '*nat' ...)");
        return false;
    }
    if (first.text.starts_with(':')) return chainLine(n, *tokens), true;
    size_t at = 0;
    // `iptables-save -c` puts the rule's counters first: `[packets:bytes] -A ...`.
    if (first.text.starts_with('[') && first.text.ends_with(']')) at = 1;
    if (at < tokens->size() && ((*tokens)[at].text == "-A" || (*tokens)[at].text == "--append"))
        return ruleLine(n, std::move(*tokens), at), true;
    const Token& bad = at < tokens->size() ? (*tokens)[at] : first;
    diags_.report(Code::E001, span(n, bad),
                  "'" + bad.text +
                      "' is not iptables-save output (expected ':CHAIN', '-A' or "
                      "'COMMIT')");
    return false;
}

void SaveReader::tableLine(uint32_t n, const Token& t) {
    const std::string name = t.text.substr(1);
    if (current_) {
        diags_.report(
            Code::E001, span(n, t),
            "'" + t.text + "' before the COMMIT of table '" + host_.tables[*current_].name + "'");
        return;
    }
    if (!isKnownTable(name)) {
        diags_.report(Code::E202, span(n, t),
                      "table '" + name +
                          "' is not supported by policyc "
                          "(filter, nat, mangle, raw)");
        return;
    }
    for (const auto& existing : host_.tables) {
        if (existing.name == name) {
            diags_.report(Code::E102, span(n, t), "table '" + name + "' appears twice");
            return;
        }
    }
    Table table;
    table.name = name;
    table.span = span(n, t);
    host_.tables.push_back(std::move(table));
    current_ = host_.tables.size() - 1;
}

void SaveReader::chainLine(uint32_t n, const std::vector<Token>& tokens) {
    const Token& t = tokens[0];
    const std::string name = t.text.substr(1);
    const Table& table = host_.tables[*current_];
    if (name.empty() || tokens.size() < 2) {
        diags_.report(Code::E001, span(n, t), "expected ':CHAIN POLICY [packets:bytes]'");
        return;
    }
    if (name.size() > 28 && !isBuiltinChain(table.name, name)) {
        diags_.report(Code::E205, span(n, t),
                      "chain name '" + name + "' is longer than 28 bytes (iptables' limit)");
    }
    if (findChain(name)) {
        diags_.report(Code::E102, span(n, t), "chain '" + name + "' is declared twice");
        return;
    }
    Chain chain;
    chain.name = name;
    chain.span = lineSpan(n, sources_.lineText(file_, n));
    const std::string& policy = tokens[1].text;
    const bool builtin = isBuiltinChain(table.name, name);
    if (builtin && policy == "ACCEPT") {
        chain.policy = ChainPolicy::Accept;
    } else if (builtin && policy == "DROP") {
        chain.policy = ChainPolicy::Drop;
    } else if (builtin || policy != "-") {
        diags_.report(Code::E001, span(n, tokens[1]),
                      "policy '" + policy + "' for chain '" + name + "' (built-in chains of '" +
                          table.name + "' take ACCEPT or DROP, user chains '-')");
        return;
    }
    host_.tables[*current_].chains.push_back(std::move(chain));
}

void SaveReader::ruleLine(uint32_t n, std::vector<Token> tokens, size_t start) {
    if (start + 1 >= tokens.size()) {
        diags_.report(Code::E001, span(n, tokens[start]), "'-A' needs a chain name");
        return;
    }
    const Token chainToken = tokens[start + 1];
    Chain* chain = findChain(chainToken.text);
    if (!chain) {
        diags_.report(Code::E204, span(n, chainToken),
                      "chain '" + chainToken.text + "' is not declared in table '" +
                          host_.tables[*current_].name + "'");
        return;
    }
    Rule rule;
    rule.span = lineSpan(n, sources_.lineText(file_, n));
    RuleReader reader(std::move(tokens), start + 2, file_, n, diags_);
    if (!reader.read(rule)) return;
    if (reader.sawV4() && !v4_) v4_ = reader.v4Span();
    if (reader.sawV6() && !v6_) v6_ = reader.v6Span();
    if (reader.jumpToken()) {
        const size_t chainIndex =
            static_cast<size_t>(chain - host_.tables[*current_].chains.data());
        jumps_.push_back({*current_, chainIndex, chain->rules.size(), n, *reader.jumpToken()});
    }
    chain->rules.push_back(std::move(rule));
}

void SaveReader::commit(uint32_t n, const Token& t) {
    if (!current_) {
        diags_.report(Code::E001, span(n, t), "COMMIT without a '*table' line");
        return;
    }
    checkJumps(*current_);
    current_.reset();
}

void SaveReader::checkJumps(size_t table) {
    const Table& t = host_.tables[table];
    for (const PendingJump& j : jumps_) {
        if (j.table != table) continue;
        const bool declared = std::any_of(t.chains.begin(), t.chains.end(), [&](const Chain& c) {
            return c.name == j.token.text && !isBuiltinChain(t.name, c.name);
        });
        if (declared) continue;
        const bool isGoto = std::holds_alternative<Goto>(t.chains[j.chain].rules[j.rule].target);
        diags_.report(
            Code::E202, span(j.line, j.token),
            isGoto ? "goto '" + j.token.text + "': no such user chain in table '" + t.name + "'"
                   : "target '" + j.token.text +
                         "' is not supported by policyc (and no user chain of '" + t.name +
                         "' has that name)");
    }
}

}  // namespace

std::optional<Host> importIptablesSave(uint32_t file, std::string_view hostName,
                                       const SourceManager& sources, Diagnostics& diags) {
    SaveReader reader(file, sources, diags);
    return reader.read(hostName);
}

std::optional<Host> importIptablesSaveFile(std::string_view path, SourceManager& sources,
                                           Diagnostics& diags) {
    auto file = loadSource(path, sources, diags);
    if (!file) return std::nullopt;
    return importIptablesSave(*file, importedHostName(path), sources, diags);
}

}  // namespace policyc
