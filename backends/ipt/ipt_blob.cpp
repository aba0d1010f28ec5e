// SPDX-License-Identifier: GPL-2.0-or-later
// ipt_replace entry layout (libiptc's iptcc_compile_table) and its decoding. Which modules an
// entry carries, and in which order, mirrors backends/text/iptables_text.cpp's LineBuilder, so
// that iptables-legacy-save lists a loaded blob exactly as renderIptables renders the host.
#include "backends/ipt/ipt_blob.h"

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>

#include "backends/ipt/ipt_shape.h"
#include "backends/ipt/xt_registry.h"

namespace policyc::backends::ipt {
namespace {

using namespace policyc::ir;

constexpr std::array<std::string_view, kNumHooks> kHookChains = {"PREROUTING", "INPUT", "FORWARD",
                                                                 "OUTPUT", "POSTROUTING"};

std::optional<size_t> hookOf(std::string_view chain) {
    auto it = std::find(kHookChains.begin(), kHookChains.end(), chain);
    if (it == kHookChains.end()) return std::nullopt;
    return static_cast<size_t>(it - kHookChains.begin());
}

size_t entryHeaderSize(Family f) {
    return f == Family::V4 ? sizeof(ipt_entry) : sizeof(ip6t_entry);
}

// ---------------------------------------------------------------------------------------------
// The ip header part of an entry, family-neutral

struct IpPart {
    std::optional<Prefix> src, dst;
    bool srcNeg = false, dstNeg = false;
    std::string in, out;
    bool inNeg = false, outNeg = false;
    uint8_t proto = 0;
    bool protoNeg = false;
    bool isGoto = false;
};

void prefixBytes(const Prefix& p, uint8_t* addr, uint8_t* mask, size_t len) {
    const Prefix net = p.network();
    std::memcpy(addr, net.addr.bytes.data(), len);
    for (size_t i = 0; i < len; ++i) {
        const int bits = std::clamp(static_cast<int>(p.length) - static_cast<int>(i * 8), 0, 8);
        mask[i] = static_cast<uint8_t>(0xff00u >> bits);
    }
}

/// xtables_parse_interface: the mask covers the name and its NUL, or only the part before '+'.
void ifaceBytes(const std::string& name, char* via, unsigned char* mask) {
    std::memset(via, 0, IFNAMSIZ);
    std::memset(mask, 0, IFNAMSIZ);
    std::memcpy(via, name.data(), std::min(name.size(), size_t{IFNAMSIZ - 1}));
    if (name.empty()) return;
    const bool wildcard = name.back() == '+';
    std::memset(mask, 0xff, wildcard ? name.size() - 1 : name.size() + 1);
}

template <class Ip, class Addr>
void fillIp(const IpPart& p, Ip& ip, Addr& src, Addr& dst, Addr& smsk, Addr& dmsk, uint8_t invSrc,
            uint8_t invDst, uint8_t invIn, uint8_t invOut, uint8_t invProto) {
    const size_t len = sizeof(Addr);
    if (p.src)
        prefixBytes(*p.src, reinterpret_cast<uint8_t*>(&src), reinterpret_cast<uint8_t*>(&smsk),
                    len);
    if (p.dst)
        prefixBytes(*p.dst, reinterpret_cast<uint8_t*>(&dst), reinterpret_cast<uint8_t*>(&dmsk),
                    len);
    ifaceBytes(p.in, ip.iniface, ip.iniface_mask);
    ifaceBytes(p.out, ip.outiface, ip.outiface_mask);
    ip.proto = p.proto;
    ip.invflags = static_cast<uint8_t>((p.srcNeg ? invSrc : 0) | (p.dstNeg ? invDst : 0) |
                                       (p.inNeg ? invIn : 0) | (p.outNeg ? invOut : 0) |
                                       (p.protoNeg ? invProto : 0));
}

/// An entry's fixed part (ipt_entry/ip6t_entry, entryHeaderSize(f) bytes) into `out`.
void writeEntryHeader(Family f, const IpPart& p, uint16_t targetOffset, uint16_t nextOffset,
                      uint8_t* out) {
    if (f == Family::V4) {
        ipt_entry x;
        std::memset(&x, 0, sizeof x);
        fillIp(p, x.ip, x.ip.src, x.ip.dst, x.ip.smsk, x.ip.dmsk, IPT_INV_SRCIP, IPT_INV_DSTIP,
               IPT_INV_VIA_IN, IPT_INV_VIA_OUT, XT_INV_PROTO);
        x.ip.flags = p.isGoto ? IPT_F_GOTO : 0;
        x.target_offset = targetOffset;
        x.next_offset = nextOffset;
        std::memcpy(out, &x, sizeof x);
    } else {
        ip6t_entry x;
        std::memset(&x, 0, sizeof x);
        fillIp(p, x.ipv6, x.ipv6.src, x.ipv6.dst, x.ipv6.smsk, x.ipv6.dmsk, IP6T_INV_SRCIP,
               IP6T_INV_DSTIP, IP6T_INV_VIA_IN, IP6T_INV_VIA_OUT, XT_INV_PROTO);
        // ip6tables marks every rule with a protocol; the kernel then checks the upper header
        x.ipv6.flags =
            static_cast<uint8_t>((p.isGoto ? IP6T_F_GOTO : 0) | (p.proto ? IP6T_F_PROTO : 0));
        x.target_offset = targetOffset;
        x.next_offset = nextOffset;
        std::memcpy(out, &x, sizeof x);
    }
}

/// An entry: header, matches, target; offsets set as generate_entry() sets them.
Bytes makeEntry(Family f, const IpPart& p, const Bytes& matches, const Bytes& target) {
    const size_t hdr = entryHeaderSize(f);
    Bytes e(hdr + matches.size() + target.size(), 0);
    const auto targetOffset = static_cast<uint16_t>(hdr + matches.size());
    writeEntryHeader(f, p, targetOffset, static_cast<uint16_t>(e.size()), e.data());
    std::copy(matches.begin(), matches.end(), e.begin() + static_cast<long>(hdr));
    std::copy(target.begin(), target.end(), e.begin() + targetOffset);
    return e;
}

/// xt_entry_match and xt_entry_target share this header: size, name, revision.
Bytes xtRecord(std::string_view name, uint8_t revision, const Bytes& payload) {
    xt_entry_target h;
    std::memset(&h, 0, sizeof h);
    h.u.user.target_size = static_cast<uint16_t>(sizeof h + payload.size());
    std::memcpy(h.u.user.name, name.data(), std::min(name.size(), sizeof h.u.user.name - 1));
    h.u.user.revision = revision;
    Bytes b(sizeof h);
    std::memcpy(b.data(), &h, sizeof h);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes verdictTarget(int verdict) {
    Bytes payload(XT_ALIGN(sizeof(int)), 0);
    std::memcpy(payload.data(), &verdict, sizeof verdict);
    return xtRecord(XT_STANDARD_TARGET, 0, payload);
}

/// The longest name an ERROR entry holds: xt_error_target's errorname ends with a NUL.
constexpr size_t kMaxErrorName = XT_FUNCTION_MAXNAMELEN - 1;

/// The caller checks that the name fits (kMaxErrorName).
Bytes errorTarget(std::string_view name) {
    Bytes payload(XT_ALIGN(XT_FUNCTION_MAXNAMELEN), 0);
    std::memcpy(payload.data(), name.data(), std::min(name.size(), kMaxErrorName));
    return xtRecord(XT_ERROR_TARGET, 0, payload);
}

std::optional<std::string> errorTargetName(const uint8_t* data, size_t size) {
    const auto* s = reinterpret_cast<const char*>(data);
    const size_t field = std::min<size_t>(size, XT_FUNCTION_MAXNAMELEN);
    const size_t length = strnlen(s, field);
    if (length == field) return std::nullopt;
    return std::string(s, length);
}

// ---------------------------------------------------------------------------------------------
// Modules of one entry (the text renderer's sections, in the same order)

enum Section : size_t {
    kProtoModule,
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

struct Module {
    std::string_view name;
    unsigned slots = 0;
    std::vector<Match> matches;
    bool afterComment = false;  // holds a match given after the rule's comment
};

/// Collects an entry's header and modules. As in the renderer, an option whose slot is taken
/// in the current module opens another module of the same name (two uid conditions).
class EntryBuilder {
  public:
    EntryBuilder(Family family, PortModule portModule) : family_(family), portModule_(portModule) {}

    IpPart ip;
    const OpaqueMatch* header = nullptr;  // the ip part as read from the kernel, if kept so
    std::string error;
    bool overLimit = false;

    void operator()(const ProtoMatch& m) {
        if (m.proto == 0 && !m.negated) return;
        ip.proto = m.proto;
        ip.protoNeg = m.negated;
        // the module opens here, first of its section; the port conditions join it
        if (m.portModule && !m.negated && !portModule_.name.empty())
            add(kProtoModule, portModule_.name, 2, m);
    }
    void operator()(const AddrMatch& whole) {
        for (const AddrMatch& m : entryParts(whole)) addrPart(m);
    }
    void addrPart(const AddrMatch& m) {
        for (const AddrItem& item : m.items) {
            const bool src = m.dir == Direction::Source;
            if (const auto* p = std::get_if<Prefix>(&item)) {
                if (p->length == 0 && !m.negated) continue;
                auto& slot = src ? ip.src : ip.dst;
                if (slot) error = "two address conditions of one direction in one rule";
                slot = *p;
                (src ? ip.srcNeg : ip.dstNeg) = m.negated;
                continue;
            }
            add(kIprange, "iprange", src ? 0 : 1, AddrMatch{m.dir, m.negated, {item}});
        }
    }
    void operator()(const PortMatch& m) {
        if (inPortModule(m, portModule_)) {
            add(kProtoModule, portModule_.name, m.dir == Direction::Source ? 0 : 1, m);
            return;
        }
        for (auto& chunk : multiportChunks(m.ports))
            add(kMultiport, "multiport", 0, PortMatch{m.dir, m.negated, chunk}, true);
    }
    void operator()(const TcpFlagsMatch& m) {
        // xt_tcp holds the flags beside the ports: the port module, whatever the protocol
        // match says (a rule without `-p tcp` is refused by the kernel, as by iptables)
        add(kProtoModule, "tcp", 3, m);
    }
    void operator()(const IfaceMatch& m) {
        const bool in = m.dir == IfaceDirection::In;
        if (m.name.size() >= IFNAMSIZ) {
            error = "interface name '" + m.name + "' longer than 15 bytes";
            overLimit = true;
        }
        (in ? ip.in : ip.out) = m.name;
        (in ? ip.inNeg : ip.outNeg) = m.negated;
    }
    void operator()(const CtStateMatch& m) { add(kConntrack, "conntrack", 0, m); }
    void operator()(const MarkMatch& m) { add(kMark, "mark", 0, m); }
    void operator()(const ConnmarkMatch& m) { add(kConnmark, "connmark", 0, m); }
    void operator()(const OwnerMatch& m) {
        add(kOwner, "owner", m.kind == OwnerMatch::Kind::Uid ? 0 : 1, m);
    }
    void operator()(const CgroupMatch& m) { add(kCgroup, "cgroup", 0, m); }
    void operator()(const SocketMatch& m) { add(kSocket, "socket", 0, m); }
    void operator()(const IcmpMatch& m) {
        const bool v4 = m.family == Family::V4;
        if (ip.proto == 0 && !ip.protoNeg) ip.proto = v4 ? 1 : 58;
        add(kProtoModule, v4 ? "icmp" : "icmp6", 0, m);
    }
    void operator()(const AddrTypeMatch& m) {
        add(kAddrtype, "addrtype", m.dir == Direction::Source ? 0 : 1, m);
    }
    void operator()(const LimitMatch& m) { add(kLimit, "limit", 0, m); }
    void operator()(const MacMatch& m) { add(kMac, "mac", 0, m); }
    void operator()(const OpaqueMatch& m) {
        if (m.header)
            header = &m;
        else
            opaque_.push_back(&m);
    }

    /// Whether the matches visited next were given after the rule's comment.
    void afterComment(bool after) { afterComment_ = after; }

    /// The match records in entry order, the comment's (if any) before the first module given
    /// after it and kept extensions at their places; empty with `error` set on failure.
    std::optional<Bytes> matchBytes(const std::string& comment) {
        std::vector<Bytes> records;
        XtContext ctx{family_, {}};
        bool commentDone = comment.empty();
        for (const auto& mods : sections_) {
            for (const Module& mod : mods) {
                if (!commentDone && mod.afterComment) {
                    if (!appendComment(ctx, comment, records.emplace_back())) return std::nullopt;
                    commentDone = true;
                }
                const MatchRow* row = findMatchRow(mod.name);
                Bytes payload = row ? row->encode(ctx, mod.matches) : Bytes{};
                if (!row || payload.empty()) {
                    error =
                        row ? ctx.error : "no encoding for match '" + std::string(mod.name) + "'";
                    overLimit = ctx.overLimit;
                    return std::nullopt;
                }
                records.push_back(xtRecord(row->name, row->revision, payload));
            }
        }
        if (!commentDone && !appendComment(ctx, comment, records.emplace_back()))
            return std::nullopt;
        // Kept extensions go back to their place: the kernel evaluates records in order.
        for (const OpaqueMatch* m : opaque_) {
            if (m->ext.name.size() >= XT_EXTENSION_MAXNAMELEN) {
                error = "match name '" + m->ext.name + "' too long";
                return std::nullopt;
            }
            records.insert(records.begin() + std::min<size_t>(m->position, records.size()),
                           xtRecord(m->ext.name, m->ext.revision, m->ext.data));
        }
        Bytes out;
        for (const Bytes& r : records) out.insert(out.end(), r.begin(), r.end());
        return out;
    }

  private:
    bool appendComment(XtContext& ctx, const std::string& comment, Bytes& out) {
        Bytes payload = encodeComment(ctx, comment);
        if (payload.empty()) {
            error = ctx.error;
            overLimit = ctx.overLimit;
            return false;
        }
        const Bytes rec = xtRecord("comment", 0, payload);
        out.insert(out.end(), rec.begin(), rec.end());
        return true;
    }

    void add(Section s, std::string_view module, unsigned slot, Match m, bool fresh = false) {
        auto& mods = sections_[s];
        const unsigned bit = 1u << slot;
        if (fresh || mods.empty() || mods.back().name != module || (mods.back().slots & bit))
            mods.push_back({module, 0, {}});
        mods.back().slots |= bit;
        mods.back().afterComment = mods.back().afterComment || afterComment_;
        mods.back().matches.push_back(std::move(m));
    }

    Family family_;
    PortModule portModule_;
    std::array<std::vector<Module>, kSectionCount> sections_;
    std::vector<const OpaqueMatch*> opaque_;  // in position order, as the decoder made them
    bool afterComment_ = false;
};

// ---------------------------------------------------------------------------------------------
// Encoding a table

std::string familyText(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

class TableEncoder {
  public:
    TableEncoder(Family family, const TableBlock& block, Diagnostics& diags)
        : family_(family), block_(block), diags_(diags) {}

    std::optional<Blob> run() {
        blob_.family = family_;
        blob_.table = block_.name;
        for (const std::string& chain : chainOrder(block_, family_)) {
            if (!encodeChain(chain)) return std::nullopt;
        }
        append(makeEntry(family_, {}, {}, errorTarget(XT_ERROR_TARGET)));
        return resolveJumps() ? std::optional<Blob>(std::move(blob_)) : std::nullopt;
    }

  private:
    struct PendingJump {
        size_t verdictPos;
        std::string chain;
        const Rule* rule;
        std::string from;
    };

    bool encodeChain(const std::string& chain) {
        const auto hook = isBuiltinChain(block_.name, chain) ? hookOf(chain) : std::nullopt;
        if (hook) {
            blob_.validHooks |= 1u << *hook;
            blob_.hookEntry[*hook] = size();
        } else {
            if (chain.size() > kMaxErrorName) return chainNameTooLong(chain);
            append(makeEntry(family_, {}, {}, errorTarget(chain)));
            chainStart_[chain] = size();
        }
        for (const Rule* rule : blockRules(block_, chain, family_)) {
            if (!encodeRule(chain, *rule)) return false;
        }
        if (hook) {
            blob_.underflow[*hook] = size();
            const bool drop = blockPolicy(block_, chain) == ChainPolicy::Drop;
            append(makeEntry(family_, {}, {}, verdictTarget(drop ? -NF_DROP - 1 : -NF_ACCEPT - 1)));
        } else {
            append(makeEntry(family_, {}, {}, verdictTarget(XT_RETURN)));
        }
        return true;
    }

    /// The kernel keeps a user chain's name in its ERROR entry: a longer one would be cut.
    bool chainNameTooLong(const std::string& chain) {
        SourceSpan at;
        for (const Table* t : block_.parts)
            if (const Chain* c = t->findChain(chain)) at = c->span;
        diags_.report(Code::E205, at,
                      "chain name '" + chain + "' is longer than the kernel's " +
                          std::to_string(kMaxErrorName) + " bytes");
        return false;
    }

    bool encodeRule(const std::string& chain, const Rule& rule) {
        std::vector<Match> matches = rule.matches;
        sortMatches(matches);
        const PortModule portModule = portModuleFor(matches);
        for (const auto& line : expandLines(matches)) {
            EntryBuilder b(family_, portModule);
            for (size_t i = 0; i < line.size(); ++i) {
                b.afterComment(!precedesComment(rule.commentAfter, i));
                std::visit(b, line[i]);
            }
            std::optional<Bytes> mb = b.error.empty() ? b.matchBytes(rule.comment) : std::nullopt;
            if (!mb) return report(rule, chain, b.error, b.overLimit);
            b.ip.isGoto = std::holds_alternative<Goto>(rule.target);
            std::optional<Bytes> target = targetBytes(rule, chain);
            if (!target) return false;
            const size_t start = size();
            Bytes entry = makeEntry(family_, b.ip, *mb, *target);
            if (b.header) {
                const size_t ipSize = family_ == Family::V4 ? sizeof(ipt_ip) : sizeof(ip6t_ip6);
                if (b.header->ext.data.size() != ipSize)
                    return report(rule, chain, "a kept ip header of another size", false);
                std::copy(b.header->ext.data.begin(), b.header->ext.data.end(), entry.begin());
            }
            const size_t verdictPos =
                start + (entry.size() - target->size()) + sizeof(xt_entry_target);
            if (std::holds_alternative<NoTarget>(rule.target))  // fall through: the next entry
                patchVerdict(entry, entry.size() - target->size() + sizeof(xt_entry_target),
                             static_cast<int>(start + entry.size()));
            if (const auto* j = std::get_if<Jump>(&rule.target))
                pending_.push_back({verdictPos, j->chain, &rule, chain});
            if (const auto* g = std::get_if<Goto>(&rule.target))
                pending_.push_back({verdictPos, g->chain, &rule, chain});
            append(std::move(entry));
        }
        return true;
    }

    std::optional<Bytes> targetBytes(const Rule& rule, const std::string& chain) {
        const Target& t = rule.target;
        if (std::holds_alternative<Accept>(t)) return verdictTarget(-NF_ACCEPT - 1);
        if (std::holds_alternative<Drop>(t)) return verdictTarget(-NF_DROP - 1);
        if (std::holds_alternative<Return>(t)) return verdictTarget(XT_RETURN);
        if (std::holds_alternative<NoTarget>(t) || std::holds_alternative<Jump>(t) ||
            std::holds_alternative<Goto>(t))
            return verdictTarget(0);  // patched once every chain's offset is known
        if (const auto* o = std::get_if<OpaqueTarget>(&t)) {
            if (o->ext.name.size() >= XT_EXTENSION_MAXNAMELEN) {
                report(rule, chain, "target name '" + o->ext.name + "' too long", true);
                return std::nullopt;
            }
            return xtRecord(o->ext.name, o->ext.revision, o->ext.data);
        }
        const TargetRow* row = findTargetRow(targetName(t), family_);
        XtContext ctx{family_, {}};
        Bytes payload = row ? row->encode(ctx, t) : Bytes{};
        if (!row || payload.empty()) {
            report(rule, chain,
                   row ? ctx.error : "no encoding for target '" + std::string(targetName(t)) + "'",
                   ctx.overLimit);
            return std::nullopt;
        }
        return xtRecord(row->name, row->revision, payload);
    }

    static void patchVerdict(Bytes& b, size_t pos, int verdict) {
        std::memcpy(b.data() + pos, &verdict, sizeof verdict);
    }

    bool resolveJumps() {
        for (const PendingJump& j : pending_) {
            auto it = chainStart_.find(j.chain);
            if (it == chainStart_.end()) {
                diags_.report(Code::E204, j.rule->span,
                              "iptables " + block_.name + " (" + familyText(family_) +
                                  "): " + j.from + " jumps to '" + j.chain +
                                  "', which is not a user chain of this table");
                return false;
            }
            patchVerdict(blob_.entries, j.verdictPos, static_cast<int>(it->second));
        }
        return true;
    }

    bool report(const Rule& rule, const std::string& chain, const std::string& why,
                bool overLimit) {
        diags_.report(overLimit ? Code::E205 : Code::E202, rule.span,
                      "iptables " + block_.name + " (" + familyText(family_) + ") chain " + chain +
                          ": " + why);
        return false;
    }

    uint32_t size() const { return static_cast<uint32_t>(blob_.entries.size()); }
    void append(Bytes e) {
        blob_.entries.insert(blob_.entries.end(), e.begin(), e.end());
        ++blob_.numEntries;
    }

    Family family_;
    const TableBlock& block_;
    Diagnostics& diags_;
    Blob blob_;
    std::map<std::string, uint32_t> chainStart_;
    std::vector<PendingJump> pending_;
};

// ---------------------------------------------------------------------------------------------
// Decoding

struct XtView {
    std::string name;
    uint8_t revision = 0;
    const uint8_t* data = nullptr;
    size_t size = 0;  // payload bytes
};

struct EntryView {
    uint32_t offset = 0;
    uint32_t next = 0;
    IpPart ip;
    /// The ip part as the kernel holds it, when policyc's matches would not write it so.
    std::optional<Bytes> opaqueHeader;
    std::vector<XtView> matches;
    XtView target;
};

std::optional<uint8_t> prefixLength(const uint8_t* mask, size_t len) {
    uint8_t n = 0;
    size_t i = 0;
    for (; i < len && mask[i] == 0xff; ++i) n = static_cast<uint8_t>(n + 8);
    if (i < len) {
        const int ones = std::countl_one(mask[i]);
        if (static_cast<uint8_t>(0xff00u >> ones) != mask[i]) return std::nullopt;
        n = static_cast<uint8_t>(n + ones);
        for (++i; i < len; ++i)
            if (mask[i]) return std::nullopt;
    }
    return n;
}

template <class Ip, class Addr>
bool readIp(const Ip& ip, const Addr& src, const Addr& dst, const Addr& smsk, const Addr& dmsk,
            Family f, IpPart& p, uint8_t invSrc, uint8_t invDst, uint8_t invIn, uint8_t invOut) {
    const size_t len = sizeof(Addr);
    auto prefix = [&](const Addr& a, const Addr& m,
                      bool inv) -> std::optional<std::optional<Prefix>> {
        auto length = prefixLength(reinterpret_cast<const uint8_t*>(&m), len);
        if (!length) return std::optional<Prefix>{};  // no prefix: kept in the opaque header
        if (*length == 0 && !inv) return std::optional<Prefix>{};
        Prefix pr;
        pr.addr.family = f;
        std::memcpy(pr.addr.bytes.data(), &a, len);
        pr.length = *length;
        return std::optional<Prefix>{pr};
    };
    auto s = prefix(src, smsk, ip.invflags & invSrc);
    auto d = prefix(dst, dmsk, ip.invflags & invDst);
    if (!s || !d) return false;
    p.src = *s;
    p.dst = *d;
    p.srcNeg = ip.invflags & invSrc;
    p.dstNeg = ip.invflags & invDst;
    p.in = std::string(ip.iniface, strnlen(ip.iniface, IFNAMSIZ));
    p.out = std::string(ip.outiface, strnlen(ip.outiface, IFNAMSIZ));
    p.inNeg = ip.invflags & invIn;
    p.outNeg = ip.invflags & invOut;
    p.proto = static_cast<uint8_t>(ip.proto);
    p.protoNeg = ip.invflags & XT_INV_PROTO;
    return true;
}

XtView xtView(const uint8_t* at) {
    xt_entry_target h;
    std::memcpy(&h, at, sizeof h);
    XtView v;
    v.name = std::string(h.u.user.name, strnlen(h.u.user.name, sizeof h.u.user.name));
    v.revision = h.u.user.revision;
    v.data = at + sizeof h;
    v.size = h.u.user.target_size >= sizeof h ? h.u.user.target_size - sizeof h : 0;
    return v;
}

std::optional<EntryView> readEntry(const Blob& blob, uint32_t off, std::string& error) {
    const size_t hdr = entryHeaderSize(blob.family);
    const uint8_t* base = blob.entries.data() + off;
    if (off + hdr > blob.entries.size()) {
        error = "truncated entry";
        return std::nullopt;
    }
    EntryView e;
    e.offset = off;
    uint16_t targetOffset = 0;
    bool ok = false;
    if (blob.family == Family::V4) {
        ipt_entry x;
        std::memcpy(&x, base, sizeof x);
        targetOffset = x.target_offset;
        e.next = x.next_offset;
        ok = readIp(x.ip, x.ip.src, x.ip.dst, x.ip.smsk, x.ip.dmsk, blob.family, e.ip,
                    IPT_INV_SRCIP, IPT_INV_DSTIP, IPT_INV_VIA_IN, IPT_INV_VIA_OUT);
        e.ip.isGoto = x.ip.flags & IPT_F_GOTO;
    } else {
        ip6t_entry x;
        std::memcpy(&x, base, sizeof x);
        targetOffset = x.target_offset;
        e.next = x.next_offset;
        ok = readIp(x.ipv6, x.ipv6.src, x.ipv6.dst, x.ipv6.smsk, x.ipv6.dmsk, blob.family, e.ip,
                    IP6T_INV_SRCIP, IP6T_INV_DSTIP, IP6T_INV_VIA_IN, IP6T_INV_VIA_OUT);
        e.ip.isGoto = x.ipv6.flags & IP6T_F_GOTO;
    }
    // Whatever policyc would not write back from what it read (a fragment test, a mask that
    // is no prefix, host bits outside the mask, a tos flag ...) keeps the ip part verbatim.
    const size_t ipSize = blob.family == Family::V4 ? sizeof(ipt_ip) : sizeof(ip6t_ip6);
    std::array<uint8_t, sizeof(ip6t_entry)> written;  // on the stack: this runs for every entry
    static_assert(sizeof(ip6t_entry) >= sizeof(ipt_entry));
    if (ok) writeEntryHeader(blob.family, e.ip, 0, 0, written.data());
    if (ok && std::memcmp(written.data(), base, ipSize) != 0)
        e.opaqueHeader = Bytes(base, base + ipSize);
    if (!ok || e.next < targetOffset + sizeof(xt_entry_target) || targetOffset < hdr ||
        off + e.next > blob.entries.size()) {
        error = "malformed entry at offset " + std::to_string(off);
        return std::nullopt;
    }
    // Every match and the target must lie inside the entry: the decoders read size bytes of
    // their payload, so a size reaching past the entry would read past the blob.
    for (uint32_t m = static_cast<uint32_t>(hdr); m < targetOffset;) {
        if (m + sizeof(xt_entry_match) > targetOffset) {
            error = "truncated match at offset " + std::to_string(off + m);
            return std::nullopt;
        }
        XtView v = xtView(base + m);
        const size_t total = v.size + sizeof(xt_entry_match);
        if ((v.size == 0 && v.name.empty()) || m + total > targetOffset) {
            error = "malformed match at offset " + std::to_string(off + m);
            return std::nullopt;
        }
        m += static_cast<uint32_t>(total);
        e.matches.push_back(std::move(v));
    }
    e.target = xtView(base + targetOffset);
    if (targetOffset + sizeof(xt_entry_target) + e.target.size > e.next) {
        error = "malformed target at offset " + std::to_string(off + targetOffset);
        return std::nullopt;
    }
    return e;
}

// The standard target's payload is one int verdict; a shorter payload has none.
std::optional<int> verdictOf(const XtView& t) {
    if (t.size < sizeof(int)) return std::nullopt;
    int v = 0;
    std::memcpy(&v, t.data, sizeof v);
    return v;
}

class TableDecoder {
  public:
    TableDecoder(const Blob& blob, Diagnostics& diags) : blob_(blob), diags_(diags) {}

    std::optional<Table> run() {
        std::string error;
        for (uint32_t off = 0; off < blob_.entries.size();) {
            auto e = readEntry(blob_, off, error);
            if (!e) {
                fail(error);
                return std::nullopt;
            }
            off += e->next;
            entries_.push_back(std::move(*e));
        }
        if (!collectChainStarts()) return std::nullopt;
        table_.family = blob_.family == Family::V4 ? TableFamily::Ip : TableFamily::Ip6;
        table_.name = blob_.table;
        return walk() ? std::optional<Table>(std::move(table_)) : std::nullopt;
    }

  private:
    bool collectChainStarts() {
        for (size_t i = 0; i + 1 < entries_.size(); ++i) {
            const EntryView& e = entries_[i];
            if (e.target.name != XT_ERROR_TARGET) continue;
            auto name = errorTargetName(e.target.data, e.target.size);
            if (!name)
                return fail("the chain name at offset " + std::to_string(e.offset) +
                            " (no terminating NUL in its " +
                            std::to_string(XT_FUNCTION_MAXNAMELEN) + " bytes)");
            starts_[entries_[i + 1].offset] = std::move(*name);
        }
        return true;
    }

    std::optional<size_t> hookStartingAt(uint32_t off) const {
        for (size_t h = 0; h < kNumHooks; ++h)
            if ((blob_.validHooks & (1u << h)) && blob_.hookEntry[h] == off) return h;
        return std::nullopt;
    }
    std::optional<size_t> hookEndingAt(uint32_t off) const {
        for (size_t h = 0; h < kNumHooks; ++h)
            if ((blob_.validHooks & (1u << h)) && blob_.underflow[h] == off) return h;
        return std::nullopt;
    }

    bool walk() {
        Chain* current = nullptr;
        // The hook whose built-in chain is open (kNoHook: none). A plain index, not an optional:
        // GCC 12 reports optional<size_t> here as maybe-uninitialized.
        constexpr size_t kNoHook = SIZE_MAX;
        size_t currentHook = kNoHook;
        for (size_t i = 0; i < entries_.size(); ++i) {
            const EntryView& e = entries_[i];
            if (e.target.name == XT_ERROR_TARGET) {
                if (i + 1 == entries_.size()) return true;  // the table's final entry
                table_.chains.push_back(
                    Chain{starts_.at(entries_[i + 1].offset), ChainPolicy::None, {}, {}});
                current = &table_.chains.back();
                currentHook = kNoHook;
                continue;
            }
            if (auto h = hookStartingAt(e.offset); h && currentHook == kNoHook) {
                table_.chains.push_back(
                    Chain{std::string(kHookChains[*h]), ChainPolicy::None, {}, {}});
                current = &table_.chains.back();
                currentHook = *h;
            }
            if (!current)
                return fail("an entry outside every chain at offset " + std::to_string(e.offset));
            if (currentHook != kNoHook && hookEndingAt(e.offset) == currentHook) {
                if (!policy(e, *current)) return false;
                current = nullptr;
                currentHook = kNoHook;
                continue;
            }
            const bool footer = currentHook == kNoHook && i + 1 < entries_.size() &&
                                entries_[i + 1].target.name == XT_ERROR_TARGET;
            if (footer) {
                current = nullptr;
                continue;
            }
            auto rule = decodeRule(e, *current);
            if (!rule) return false;
            current->rules.push_back(std::move(*rule));
        }
        return fail("no final ERROR entry");
    }

    bool policy(const EntryView& e, Chain& chain) {
        const int v = e.target.name.empty() ? verdictOf(e.target).value_or(0) : 0;
        if (v == -NF_ACCEPT - 1)
            chain.policy = ChainPolicy::Accept;
        else if (v == -NF_DROP - 1)
            chain.policy = ChainPolicy::Drop;
        else
            return fail("chain " + chain.name + " has a policy other than ACCEPT or DROP");
        return true;
    }

    std::optional<Rule> decodeRule(const EntryView& e, const Chain& chain) {
        const std::string where =
            "chain " + chain.name + " rule " + std::to_string(chain.rules.size() + 1);
        Rule rule;
        XtContext ctx{blob_.family, {}};
        std::optional<uint8_t> impliedProto;
        bool portModule = false;
        bool portModuleAfterComment = false;
        bool commentSeen = false;
        std::vector<bool> beforeComment;  // per match, in decoding order
        for (uint32_t position = 0; position < e.matches.size(); ++position) {
            const XtView& m = e.matches[position];
            if (m.name == "comment" && m.revision == 0 && m.size >= 256 && !commentSeen) {
                rule.comment = decodeComment(m.data);
                commentSeen = true;
                continue;
            }
            // A module policyc cannot read (unknown, another revision or layout, an option it
            // does not model) is kept as it is, so that nothing foreign is lost or misread.
            // It keeps its own record position, so it counts as given before the comment.
            const MatchRow* row = findMatchRow(m.name, m.revision);
            std::vector<Match> decoded;
            if (!row || m.size != row->size || !row->decode(ctx, m.data, decoded)) {
                rule.matches.push_back(OpaqueMatch{opaque(m), position});
                beforeComment.push_back(true);
                continue;
            }
            const size_t before = rule.matches.size();
            for (Match& d : decoded) rule.matches.push_back(std::move(d));
            beforeComment.resize(rule.matches.size(), !commentSeen);
            if (m.name == "icmp") impliedProto = 1;
            if (m.name == "icmp6") impliedProto = 58;
            if ((m.name == "tcp" || m.name == "udp" || m.name == "sctp") &&
                needsPortModule(rule.matches, before)) {
                portModule = true;
                portModuleAfterComment = commentSeen;
            }
        }
        headerMatches(e.ip, impliedProto, rule.matches);
        if (e.opaqueHeader) rule.matches.push_back(OpaqueMatch{{"", 0, *e.opaqueHeader}, 0, true});
        if (portModule) markPortModule(rule.matches);
        // The header is no module, except the protocol's when it opens the port module.
        beforeComment.resize(rule.matches.size(), false);
        for (size_t i = 0; i < rule.matches.size(); ++i)
            if (auto* p = std::get_if<ProtoMatch>(&rule.matches[i]); p && p->portModule)
                beforeComment[i] = !portModuleAfterComment;
        auto target = decodeTarget(e, where);
        if (!target) return std::nullopt;
        rule.target = std::move(*target);
        if (commentSeen)
            rule.commentAfter = sortMatchesAroundComment(rule.matches, beforeComment);
        else
            sortMatches(rule.matches);
        return rule;
    }

    /// A port module that policyc would not write for the port conditions it holds (from
    /// `before` on): none, or a full range (see inPortModule).
    static bool needsPortModule(const std::vector<Match>& matches, size_t before) {
        if (matches.size() == before) return true;
        return std::any_of(matches.begin() + static_cast<long>(before), matches.end(),
                           [](const Match& m) {
                               const auto* p = std::get_if<PortMatch>(&m);
                               return p && p->ports.size() == 1 && p->ports[0].first == 0 &&
                                      p->ports[0].last == 65535;
                           });
    }

    static void markPortModule(std::vector<Match>& matches) {
        for (Match& m : matches)
            if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated) p->portModule = true;
    }

    static void headerMatches(const IpPart& ip, std::optional<uint8_t> impliedProto,
                              std::vector<Match>& out) {
        if (ip.src) out.push_back(AddrMatch{Direction::Source, ip.srcNeg, {*ip.src}});
        if (ip.dst) out.push_back(AddrMatch{Direction::Destination, ip.dstNeg, {*ip.dst}});
        if (!ip.in.empty() || ip.inNeg)
            out.push_back(IfaceMatch{IfaceDirection::In, ip.inNeg, ip.in});
        if (!ip.out.empty() || ip.outNeg)
            out.push_back(IfaceMatch{IfaceDirection::Out, ip.outNeg, ip.out});
        const bool implied = impliedProto && ip.proto == *impliedProto && !ip.protoNeg;
        if ((ip.proto || ip.protoNeg) && !implied) out.push_back(ProtoMatch{ip.proto, ip.protoNeg});
    }

    std::optional<Target> decodeTarget(const EntryView& e, const std::string& where) {
        if (!e.target.name.empty()) {
            const TargetRow* row = findTargetRow(e.target.name, blob_.family, e.target.revision);
            XtContext ctx{blob_.family, {}};
            auto t =
                row && e.target.size == row->size ? row->decode(ctx, e.target.data) : std::nullopt;
            if (!t) return OpaqueTarget{opaque(e.target)};  // kept as it is, as matches are
            return t;
        }
        const auto verdict = verdictOf(e.target);
        if (!verdict) return failTarget(where, "a standard target without a verdict");
        const int v = *verdict;
        if (v == -NF_ACCEPT - 1) return Accept{};
        if (v == -NF_DROP - 1) return Drop{};
        if (v == XT_RETURN) return Return{};
        if (v >= 0 && static_cast<uint32_t>(v) == e.offset + e.next && !e.ip.isGoto)
            return NoTarget{};
        auto it = starts_.find(static_cast<uint32_t>(v));
        if (v < 0 || it == starts_.end())
            return failTarget(where,
                              "verdict " + std::to_string(v) + " (not a chain policyc knows)");
        if (e.ip.isGoto) return Goto{it->second};
        return Jump{it->second};
    }

    static OpaqueExtension opaque(const XtView& x) {
        return {x.name, x.revision, std::vector<uint8_t>(x.data, x.data + x.size)};
    }

    std::optional<Rule> failRule(const std::string& where, const std::string& what) {
        fail(where + ": " + what);
        return std::nullopt;
    }
    std::optional<Target> failTarget(const std::string& where, const std::string& what) {
        fail(where + ": " + what);
        return std::nullopt;
    }
    bool fail(const std::string& why) {
        diags_
            .report(Code::E202, {},
                    "iptables " + blob_.table + " (" + familyText(blob_.family) +
                        "): cannot read " + why)
            .location = RuleLocation{blob_.table, "", 0};
        return false;
    }

    const Blob& blob_;
    Diagnostics& diags_;
    std::vector<EntryView> entries_;
    std::map<uint32_t, std::string> starts_;
    Table table_;
};

}  // namespace

bool sameRules(const Blob& a, const Blob& b) {
    if (a.family != b.family || a.table != b.table || a.validHooks != b.validHooks ||
        a.hookEntry != b.hookEntry || a.underflow != b.underflow || a.numEntries != b.numEntries ||
        a.entries.size() != b.entries.size())
        return false;
    const bool v4 = a.family == Family::V4;
    const size_t countersAt = v4 ? offsetof(ipt_entry, counters) : offsetof(ip6t_entry, counters);
    const size_t nextAt = v4 ? offsetof(ipt_entry, next_offset) : offsetof(ip6t_entry, next_offset);
    for (size_t off = 0; off < a.entries.size();) {
        if (off + entryHeaderSize(a.family) > a.entries.size()) return false;
        uint16_t next = 0;
        std::memcpy(&next, a.entries.data() + off + nextAt, sizeof next);
        if (next == 0 || off + next > a.entries.size()) return false;
        auto equal = [&](size_t from, size_t to) {
            return std::memcmp(a.entries.data() + from, b.entries.data() + from, to - from) == 0;
        };
        if (!equal(off, off + countersAt) ||
            !equal(off + countersAt + sizeof(xt_counters), off + next))
            return false;
        off += next;
    }
    return true;
}

namespace {

/// One key per entry: its chain, then its bytes with counters and comefrom zeroed and a jump's
/// offset replaced by the name of the chain it reaches (offsets move when earlier rules change).
std::vector<std::string> entryKeys(const Blob& blob) {
    const bool v4 = blob.family == Family::V4;
    const size_t countersAt = v4 ? offsetof(ipt_entry, counters) : offsetof(ip6t_entry, counters);
    const size_t comefromAt = v4 ? offsetof(ipt_entry, comefrom) : offsetof(ip6t_entry, comefrom);
    const size_t targetAt =
        v4 ? offsetof(ipt_entry, target_offset) : offsetof(ip6t_entry, target_offset);
    const size_t nextAt = v4 ? offsetof(ipt_entry, next_offset) : offsetof(ip6t_entry, next_offset);
    const size_t hdr = entryHeaderSize(blob.family);
    auto u16 = [&](size_t at) {
        uint16_t v = 0;
        std::memcpy(&v, blob.entries.data() + at, sizeof v);
        return v;
    };
    struct Raw {
        size_t off, next, target;
    };
    std::vector<Raw> raw;
    std::map<uint32_t, std::string> chainAt;  // offset of a user chain's first entry -> name
    for (size_t off = 0; off + hdr <= blob.entries.size();) {
        const size_t next = u16(off + nextAt), target = u16(off + targetAt);
        if (next < hdr || target < hdr || target + sizeof(xt_entry_target) > next ||
            off + next > blob.entries.size())
            break;
        const auto* t =
            reinterpret_cast<const xt_entry_target*>(blob.entries.data() + off + target);
        if (std::strncmp(t->u.user.name, XT_ERROR_TARGET, sizeof t->u.user.name) == 0)
            chainAt[uint32_t(off + next)] =
                errorTargetName(t->data, next - target - sizeof *t).value_or("");
        raw.push_back({off, next, target});
        off += next;
    }
    std::vector<std::string> keys;
    std::string chain;
    for (const Raw& e : raw) {
        for (size_t h = 0; h < kNumHooks; ++h)
            if ((blob.validHooks & (1u << h)) && blob.hookEntry[h] == e.off)
                chain = std::string(kHookChains[h]);
        if (auto it = chainAt.find(uint32_t(e.off)); it != chainAt.end()) chain = it->second;
        std::string key = chain + '\0';
        key.append(reinterpret_cast<const char*>(blob.entries.data() + e.off), e.next);
        std::memset(key.data() + chain.size() + 1 + countersAt, 0, sizeof(xt_counters));
        std::memset(key.data() + chain.size() + 1 + comefromAt, 0, sizeof(unsigned int));
        const auto* t =
            reinterpret_cast<const xt_entry_target*>(blob.entries.data() + e.off + e.target);
        int verdict = 0;
        if (t->u.user.name[0] == '\0' && e.next - e.target >= sizeof *t + sizeof verdict) {
            std::memcpy(&verdict, t->data, sizeof verdict);
            if (verdict >= 0) {
                const size_t at = chain.size() + 1 + e.target + sizeof *t;
                std::memset(key.data() + at, 0, sizeof verdict);
                auto it = chainAt.find(uint32_t(verdict));
                key += verdict == int(e.off + e.next) ? std::string("\0next")
                       : it != chainAt.end()          ? "\0jump " + it->second
                                                      : "\0offset " + std::to_string(verdict);
            }
        }
        keys.push_back(std::move(key));
    }
    return keys;
}

}  // namespace

std::vector<EntryCounters> carryCounters(const Blob& from,
                                         const std::vector<EntryCounters>& counters,
                                         const Blob& to) {
    const auto oldKeys = entryKeys(from);
    std::unordered_map<std::string_view, std::deque<size_t>> unused;
    for (size_t i = 0; i < oldKeys.size() && i < counters.size(); ++i)
        unused[oldKeys[i]].push_back(i);
    const auto newKeys = entryKeys(to);
    std::vector<EntryCounters> out(to.numEntries);
    for (size_t i = 0; i < newKeys.size() && i < out.size(); ++i) {
        auto it = unused.find(newKeys[i]);
        if (it == unused.end() || it->second.empty()) continue;
        out[i] = counters[it->second.front()];
        it->second.pop_front();
    }
    return out;
}

std::vector<std::string> tablesToLoad(const Host& host, Family family) {
    std::vector<std::string> names;
    for (const TableBlock& b : collectBlocks(host, family)) names.push_back(b.name);
    std::reverse(names.begin(), names.end());
    return names;
}

std::optional<Blob> encodeTable(const Host& host, Family family, std::string_view table,
                                Diagnostics& diags) {
    for (const TableBlock& block : collectBlocks(host, family)) {
        if (block.name != table) continue;
        if (!isKnownTable(block.name)) {
            diags.report(Code::E202, block.parts.front()->span,
                         "'" + block.name + "' is not an iptables table");
            return std::nullopt;
        }
        return TableEncoder(family, block, diags).run();
    }
    // A table the host does not fill: built-in chains only, policies ACCEPT.
    TableBlock empty{std::string(table), {}};
    return TableEncoder(family, empty, diags).run();
}

std::optional<Table> decodeTable(const Blob& blob, Diagnostics& diags) {
    return TableDecoder(blob, diags).run();
}

}  // namespace policyc::backends::ipt
