// SPDX-License-Identifier: GPL-2.0-or-later
// `ip -batch` renderings of a host's routing rules and routes (one per family), and its
// sysctl.conf lines. Each line is spelled so that `ip -j rule/route show` lists back exactly the
// same thing (checked by tests/kernel/routes_oracle.py).
#include <sstream>
#include <string_view>

#include "backends/text/render.h"
#include "backends/text/routing_tag.h"

namespace policyc::backends {

namespace {

using ir::Family;
using ir::Route;
using ir::RoutingRule;

// One rendering per family, because iproute2 6.1 cannot carry a family on an `ip -batch` line:
// every line takes the family of the `ip` command line (`-6 rule add` is "Object -6 is
// unknown"), and `rule add` infers none from its selectors: `from ::/0` silently makes an IPv4
// "from all" rule and a v6 `from`/`to` prefix is refused. A comment-marked second pass inside
// one file was a trap (plain `ip -batch FILE` skipped the IPv6 rules without a word), so the V4
// text is for `ip -batch FILE` and the V6 text for `ip -6 -batch FILE`; the latter refuses an
// IPv4 prefix, and reads `default` as ::/0, which is also how `ip -6 route` lists it.

constexpr uint32_t kAllOnes = 0xffffffff;
// IPv6 gives a route without a metric (or with metric 0) the user default, and lists it.
constexpr uint32_t kIpv6DefaultMetric = 1024;

std::string tableName(uint32_t table) {
    switch (table) {
        case ir::kTableMain:
            return "main";
        case ir::kTableLocal:
            return "local";
        case ir::kTableDefault:
            return "default";
        default:
            return std::to_string(table);
    }
}

std::string hex(uint32_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

/// Empty when the mark matches every packet (the kernel drops such a selector). A zero mark
/// keeps its mask: without FRA_FWMASK the kernel would take `fwmark 0` as "no mark selector".
std::string fwmarkText(const ir::MarkMask& mark) {
    if (mark.value == 0 && mark.mask == 0) return {};
    if (mark.mask == kAllOnes && mark.value != 0) return hex(mark.value);
    return hex(mark.value) + "/" + hex(mark.mask);
}

std::string_view ruleAction(RoutingRule::Action action) {
    switch (action) {
        case RoutingRule::Action::Lookup:
            return "lookup";
        case RoutingRule::Action::Blackhole:
            return "blackhole";
        case RoutingRule::Action::Unreachable:
            return "unreachable";
        case RoutingRule::Action::Prohibit:
            return "prohibit";
    }
    return "lookup";
}

void renderRule(std::ostringstream& out, const RoutingRule& rule) {
    out << "rule add priority " << rule.priority;
    if (rule.invert) out << " not";
    if (rule.fwmark) {
        const std::string mark = fwmarkText(*rule.fwmark);
        if (!mark.empty()) out << " fwmark " << mark;
    }
    if (rule.iif) out << " iif " << *rule.iif;
    if (rule.oif) out << " oif " << *rule.oif;
    if (rule.uidrange) out << " uidrange " << rule.uidrange->first << '-' << rule.uidrange->last;
    // A /0 selector is "from all": the kernel stores no address for it and lists none.
    if (rule.from && rule.from->length != 0) out << " from " << rule.from->str();
    if (rule.to && rule.to->length != 0) out << " to " << rule.to->str();
    out << ' ' << ruleAction(rule.action);
    if (rule.action == RoutingRule::Action::Lookup) out << ' ' << tableName(rule.table);
    out << " protocol " << unsigned{kRoutingProtocol} << '\n';
}

std::string_view routeType(Route::Type type) {
    switch (type) {
        case Route::Type::Unicast:
            return "";
        case Route::Type::Local:
            return "local";
        case Route::Type::Blackhole:
            return "blackhole";
        case Route::Type::Unreachable:
            return "unreachable";
        case Route::Type::Prohibit:
            return "prohibit";
    }
    return "";
}

bool isRejectType(Route::Type type) {
    return type == Route::Type::Blackhole || type == Route::Type::Unreachable ||
           type == Route::Type::Prohibit;
}

/// The kernel keeps routes by network (IPv4 refuses host bits, IPv6 clears them), hence
/// network(). `default` is the family's /0 for the `ip` run that loads this family's text.
std::string routeDst(const Route& route) {
    if (route.dst.length == 0) return "default";
    return route.dst.network().str();
}

void renderRoute(std::ostringstream& out, const Route& route) {
    const bool v6 = route.family() == Family::V6;
    out << "route add ";
    if (const auto type = routeType(route.type); !type.empty()) out << type << ' ';
    out << routeDst(route);
    if (route.via) out << " via " << route.via->str();
    // IPv6 binds blackhole/unreachable/prohibit routes to the loopback device and lists it.
    if (route.dev)
        out << " dev " << *route.dev;
    else if (v6 && isRejectType(route.type))
        out << " dev lo";
    if (route.src) out << " src " << route.src->str();
    const uint32_t metric = route.metric.value_or(0);
    if (v6)
        out << " metric " << (metric != 0 ? metric : kIpv6DefaultMetric);
    else if (metric != 0)
        out << " metric " << metric;
    out << " table " << tableName(route.table) << " proto " << unsigned{kRoutingProtocol} << '\n';
}

}  // namespace

std::string renderRoutes(const ir::Host& host, Family family) {
    std::ostringstream out;
    for (const auto& rule : host.routingRules)
        if (rule.family == family) renderRule(out, rule);
    for (const auto& route : host.routes)
        if (route.family() == family) renderRoute(out, route);
    return out.str();
}

std::string renderSysctl(const ir::Host& host) {
    std::ostringstream out;
    for (const auto& sysctl : host.sysctls) out << sysctl.key << " = " << sysctl.value << '\n';
    return out.str();
}

}  // namespace policyc::backends
