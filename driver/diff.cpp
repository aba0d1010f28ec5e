// SPDX-License-Identifier: GPL-2.0-or-later
#include "driver/diff.h"

#include <libnftnl/chain.h>
#include <linux/netfilter.h>

#include <algorithm>
#include <cstring>
#include <dtl/dtl.hpp>
#include <ostream>
#include <sstream>

#include "backends/cgroup2.h"
#include "backends/ipt/ipt_blob.h"
#include "backends/ipt/ipt_kernel.h"
#include "backends/ipt/ipt_ownership.h"
#include "backends/netlink/routing_rtnl.h"
#include "backends/netlink/sysctl_proc.h"
#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_delinearize.h"
#include "backends/nft/nft_linearize.h"
#include "backends/text/nft_text_vocab.h"
#include "backends/text/render.h"
#include "backends/text/routing_tag.h"

namespace policyc {
namespace {

namespace ipt = backends::ipt;
namespace nft = backends::nft;
namespace nl = backends::netlink;

/// The host with other tables: renderers see the same interfaces, routes and sysctls.
ir::Host withTables(const ir::Host& host, std::vector<ir::Table> tables) {
    ir::Host copy = host;
    copy.tables = std::move(tables);
    return copy;
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// Routing rules, routes and sysctls are sets (priorities order the rules, not their place in
/// the listing), and the kernel dumps them in its own order: both sides are compared sorted.
std::string sortedLines(const std::string& text) {
    auto lines = splitLines(text);
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + '\n';
    return out;
}

std::string familyWord(ir::Family f) { return f == ir::Family::V4 ? "IPv4" : "IPv6"; }

void legacySections(const ir::Host& host, Diagnostics& diags, std::vector<DiffSection>& out) {
    for (ir::Family f : {ir::Family::V4, ir::Family::V6}) {
        const auto names = ipt::tablesToReplace(host, f);
        if (names.empty()) continue;
        std::vector<ir::Table> live;
        for (const std::string& name : names) {
            // A table the namespace does not have is not read: reading would create it.
            if (!ipt::tableExists(f, name)) continue;
            auto blob = ipt::readTable(f, name, diags);
            auto table = blob ? ipt::decodeTable(*blob, diags) : std::nullopt;
            if (!table) {
                diags.report(
                    Code::E301, {},
                    "cannot read the live iptables table " + name + " (" + familyWord(f) + ")");
                continue;
            }
            live.push_back(std::move(*table));
        }
        // Apply keeps what the host does not own: context, not drift.
        std::vector<std::string> context;
        for (const ir::Table& t : live) {
            for (const ir::Chain& c : ipt::foreignChains(host, f, t).chains) {
                std::ostringstream line;
                // A chain the host spells out is never kept, so a declared one holds jumps only.
                const bool jumpsOnly = ipt::declaredChain(host, f, t.name, c.name) != nullptr;
                line << "iptables " << t.name << " (" << familyWord(f) << ") chain " << c.name
                     << " (" << c.rules.size() << (c.rules.size() == 1 ? " rule" : " rules")
                     << (jumpsOnly ? " besides policyc's jump): apply keeps them"
                                   : ") is not declared by the policy: apply keeps it");
                context.push_back(line.str());
            }
        }
        const ir::Host wanted = ipt::withForeignChains(host, f, live);
        out.push_back({"iptables (" + familyWord(f) + ")",
                       backends::renderIptables(withTables(host, std::move(live)), f),
                       backends::renderIptables(wanted, f), std::move(context)});
    }
}

std::string familyName(uint32_t family) {
    switch (family) {
        case NFPROTO_INET:
            return "inet";
        case NFPROTO_IPV4:
            return "ip";
        case NFPROTO_IPV6:
            return "ip6";
    }
    return std::to_string(family);
}

/// Base chains of other tables at the hooks of the policy's own base chains, in families that
/// see the same packets: the kernel runs both, which a reviewer should know.
std::vector<std::string> foreignBaseChains(const nft::NftRuleset& all,
                                           const nft::NftRuleset& wanted) {
    struct Hook {
        uint32_t family, hook;
    };
    std::vector<Hook> ownHooks;
    for (const auto& o : wanted.objects) {
        if (o.kind != nft::NftObject::Kind::Chain) continue;
        nftnl_chain* c = o.chain.get();
        if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
            ownHooks.push_back({o.family, nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM)});
    }
    auto sameTraffic = [](uint32_t a, uint32_t b) {
        return a == b || a == NFPROTO_INET || b == NFPROTO_INET;
    };
    std::vector<std::string> lines;
    for (const auto& o : all.objects) {
        if (o.kind != nft::NftObject::Kind::Chain) continue;
        nftnl_chain* c = o.chain.get();
        const std::string table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
        if (table == nft::kTableName || !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) continue;
        const uint32_t hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
        const bool shared = std::any_of(ownHooks.begin(), ownHooks.end(), [&](const Hook& h) {
            return h.hook == hook && sameTraffic(h.family, o.family);
        });
        if (!shared) continue;
        std::ostringstream line;
        static const char* kHooks[] = {"prerouting", "input", "forward", "output", "postrouting"};
        line << "table " << familyName(o.family) << ' ' << table << " chain "
             << nftnl_chain_get_str(c, NFTNL_CHAIN_NAME) << " (hook "
             << (hook < 5 ? kHooks[hook] : std::to_string(hook).c_str()) << ", priority "
             << static_cast<int32_t>(nftnl_chain_get_u32(c, NFTNL_CHAIN_PRIO))
             << ") is not policyc's: apply keeps it";
        lines.push_back(line.str());
    }
    return lines;
}

void nftSection(const ir::Host& host, Diagnostics& diags, std::vector<DiffSection>& out) {
    if (host.tables.empty()) return;
    const std::string cgroupRoot = backends::cgroup2Mount().value_or("/sys/fs/cgroup");
    const nft::NftRuleset wanted = nft::linearize(host, cgroupRoot);
    nft::NftSocket sock;
    if (!sock.error().empty()) {
        diags.report(Code::E301, {}, "nftables: " + sock.error());
        return;
    }
    std::string error;
    nft::NftRuleset live;
    if (!nft::dumpOwnTables(sock, wanted.families, live, error)) {
        diags.report(Code::E301, {}, "nftables: " + error);
        return;
    }
    auto back = nft::delinearize(live, cgroupRoot);
    for (const auto& u : back.unreadable) {
        const bool shown =
            std::find(back.verbatim.begin(), back.verbatim.end(), u) != back.verbatim.end();
        if (!shown) {
            diags.report(Code::E301, {},
                         "nftables: policyc's table holds what it cannot read: " + u);
            continue;
        }
        // Kept in the live listing as libnftnl prints it, so it shows as drift apply removes.
        diags
            .report(Code::W014, {},
                    "nftables: policyc's table holds a rule it cannot read (listed verbatim "
                    "below; apply replaces it): " +
                        u)
            .severity = Severity::Warning;
    }
    DiffSection s{"nftables (table " + std::string(nft::kTableName) + ")",
                  backends::renderNft(withTables(host, std::move(back.tables))),
                  backends::renderNft(host),
                  {}};
    nft::NftRuleset chains;  // hooks and priorities are all the context needs
    if (nft::dumpChains(sock, chains, error)) s.context = foreignBaseChains(chains, wanted);
    out.push_back(std::move(s));
}

void routingSections(const ir::Host& host, Diagnostics& diags, std::vector<DiffSection>& out) {
    nl::RtnlSocket socket;
    nl::LiveRouting routing;
    const nl::NlStatus st = socket.openStatus().ok()
                                ? nl::readLiveRouting(socket, backends::kRoutingProtocol, routing)
                                : socket.openStatus();
    if (!st.ok()) {
        diags.report(Code::E301, {}, "cannot read the routing rules and routes: " + st.describe());
        return;
    }
    for (const auto& what : routing.unexpressible)
        diags.report(Code::E301, {},
                     "the kernel holds " + what +
                         " with protocol 211, which "
                         "policyc cannot read");
    ir::Host live = host;
    live.routingRules.clear();
    live.routes.clear();
    for (auto& r : routing.rules) live.routingRules.push_back(std::move(r.ir));
    for (auto& r : routing.routes) live.routes.push_back(std::move(r.ir));
    for (ir::Family f : {ir::Family::V4, ir::Family::V6}) {
        std::string wanted = backends::renderRoutes(host, f);
        std::string have = backends::renderRoutes(live, f);
        if (wanted.empty() && have.empty()) continue;
        out.push_back(
            {"routing (" + familyWord(f) + ")", sortedLines(have), sortedLines(wanted), {}});
    }
}

void sysctlSection(const ir::Host& host, std::vector<DiffSection>& out) {
    if (host.sysctls.empty()) return;
    ir::Host live = host;
    for (auto& s : live.sysctls) {
        int error = 0;
        auto value = nl::readSysctl(s.key, error);
        s.value = value ? *value : "(unreadable: " + std::string(std::strerror(error)) + ")";
    }
    out.push_back({"sysctls",
                   sortedLines(backends::renderSysctl(live)),
                   sortedLines(backends::renderSysctl(host)),
                   {}});
}

}  // namespace

std::vector<DiffSection> diffSections(const ir::Host& host, std::string_view backend,
                                      Diagnostics& diags) {
    std::vector<DiffSection> out;
    if (backend == "legacy")
        legacySections(host, diags, out);
    else
        nftSection(host, diags, out);
    routingSections(host, diags, out);
    sysctlSection(host, out);
    return out;
}

std::string unifiedDiff(const DiffSection& section) {
    if (section.live == section.wanted) return {};
    dtl::Diff<std::string> diff(splitLines(section.live), splitLines(section.wanted));
    diff.onHuge();
    diff.compose();
    diff.composeUnifiedHunks();
    std::ostringstream out;
    out << "--- live: " << section.title << "\n+++ policy: " << section.title << '\n';
    diff.printUnifiedFormat(out);
    return out.str();
}

size_t printDiff(const std::vector<DiffSection>& sections, std::ostream& out) {
    size_t differ = 0;
    for (const auto& s : sections) {
        const std::string d = unifiedDiff(s);
        if (!d.empty()) {
            ++differ;
            out << d;
        }
        for (const auto& c : s.context) out << "# context: " << c << '\n';
    }
    return differ;
}

}  // namespace policyc
