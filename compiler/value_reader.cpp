// SPDX-License-Identifier: GPL-2.0-or-later
#include "compiler/value_reader.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstdlib>

#include "compiler/compile.h"

namespace policyc {

namespace {
constexpr int kMaxDefineDepth = 16;
using Kind = ast::Value::Kind;
using AtomKind = ast::Value::AtomKind;

std::string familyWord(ir::Family f) { return f == ir::Family::V4 ? "IPv4" : "IPv6"; }

std::optional<uint64_t> parseNumber(std::string_view text) {
    if (text.empty()) return std::nullopt;
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.size() > 16) return std::nullopt;
    uint64_t v = 0;
    for (char c : text) {
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : 99;
        if (d >= base) return std::nullopt;
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    return v;
}
}  // namespace

std::string describe(const ast::Value& v) {
    switch (v.kind) {
        case Kind::Atom:
            return v.atom == AtomKind::Var ? "$" + v.text : "'" + v.text + "'";
        case Kind::Range:
            return "a range";
        case Kind::Slash:
            return "'" + v.parts[0].text + "/" + v.parts[1].text + "'";
        case Kind::AddrPort:
            return "an address:port";
        case Kind::PortOnly:
            return "a :port";
        case Kind::Set:
            return "a set";
    }
    return "a value";
}

void ValueReader::wrongKind(const ast::Value& v, std::string_view expected) {
    diags_.report(Code::E104, v.span,
                  "expected " + std::string(expected) + ", found " + describe(v));
}

bool ValueReader::isSet(const ast::Value& v) {
    const ast::Value* r = resolve(v);
    return r && r->kind == Kind::Set;
}

const ast::Value* ValueReader::resolve(const ast::Value& v, int depth) {
    if (v.kind != Kind::Atom || v.atom != AtomKind::Var) return &v;
    auto it = defs_.find(v.text);
    if (it == defs_.end()) {
        diags_.report(Code::E101, v.span, "'$" + v.text + "' is not defined");
        return nullptr;
    }
    if (depth >= kMaxDefineDepth) {
        diags_.report(Code::E106, v.span, "definitions nest deeper than 16 levels (a cycle?)");
        return nullptr;
    }
    const auto& args = it->second->args;
    if (args.size() != 1) return &v;  // a list: only flatten() can use it
    return resolve(args[0], depth + 1);
}

void ValueReader::flattenInto(const ast::Value& v, std::vector<const ast::Value*>& out, int depth) {
    // Every node visited counts, not only the values kept: nested definitions multiply, and an
    // undefined name deep inside would be reported once per path to it.
    // The first error also ends this flatten(): a definition used on many paths would
    // otherwise repeat it once per path.
    if (valuesOverLimit_ || flattenFailed_) return;
    if (++valuesExpanded_ > InputLimits{}.maxValuesPerHost) {
        valuesOverLimit_ = true;
        return;
    }
    if (depth > kMaxDefineDepth) {
        diags_.report(Code::E106, v.span, "definitions nest deeper than 16 levels (a cycle?)");
        flattenFailed_ = true;
        return;
    }
    if (v.kind == Kind::Set) {
        for (const auto& p : v.parts) flattenInto(p, out, depth + 1);
        return;
    }
    if (v.kind == Kind::Atom && v.atom == AtomKind::Var) {
        auto it = defs_.find(v.text);
        if (it == defs_.end()) {
            diags_.report(Code::E101, v.span, "'$" + v.text + "' is not defined");
            flattenFailed_ = true;
            return;
        }
        // A list is a set of values: a definition met again adds nothing new. Expanding it once
        // keeps `define`s of `define`s linear instead of multiplying (8 lines of 8 copies each
        // were 16M values, 16 s and 2 GB for a 13-line file).
        if (expanded_.count(it->first)) return;
        for (const auto& a : it->second->args) flattenInto(a, out, depth + 1);
        expanded_.insert(it->first);
        return;
    }
    out.push_back(&v);
}

std::vector<const ast::Value*> ValueReader::flatten(const std::vector<ast::Value>& values) {
    std::vector<const ast::Value*> out;
    expanded_.clear();
    for (const auto& v : values) {
        flattenFailed_ = false;
        const bool wasOver = valuesOverLimit_;
        flattenInto(v, out, 0);
        if (valuesOverLimit_ && !wasOver)
            diags_.report(Code::E205, v.span,
                          "the host's values expand to more than " +
                              std::to_string(InputLimits{}.maxValuesPerHost) +
                              " elements (definitions and sets included)");
    }
    return out;
}

const ast::Value* ValueReader::single(const ast::Value& v, std::string_view what) {
    const ast::Value* r = resolve(v);
    if (!r) return nullptr;
    if (r->kind == Kind::Set || (r->kind == Kind::Atom && r->atom == AtomKind::Var)) {
        diags_.report(Code::E104, v.span, std::string(what) + " takes one value, not a list");
        return nullptr;
    }
    return r;
}

std::optional<uint64_t> ValueReader::number(const ast::Value& v0, uint64_t max,
                                            std::string_view what) {
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind != Kind::Atom || v->atom != AtomKind::Number) {
        wrongKind(*v, "a number for " + std::string(what));
        return std::nullopt;
    }
    auto n = parseNumber(v->text);
    if (!n || *n > max) {
        diags_.report(Code::E103, v->span,
                      std::string(what) + " " + v->text + " is out of range (0.." +
                          std::to_string(max) + ")");
        return std::nullopt;
    }
    return n;
}

std::optional<ir::NumRange> ValueReader::numRange(const ast::Value& v0, uint32_t max,
                                                  std::string_view what) {
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind == Kind::Range) {
        auto a = number(v->parts[0], max, what);
        auto b = number(v->parts[1], max, what);
        if (!a || !b) return std::nullopt;
        if (*a > *b) {
            diags_.report(Code::E103, v->span,
                          std::string(what) + " range is empty (first > last)");
            return std::nullopt;
        }
        return ir::NumRange{static_cast<uint32_t>(*a), static_cast<uint32_t>(*b)};
    }
    auto n = number(*v, max, what);
    if (!n) return std::nullopt;
    return ir::NumRange{static_cast<uint32_t>(*n), static_cast<uint32_t>(*n)};
}

std::optional<std::vector<ir::NumRange>> ValueReader::ports(const std::vector<ast::Value>& values) {
    std::vector<ir::NumRange> out;
    bool ok = true;
    for (const ast::Value* v : flatten(values)) {
        auto r = numRange(*v, 65535, "port");
        if (r)
            out.push_back(*r);
        else
            ok = false;
    }
    if (!ok || out.empty()) return std::nullopt;
    return out;
}

std::optional<std::string> ValueReader::word(const ast::Value& v0, std::string_view what) {
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind != Kind::Atom || (v->atom != AtomKind::Name && v->atom != AtomKind::String)) {
        wrongKind(*v, "a name for " + std::string(what));
        return std::nullopt;
    }
    return v->text;
}

std::optional<ir::IpAddr> ValueReader::address(const ast::Value& v0, std::optional<ir::Family> want,
                                               std::string_view what) {
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind != Kind::Atom ||
        (v->atom != AtomKind::Ipv4 && v->atom != AtomKind::Addr6 && v->atom != AtomKind::Number)) {
        wrongKind(*v, "an address for " + std::string(what));
        return std::nullopt;
    }
    auto a = ir::IpAddr::parse(v->text);
    if (!a) {
        diags_.report(Code::E103, v->span, "'" + v->text + "' is not a valid address");
        return std::nullopt;
    }
    if (want && a->family != *want) {
        diags_.report(Code::E104, v->span,
                      familyWord(a->family) + " address '" + v->text + "' where " +
                          familyWord(*want) + " is required");
        return std::nullopt;
    }
    return a;
}

std::optional<ir::Prefix> ValueReader::prefix(const ast::Value& v0, std::optional<ir::Family> want,
                                              std::string_view what) {
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind == Kind::Atom && v->atom == AtomKind::Name && v->text == "default") {
        return ir::Prefix{ir::IpAddr{want.value_or(ir::Family::V4), {}}, 0};
    }
    if (v->kind == Kind::Slash) {
        auto a = address(v->parts[0], want, what);
        if (!a) return std::nullopt;
        const uint64_t max = a->family == ir::Family::V4 ? 32 : 128;
        auto len = number(v->parts[1], max, "prefix length");
        if (!len) return std::nullopt;
        return ir::Prefix{*a, static_cast<uint8_t>(*len)};
    }
    auto a = address(*v, want, what);
    if (!a) return std::nullopt;
    return ir::Prefix{*a, static_cast<uint8_t>(a->family == ir::Family::V4 ? 32 : 128)};
}

std::optional<ir::AddrItem> ValueReader::addrItem(const ast::Value& v0,
                                                  std::optional<ir::Family> want) {
    const ast::Value* v = single(v0, "address");
    if (!v) return std::nullopt;
    if (v->kind == Kind::Range) {
        auto a = address(v->parts[0], want, "address range");
        if (!a) return std::nullopt;
        auto b = address(v->parts[1], a->family, "address range");
        if (!b) return std::nullopt;
        if (*b < *a) {
            diags_.report(Code::E103, v->span, "address range is empty (first > last)");
            return std::nullopt;
        }
        return ir::AddrRange{*a, *b};
    }
    auto p = prefix(*v, want, "address");
    if (!p) return std::nullopt;
    return *p;
}

std::optional<ir::MarkMask> ValueReader::mark(const ast::Value& v0, std::string_view what) {
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind == Kind::Slash) {
        auto value = number(v->parts[0], 0xffffffff, what);
        auto mask = number(v->parts[1], 0xffffffff, std::string(what) + " mask");
        if (!value || !mask) return std::nullopt;
        return ir::MarkMask{static_cast<uint32_t>(*value), static_cast<uint32_t>(*mask)};
    }
    auto value = number(*v, 0xffffffff, what);
    if (!value) return std::nullopt;
    return ir::MarkMask{static_cast<uint32_t>(*value), 0xffffffff};
}

std::optional<ir::NumRange> ValueReader::ownerIds(const ast::Value& v0, bool group) {
    const char* what = group ? "group" : "user";
    const ast::Value* v = single(v0, what);
    if (!v) return std::nullopt;
    if (v->kind == Kind::Atom && (v->atom == AtomKind::Name || v->atom == AtomKind::String)) {
        // Names are resolved on the machine that compiles; numeric ids avoid that dependency.
        if (group) {
            if (const struct group* g = getgrnam(v->text.c_str()))
                return ir::NumRange{g->gr_gid, g->gr_gid};
        } else {
            if (const struct passwd* p = getpwnam(v->text.c_str()))
                return ir::NumRange{p->pw_uid, p->pw_uid};
        }
        diags_
            .report(Code::E101, v->span,
                    std::string("no ") + what + " named '" + v->text + "' on this machine")
            .hint = std::string("use the numeric ") + (group ? "gid" : "uid");
        return std::nullopt;
    }
    return numRange(*v, 0xfffffffe, group ? "gid" : "uid");
}

std::optional<NatSpec> ValueReader::natSpec(const ast::Value& v0, std::optional<ir::Family> want) {
    const ast::Value* v = single(v0, "address");
    if (!v) return std::nullopt;
    NatSpec spec;
    auto addrPart = [&](const ast::Value& a) -> bool {
        if (a.kind == Kind::Range) {
            auto f = address(a.parts[0], want, "address range");
            auto l = f ? address(a.parts[1], f->family, "address range") : std::nullopt;
            if (!f || !l) return false;
            spec.first = f;
            spec.last = l;
            return true;
        }
        spec.first = address(a, want, "address");
        return spec.first.has_value();
    };
    auto portPart = [&](const ast::Value& p) -> bool {
        spec.ports = numRange(p, 65535, "port");
        return spec.ports.has_value();
    };
    switch (v->kind) {
        case Kind::PortOnly:
            if (!portPart(v->parts[0])) return std::nullopt;
            break;
        case Kind::AddrPort:
            if (!addrPart(v->parts[0]) || !portPart(v->parts[1])) return std::nullopt;
            if (spec.first->family == ir::Family::V6 && !v->bracketed) {
                diags_.report(Code::E104, v->span,
                              "write an IPv6 address with a port as [addr]:port");
                return std::nullopt;
            }
            break;
        case Kind::Atom:
        case Kind::Range:
            if (!addrPart(*v)) return std::nullopt;
            break;
        default:
            wrongKind(*v, "an address, address:port or :port");
            return std::nullopt;
    }
    return spec;
}

std::optional<uint8_t> ValueReader::protocol(const ast::Value& v0) {
    const ast::Value* v = single(v0, "protocol");
    if (!v) return std::nullopt;
    if (v->kind == Kind::Atom && v->atom == AtomKind::Name) {
        if (auto p = ir::protoByName(v->text)) return p;
        diags_.report(Code::E101, v->span, "unknown protocol '" + v->text + "'").hint =
            "use tcp, udp, icmp, icmpv6, sctp, gre, esp, ah or a protocol number";
        return std::nullopt;
    }
    auto n = number(*v, 255, "protocol");
    if (!n) return std::nullopt;
    return static_cast<uint8_t>(*n);
}

std::optional<uint32_t> ValueReader::routeTable(const ast::Value& v0) {
    const ast::Value* v = single(v0, "routing table");
    if (!v) return std::nullopt;
    if (v->kind == Kind::Atom && v->atom == AtomKind::Name) {
        if (v->text == "main") return ir::kTableMain;
        if (v->text == "local") return ir::kTableLocal;
        if (v->text == "default") return ir::kTableDefault;
        diags_.report(Code::E101, v->span, "unknown routing table '" + v->text + "'").hint =
            "use main, local, default or a table number";
        return std::nullopt;
    }
    auto n = number(*v, 0xffffffff, "routing table");
    if (!n) return std::nullopt;
    if (*n == 0) {
        diags_.report(Code::E103, v->span, "routing table 0 is reserved (unspec)");
        return std::nullopt;
    }
    return static_cast<uint32_t>(*n);
}

}  // namespace policyc
