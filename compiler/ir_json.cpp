// SPDX-License-Identifier: GPL-2.0-or-later
// The IR as JSON: one overload per IR element, so that a new match or target kind that lacks
// one fails to compile instead of printing nothing.
#include "compiler/ir_json.h"

#include <iomanip>
#include <sstream>

#include "compiler/hex.h"

namespace policyc {

using nlohmann::json;

namespace {

using namespace ir;

// ---------------------------------------------------------------------------------------------
// Enum names

std::string_view enumName(Family f) { return f == Family::V4 ? "ipv4" : "ipv6"; }
std::string_view enumName(Direction d) { return d == Direction::Source ? "source" : "destination"; }
std::string_view enumName(IfaceDirection d) { return d == IfaceDirection::In ? "in" : "out"; }

std::string_view enumName(TableFamily f) { return tableFamilyName(f); }
std::string_view enumName(LinkKind k) { return linkKindName(k); }

std::string_view enumName(ChainPolicy p) {
    switch (p) {
        case ChainPolicy::None:
            return "none";
        case ChainPolicy::Accept:
            return "accept";
        case ChainPolicy::Drop:
            return "drop";
    }
    return "none";
}

std::string_view enumName(RoutingRule::Action a) {
    switch (a) {
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

std::string_view enumName(Route::Type t) {
    switch (t) {
        case Route::Type::Unicast:
            return "unicast";
        case Route::Type::Local:
            return "local";
        case Route::Type::Blackhole:
            return "blackhole";
        case Route::Type::Unreachable:
            return "unreachable";
        case Route::Type::Prohibit:
            return "prohibit";
    }
    return "unicast";
}

std::string_view enumName(OwnerMatch::Kind k) { return k == OwnerMatch::Kind::Uid ? "uid" : "gid"; }
std::string_view enumName(Nat::Kind k) { return k == Nat::Kind::Snat ? "snat" : "dnat"; }

std::string_view enumName(Connmark::Op op) {
    switch (op) {
        case Connmark::Op::Set:
            return "set";
        case Connmark::Op::Save:
            return "save";
        case Connmark::Op::Restore:
            return "restore";
    }
    return "set";
}

// ---------------------------------------------------------------------------------------------
// Values as strings

std::string hex(uint32_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

/// Marks keep their mask even when it is all ones: "0x1/0xffffffff".
std::string markText(const MarkMask& m) { return hex(m.value) + "/" + hex(m.mask); }

std::string rangeText(const NumRange& r) {
    return r.single() ? std::to_string(r.first)
                      : std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::string addrItemText(const AddrItem& item) {
    if (const auto* p = std::get_if<Prefix>(&item)) return p->str();
    const auto& r = std::get<AddrRange>(item);
    return r.first.str() + "-" + r.last.str();
}

std::string macText(const std::array<uint8_t, 6>& mac) {
    std::ostringstream out;
    out << std::hex << std::setfill('0');
    for (size_t i = 0; i < mac.size(); ++i) out << (i ? ":" : "") << std::setw(2) << int{mac[i]};
    return out.str();
}

std::vector<std::string> ctStateNames(uint8_t states) {
    static constexpr std::pair<uint8_t, std::string_view> kStates[] = {
        {kCtInvalid, "invalid"},
        {kCtNew, "new"},
        {kCtEstablished, "established"},
        {kCtRelated, "related"},
        {kCtUntracked, "untracked"}};
    std::vector<std::string> out;
    for (const auto& [bit, name] : kStates)
        if (states & bit) out.emplace_back(name);
    return out;
}

template <typename T, typename Conv>
void putOptional(json& j, const char* key, const std::optional<T>& value, Conv conv) {
    if (value) j[key] = conv(*value);
}

auto asIs = [](const auto& v) { return v; };
auto asString = [](const auto& v) { return v.str(); };

void putSpan(json& j, const SourceSpan& span, const SourceManager& sources) {
    if (!span.valid()) return;
    j["span"] = {{"file", std::string(sources.path(span.file))},
                 {"line", span.line},
                 {"column", span.column}};
}

// ---------------------------------------------------------------------------------------------
// Matches

// The iptables-only flags appear only when set: .pol never sets them.
json matchJson(const ProtoMatch& m) {
    json j = {{"match", "proto"}, {"negated", m.negated}, {"proto", protoName(m.proto)}};
    if (m.portModule) j["portModule"] = true;
    return j;
}

json matchJson(const AddrMatch& m) {
    json items = json::array();
    for (const auto& item : m.items) items.push_back(addrItemText(item));
    return {{"match", "addr"}, {"dir", enumName(m.dir)}, {"negated", m.negated}, {"items", items}};
}

json matchJson(const PortMatch& m) {
    json ports = json::array();
    for (const auto& r : m.ports) ports.push_back(rangeText(r));
    return {{"match", "port"}, {"dir", enumName(m.dir)}, {"negated", m.negated}, {"ports", ports}};
}

json matchJson(const IfaceMatch& m) {
    return {{"match", "iface"}, {"dir", enumName(m.dir)}, {"negated", m.negated}, {"name", m.name}};
}

json matchJson(const CtStateMatch& m) {
    json j = {{"match", "ctstate"}, {"negated", m.negated}, {"states", ctStateNames(m.states)}};
    if (m.stateModule) j["stateModule"] = true;
    return j;
}

json matchJson(const MarkMatch& m) {
    return {{"match", "mark"}, {"negated", m.negated}, {"mark", markText(m.mark)}};
}

json matchJson(const ConnmarkMatch& m) {
    return {{"match", "connmark"}, {"negated", m.negated}, {"mark", markText(m.mark)}};
}

json matchJson(const OwnerMatch& m) {
    return {{"match", "owner"},
            {"kind", enumName(m.kind)},
            {"negated", m.negated},
            {"ids", rangeText(m.ids)}};
}

json matchJson(const CgroupMatch& m) {
    return {{"match", "cgroup"}, {"negated", m.negated}, {"path", m.path}};
}

json matchJson(const SocketMatch& m) {
    return {{"match", "socket"}, {"transparent", m.transparent}};
}

json matchJson(const IcmpMatch& m) {
    json j = {{"match", "icmp"},
              {"family", enumName(m.family)},
              {"negated", m.negated},
              {"type", m.type}};
    putOptional(j, "code", m.code, asIs);
    return j;
}

json matchJson(const AddrTypeMatch& m) {
    return {
        {"match", "addrtype"}, {"dir", enumName(m.dir)}, {"negated", m.negated}, {"type", m.type}};
}

json matchJson(const LimitMatch& m) {
    return {{"match", "limit"}, {"rate", m.rate}, {"unit", m.unit}, {"burst", m.burst}};
}

json matchJson(const MacMatch& m) {
    return {{"match", "mac"}, {"negated", m.negated}, {"mac", macText(m.mac)}};
}

// ---------------------------------------------------------------------------------------------
// Targets

json targetJson(const NoTarget&) { return {{"target", "none"}}; }
json targetJson(const Accept&) { return {{"target", "accept"}}; }
json targetJson(const Drop&) { return {{"target", "drop"}}; }
json targetJson(const Return&) { return {{"target", "return"}}; }
json targetJson(const Jump& t) { return {{"target", "jump"}, {"chain", t.chain}}; }
json targetJson(const Goto& t) { return {{"target", "goto"}, {"chain", t.chain}}; }
json targetJson(const Notrack&) { return {{"target", "notrack"}}; }

json targetJson(const Reject& t) {
    json j = {{"target", "reject"}};
    if (!t.with.empty()) j["with"] = t.with;
    return j;
}

json targetJson(const Log& t) {
    json j = {{"target", "log"}, {"prefix", t.prefix}};
    putOptional(j, "level", t.level, asIs);
    return j;
}

json targetJson(const SetMark& t) { return {{"target", "mark"}, {"mark", markText(t.mark)}}; }

json targetJson(const Connmark& t) {
    json j = {{"target", "connmark"}, {"op", enumName(t.op)}};
    if (t.op == Connmark::Op::Set)
        j["mark"] = markText(t.mark);
    else
        j["mask"] = hex(t.mark.mask);
    return j;
}

json targetJson(const Nat& t) {
    json j = {{"target", "nat"}, {"kind", enumName(t.kind)}};
    putOptional(j, "first", t.first, asString);
    putOptional(j, "last", t.last, asString);
    putOptional(j, "ports", t.ports, rangeText);
    return j;
}

json targetJson(const Masquerade& t) {
    json j = {{"target", "masquerade"}};
    putOptional(j, "ports", t.ports, rangeText);
    return j;
}

json targetJson(const Redirect& t) {
    json j = {{"target", "redirect"}};
    putOptional(j, "ports", t.ports, rangeText);
    return j;
}

json targetJson(const Tproxy& t) {
    json j = {{"target", "tproxy"},
              {"family", enumName(t.family)},
              {"port", t.port},
              {"mark", markText(t.mark)}};
    putOptional(j, "addr", t.addr, asString);
    return j;
}

json opaqueJson(const OpaqueExtension& x) {
    return {{"name", x.name}, {"revision", x.revision}, {"data", toHex(x.data)}};
}
json matchJson(const OpaqueMatch& m) {
    json j = {{"match", "opaque"}, {"position", m.position}};
    j["extension"] = opaqueJson(m.ext);
    return j;
}
json targetJson(const OpaqueTarget& t) {
    json j = {{"target", "opaque"}};
    j["extension"] = opaqueJson(t.ext);
    return j;
}

// ---------------------------------------------------------------------------------------------
// Structure

json ruleJson(const Rule& r, const SourceManager& sources) {
    json matches = json::array();
    for (const auto& m : r.matches)
        matches.push_back(std::visit([](const auto& v) { return matchJson(v); }, m));
    json j = {{"matches", matches},
              {"target", std::visit([](const auto& v) { return targetJson(v); }, r.target)}};
    if (!r.comment.empty()) j["comment"] = r.comment;
    putOptional(j, "commentAt", r.commentAt, asIs);
    putSpan(j, r.span, sources);
    return j;
}

json chainJson(const Chain& c, const SourceManager& sources) {
    json rules = json::array();
    for (const auto& r : c.rules) rules.push_back(ruleJson(r, sources));
    json j = {{"name", c.name}, {"policy", enumName(c.policy)}, {"rules", rules}};
    putSpan(j, c.span, sources);
    return j;
}

json tableJson(const Table& t, const SourceManager& sources) {
    json chains = json::array();
    for (const auto& c : t.chains) chains.push_back(chainJson(c, sources));
    json j = {{"family", enumName(t.family)}, {"name", t.name}, {"chains", chains}};
    putSpan(j, t.span, sources);
    return j;
}

json interfaceJson(const Interface& i, const SourceManager& sources) {
    json addresses = json::array();
    for (const auto& a : i.addresses) addresses.push_back(a.str());
    json j = {{"name", i.name}, {"kind", enumName(i.kind)}, {"addresses", addresses}};
    putOptional(j, "peer", i.peer, asString);
    putOptional(j, "underlayLocal", i.underlayLocal, asString);
    putOptional(j, "underlayRemote", i.underlayRemote, asString);
    putOptional(j, "underlayPort", i.underlayPort, asIs);
    putOptional(j, "fwmark", i.fwmark, hex);
    putSpan(j, i.span, sources);
    return j;
}

json routingRuleJson(const RoutingRule& r, const SourceManager& sources) {
    json j = {{"family", enumName(r.family)},
              {"priority", r.priority},
              {"invert", r.invert},
              {"action", enumName(r.action)}};
    putOptional(j, "fwmark", r.fwmark, markText);
    putOptional(j, "iif", r.iif, asIs);
    putOptional(j, "oif", r.oif, asIs);
    putOptional(j, "uidrange", r.uidrange, rangeText);
    putOptional(j, "from", r.from, asString);
    putOptional(j, "to", r.to, asString);
    if (r.action == RoutingRule::Action::Lookup) j["table"] = r.table;
    putSpan(j, r.span, sources);
    return j;
}

json routeJson(const Route& r, const SourceManager& sources) {
    json j = {{"family", enumName(r.family())},
              {"type", enumName(r.type)},
              {"table", r.table},
              {"dst", r.dst.str()}};
    putOptional(j, "via", r.via, asString);
    putOptional(j, "dev", r.dev, asIs);
    putOptional(j, "src", r.src, asString);
    putOptional(j, "metric", r.metric, asIs);
    putSpan(j, r.span, sources);
    return j;
}

json sysctlJson(const Sysctl& s, const SourceManager& sources) {
    json j = {{"key", s.key}, {"value", s.value}};
    putSpan(j, s.span, sources);
    return j;
}

template <typename T, typename Fn>
json arrayOf(const std::vector<T>& items, const SourceManager& sources, Fn fn) {
    json out = json::array();
    for (const auto& item : items) out.push_back(fn(item, sources));
    return out;
}

}  // namespace

json toJson(const ir::Host& host, const SourceManager& sources) {
    json j = {{"name", host.name},
              {"interfaces", arrayOf(host.interfaces, sources, interfaceJson)},
              {"tables", arrayOf(host.tables, sources, tableJson)},
              {"routingRules", arrayOf(host.routingRules, sources, routingRuleJson)},
              {"routes", arrayOf(host.routes, sources, routeJson)},
              {"sysctls", arrayOf(host.sysctls, sources, sysctlJson)}};
    putSpan(j, host.span, sources);
    return j;
}

json toJson(const ir::Policy& policy, const SourceManager& sources) {
    json hosts = json::array();
    for (const auto& host : policy.hosts) hosts.push_back(toJson(host, sources));
    return {{"hosts", hosts}};
}

}  // namespace policyc
