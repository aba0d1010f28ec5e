// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel refusals of an nft batch mapped back to the .pol: the linearizer's per-expression
// origins, the extended ACK's offset read from an NLMSG_ERROR, and a real refusal in a netns.
#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backends/apply_step.h"
#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_linearize.h"
#include "backends/scratch_netns.h"
#include "compiler/compile.h"
#include "compiler/ir.h"

using namespace policyc;
using namespace policyc::backends::nft;

namespace {

// Line 7 holds the rule the tests refuse; its clauses start at these columns.
constexpr const char* kPolicy = R"(host h {
    interface eth0 { address 192.0.2.1/24 }
    table filter {
        chain INPUT { jump audit }
        chain FORWARD { accept }
        chain audit {
            iif eth0 tcp dport 22 jump other
        }
        chain other { accept }
    }
}
)";
constexpr uint32_t kLine = 7, kIifCol = 13, kPortCol = 22, kJumpCol = 35;

ir::Host compileHost() {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(kPolicy, "extack.pol", sources, diags);
    REQUIRE(policy);
    return policy->hosts.at(0);
}

ir::Rule& auditRule(ir::Host& host) { return host.tables.at(0).findChain("audit")->rules.at(0); }

const NftObject& ruleObject(const NftRuleset& rs, std::string_view chain) {
    for (const NftObject& o : rs.objects)
        if (o.kind == NftObject::Kind::Rule && o.chainName == chain) return o;
    FAIL("no rule in " << chain);
    return rs.objects.front();
}

/// An NLMSG_ERROR echoing `request` (whole, or its header only when `capped`) with the TLVs.
std::vector<char> errorMessage(const std::vector<uint8_t>& request, bool capped,
                               const std::string& text, std::optional<uint32_t> offset) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
    const size_t echoed = capped ? sizeof(nlmsghdr) : request.size();
    auto* err =
        static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(int) + MNL_ALIGN(echoed)));
    err->error = -EOPNOTSUPP;
    std::memcpy(&err->msg, request.data(), echoed);
    if (!text.empty()) mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text.c_str());
    if (offset) mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, *offset);
    buf.resize(nlh->nlmsg_len);
    return buf;
}

/// Offsets of each NFTA_RULE_EXPRESSIONS element in a NEWRULE message, read with libnftnl's
/// own parser's view of the layout: header, nfgenmsg, then attributes.
std::vector<uint32_t> elementOffsets(const std::vector<uint8_t>& msg) {
    std::vector<uint32_t> out;
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
    size_t at = NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
    while (at + sizeof(nlattr) <= nlh->nlmsg_len) {
        const auto* a = reinterpret_cast<const nlattr*>(msg.data() + at);
        if ((a->nla_type & NLA_TYPE_MASK) == NFTA_RULE_EXPRESSIONS) {
            size_t e = at + NLA_HDRLEN;
            while (e < at + a->nla_len) {
                out.push_back(static_cast<uint32_t>(e));
                e += NLA_ALIGN(reinterpret_cast<const nlattr*>(msg.data() + e)->nla_len);
            }
        }
        at += NLA_ALIGN(a->nla_len);
    }
    return out;
}

}  // namespace

TEST_CASE("nft extack: every expression of a rule knows the clause it comes from") {
    ir::Host host = compileHost();
    const ir::Rule& rule = auditRule(host);
    REQUIRE(rule.parts.matches.size() == rule.matches.size());
    const NftRuleset rs = linearize(host);
    const NftObject& o = ruleObject(rs, "filter_audit");
    // meta iifname, cmp | meta l4proto, cmp (tcp, from `tcp dport`) | payload, cmp | immediate
    REQUIRE(o.exprSpans.size() == 7);
    REQUIRE(o.exprOrigins.size() == 7);
    const std::vector<uint32_t> columns = {kIifCol,  kIifCol,  kPortCol, kPortCol,
                                           kPortCol, kPortCol, kJumpCol};
    for (size_t i = 0; i < columns.size(); ++i) {
        CAPTURE(i);
        CHECK(o.exprSpans[i].line == kLine);
        CHECK(o.exprSpans[i].column == columns[i]);
    }
    CHECK(o.exprOrigins.back() == kTargetOrigin);
}

TEST_CASE("nft extack: the refused expression is found from the kernel's offset") {
    ir::Host host = compileHost();
    const NftRuleset rs = linearize(host);
    const std::vector<uint8_t> msg = objectMessage(ruleObject(rs, "filter_audit"));
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
    const std::vector<uint32_t> starts = elementOffsets(msg);
    REQUIRE(starts.size() == 7);
    for (size_t i = 0; i < starts.size(); ++i) {
        CAPTURE(i);
        CHECK(expressionAt(nlh, starts[i]) == i);      // the element's header, as the kernel says
        CHECK(expressionAt(nlh, starts[i] + 8) == i);  // or anything inside it
    }
    CHECK_FALSE(expressionAt(nlh, 0));  // the header: no expression
    CHECK_FALSE(expressionAt(nlh, static_cast<uint32_t>(msg.size()) + 4));

    for (bool capped : {false, true}) {
        CAPTURE(capped);
        const auto err = errorMessage(msg, capped, "jump to a base chain", starts[6]);
        const ExtAck ack = parseExtAck(reinterpret_cast<const nlmsghdr*>(err.data()));
        CHECK(ack.message == "jump to a base chain");
        CHECK(ack.offset == starts[6]);
    }
    const auto bare = errorMessage(msg, false, "", std::nullopt);
    auto* bareHdr = reinterpret_cast<nlmsghdr*>(const_cast<char*>(bare.data()));
    CHECK_FALSE(parseExtAck(bareHdr).offset);
    bareHdr->nlmsg_flags = 0;  // no NLM_F_ACK_TLVS: the bytes after the echo are not read
    CHECK(parseExtAck(bareHdr).message.empty());
}

namespace {

/// In a forked child's fresh netns: apply `host` with the nft backend; the child reports the
/// diagnostic as "LINE:COL MESSAGE" and then what `nft list ruleset` prints.
std::string applyInNetns(const ir::Host& host) {
    return backends::inScratchNetns([&](std::string& r) {
               Diagnostics diags;
               auto steps = backends::nftSteps(host);
               if (steps.size() != 1 || !steps[0]->snapshot(diags)) {
                   r = "ERR snapshot";
               } else if (steps[0]->apply(diags)) {
                   r = "ERR the kernel accepted it";
               } else {
                   const Diagnostic& d = diags.items().at(0);
                   r = std::to_string(d.span.line) + ":" + std::to_string(d.span.column) + " " +
                       d.message + "\n";
                   if (FILE* p = ::popen("nft list ruleset 2>&1", "r")) {
                       char buf[512];
                       while (std::fgets(buf, sizeof buf, p)) r += buf;
                       ::pclose(p);
                   }
               }
               return true;
           })
        .text;
}

}  // namespace

// The compiler refuses a jump to a built-in chain, so the IR is changed after it: nf_tables
// refuses the verdict expression when it initialises it (EOPNOTSUPP) and says which one by its
// offset, which the diagnostic turns into the `jump` statement's line and column.
TEST_CASE("nft extack kernel: a refused expression points at its statement" * doctest::skip()) {
    if (::geteuid() != 0) {
        MESSAGE("skipped: loading tables needs root");
        return;
    }
    ir::Host host = compileHost();
    auditRule(host).target = ir::Jump{"FORWARD"};
    const std::string out = applyInNetns(host);
    const std::string where = std::to_string(kLine) + ":" + std::to_string(kJumpCol) + " ";
    CHECK_MESSAGE(out.starts_with(where), out);
    CHECK_MESSAGE(out.find("Operation not supported") != std::string::npos, out);
    CHECK_MESSAGE(out.find("its 'immediate' expression") != std::string::npos, out);
    // All or nothing: the refused batch left no table behind.
    CHECK_MESSAGE(out.substr(out.find('\n') + 1).empty(), out);
}
