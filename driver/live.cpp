// SPDX-License-Identifier: GPL-2.0-or-later
#include "driver/live.h"

#include <algorithm>

#include "backends/ipt/ipt_blob.h"
#include "backends/ipt/ipt_kernel.h"
#include "backends/netlink/links_rtnl.h"
#include "backends/netlink/routing_rtnl.h"
#include "backends/netlink/sysctl_proc.h"
#include "backends/netlink/wireguard_genl.h"
#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_delinearize.h"

namespace policyc {
namespace {

namespace nl = backends::netlink;
namespace ipt = backends::ipt;

void notAnalysed(Diagnostics& diags, const std::string& what, const std::string& why) {
    diags.report(Code::W014, {}, what + " was not analysed: " + why);
}

/// Rules holding an extension policyc keeps without understanding it: their packets are
/// unknown, so they neither shadow nor count as shadowed, and a reader should know.
void noteOpaque(const ir::Table& table, const std::string& where, Diagnostics& diags) {
    for (const ir::Chain& c : table.chains) {
        for (size_t i = 0; i < c.rules.size(); ++i) {
            const ir::Rule& r = c.rules[i];
            std::string names;
            for (const ir::Match& m : r.matches)
                if (const auto* o = std::get_if<ir::OpaqueMatch>(&m))
                    names += (names.empty() ? "" : ", ") +
                             (o->header ? "ip header condition" : "match '" + o->ext.name + "'");
            if (const auto* o = std::get_if<ir::OpaqueTarget>(&r.target))
                names += (names.empty() ? "target '" : ", target '") + o->ext.name + "'";
            if (names.empty()) continue;
            notAnalysed(
                diags,
                where + " chain " + c.name + " rule " + std::to_string(i + 1) + "'s " + names,
                "policyc keeps it as the kernel holds it without modelling it");
        }
    }
}

void readLegacy(ir::Host& host, Diagnostics& diags) {
    for (ir::Family f : {ir::Family::V4, ir::Family::V6}) {
        const std::string fam = f == ir::Family::V4 ? "IPv4" : "IPv6";
        for (const char* name : {"raw", "mangle", "nat", "filter"}) {
            // Never read a table that does not exist: reading would create it for good.
            if (!ipt::tableExists(f, name)) continue;
            Diagnostics local;
            auto blob = ipt::readTable(f, name, local);
            auto table = blob ? ipt::decodeTable(*blob, local) : std::nullopt;
            if (!table) {
                std::string why = "cannot decode it";
                if (!local.items().empty()) why = local.items().front().message;
                notAnalysed(diags, "legacy " + fam + " table '" + std::string(name) + "'", why);
                continue;
            }
            noteOpaque(*table, "legacy " + fam + " table '" + std::string(name) + "'", diags);
            host.tables.push_back(std::move(*table));
        }
    }
}

/// Every nftables table there is, read into IR tables of its family; each chain or rule that the
/// model cannot hold becomes a note naming it (table, chain, rule handle).
void readNftables(ir::Host& host, Diagnostics& diags) {
    backends::nft::NftSocket sock;
    backends::nft::NftRuleset ruleset;
    std::string error;
    if (!backends::nft::dumpRuleset(sock, ruleset, error)) {
        notAnalysed(diags, "the nftables ruleset", error);
        return;
    }
    auto back = backends::nft::delinearize(ruleset);
    for (auto& t : back.tables) host.tables.push_back(std::move(t));
    for (const auto& u : back.unreadable) {
        const auto colon = u.find(": ");
        notAnalysed(diags, u.substr(0, colon),
                    colon == std::string::npos ? "the model cannot express it"
                                               : "the model cannot express " + u.substr(colon + 2));
    }
}

void readSysctls(ir::Host& host) {
    std::vector<std::string> keys = {"net.ipv4.conf.all.forwarding", "net.ipv6.conf.all.forwarding",
                                     "net.ipv4.conf.all.rp_filter"};
    for (const auto& i : host.interfaces) {
        std::string name = i.name;
        std::replace(name.begin(), name.end(), '.', '/');
        keys.push_back("net.ipv4.conf." + name + ".rp_filter");
    }
    for (const auto& key : keys) {
        int error = 0;
        if (auto value = nl::readSysctl(key, error)) host.sysctls.push_back({key, *value, {}});
    }
}

}  // namespace

std::optional<ir::Host> readLiveHost(Diagnostics& diags) {
    ir::Host host;
    host.name = "live";
    nl::RtnlSocket socket;
    if (!socket.openStatus().ok()) {
        diags.report(Code::E301, {},
                     "cannot open a netlink socket: " + socket.openStatus().describe());
        return std::nullopt;
    }
    if (auto st = nl::readLiveLinks(socket, host.interfaces); !st.ok())
        notAnalysed(diags, "the links", st.describe());
    for (auto& i : host.interfaces) {
        if (i.kind != ir::LinkKind::WireGuard) continue;
        uint32_t fwmark = 0;
        if (auto st = nl::readWireGuardFwmark(i.name, fwmark); !st.ok())
            notAnalysed(diags, "WireGuard '" + i.name + "''s own fwmark", st.describe());
        else if (fwmark != 0)
            i.fwmark = fwmark;
    }
    readLegacy(host, diags);
    nl::LiveRouting routing;
    if (auto st = nl::readLiveRouting(socket, std::nullopt, routing); st.ok()) {
        for (auto& r : routing.rules) host.routingRules.push_back(std::move(r.ir));
        for (auto& r : routing.routes) host.routes.push_back(std::move(r.ir));
        for (const auto& u : routing.unexpressible) {
            // The kernel's own broadcast and multicast routes of the local table are not policy.
            if (u.find("table local") != std::string::npos) continue;
            notAnalysed(diags, u, "the model cannot express it");
        }
    } else {
        notAnalysed(diags, "ip rules and routes", st.describe());
    }
    std::stable_sort(host.routingRules.begin(), host.routingRules.end(),
                     [](const auto& a, const auto& b) { return a.priority < b.priority; });
    readSysctls(host);
    readNftables(host, diags);
    return host;
}

}  // namespace policyc
