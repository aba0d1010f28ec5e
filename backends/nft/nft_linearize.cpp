// SPDX-License-Identifier: GPL-2.0-or-later
// IR -> libnftnl objects, mirroring what nft 1.0.6 generates for renderNft()'s text: the same
// statement order, the implicit dependencies nft adds (meta nfproto, meta l4proto, ether type),
// its payload merging and its anonymous set layout. Every rule here was read off
// `nft --debug=netlink -c -f` (see tests/unit/nft_linearize_test.cpp).
#include "backends/nft/nft_linearize.h"

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <functional>
#include <sstream>

#include "backends/nft/nft_values.h"
#include "backends/text/nft_layout.h"
#include "backends/text/nft_text_vocab.h"

namespace policyc::backends::nft {

void NftnlDeleter::operator()(nftnl_table* t) const { nftnl_table_free(t); }
void NftnlDeleter::operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
void NftnlDeleter::operator()(nftnl_set* s) const { nftnl_set_free(s); }
void NftnlDeleter::operator()(nftnl_rule* r) const { nftnl_rule_free(r); }

namespace {

using namespace policyc::ir;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

constexpr uint32_t kReg1 = NFT_REG_1;
constexpr uint32_t kReg32_01 = NFT_REG32_01;  // second field of a concatenation

// nft's datatype ids (nftables include/datatype.h), as sets carry them in NFTA_SET_KEY_TYPE.
constexpr uint32_t kTypeIpAddr = 7;
constexpr uint32_t kTypeIp6Addr = 8;
constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t kTypeIcmpType = 14;
constexpr uint32_t kTypeIcmp6Type = 29;
constexpr uint32_t kTypeIcmpCode = 32;
constexpr uint32_t kTypeIcmpv6Code = 33;
constexpr uint32_t kTypeBits = 6;  // concatenated key types: (first << 6) | second

uint16_t nfproto(TableFamily f) {
    switch (f) {
        case TableFamily::Inet:
            return NFPROTO_INET;
        case TableFamily::Ip:
            return NFPROTO_IPV4;
        case TableFamily::Ip6:
            return NFPROTO_IPV6;
    }
    return NFPROTO_INET;
}

// ---------------------------------------------------------------------------------------------
// Building one rule

struct RuleBuilder {
    nftnl_rule* rule;
    std::vector<NftObject>* sets;  // anonymous sets this rule needs, added before it
    uint32_t* nextSetId;
    uint16_t family;
    std::string table;
    const Rule* source = nullptr;
    int32_t origin = kTargetOrigin;  // of the statement being emitted
    std::vector<int32_t> origins;    // per expression added

    void add(nftnl_expr* e) {
        nftnl_rule_add_expr(rule, e);
        origins.push_back(origin);
    }
    SourceSpan span(int32_t o) const {
        return source->partSpan(o < 0 ? std::nullopt : std::optional<size_t>(o));
    }
};

nftnl_expr* expr(const char* name) { return nftnl_expr_alloc(name); }

void metaLoad(RuleBuilder& b, uint32_t key, uint32_t reg = kReg1) {
    auto* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, reg);
    b.add(e);
}

void metaSet(RuleBuilder& b, uint32_t key) {
    auto* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, kReg1);
    b.add(e);
}

void ctLoad(RuleBuilder& b, uint32_t key) {
    auto* e = expr("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, kReg1);
    b.add(e);
}

void ctSet(RuleBuilder& b, uint32_t key) {
    auto* e = expr("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, kReg1);
    b.add(e);
}

void payload(RuleBuilder& b, uint32_t base, uint32_t offset, uint32_t len, uint32_t reg = kReg1) {
    auto* e = expr("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
    b.add(e);
}

void cmp(RuleBuilder& b, uint32_t op, const Bytes& value) {
    auto* e = expr("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, value.data(), static_cast<uint32_t>(value.size()));
    b.add(e);
}

void rangeNeq(RuleBuilder& b, const Bytes& lo, const Bytes& hi) {
    auto* e = expr("range");
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_NEQ);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, lo.data(), static_cast<uint32_t>(lo.size()));
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, hi.data(), static_cast<uint32_t>(hi.size()));
    b.add(e);
}

void bitwise(RuleBuilder& b, const Bytes& mask, const Bytes& xorValue) {
    auto* e = expr("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, static_cast<uint32_t>(mask.size()));
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), static_cast<uint32_t>(mask.size()));
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xorValue.data(),
                   static_cast<uint32_t>(xorValue.size()));
    b.add(e);
}

/// reg 1 to network order, one `size`-byte value (4: a 32-bit id, 2: an MSS).
void byteorderHton(RuleBuilder& b, uint32_t size) {
    auto* e = expr("byteorder");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, size);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, size);
    b.add(e);
}

void immediateData(RuleBuilder& b, uint32_t reg, const Bytes& value) {
    auto* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, value.data(), static_cast<uint32_t>(value.size()));
    b.add(e);
}

/// `tcp option maxseg size set VALUE`: reg 1 holds the new MSS in network order; nft writes
/// the option's 2 bytes at offset 2 (after kind and length).
void tcpMssExprs(RuleBuilder& b, std::optional<uint16_t> mss) {
    if (mss) {
        immediateData(b, kReg1, be16(*mss));
    } else {  // `rt mtu`: the route's MSS, in host order
        auto* rt = expr("rt");
        nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
        nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_DREG, kReg1);
        b.add(rt);
        byteorderHton(b, 2);
    }
    auto* e = expr("exthdr");
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_SREG, kReg1);
    nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, 2);  // TCPOPT_MAXSEG
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 2);
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 2);
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
    b.add(e);
}

void verdict(RuleBuilder& b, int code, const std::string& chain = "") {
    auto* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
    if (!chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain.c_str());
    b.add(e);
}

void simple(RuleBuilder& b, const char* name) { b.add(expr(name)); }

/// An anonymous set of `keyLen`-byte keys, added to the batch right before the rule.
std::string anonSet(RuleBuilder& b, uint32_t flags, uint32_t keyType, uint32_t keyLen,
                    const std::vector<SetElem>& elems) {
    NftObject obj;
    obj.kind = NftObject::Kind::Set;
    obj.family = b.family;
    obj.span = b.span(b.origin);
    obj.set.reset(nftnl_set_alloc());
    nftnl_set* s = obj.set.get();
    const uint32_t id = (*b.nextSetId)++;
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, b.family);
    nftnl_set_set_str(s, NFTNL_SET_TABLE, b.table.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, "__set%d");
    nftnl_set_set_u32(s, NFTNL_SET_ID, id);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, keyType);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, keyLen);
    nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, static_cast<uint32_t>(elems.size()));
    // nft records the key's byte order for its own listing: 2 = big endian (network order).
    nftnl_udata_buf* ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
    nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 2);
    if (flags & NFT_SET_INTERVAL) nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_MERGE_ELEMENTS, 1);
    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    for (const SetElem& el : elems) {
        nftnl_set_elem* e = nftnl_set_elem_alloc();
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el.key.data(),
                           static_cast<uint32_t>(el.key.size()));
        if (el.end) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        if (el.open) {
            nftnl_udata_buf* eud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
            nftnl_udata_put_u32(eud, NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(eud),
                               nftnl_udata_buf_len(eud));
            nftnl_udata_buf_free(eud);
        }
        nftnl_set_elem_add(s, e);
    }
    b.sets->push_back(std::move(obj));
    auto* e = expr("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, kReg1);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, "__set%d");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
    b.add(e);
    return "__set%d";
}

// ---------------------------------------------------------------------------------------------
// Statements: what nft evaluates one source statement (or one dependency) into

/// `payload == constant`: nft merges adjacent ones into one load.
struct PayloadEq {
    uint32_t base = 0;
    uint32_t offset = 0;
    Bytes value;
};

struct Stmt {
    std::optional<PayloadEq> merge;
    std::function<void(RuleBuilder&)> emit;
    int32_t origin = kTargetOrigin;  // what it comes from (see NftObject::exprOrigins)
};

Stmt payloadEq(uint32_t base, uint32_t offset, Bytes value) {
    return Stmt{PayloadEq{base, offset, std::move(value)}, {}};
}

/// nft 1.0.6 payload_can_merge: adjacent, at most a register, and (off the link layer) at
/// most 32 bits, which the kernel loads fast anyway.
bool canMerge(const PayloadEq& a, const PayloadEq& b) {
    if (a.base != b.base || a.offset + a.value.size() != b.offset) return false;
    const size_t total = a.value.size() + b.value.size();
    if (total > NFT_REG_SIZE) return false;
    return a.base == NFT_PAYLOAD_LL_HEADER || total <= 4;
}

std::vector<Stmt> mergePayloads(std::vector<Stmt> in) {
    std::vector<Stmt> out;
    for (Stmt& s : in) {
        if (!out.empty() && out.back().merge && s.merge && canMerge(*out.back().merge, *s.merge)) {
            auto& v = out.back().merge->value;
            v.insert(v.end(), s.merge->value.begin(), s.merge->value.end());
            continue;
        }
        out.push_back(std::move(s));
    }
    return out;
}

void emit(RuleBuilder& b, const Stmt& s) {
    b.origin = s.origin;
    if (s.merge) {
        payload(b, s.merge->base, s.merge->offset, static_cast<uint32_t>(s.merge->value.size()));
        cmp(b, NFT_CMP_EQ, s.merge->value);
        return;
    }
    s.emit(b);
}

/// What nft knows about the packet while it walks the rule left to right.
struct Ctx {
    TableFamily table;
    std::string tableName;
    std::optional<Family> network;
    std::optional<uint8_t> l4;
    bool link = false;
    std::vector<Stmt> head;  // dependencies nft puts in front of the rule (reject)
    std::vector<Stmt> body;
    std::vector<std::string>* errors;
};

Stmt metaEq(uint32_t key, Bytes value) {
    return Stmt{std::nullopt, [key, value](RuleBuilder& b) {
                    metaLoad(b, key);
                    cmp(b, NFT_CMP_EQ, value);
                }};
}

Stmt nfprotoDep(Family f) {
    return metaEq(NFT_META_NFPROTO,
                  {static_cast<uint8_t>(f == Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6)});
}

void needNetwork(Ctx& ctx, Family f, std::vector<Stmt>& into) {
    if (ctx.network == f) return;
    if (ctx.table == TableFamily::Inet) {
        if (ctx.link)
            into.push_back(payloadEq(NFT_PAYLOAD_LL_HEADER, 12,
                                     f == Family::V4 ? Bytes{0x08, 0x00} : Bytes{0x86, 0xdd}));
        else
            into.push_back(nfprotoDep(f));
    }
    ctx.network = f;
}

void needL4(Ctx& ctx, uint8_t proto, std::vector<Stmt>& into) {
    if (ctx.l4 == proto) return;
    into.push_back(metaEq(NFT_META_L4PROTO, {proto}));
    ctx.l4 = proto;
}

// ---------------------------------------------------------------------------------------------
// Values compared against a loaded key: one value, a prefix, a range or an anonymous set

struct Load {
    uint32_t base;
    uint32_t offset;
    uint32_t len;
};

/// `load op shape` as nft generates it; `keyType` is used when the shape is a set.
Stmt valueStmt(const Load& load, const Shape& shape, bool negated, uint32_t keyType) {
    if (shape.kind == Shape::Kind::Value && !negated)
        return payloadEq(load.base, load.offset, shape.lo);
    return Stmt{std::nullopt, [=](RuleBuilder& b) {
                    const uint32_t op = negated ? NFT_CMP_NEQ : NFT_CMP_EQ;
                    switch (shape.kind) {
                        case Shape::Kind::Value:
                            payload(b, load.base, load.offset, load.len);
                            cmp(b, op, shape.lo);
                            return;
                        case Shape::Kind::Prefix: {
                            if (shape.prefix % 8 == 0 && shape.prefix > 0) {
                                const uint32_t n = shape.prefix / 8;
                                payload(b, load.base, load.offset, n);
                                cmp(b, op, Bytes(shape.lo.begin(), shape.lo.begin() + n));
                                return;
                            }
                            payload(b, load.base, load.offset, load.len);
                            bitwise(b, prefixMask(load.len, shape.prefix), Bytes(load.len, 0));
                            cmp(b, op, shape.lo);
                            return;
                        }
                        case Shape::Kind::Range:
                            payload(b, load.base, load.offset, load.len);
                            if (negated) {
                                rangeNeq(b, shape.lo, shape.hi);
                            } else {
                                cmp(b, NFT_CMP_GTE, shape.lo);
                                cmp(b, NFT_CMP_LTE, shape.hi);
                            }
                            return;
                        case Shape::Kind::Set: {
                            payload(b, load.base, load.offset, load.len);
                            const uint32_t flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT |
                                                   (shape.interval ? NFT_SET_INTERVAL : 0);
                            anonSet(b, flags, keyType, load.len, shape.elems);
                            if (negated) {
                                nftnl_expr* last = nullptr;
                                auto* it = nftnl_expr_iter_create(b.rule);
                                for (auto* e = nftnl_expr_iter_next(it); e;
                                     e = nftnl_expr_iter_next(it))
                                    last = e;
                                nftnl_expr_iter_destroy(it);
                                nftnl_expr_set_u32(last, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
                            }
                            return;
                        }
                    }
                }};
}

// ---------------------------------------------------------------------------------------------
// Matches

/// The transport protocol whose header `tcp dport` & co. name; 0 for nft's `th`.
uint8_t portProto(const ProtoMatch* proto) {
    static constexpr std::array<uint8_t, 5> kPorted = {6, 17, 33, 132, 136};
    if (proto && std::find(kPorted.begin(), kPorted.end(), proto->proto) != kPorted.end())
        return proto->proto;
    return 0;
}

Bytes ifnameBytes(const std::string& name, bool& ok) {
    ok = true;
    std::string n = name;
    if (!n.empty() && n.back() == '+') {
        n.pop_back();  // a prefix: compared without the terminating NUL
        return Bytes(n.begin(), n.end());
    }
    Bytes out(16, 0);
    if (n.size() >= out.size()) ok = false;
    std::copy_n(n.begin(), std::min(n.size(), out.size() - 1), out.begin());
    return out;
}

void ifaceStmt(Ctx& ctx, const IfaceMatch& i) {
    if (i.name == "+" && !i.negated) return;  // the renderer drops it: every interface
    bool ok = true;
    const Bytes value = ifnameBytes(i.name, ok);
    if (!ok || value.empty()) {
        ctx.errors->push_back("interface name '" + i.name + "' cannot be matched by nftables");
        return;
    }
    const uint32_t key = i.dir == IfaceDirection::In ? NFT_META_IIFNAME : NFT_META_OIFNAME;
    const uint32_t op = i.negated ? NFT_CMP_NEQ : NFT_CMP_EQ;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            metaLoad(b, key);
                            cmp(b, op, value);
                        }});
}

void markStmt(Ctx& ctx, bool isCt, bool negated, const MarkMask& m) {
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            if (isCt)
                                ctLoad(b, NFT_CT_MARK);
                            else
                                metaLoad(b, NFT_META_MARK);
                            if (m.mask != 0xffffffff) bitwise(b, hostU32(m.mask), hostU32(0));
                            cmp(b, negated ? NFT_CMP_NEQ : NFT_CMP_EQ, hostU32(m.value));
                        }});
}

void ctStateStmt(Ctx& ctx, const CtStateMatch& c) {
    // nft's ct_state bits: invalid 1, established 2, related 4, new 8, untracked 64
    uint32_t bits = 0;
    if (c.states & kCtInvalid) bits |= 1;
    if (c.states & kCtEstablished) bits |= 2;
    if (c.states & kCtRelated) bits |= 4;
    if (c.states & kCtNew) bits |= 8;
    if (c.states & kCtUntracked) bits |= 64;
    const bool negated = c.negated;
    // One state: != compares it. Several, negated: none of their bits (a connection has exactly
    // one state, so `cmp neq a|b` would match every packet), as nft encodes `ct state ! a,b`.
    const bool single = std::has_single_bit(bits);
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            ctLoad(b, NFT_CT_STATE);
                            if (negated && single) {
                                cmp(b, NFT_CMP_NEQ, hostU32(bits));
                                return;
                            }
                            bitwise(b, hostU32(bits), hostU32(0));
                            cmp(b, negated ? NFT_CMP_EQ : NFT_CMP_NEQ, hostU32(0));
                        }});
}

void ownerStmt(Ctx& ctx, const OwnerMatch& o) {
    const uint32_t key = o.kind == OwnerMatch::Kind::Uid ? NFT_META_SKUID : NFT_META_SKGID;
    const NumRange ids = o.ids;
    const bool negated = o.negated;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            metaLoad(b, key);
                            if (ids.single()) {
                                cmp(b, negated ? NFT_CMP_NEQ : NFT_CMP_EQ, hostU32(ids.first));
                                return;
                            }
                            byteorderHton(b, 4);
                            if (negated) {
                                rangeNeq(b, be32(ids.first), be32(ids.last));
                            } else {
                                cmp(b, NFT_CMP_GTE, be32(ids.first));
                                cmp(b, NFT_CMP_LTE, be32(ids.last));
                            }
                        }});
}

void cgroupStmt(Ctx& ctx, const CgroupMatch& c, const std::string& root) {
    std::string path = c.path;
    while (!path.empty() && path.front() == '/') path.erase(path.begin());
    while (!path.empty() && path.back() == '/') path.pop_back();
    const auto level =
        static_cast<uint32_t>(path.empty() ? 0 : 1 + std::count(path.begin(), path.end(), '/'));
    // nft resolves the path to the cgroup's inode number when it loads the rule.
    struct stat st {};
    const std::string full = root + "/" + path;
    if (stat(full.c_str(), &st) != 0) {
        ctx.errors->push_back("cgroup '" + path + "' does not exist under " + root);
        return;
    }
    const uint64_t id = st.st_ino;
    Bytes value(8);
    std::memcpy(value.data(), &id, 8);
    const bool negated = c.negated;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            auto* e = expr("socket");
                            nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_CGROUPV2);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, level);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, kReg1);
                            b.add(e);
                            cmp(b, negated ? NFT_CMP_NEQ : NFT_CMP_EQ, value);
                        }});
}

void socketStmt(Ctx& ctx, const SocketMatch& s) {
    const uint32_t key = s.transparent ? NFT_SOCKET_TRANSPARENT : NFT_SOCKET_WILDCARD;
    const uint8_t value = s.transparent ? 1 : 0;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            auto* e = expr("socket");
                            nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, key);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, kReg1);
                            b.add(e);
                            cmp(b, NFT_CMP_EQ, Bytes{value});
                        }});
}

void icmpStmt(Ctx& ctx, const IcmpMatch& i) {
    needNetwork(ctx, i.family, ctx.body);
    const uint8_t proto = i.family == Family::V4 ? 1 : 58;
    needL4(ctx, proto, ctx.body);
    const uint32_t th = NFT_PAYLOAD_TRANSPORT_HEADER;
    if (!i.negated) {
        ctx.body.push_back(payloadEq(th, 0, {i.type}));
        if (i.code) ctx.body.push_back(payloadEq(th, 1, {*i.code}));
        return;
    }
    if (!i.code) {
        ctx.body.push_back({std::nullopt, [t = i.type](RuleBuilder& b) {
                                payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
                                cmp(b, NFT_CMP_NEQ, {t});
                            }});
        return;
    }
    // `type . code != { t . c }`: a concatenation, each field padded to 32 bits
    const uint32_t keyType = i.family == Family::V4
                                 ? (kTypeIcmpType << kTypeBits) | kTypeIcmpCode
                                 : (kTypeIcmp6Type << kTypeBits) | kTypeIcmpv6Code;
    const Bytes key = {i.type, 0, 0, 0, *i.code, 0, 0, 0};
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
                            payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 1, 1, kReg32_01);
                            anonSet(b, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, keyType, 8,
                                    {SetElem{key, false, false}});
                            nftnl_expr* last = nullptr;
                            auto* it = nftnl_expr_iter_create(b.rule);
                            for (auto* e = nftnl_expr_iter_next(it); e;
                                 e = nftnl_expr_iter_next(it))
                                last = e;
                            nftnl_expr_iter_destroy(it);
                            nftnl_expr_set_u32(last, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
                        }});
}

void fibStmt(Ctx& ctx, const AddrTypeMatch& a) {
    auto type = routeTypeNumber(a.type);
    if (!type) {
        ctx.errors->push_back("unknown address type '" + a.type + "'");
        return;
    }
    const uint32_t flags = a.dir == Direction::Source ? NFTA_FIB_F_SADDR : NFTA_FIB_F_DADDR;
    const bool negated = a.negated;
    const uint32_t value = *type;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            auto* e = expr("fib");
                            nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, flags);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, kReg1);
                            b.add(e);
                            cmp(b, negated ? NFT_CMP_NEQ : NFT_CMP_EQ, hostU32(value));
                        }});
}

void limitStmt(Ctx& ctx, const LimitMatch& l) {
    const uint64_t unit = limitUnitSeconds(l.unit);
    const uint64_t rate = l.rate;
    const uint32_t burst = l.burst;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            auto* e = expr("limit");
                            nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
                            nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, unit);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
                            nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
                            b.add(e);
                        }});
}

void macStmt(Ctx& ctx, const MacMatch& m) {
    if (!ctx.link) {
        uint16_t ether = 1;  // ARPHRD_ETHER
        Bytes v(2);
        std::memcpy(v.data(), &ether, 2);
        ctx.body.push_back(metaEq(NFT_META_IIFTYPE, v));
        ctx.link = true;
    }
    const Bytes mac(m.mac.begin(), m.mac.end());
    if (!m.negated) {
        ctx.body.push_back(payloadEq(NFT_PAYLOAD_LL_HEADER, 6, mac));
        return;
    }
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            payload(b, NFT_PAYLOAD_LL_HEADER, 6, 6);
                            cmp(b, NFT_CMP_NEQ, mac);
                        }});
}

/// `tcp flags`: the flags byte, masked unless the mask is every bit, compared.
void tcpFlagsStmt(Ctx& ctx, const TcpFlagsMatch& f) {
    needL4(ctx, 6, ctx.body);
    const uint8_t mask = f.mask, comp = f.comp;
    const uint32_t op = f.negated ? NFT_CMP_NEQ : NFT_CMP_EQ;
    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                            payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
                            if (mask != 0xff) bitwise(b, {mask}, {0});
                            cmp(b, op, {comp});
                        }});
}

struct RuleInfo {
    const ProtoMatch* proto = nullptr;  // the positive protocol match
    bool hideProto = false;             // the renderer leaves it out of the text
    std::optional<Family> network;      // from address and icmp matches (renderer's view)
};

bool isTcpReset(const Rule& rule, TableFamily table) {
    auto* r = std::get_if<Reject>(&rule.target);
    if (!r) return false;
    auto kind = rejectKind(r->with, table == TableFamily::Ip6 ? Family::V6 : Family::V4);
    return kind && kind->proto == RejectKind::Proto::TcpReset;
}

/// The same facts nft_text.cpp's RuleContext derives, which decide what its text says.
RuleInfo ruleInfo(TableFamily t, const Rule& r) {
    RuleInfo info;
    bool ports = false, icmp = false, flags = false;
    for (const Match& m : r.matches) {
        if (auto* p = std::get_if<ProtoMatch>(&m); p && !p->negated && !info.proto) info.proto = p;
        if (auto* a = std::get_if<AddrMatch>(&m); a && !a->items.empty())
            info.network = familyOf(a->items.front());
        if (auto* i = std::get_if<IcmpMatch>(&m)) info.network = i->family;
        if (std::holds_alternative<PortMatch>(m)) ports = true;
        if (std::holds_alternative<TcpFlagsMatch>(m)) flags = true;
    }
    if (!info.proto) return info;
    for (const Match& m : r.matches)
        if (auto* i = std::get_if<IcmpMatch>(&m))
            icmp = icmp || info.proto->proto == (i->family == Family::V4 ? 1 : 58);
    const bool reset = t != TableFamily::Inet && info.proto->proto == 6 && isTcpReset(r, t);
    info.hideProto =
        (ports && portProto(info.proto) != 0) || (flags && info.proto->proto == 6) || icmp || reset;
    return info;
}

/// Kept extensions come only from live legacy tables; nft has no form policyc writes for them.
void opaqueError(Ctx& ctx, std::string_view kind, const OpaqueExtension& x) {
    ctx.errors->push_back("iptables " + std::string(kind) + " '" + x.name + "' revision " +
                          std::to_string(x.revision) +
                          " (read from a legacy table, not understood "
                          "by policyc) has no nftables form");
}

void matchStmt(Ctx& ctx, const RuleInfo& info, const Match& m, const std::string& cgroupRoot) {
    std::visit(
        Overloaded{
            [&](const ProtoMatch& p) {
                if (&p == info.proto && info.hideProto) return;
                const uint8_t proto = p.proto;
                const bool negated = p.negated;
                if (ctx.table == TableFamily::Ip) {
                    if (!negated) {
                        ctx.body.push_back(payloadEq(NFT_PAYLOAD_NETWORK_HEADER, 9, {proto}));
                    } else {
                        ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                                                payload(b, NFT_PAYLOAD_NETWORK_HEADER, 9, 1);
                                                cmp(b, NFT_CMP_NEQ, {proto});
                                            }});
                    }
                } else {
                    ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                                            metaLoad(b, NFT_META_L4PROTO);
                                            cmp(b, negated ? NFT_CMP_NEQ : NFT_CMP_EQ, {proto});
                                        }});
                }
                if (!negated) ctx.l4 = proto;
            },
            [&](const AddrMatch& a) {
                if (a.items.empty()) return;
                const Family f = familyOf(a.items.front());
                needNetwork(ctx, f, ctx.body);
                const bool v4 = f == Family::V4;
                const uint32_t offset = v4 ? (a.dir == Direction::Source ? 12 : 16)
                                           : (a.dir == Direction::Source ? 8 : 24);
                const Load load{NFT_PAYLOAD_NETWORK_HEADER, offset, v4 ? 4u : 16u};
                ctx.body.push_back(valueStmt(load, addrShape(a.items), a.negated,
                                             v4 ? kTypeIpAddr : kTypeIp6Addr));
            },
            [&](const PortMatch& p) {
                const uint8_t proto = portProto(info.proto);
                if (proto != 0) needL4(ctx, proto, ctx.body);
                const Load load{NFT_PAYLOAD_TRANSPORT_HEADER, p.dir == Direction::Source ? 0u : 2u,
                                2};
                ctx.body.push_back(
                    valueStmt(load, portShape(p.ports), p.negated, kTypeInetService));
            },
            [&](const TcpFlagsMatch& f) { tcpFlagsStmt(ctx, f); },
            [&](const IfaceMatch& i) { ifaceStmt(ctx, i); },
            [&](const CtStateMatch& c) { ctStateStmt(ctx, c); },
            [&](const MarkMatch& mm) { markStmt(ctx, false, mm.negated, mm.mark); },
            [&](const ConnmarkMatch& c) { markStmt(ctx, true, c.negated, c.mark); },
            [&](const OwnerMatch& o) { ownerStmt(ctx, o); },
            [&](const CgroupMatch& c) { cgroupStmt(ctx, c, cgroupRoot); },
            [&](const SocketMatch& s) { socketStmt(ctx, s); },
            [&](const IcmpMatch& i) { icmpStmt(ctx, i); },
            [&](const AddrTypeMatch& a) { fibStmt(ctx, a); },
            [&](const LimitMatch& l) { limitStmt(ctx, l); },
            [&](const MacMatch& mac) { macStmt(ctx, mac); },
            [&](const OpaqueMatch& o) {
                if (o.header)
                    ctx.errors->push_back(
                        "an iptables ip header condition (read from a legacy table, not "
                        "understood by policyc: -f, a mask that is no prefix ...) has no "
                        "nftables form");
                else
                    opaqueError(ctx, "match", o.ext);
            },
        },
        m);
}

// ---------------------------------------------------------------------------------------------
// Targets

/// reg = (reg & mask) ^ xor on a 32-bit register, or nothing when that is the identity.
void markBitwise(RuleBuilder& b, uint32_t mask, uint32_t xorValue) {
    if (mask == 0xffffffff && xorValue == 0) return;
    bitwise(b, hostU32(mask), hostU32(xorValue));
}

/// key = (key & ~m.mask) ^ m.value; a full mask is a plain assignment.
void markSetExprs(RuleBuilder& b, bool isCt, const MarkMask& m) {
    if (m.mask == 0xffffffff) {
        immediateData(b, kReg1, hostU32(m.value));
    } else {
        if (isCt)
            ctLoad(b, NFT_CT_MARK);
        else
            metaLoad(b, NFT_META_MARK);
        markBitwise(b, ~m.mask, m.value);
    }
    if (isCt)
        ctSet(b, NFT_CT_MARK);
    else
        metaSet(b, NFT_META_MARK);
}

void rejectExprs(Ctx& ctx, const Reject& r) {
    using Proto = RejectKind::Proto;
    auto reject = [&](uint32_t type, uint8_t code) {
        ctx.body.push_back({std::nullopt, [=](RuleBuilder& b) {
                                auto* e = expr("reject");
                                nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
                                nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
                                b.add(e);
                            }});
    };
    std::optional<RejectKind> kind;
    if (r.with.empty()) {
        // plain `reject`, or the family's port-unreachable once the family is known (inet)
        if (ctx.table == TableFamily::Ip) return reject(NFT_REJECT_ICMP_UNREACH, 3);
        if (ctx.table == TableFamily::Ip6) return reject(NFT_REJECT_ICMP_UNREACH, 4);
        if (!ctx.network) return reject(NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_PORT_UNREACH);
        return reject(NFT_REJECT_ICMP_UNREACH, ctx.network == Family::V4 ? 3 : 4);
    }
    const Family ambiguous =
        ctx.table == TableFamily::Ip6 || ctx.network == Family::V6 ? Family::V6 : Family::V4;
    kind = rejectKind(r.with, ambiguous);
    if (!kind) {
        ctx.errors->push_back("unknown reject type '" + r.with + "'");
        return;
    }
    if (kind->proto == Proto::TcpReset) {
        // nft puts the dependency in front of the whole rule
        if (ctx.l4 != 6) ctx.head.push_back(metaEq(NFT_META_L4PROTO, {6}));
        return reject(NFT_REJECT_TCP_RST, 0);
    }
    const Family f = kind->proto == Proto::Icmp ? Family::V4 : Family::V6;
    if (ctx.table == TableFamily::Inet && ctx.network != f) ctx.head.push_back(nfprotoDep(f));
    reject(NFT_REJECT_ICMP_UNREACH, *icmpCodeNumber(f, kind->code));
}

uint32_t natFamily(const Ctx& ctx, const std::optional<IpAddr>& addr) {
    if (ctx.table == TableFamily::Inet)
        return addr ? (addr->family == Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6) : NFPROTO_INET;
    return nfproto(ctx.table);
}

Bytes addrValue(const IpAddr& a) {
    return Bytes(a.bytes.begin(), a.bytes.begin() + (a.family == Family::V4 ? 4 : 16));
}

/// immediates for addresses and ports, then the nat/masq/redir expression naming them.
void natLike(RuleBuilder& b, const char* name, std::optional<uint32_t> type,
             std::optional<uint32_t> family, const std::optional<IpAddr>& first,
             const std::optional<IpAddr>& last, const std::optional<NumRange>& ports) {
    uint32_t reg = kReg1;
    std::optional<uint32_t> addrMin, addrMax, protoMin, protoMax;
    if (first) immediateData(b, *(addrMin = reg++), addrValue(*first));
    if (first && last) immediateData(b, *(addrMax = reg++), addrValue(*last));
    if (ports) immediateData(b, *(protoMin = reg++), be16(ports->first));
    if (ports && !ports->single()) immediateData(b, *(protoMax = reg++), be16(ports->last));
    auto* e = expr(name);
    // nat, masq and redir number their port and flag attributes differently
    uint16_t minAttr = NFTNL_EXPR_NAT_REG_PROTO_MIN, maxAttr = NFTNL_EXPR_NAT_REG_PROTO_MAX,
             flagsAttr = NFTNL_EXPR_NAT_FLAGS;
    if (std::strcmp(name, "masq") == 0) {
        minAttr = NFTNL_EXPR_MASQ_REG_PROTO_MIN;
        maxAttr = NFTNL_EXPR_MASQ_REG_PROTO_MAX;
        flagsAttr = NFTNL_EXPR_MASQ_FLAGS;
    } else if (std::strcmp(name, "redir") == 0) {
        minAttr = NFTNL_EXPR_REDIR_REG_PROTO_MIN;
        maxAttr = NFTNL_EXPR_REDIR_REG_PROTO_MAX;
        flagsAttr = NFTNL_EXPR_REDIR_FLAGS;
    }
    if (type) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, *type);
    if (family) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, *family);
    if (addrMin) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, *addrMin);
    if (addrMax) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, *addrMax);
    if (protoMin) nftnl_expr_set_u32(e, minAttr, *protoMin);
    if (protoMax) nftnl_expr_set_u32(e, maxAttr, *protoMax);
    if (ports) nftnl_expr_set_u32(e, flagsAttr, NF_NAT_RANGE_PROTO_SPECIFIED);
    b.add(e);
}

void targetStmt(Ctx& ctx, const Target& t) {
    auto push = [&](std::function<void(RuleBuilder&)> f) {
        ctx.body.push_back({std::nullopt, std::move(f)});
    };
    const std::string table = ctx.tableName;
    std::visit(Overloaded{
                   [&](const NoTarget& t) {
                       if (t.counts) push([](RuleBuilder& b) { simple(b, "counter"); });
                   },
                   [&](const Accept&) { push([](RuleBuilder& b) { verdict(b, NF_ACCEPT); }); },
                   [&](const Drop&) { push([](RuleBuilder& b) { verdict(b, NF_DROP); }); },
                   [&](const Return&) { push([](RuleBuilder& b) { verdict(b, NFT_RETURN); }); },
                   [&](const Jump& j) {
                       const std::string chain = chainName(table, j.chain);
                       push([=](RuleBuilder& b) { verdict(b, NFT_JUMP, chain); });
                   },
                   [&](const Goto& g) {
                       const std::string chain = chainName(table, g.chain);
                       push([=](RuleBuilder& b) { verdict(b, NFT_GOTO, chain); });
                   },
                   [&](const Reject& r) { rejectExprs(ctx, r); },
                   [&](const Log& l) {
                       const Log log = l;
                       push([=](RuleBuilder& b) {
                           auto* e = expr("log");
                           if (!log.prefix.empty())
                               nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, log.prefix.c_str());
                           if (log.level && *log.level != 4)
                               nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_LEVEL, *log.level);
                           b.add(e);
                       });
                   },
                   [&](const SetMark& s) {
                       const MarkMask m = s.mark;
                       push([=](RuleBuilder& b) { markSetExprs(b, false, m); });
                   },
                   [&](const Connmark& c) {
                       const Connmark cm = c;
                       push([=](RuleBuilder& b) {
                           switch (cm.op) {
                               case Connmark::Op::Set:
                                   return markSetExprs(b, true, cm.mark);
                               case Connmark::Op::Save:
                                   metaLoad(b, NFT_META_MARK);
                                   markBitwise(b, cm.mark.mask, 0);
                                   return ctSet(b, NFT_CT_MARK);
                               case Connmark::Op::Restore:
                                   ctLoad(b, NFT_CT_MARK);
                                   markBitwise(b, cm.mark.mask, 0);
                                   return metaSet(b, NFT_META_MARK);
                           }
                       });
                   },
                   [&](const Nat& n) {
                       const Nat nat = n;
                       const uint32_t family = natFamily(ctx, n.first);
                       push([=](RuleBuilder& b) {
                           natLike(b, "nat",
                                   nat.kind == Nat::Kind::Snat ? NFT_NAT_SNAT : NFT_NAT_DNAT,
                                   family, nat.first, nat.last, nat.ports);
                       });
                   },
                   [&](const Masquerade& m) {
                       const auto ports = m.ports;
                       push([=](RuleBuilder& b) {
                           natLike(b, "masq", std::nullopt, std::nullopt, std::nullopt,
                                   std::nullopt, ports);
                       });
                   },
                   [&](const Redirect& r) {
                       const auto ports = r.ports;
                       push([=](RuleBuilder& b) {
                           natLike(b, "redir", std::nullopt, std::nullopt, std::nullopt,
                                   std::nullopt, ports);
                       });
                   },
                   [&](const Tproxy& tp) {
                       const Tproxy t = tp;
                       const uint32_t family = ctx.table != TableFamily::Inet ? nfproto(ctx.table)
                                               : t.family == Family::V4 ? uint32_t{NFPROTO_IPV4}
                                                                        : uint32_t{NFPROTO_IPV6};
                       push([=](RuleBuilder& b) {
                           uint32_t reg = kReg1;
                           std::optional<uint32_t> addrReg;
                           if (t.addr) immediateData(b, *(addrReg = reg++), addrValue(*t.addr));
                           const uint32_t portReg = reg;
                           immediateData(b, portReg, be16(t.port));
                           auto* e = expr("tproxy");
                           nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_FAMILY, family);
                           if (addrReg) nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_ADDR, *addrReg);
                           nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_PORT, portReg);
                           b.add(e);
                           if (t.mark.mask != 0 || t.mark.value != 0)
                               markSetExprs(b, false, t.mark);
                           verdict(b, NF_ACCEPT);
                       });
                   },
                   [&](const Notrack&) { push([](RuleBuilder& b) { simple(b, "notrack"); }); },
                   [&](const TcpMss& t) {
                       const auto mss = t.mss;
                       push([=](RuleBuilder& b) { tcpMssExprs(b, mss); });
                   },
                   [&](const OpaqueTarget& o) { opaqueError(ctx, "target", o.ext); },
               },
               t);
}

// ---------------------------------------------------------------------------------------------
// Rules, chains, tables

struct Builder {
    NftRuleset out;
    uint32_t nextSetId = 1;
    std::string cgroupRoot;

    void rule(TableFamily family, const Table& table, const Chain& chain, size_t index,
              const Rule& r);
    void chain(TableFamily family, const Table& table, const Chain& chain);
};

void Builder::rule(TableFamily family, const Table& table, const Chain& chain, size_t index,
                   const Rule& r) {
    Ctx ctx{family, table.name, std::nullopt, std::nullopt, false, {}, {}, &out.errors};
    if (family == TableFamily::Ip) ctx.network = Family::V4;
    if (family == TableFamily::Ip6) ctx.network = Family::V6;
    const RuleInfo info = ruleInfo(family, r);
    std::vector<const Match*> order;
    for (const Match& m : r.matches) order.push_back(&m);
    std::stable_sort(order.begin(), order.end(),
                     [](const Match* a, const Match* b) { return matchRank(*a) < matchRank(*b); });
    // An inet table's text carries the `meta l4proto tcp` of `reject with tcp reset` up front.
    const bool tcpKnown = info.proto && info.proto->proto == 6;
    if (family == TableFamily::Inet && !tcpKnown && isTcpReset(r, family)) {
        ctx.body.push_back(metaEq(NFT_META_L4PROTO, {6}));
        ctx.l4 = 6;
    }
    // What each statement comes from; a merged payload load keeps its first part's origin.
    auto from = [&](int32_t origin, size_t head, size_t body) {
        for (size_t i = head; i < ctx.head.size(); ++i) ctx.head[i].origin = origin;
        for (size_t i = body; i < ctx.body.size(); ++i) ctx.body[i].origin = origin;
    };
    for (const Match* m : order) {
        const size_t head = ctx.head.size(), body = ctx.body.size();
        matchStmt(ctx, info, *m, cgroupRoot);
        from(static_cast<int32_t>(m - r.matches.data()), head, body);
    }
    targetStmt(ctx, r.target);

    NftObject obj;
    obj.kind = NftObject::Kind::Rule;
    obj.family = nfproto(family);
    obj.chainName = chainName(table.name, chain.name);
    obj.ruleIndex = index;
    obj.span = r.span;
    obj.rule.reset(nftnl_rule_alloc());
    nftnl_rule* nr = obj.rule.get();
    nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, obj.family);
    nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, std::string(kTableName).c_str());
    nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, obj.chainName.c_str());
    std::vector<NftObject> sets;
    RuleBuilder b{nr, &sets,         &nextSetId, obj.family, std::string(kTableName),
                  &r, kTargetOrigin, {}};
    std::vector<Stmt> all = std::move(ctx.head);
    for (Stmt& s : ctx.body) all.push_back(std::move(s));
    for (const Stmt& s : mergePayloads(std::move(all))) emit(b, s);
    obj.exprOrigins = std::move(b.origins);
    for (int32_t o : obj.exprOrigins) obj.exprSpans.push_back(b.span(o));
    if (!r.comment.empty()) {
        nftnl_udata_buf* ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
        nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, r.comment.c_str());
        nftnl_rule_set_data(nr, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
                            nftnl_udata_buf_len(ud));
        nftnl_udata_buf_free(ud);
    }
    for (NftObject& s : sets) {
        s.chainName = obj.chainName;
        s.ruleIndex = index;
        out.objects.push_back(std::move(s));
    }
    out.objects.push_back(std::move(obj));
}

void Builder::chain(TableFamily family, const Table& table, const Chain& c) {
    NftObject obj;
    obj.kind = NftObject::Kind::Chain;
    obj.family = nfproto(family);
    obj.chainName = chainName(table.name, c.name);
    obj.span = c.span;
    obj.chain.reset(nftnl_chain_alloc());
    nftnl_chain* nc = obj.chain.get();
    nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, obj.family);
    nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, std::string(kTableName).c_str());
    nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, obj.chainName.c_str());
    if (auto base = baseChain(table.name, c.name)) {
        nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE, std::string(base->type).c_str());
        nftnl_chain_set_u32(nc, NFTNL_CHAIN_HOOKNUM, hookNumber(base->hook));
        nftnl_chain_set_s32(nc, NFTNL_CHAIN_PRIO, base->priority);
        nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY,
                            c.policy == ChainPolicy::Drop ? NF_DROP : NF_ACCEPT);
    }
    out.objects.push_back(std::move(obj));
}

}  // namespace

NftRuleset linearize(const ir::Host& host, const std::string& cgroupRoot) {
    Builder b;
    b.cgroupRoot = cgroupRoot;
    for (TableFamily family : {TableFamily::Inet, TableFamily::Ip, TableFamily::Ip6}) {
        const bool present = std::any_of(host.tables.begin(), host.tables.end(),
                                         [&](const Table& t) { return t.family == family; });
        if (!present) continue;
        NftObject t;
        t.kind = NftObject::Kind::Table;
        t.family = nfproto(family);
        t.table.reset(nftnl_table_alloc());
        nftnl_table_set_u32(t.table.get(), NFTNL_TABLE_FAMILY, t.family);
        nftnl_table_set_str(t.table.get(), NFTNL_TABLE_NAME, std::string(kTableName).c_str());
        for (const Table& table : host.tables)
            if (table.family == family) t.span = table.span;
        b.out.families.push_back(t.family);
        b.out.objects.push_back(std::move(t));
        // nft creates every chain of a table before the first rule, so jumps resolve
        for (const Table& table : host.tables)
            if (table.family == family)
                for (const Chain& c : table.chains)
                    if (!foldedIntoBaseChain(table, c)) b.chain(family, table, c);
        for (const Table& table : host.tables) {
            if (table.family != family) continue;
            for (const Chain& c : table.chains) {
                if (foldedIntoBaseChain(table, c)) continue;
                const std::vector<Rule>& rules = nftRules(table, c);
                for (size_t i = 0; i < rules.size(); ++i) b.rule(family, table, c, i, rules[i]);
            }
        }
    }
    return std::move(b.out);
}

namespace {

/// nftnl_set_elem_clone is not exported by libnftnl 1.2.4: copy what policyc sets.
nftnl_set_elem* copyElem(nftnl_set_elem* from) {
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    uint32_t len = 0;
    const void* key = nftnl_set_elem_get(from, NFTNL_SET_ELEM_KEY, &len);
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
    if (nftnl_set_elem_is_set(from, NFTNL_SET_ELEM_FLAGS))
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
                               nftnl_set_elem_get_u32(from, NFTNL_SET_ELEM_FLAGS));
    if (nftnl_set_elem_is_set(from, NFTNL_SET_ELEM_USERDATA)) {
        const void* ud = nftnl_set_elem_get(from, NFTNL_SET_ELEM_USERDATA, &len);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, ud, len);
    }
    return e;
}

}  // namespace

std::string expressionName(const NftObject& rule, size_t index) {
    std::string name = "?";
    nftnl_expr_iter* it = nftnl_expr_iter_create(rule.rule.get());
    size_t i = 0;
    for (nftnl_expr* e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it), ++i)
        if (i == index) name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    nftnl_expr_iter_destroy(it);
    return name;
}

std::string debugText(const NftRuleset& ruleset) {
    std::string out;
    std::vector<char> buf(1 << 16);
    for (const NftObject& o : ruleset.objects) {
        if (o.kind == NftObject::Kind::Set) {
            // nft prints the set as it creates it, then again holding only its elements
            // NEWSET carries no elements; NEWSETELEM names the set and carries them
            NftnlPtr<nftnl_set> head(nftnl_set_alloc());
            for (uint16_t attr : {NFTNL_SET_TABLE, NFTNL_SET_NAME})
                nftnl_set_set_str(head.get(), attr, nftnl_set_get_str(o.set.get(), attr));
            for (uint16_t attr : {NFTNL_SET_FLAGS, NFTNL_SET_DESC_SIZE})
                nftnl_set_set_u32(head.get(), attr, nftnl_set_get_u32(o.set.get(), attr));
            nftnl_set_snprintf(buf.data(), buf.size(), head.get(), NFTNL_OUTPUT_DEFAULT, 0);
            out += buf.data();
            out += "\n";
            NftnlPtr<nftnl_set> elems(nftnl_set_alloc());
            nftnl_set_set_str(elems.get(), NFTNL_SET_TABLE,
                              nftnl_set_get_str(o.set.get(), NFTNL_SET_TABLE));
            nftnl_set_set_str(elems.get(), NFTNL_SET_NAME,
                              nftnl_set_get_str(o.set.get(), NFTNL_SET_NAME));
            auto* it = nftnl_set_elems_iter_create(o.set.get());
            for (auto* e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it))
                nftnl_set_elem_add(elems.get(), copyElem(e));
            nftnl_set_elems_iter_destroy(it);
            nftnl_set_snprintf(buf.data(), buf.size(), elems.get(), NFTNL_OUTPUT_DEFAULT, 0);
            out += buf.data();
            out += "\n";
        } else if (o.kind == NftObject::Kind::Rule) {
            nftnl_rule_snprintf(buf.data(), buf.size(), o.rule.get(), NFTNL_OUTPUT_DEFAULT, 0);
            out += buf.data();
            out += "\n";
        }
    }
    return out;
}

}  // namespace policyc::backends::nft
