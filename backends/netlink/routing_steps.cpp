// SPDX-License-Identifier: GPL-2.0-or-later
// routingSteps(): policyc's ip rules and routes (everything tagged with its protocol, 211) are
// replaced as a whole over rtnetlink; sysctls are written through /proc/sys. Both steps keep
// what they replaced, to put it back.
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "backends/apply_step.h"
#include "backends/netlink/routing_rtnl.h"
#include "backends/netlink/sysctl_proc.h"
#include "backends/saved_state.h"
#include "backends/text/routing_tag.h"

namespace policyc::backends {

namespace {

using netlink::Message;
using netlink::NlStatus;

class RoutingStep : public ApplyStep {
  public:
    explicit RoutingStep(const ir::Host& host) : rules_(host.routingRules), routes_(host.routes) {}

    std::string name() const override { return "routing rules and routes"; }

    bool snapshot(Diagnostics& diags) override {
        socket_ = std::make_unique<netlink::RtnlSocket>();
        if (!socket_->openStatus().ok()) {
            diags.report(Code::E301, {},
                         "cannot open rtnetlink: " + socket_->openStatus().describe());
            return false;
        }
        saved_ = {};
        const NlStatus read = readLiveRouting(*socket_, kRoutingProtocol, saved_);
        if (!read.ok()) {
            diags.report(Code::E301, {},
                         "cannot read the routing rules and routes: " + read.describe());
            return false;
        }
        // What cannot be decoded could not be put back after a failure: touch nothing.
        for (const auto& what : saved_.unexpressible)
            diags.report(Code::E301, {},
                         "the kernel holds " + what +
                             " with protocol 211 and selectors "
                             "policyc could not restore; remove it first");
        return saved_.unexpressible.empty();
    }

    /// Routing has no validate-only request: every message is built (which resolves the
    /// interfaces the routes name, in this namespace) but none is sent.
    bool check(Diagnostics& diags) override {
        bool ok = true;
        for (const auto& route : routes_) {
            std::string error;
            if (!netlink::encodeRoute(route, RTM_NEWROUTE, names_, error)) {
                diags.report(Code::E301, route.span,
                             "cannot install " + netlink::describe(route) + ": " + error);
                ok = false;
            }
        }
        return ok;
    }

    bool apply(Diagnostics& diags) override {
        bool ok = removeOurs(diags);
        for (const auto& rule : rules_) {
            if (!ok) break;
            ok = install(rule, diags, rule.span);
        }
        for (const auto& route : routes_) {
            if (!ok) break;
            ok = install(route, diags, route.span);
        }
        if (!ok) restore(diags);
        return ok;
    }

    bool undo(Diagnostics& diags) override { return restore(diags); }

    /// The protocol-211 rules and routes as the kernel dumped them.
    nlohmann::json saved() const override {
        nlohmann::json rules = nlohmann::json::array(), routes = nlohmann::json::array();
        for (const auto& r : saved_.rules) rules.push_back(toHex(r.dumped));
        for (const auto& r : saved_.routes) routes.push_back(toHex(r.dumped));
        return {{"kind", "routing"}, {"rules", rules}, {"routes", routes}};
    }

  private:
    bool install(const ir::RoutingRule& rule, Diagnostics& diags, const SourceSpan& span) {
        return report(socket_->request(netlink::encodeRule(rule, RTM_NEWRULE)),
                      netlink::describe(rule), span, diags);
    }

    bool install(const ir::Route& route, Diagnostics& diags, const SourceSpan& span) {
        std::string error;
        auto msg = netlink::encodeRoute(route, RTM_NEWROUTE, names_, error);
        if (!msg) {
            diags.report(Code::E301, span,
                         "cannot install " + netlink::describe(route) + ": " + error);
            return false;
        }
        return report(socket_->request(std::move(*msg)), netlink::describe(route), span, diags);
    }

    static bool report(const NlStatus& status, const std::string& what, const SourceSpan& span,
                       Diagnostics& diags) {
        if (status.ok()) return true;
        diags.report(Code::E301, span, "the kernel refused " + what + ": " + status.describe());
        return false;
    }

    /// Deletes every rule and route tagged with policyc's protocol, by echoing each dumped
    /// message back as a deletion (exact, whatever its attributes).
    bool removeOurs(Diagnostics& diags) {
        std::vector<Message> deletions;
        for (const auto type : {RTM_GETRULE, RTM_GETROUTE}) {
            for (const ir::Family family : {ir::Family::V4, ir::Family::V6}) {
                const NlStatus dumped =
                    socket_->dump(netlink::dumpRequest(type, family), [&](const nlmsghdr& n) {
                        const bool rule = n.nlmsg_type == RTM_NEWRULE;
                        if (!rule && n.nlmsg_type != RTM_NEWROUTE) return;
                        const uint8_t proto =
                            rule ? netlink::ruleProtocol(n) : netlink::routeProtocol(n);
                        if (proto == kRoutingProtocol) deletions.push_back(netlink::deletionOf(n));
                    });
                if (!report(dumped, "reading the routing state", {}, diags)) return false;
            }
        }
        for (auto& msg : deletions) {
            const NlStatus status = socket_->request(std::move(msg));
            // Gone already (an IPv6 route can go with its device): that is what we wanted.
            if (status.error == ESRCH || status.error == ENOENT) continue;
            if (!report(status, "deleting a protocol-211 rule or route", {}, diags)) return false;
        }
        return true;
    }

    /// Back to the snapshot: our objects now are removed, the saved ones installed again.
    bool restore(Diagnostics& diags) {
        bool ok = removeOurs(diags);
        for (const auto& rule : saved_.rules) ok = install(rule.ir, diags, {}) && ok;
        for (const auto& route : saved_.routes) ok = install(route.ir, diags, {}) && ok;
        return ok;
    }

    std::vector<ir::RoutingRule> rules_;
    std::vector<ir::Route> routes_;
    netlink::InterfaceNames names_ = netlink::systemInterfaces();
    std::unique_ptr<netlink::RtnlSocket> socket_;
    netlink::LiveRouting saved_;
};

class SysctlStep : public ApplyStep {
  public:
    explicit SysctlStep(const ir::Host& host) : sysctls_(host.sysctls) {}

    std::string name() const override { return "sysctls"; }

    bool snapshot(Diagnostics& diags) override {
        saved_.clear();
        for (const auto& s : sysctls_) {
            int error = 0;
            auto value = netlink::readSysctl(s.key, error);
            if (!value) {
                diags.report(Code::E301, s.span,
                             "cannot read sysctl " + s.key + ": " + std::strerror(error));
                return false;
            }
            saved_.emplace_back(s.key, std::move(*value));
        }
        return true;
    }

    /// The keys exist (snapshot() read them); whether the kernel takes a value is only known
    /// by writing it.
    bool check(Diagnostics&) override { return true; }

    bool apply(Diagnostics& diags) override {
        for (size_t i = 0; i < sysctls_.size(); ++i) {
            const auto& s = sysctls_[i];
            if (const int error = netlink::writeSysctl(s.key, s.value); error != 0) {
                diags.report(Code::E301, s.span,
                             "the kernel refused sysctl " + s.key + " = " + s.value + ": " +
                                 std::strerror(error));
                writeBack(i, diags);
                return false;
            }
        }
        return true;
    }

    bool undo(Diagnostics& diags) override { return writeBack(saved_.size(), diags); }

    nlohmann::json saved() const override {
        nlohmann::json values = nlohmann::json::array();
        for (const auto& [key, value] : saved_) values.push_back({key, value});
        return {{"kind", "sysctls"}, {"values", values}};
    }

  private:
    /// Restores the first `count` saved values, last first, so a key set twice ends as found.
    bool writeBack(size_t count, Diagnostics& diags) {
        bool ok = true;
        for (size_t i = count; i-- > 0;) {
            const auto& [key, value] = saved_[i];
            if (const int error = netlink::writeSysctl(key, value); error != 0) {
                diags.report(
                    Code::E301, sysctls_[i].span,
                    "cannot restore sysctl " + key + " = " + value + ": " + std::strerror(error));
                ok = false;
            }
        }
        return ok;
    }

    std::vector<ir::Sysctl> sysctls_;
    std::vector<std::pair<std::string, std::string>> saved_;
};

}  // namespace

ApplySteps routingSteps(const ir::Host& host) {
    ApplySteps steps;
    // Always: policyc owns every protocol-211 rule and route, so a policy that no longer has
    // any must still remove those an earlier apply installed.
    steps.push_back(std::make_unique<RoutingStep>(host));
    if (!host.sysctls.empty()) steps.push_back(std::make_unique<SysctlStep>(host));
    return steps;
}

std::optional<ApplySteps> routingRestoreSteps(const nlohmann::json& saved, std::string& error) {
    ir::Host host;
    bool routing = false;
    const auto names = netlink::systemInterfaces();
    for (const auto& step : saved) {
        if (step.at("kind") == "routing") {
            routing = true;
            for (const auto& kind : {"rules", "routes"}) {
                for (const auto& hex : step.at(kind)) {
                    auto msg = fromHex(hex.get<std::string>());
                    const auto* nlh = msg && msg->size() >= sizeof(nlmsghdr)
                                          ? reinterpret_cast<const nlmsghdr*>(msg->data())
                                          : nullptr;
                    if (nlh && nlh->nlmsg_len > msg->size()) nlh = nullptr;
                    bool ok = false;
                    if (nlh && std::string_view(kind) == "rules") {
                        if (auto r = netlink::decodeRule(*nlh))
                            host.routingRules.push_back(*r), ok = true;
                    } else if (nlh) {
                        if (auto r = netlink::decodeRoute(*nlh, names))
                            host.routes.push_back(*r), ok = true;
                    }
                    if (!ok) {
                        error = std::string("a saved routing ") +
                                (std::string_view(kind) == "rules" ? "rule" : "route") +
                                " cannot be read back (an interface it names may be gone)";
                        return std::nullopt;
                    }
                }
            }
        } else if (step.at("kind") == "sysctls") {
            for (const auto& kv : step.at("values"))
                host.sysctls.push_back(
                    {kv.at(0).get<std::string>(), kv.at(1).get<std::string>(), {}});
        }
    }
    if (!routing) return ApplySteps{};
    return routingSteps(host);
}

}  // namespace policyc::backends
