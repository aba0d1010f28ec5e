// SPDX-License-Identifier: GPL-2.0-or-later
// Lowers the matches and the statement of one rule. Each clause key (see ast::Clause) has one
// handler; the handlers type their values through ValueReader, which reports located errors.
#include "compiler/lower_rule.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>

namespace policyc {
namespace {

using ir::Family;

std::optional<Family> tableFamily(ir::TableFamily f) {
    if (f == ir::TableFamily::Ip) return Family::V4;
    if (f == ir::TableFamily::Ip6) return Family::V6;
    return std::nullopt;
}

std::optional<uint8_t> ctStateBit(std::string_view name) {
    static const std::map<std::string_view, uint8_t> kStates = {
        {"invalid", ir::kCtInvalid},         {"new", ir::kCtNew},
        {"established", ir::kCtEstablished}, {"related", ir::kCtRelated},
        {"untracked", ir::kCtUntracked},
    };
    auto it = kStates.find(name);
    if (it == kStates.end()) return std::nullopt;
    return it->second;
}

std::optional<uint8_t> icmpTypeByName(Family f, std::string_view name) {
    static const std::map<std::string_view, uint8_t> kV4 = {
        {"echo-reply", 0},           {"destination-unreachable", 3},
        {"source-quench", 4},        {"redirect", 5},
        {"echo-request", 8},         {"router-advertisement", 9},
        {"router-solicitation", 10}, {"time-exceeded", 11},
        {"parameter-problem", 12},   {"timestamp-request", 13},
        {"timestamp-reply", 14},
    };
    static const std::map<std::string_view, uint8_t> kV6 = {
        {"destination-unreachable", 1},
        {"packet-too-big", 2},
        {"time-exceeded", 3},
        {"parameter-problem", 4},
        {"echo-request", 128},
        {"echo-reply", 129},
        {"router-solicitation", 133},
        {"router-advertisement", 134},
        {"neighbour-solicitation", 135},
        {"neighbor-solicitation", 135},
        {"neighbour-advertisement", 136},
        {"neighbor-advertisement", 136},
    };
    const auto& table = f == Family::V4 ? kV4 : kV6;
    auto it = table.find(name);
    if (it == table.end()) return std::nullopt;
    return it->second;
}

const std::vector<std::string_view>& rejectTypes(Family f) {
    static const std::vector<std::string_view> kV4 = {
        "icmp-net-unreachable",  "icmp-host-unreachable",
        "icmp-port-unreachable", "icmp-proto-unreachable",
        "icmp-net-prohibited",   "icmp-host-prohibited",
        "icmp-admin-prohibited", "tcp-reset"};
    static const std::vector<std::string_view> kV6 = {"icmp6-no-route", "icmp6-adm-prohibited",
                                                      "icmp6-addr-unreachable",
                                                      "icmp6-port-unreachable", "tcp-reset"};
    return f == Family::V4 ? kV4 : kV6;
}

bool isRouteType(std::string_view t) {
    static const std::array<std::string_view, 12> kTypes = {
        "unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
        "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};
    return std::find(kTypes.begin(), kTypes.end(), t) != kTypes.end();
}

/// Lowers one rule, collecting its matches and target; `ok` turns false on the first error
/// but every clause is still checked so one pass reports every mistake in the rule.
class RuleLowering {
  public:
    RuleLowering(const RuleContext& ctx, ValueReader& values)
        : ctx_(ctx), values_(values), diags_(values.diags()) {}

    std::optional<ir::Rule> run(const ast::Rule& src) {
        rule_.span = src.span;
        for (const auto& a : src.annotations) annotation(a);
        for (size_t i = 0; i < src.matches.size(); ++i) {
            match(src.matches[i]);
            clauseOf_.resize(rule_.matches.size(), i);
        }
        if (src.statement.key.empty() && src.matches.empty()) {
            diags_.report(Code::E001, src.span, "a rule needs a match or a statement");
            fail();
        }
        statement(src.statement);
        rule_.parts.target = src.statement.span;
        if (src.comment) {
            if (src.comment->size() > 255) {
                diags_.report(Code::E205, src.span,
                              "comment is longer than the kernel's 255 bytes");
                ok_ = false;
            }
            rule_.comment = *src.comment;
        }
        dedupeProtocols();
        keepFullPortRanges();
        checkNatPorts(src.statement);
        // every match a clause lowers to (`tcp dport` makes two) points at the clause
        for (size_t c : clauseOf_) rule_.parts.matches.push_back(src.matches[c].span);
        std::vector<bool> before(rule_.matches.size(), true);
        if (src.commentAt && !rule_.comment.empty())
            for (size_t i = 0; i < before.size(); ++i) before[i] = clauseOf_[i] < *src.commentAt;
        rule_.commentAfter =
            ir::sortMatchesAroundComment(rule_.matches, before, &rule_.parts.matches);
        checkFamilies();
        if (!ok_) return std::nullopt;
        return std::move(rule_);
    }

  private:
    void fail() { ok_ = false; }
    template <class T>
    void keep(std::optional<T>&& v) {
        if (v)
            rule_.matches.push_back(std::move(*v));
        else
            fail();
    }
    const ast::Value* firstArg(const ast::Clause& c) {
        if (!c.args.empty()) return &c.args[0];
        diags_.report(Code::E001, c.span, "'" + c.key + "' needs a value");
        fail();
        return nullptr;
    }

    void annotation(const ast::Annotation& a) {
        auto code = codeByName(a.code);
        if (!code) {
            diags_.report(Code::E101, a.span, "unknown finding code '" + a.code + "'").hint =
                "codes are listed in docs/lints.md, e.g. shadowed-rule, missing-snat";
            return fail();
        }
        if (a.reason.empty()) {
            diags_.report(Code::E106, a.span, "@allow(" + a.code + ") needs a reason").hint =
                "write @allow(" + a.code + ", \"why this is intended\")";
            return fail();
        }
        rule_.allow.items.push_back({std::string(codeInfo(*code).name), a.reason, a.span});
    }

    void match(const ast::Clause& c) {
        const std::string& k = c.key;
        if (k == "saddr" || k == "daddr" || k == "ip saddr" || k == "ip daddr" ||
            k == "ip6 saddr" || k == "ip6 daddr") {
            return addr(c);
        }
        if (k == "tcp" || k == "udp" || k == "sctp") return proto(*ir::protoByName(k), false);
        if (k.ends_with(" dport") || k.ends_with(" sport")) return port(c);
        if (k == "tcp flags") return tcpFlags(c);
        if (k == "proto") return protoMatch(c);
        if (k == "iif" || k == "oif") return iface(c);
        if (k == "ct state" || k == "state") return ctState(c);
        if (k == "mark" || k == "ct mark") return markMatch(c);
        if (k == "user" || k == "group") return owner(c);
        if (k == "cgroup") return cgroup(c);
        if (k == "socket" || k == "socket transparent") {
            rule_.matches.push_back(ir::SocketMatch{k == "socket transparent"});
            return;
        }
        if (k == "icmp type" || k == "icmpv6 type") return icmp(c);
        if (k == "addrtype saddr" || k == "addrtype daddr") return addrType(c);
        if (k == "limit") return limit(c);
        if (k == "ether saddr") return mac(c);
        diags_.report(Code::E001, c.span, "unknown match '" + k + "'");
        fail();
    }

    void addr(const ast::Clause& c) {
        std::optional<Family> want = tableFamily(ctx_.family);
        if (c.key.starts_with("ip6 "))
            want = Family::V6;
        else if (c.key.starts_with("ip "))
            want = Family::V4;
        ir::AddrMatch m;
        m.dir = c.key.ends_with("saddr") ? ir::Direction::Source : ir::Direction::Destination;
        m.negated = c.negated;
        for (const ast::Value* v : values_.flatten(c.args)) {
            auto item = values_.addrItem(*v, want);
            if (!item) {
                fail();
                continue;
            }
            want = ir::familyOf(*item);  // the first item fixes the family of the rest
            // The kernel stores prefixes without host bits and lists them so; so does the IR.
            if (auto* p = std::get_if<ir::Prefix>(&*item)) *p = p->network();
            m.items.push_back(*item);
        }
        if (m.items.empty()) return fail();
        rule_.matches.push_back(std::move(m));
    }

    void proto(uint8_t p, bool negated) { rule_.matches.push_back(ir::ProtoMatch{p, negated}); }

    void protoMatch(const ast::Clause& c) {
        auto list = values_.flatten(c.args);
        if (list.size() != 1) {
            diags_.report(Code::E106, c.span, "one protocol per rule").hint =
                "write one rule per protocol";
            return fail();
        }
        auto p = values_.protocol(*list[0]);
        if (!p) return fail();
        proto(*p, c.negated);
    }

    void port(const ast::Clause& c) {
        const std::string protoWord = c.key.substr(0, c.key.find(' '));
        proto(*ir::protoByName(protoWord), false);
        auto ports = values_.ports(c.args);
        if (!ports) return fail();
        // a set of one range (`{ 22 }`, or a define of one) is iptables' -m multiport with one
        // port
        const bool set = c.args.size() == 1 && values_.isSet(c.args[0]);
        rule_.matches.push_back(ir::PortMatch{
            c.key.ends_with("sport") ? ir::Direction::Source : ir::Direction::Destination,
            c.negated, *ports, set && ports->size() == 1});
    }

    /// `tcp flags COMP / MASK`: the flags of COMP set, the others of MASK clear.
    void tcpFlags(const ast::Clause& c) {
        proto(6, false);
        if (c.args.size() != 2) {
            diags_.report(Code::E104, c.span, "write tcp flags COMP / MASK, e.g. syn / syn,ack");
            return fail();
        }
        auto comp = tcpFlagSet(c.args[0], true);
        auto mask = tcpFlagSet(c.args[1], false);
        if (!comp || !mask) return fail();
        if (*comp & ~*mask) {
            diags_
                .report(Code::E103, c.args[0].span,
                        "tcp flags outside the mask can never be set in the masked value")
                .hint = "add them to the mask after '/', or leave them out";
            return fail();
        }
        rule_.matches.push_back(ir::TcpFlagsMatch{c.negated, *mask, *comp});
    }

    std::optional<uint8_t> tcpFlagSet(const ast::Value& list, bool noneAllowed) {
        const auto& names = ir::tcpFlagNames();
        uint8_t bits = 0;
        bool ok = true;
        for (const ast::Value& v : list.parts) {
            if (v.text == "none" && noneAllowed && list.parts.size() == 1) continue;
            auto it = std::find(names.begin(), names.end(), v.text);
            if (it == names.end()) {
                diags_.report(Code::E101, v.span, "unknown tcp flag '" + v.text + "'").hint =
                    noneAllowed ? "use fin, syn, rst, psh, ack, urg, ecn, cwr, or none alone"
                                : "use fin, syn, rst, psh, ack, urg, ecn or cwr";
                ok = false;
                continue;
            }
            bits |= static_cast<uint8_t>(1u << (it - names.begin()));
        }
        if (!ok) return std::nullopt;
        if (!noneAllowed && bits == 0) {
            diags_.report(Code::E103, list.span, "an empty tcp flags mask tests nothing");
            return std::nullopt;
        }
        return bits;
    }

    void iface(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto name = values_.word(*v, "interface");
        if (!name) return fail();
        std::string n = *name;
        if (!n.empty() && n.back() == '*') n.back() = '+';  // nft spelling of the wildcard
        if (n.empty() || n.size() > 15) {
            diags_.report(Code::E205, v->span,
                          "interface name '" + n + "' is longer than 15 bytes");
            return fail();
        }
        rule_.matches.push_back(ir::IfaceMatch{
            c.key == "iif" ? ir::IfaceDirection::In : ir::IfaceDirection::Out, c.negated, n});
    }

    void ctState(const ast::Clause& c) {
        // `state` is iptables' older module (-m state): the same packets, its own entry
        ir::CtStateMatch m{c.negated, 0, c.key == "state"};
        for (const ast::Value* v : values_.flatten(c.args)) {
            auto name = values_.word(*v, "conntrack state");
            auto bit = name ? ctStateBit(*name) : std::nullopt;
            if (!bit) {
                if (name)
                    diags_.report(Code::E101, v->span, "unknown conntrack state '" + *name + "'")
                        .hint = "use new, established, related, invalid or untracked";
                fail();
                continue;
            }
            m.states |= *bit;
        }
        if (m.states) rule_.matches.push_back(m);
    }

    void markMatch(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto mm = values_.mark(*v, "mark");
        if (!mm) return fail();
        if (c.key == "mark")
            rule_.matches.push_back(ir::MarkMatch{c.negated, *mm});
        else
            rule_.matches.push_back(ir::ConnmarkMatch{c.negated, *mm});
    }

    void owner(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        const bool group = c.key == "group";
        auto ids = values_.ownerIds(*v, group);
        if (!ids) return fail();
        rule_.matches.push_back(ir::OwnerMatch{
            group ? ir::OwnerMatch::Kind::Gid : ir::OwnerMatch::Kind::Uid, c.negated, *ids});
    }

    void cgroup(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto path = values_.word(*v, "cgroup path");
        if (!path) return fail();
        if (path->empty() || path->size() > 4095) {
            diags_.report(Code::E103, v->span, "cgroup path must be 1 to 4095 bytes");
            return fail();
        }
        rule_.matches.push_back(ir::CgroupMatch{c.negated, *path});
    }

    void icmp(const ast::Clause& c) {
        const Family f = c.key == "icmp type" ? Family::V4 : Family::V6;
        const ast::Value* v = firstArg(c);
        if (!v) return;
        ir::IcmpMatch m{f, c.negated, 0, std::nullopt};
        const ast::Value* r = values_.single(*v, "icmp type");
        if (!r) return fail();
        if (r->kind == ast::Value::Kind::Atom && r->atom == ast::Value::AtomKind::Name) {
            auto t = icmpTypeByName(f, r->text);
            if (!t) {
                diags_.report(Code::E101, r->span, "unknown icmp type '" + r->text + "'");
                return fail();
            }
            m.type = *t;
        } else {
            auto n = values_.number(*r, 255, "icmp type");
            if (!n) return fail();
            m.type = static_cast<uint8_t>(*n);
        }
        if (const ast::Value* code = c.option("code")) {
            auto n = values_.number(*code, 255, "icmp code");
            if (!n) return fail();
            m.code = static_cast<uint8_t>(*n);
        }
        rule_.matches.push_back(m);
    }

    void addrType(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto t = values_.word(*v, "address type");
        if (!t) return fail();
        std::string lower = *t;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (!isRouteType(lower)) {
            diags_.report(Code::E101, v->span, "unknown address type '" + *t + "'").hint =
                "use local, unicast, broadcast, anycast, multicast, blackhole, unreachable, "
                "prohibit";
            return fail();
        }
        rule_.matches.push_back(ir::AddrTypeMatch{
            c.key.ends_with("saddr") ? ir::Direction::Source : ir::Direction::Destination,
            c.negated, lower});
    }

    void limit(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        const ast::Value* r = values_.single(*v, "limit");
        if (!r) return fail();
        if (r->kind != ast::Value::Kind::Slash) {
            diags_.report(Code::E104, r->span, "a limit is written RATE/UNIT, e.g. 5/minute");
            return fail();
        }
        auto rate = values_.number(r->parts[0], 10000, "limit rate");
        auto unit = values_.word(r->parts[1], "limit unit");
        static const std::map<std::string_view, std::string_view> kUnits = {
            {"second", "second"}, {"sec", "second"}, {"s", "second"},  {"minute", "minute"},
            {"min", "minute"},    {"m", "minute"},   {"hour", "hour"}, {"h", "hour"},
            {"day", "day"},       {"d", "day"}};
        auto u = unit ? kUnits.find(*unit) : kUnits.end();
        if (unit && u == kUnits.end()) {
            diags_.report(Code::E101, r->parts[1].span, "unknown limit unit '" + *unit + "'").hint =
                "use second, minute, hour or day";
        }
        if (!rate || *rate == 0 || u == kUnits.end()) {
            if (rate && *rate == 0)
                diags_.report(Code::E103, r->span, "a limit rate must be at least 1");
            return fail();
        }
        ir::LimitMatch m{static_cast<uint32_t>(*rate), std::string(u->second), 5};
        if (const ast::Value* b = c.option("burst")) {
            auto n = values_.number(*b, 10000, "limit burst");
            if (!n || *n == 0) return fail();
            m.burst = static_cast<uint32_t>(*n);
        }
        rule_.matches.push_back(m);
    }

    void mac(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        const ast::Value* r = values_.single(*v, "MAC address");
        if (!r) return fail();
        ir::MacMatch m{c.negated, {}};
        unsigned parsed = 0;
        std::string_view text = r->text;
        bool good = r->kind == ast::Value::Kind::Atom && text.size() == 17;
        for (unsigned i = 0; good && i < 6; ++i) {
            auto hex = [](char ch) {
                return std::isxdigit(static_cast<unsigned char>(ch))
                           ? (std::isdigit(static_cast<unsigned char>(ch))
                                  ? ch - '0'
                                  : (std::tolower(ch) - 'a' + 10))
                           : -1;
            };
            int hi = hex(text[i * 3]), lo = hex(text[i * 3 + 1]);
            if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':'))
                good = false;
            else
                m.mac[i] = static_cast<uint8_t>(hi * 16 + lo), ++parsed;
        }
        if (!good || parsed != 6) {
            diags_.report(Code::E104, r->span, "expected a MAC address like aa:bb:cc:dd:ee:ff");
            return fail();
        }
        rule_.matches.push_back(m);
    }

    // ---- statements ----------------------------------------------------------------------

    void statement(const ast::Clause& c) {
        const std::string& k = c.key;
        if (k == "accept")
            rule_.target = ir::Accept{};
        else if (k == "drop")
            rule_.target = ir::Drop{};
        else if (k == "return")
            rule_.target = ir::Return{};
        else if (k == "counter")
            rule_.target = ir::NoTarget{};
        else if (k.empty())  // matches closed by `;`: nothing to do, not even count (nft)
            rule_.target = ir::NoTarget{false};
        else if (k == "notrack")
            rule_.target = ir::Notrack{};
        else if (k == "reject")
            reject(c);
        else if (k == "jump" || k == "goto")
            jump(c);
        else if (k == "log")
            log(c);
        else if (k == "mark set")
            setMark(c);
        else if (k.starts_with("ct mark "))
            connmark(c);
        else if (k == "snat to" || k == "dnat to")
            nat(c);
        else if (k == "masquerade" || k == "masquerade to" || k == "redirect" || k == "redirect to")
            portNat(c);
        else if (k.starts_with("tproxy"))
            tproxy(c);
        else if (k == "tcp mss clamp")
            rule_.target = ir::TcpMss{};
        else if (k == "tcp mss set")
            tcpMss(c);
        else {
            diags_.report(Code::E001, c.span, "unknown statement '" + k + "'");
            fail();
        }
    }

    void reject(const ast::Clause& c) {
        ir::Reject r;
        if (const ast::Value* with = c.option("with")) {
            auto name = values_.word(*with, "reject type");
            if (!name) return fail();
            const auto& v4 = rejectTypes(Family::V4);
            const auto& v6 = rejectTypes(Family::V6);
            if (std::find(v4.begin(), v4.end(), *name) == v4.end() &&
                std::find(v6.begin(), v6.end(), *name) == v6.end()) {
                diags_.report(Code::E101, with->span, "unknown reject type '" + *name + "'").hint =
                    "e.g. icmp-port-unreachable, icmp-admin-prohibited, "
                    "icmp6-adm-prohibited, tcp-reset";
                return fail();
            }
            r.with = *name;
        }
        rule_.target = r;
    }

    void jump(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto name = values_.word(*v, "chain");
        if (!name) return fail();
        if (c.key == "jump")
            rule_.target = ir::Jump{*name};
        else
            rule_.target = ir::Goto{*name};
    }

    void log(const ast::Clause& c) {
        ir::Log l;
        if (const ast::Value* p = c.option("prefix")) {
            auto s = values_.word(*p, "log prefix");
            if (!s) return fail();
            if (s->size() > 29) {
                diags_.report(Code::E205, p->span,
                              "log prefix is longer than the kernel's 29 bytes");
                return fail();
            }
            l.prefix = *s;
        }
        if (const ast::Value* lv = c.option("level")) {
            static const std::map<std::string_view, uint8_t> kLevels = {
                {"emerg", 0}, {"alert", 1},   {"crit", 2},   {"err", 3},  {"error", 3},
                {"warn", 4},  {"warning", 4}, {"notice", 5}, {"info", 6}, {"debug", 7}};
            const ast::Value* r = values_.single(*lv, "log level");
            if (!r) return fail();
            if (r->kind == ast::Value::Kind::Atom && r->atom == ast::Value::AtomKind::Name) {
                auto it = kLevels.find(r->text);
                if (it == kLevels.end()) {
                    diags_.report(Code::E101, r->span, "unknown log level '" + r->text + "'");
                    return fail();
                }
                l.level = it->second;
            } else {
                auto n = values_.number(*r, 7, "log level");
                if (!n) return fail();
                l.level = static_cast<uint8_t>(*n);
            }
        }
        rule_.target = l;
    }

    void setMark(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto m = values_.mark(*v, "mark");
        if (!m) return fail();
        rule_.target = ir::SetMark{*m};
    }

    void tcpMss(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        // iptables 1.8.9 takes --set-mss 0-65515, ip6tables 0-65495 (65535 less the IP header)
        const uint64_t max = ctx_.family == ir::TableFamily::Ip ? 65515 : 65495;
        auto n = values_.number(*v, max, "mss");
        if (!n) return fail();
        rule_.target = ir::TcpMss{static_cast<uint16_t>(*n)};
    }

    void connmark(const ast::Clause& c) {
        ir::Connmark cm;
        if (c.key == "ct mark set") {
            const ast::Value* v = firstArg(c);
            if (!v) return;
            auto m = values_.mark(*v, "ct mark");
            if (!m) return fail();
            cm.op = ir::Connmark::Op::Set;
            cm.mark = *m;
        } else {
            cm.op = c.key == "ct mark save" ? ir::Connmark::Op::Save : ir::Connmark::Op::Restore;
            cm.mark = {0, 0xffffffff};
            if (const ast::Value* mask = c.option("mask")) {
                auto n = values_.number(*mask, 0xffffffff, "mask");
                if (!n) return fail();
                cm.mark.mask = static_cast<uint32_t>(*n);
            }
        }
        rule_.target = cm;
    }

    void nat(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        auto spec = values_.natSpec(*v, tableFamily(ctx_.family));
        if (!spec) return fail();
        ir::Nat n;
        n.kind = c.key == "snat to" ? ir::Nat::Kind::Snat : ir::Nat::Kind::Dnat;
        n.first = spec->first;
        n.last = spec->last;
        n.ports = spec->ports;
        rule_.target = n;
    }

    void portNat(const ast::Clause& c) {
        std::optional<ir::NumRange> ports;
        if (!c.args.empty()) {
            auto spec = values_.natSpec(c.args[0], tableFamily(ctx_.family));
            if (!spec) return fail();
            if (spec->first || !spec->ports) {
                diags_.report(
                    Code::E104, c.args[0].span,
                    "'" + c.key.substr(0, c.key.find(' ')) + "' takes only ports: to :PORT[-PORT]");
                return fail();
            }
            ports = spec->ports;
        }
        if (c.key.starts_with("redirect"))
            rule_.target = ir::Redirect{ports};
        else
            rule_.target = ir::Masquerade{ports};
    }

    void tproxy(const ast::Clause& c) {
        const ast::Value* v = firstArg(c);
        if (!v) return;
        std::optional<Family> fam = tableFamily(ctx_.family);
        if (c.key == "tproxy ip to") fam = Family::V4;
        if (c.key == "tproxy ip6 to") fam = Family::V6;
        auto spec = values_.natSpec(*v, fam);
        if (!spec) return fail();
        if (!spec->ports || !spec->ports->single() || spec->last) {
            diags_.report(Code::E104, v->span, "tproxy takes one port: to [ADDR]:PORT");
            return fail();
        }
        ir::Tproxy t;
        t.addr = spec->first;
        t.port = static_cast<uint16_t>(spec->ports->first);
        if (spec->first) fam = spec->first->family;
        if (!fam) fam = ir::ruleFamily(rule_);
        if (!fam) {
            diags_.report(Code::E106, c.span, "tproxy in an inet table needs a family").hint =
                "write 'tproxy ip to :PORT' or 'tproxy ip6 to :PORT'";
            return fail();
        }
        t.family = *fam;
        if (const ast::Value* m = c.option("mark")) {
            auto mm = values_.mark(*m, "tproxy mark");
            if (!mm) return fail();
            t.mark = *mm;
        }
        rule_.target = t;
    }

    // ---- whole-rule checks ---------------------------------------------------------------

    void dedupeProtocols() {
        std::optional<ir::ProtoMatch> seen;
        eraseMatches([&](const ir::Match& m) {
            const auto* p = std::get_if<ir::ProtoMatch>(&m);
            if (!p) return false;
            if (seen && *seen == *p) return true;
            if (seen && !seen->negated && !p->negated) {
                diags_.report(Code::E106, rule_.span,
                              "the rule names two protocols (" + ir::protoName(seen->proto) +
                                  " and " + ir::protoName(p->proto) + ")");
                fail();
            }
            seen = *p;
            return false;
        });
    }

    /// A full port range matches every port: it is no condition, as in iptables, which keeps
    /// its module (`-p tcp -m tcp`) and writes a negated one there rather than in multiport
    /// (ProtoMatch::portModule). The same shape the iptables importer reads.
    void keepFullPortRanges() {
        auto full = [](const ir::Match& m) {  // a multiport one is a condition of multiport
            const auto* p = std::get_if<ir::PortMatch>(&m);
            if (p && p->multiport) return false;
            return p && p->ports.size() == 1 && p->ports[0].first == 0 && p->ports[0].last == 65535;
        };
        std::optional<size_t> clause;  // of the full range that asks for the module
        bool otherPorts = false;
        for (size_t i = 0; i < rule_.matches.size(); ++i) {
            // the port module holds tcp flags too: no full range needs to ask for it then
            otherPorts = otherPorts || std::holds_alternative<ir::TcpFlagsMatch>(rule_.matches[i]);
            if (!std::holds_alternative<ir::PortMatch>(rule_.matches[i])) continue;
            const bool negated = std::get<ir::PortMatch>(rule_.matches[i]).negated;
            if (full(rule_.matches[i]) && (negated || !clause)) clause = clauseOf_[i];
            // conditions the port module itself holds (one range; more go to multiport)
            const auto& pm = std::get<ir::PortMatch>(rule_.matches[i]);
            const bool oneRange = pm.ports.size() == 1 && !pm.multiport;
            otherPorts = otherPorts || (oneRange && (!full(rule_.matches[i]) || negated));
        }
        if (!clause) return;
        eraseMatches(
            [&](const ir::Match& m) { return full(m) && !std::get<ir::PortMatch>(m).negated; });
        const bool negatedFull = std::any_of(rule_.matches.begin(), rule_.matches.end(), full);
        if (otherPorts && !negatedFull) return;
        for (size_t i = 0; i < rule_.matches.size(); ++i) {
            if (auto* p = std::get_if<ir::ProtoMatch>(&rule_.matches[i]); p && !p->negated) {
                p->portModule = true;
                clauseOf_[i] = *clause;  // the module stands where its clause was written
            }
        }
    }

    /// Removes matches (with their clause numbers) for which `drop` holds.
    template <class Pred>
    void eraseMatches(Pred drop) {
        size_t kept = 0;
        for (size_t i = 0; i < rule_.matches.size(); ++i) {
            if (drop(rule_.matches[i])) continue;
            if (kept != i) {
                rule_.matches[kept] = std::move(rule_.matches[i]);
                clauseOf_[kept] = clauseOf_[i];
            }
            ++kept;
        }
        rule_.matches.resize(kept);
        clauseOf_.resize(kept);
    }

    /// NAT to ports rewrites a transport header, so both iptables and nft require the rule to
    /// match tcp, udp, sctp or dccp first.
    void checkNatPorts(const ast::Clause& statement) {
        std::optional<ir::NumRange> ports;
        if (auto* n = std::get_if<ir::Nat>(&rule_.target)) ports = n->ports;
        if (auto* m = std::get_if<ir::Masquerade>(&rule_.target)) ports = m->ports;
        if (auto* r = std::get_if<ir::Redirect>(&rule_.target)) ports = r->ports;
        if (!ports) return;
        for (const auto& m : rule_.matches) {
            auto* p = std::get_if<ir::ProtoMatch>(&m);
            if (p && !p->negated &&
                (p->proto == 6 || p->proto == 17 || p->proto == 132 || p->proto == 33))
                return;
        }
        diags_
            .report(Code::E106, statement.span, "translating ports needs a tcp, udp or sctp match")
            .hint = "add e.g. 'tcp dport ...' or 'proto udp' to the rule";
        fail();
    }

    void checkFamilies() {
        std::optional<Family> fam;
        auto see = [&](Family f, std::string_view what) {
            if (fam && *fam != f) {
                diags_.report(Code::E104, rule_.span,
                              "the rule mixes IPv4 and IPv6 (" + std::string(what) + ")");
                fail();
            }
            fam = f;
        };
        for (const auto& m : rule_.matches) {
            if (auto* a = std::get_if<ir::AddrMatch>(&m))
                see(ir::familyOf(a->items[0]), "addresses");
            if (auto* i = std::get_if<ir::IcmpMatch>(&m)) see(i->family, "icmp type");
        }
        if (auto* n = std::get_if<ir::Nat>(&rule_.target); n && n->first)
            see(n->first->family, "nat address");
        if (auto* t = std::get_if<ir::Tproxy>(&rule_.target)) see(t->family, "tproxy");
        if (auto* r = std::get_if<ir::Reject>(&rule_.target);
            r && !r->with.empty() && r->with != "tcp-reset")
            see(r->with.starts_with("icmp6-") ? Family::V6 : Family::V4, "reject type");
        if (auto tf = tableFamily(ctx_.family); tf && fam && *tf != *fam) {
            diags_.report(Code::E104, rule_.span,
                          std::string("an ") + (*fam == Family::V4 ? "IPv4" : "IPv6") +
                              " rule in a table of family " + (*tf == Family::V4 ? "ip" : "ip6"));
            fail();
        }
    }

    const RuleContext& ctx_;
    ValueReader& values_;
    Diagnostics& diags_;
    ir::Rule rule_;
    std::vector<size_t> clauseOf_;  // per match of rule_: the clause that wrote it
    bool ok_ = true;
};

}  // namespace

std::optional<ir::Rule> lowerRule(const ast::Rule& rule, const RuleContext& ctx,
                                  ValueReader& values) {
    return RuleLowering(ctx, values).run(rule);
}

}  // namespace policyc
