// SPDX-License-Identifier: GPL-2.0-or-later
// Hook validity and the jump graph. A user chain is checked in every built-in chain that can
// reach it, since the kernel validates targets and matches per hook when it loads the table.
#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "analyzer/checks.h"

namespace policyc::analyzer {
namespace {

using Hooks = std::set<std::string>;  // built-in chain names

const std::string* jumpTarget(const ir::Rule& r) {
    if (auto* j = std::get_if<ir::Jump>(&r.target)) return &j->chain;
    if (auto* g = std::get_if<ir::Goto>(&r.target)) return &g->chain;
    return nullptr;
}

/// Where each construct is allowed, as the kernel's xt_* modules and iptables_* tables enforce.
struct Allowed {
    std::string_view what;
    std::vector<std::string_view> tables;  // empty = any table
    std::vector<std::string_view> hooks;   // empty = any hook
    /// Only iptables refuses it, by the built-in chain's name (-i/-o in the ip header): the
    /// kernel loads it in a user chain reached from elsewhere, where it never matches.
    bool headerInterface = false;
    bool negated = false;  // of that interface test
    /// Where nftables' own expression for it is allowed, when that differs from `hooks`:
    /// hooks of `hooks` outside these load with iptables only (legacy-only-hook).
    std::vector<std::string_view> nftHooks = {};
    std::string_view nftHint = {};
};

std::optional<Allowed> targetRule(const ir::Target& t) {
    return std::visit(
        [](const auto& v) -> std::optional<Allowed> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, ir::Tproxy>)
                return Allowed{"TPROXY", {"mangle"}, {"PREROUTING"}};
            if constexpr (std::is_same_v<T, ir::Nat>) {
                if (v.kind == ir::Nat::Kind::Snat)
                    return Allowed{"SNAT", {"nat"}, {"POSTROUTING", "INPUT"}};
                return Allowed{"DNAT", {"nat"}, {"PREROUTING", "OUTPUT"}};
            }
            if constexpr (std::is_same_v<T, ir::Masquerade>)
                return Allowed{"MASQUERADE", {"nat"}, {"POSTROUTING"}};
            if constexpr (std::is_same_v<T, ir::Redirect>)
                return Allowed{"REDIRECT", {"nat"}, {"PREROUTING", "OUTPUT"}};
            if constexpr (std::is_same_v<T, ir::Notrack>) return Allowed{"notrack", {"raw"}, {}};
            if constexpr (std::is_same_v<T, ir::Reject>)
                return Allowed{"REJECT", {}, {"INPUT", "FORWARD", "OUTPUT"}};
            // xt_TCPMSS and nft_rt (NFT_RT_TCPMSS) both need the route the packet leaves by
            if constexpr (std::is_same_v<T, ir::TcpMss>)
                if (!v.mss)
                    return Allowed{"tcp mss clamp", {}, {"FORWARD", "OUTPUT", "POSTROUTING"}};
            return std::nullopt;
        },
        t);
}

std::optional<Allowed> matchRule(const ir::Match& m) {
    return std::visit(
        [](const auto& v) -> std::optional<Allowed> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, ir::IfaceMatch>) {
                if (v.dir == ir::IfaceDirection::In)
                    return Allowed{"an input interface (iif)",
                                   {},
                                   {"PREROUTING", "INPUT", "FORWARD"},
                                   true,
                                   v.negated};
                return Allowed{"an output interface (oif)",
                               {},
                               {"FORWARD", "OUTPUT", "POSTROUTING"},
                               true,
                               v.negated};
            }
            if constexpr (std::is_same_v<T, ir::OwnerMatch>)
                return Allowed{"a socket owner match", {}, {"OUTPUT", "POSTROUTING"}};
            // xt_cgroup's hooks; nft's socket cgroupv2 (nft_socket_validate) has others
            if constexpr (std::is_same_v<T, ir::CgroupMatch>)
                return Allowed{"a cgroup match",
                               {},
                               {"OUTPUT", "POSTROUTING", "INPUT"},
                               false,
                               false,
                               {"PREROUTING", "INPUT", "OUTPUT"},
                               "for --backend nft, set a mark by cgroup in OUTPUT and match the "
                               "mark here"};
            if constexpr (std::is_same_v<T, ir::SocketMatch>)
                return Allowed{"a socket match", {}, {"PREROUTING", "INPUT"}};
            if constexpr (std::is_same_v<T, ir::MacMatch>)
                return Allowed{"a MAC source match", {}, {"PREROUTING", "INPUT", "FORWARD"}};
            return std::nullopt;
        },
        m);
}

bool contains(const std::vector<std::string_view>& v, std::string_view x) {
    return v.empty() || std::find(v.begin(), v.end(), x) != v.end();
}

std::string join(const std::vector<std::string_view>& v) {
    std::string out;
    for (auto s : v) out += (out.empty() ? "" : ", ") + std::string(s);
    return out;
}

class TableChecker {
  public:
    TableChecker(const ir::Table& t, Diagnostics& d) : table_(t), diags_(d) {
        for (const auto& c : t.chains) chains_[c.name] = &c;
    }

    void run() {
        findLoops();
        for (const auto& c : table_.chains) {
            if (ir::isBuiltinChain(table_.name, c.name)) propagate(c.name, c.name);
        }
        for (const auto& c : table_.chains) {
            const bool builtin = ir::isBuiltinChain(table_.name, c.name);
            if (!builtin && reach_[c.name].empty() && !inLoop_.count(c.name)) {
                diags_
                    .report(
                        Code::W004, c.span,
                        "chain '" + c.name + "' in table '" + table_.name + "' is never jumped to")
                    .hint = "jump to it from a built-in chain, or remove it";
            }
            checkRules(c);
        }
    }

  private:
    void findLoops() {
        std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
        std::vector<std::string> path;
        std::function<void(const ir::Chain&)> dfs = [&](const ir::Chain& c) {
            state[c.name] = 1;
            path.push_back(c.name);
            for (const auto& r : c.rules) {
                const std::string* t = jumpTarget(r);
                if (!t || !chains_.count(*t)) continue;
                if (state[*t] == 1) {
                    std::string cycle;
                    auto from = std::find(path.begin(), path.end(), *t);
                    for (auto it = from; it != path.end(); ++it) {
                        cycle += "'" + *it + "' -> ";
                        inLoop_.insert(*it);
                    }
                    cycle += "'" + *t + "'";
                    diags_
                        .report(Code::E203, r.partSpan(std::nullopt),
                                "chains jump to each other in a cycle: " + cycle)
                        .hint = "the kernel refuses the whole table; break the cycle";
                } else if (state[*t] == 0) {
                    dfs(*chains_.at(*t));
                }
            }
            path.pop_back();
            state[c.name] = 2;
        };
        for (const auto& c : table_.chains)
            if (state[c.name] == 0) dfs(c);
    }

    void propagate(const std::string& chain, const std::string& hook) {
        if (!reach_[chain].insert(hook).second) return;
        auto it = chains_.find(chain);
        if (it == chains_.end()) return;
        for (const auto& r : it->second->rules)
            if (const std::string* t = jumpTarget(r); t && chains_.count(*t)) propagate(*t, hook);
    }

    void checkRules(const ir::Chain& c) {
        for (const auto& r : c.rules) {
            if (auto a = targetRule(r.target)) checkPlace(c, *a, r.partSpan(std::nullopt));
            for (size_t i = 0; i < r.matches.size(); ++i)
                if (auto a = matchRule(r.matches[i])) checkPlace(c, *a, r.partSpan(i));
            checkTcpMssSyn(r);
        }
    }

    /// One match or statement (`at`: where it was written) against every hook reaching `c`.
    void checkPlace(const ir::Chain& c, const Allowed& a, const SourceSpan& at) {
        if (!contains(a.tables, table_.name)) {
            diags_
                .report(Code::E201, at,
                        std::string(a.what) + " is not allowed in table '" + table_.name + "'")
                .hint = "use it in table " + join(a.tables);
            return;
        }
        const Hooks& hooks = reach_[c.name];
        for (const auto& hook : hooks) {
            if (contains(a.hooks, hook)) continue;
            if (a.headerInterface && hook != c.name) {
                interfaceNeverSet(at, c, a, hook);
                return;
            }
            auto& d = diags_.report(Code::E201, at,
                                    std::string(a.what) + " is not allowed in " + table_.name +
                                        " " + hook +
                                        (hook == c.name ? "" : " (reached from '" + c.name + "')"));
            d.hint = a.headerInterface
                         ? "iptables refuses it there: packets in " + hook +
                               " have no such interface; it belongs in " + join(a.hooks)
                         : "the kernel accepts it only in " + join(a.hooks);
            return;
        }
        if (a.nftHooks.empty()) return;
        for (const auto& hook : hooks)
            if (!contains(a.nftHooks, hook)) return legacyOnly(at, c, a, hook);
    }

    /// xt_TCPMSS refuses a rule that does not match only TCP SYN packets: the kernel looks for
    /// a `tcp` match whose compared flags include SYN, not negated.
    void checkTcpMssSyn(const ir::Rule& r) {
        if (!std::holds_alternative<ir::TcpMss>(r.target)) return;
        for (const auto& m : r.matches) {
            const auto* f = std::get_if<ir::TcpFlagsMatch>(&m);
            if (f && !f->negated && (f->comp & 0x02)) return;
        }
        diags_.report(Code::E201, r.partSpan(std::nullopt), "tcp mss only works on TCP SYN packets")
            .hint = "match them first, e.g. 'tcp flags syn / syn,rst tcp mss clamp'";
    }

    /// iptables loads it here, nf_tables refuses the whole update (EOPNOTSUPP, no location).
    void legacyOnly(const SourceSpan& at, const ir::Chain& c, const Allowed& a,
                    const std::string& hook) {
        auto& d = diags_.report(Code::W016, at,
                                std::string(a.what) + " in " + table_.name + " " + hook +
                                    (hook == c.name ? "" : " (reached from '" + c.name + "')") +
                                    " loads with --backend legacy only: nftables allows it in " +
                                    join(a.nftHooks));
        d.hint = std::string(a.nftHint);
    }

    /// A user chain reached from a hook without that interface: loadable, but the test never
    /// holds on that path (a negated one always does).
    void interfaceNeverSet(const SourceSpan& at, const ir::Chain& c, const Allowed& a,
                           const std::string& hook) {
        auto& d = diags_.report(
            Code::W015, at,
            std::string(a.what) + (a.negated ? " test always matches" : " test never matches") +
                " when chain '" + c.name + "' is reached from " + table_.name + " " + hook +
                ": packets there have no such "
                "interface");
        d.hint = "test it in the chain that jumps here from " + join(a.hooks) +
                 ", or jump here only from those";
    }

    const ir::Table& table_;
    Diagnostics& diags_;
    std::map<std::string, const ir::Chain*> chains_;
    std::map<std::string, Hooks> reach_;
    std::set<std::string> inLoop_;
};

}  // namespace

void checkKernelValidity(const ir::Host& host, Diagnostics& diags) {
    for (const auto& t : host.tables) TableChecker(t, diags).run();
}

}  // namespace policyc::analyzer
