// SPDX-License-Identifier: GPL-2.0-or-later
// The IR: plain value types for what policyc puts into a kernel. Everything after `lower` reads
// it; nothing mutates it. Spans compare equal always, so `==` means "the kernel sees the same".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "compiler/source.h"

namespace policyc::ir {

// ---------------------------------------------------------------------------------------------
// Addresses and small value types

enum class Family : uint8_t { V4, V6 };

struct IpAddr {
    Family family = Family::V4;
    std::array<uint8_t, 16> bytes{};  // network order; V4 uses the first 4 bytes

    bool operator==(const IpAddr&) const = default;
    auto operator<=>(const IpAddr&) const = default;
    static std::optional<IpAddr> parse(std::string_view text);
    std::string str() const;
    bool isUnspecified() const;
};

/// An address with a prefix length; host addresses have the full length (32 or 128).
struct AddrRange;

struct Prefix {
    IpAddr addr;
    uint8_t length = 0;

    bool operator==(const Prefix&) const = default;
    /// "a.b.c.d/len"; `parse` accepts a bare address as a host prefix.
    static std::optional<Prefix> parse(std::string_view text);
    std::string str() const;
    /// The address with host bits cleared.
    Prefix network() const;
    /// The addresses it covers, first to last.
    AddrRange range() const;
    bool isHost() const { return length == (addr.family == Family::V4 ? 32 : 128); }
    bool contains(const IpAddr& a) const;
};

/// An inclusive address range (iprange / nft `a-b`).
struct AddrRange {
    IpAddr first;
    IpAddr last;
    bool operator==(const AddrRange&) const = default;
};

using AddrItem = std::variant<Prefix, AddrRange>;
Family familyOf(const AddrItem& item);

/// An inclusive range of 16- or 32-bit numbers (ports, uids, gids).
struct NumRange {
    uint32_t first = 0;
    uint32_t last = 0;
    bool operator==(const NumRange&) const = default;
    bool single() const { return first == last; }
};

/// value/mask pair as used for fwmark and ct mark. A plain mark has mask 0xffffffff.
struct MarkMask {
    uint32_t value = 0;
    uint32_t mask = 0xffffffff;
    bool operator==(const MarkMask&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Matches: each says "this packet property is (not) in this set". A rule matches when all do.

enum class Direction : uint8_t { Source, Destination };
enum class IfaceDirection : uint8_t { In, Out };

struct ProtoMatch {
    uint8_t proto = 0;  // IPPROTO_* number; tcp 6, udp 17, icmp 1, icmpv6 58
    bool negated = false;
    /// iptables only (the nft backend and the analyzer ignore it): the rule loads the
    /// protocol's port module (`-m tcp`, `-m udp`) where policyc would not, i.e. without a port
    /// condition (`-p tcp -m tcp`, `--sport :`), and takes a negated full port range there
    /// rather than in multiport. Set only where it changes the entry, so equal entries stay
    /// equal rules.
    bool portModule = false;
    bool operator==(const ProtoMatch&) const = default;
};

struct AddrMatch {
    Direction dir = Direction::Source;
    bool negated = false;
    std::vector<AddrItem> items;  // one family; non-empty; negated: none of them
    bool operator==(const AddrMatch&) const = default;
};

/// Needs a ProtoMatch on tcp, udp or sctp in the same rule.
struct PortMatch {
    Direction dir = Direction::Destination;
    bool negated = false;
    std::vector<NumRange> ports;  // non-empty, each within 0..65535
    /// iptables only (nft and the analyzer ignore it): one range kept in `-m multiport` rather
    /// than the protocol's module, as read from a live table or a save file, or written as a
    /// set of one (`tcp dport { 22 }`). Set only for one range, so equal entries stay equal.
    bool multiport = false;
    bool operator==(const PortMatch&) const = default;
};

/// (tcp flags & mask) == comp, or != when negated; comp lies within mask. Bits as in the tcp
/// header: fin 0x01, syn 0x02, rst 0x04, psh 0x08, ack 0x10, urg 0x20, ecn 0x40, cwr 0x80.
/// Needs a ProtoMatch on tcp in the same rule.
struct TcpFlagsMatch {
    bool negated = false;
    uint8_t mask = 0;
    uint8_t comp = 0;
    bool operator==(const TcpFlagsMatch&) const = default;
};

struct IfaceMatch {
    IfaceDirection dir = IfaceDirection::In;
    bool negated = false;
    std::string name;  // a trailing '+' matches every name with that prefix (iptables spelling)
    bool operator==(const IfaceMatch&) const = default;
};

enum CtState : uint8_t {
    kCtInvalid = 1,
    kCtNew = 2,
    kCtEstablished = 4,
    kCtRelated = 8,
    kCtUntracked = 16,
};

struct CtStateMatch {
    bool negated = false;
    uint8_t states = 0;  // CtState bits
    /// iptables only: written `-m state --state` (loaded as conntrack with its state-alias flag
    /// and listed back so) rather than `-m conntrack --ctstate`; the same packets either way.
    bool stateModule = false;
    bool operator==(const CtStateMatch&) const = default;
};

struct MarkMatch {
    bool negated = false;
    MarkMask mark;
    bool operator==(const MarkMatch&) const = default;
};

struct ConnmarkMatch {
    bool negated = false;
    MarkMask mark;
    bool operator==(const ConnmarkMatch&) const = default;
};

/// The sending socket's owner (OUTPUT and POSTROUTING only).
struct OwnerMatch {
    enum class Kind : uint8_t { Uid, Gid } kind = Kind::Uid;
    bool negated = false;
    NumRange ids;
    bool operator==(const OwnerMatch&) const = default;
};

/// The sending socket's cgroup v2 path, relative to the cgroup2 mount ("/app" or "app/x").
struct CgroupMatch {
    bool negated = false;
    std::string path;
    bool operator==(const CgroupMatch&) const = default;
};

/// An existing local socket for the packet; `transparent` requires IP_TRANSPARENT on it.
struct SocketMatch {
    bool transparent = false;
    bool operator==(const SocketMatch&) const = default;
};

struct IcmpMatch {
    Family family = Family::V4;  // V4: icmp, V6: icmpv6
    bool negated = false;
    uint8_t type = 0;
    std::optional<uint8_t> code;
    bool operator==(const IcmpMatch&) const = default;
};

/// Routing type of an address (local, unicast, broadcast ...): iptables `addrtype`, nft `fib`.
struct AddrTypeMatch {
    Direction dir = Direction::Destination;
    bool negated = false;
    std::string type;  // lower case kernel route type name: "local", "unicast", "broadcast" ...
    bool operator==(const AddrTypeMatch&) const = default;
};

struct LimitMatch {
    uint32_t rate = 0;
    std::string unit;  // "second", "minute", "hour", "day"
    uint32_t burst = 5;
    bool operator==(const LimitMatch&) const = default;
};

struct MacMatch {
    bool negated = false;
    std::array<uint8_t, 6> mac{};
    bool operator==(const MacMatch&) const = default;
};

/// An xtables match or target policyc has no model for (or a revision or option it cannot
/// read), found in a live legacy table: kept byte for byte as the kernel listed it, so that an
/// apply keeping the rule re-loads exactly what was there. Nothing is known of what it does.
struct OpaqueExtension {
    /// The xtables extension's name; kNftVerbatim for an nftables rule policyc cannot read, whose
    /// `data` is then libnftnl's text of its expressions (counters zeroed), shown verbatim.
    std::string name;
    uint8_t revision = 0;
    std::vector<uint8_t> data;  // the payload after the 32-byte xt header, XT_ALIGNed
    bool operator==(const OpaqueExtension&) const = default;
};

inline constexpr std::string_view kNftVerbatim = "nft";

struct OpaqueMatch {
    OpaqueExtension ext;
    /// Its place among the entry's match records, which the kernel evaluates in order: a
    /// match with side effects (recent --set, hashlimit) sees only packets earlier ones let by.
    uint32_t position = 0;
    /// Not a match record but the entry's ip part (struct ipt_ip / ip6t_ip6) whole, kept when
    /// it holds a condition policyc does not model (-f, a mask that is no prefix, ip6's tos
    /// flag ...): `ext.data` are its bytes, `ext.name` is empty. The conditions policyc reads
    /// there (protocol, interfaces, prefixes) are matches beside it as usual.
    bool header = false;
    bool operator==(const OpaqueMatch&) const = default;
};

using Match =
    std::variant<ProtoMatch, AddrMatch, PortMatch, TcpFlagsMatch, IfaceMatch, CtStateMatch,
                 MarkMatch, ConnmarkMatch, OwnerMatch, CgroupMatch, SocketMatch, IcmpMatch,
                 AddrTypeMatch, LimitMatch, MacMatch, OpaqueMatch>;

/// The tcp flag names in bit order (fin first), as nft spells them; iptables names the first
/// six in upper case.
const std::array<std::string_view, 8>& tcpFlagNames();

// ---------------------------------------------------------------------------------------------
// Targets: what a rule does once every match holds. Exactly one per rule, as in an ipt_entry.

/// No verdict or action: the packet goes on to the next rule. iptables counts every rule; in
/// nftables only a `counter` statement counts, so a rule may hold none at all (.pol: matches
/// closed by `;`), which `counts` tells apart from `counter`.
struct NoTarget {
    bool counts = true;
    bool operator==(const NoTarget&) const = default;
};
struct Accept {
    bool operator==(const Accept&) const = default;
};
struct Drop {
    bool operator==(const Drop&) const = default;
};
struct Return {
    bool operator==(const Return&) const = default;
};
struct Jump {
    std::string chain;
    bool operator==(const Jump&) const = default;
};
struct Goto {
    std::string chain;
    bool operator==(const Goto&) const = default;
};
struct Reject {
    std::string with;  // iptables --reject-with name; empty = the default for the family
    bool operator==(const Reject&) const = default;
};
struct Log {
    std::string prefix;
    std::optional<uint8_t> level;  // syslog level 0..7; default 4 (warning)
    bool operator==(const Log&) const = default;
};
/// mark = (mark & ~mask) ^ value, as MARK --set-xmark; `--set-mark v` is value v, mask all ones.
struct SetMark {
    MarkMask mark;
    bool operator==(const SetMark&) const = default;
};
struct Connmark {
    enum class Op : uint8_t { Set, Save, Restore } op = Op::Set;
    MarkMask mark;  // Set: value/mask; Save/Restore: mask only (value unused, 0)
    bool operator==(const Connmark&) const = default;
};
/// SNAT/DNAT to an address range and optional port range.
struct Nat {
    enum class Kind : uint8_t { Snat, Dnat } kind = Kind::Snat;
    std::optional<IpAddr> first;
    std::optional<IpAddr> last;  // set only for a range
    std::optional<NumRange> ports;
    bool operator==(const Nat&) const = default;
};
struct Masquerade {
    std::optional<NumRange> ports;
    bool operator==(const Masquerade&) const = default;
};
struct Redirect {
    std::optional<NumRange> ports;
    bool operator==(const Redirect&) const = default;
};
/// Hands the packet to a local socket on `port` (and address, if given) and sets the mark.
struct Tproxy {
    Family family = Family::V4;
    std::optional<IpAddr> addr;
    uint16_t port = 0;
    MarkMask mark{0, 0};
    bool operator==(const Tproxy&) const = default;
};
struct Notrack {
    bool operator==(const Notrack&) const = default;
};
/// Rewrites the MSS option of TCP SYN packets, as TCPMSS (iptables) and `tcp option maxseg size
/// set` (nft); the packet goes on to the next rule. nullopt: clamp to the route's path MTU.
struct TcpMss {
    std::optional<uint16_t> mss;
    bool operator==(const TcpMss&) const = default;
};

/// See OpaqueExtension: it may accept, drop, change the packet or go on to the next rule.
struct OpaqueTarget {
    OpaqueExtension ext;
    bool operator==(const OpaqueTarget&) const = default;
};

using Target =
    std::variant<NoTarget, Accept, Drop, Return, Jump, Goto, Reject, Log, SetMark, Connmark, Nat,
                 Masquerade, Redirect, Tproxy, Notrack, TcpMss, OpaqueTarget>;

// ---------------------------------------------------------------------------------------------
// Tables, chains, rules

/// nftables-style families: `inet` tables hold rules for both IPv4 and IPv6. A rule in an inet
/// table that names addresses of one family applies to that family only.
enum class TableFamily : uint8_t { Inet, Ip, Ip6 };

/// `@allow(code, "reason")` written on a rule: findings of that code on the rule are silenced.
struct Suppression {
    std::string code;  // the stable kebab-case name
    std::string reason;
    SourceSpan span;
};

/// Lint metadata, like spans: the kernel never sees it, so it never takes part in equality.
struct Suppressions {
    std::vector<Suppression> items;
    bool operator==(const Suppressions&) const { return true; }
};

/// Where a rule's matches (aligned with Rule::matches, when the lowering knows them) and its
/// target were written, so that a kernel refusal of one expression points inside the rule.
/// Metadata like spans: never part of equality; empty (or shorter) means "the rule's span".
struct RuleParts {
    std::vector<SourceSpan> matches;
    SourceSpan target;
    bool operator==(const RuleParts&) const { return true; }
};

struct Rule {
    /// Kept in canonical order (see sortMatches) so that equal rules compare equal however
    /// their source spelled them; renderers choose their own output order.
    std::vector<Match> matches;
    Target target = NoTarget{};
    std::string comment;
    /// iptables only, where `-m comment` stands among the entry's modules (iptables keeps it
    /// where the rule gave it): bit i set when matches[i] was given before the comment. The
    /// comment goes before the first module that holds a match without its bit; nullopt: after
    /// every module (policyc's own place). In .pol, the matches written before `comment`.
    std::optional<uint64_t> commentAfter;
    Suppressions allow;
    SourceSpan span;
    RuleParts parts;
    bool operator==(const Rule&) const = default;

    /// Where match `i` (or, for nullopt, the target) was written; the rule's span if unknown.
    SourceSpan partSpan(std::optional<size_t> match) const;
};

enum class ChainPolicy : uint8_t { None, Accept, Drop };

/// What a legacy apply replaces of a live chain the host has.
enum class ChainOwnership : uint8_t {
    Whole,  // the chain is spelled out (or is policyc's own): its rules and policy are the host's
    Jumps,  // a built-in chain only reaching policyc's chains: the host owns those jumps, and the
            // kernel's other rules in it and its policy stay as they are
};

/// The prefix of the user chains that hold what intents (app, tproxy, masquerade ...) generate
/// at a hook, e.g. POLICYC-OUTPUT; a legacy apply owns every live chain so named.
inline constexpr std::string_view kGeneratedChainPrefix = "POLICYC-";

struct Chain {
    std::string name;  // built-in chains use the iptables name: INPUT, OUTPUT, PREROUTING ...
    ChainPolicy policy =
        ChainPolicy::None;  // only built-in chains have one (None = default ACCEPT)
    std::vector<Rule> rules;
    SourceSpan span;
    ChainOwnership ownership = ChainOwnership::Whole;
    bool operator==(const Chain&) const = default;
};

struct Table {
    TableFamily family = TableFamily::Inet;
    std::string name;  // filter, nat, mangle, raw
    std::vector<Chain> chains;
    SourceSpan span;
    bool operator==(const Table&) const = default;

    const Chain* findChain(std::string_view n) const;
    Chain* findChain(std::string_view n);
};

// ---------------------------------------------------------------------------------------------
// Policy routing and sysctls

constexpr uint32_t kTableMain = 254;
constexpr uint32_t kTableLocal = 255;
constexpr uint32_t kTableDefault = 253;

struct RoutingRule {
    Family family = Family::V4;
    uint32_t priority = 0;
    bool invert = false;  // `not`: the selector must not match
    std::optional<MarkMask> fwmark;
    std::optional<std::string> iif;
    std::optional<std::string> oif;
    std::optional<NumRange> uidrange;
    std::optional<Prefix> from;
    std::optional<Prefix> to;
    enum class Action : uint8_t {
        Lookup,
        Blackhole,
        Unreachable,
        Prohibit
    } action = Action::Lookup;
    uint32_t table = kTableMain;
    SourceSpan span;
    bool operator==(const RoutingRule&) const = default;
};

struct Route {
    enum class Type : uint8_t {
        Unicast,
        Local,
        Blackhole,
        Unreachable,
        Prohibit
    } type = Type::Unicast;
    uint32_t table = kTableMain;
    Prefix dst;  // 0.0.0.0/0 or ::/0 for "default"
    std::optional<IpAddr> via;
    std::optional<std::string> dev;
    std::optional<IpAddr> src;
    std::optional<uint32_t> metric;
    SourceSpan span;
    bool operator==(const Route&) const = default;
    Family family() const { return dst.addr.family; }
};

struct Sysctl {
    std::string key;  // dotted, e.g. net.ipv4.conf.all.forwarding
    std::string value;
    SourceSpan span;
    bool operator==(const Sysctl&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Hosts

enum class LinkKind : uint8_t { Ethernet, Loopback, Veth, Vxlan, WireGuard, Tunnel };
/// Tunnels encapsulate: their outer packets are sent by the kernel on the sender's behalf.
constexpr bool isTunnelKind(LinkKind k) {
    return k == LinkKind::Vxlan || k == LinkKind::WireGuard || k == LinkKind::Tunnel;
}

/// An interface the policy refers to. Tunnels carry what the analyzer needs to know about their
/// encapsulated packets (scenario S4): the underlay endpoints, the port and the tunnel's own mark.
struct Interface {
    std::string name;
    LinkKind kind = LinkKind::Ethernet;
    std::vector<Prefix> addresses;
    std::optional<IpAddr> peer;            // the other end's inner address
    std::optional<IpAddr> underlayLocal;   // outer source address
    std::optional<IpAddr> underlayRemote;  // outer destination address
    std::optional<uint16_t> underlayPort;  // outer UDP port (vxlan 4789, wireguard listen port)
    std::optional<uint32_t> fwmark;        // mark the tunnel puts on its own outer packets
    SourceSpan span;
    bool operator==(const Interface&) const = default;
    bool isTunnel() const { return isTunnelKind(kind); }
};

struct Host {
    std::string name;
    std::vector<Interface> interfaces;
    std::vector<Table> tables;
    std::vector<RoutingRule> routingRules;  // ordered by priority
    std::vector<Route> routes;
    std::vector<Sysctl> sysctls;
    SourceSpan span;
    /// Only the rules are known: an iptables-save or nft -j dump carries no links, ip rules,
    /// routes or sysctls, so checks must not take their absence for a fact (forwarding off,
    /// no local route). A policy or a live namespace describes the whole host.
    bool rulesOnly = false;
    bool operator==(const Host&) const = default;

    const Interface* findInterface(std::string_view n) const;
    const Table* findTable(TableFamily f, std::string_view n) const;
};

struct Policy {
    std::vector<Host> hosts;
    bool operator==(const Policy&) const = default;
    const Host* findHost(std::string_view n) const;
};

// ---------------------------------------------------------------------------------------------
// Kernel vocabulary shared by the frontend, analyzer and backends

/// The built-in chains of each iptables table, in hook order.
const std::vector<std::string_view>& builtinChains(std::string_view table);
bool isBuiltinChain(std::string_view table, std::string_view chain);

/// The legacy table and built-in chain an nftables base chain stands for, by its type
/// ("filter", "nat", "route"), hook (as the built-in chain: "INPUT" ...) and priority, the way
/// iptables-nft places its chains; nullopt when none does. Used by both nft read-backs.
std::optional<std::pair<std::string, std::string>> legacyChainOf(std::string_view type,
                                                                 std::string_view hook,
                                                                 int64_t prio);
bool isKnownTable(std::string_view table);

/// Protocol names as iptables-save and nft print them ("tcp", "udp", "icmp", "ipv6-icmp" ...).
std::optional<uint8_t> protoByName(std::string_view name);
std::string protoName(uint8_t proto);

/// Puts matches in canonical order: by kind (variant index), then direction or owner kind,
/// keeping the relative order of otherwise equal keys. `spans`, when given with one per match
/// (RuleParts::matches), stays aligned with them.
void sortMatches(std::vector<Match>& matches, std::vector<SourceSpan>* spans = nullptr);

/// sortMatches, for a rule whose comment stands among its matches: `beforeComment[i]` says
/// whether matches[i] was given before it. Returns Rule::commentAfter for the sorted matches;
/// nullopt when nothing follows the comment, or past 64 matches (then the comment goes last).
/// `spans`, when given with one per match (RuleParts::matches), stays aligned with them.
std::optional<uint64_t> sortMatchesAroundComment(std::vector<Match>& matches,
                                                 const std::vector<bool>& beforeComment,
                                                 std::vector<SourceSpan>* spans = nullptr);

/// Whether matches[i] of a rule with this Rule::commentAfter comes before its comment.
inline bool precedesComment(const std::optional<uint64_t>& commentAfter, size_t i) {
    return !commentAfter || (i < 64 && ((*commentAfter >> i) & 1u));
}

/// The words the .pol language (and the JSON rendering) use for these enums.
std::string_view tableFamilyName(TableFamily f);
std::string_view linkKindName(LinkKind k);
std::optional<LinkKind> linkKindByName(std::string_view name);

/// Whether a rule's addresses restrict it to one family (an inet rule without addresses: none).
std::optional<Family> ruleFamily(const Rule& rule);

}  // namespace policyc::ir
