// SPDX-License-Identifier: GPL-2.0-or-later
// nf_tables over netlink with libmnl: requests, dumps and the one-transaction table replacement.
// Every batch message asks for an ACK, so a refusal names the message (by sequence number) and
// through it the object policyc built.
#include "backends/nft/nft_batch.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <string_view>

#include "backends/text/nft_text_vocab.h"

namespace policyc::backends::nft {

NftSocket::NftSocket() {
    sock_ = mnl_socket_open(NETLINK_NETFILTER);
    if (!sock_) {
        error_ = std::string("cannot open a netfilter netlink socket: ") + std::strerror(errno);
        return;
    }
    if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
        error_ = std::string("cannot bind the netlink socket: ") + std::strerror(errno);
        return;
    }
    portid_ = mnl_socket_get_portid(sock_);
    seq_ = static_cast<uint32_t>(time(nullptr));
    int one = 1;
    mnl_socket_setsockopt(sock_, NETLINK_EXT_ACK, &one, sizeof(one));
    // Every batch message is acknowledged; room for all the ACKs of a large ruleset.
    const int rcvbuf = 16 << 20;
    setsockopt(mnl_socket_get_fd(sock_), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
}

NftSocket::~NftSocket() {
    if (sock_) mnl_socket_close(sock_);
}

constexpr size_t kDumpBuffer = 512 * 1024;

bool talk(NftSocket& s, const nlmsghdr* nlh, mnl_cb_t cb, void* data, std::string& error) {
    if (mnl_socket_sendto(s.get(), nlh, nlh->nlmsg_len) < 0) {
        error = std::string("netlink send failed: ") + std::strerror(errno);
        return false;
    }
    // The kernel sizes each dump datagram by the largest receive buffer seen (up to about
    // 512 KiB), and every continuation of a rule dump walks the chain from its first rule:
    // fewer, larger datagrams make reading a long chain back far cheaper (nft uses 68 KiB).
    // One buffer for every call (talk never nests): a set's elements are one call each.
    static thread_local std::vector<char> buf(kDumpBuffer);
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(s.get(), buf.data(), buf.size());
        if (n < 0) {
            error = std::string("netlink receive failed: ") + std::strerror(errno);
            return false;
        }
        const int ret =
            mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, s.portid(), cb, data);
        if (ret < 0) {
            error = std::strerror(errno);
            return false;
        }
        if (ret == MNL_CB_STOP) return true;
    }
}

namespace {

int genCb(const nlmsghdr* nlh, void* data) {
    nftnl_gen* gen = nftnl_gen_alloc();
    if (nftnl_gen_nlmsg_parse(nlh, gen) == 0)
        *static_cast<std::optional<uint32_t>*>(data) = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
    nftnl_gen_free(gen);
    return MNL_CB_OK;
}

int noopCb(const nlmsghdr*, void*) { return MNL_CB_OK; }

const std::string kTable(kTableName);

/// A growing buffer of netlink messages, remembering which object each sequence number is and
/// where its message starts in `buf`.
struct Batch {
    struct Sent {
        std::optional<size_t> object;
        size_t at = 0;
    };
    std::vector<char> buf;
    size_t used = 0;
    std::map<uint32_t, Sent> objectOfSeq;
    size_t acks = 0;

    char* tail() {
        // Messages are built in place; leave room for the largest one (a big set).
        if (buf.size() - used < (1u << 20)) buf.resize(buf.size() + (4u << 20));
        return buf.data() + used;
    }
    void commit(nlmsghdr* nlh, std::optional<size_t> object, bool acked) {
        if (acked) {
            objectOfSeq[nlh->nlmsg_seq] = {object, used};
            ++acks;
        }
        used += NLMSG_ALIGN(nlh->nlmsg_len);
    }
};

nlmsghdr* header(Batch& b, NftSocket& s, uint16_t type, uint16_t family, uint16_t flags) {
    return nftnl_nlmsg_build_hdr(b.tail(), type, family, flags | NLM_F_ACK, s.nextSeq());
}

void addTableMsg(Batch& b, NftSocket& s, uint16_t type, uint16_t family,
                 std::optional<size_t> object, nftnl_table* table = nullptr) {
    nftnl_table* t = table;
    nftnl_table* own = nullptr;
    if (!t) {
        t = own = nftnl_table_alloc();
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, kTable.c_str());
    }
    nlmsghdr* nlh = header(b, s, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
    nftnl_table_nlmsg_build_payload(nlh, t);
    if (own) nftnl_table_free(own);
    b.commit(nlh, object, true);
}

void addObject(Batch& b, NftSocket& s, const NftObject& o, size_t index) {
    switch (o.kind) {
        case NftObject::Kind::Table:
            return addTableMsg(b, s, NFT_MSG_NEWTABLE, o.family, index, o.table.get());
        case NftObject::Kind::Chain: {
            nlmsghdr* nlh = header(b, s, NFT_MSG_NEWCHAIN, o.family, NLM_F_CREATE);
            nftnl_chain_nlmsg_build_payload(nlh, o.chain.get());
            return b.commit(nlh, index, true);
        }
        case NftObject::Kind::Set: {
            nlmsghdr* nlh = header(b, s, NFT_MSG_NEWSET, o.family, NLM_F_CREATE);
            nftnl_set_nlmsg_build_payload(nlh, o.set.get());
            b.commit(nlh, index, true);
            nlh = header(b, s, NFT_MSG_NEWSETELEM, o.family, NLM_F_CREATE);
            nftnl_set_elems_nlmsg_build_payload(nlh, o.set.get());
            return b.commit(nlh, index, true);
        }
        case NftObject::Kind::Rule: {
            nlmsghdr* nlh = header(b, s, NFT_MSG_NEWRULE, o.family, NLM_F_CREATE | NLM_F_APPEND);
            nftnl_rule_nlmsg_build_payload(nlh, o.rule.get());
            return b.commit(nlh, index, true);
        }
    }
}

struct AckState {
    Batch* batch;
    BatchError* error;
    bool failed = false;
    size_t seen = 0;
};

/// Reads the ACKs the kernel queued while it processed the batch (all of them are there when
/// sendto returns, as nft relies on too); the first error wins.
bool collectAcks(NftSocket& s, AckState& st) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
    const int fd = mnl_socket_get_fd(s.get());
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, st.seen < st.batch->acks ? 1000 : 0) <= 0) break;
        const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_type != NLMSG_ERROR) continue;
            ++st.seen;
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            if (err->error == 0 || st.failed) continue;
            st.failed = true;
            st.error->errnum = -err->error;
            st.error->message = std::strerror(-err->error);
            const ExtAck ack = parseExtAck(nlh);
            st.error->kernelMessage = ack.message;
            auto it = st.batch->objectOfSeq.find(nlh->nlmsg_seq);
            if (it == st.batch->objectOfSeq.end()) continue;
            st.error->object = it->second.object;
            const auto* sent =
                reinterpret_cast<const nlmsghdr*>(st.batch->buf.data() + it->second.at);
            if (ack.offset && NFNL_MSG_TYPE(sent->nlmsg_type) == NFT_MSG_NEWRULE)
                st.error->expression = expressionAt(sent, *ack.offset);
        }
    }
    return !st.failed;
}

}  // namespace

namespace {

/// Calls `f` on each attribute in [from, from + len) (libmnl's iteration macros are C only).
template <typename F>
void eachAttr(const void* from, size_t len, F f) {
    const auto* attr = static_cast<const nlattr*>(from);
    int left = static_cast<int>(len);
    while (mnl_attr_ok(attr, left)) {
        f(attr);
        left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
        attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(attr) +
                                               MNL_ALIGN(attr->nla_len));
    }
}

}  // namespace

ExtAck parseExtAck(const nlmsghdr* nlh) {
    ExtAck ack;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr))
        return ack;
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    // The TLVs follow the echoed request: all of it, or its header only when capped.
    size_t skip = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) skip += err->msg.nlmsg_len - sizeof(nlmsghdr);
    skip = NLMSG_ALIGN(skip);
    if (NLMSG_HDRLEN + skip > nlh->nlmsg_len) return ack;
    const char* payload = static_cast<const char*>(mnl_nlmsg_get_payload(nlh));
    eachAttr(payload + skip, nlh->nlmsg_len - NLMSG_HDRLEN - skip, [&](const nlattr* attr) {
        const uint16_t type = mnl_attr_get_type(attr);
        if (type == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
            ack.message = mnl_attr_get_str(attr);
        else if (type == NLMSGERR_ATTR_OFFS && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
            ack.offset = mnl_attr_get_u32(attr);
    });
    return ack;
}

std::optional<size_t> expressionAt(const nlmsghdr* rule, uint32_t offset) {
    const auto* base = reinterpret_cast<const char*>(rule);
    const size_t first = NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
    if (rule->nlmsg_len < first) return std::nullopt;
    std::optional<size_t> found;
    eachAttr(base + first, rule->nlmsg_len - first, [&](const nlattr* list) {
        if (mnl_attr_get_type(list) != NFTA_RULE_EXPRESSIONS) return;
        size_t index = 0;
        eachAttr(
            mnl_attr_get_payload(list), mnl_attr_get_payload_len(list), [&](const nlattr* elem) {
                const auto start = static_cast<size_t>(reinterpret_cast<const char*>(elem) - base);
                if (offset >= start && offset < start + elem->nla_len) found = index;
                ++index;
            });
    });
    return found;
}

std::optional<uint32_t> generationId(NftSocket& sock, std::string& error) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, sock.nextSeq());
    std::optional<uint32_t> id;
    if (!talk(sock, nlh, genCb, &id, error)) return std::nullopt;
    if (!id) error = "the kernel sent no ruleset generation";
    return id;
}

std::optional<bool> tableExists(NftSocket& sock, uint16_t family, std::string& error) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, family, NLM_F_ACK, sock.nextSeq());
    nftnl_table* t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, kTable.c_str());
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    std::string err;
    if (talk(sock, nlh, noopCb, nullptr, err)) return true;
    if (errno == ENOENT) return false;
    error = "cannot read nftables table " + kTable + ": " + err;
    return std::nullopt;
}

bool replaceTables(NftSocket& sock, const std::vector<uint16_t>& replace, const NftRuleset& ruleset,
                   std::optional<uint32_t> genid, BatchError& error, BatchMode mode) {
    Batch b;
    nlmsghdr* begin = nftnl_batch_begin(b.tail(), sock.nextSeq());
    if (genid) mnl_attr_put_u32(begin, NFNL_BATCH_GENID, htonl(*genid));
    b.commit(begin, std::nullopt, false);
    // A refusal of the BEGIN message itself (ERESTART: generation changed) has this sequence.
    b.objectOfSeq[begin->nlmsg_seq] = {std::nullopt, 0};
    for (uint16_t family : replace) {
        addTableMsg(b, sock, NFT_MSG_NEWTABLE, family, std::nullopt);
        addTableMsg(b, sock, NFT_MSG_DELTABLE, family, std::nullopt);
    }
    for (size_t i = 0; i < ruleset.objects.size(); ++i) addObject(b, sock, ruleset.objects[i], i);
    if (mode == BatchMode::Commit)
        b.commit(nftnl_batch_end(b.tail(), sock.nextSeq()), std::nullopt, false);

    // The whole batch goes in one datagram, as the kernel processes it in one transaction.
    const int sndbuf = static_cast<int>(b.used) + (1 << 16);
    setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
    if (mnl_socket_sendto(sock.get(), b.buf.data(), b.used) < 0) {
        error.errnum = errno;
        error.message = std::string("cannot send the nftables batch: ") + std::strerror(errno);
        return false;
    }
    AckState st{&b, &error};
    return collectAcks(sock, st);
}

// ---------------------------------------------------------------------------------------------
// Objects as messages, for saved states

namespace {

/// Builds one message with `build`, then trims it. Attributes have 16-bit lengths, so an object
/// message (a set without its elements) stays under 128 KiB.
template <typename Build>
std::vector<uint8_t> oneMessage(uint16_t type, uint16_t family, Build build) {
    std::vector<uint8_t> buf(128u << 10);
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), type, family, NLM_F_CREATE, 0);
    build(nlh);
    buf.resize(nlh->nlmsg_len);
    return buf;
}

}  // namespace

std::vector<uint8_t> objectMessage(const NftObject& o) {
    switch (o.kind) {
        case NftObject::Kind::Table:
            return oneMessage(NFT_MSG_NEWTABLE, o.family, [&](nlmsghdr* n) {
                nftnl_table_nlmsg_build_payload(n, o.table.get());
            });
        case NftObject::Kind::Chain:
            return oneMessage(NFT_MSG_NEWCHAIN, o.family, [&](nlmsghdr* n) {
                nftnl_chain_nlmsg_build_payload(n, o.chain.get());
            });
        case NftObject::Kind::Set:
            return oneMessage(NFT_MSG_NEWSET, o.family,
                              [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, o.set.get()); });
        case NftObject::Kind::Rule:
            return oneMessage(NFT_MSG_NEWRULE, o.family, [&](nlmsghdr* n) {
                nftnl_rule_nlmsg_build_payload(n, o.rule.get());
            });
    }
    return {};
}

std::optional<std::vector<SetElement>> setElements(const NftObject& set) {
    std::vector<SetElement> out;
    nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(set.set.get());
    if (!it) return std::nullopt;
    bool ok = true;
    for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e && ok;
         e = nftnl_set_elems_iter_next(it)) {
        SetElement el;
        auto bytes = [&](uint16_t attr) {
            uint32_t len = 0;
            const auto* p = static_cast<const uint8_t*>(nftnl_set_elem_get(e, attr, &len));
            return p ? std::vector<uint8_t>(p, p + len) : std::vector<uint8_t>{};
        };
        el.key = bytes(NFTNL_SET_ELEM_KEY);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END))
            el.keyEnd = bytes(NFTNL_SET_ELEM_KEY_END);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
            el.flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        for (uint16_t other : {NFTNL_SET_ELEM_VERDICT, NFTNL_SET_ELEM_CHAIN, NFTNL_SET_ELEM_DATA,
                               NFTNL_SET_ELEM_TIMEOUT, NFTNL_SET_ELEM_EXPR, NFTNL_SET_ELEM_OBJREF,
                               NFTNL_SET_ELEM_EXPRESSIONS})
            ok = ok && !nftnl_set_elem_is_set(e, other);
        out.push_back(std::move(el));
    }
    nftnl_set_elems_iter_destroy(it);
    if (!ok) return std::nullopt;
    return out;
}

void addSetElements(NftObject& set, const std::vector<SetElement>& elements) {
    for (const SetElement& el : elements) {
        nftnl_set_elem* e = nftnl_set_elem_alloc();
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el.key.data(),
                           static_cast<uint32_t>(el.key.size()));
        if (!el.keyEnd.empty())
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, el.keyEnd.data(),
                               static_cast<uint32_t>(el.keyEnd.size()));
        if (el.flags) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, *el.flags);
        nftnl_set_elem_add(set.set.get(), e);
    }
}

std::optional<NftObject> objectFromMessage(const std::vector<uint8_t>& msg, uint16_t family) {
    auto header = [](const std::vector<uint8_t>& m) -> const nlmsghdr* {
        if (m.size() < sizeof(nlmsghdr)) return nullptr;
        const auto* n = reinterpret_cast<const nlmsghdr*>(m.data());
        return n->nlmsg_len <= m.size() && n->nlmsg_len >= NLMSG_HDRLEN ? n : nullptr;
    };
    const nlmsghdr* nlh = header(msg);
    if (!nlh) return std::nullopt;
    NftObject o;
    o.family = family;
    switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
        case NFT_MSG_NEWTABLE:
            o.kind = NftObject::Kind::Table;
            o.table.reset(nftnl_table_alloc());
            if (nftnl_table_nlmsg_parse(nlh, o.table.get()) < 0) return std::nullopt;
            return o;
        case NFT_MSG_NEWCHAIN:
            o.kind = NftObject::Kind::Chain;
            o.chain.reset(nftnl_chain_alloc());
            if (nftnl_chain_nlmsg_parse(nlh, o.chain.get()) < 0 ||
                !nftnl_chain_is_set(o.chain.get(), NFTNL_CHAIN_NAME))
                return std::nullopt;
            o.chainName = nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_NAME);
            return o;
        case NFT_MSG_NEWSET: {
            o.kind = NftObject::Kind::Set;
            o.set.reset(nftnl_set_alloc());
            if (nftnl_set_nlmsg_parse(nlh, o.set.get()) < 0) return std::nullopt;
            return o;
        }
        case NFT_MSG_NEWRULE:
            o.kind = NftObject::Kind::Rule;
            o.rule.reset(nftnl_rule_alloc());
            if (nftnl_rule_nlmsg_parse(nlh, o.rule.get()) < 0 ||
                !nftnl_rule_is_set(o.rule.get(), NFTNL_RULE_CHAIN))
                return std::nullopt;
            o.chainName = nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_CHAIN);
            return o;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Dumps

namespace {

struct DumpState {
    NftRuleset* into;
    uint16_t family;
    NftObject::Kind kind;
};

int dumpCb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<DumpState*>(data);
    NftObject o;
    o.kind = st->kind;
    o.family = st->family;
    switch (st->kind) {
        case NftObject::Kind::Table:
            o.table.reset(nftnl_table_alloc());
            if (nftnl_table_nlmsg_parse(nlh, o.table.get()) < 0) return MNL_CB_ERROR;
            nftnl_table_unset(o.table.get(), NFTNL_TABLE_HANDLE);
            nftnl_table_unset(o.table.get(), NFTNL_TABLE_USE);
            break;
        case NftObject::Kind::Chain:
            o.chain.reset(nftnl_chain_alloc());
            if (nftnl_chain_nlmsg_parse(nlh, o.chain.get()) < 0) return MNL_CB_ERROR;
            if (std::string(nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_TABLE)) != kTable)
                return MNL_CB_OK;
            for (uint16_t a : {NFTNL_CHAIN_HANDLE, NFTNL_CHAIN_USE, NFTNL_CHAIN_FLAGS})
                nftnl_chain_unset(o.chain.get(), a);
            o.chainName = nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_NAME);
            break;
        case NftObject::Kind::Set:
            o.set.reset(nftnl_set_alloc());
            if (nftnl_set_nlmsg_parse(nlh, o.set.get()) < 0) return MNL_CB_ERROR;
            if (std::string(nftnl_set_get_str(o.set.get(), NFTNL_SET_TABLE)) != kTable)
                return MNL_CB_OK;
            nftnl_set_unset(o.set.get(), NFTNL_SET_HANDLE);
            break;
        case NftObject::Kind::Rule:
            o.rule.reset(nftnl_rule_alloc());
            if (nftnl_rule_nlmsg_parse(nlh, o.rule.get()) < 0) return MNL_CB_ERROR;
            if (std::string(nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_TABLE)) != kTable)
                return MNL_CB_OK;
            nftnl_rule_unset(o.rule.get(), NFTNL_RULE_HANDLE);
            nftnl_rule_unset(o.rule.get(), NFTNL_RULE_POSITION);
            o.chainName = nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_CHAIN);
            break;
    }
    st->into->objects.push_back(std::move(o));
    return MNL_CB_OK;
}

int elemsCb(const nlmsghdr* nlh, void* data) {
    return nftnl_set_elems_nlmsg_parse(nlh, static_cast<nftnl_set*>(data)) < 0 ? MNL_CB_ERROR
                                                                               : MNL_CB_OK;
}

bool dumpKind(NftSocket& sock, uint16_t family, NftObject::Kind kind, NftRuleset& into,
              std::string& error) {
    static const std::map<NftObject::Kind, uint16_t> kMsg = {
        {NftObject::Kind::Table, NFT_MSG_GETTABLE},
        {NftObject::Kind::Chain, NFT_MSG_GETCHAIN},
        {NftObject::Kind::Set, NFT_MSG_GETSET},
        {NftObject::Kind::Rule, NFT_MSG_GETRULE}};
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    const bool table = kind == NftObject::Kind::Table;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), kMsg.at(kind), family,
                                          table ? NLM_F_ACK : NLM_F_DUMP, sock.nextSeq());
    if (table) {
        nftnl_table* t = nftnl_table_alloc();
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, kTable.c_str());
        nftnl_table_nlmsg_build_payload(nlh, t);
        nftnl_table_free(t);
    } else if (kind == NftObject::Kind::Set) {
        nftnl_set* s = nftnl_set_alloc();
        nftnl_set_set_str(s, NFTNL_SET_TABLE, kTable.c_str());
        nftnl_set_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
    } else if (kind == NftObject::Kind::Rule) {
        nftnl_rule* r = nftnl_rule_alloc();
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, kTable.c_str());
        nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
    }
    DumpState st{&into, family, kind};
    return talk(sock, nlh, dumpCb, &st, error);
}

/// The kernel refuses to re-create a dumped anonymous set under its old `__setN` name (EINVAL),
/// so a restored table re-creates each one as nft does: named `__set%d`, with a batch-local set
/// id that the rules' lookups refer to instead of the old name.
void renumberAnonymousSets(NftRuleset& ruleset, uint32_t firstId) {
    std::map<std::string, uint32_t> ids;
    for (NftObject& o : ruleset.objects) {
        if (o.kind != NftObject::Kind::Set ||
            !(nftnl_set_get_u32(o.set.get(), NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
            continue;
        ids[nftnl_set_get_str(o.set.get(), NFTNL_SET_NAME)] = firstId;
        nftnl_set_set_str(o.set.get(), NFTNL_SET_NAME, "__set%d");
        nftnl_set_set_u32(o.set.get(), NFTNL_SET_ID, firstId++);
    }
    if (ids.empty()) return;
    for (NftObject& o : ruleset.objects) {
        if (o.kind != NftObject::Kind::Rule) continue;
        nftnl_expr_iter* it = nftnl_expr_iter_create(o.rule.get());
        while (nftnl_expr* e = nftnl_expr_iter_next(it)) {
            if (std::string_view(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) != "lookup") continue;
            auto found = ids.find(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
            if (found == ids.end()) continue;
            nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, "__set%d");
            nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, found->second);
        }
        nftnl_expr_iter_destroy(it);
    }
}

}  // namespace

bool dumpOwnTables(NftSocket& sock, const std::vector<uint16_t>& families, NftRuleset& into,
                   std::string& error) {
    for (uint16_t family : families) {
        auto exists = tableExists(sock, family, error);
        if (!exists || (*exists && !dumpTable(sock, family, into, error))) return false;
    }
    return true;
}

bool dumpTable(NftSocket& sock, uint16_t family, NftRuleset& into, std::string& error) {
    NftRuleset part;
    for (auto kind : {NftObject::Kind::Table, NftObject::Kind::Chain, NftObject::Kind::Set,
                      NftObject::Kind::Rule})
        if (!dumpKind(sock, family, kind, part, error)) return false;
    // Elements of every set, then the sets ahead of the rules that use them.
    for (NftObject& o : part.objects) {
        if (o.kind != NftObject::Kind::Set) continue;
        std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, family, NLM_F_DUMP,
                                              sock.nextSeq());
        nftnl_set_elems_nlmsg_build_payload(nlh, o.set.get());
        if (!talk(sock, nlh, elemsCb, o.set.get(), error)) return false;
    }
    // Ids far above the linearizer's (which count from 1 per ruleset) so the two never meet.
    renumberAnonymousSets(part, 0x40000000u + static_cast<uint32_t>(into.objects.size()));
    for (NftObject& o : part.objects) into.objects.push_back(std::move(o));
    into.families.push_back(family);
    return true;
}

}  // namespace policyc::backends::nft
