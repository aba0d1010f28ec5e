// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target bodies: each feeds arbitrary bytes to one reader of hostile input. Only crashes,
// sanitizer reports and hangs count; diagnostics and nullopt are the expected answers.
#include "tests/fuzz/targets.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <algorithm>
#include <array>
#include <string>

#include "backends/ipt/ipt_blob.h"
#include "backends/netlink/routing_rtnl.h"
#include "backends/nft/nft_delinearize.h"
#include "backends/text/render.h"
#include "compiler/compile.h"
#include "compiler/import_iptables.h"
#include "compiler/import_nft_json.h"

namespace policyc::fuzz {

namespace {

constexpr std::array<std::string_view, 4> kTables{"filter", "nat", "mangle", "raw"};

uint32_t readU32(const uint8_t*& p) {
    uint32_t v = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    p += 4;
    return v;
}

void writeU32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

backends::netlink::InterfaceNames fixedNames() {
    static const std::array<std::string, 4> names{"lo", "eth0", "eth1", "vlan3"};
    return {[](const std::string& n) -> std::optional<uint32_t> {
                auto it = std::find(names.begin(), names.end(), n);
                if (it == names.end()) return std::nullopt;
                return uint32_t(it - names.begin() + 1);
            },
            [](uint32_t i) -> std::optional<std::string> {
                if (i == 0 || i > names.size()) return std::nullopt;
                return names[i - 1];
            }};
}

}  // namespace

void compileOne(const uint8_t* data, size_t size) {
    SourceManager sources;
    Diagnostics diags;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    // Rendering the diagnostics exercises the spans the front end reported.
    if (!compileText(text, "fuzz.pol", sources, diags)) renderText(diags.sorted(), sources);
}

void importOne(const uint8_t* data, size_t size) {
    SourceManager sources;
    Diagnostics diags;
    uint32_t id = sources.add("fuzz.save", std::string(reinterpret_cast<const char*>(data), size));
    if (!importIptablesSave(id, "fuzz", sources, diags)) renderText(diags.sorted(), sources);
}

void importNftJsonOne(const uint8_t* data, size_t size) {
    SourceManager sources;
    Diagnostics diags;
    uint32_t id = sources.add("fuzz.json", std::string(reinterpret_cast<const char*>(data), size));
    if (!importNftJson(id, "fuzz", sources, diags)) renderText(diags.sorted(), sources);
}

std::optional<backends::ipt::Blob> blobFromBytes(const uint8_t* data, size_t size) {
    if (size < kBlobHeaderBytes) return std::nullopt;
    backends::ipt::Blob blob;
    const uint8_t* p = data;
    blob.family = (*p & 1) ? ir::Family::V6 : ir::Family::V4;
    blob.table = kTables[(*p >> 1) & 3];
    ++p;
    blob.validHooks = readU32(p);
    for (auto& h : blob.hookEntry) h = readU32(p);
    for (auto& u : blob.underflow) u = readU32(p);
    blob.numEntries = readU32(p);
    blob.entries.assign(p, data + size);
    return blob;
}

std::vector<uint8_t> bytesFromBlob(const backends::ipt::Blob& blob) {
    auto table = std::find(kTables.begin(), kTables.end(), blob.table);
    std::vector<uint8_t> out{
        uint8_t((blob.family == ir::Family::V6 ? 1 : 0) | (table - kTables.begin()) << 1)};
    writeU32(out, blob.validHooks);
    for (uint32_t h : blob.hookEntry) writeU32(out, h);
    for (uint32_t u : blob.underflow) writeU32(out, u);
    writeU32(out, blob.numEntries);
    out.insert(out.end(), blob.entries.begin(), blob.entries.end());
    return out;
}

void iptBlobOne(const uint8_t* data, size_t size) {
    auto blob = blobFromBytes(data, size);
    if (!blob) return;
    Diagnostics diags;
    auto table = backends::ipt::decodeTable(*blob, diags);
    if (!table) return;
    // What decodes must encode back (unknown extensions as they were) and decode to a table
    // that lists the same (the decoder reads a hook without policy as ACCEPT, the encoder
    // writes every hook): apply re-loads the chains it does not own exactly this way.
    ir::Host host;
    host.tables.push_back(*table);
    const std::string listed = backends::renderIptables(host, blob->family);
    Diagnostics encodeDiags;
    auto again = backends::ipt::encodeTable(host, blob->family, blob->table, encodeDiags);
    if (!again) return;  // e.g. a jump into a built-in chain: refused, not misread
    auto back = backends::ipt::decodeTable(*again, encodeDiags);
    if (!back) __builtin_trap();
    ir::Host backHost;
    backHost.tables.push_back(std::move(*back));
    if (backends::renderIptables(backHost, blob->family) != listed) __builtin_trap();
}

void rtnlOne(const uint8_t* data, size_t size) {
    if (size < sizeof(nlmsghdr)) return;
    // Exactly `size` bytes on the heap, aligned as a socket buffer is, so that any read past the
    // message is caught. The kernel never sends nlmsg_len beyond what it wrote, and RtnlSocket
    // (mnl_nlmsg_ok) checks that; so does this harness.
    std::vector<uint8_t> bytes(data, data + size);  // operator new: aligned for nlmsghdr
    auto* nlh = reinterpret_cast<nlmsghdr*>(bytes.data());
    // Rounded down too: the kernel's messages are NLMSG_ALIGNed, and libmnl reads up to the
    // aligned end (bytes a receive buffer always has).
    const uint32_t len = std::min<uint32_t>(nlh->nlmsg_len, uint32_t(size));
    nlh->nlmsg_len = len & ~uint32_t(NLMSG_ALIGNTO - 1);
    if (nlh->nlmsg_len < sizeof(nlmsghdr)) return;
    static const auto names = fixedNames();
    if (auto rule = backends::netlink::decodeRule(*nlh)) backends::netlink::describe(*rule);
    if (auto route = backends::netlink::decodeRoute(*nlh, names))
        backends::netlink::describe(*route);
    (void)backends::netlink::ruleProtocol(*nlh);
    (void)backends::netlink::routeProtocol(*nlh);
    (void)backends::netlink::deletionOf(*nlh);
}

namespace {

using backends::nft::NftObject;

/// libnftnl trusts the kernel: an expression without its name makes nftnl_rule_nlmsg_parse
/// strcmp(NULL). The kernel always sends one, so such messages are left out, not fuzzed.
bool expressionsNamed(const nlmsghdr* nlh) {
    const nlattr* exprs = nullptr;
    mnl_attr_parse(
        nlh, sizeof(nfgenmsg),
        [](const nlattr* a, void* data) {
            if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS)
                *static_cast<const nlattr**>(data) = a;
            return MNL_CB_OK;
        },
        &exprs);
    if (!exprs) return true;
    const auto* end =
        static_cast<const char*>(mnl_attr_get_payload(exprs)) + mnl_attr_get_payload_len(exprs);
    for (auto* elem = static_cast<const nlattr*>(mnl_attr_get_payload(exprs));
         mnl_attr_ok(elem, int(end - reinterpret_cast<const char*>(elem)));
         elem = mnl_attr_next(elem)) {
        const nlattr* name = nullptr;
        mnl_attr_parse_nested(
            elem,
            [](const nlattr* a, void* data) {
                if (mnl_attr_get_type(a) == NFTA_EXPR_NAME) *static_cast<const nlattr**>(data) = a;
                return MNL_CB_OK;
            },
            &name);
        if (!name || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0) return false;
    }
    return true;
}

/// One dumped object as dumpRuleset() reads it; false for what the kernel never sends (an
/// object without its name or its table's) or what libnftnl refuses. delinearize() relies on
/// those names (a table without NFTNL_TABLE_NAME makes it construct a std::string from NULL).
bool parseNftObject(const nlmsghdr* nlh, backends::nft::NftRuleset& into) {
    NftObject o;
    switch (nlh->nlmsg_type & 0xff) {
        case NFT_MSG_NEWTABLE:
            o.kind = NftObject::Kind::Table;
            o.table.reset(nftnl_table_alloc());
            if (nftnl_table_nlmsg_parse(nlh, o.table.get()) < 0 ||
                !nftnl_table_is_set(o.table.get(), NFTNL_TABLE_NAME))
                return false;
            o.family = uint16_t(nftnl_table_get_u32(o.table.get(), NFTNL_TABLE_FAMILY));
            break;
        case NFT_MSG_NEWCHAIN:
            o.kind = NftObject::Kind::Chain;
            o.chain.reset(nftnl_chain_alloc());
            if (nftnl_chain_nlmsg_parse(nlh, o.chain.get()) < 0 ||
                !nftnl_chain_is_set(o.chain.get(), NFTNL_CHAIN_NAME) ||
                !nftnl_chain_is_set(o.chain.get(), NFTNL_CHAIN_TABLE))
                return false;
            o.family = uint16_t(nftnl_chain_get_u32(o.chain.get(), NFTNL_CHAIN_FAMILY));
            o.chainName = nftnl_chain_get_str(o.chain.get(), NFTNL_CHAIN_NAME);
            break;
        case NFT_MSG_NEWSET:
            o.kind = NftObject::Kind::Set;
            o.set.reset(nftnl_set_alloc());
            if (nftnl_set_nlmsg_parse(nlh, o.set.get()) < 0 ||
                !nftnl_set_is_set(o.set.get(), NFTNL_SET_NAME) ||
                !nftnl_set_is_set(o.set.get(), NFTNL_SET_TABLE))
                return false;
            o.family = uint16_t(nftnl_set_get_u32(o.set.get(), NFTNL_SET_FAMILY));
            break;
        case NFT_MSG_NEWSETELEM:  // the elements of the set before it, as dumpRuleset adds them
            for (auto it = into.objects.rbegin(); it != into.objects.rend(); ++it)
                if (it->kind == NftObject::Kind::Set)
                    return nftnl_set_elems_nlmsg_parse(nlh, it->set.get()) >= 0;
            return false;
        case NFT_MSG_NEWRULE:
            o.kind = NftObject::Kind::Rule;
            o.rule.reset(nftnl_rule_alloc());
            if (!expressionsNamed(nlh) || nftnl_rule_nlmsg_parse(nlh, o.rule.get()) < 0 ||
                !nftnl_rule_is_set(o.rule.get(), NFTNL_RULE_CHAIN) ||
                !nftnl_rule_is_set(o.rule.get(), NFTNL_RULE_TABLE))
                return false;
            o.family = uint16_t(nftnl_rule_get_u32(o.rule.get(), NFTNL_RULE_FAMILY));
            o.chainName = nftnl_rule_get_str(o.rule.get(), NFTNL_RULE_CHAIN);
            break;
        default:
            return false;
    }
    into.objects.push_back(std::move(o));
    return true;
}

}  // namespace

void nftOne(const uint8_t* data, size_t size) {
    std::vector<uint8_t> bytes(data, data + std::min<size_t>(size, 1 << 20));
    backends::nft::NftRuleset ruleset;
    // What mnl_cb_run accepts of a dump, checked here because mnl_nlmsg_ok casts nlmsg_len to
    // int: whole messages only, each NLMSG_ALIGNed inside what was received.
    for (size_t off = 0; off + sizeof(nlmsghdr) <= bytes.size();) {
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data() + off);
        // not NLMSG_ALIGN: its 32-bit mask would turn a length near 4 GiB into 0
        const size_t len = (size_t{nlh->nlmsg_len} + 3) & ~size_t{3};
        if (nlh->nlmsg_len < sizeof(nlmsghdr) || len > bytes.size() - off) break;
        parseNftObject(nlh, ruleset);
        off += len;
    }
    (void)backends::nft::delinearize(ruleset, "/nonexistent-cgroup-root");
}

std::vector<uint8_t> nftMessagesOf(const ir::Host& host) {
    const auto ruleset = backends::nft::linearize(host, "/nonexistent-cgroup-root");
    std::vector<uint8_t> out;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto add = [&](uint16_t type, uint16_t family, auto build) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, family, 0, 0);
        build(nlh);
        out.insert(out.end(), buf.data(), buf.data() + NLMSG_ALIGN(nlh->nlmsg_len));
    };
    for (const NftObject& o : ruleset.objects) {
        switch (o.kind) {
            case NftObject::Kind::Table:
                add(NFT_MSG_NEWTABLE, o.family,
                    [&](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, o.table.get()); });
                break;
            case NftObject::Kind::Chain:
                add(NFT_MSG_NEWCHAIN, o.family,
                    [&](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, o.chain.get()); });
                break;
            case NftObject::Kind::Set:
                add(NFT_MSG_NEWSET, o.family,
                    [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, o.set.get()); });
                add(NFT_MSG_NEWSETELEM, o.family,
                    [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, o.set.get()); });
                break;
            case NftObject::Kind::Rule:
                add(NFT_MSG_NEWRULE, o.family,
                    [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, o.rule.get()); });
                break;
        }
    }
    return out;
}

Target targetNamed(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, Target>, 6> kTargets{{
        {"compile", compileOne},
        {"import_iptables", importOne},
        {"import_nft_json", importNftJsonOne},
        {"ipt_blob", iptBlobOne},
        {"rtnl", rtnlOne},
        {"nft_delinearize", nftOne},
    }};
    for (const auto& [n, t] : kTargets)
        if (n == name) return t;
    return nullptr;
}

}  // namespace policyc::fuzz
