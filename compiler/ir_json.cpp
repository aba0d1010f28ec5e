// SPDX-License-Identifier: GPL-2.0-or-later
// The IR as JSON: one overload per IR element, so that a new match or target kind that lacks
// one fails to compile instead of printing nothing. Written straight to text in the layout of
// nlohmann's dump(2) (keys sorted, two-space indent): a 200k-rule policy is 200 MB of JSON, and
// a json tree of it took a quarter of `build`'s time to build and free.
#include "compiler/ir_json.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

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
// The writer

/// Appends JSON text exactly as nlohmann::json::dump(2) prints the same value. Object members
/// must be written in nlohmann's order, ascending by key (std::map): the writer checks it.
class JsonWriter {
  public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    void beginObject() { open('{', true); }
    void endObject() { close('}'); }
    void beginArray() { open('[', false); }
    void endArray() { close(']'); }

    JsonWriter& key(std::string_view k) {
        Level& l = stack_.back();
        if (!l.empty && k <= l.lastKey)
            throw std::logic_error("ir_json: key '" + std::string(k) + "' out of order");
        l.lastKey = k;
        element();
        out_ += '"';
        out_ += k;
        out_ += "\": ";
        return *this;
    }

    void value(std::string_view s) {
        arrayElement();
        string(s);
    }
    void value(const char* s) { value(std::string_view(s)); }
    void value(const std::string& s) { value(std::string_view(s)); }
    void value(bool b) {
        arrayElement();
        out_ += b ? "true" : "false";
    }
    void value(uint64_t n) {
        arrayElement();
        char buf[24];
        out_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
    }
    void value(uint32_t n) { value(uint64_t{n}); }
    void value(uint16_t n) { value(uint64_t{n}); }
    void value(uint8_t n) { value(uint64_t{n}); }

    /// Starts an array or object element: in an array the separator and indent go first.
    void arrayElement() {
        if (!stack_.empty() && !stack_.back().object) element();
    }

  private:
    struct Level {
        bool object;
        bool empty = true;
        std::string_view lastKey;
    };

    void open(char c, bool object) {
        arrayElement();
        out_ += c;
        stack_.push_back(Level{object, true, {}});
    }

    void close(char c) {
        const bool empty = stack_.back().empty;
        stack_.pop_back();
        if (!empty) {
            out_ += '\n';
            out_.append(2 * stack_.size(), ' ');
        }
        out_ += c;
    }

    void element() {
        Level& l = stack_.back();
        out_ += l.empty ? "\n" : ",\n";
        l.empty = false;
        out_.append(2 * stack_.size(), ' ');
    }

    void string(std::string_view s) {
        const size_t start = out_.size();
        out_ += '"';
        for (size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x80) {
                // Non-ASCII (rare): nlohmann validates the UTF-8 and throws on bad bytes; let it.
                out_.resize(start);
                out_ += nlohmann::json(std::string(s)).dump();
                return;
            }
            switch (c) {
                case '"':
                    out_ += "\\\"";
                    break;
                case '\\':
                    out_ += "\\\\";
                    break;
                case '\b':
                    out_ += "\\b";
                    break;
                case '\f':
                    out_ += "\\f";
                    break;
                case '\n':
                    out_ += "\\n";
                    break;
                case '\r':
                    out_ += "\\r";
                    break;
                case '\t':
                    out_ += "\\t";
                    break;
                default:
                    if (c < 0x20) {
                        static constexpr char kHex[] = "0123456789abcdef";
                        out_ += "\\u00";
                        out_ += kHex[c >> 4];
                        out_ += kHex[c & 0xf];
                    } else {
                        out_ += static_cast<char>(c);
                    }
            }
        }
        out_ += '"';
    }

    std::string& out_;
    std::vector<Level> stack_;
};

// ---------------------------------------------------------------------------------------------
// Values as strings

std::string hex(uint32_t v) {
    char buf[16] = {'0', 'x'};
    return std::string(buf, std::to_chars(buf + 2, buf + sizeof buf, v, 16).ptr);
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
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < mac.size(); ++i) {
        if (i) out += ':';
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 0xf];
    }
    return out;
}

template <typename T, typename Conv>
void putOptional(JsonWriter& w, std::string_view key, const std::optional<T>& value, Conv conv) {
    if (value) w.key(key).value(conv(*value));
}

auto asIs = [](const auto& v) { return v; };
auto asString = [](const auto& v) { return v.str(); };

void putSpan(JsonWriter& w, const SourceSpan& span, const SourceManager& sources) {
    if (!span.valid()) return;
    w.key("span").beginObject();
    w.key("column").value(span.column);
    w.key("file").value(sources.path(span.file));
    w.key("line").value(span.line);
    w.endObject();
}

// ---------------------------------------------------------------------------------------------
// Matches: members in key order, as in every object below

// The iptables-only flags appear only when set: .pol never sets them. Keys in byte order,
// as nlohmann's dump wrote them.
void matchJson(JsonWriter& w, const ProtoMatch& m) {
    w.key("match").value("proto");
    w.key("negated").value(m.negated);
    if (m.portModule) w.key("portModule").value(true);
    w.key("proto").value(protoName(m.proto));
}

void matchJson(JsonWriter& w, const AddrMatch& m) {
    w.key("dir").value(enumName(m.dir));
    w.key("items").beginArray();
    for (const auto& item : m.items) w.value(addrItemText(item));
    w.endArray();
    w.key("match").value("addr");
    w.key("negated").value(m.negated);
}

void matchJson(JsonWriter& w, const PortMatch& m) {
    w.key("dir").value(enumName(m.dir));
    w.key("match").value("port");
    if (m.multiport) w.key("multiport").value(true);
    w.key("negated").value(m.negated);
    w.key("ports").beginArray();
    for (const auto& r : m.ports) w.value(rangeText(r));
    w.endArray();
}

void tcpFlagsJson(JsonWriter& w, uint8_t flags) {
    w.beginArray();
    for (size_t i = 0; i < tcpFlagNames().size(); ++i)
        if (flags & (1u << i)) w.value(tcpFlagNames()[i]);
    w.endArray();
}

void matchJson(JsonWriter& w, const TcpFlagsMatch& m) {
    w.key("comp");
    tcpFlagsJson(w, m.comp);
    w.key("mask");
    tcpFlagsJson(w, m.mask);
    w.key("match").value("tcpflags");
    w.key("negated").value(m.negated);
}

void matchJson(JsonWriter& w, const IfaceMatch& m) {
    w.key("dir").value(enumName(m.dir));
    w.key("match").value("iface");
    w.key("name").value(m.name);
    w.key("negated").value(m.negated);
}

void matchJson(JsonWriter& w, const CtStateMatch& m) {
    static constexpr std::pair<uint8_t, std::string_view> kStates[] = {
        {kCtInvalid, "invalid"},
        {kCtNew, "new"},
        {kCtEstablished, "established"},
        {kCtRelated, "related"},
        {kCtUntracked, "untracked"}};
    w.key("match").value("ctstate");
    w.key("negated").value(m.negated);
    if (m.stateModule) w.key("stateModule").value(true);
    w.key("states").beginArray();
    for (const auto& [bit, name] : kStates)
        if (m.states & bit) w.value(name);
    w.endArray();
}

void matchJson(JsonWriter& w, const MarkMatch& m) {
    w.key("mark").value(markText(m.mark));
    w.key("match").value("mark");
    w.key("negated").value(m.negated);
}

void matchJson(JsonWriter& w, const ConnmarkMatch& m) {
    w.key("mark").value(markText(m.mark));
    w.key("match").value("connmark");
    w.key("negated").value(m.negated);
}

void matchJson(JsonWriter& w, const OwnerMatch& m) {
    w.key("ids").value(rangeText(m.ids));
    w.key("kind").value(enumName(m.kind));
    w.key("match").value("owner");
    w.key("negated").value(m.negated);
}

void matchJson(JsonWriter& w, const CgroupMatch& m) {
    w.key("match").value("cgroup");
    w.key("negated").value(m.negated);
    w.key("path").value(m.path);
}

void matchJson(JsonWriter& w, const SocketMatch& m) {
    w.key("match").value("socket");
    w.key("transparent").value(m.transparent);
}

void matchJson(JsonWriter& w, const IcmpMatch& m) {
    putOptional(w, "code", m.code, asIs);
    w.key("family").value(enumName(m.family));
    w.key("match").value("icmp");
    w.key("negated").value(m.negated);
    w.key("type").value(m.type);
}

void matchJson(JsonWriter& w, const AddrTypeMatch& m) {
    w.key("dir").value(enumName(m.dir));
    w.key("match").value("addrtype");
    w.key("negated").value(m.negated);
    w.key("type").value(m.type);
}

void matchJson(JsonWriter& w, const LimitMatch& m) {
    w.key("burst").value(m.burst);
    w.key("match").value("limit");
    w.key("rate").value(m.rate);
    w.key("unit").value(m.unit);
}

void matchJson(JsonWriter& w, const MacMatch& m) {
    w.key("mac").value(macText(m.mac));
    w.key("match").value("mac");
    w.key("negated").value(m.negated);
}

// ---------------------------------------------------------------------------------------------
// Targets

void targetJson(JsonWriter& w, const NoTarget& t) {
    if (!t.counts) w.key("counts").value(false);
    w.key("target").value("none");
}
void targetJson(JsonWriter& w, const Accept&) { w.key("target").value("accept"); }
void targetJson(JsonWriter& w, const Drop&) { w.key("target").value("drop"); }
void targetJson(JsonWriter& w, const Return&) { w.key("target").value("return"); }
void targetJson(JsonWriter& w, const Notrack&) { w.key("target").value("notrack"); }

void targetJson(JsonWriter& w, const TcpMss& t) {
    if (t.mss)
        w.key("mss").value(*t.mss);
    else
        w.key("mss").value("clamp");
    w.key("target").value("tcpmss");
}

void targetJson(JsonWriter& w, const Jump& t) {
    w.key("chain").value(t.chain);
    w.key("target").value("jump");
}

void targetJson(JsonWriter& w, const Goto& t) {
    w.key("chain").value(t.chain);
    w.key("target").value("goto");
}

void targetJson(JsonWriter& w, const Reject& t) {
    w.key("target").value("reject");
    if (!t.with.empty()) w.key("with").value(t.with);
}

void targetJson(JsonWriter& w, const Log& t) {
    putOptional(w, "level", t.level, asIs);
    w.key("prefix").value(t.prefix);
    w.key("target").value("log");
}

void targetJson(JsonWriter& w, const SetMark& t) {
    w.key("mark").value(markText(t.mark));
    w.key("target").value("mark");
}

void targetJson(JsonWriter& w, const Connmark& t) {
    if (t.op == Connmark::Op::Set)
        w.key("mark").value(markText(t.mark));
    else
        w.key("mask").value(hex(t.mark.mask));
    w.key("op").value(enumName(t.op));
    w.key("target").value("connmark");
}

void targetJson(JsonWriter& w, const Nat& t) {
    putOptional(w, "first", t.first, asString);
    w.key("kind").value(enumName(t.kind));
    putOptional(w, "last", t.last, asString);
    putOptional(w, "ports", t.ports, rangeText);
    w.key("target").value("nat");
}

void targetJson(JsonWriter& w, const Masquerade& t) {
    putOptional(w, "ports", t.ports, rangeText);
    w.key("target").value("masquerade");
}

void targetJson(JsonWriter& w, const Redirect& t) {
    putOptional(w, "ports", t.ports, rangeText);
    w.key("target").value("redirect");
}

void targetJson(JsonWriter& w, const Tproxy& t) {
    putOptional(w, "addr", t.addr, asString);
    w.key("family").value(enumName(t.family));
    w.key("mark").value(markText(t.mark));
    w.key("port").value(t.port);
    w.key("target").value("tproxy");
}

void opaqueJson(JsonWriter& w, const OpaqueExtension& x) {
    w.key("extension").beginObject();
    w.key("data").value(toHex(x.data));
    w.key("name").value(x.name);
    w.key("revision").value(x.revision);
    w.endObject();
}

void matchJson(JsonWriter& w, const OpaqueMatch& m) {
    opaqueJson(w, m.ext);
    if (m.header) w.key("header").value(true);
    w.key("match").value("opaque");
    w.key("position").value(m.position);
}

void targetJson(JsonWriter& w, const OpaqueTarget& t) {
    opaqueJson(w, t.ext);
    w.key("target").value("opaque");
}

// ---------------------------------------------------------------------------------------------
// Structure

void ruleJson(JsonWriter& w, const Rule& r, const SourceManager& sources) {
    w.beginObject();
    if (!r.comment.empty()) w.key("comment").value(r.comment);
    putOptional(w, "commentAfter", r.commentAfter, asIs);
    w.key("matches").beginArray();
    for (const auto& m : r.matches) {
        w.beginObject();
        std::visit([&](const auto& v) { matchJson(w, v); }, m);
        w.endObject();
    }
    w.endArray();
    putSpan(w, r.span, sources);
    w.key("target").beginObject();
    std::visit([&](const auto& v) { targetJson(w, v); }, r.target);
    w.endObject();
    w.endObject();
}

void chainJson(JsonWriter& w, const Chain& c, const SourceManager& sources) {
    w.beginObject();
    w.key("name").value(c.name);
    w.key("policy").value(enumName(c.policy));
    w.key("rules").beginArray();
    for (const auto& r : c.rules) ruleJson(w, r, sources);
    w.endArray();
    putSpan(w, c.span, sources);
    w.endObject();
}

void tableJson(JsonWriter& w, const Table& t, const SourceManager& sources) {
    w.beginObject();
    w.key("chains").beginArray();
    for (const auto& c : t.chains) chainJson(w, c, sources);
    w.endArray();
    w.key("family").value(enumName(t.family));
    w.key("name").value(t.name);
    putSpan(w, t.span, sources);
    w.endObject();
}

void interfaceJson(JsonWriter& w, const Interface& i, const SourceManager& sources) {
    w.beginObject();
    w.key("addresses").beginArray();
    for (const auto& a : i.addresses) w.value(a.str());
    w.endArray();
    putOptional(w, "fwmark", i.fwmark, hex);
    w.key("kind").value(enumName(i.kind));
    w.key("name").value(i.name);
    putOptional(w, "peer", i.peer, asString);
    putSpan(w, i.span, sources);
    putOptional(w, "underlayLocal", i.underlayLocal, asString);
    putOptional(w, "underlayPort", i.underlayPort, asIs);
    putOptional(w, "underlayRemote", i.underlayRemote, asString);
    w.endObject();
}

void routingRuleJson(JsonWriter& w, const RoutingRule& r, const SourceManager& sources) {
    w.beginObject();
    w.key("action").value(enumName(r.action));
    w.key("family").value(enumName(r.family));
    putOptional(w, "from", r.from, asString);
    putOptional(w, "fwmark", r.fwmark, markText);
    putOptional(w, "iif", r.iif, asIs);
    w.key("invert").value(r.invert);
    putOptional(w, "oif", r.oif, asIs);
    w.key("priority").value(r.priority);
    putSpan(w, r.span, sources);
    if (r.action == RoutingRule::Action::Lookup) w.key("table").value(r.table);
    putOptional(w, "to", r.to, asString);
    putOptional(w, "uidrange", r.uidrange, rangeText);
    w.endObject();
}

void routeJson(JsonWriter& w, const Route& r, const SourceManager& sources) {
    w.beginObject();
    putOptional(w, "dev", r.dev, asIs);
    w.key("dst").value(r.dst.str());
    w.key("family").value(enumName(r.family()));
    putOptional(w, "metric", r.metric, asIs);
    putSpan(w, r.span, sources);
    putOptional(w, "src", r.src, asString);
    w.key("table").value(r.table);
    w.key("type").value(enumName(r.type));
    putOptional(w, "via", r.via, asString);
    w.endObject();
}

void sysctlJson(JsonWriter& w, const Sysctl& s, const SourceManager& sources) {
    w.beginObject();
    w.key("key").value(s.key);
    putSpan(w, s.span, sources);
    w.key("value").value(s.value);
    w.endObject();
}

template <typename T, typename Fn>
void arrayOf(JsonWriter& w, std::string_view key, const std::vector<T>& items,
             const SourceManager& sources, Fn fn) {
    w.key(key).beginArray();
    for (const auto& item : items) fn(w, item, sources);
    w.endArray();
}

void hostJson(JsonWriter& w, const ir::Host& host, const SourceManager& sources) {
    w.beginObject();
    arrayOf(w, "interfaces", host.interfaces, sources, interfaceJson);
    w.key("name").value(host.name);
    arrayOf(w, "routes", host.routes, sources, routeJson);
    arrayOf(w, "routingRules", host.routingRules, sources, routingRuleJson);
    putSpan(w, host.span, sources);
    arrayOf(w, "sysctls", host.sysctls, sources, sysctlJson);
    arrayOf(w, "tables", host.tables, sources, tableJson);
    w.endObject();
}

}  // namespace

/// More than the host's JSON text takes, as a rule: reserved up front, the text is not copied
/// at each doubling of its buffer (200 MB at 200k rules). What is never written costs address
/// space, not memory: a buffer that large is mapped apart and its untouched pages stay absent.
size_t sizeHint(const ir::Host& host, const SourceManager& sources) {
    size_t path = 0;
    for (uint32_t id = 1; id <= sources.fileCount(); ++id)
        path = std::max(path, sources.path(id).size());
    size_t n = 4096 + 512 * (host.interfaces.size() + host.routingRules.size() +
                             host.routes.size() + host.sysctls.size());
    for (const auto& t : host.tables)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules)
                n += 512 + path + r.comment.size() + 256 * (r.matches.size() + 1);
    return n;
}

std::string renderJson(const ir::Host& host, const SourceManager& sources) {
    std::string out;
    out.reserve(sizeHint(host, sources));
    JsonWriter w(out);
    hostJson(w, host, sources);
    return out;
}

std::string renderJson(const ir::Policy& policy, const SourceManager& sources) {
    std::string out;
    JsonWriter w(out);
    w.beginObject();
    w.key("hosts").beginArray();
    for (const auto& host : policy.hosts) hostJson(w, host, sources);
    w.endArray();
    w.endObject();
    return out;
}

json toJson(const ir::Host& host, const SourceManager& sources) {
    return json::parse(renderJson(host, sources));
}

json toJson(const ir::Policy& policy, const SourceManager& sources) {
    return json::parse(renderJson(policy, sources));
}

}  // namespace policyc
