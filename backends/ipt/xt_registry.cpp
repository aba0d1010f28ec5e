// SPDX-License-Identifier: GPL-2.0-or-later
// xtables payloads as iptables 1.8.9 fills them (checked byte for byte against blobs that
// iptables-legacy-restore loaded), from the kernel's uapi structs.
#include "backends/ipt/xt_registry.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CONNMARK.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/xt_LOG.h>
#include <linux/netfilter/xt_MARK.h>
#include <linux/netfilter/xt_TCPMSS.h>
#include <linux/netfilter/xt_TPROXY.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_cgroup.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_connmark.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter/xt_limit.h>
#include <linux/netfilter/xt_mac.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_owner.h>
// xt_sctp.h's inline helpers are C (_Bool); C++ spells it bool.
#define _Bool bool
#include <linux/netfilter/xt_sctp.h>
#undef _Bool
#include <linux/netfilter/xt_socket.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

namespace policyc::backends::ipt {
namespace {

using namespace policyc::ir;

// ---------------------------------------------------------------------------------------------
// Plumbing

/// For payload structs without padding; the others are built in place (zeroedIn).
template <class T>
Bytes bytesOf(const T& info) {
    Bytes b(XT_ALIGN(sizeof(T)), 0);
    std::memcpy(b.data(), &info, sizeof(T));
    return b;
}

template <class T>
T load(const uint8_t* data) {
    T info;
    std::memcpy(&info, data, sizeof(T));
    return info;
}

/// `out` becomes T's zeroed payload, and the T in it is returned to be filled in place. Its
/// padding then stays zero, as in iptables' calloc'd payloads; a T filled on the stack and
/// copied out may carry stack bytes in its padding (seen in xt_udp and xt_mark_mtinfo1).
template <class T>
T& zeroedIn(Bytes& out) {
    out.assign(XT_ALIGN(sizeof(T)), 0);
    return *new (out.data()) T();
}

Bytes fail(XtContext& ctx, std::string why) {
    ctx.error = std::move(why);
    return {};
}

Bytes failLimit(XtContext& ctx, std::string why) {
    ctx.overLimit = true;
    return fail(ctx, std::move(why));
}

void putAddr(nf_inet_addr& out, const IpAddr& a) {
    std::memcpy(&out, a.bytes.data(), a.family == Family::V4 ? 4 : 16);
}

IpAddr getAddr(const nf_inet_addr& in, Family f) {
    IpAddr a;
    a.family = f;
    std::memcpy(a.bytes.data(), &in, f == Family::V4 ? 4 : 16);
    return a;
}

template <class M>
const M* first(const std::vector<Match>& ms) {
    for (const Match& m : ms)
        if (const auto* p = std::get_if<M>(&m)) return p;
    return nullptr;
}

template <class M>
std::vector<const M*> all(const std::vector<Match>& ms) {
    std::vector<const M*> out;
    for (const Match& m : ms)
        if (const auto* p = std::get_if<M>(&m)) out.push_back(p);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Matches

/// The tcp/udp/sctp port pair of one module: unset directions keep the full range.
struct PortPair {
    std::array<uint16_t, 2> spts{0, 0xffff}, dpts{0, 0xffff};
    uint8_t inv = 0;  // bit 0 source, bit 1 destination (XT_TCP_INV_* == XT_UDP_INV_*)
    uint8_t set = 0;
};

PortPair portPair(const std::vector<Match>& ms) {
    PortPair p;
    for (const PortMatch* m : all<PortMatch>(ms)) {
        const bool src = m->dir == Direction::Source;
        auto& r = src ? p.spts : p.dpts;
        r = {static_cast<uint16_t>(m->ports[0].first), static_cast<uint16_t>(m->ports[0].last)};
        const uint8_t bit = src ? 1 : 2;
        p.set |= bit;
        if (m->negated) p.inv |= bit;
    }
    return p;
}

void decodePorts(const uint16_t* spts, const uint16_t* dpts, uint8_t inv, uint8_t present,
                 std::vector<Match>& out) {
    auto add = [&](Direction d, const uint16_t* r, uint8_t bit) {
        if (!(present & bit)) return;
        out.push_back(PortMatch{d, (inv & bit) != 0, {{r[0], r[1]}}});
    };
    add(Direction::Source, spts, 1);
    add(Direction::Destination, dpts, 2);
}

uint8_t presentPorts(const uint16_t* spts, const uint16_t* dpts, uint8_t inv) {
    auto full = [](const uint16_t* r) { return r[0] == 0 && r[1] == 0xffff; };
    return static_cast<uint8_t>((!full(spts) || (inv & 1) ? 1 : 0) |
                                (!full(dpts) || (inv & 2) ? 2 : 0));
}

/// The flags libxt_tcp names (FIN..URG); ecn and cwr have no iptables spelling.
constexpr uint8_t kIptTcpFlags = 0x3f;

Bytes encTcp(XtContext& ctx, const std::vector<Match>& ms) {
    const PortPair p = portPair(ms);
    Bytes out;
    auto& info = zeroedIn<xt_tcp>(out);
    std::copy(p.spts.begin(), p.spts.end(), info.spts);
    std::copy(p.dpts.begin(), p.dpts.end(), info.dpts);
    info.invflags = p.inv;
    if (const TcpFlagsMatch* f = first<TcpFlagsMatch>(ms)) {
        if ((f->mask | f->comp) & ~kIptTcpFlags)
            return fail(ctx,
                        "tcp flags ecn and cwr have no iptables spelling (iptables-save "
                        "names FIN, SYN, RST, PSH, ACK and URG only)");
        info.flg_mask = f->mask;
        info.flg_cmp = f->comp;
        if (f->negated) info.invflags |= XT_TCP_INV_FLAGS;
    }
    return out;
}
bool decTcp(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_tcp>(d);
    // Flags policyc's IR holds: a mask iptables can name, the compared flags within it.
    const bool flags = info.flg_mask != 0 || (info.invflags & XT_TCP_INV_FLAGS);
    if (info.option || (info.invflags & ~XT_TCP_INV_MASK) || (info.invflags & XT_TCP_INV_OPTION) ||
        (flags && (info.flg_mask == 0 || (info.flg_mask & ~kIptTcpFlags) ||
                   (info.flg_cmp & ~info.flg_mask))) ||
        (!flags && info.flg_cmp != 0)) {
        ctx.error = "tcp options or flags policyc cannot spell";
        return false;
    }
    decodePorts(info.spts, info.dpts, info.invflags,
                presentPorts(info.spts, info.dpts, info.invflags), out);
    if (flags)
        out.push_back(
            TcpFlagsMatch{(info.invflags & XT_TCP_INV_FLAGS) != 0, info.flg_mask, info.flg_cmp});
    return true;
}

Bytes encUdp(XtContext&, const std::vector<Match>& ms) {
    const PortPair p = portPair(ms);
    Bytes out;
    auto& info = zeroedIn<xt_udp>(out);
    std::copy(p.spts.begin(), p.spts.end(), info.spts);
    std::copy(p.dpts.begin(), p.dpts.end(), info.dpts);
    info.invflags = p.inv;
    return out;
}
bool decUdp(XtContext&, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_udp>(d);
    decodePorts(info.spts, info.dpts, info.invflags,
                presentPorts(info.spts, info.dpts, info.invflags), out);
    return true;
}

/// libxt_sctp leaves unset port ranges at 0 and marks every flag_info chunk type as unused.
Bytes encSctp(XtContext&, const std::vector<Match>& ms) {
    const PortPair p = portPair(ms);
    Bytes out;
    auto& info = zeroedIn<xt_sctp_info>(out);
    for (auto& f : info.flag_info) f.chunktype = 0xff;
    if (p.set & 1) std::copy(p.spts.begin(), p.spts.end(), info.spts);
    if (p.set & 2) std::copy(p.dpts.begin(), p.dpts.end(), info.dpts);
    info.flags = (p.set & 1 ? XT_SCTP_SRC_PORTS : 0) | (p.set & 2 ? XT_SCTP_DEST_PORTS : 0);
    info.invflags = (p.inv & 1 ? XT_SCTP_SRC_PORTS : 0) | (p.inv & 2 ? XT_SCTP_DEST_PORTS : 0);
    return out;
}
bool decSctp(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_sctp_info>(d);
    if (info.flags & ~(XT_SCTP_SRC_PORTS | XT_SCTP_DEST_PORTS)) {
        ctx.error = "sctp chunk types or flags (not in policyc's IR)";
        return false;
    }
    const uint8_t present =
        (info.flags & XT_SCTP_SRC_PORTS ? 1 : 0) | (info.flags & XT_SCTP_DEST_PORTS ? 2 : 0);
    const uint8_t inv =
        (info.invflags & XT_SCTP_SRC_PORTS ? 1 : 0) | (info.invflags & XT_SCTP_DEST_PORTS ? 2 : 0);
    decodePorts(info.spts, info.dpts, inv, present, out);
    return true;
}

/// ipt_icmp and ip6t_icmp share one layout: type, code range, invert flag.
struct IcmpInfo {
    uint8_t type;
    uint8_t code[2];
    uint8_t invflags;
};
static_assert(sizeof(IcmpInfo) == sizeof(ipt_icmp) && sizeof(IcmpInfo) == sizeof(ip6t_icmp));

Bytes encIcmp(XtContext&, const std::vector<Match>& ms) {
    const IcmpMatch& m = *first<IcmpMatch>(ms);
    IcmpInfo info{m.type, {0, 0xff}, static_cast<uint8_t>(m.negated ? 1 : 0)};
    // v4 type 255 is iptables' "any", whose code the kernel ignores; iptables still stores the
    // code given (`--icmp-type 255/255`), listing it as "any" all the same.
    if (m.code) info.code[0] = info.code[1] = *m.code;
    return bytesOf(info);
}
bool decIcmpFamily(XtContext& ctx, const uint8_t* d, std::vector<Match>& out, Family f) {
    const auto info = load<IcmpInfo>(d);
    IcmpMatch m{f, (info.invflags & 1) != 0, info.type, {}};
    const bool any = info.code[0] == 0 && info.code[1] == 0xff;
    if (!any && info.code[0] != info.code[1]) {
        ctx.error = "an icmp code range";
        return false;
    }
    if (!any) m.code = info.code[0];
    out.push_back(m);
    return true;
}
bool decIcmp(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    return decIcmpFamily(ctx, d, out, Family::V4);
}
bool decIcmp6(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    return decIcmpFamily(ctx, d, out, Family::V6);
}

Bytes encMultiport(XtContext& ctx, const std::vector<Match>& ms) {
    const PortMatch& m = *first<PortMatch>(ms);
    Bytes out;
    auto& info = zeroedIn<xt_multiport_v1>(out);
    info.flags = m.dir == Direction::Source ? XT_MULTIPORT_SOURCE : XT_MULTIPORT_DESTINATION;
    info.invert = m.negated ? 1 : 0;
    unsigned n = 0;
    for (const NumRange& r : m.ports) {
        if (n + (r.single() ? 1 : 2) > XT_MULTI_PORTS) return fail(ctx, "more than 15 ports");
        info.ports[n] = static_cast<uint16_t>(r.first);
        if (!r.single()) {
            info.pflags[n++] = 1;
            info.ports[n] = static_cast<uint16_t>(r.last);
        }
        ++n;
    }
    info.count = static_cast<uint8_t>(n);
    return out;
}
bool decMultiport(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_multiport_v1>(d);
    if (info.flags == XT_MULTIPORT_EITHER || info.count > XT_MULTI_PORTS) {
        ctx.error = "multiport --ports (either direction)";
        return false;
    }
    PortMatch m{info.flags == XT_MULTIPORT_SOURCE ? Direction::Source : Direction::Destination,
                info.invert != 0,
                {}};
    for (unsigned i = 0; i < info.count; ++i) {
        if (info.pflags[i] && i + 1 < info.count) {
            m.ports.push_back({info.ports[i], info.ports[i + 1]});
            ++i;
        } else {
            m.ports.push_back({info.ports[i], info.ports[i]});
        }
    }
    m.multiport = m.ports.size() == 1;
    out.push_back(m);
    return true;
}

Bytes encIprange(XtContext&, const std::vector<Match>& ms) {
    Bytes out;
    auto& info = zeroedIn<xt_iprange_mtinfo>(out);
    for (const AddrMatch* m : all<AddrMatch>(ms)) {
        const auto& r = std::get<AddrRange>(m->items[0]);
        const bool src = m->dir == Direction::Source;
        putAddr(src ? info.src_min : info.dst_min, r.first);
        putAddr(src ? info.src_max : info.dst_max, r.last);
        info.flags |= src ? IPRANGE_SRC : IPRANGE_DST;
        if (m->negated) info.flags |= src ? IPRANGE_SRC_INV : IPRANGE_DST_INV;
    }
    return out;
}
bool decIprange(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_iprange_mtinfo>(d);
    auto add = [&](Direction dir, const nf_inet_addr& lo, const nf_inet_addr& hi, uint8_t bit,
                   uint8_t inv) {
        if (!(info.flags & bit)) return;
        out.push_back(AddrMatch{dir,
                                (info.flags & inv) != 0,
                                {AddrRange{getAddr(lo, ctx.family), getAddr(hi, ctx.family)}}});
    };
    add(Direction::Source, info.src_min, info.src_max, IPRANGE_SRC, IPRANGE_SRC_INV);
    add(Direction::Destination, info.dst_min, info.dst_max, IPRANGE_DST, IPRANGE_DST_INV);
    return true;
}

/// IR CtState bits against xt_conntrack's state bits.
const std::array<std::pair<uint8_t, uint16_t>, 5>& ctStateBits() {
    static const std::array<std::pair<uint8_t, uint16_t>, 5> kBits = {{
        {kCtInvalid, XT_CONNTRACK_STATE_INVALID},
        {kCtNew, XT_CONNTRACK_STATE_BIT(IP_CT_NEW)},
        {kCtEstablished, XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)},
        {kCtRelated, XT_CONNTRACK_STATE_BIT(IP_CT_RELATED)},
        {kCtUntracked, XT_CONNTRACK_STATE_UNTRACKED},
    }};
    return kBits;
}

/// iptables 1.8 loads `-m state` as this revision too, flagged as the alias it lists back.
Bytes encConntrack(XtContext&, const std::vector<Match>& ms) {
    const CtStateMatch& m = *first<CtStateMatch>(ms);
    Bytes out;
    auto& info = zeroedIn<xt_conntrack_mtinfo3>(out);
    info.match_flags = XT_CONNTRACK_STATE;
    if (m.stateModule) info.match_flags |= XT_CONNTRACK_STATE_ALIAS;
    if (m.negated) info.invert_flags = XT_CONNTRACK_STATE;
    for (const auto& [ir, xt] : ctStateBits())
        if (m.states & ir) info.state_mask |= xt;
    return out;
}
bool decConntrack(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_conntrack_mtinfo3>(d);
    if ((info.match_flags & ~XT_CONNTRACK_STATE_ALIAS) != XT_CONNTRACK_STATE) {
        ctx.error = "conntrack conditions other than --ctstate";
        return false;
    }
    CtStateMatch m{(info.invert_flags & XT_CONNTRACK_STATE) != 0, 0,
                   (info.match_flags & XT_CONNTRACK_STATE_ALIAS) != 0};
    uint16_t left = info.state_mask;
    for (const auto& [ir, xt] : ctStateBits()) {
        if (!(left & xt)) continue;
        m.states |= ir;
        left &= static_cast<uint16_t>(~xt);
    }
    if (left) {
        ctx.error = "conntrack SNAT/DNAT states";
        return false;
    }
    out.push_back(m);
    return true;
}

template <class M, class Info>
Bytes encMarkLike(XtContext&, const std::vector<Match>& ms) {
    const M& m = *first<M>(ms);
    Bytes out;
    auto& info = zeroedIn<Info>(out);
    info.mark = m.mark.value;
    info.mask = m.mark.mask;
    info.invert = m.negated ? 1 : 0;
    return out;
}
template <class M, class Info>
bool decMarkLike(XtContext&, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<Info>(d);
    out.push_back(M{info.invert != 0, {info.mark, info.mask}});
    return true;
}

Bytes encOwner(XtContext&, const std::vector<Match>& ms) {
    Bytes out;
    auto& info = zeroedIn<xt_owner_match_info>(out);
    for (const OwnerMatch* m : all<OwnerMatch>(ms)) {
        const bool uid = m->kind == OwnerMatch::Kind::Uid;
        (uid ? info.uid_min : info.gid_min) = m->ids.first;
        (uid ? info.uid_max : info.gid_max) = m->ids.last;
        const uint8_t bit = uid ? XT_OWNER_UID : XT_OWNER_GID;
        info.match |= bit;
        if (m->negated) info.invert |= bit;
    }
    return out;
}
bool decOwner(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_owner_match_info>(d);
    if (info.match & ~(XT_OWNER_UID | XT_OWNER_GID)) {
        ctx.error = "owner --socket-exists or --suppl-groups";
        return false;
    }
    if (info.match & XT_OWNER_UID)
        out.push_back(OwnerMatch{OwnerMatch::Kind::Uid,
                                 (info.invert & XT_OWNER_UID) != 0,
                                 {info.uid_min, info.uid_max}});
    if (info.match & XT_OWNER_GID)
        out.push_back(OwnerMatch{OwnerMatch::Kind::Gid,
                                 (info.invert & XT_OWNER_GID) != 0,
                                 {info.gid_min, info.gid_max}});
    return true;
}

Bytes encCgroup(XtContext& ctx, const std::vector<Match>& ms) {
    const CgroupMatch& m = *first<CgroupMatch>(ms);
    Bytes out;
    auto& info = zeroedIn<xt_cgroup_info_v2>(out);
    if (m.path.size() >= sizeof(info.path))
        return failLimit(ctx, "cgroup path longer than 511 bytes");
    info.has_path = 1;
    info.invert_path = m.negated ? 1 : 0;
    std::memcpy(info.path, m.path.data(), m.path.size());
    return out;
}
bool decCgroup(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_cgroup_info_v2>(d);
    if (!info.has_path || info.has_classid) {
        ctx.error = "cgroup --cgroup (classid)";
        return false;
    }
    out.push_back(CgroupMatch{info.invert_path != 0,
                              std::string(info.path, strnlen(info.path, sizeof(info.path)))});
    return true;
}

Bytes encSocket(XtContext&, const std::vector<Match>& ms) {
    Bytes out;
    auto& info = zeroedIn<xt_socket_mtinfo3>(out);
    if (first<SocketMatch>(ms)->transparent) info.flags = XT_SOCKET_TRANSPARENT;
    return out;
}
bool decSocket(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_socket_mtinfo3>(d);
    if (info.flags & ~XT_SOCKET_TRANSPARENT) {
        ctx.error = "socket --nowildcard or --restore-skmark";
        return false;
    }
    out.push_back(SocketMatch{(info.flags & XT_SOCKET_TRANSPARENT) != 0});
    return true;
}

/// Route type names in the bit order of enum xt_addrtype_t.
constexpr std::array<std::string_view, 12> kAddrTypes = {
    "unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
    "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};

Bytes encAddrtype(XtContext& ctx, const std::vector<Match>& ms) {
    Bytes out;
    auto& info = zeroedIn<xt_addrtype_info_v1>(out);
    for (const AddrTypeMatch* m : all<AddrTypeMatch>(ms)) {
        auto it = std::find(kAddrTypes.begin(), kAddrTypes.end(), m->type);
        if (it == kAddrTypes.end()) return fail(ctx, "unknown address type '" + m->type + "'");
        const auto bit = static_cast<uint16_t>(1u << (it - kAddrTypes.begin()));
        const bool src = m->dir == Direction::Source;
        (src ? info.source : info.dest) = bit;
        if (m->negated) info.flags |= src ? XT_ADDRTYPE_INVERT_SOURCE : XT_ADDRTYPE_INVERT_DEST;
    }
    return out;
}
bool decAddrtype(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_addrtype_info_v1>(d);
    if (info.flags & (XT_ADDRTYPE_LIMIT_IFACE_IN | XT_ADDRTYPE_LIMIT_IFACE_OUT)) {
        ctx.error = "addrtype --limit-iface-in/out";
        return false;
    }
    auto add = [&](Direction dir, uint16_t types, uint32_t inv) -> bool {
        if (!types) return true;
        if (types & (types - 1)) {
            ctx.error = "addrtype with several types in one option";
            return false;
        }
        size_t i = 0;
        while (!(types & (1u << i))) ++i;
        if (i >= kAddrTypes.size()) {
            ctx.error = "an unknown addrtype bit";
            return false;
        }
        out.push_back(AddrTypeMatch{dir, (info.flags & inv) != 0, std::string(kAddrTypes[i])});
        return true;
    };
    return add(Direction::Source, info.source, XT_ADDRTYPE_INVERT_SOURCE) &&
           add(Direction::Destination, info.dest, XT_ADDRTYPE_INVERT_DEST);
}

/// libxt_limit's units, largest first, in 1/XT_LIMIT_SCALE seconds.
struct LimitUnit {
    std::string_view irName;
    uint32_t mult;
};
constexpr std::array<LimitUnit, 4> kLimitUnits = {{
    {"day", XT_LIMIT_SCALE * 24 * 60 * 60},
    {"hour", XT_LIMIT_SCALE * 60 * 60},
    {"minute", XT_LIMIT_SCALE * 60},
    {"second", XT_LIMIT_SCALE},
}};

Bytes encLimit(XtContext& ctx, const std::vector<Match>& ms) {
    const LimitMatch& m = *first<LimitMatch>(ms);
    auto it = std::find_if(kLimitUnits.begin(), kLimitUnits.end(),
                           [&](const LimitUnit& u) { return u.irName == m.unit; });
    if (it == kLimitUnits.end()) return fail(ctx, "unknown limit unit '" + m.unit + "'");
    if (m.rate == 0 || it->mult / m.rate == 0) return fail(ctx, "limit rate too fast");
    Bytes out;
    auto& info = zeroedIn<xt_rateinfo>(out);
    info.avg = it->mult / m.rate;
    info.burst = m.burst;
    return out;
}
/// The unit libxt_limit's print_rate() lists the period in: the largest that loses nothing.
bool decLimit(XtContext& ctx, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_rateinfo>(d);
    if (info.avg == 0) {
        ctx.error = "a limit of period 0";
        return false;
    }
    size_t i = 1;
    for (; i < kLimitUnits.size(); ++i) {
        const uint32_t m = kLimitUnits[i].mult;
        if (info.avg > m || m / info.avg < m % info.avg) break;
    }
    const LimitUnit& u = kLimitUnits[i - 1];
    out.push_back(LimitMatch{u.mult / info.avg, std::string(u.irName), info.burst});
    return true;
}

Bytes encMac(XtContext&, const std::vector<Match>& ms) {
    const MacMatch& m = *first<MacMatch>(ms);
    Bytes out;
    auto& info = zeroedIn<xt_mac_info>(out);
    std::copy(m.mac.begin(), m.mac.end(), info.srcaddr);
    info.invert = m.negated ? 1 : 0;
    return out;
}
bool decMac(XtContext&, const uint8_t* d, std::vector<Match>& out) {
    const auto info = load<xt_mac_info>(d);
    MacMatch m{info.invert != 0, {}};
    std::copy(std::begin(info.srcaddr), std::end(info.srcaddr), m.mac.begin());
    out.push_back(m);
    return true;
}

/// Comments are not IR matches; the blob layer handles them through encodeComment.
Bytes encNone(XtContext& ctx, const std::vector<Match>&) {
    return fail(ctx, "comment is not a match");
}
bool decNone(XtContext&, const uint8_t*, std::vector<Match>&) { return true; }

const std::vector<MatchRow>& matchRows() {
    static const std::vector<MatchRow> kRows = {
        {"tcp", 0, XT_ALIGN(sizeof(xt_tcp)), encTcp, decTcp},
        {"udp", 0, XT_ALIGN(sizeof(xt_udp)), encUdp, decUdp},
        {"sctp", 0, XT_ALIGN(sizeof(xt_sctp_info)), encSctp, decSctp},
        {"icmp", 0, XT_ALIGN(sizeof(ipt_icmp)), encIcmp, decIcmp},
        {"icmp6", 0, XT_ALIGN(sizeof(ip6t_icmp)), encIcmp, decIcmp6},
        {"multiport", 1, XT_ALIGN(sizeof(xt_multiport_v1)), encMultiport, decMultiport},
        {"iprange", 1, XT_ALIGN(sizeof(xt_iprange_mtinfo)), encIprange, decIprange},
        {"conntrack", 3, XT_ALIGN(sizeof(xt_conntrack_mtinfo3)), encConntrack, decConntrack},
        {"mark", 1, XT_ALIGN(sizeof(xt_mark_mtinfo1)), encMarkLike<MarkMatch, xt_mark_mtinfo1>,
         decMarkLike<MarkMatch, xt_mark_mtinfo1>},
        {"connmark", 1, XT_ALIGN(sizeof(xt_connmark_mtinfo1)),
         encMarkLike<ConnmarkMatch, xt_connmark_mtinfo1>,
         decMarkLike<ConnmarkMatch, xt_connmark_mtinfo1>},
        {"owner", 1, XT_ALIGN(sizeof(xt_owner_match_info)), encOwner, decOwner},
        {"cgroup", 2, XT_ALIGN(sizeof(xt_cgroup_info_v2)), encCgroup, decCgroup},
        {"socket", 3, XT_ALIGN(sizeof(xt_socket_mtinfo3)), encSocket, decSocket},
        {"addrtype", 1, XT_ALIGN(sizeof(xt_addrtype_info_v1)), encAddrtype, decAddrtype},
        {"limit", 0, XT_ALIGN(sizeof(xt_rateinfo)), encLimit, decLimit},
        {"mac", 0, XT_ALIGN(sizeof(xt_mac_info)), encMac, decMac},
        {"comment", 0, XT_ALIGN(sizeof(xt_comment_info)), encNone, decNone},
    };
    return kRows;
}

// ---------------------------------------------------------------------------------------------
// Targets

template <class T>
const T& as(const Target& t) {
    return std::get<T>(t);
}

const std::vector<std::string_view>& rejectNames(Family f) {
    // indexed by enum ipt_reject_with / ip6t_reject_with
    static const std::vector<std::string_view> kV4 = {
        "icmp-net-unreachable",   "icmp-host-unreachable",
        "icmp-proto-unreachable", "icmp-port-unreachable",
        "icmp-echo-reply",        "icmp-net-prohibited",
        "icmp-host-prohibited",   "tcp-reset",
        "icmp-admin-prohibited"};
    static const std::vector<std::string_view> kV6 = {"icmp6-no-route",
                                                      "icmp6-adm-prohibited",
                                                      "icmp6-not-neighbour",
                                                      "icmp6-addr-unreachable",
                                                      "icmp6-port-unreachable",
                                                      "icmp6-echo-reply",
                                                      "tcp-reset",
                                                      "icmp6-policy-fail",
                                                      "icmp6-reject-route"};
    return f == Family::V4 ? kV4 : kV6;
}

Bytes encReject(XtContext& ctx, const Target& t) {
    const bool v4 = ctx.family == Family::V4;
    std::string with = as<Reject>(t).with;
    if (with.empty()) with = v4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
    const auto& names = rejectNames(ctx.family);
    auto it = std::find(names.begin(), names.end(), with);
    if (it == names.end())
        return fail(ctx, "reject type '" + with + "' is not one for this family");
    const auto code = static_cast<uint32_t>(it - names.begin());
    if (v4) {
        ipt_reject_info info{};
        info.with = static_cast<ipt_reject_with>(code);
        return bytesOf(info);
    }
    ip6t_reject_info info{};
    info.with = code;
    return bytesOf(info);
}
std::optional<Target> decReject(XtContext& ctx, const uint8_t* d) {
    const auto with = load<uint32_t>(d);  // first field of both reject infos
    const auto& names = rejectNames(ctx.family);
    if (with >= names.size()) {
        ctx.error = "REJECT with unknown code " + std::to_string(with);
        return std::nullopt;
    }
    const std::string_view def =
        ctx.family == Family::V4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
    return Reject{names[with] == def ? "" : std::string(names[with])};
}

Bytes encLog(XtContext& ctx, const Target& t) {
    const Log& l = as<Log>(t);
    Bytes out;
    auto& info = zeroedIn<xt_log_info>(out);
    if (l.prefix.size() >= sizeof(info.prefix))
        return failLimit(ctx, "log prefix longer than 29 bytes");
    info.level = l.level.value_or(4);
    std::memcpy(info.prefix, l.prefix.data(), l.prefix.size());
    return out;
}
std::optional<Target> decLog(XtContext& ctx, const uint8_t* d) {
    const auto info = load<xt_log_info>(d);
    if (info.logflags) {
        ctx.error = "LOG --log-tcp-sequence/options/uid flags";
        return std::nullopt;
    }
    Log l{std::string(info.prefix, strnlen(info.prefix, sizeof(info.prefix))), {}};
    if (info.level != 4) l.level = info.level;
    return l;
}

Bytes encMark(XtContext&, const Target& t) {
    const SetMark& m = as<SetMark>(t);
    xt_mark_tginfo2 info{m.mark.value, m.mark.mask};
    return bytesOf(info);
}
std::optional<Target> decMark(XtContext&, const uint8_t* d) {
    const auto info = load<xt_mark_tginfo2>(d);
    return SetMark{{info.mark, info.mask}};
}

/// libxt_CONNMARK rev 2: --set-xmark keeps nfmask all ones; save/restore use one mask twice.
Bytes encConnmark(XtContext&, const Target& t) {
    const Connmark& c = as<Connmark>(t);
    Bytes out;
    auto& info = zeroedIn<xt_connmark_tginfo2>(out);
    switch (c.op) {
        case Connmark::Op::Set:
            info.mode = XT_CONNMARK_SET;
            info.ctmark = c.mark.value;
            info.ctmask = c.mark.mask;
            info.nfmask = 0xffffffff;
            break;
        case Connmark::Op::Save:
        case Connmark::Op::Restore:
            info.mode = c.op == Connmark::Op::Save ? XT_CONNMARK_SAVE : XT_CONNMARK_RESTORE;
            info.ctmask = info.nfmask = c.mark.mask;
            break;
    }
    return out;
}
std::optional<Target> decConnmark(XtContext& ctx, const uint8_t* d) {
    const auto info = load<xt_connmark_tginfo2>(d);
    if (info.shift_bits) {
        ctx.error = "CONNMARK with a shift";
        return std::nullopt;
    }
    if (info.mode == XT_CONNMARK_SET && info.nfmask == 0xffffffff)
        return Connmark{Connmark::Op::Set, {info.ctmark, info.ctmask}};
    if ((info.mode == XT_CONNMARK_SAVE || info.mode == XT_CONNMARK_RESTORE) && !info.ctmark &&
        info.ctmask == info.nfmask) {
        const auto op = info.mode == XT_CONNMARK_SAVE ? Connmark::Op::Save : Connmark::Op::Restore;
        return Connmark{op, {0, info.ctmask}};
    }
    ctx.error = "CONNMARK with separate nfmask and ctmask";
    return std::nullopt;
}

/// What SNAT/DNAT/MASQUERADE/REDIRECT carry, family-neutral.
struct NatRange {
    uint32_t flags = 0;
    std::optional<IpAddr> first, last;
    std::optional<NumRange> ports;
};

NatRange natRangeOf(const Target& t) {
    NatRange r;
    if (const auto* n = std::get_if<Nat>(&t)) {
        r.first = n->first;
        r.last = n->last ? n->last : n->first;
        r.ports = n->ports;
    } else if (const auto* m = std::get_if<Masquerade>(&t)) {
        r.ports = m->ports;
    } else if (const auto* d = std::get_if<Redirect>(&t)) {
        r.ports = d->ports;
    }
    if (r.first) r.flags |= NF_NAT_RANGE_MAP_IPS;
    if (r.ports) r.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    return r;
}

/// v4 SNAT, MASQUERADE and REDIRECT: the one-range compat layout.
Bytes encNatCompat(XtContext&, const Target& t) {
    const NatRange r = natRangeOf(t);
    Bytes out;
    auto& info = zeroedIn<nf_nat_ipv4_multi_range_compat>(out);
    info.rangesize = 1;
    auto& range = info.range[0];
    range.flags = r.flags;
    if (r.first) std::memcpy(&range.min_ip, r.first->bytes.data(), 4);
    if (r.last) std::memcpy(&range.max_ip, r.last->bytes.data(), 4);
    if (r.ports) {
        range.min.all = htons(static_cast<uint16_t>(r.ports->first));
        range.max.all = htons(static_cast<uint16_t>(r.ports->last));
    }
    return out;
}

template <class Range>
Bytes natRangeInfo(const NatRange& r) {
    Bytes out;
    auto& info = zeroedIn<Range>(out);
    info.flags = r.flags;
    if (r.first) putAddr(info.min_addr, *r.first);
    if (r.last) putAddr(info.max_addr, *r.last);
    if (r.ports) {
        info.min_proto.all = htons(static_cast<uint16_t>(r.ports->first));
        info.max_proto.all = htons(static_cast<uint16_t>(r.ports->last));
    }
    return out;
}
Bytes encNatRange(XtContext&, const Target& t) { return natRangeInfo<nf_nat_range>(natRangeOf(t)); }
Bytes encNatRange2(XtContext&, const Target& t) {
    return natRangeInfo<nf_nat_range2>(natRangeOf(t));
}

std::optional<NatRange> natRangeFrom(XtContext& ctx, uint32_t flags, std::optional<IpAddr> lo,
                                     std::optional<IpAddr> hi, uint16_t pmin, uint16_t pmax) {
    if (flags & ~(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)) {
        ctx.error = "NAT --random/--persistent or offset flags";
        return std::nullopt;
    }
    NatRange r;
    r.flags = flags;
    if (flags & NF_NAT_RANGE_MAP_IPS) {
        r.first = lo;
        if (hi != lo) r.last = hi;
    }
    if (flags & NF_NAT_RANGE_PROTO_SPECIFIED) r.ports = NumRange{ntohs(pmin), ntohs(pmax)};
    return r;
}

std::optional<NatRange> decodeNatCompat(XtContext& ctx, const uint8_t* d) {
    const auto info = load<nf_nat_ipv4_multi_range_compat>(d);
    if (info.rangesize != 1) {
        ctx.error = "a NAT target with several ranges";
        return std::nullopt;
    }
    const auto& r = info.range[0];
    IpAddr lo, hi;
    std::memcpy(lo.bytes.data(), &r.min_ip, 4);
    std::memcpy(hi.bytes.data(), &r.max_ip, 4);
    return natRangeFrom(ctx, r.flags, lo, hi, r.min.all, r.max.all);
}
template <class Range>
std::optional<NatRange> decodeNatRange(XtContext& ctx, const uint8_t* d) {
    const auto info = load<Range>(d);
    return natRangeFrom(ctx, info.flags, getAddr(info.min_addr, ctx.family),
                        getAddr(info.max_addr, ctx.family), info.min_proto.all, info.max_proto.all);
}

template <Nat::Kind K, auto Decode>
std::optional<Target> decNat(XtContext& ctx, const uint8_t* d) {
    auto r = Decode(ctx, d);
    if (!r) return std::nullopt;
    return Nat{K, r->first, r->last, r->ports};
}
template <class T, auto Decode>
std::optional<Target> decPortsOnly(XtContext& ctx, const uint8_t* d) {
    auto r = Decode(ctx, d);
    if (!r) return std::nullopt;
    if (r->first) {
        ctx.error = "MASQUERADE/REDIRECT with addresses";
        return std::nullopt;
    }
    return T{r->ports};
}

Bytes encTproxy(XtContext&, const Target& t) {
    const Tproxy& p = as<Tproxy>(t);
    Bytes out;
    auto& info = zeroedIn<xt_tproxy_target_info_v1>(out);
    info.mark_mask = p.mark.mask;
    info.mark_value = p.mark.value;
    if (p.addr) putAddr(info.laddr, *p.addr);
    info.lport = htons(p.port);
    return out;
}
std::optional<Target> decTproxy(XtContext& ctx, const uint8_t* d) {
    const auto info = load<xt_tproxy_target_info_v1>(d);
    Tproxy p{ctx.family, {}, ntohs(info.lport), {info.mark_value, info.mark_mask}};
    const IpAddr a = getAddr(info.laddr, ctx.family);
    if (!a.isUnspecified()) p.addr = a;
    return p;
}

Bytes encCt(XtContext&, const Target&) {
    Bytes out;
    auto& info = zeroedIn<xt_ct_target_info_v1>(out);
    info.flags = XT_CT_NOTRACK;
    return out;
}
std::optional<Target> decCt(XtContext& ctx, const uint8_t* d) {
    const auto info = load<xt_ct_target_info_v1>(d);
    if (!(info.flags & XT_CT_NOTRACK)) {
        ctx.error = "CT other than --notrack";
        return std::nullopt;
    }
    return Notrack{};
}

Bytes encTcpMss(XtContext&, const Target& t) {
    xt_tcpmss_info info{as<TcpMss>(t).mss.value_or(XT_TCPMSS_CLAMP_PMTU)};
    return bytesOf(info);
}
std::optional<Target> decTcpMss(XtContext&, const uint8_t* d) {
    const auto info = load<xt_tcpmss_info>(d);
    if (info.mss == XT_TCPMSS_CLAMP_PMTU) return TcpMss{};
    return TcpMss{info.mss};
}

constexpr auto V4 = Family::V4;
constexpr auto V6 = Family::V6;

const std::vector<TargetRow>& targetRows() {
    static const std::vector<TargetRow> kRows = {
        {"REJECT", 0, V4, XT_ALIGN(sizeof(ipt_reject_info)), encReject, decReject},
        {"REJECT", 0, V6, XT_ALIGN(sizeof(ip6t_reject_info)), encReject, decReject},
        {"LOG", 0, {}, XT_ALIGN(sizeof(xt_log_info)), encLog, decLog},
        {"MARK", 2, {}, XT_ALIGN(sizeof(xt_mark_tginfo2)), encMark, decMark},
        {"CONNMARK", 2, {}, XT_ALIGN(sizeof(xt_connmark_tginfo2)), encConnmark, decConnmark},
        {"SNAT", 0, V4, XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat)), encNatCompat,
         decNat<Nat::Kind::Snat, decodeNatCompat>},
        {"SNAT", 1, V6, XT_ALIGN(sizeof(nf_nat_range)), encNatRange,
         decNat<Nat::Kind::Snat, decodeNatRange<nf_nat_range>>},
        {"DNAT",
         2,
         {},
         XT_ALIGN(sizeof(nf_nat_range2)),
         encNatRange2,
         decNat<Nat::Kind::Dnat, decodeNatRange<nf_nat_range2>>},
        {"MASQUERADE", 0, V4, XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat)), encNatCompat,
         decPortsOnly<Masquerade, decodeNatCompat>},
        {"MASQUERADE", 0, V6, XT_ALIGN(sizeof(nf_nat_range)), encNatRange,
         decPortsOnly<Masquerade, decodeNatRange<nf_nat_range>>},
        {"REDIRECT", 0, V4, XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat)), encNatCompat,
         decPortsOnly<Redirect, decodeNatCompat>},
        {"REDIRECT", 0, V6, XT_ALIGN(sizeof(nf_nat_range)), encNatRange,
         decPortsOnly<Redirect, decodeNatRange<nf_nat_range>>},
        {"TPROXY", 1, {}, XT_ALIGN(sizeof(xt_tproxy_target_info_v1)), encTproxy, decTproxy},
        {"CT", 2, {}, XT_ALIGN(sizeof(xt_ct_target_info_v1)), encCt, decCt},
        {"TCPMSS", 0, {}, XT_ALIGN(sizeof(xt_tcpmss_info)), encTcpMss, decTcpMss},
    };
    return kRows;
}

struct TargetNamer {
    std::string_view operator()(const Reject&) const { return "REJECT"; }
    std::string_view operator()(const Log&) const { return "LOG"; }
    std::string_view operator()(const SetMark&) const { return "MARK"; }
    std::string_view operator()(const Connmark&) const { return "CONNMARK"; }
    std::string_view operator()(const Nat& n) const {
        return n.kind == Nat::Kind::Snat ? "SNAT" : "DNAT";
    }
    std::string_view operator()(const Masquerade&) const { return "MASQUERADE"; }
    std::string_view operator()(const Redirect&) const { return "REDIRECT"; }
    std::string_view operator()(const Tproxy&) const { return "TPROXY"; }
    std::string_view operator()(const Notrack&) const { return "CT"; }
    std::string_view operator()(const TcpMss&) const { return "TCPMSS"; }
    template <class T>
    std::string_view operator()(const T&) const {
        return "";
    }
};

}  // namespace

const MatchRow* findMatchRow(std::string_view name, std::optional<uint8_t> revision) {
    for (const MatchRow& r : matchRows())
        if (r.name == name && (!revision || *revision == r.revision)) return &r;
    return nullptr;
}

const TargetRow* findTargetRow(std::string_view name, Family family,
                               std::optional<uint8_t> revision) {
    for (const TargetRow& r : targetRows()) {
        if (r.name != name || (r.family && *r.family != family)) continue;
        if (!revision || *revision == r.revision) return &r;
    }
    return nullptr;
}

std::string_view targetName(const Target& target) { return std::visit(TargetNamer{}, target); }

Bytes encodeComment(XtContext& ctx, const std::string& comment) {
    Bytes out;
    auto& info = zeroedIn<xt_comment_info>(out);
    if (comment.size() >= sizeof(info.comment))
        return failLimit(ctx, "comment longer than 255 bytes");
    std::memcpy(info.comment, comment.data(), comment.size());
    return out;
}

std::string decodeComment(const uint8_t* data) {
    const auto info = load<xt_comment_info>(data);
    return std::string(info.comment, strnlen(info.comment, sizeof(info.comment)));
}

}  // namespace policyc::backends::ipt
