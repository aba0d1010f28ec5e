// SPDX-License-Identifier: GPL-2.0-or-later
// lower: ast::File -> ir::Policy. Expands includes, binds definitions, lowers each host's
// interfaces, tables, routing and sysctls, and runs the intents (lower_intents.cpp).
// Contract
//   in : the root file's AST (parse succeeded)
//   out: ir::Policy; the intents' generated rules are in POLICYC-<hook> chains, each reached by
//        a jump that comes first in its built-in chain; routing rules sorted by priority
//   raises: E101 unknown names, E102 duplicates, E103/E104 values, E105 includes, E205 limits
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include "compiler/compile.h"
#include "compiler/lower_host.h"
#include "compiler/lower_rule.h"
#include "compiler/parse.h"

namespace policyc {

std::string importedHostName(std::string_view path) {
    if (path == "-") return "stdin";
    std::string stem = std::filesystem::path(std::string(path)).stem().string();
    std::string out;
    for (char c : stem) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        out += ok ? c : '_';
    }
    if (out.empty() || !(std::isalpha(static_cast<unsigned char>(out[0])) || out[0] == '_'))
        out = "host_" + out;
    while (out.ends_with('-')) out.back() = '_';
    return out;
}

std::optional<uint32_t> loadSource(std::string_view path, SourceManager& sources,
                                   Diagnostics& diags, SourceSpan from) {
    const InputLimits limits;
    const std::string shown(path == "-" ? "<stdin>" : path);
    auto unreadable = [&](const std::string& why) {
        diags.report(from.valid() ? Code::E105 : Code::E002, from,
                     "cannot read '" + shown + "': " + why);
        return std::nullopt;
    };
    auto tooLarge = [&]() {
        diags.report(
            Code::E205, from,
            "'" + shown + "' is larger than " + std::to_string(limits.maxFileBytes >> 20) + " MiB");
        return std::nullopt;
    };
    // At most one byte past the limit: /dev/zero, a pipe or a growing file must not fill memory.
    auto readAtMost = [&](std::istream& in) {
        std::string out;
        char buf[1 << 16];
        while (out.size() <= limits.maxFileBytes && in.read(buf, sizeof buf).gcount() > 0)
            out.append(buf, static_cast<size_t>(in.gcount()));
        return out;
    };
    std::string text;
    if (path == "-") {
        text = readAtMost(std::cin);
    } else {
        const std::filesystem::path fsPath{std::string(path)};
        std::error_code ec;
        if (std::filesystem::is_directory(fsPath, ec)) return unreadable("it is a directory");
        // Regular files are measured before reading; pipes only after (below).
        if (std::filesystem::is_regular_file(fsPath, ec) &&
            std::filesystem::file_size(fsPath, ec) > limits.maxFileBytes) {
            return tooLarge();
        }
        std::ifstream in{fsPath, std::ios::binary};
        if (!in) return unreadable(std::strerror(errno));
        text = readAtMost(in);
    }
    if (text.size() > limits.maxFileBytes) return tooLarge();
    const uint32_t id = sources.add(shown, std::move(text));
    if (sources.file(id).text.find_first_not_of(" \t\r\n") == std::string::npos) {
        diags.report(Code::E002, SourceSpan{id, 1, 1, 1, 1}, "'" + shown + "' is empty");
        return std::nullopt;
    }
    return id;
}

namespace {

std::string dirOf(std::string_view path) {
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash + 1));
}

/// Everything of a file once its includes are spliced in.
struct Unit {
    std::vector<ast::Item> globals;
    std::vector<ast::HostDecl> hosts;
};

class Lowering {
  public:
    Lowering(SourceManager& sources, Diagnostics& diags) : sources_(sources), diags_(diags) {}

    std::optional<ir::Policy> run(uint32_t root) {
        auto file = parseFile(root, sources_, diags_);
        if (!file) return std::nullopt;
        Unit unit;
        std::vector<uint32_t> stack{root};
        expandFile(std::move(*file), unit, stack);
        if (diags_.hasErrors()) return std::nullopt;

        ir::Policy policy;
        std::map<std::string, SourceSpan> seen;
        for (auto& h : unit.hosts) {
            if (auto [it, fresh] = seen.emplace(h.name, h.nameSpan); !fresh) {
                diags_.report(Code::E102, h.nameSpan, "host '" + h.name + "' is declared twice")
                    .notes.push_back({it->second, "first declared here"});
                continue;
            }
            if (auto host = lowerHost(h, unit.globals)) policy.hosts.push_back(std::move(*host));
        }
        if (policy.hosts.empty() && !diags_.hasErrors())
            diags_.report(Code::E002, SourceSpan{root, 1, 1, 1, 1},
                          "the file declares no host and no rules");
        if (diags_.hasErrors()) return std::nullopt;
        return policy;
    }

  private:
    // ---- includes ------------------------------------------------------------------------

    std::optional<ast::File> parseInclude(const ast::Item& inc, std::vector<uint32_t>& stack) {
        const ast::Value& target = inc.args.at(0);
        if (static_cast<int>(stack.size()) > InputLimits{}.maxIncludeDepth) {
            diags_.report(Code::E105, inc.span, "includes nest deeper than 16 files");
            return std::nullopt;
        }
        std::string path = target.text;
        if (path.empty() || path[0] != '/') path = dirOf(sources_.path(stack.back())) + path;
        // Every include is read anew, so a file that includes another twice doubles the work
        // at each level: bound the total as well as the depth.
        if (sources_.fileCount() >= InputLimits{}.maxIncludedFiles) {
            diags_.report(Code::E105, inc.span,
                          "more than " + std::to_string(InputLimits{}.maxIncludedFiles) +
                              " files included in all");
            return std::nullopt;
        }
        // Compared canonically: "./x.pol" or a symlink is the same file as "x.pol".
        auto canonical = [](std::string_view p) {
            std::error_code ec;
            auto c = std::filesystem::weakly_canonical(std::filesystem::path(std::string(p)), ec);
            return ec ? std::string(p) : c.string();
        };
        const std::string canonicalPath = canonical(path);
        for (uint32_t id : stack) {
            if (canonical(sources_.path(id)) == canonicalPath) {
                diags_.report(Code::E105, inc.span, "'" + target.text + "' includes itself");
                return std::nullopt;
            }
        }
        auto id = loadSource(path, sources_, diags_, inc.span);
        if (!id) return std::nullopt;
        auto file = parseFile(*id, sources_, diags_);
        if (file) stack.push_back(*id);
        return file;
    }

    void expandFile(ast::File file, Unit& out, std::vector<uint32_t>& stack) {
        // Loose items of an included file join the includer's implicit host, so that a file of
        // plain rules can be included into a single-host policy.
        for (auto& item : file.globals) {
            if (item.kind != "include") {
                out.globals.push_back(std::move(item));
                continue;
            }
            auto inner = parseInclude(item, stack);
            if (!inner) continue;
            Unit sub;
            expandFile(std::move(*inner), sub, stack);
            stack.pop_back();
            for (auto& g : sub.globals) out.globals.push_back(std::move(g));
            for (auto& h : sub.hosts) mergeHost(out, std::move(h));
        }
        for (auto& h : file.hosts) {
            // Moved, not copied: a host's items are the whole AST of a large policy.
            std::vector<ast::Item> items = std::move(h.items);
            h.items.clear();
            expandItems(std::move(items), h.items, stack);
            mergeHost(out, std::move(h));
        }
    }

    void mergeHost(Unit& out, ast::HostDecl h) {
        if (h.implicit) {
            for (auto& existing : out.hosts) {
                if (existing.implicit) {
                    for (auto& item : h.items) existing.items.push_back(std::move(item));
                    return;
                }
            }
        }
        out.hosts.push_back(std::move(h));
    }

    void expandItems(std::vector<ast::Item>&& items, std::vector<ast::Item>& out,
                     std::vector<uint32_t>& stack) {
        out.reserve(out.size() + items.size());
        for (auto& item : items) {
            if (item.kind != "include") {
                out.push_back(std::move(item));
                continue;
            }
            auto inner = parseInclude(item, stack);
            if (!inner) continue;
            for (const auto& h : inner->hosts) {
                if (!h.implicit) {
                    diags_.report(
                        Code::E105, item.span,
                        "an included file inside a host cannot declare host '" + h.name + "'");
                }
            }
            std::vector<ast::Item> loose = std::move(inner->globals);
            for (auto& h : inner->hosts)
                if (h.implicit)
                    loose.insert(loose.end(), std::make_move_iterator(h.items.begin()),
                                 std::make_move_iterator(h.items.end()));
            expandItems(std::move(loose), out, stack);
            stack.pop_back();
        }
    }

    // ---- hosts ---------------------------------------------------------------------------

    /// Lowers one host; its tables' AST rules are released as they are lowered (see table()).
    std::optional<ir::Host> lowerHost(ast::HostDecl& decl, const std::vector<ast::Item>& globals) {
        const size_t errorsBefore = diags_.count(Severity::Error);
        hostRules_ = 0;
        HostBuilder b;
        b.host.name = decl.name;
        b.host.span = decl.nameSpan;

        Definitions defs;
        for (const auto& g : globals)
            if (g.kind == "define") define(defs, g);
        Definitions hostDefs;
        for (const auto& item : decl.items)
            if (item.kind == "define") define(hostDefs, item);
        for (auto& [k, v] : hostDefs) defs[k] = v;
        ValueReader values(defs, diags_);

        for (const auto& item : decl.items)
            if (item.kind == "interface" || item.kind == "tunnel") link(item, b, values);
        for (const auto& item : decl.items) reserveResources(item, b, values);
        for (auto& item : decl.items) {
            const std::string& k = item.kind;
            if (k == "table")
                table(item, b, values);
            else if (k == "rule")
                routingRule(item, b, values);
            else if (k == "route")
                route(item, b, values);
            else if (k == "sysctl")
                sysctl(item, b, values);
            else if (k != "define" && k != "interface" && k != "tunnel")
                lowerIntent(item, b, values);
        }
        mergeGenerated(b);
        std::stable_sort(b.host.routingRules.begin(), b.host.routingRules.end(),
                         [](const auto& x, const auto& y) { return x.priority < y.priority; });
        checkChains(b.host);
        if (diags_.count(Severity::Error) > errorsBefore) return std::nullopt;
        return std::move(b.host);
    }

    void define(Definitions& defs, const ast::Item& item) {
        if (auto [it, fresh] = defs.emplace(item.name, &item); !fresh) {
            diags_.report(Code::E102, item.nameSpan, "'" + item.name + "' is defined twice")
                .notes.push_back({it->second->nameSpan, "first defined here"});
        }
    }

    void reserveResources(const ast::Item& item, HostBuilder& b, ValueReader& values) {
        if (item.kind == "rule") {
            for (const auto& p : item.props) {
                if (p.key == "priority" && !p.args.empty())
                    if (auto n = values.number(p.args[0], 0xffffffff, "priority"))
                        b.usedPriorities.insert(static_cast<uint32_t>(*n));
                if (p.key == "lookup" && !p.args.empty())
                    if (auto t = values.routeTable(p.args[0])) b.usedTables.insert(*t);
            }
        }
        if (item.kind == "app" || item.kind == "tproxy") reserveIntentResources(item, b);
    }

    void link(const ast::Item& item, HostBuilder& b, ValueReader& values) {
        if (const ir::Interface* prev = b.host.findInterface(item.name)) {
            diags_
                .report(Code::E102, item.nameSpan,
                        "interface '" + item.name + "' is declared twice")
                .notes.push_back({prev->span, "first declared here"});
            return;
        }
        if (item.name.size() > 15) {
            diags_.report(Code::E205, item.nameSpan,
                          "interface name '" + item.name + "' is longer than 15 bytes");
            return;
        }
        ir::Interface i;
        i.name = item.name;
        i.span = item.nameSpan;
        i.kind = item.kind == "tunnel" ? ir::LinkKind::Tunnel : ir::LinkKind::Ethernet;
        if (item.name == "lo") i.kind = ir::LinkKind::Loopback;
        for (const auto& p : item.props) {
            if (p.key.empty()) continue;
            const ast::Value* arg = p.args.empty() ? nullptr : &p.args[0];
            if (!arg) continue;
            if (p.key == "kind") {
                auto w = values.word(*arg, "kind");
                auto kind = w ? ir::linkKindByName(*w) : std::nullopt;
                if (w && !kind) {
                    diags_.report(Code::E101, arg->span, "unknown interface kind '" + *w + "'")
                        .hint = "use ethernet, loopback, veth, vxlan, wireguard or tunnel";
                } else if (kind) {
                    if (ir::isTunnelKind(*kind) != (item.kind == "tunnel")) {
                        diags_.report(
                            Code::E104, arg->span,
                            item.kind == "tunnel"
                                ? "a tunnel's kind must be vxlan, wireguard or tunnel"
                                : "declare '" + *w + "' links with 'tunnel', not 'interface'");
                    } else {
                        i.kind = *kind;
                    }
                }
            } else if (p.key == "address") {
                for (const ast::Value* v : values.flatten(p.args))
                    if (auto pr = values.prefix(*v, std::nullopt, "interface address"))
                        i.addresses.push_back(*pr);
            } else if (p.key == "peer") {
                i.peer = values.address(*arg, std::nullopt, "peer");
            } else if (p.key == "local") {
                i.underlayLocal = values.address(*arg, std::nullopt, "underlay local address");
            } else if (p.key == "remote") {
                i.underlayRemote = values.address(*arg, std::nullopt, "underlay remote address");
            } else if (p.key == "port") {
                if (auto n = values.number(*arg, 65535, "port"))
                    i.underlayPort = static_cast<uint16_t>(*n);
            } else if (p.key == "fwmark") {
                if (auto n = values.number(*arg, 0xffffffff, "fwmark")) {
                    i.fwmark = static_cast<uint32_t>(*n);
                    b.usedMarks.insert(*i.fwmark);
                }
            }
        }
        if (item.kind == "interface" &&
            (i.underlayRemote || i.underlayLocal || i.fwmark || i.underlayPort)) {
            diags_.report(Code::E104, item.nameSpan,
                          "local/remote/port/fwmark describe tunnels; declare '" + item.name +
                              "' with 'tunnel'");
        }
        if (i.kind == ir::LinkKind::Vxlan && !i.underlayPort) i.underlayPort = 4789;
        b.host.interfaces.push_back(std::move(i));
    }

    void table(ast::Item& item, HostBuilder& b, ValueReader& values) {
        ast::Table& t = *item.table;
        ir::Table out;
        out.name = t.name;
        out.span = t.nameSpan;
        const std::string fam = t.family.value_or("inet");
        out.family = fam == "ip"    ? ir::TableFamily::Ip
                     : fam == "ip6" ? ir::TableFamily::Ip6
                                    : ir::TableFamily::Inet;
        if (!ir::isKnownTable(t.name)) {
            diags_.report(Code::E101, t.nameSpan, "unknown table '" + t.name + "'").hint =
                "tables are filter, nat, mangle and raw";
            return;
        }
        for (const auto& other : b.host.tables) {
            if (other.name != t.name) continue;
            const bool clash = other.family == out.family ||
                               other.family == ir::TableFamily::Inet ||
                               out.family == ir::TableFamily::Inet;
            if (clash) {
                diags_
                    .report(Code::E102, t.nameSpan,
                            "table '" + t.name + "' is declared twice" +
                                (other.family != out.family ? " (inet and ip/ip6 overlap)" : ""))
                    .notes.push_back({other.span, "first declared here"});
                return;
            }
        }
        RuleContext ctx{out.family, t.name};
        for (auto& c : t.chains) {
            ir::Chain chain;
            chain.name = c.name;
            chain.span = c.nameSpan;
            const bool builtin = ir::isBuiltinChain(t.name, c.name);
            if (!builtin && c.name.size() > 28) {
                diags_.report(Code::E205, c.nameSpan,
                              "chain name '" + c.name + "' is longer than 28 bytes");
            }
            if (!builtin && ir::isBuiltinChain(t.name, upper(c.name))) {
                diags_.report(Code::E104, c.nameSpan,
                              "built-in chains are written in upper case: '" + upper(c.name) + "'");
            }
            for (const auto& prev : out.chains) {
                if (prev.name == c.name)
                    diags_
                        .report(Code::E102, c.nameSpan, "chain '" + c.name + "' is declared twice")
                        .notes.push_back({prev.span, "first declared here"});
            }
            if (c.policy) {
                if (!builtin) {
                    diags_.report(Code::E104, c.policySpan, "only built-in chains have a policy");
                } else if (*c.policy == "accept") {
                    chain.policy = ir::ChainPolicy::Accept;
                } else if (*c.policy == "drop") {
                    chain.policy = ir::ChainPolicy::Drop;
                } else {
                    diags_.report(Code::E104, c.policySpan, "a chain policy is accept or drop");
                }
            }
            chain.rules.reserve(c.rules.size());
            for (const auto& r : c.rules) {
                if (++hostRules_ == InputLimits{}.maxRulesPerHost + 1)
                    diags_.report(Code::E205, r.span,
                                  "host '" + b.host.name + "' has more than " +
                                      std::to_string(InputLimits{}.maxRulesPerHost) + " rules");
                if (hostRules_ > InputLimits{}.maxRulesPerHost) break;
                if (auto rule = lowerRule(r, ctx, values)) chain.rules.push_back(std::move(*rule));
            }
            // Nothing reads a chain's AST rules once they are lowered: freeing them now keeps
            // the AST and the IR of a large policy from being in memory whole at once.
            std::vector<ast::Rule>().swap(c.rules);
            out.chains.push_back(std::move(chain));
        }
        b.host.tables.push_back(std::move(out));
    }

    static std::string upper(std::string s) {
        for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        return s;
    }

    /// Interfaces named by routing must exist on the host (or be `lo`): a typo there silently
    /// routes nothing, unlike a filter rule on an interface that may appear later.
    bool knownInterface(const ast::Value& v, const std::string& name, const HostBuilder& b) {
        if (name == "lo" || b.host.findInterface(name)) return true;
        auto& d = diags_.report(Code::E101, v.span,
                                "host '" + b.host.name + "' has no interface '" + name + "'");
        if (!b.host.interfaces.empty()) d.hint = "declare it with 'interface " + name + "'";
        return false;
    }

    /// `rule ip6 ...` / `route ip6 ...`: the parser keeps the optional family word as the name.
    static std::optional<ir::Family> familyWord(const ast::Item& item) {
        if (item.name == "ip6") return ir::Family::V6;
        if (item.name == "ip") return ir::Family::V4;
        return std::nullopt;
    }

    void routingRule(const ast::Item& item, HostBuilder& b, ValueReader& values) {
        ir::RoutingRule r;
        r.span = item.span;
        std::optional<ir::Family> fam = familyWord(item);
        bool priority = false;
        for (const auto& p : item.props) {
            const ast::Value* arg = p.args.empty() ? nullptr : &p.args[0];
            if (p.key == "not")
                r.invert = true;
            else if (p.key == "priority" && arg) {
                if (auto n = values.number(*arg, 0xffffffff, "priority"))
                    r.priority = static_cast<uint32_t>(*n), priority = true;
            } else if (p.key == "fwmark" && arg)
                r.fwmark = values.mark(*arg, "fwmark");
            else if ((p.key == "iif" || p.key == "oif") && arg) {
                auto n = values.word(*arg, "interface");
                if (n && knownInterface(*arg, *n, b)) (p.key == "iif" ? r.iif : r.oif) = *n;
            } else if (p.key == "uidrange" && arg)
                r.uidrange = values.numRange(*arg, 0xfffffffe, "uid");
            else if ((p.key == "from" || p.key == "to") && arg) {
                auto pr = values.prefix(*arg, fam,
                                        p.key == "from" ? "source prefix" : "destination prefix");
                if (pr) fam = pr->addr.family;
                (p.key == "from" ? r.from : r.to) = pr;
            } else if (p.key == "lookup" && arg) {
                if (auto t = values.routeTable(*arg)) r.table = *t;
            } else if (p.key == "blackhole")
                r.action = ir::RoutingRule::Action::Blackhole;
            else if (p.key == "unreachable")
                r.action = ir::RoutingRule::Action::Unreachable;
            else if (p.key == "prohibit")
                r.action = ir::RoutingRule::Action::Prohibit;
        }
        r.family = fam.value_or(ir::Family::V4);
        if (!priority) {
            while (b.usedPriorities.count(b.nextExplicitPriority)) ++b.nextExplicitPriority;
            r.priority = b.nextExplicitPriority++;
        }
        if (r.priority == 0) {
            diags_.report(Code::E103, item.span, "priority 0 is the kernel's local-table rule");
        }
        b.usedPriorities.insert(r.priority);
        b.host.routingRules.push_back(std::move(r));
    }

    void route(const ast::Item& item, HostBuilder& b, ValueReader& values) {
        ir::Route r;
        r.span = item.span;
        std::optional<ir::Family> fam = familyWord(item);
        for (const auto& p : item.props) {
            const ast::Value* arg = p.args.empty() ? nullptr : &p.args[0];
            if (p.key == "type local")
                r.type = ir::Route::Type::Local;
            else if (p.key == "type blackhole")
                r.type = ir::Route::Type::Blackhole;
            else if (p.key == "type unreachable")
                r.type = ir::Route::Type::Unreachable;
            else if (p.key == "type prohibit")
                r.type = ir::Route::Type::Prohibit;
            else if (p.key == "via" && arg) {
                r.via = values.address(*arg, fam, "gateway");
                if (r.via) fam = r.via->family;
            }
        }
        auto dst = values.prefix(item.args.at(0), fam, "route destination");
        if (!dst) return;
        r.dst = dst->network();
        if (r.via && r.via->family != r.dst.addr.family) {
            diags_.report(Code::E104, item.span,
                          "the gateway and the destination are of different families");
            return;
        }
        for (const auto& p : item.props) {
            const ast::Value* arg = p.args.empty() ? nullptr : &p.args[0];
            if (!arg) continue;
            if (p.key == "dev") {
                auto n = values.word(*arg, "device");
                if (n && knownInterface(*arg, *n, b)) r.dev = *n;
            } else if (p.key == "src")
                r.src = values.address(*arg, r.dst.addr.family, "source address");
            else if (p.key == "table") {
                if (auto t = values.routeTable(*arg)) r.table = *t;
            } else if (p.key == "metric") {
                if (auto n = values.number(*arg, 0xffffffff, "metric"))
                    r.metric = static_cast<uint32_t>(*n);
            }
        }
        if (r.type == ir::Route::Type::Unicast && !r.via && !r.dev) {
            diags_.report(Code::E106, item.span, "a unicast route needs 'via' or 'dev'");
            return;
        }
        b.host.routes.push_back(std::move(r));
    }

    void sysctl(const ast::Item& item, HostBuilder& b, ValueReader& values) {
        if (!item.name.starts_with("net.")) {
            diags_.report(Code::E104, item.nameSpan, "policyc sets only network sysctls (net.*)");
            return;
        }
        const ast::Value* v = values.single(item.args.at(0), "sysctl value");
        if (!v) return;
        if (v->kind != ast::Value::Kind::Atom) {
            diags_.report(Code::E104, v->span, "a sysctl value is a number or a word");
            return;
        }
        for (auto& s : b.host.sysctls) {
            if (s.key == item.name) {
                diags_.report(Code::E102, item.nameSpan, "sysctl '" + item.name + "' is set twice")
                    .notes.push_back({s.span, "first set here"});
                return;
            }
        }
        b.host.sysctls.push_back(ir::Sysctl{item.name, v->text, item.span});
    }

    /// Generated rules go, in order, into policyc's own chain for their hook (POLICYC-OUTPUT
    /// ...) of the inet table of that name, reached by one jump placed first in the built-in
    /// chain. A legacy apply owns that chain and the jump and keeps the kernel's other rules at
    /// the hook, unless the policy spells the built-in chain out itself.
    void mergeGenerated(HostBuilder& b) {
        std::set<std::pair<std::string, std::string>> created;  // (table, chain) made here
        for (const GeneratedRule& g : b.generated) {
            ir::Table* table = nullptr;
            for (auto& t : b.host.tables)
                if (t.name == g.table) table = &t;
            if (table && table->family != ir::TableFamily::Inet) {
                diags_
                    .report(Code::E106, table->span,
                            "rules generated for this host need table '" + g.table +
                                "' to be inet, not " +
                                (table->family == ir::TableFamily::Ip ? "ip" : "ip6"))
                    .notes.push_back({g.rule.span, "generated for this declaration"});
                return;
            }
            if (!table) {
                b.host.tables.push_back(ir::Table{ir::TableFamily::Inet, g.table, {}, g.rule.span});
                table = &b.host.tables.back();
            }
            const std::string own = std::string(ir::kGeneratedChainPrefix) + g.chain;
            if (!created.count({g.table, own})) {
                if (const ir::Chain* clash = table->findChain(own)) {
                    const std::string why = "chain name '" + own +
                                            "' is reserved for the rules policyc generates at "
                                            "hook " +
                                            g.chain;
                    diags_.report(Code::E102, clash->span, why)
                        .notes.push_back({g.rule.span, "generated for this declaration"});
                    return;
                }
                if (!table->findChain(g.chain)) {
                    ir::Chain hook{g.chain, ir::ChainPolicy::None, {}, g.rule.span};
                    hook.ownership = ir::ChainOwnership::Jumps;
                    table->chains.push_back(std::move(hook));
                }
                ir::Rule jump;
                jump.target = ir::Jump{own};
                jump.span = g.rule.span;
                ir::Chain* hook = table->findChain(g.chain);
                hook->rules.insert(hook->rules.begin(), std::move(jump));
                table->chains.push_back(ir::Chain{own, ir::ChainPolicy::None, {}, g.rule.span});
                created.insert({g.table, own});
            }
            table->findChain(own)->rules.push_back(g.rule);
        }
        for (auto& s : b.defaultSysctls) {
            bool set = false;
            for (const auto& existing : b.host.sysctls) set |= existing.key == s.key;
            if (!set) b.host.sysctls.push_back(std::move(s));
        }
        orderTables(b.host);
    }

    /// Tables and built-in chains in the kernel's order, so every rendering is deterministic
    /// whatever order the source declared them in.
    static void orderTables(ir::Host& host) {
        static const std::vector<std::string_view> kOrder = {"raw", "mangle", "nat", "filter"};
        auto rank = [](const ir::Table& t) {
            return std::find(kOrder.begin(), kOrder.end(), t.name) - kOrder.begin();
        };
        std::stable_sort(host.tables.begin(), host.tables.end(),
                         [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
        for (auto& t : host.tables) {
            const auto& builtins = ir::builtinChains(t.name);
            auto chainRank = [&](const ir::Chain& c) {
                return std::find(builtins.begin(), builtins.end(), c.name) - builtins.begin();
            };
            std::stable_sort(t.chains.begin(), t.chains.end(), [&](const auto& a, const auto& b) {
                return chainRank(a) < chainRank(b);
            });
        }
    }

    /// Jumps must name a chain of the same table (iptables has no cross-table jumps).
    void checkChains(const ir::Host& host) {
        for (const auto& t : host.tables) {
            for (const auto& c : t.chains) {
                for (const auto& r : c.rules) {
                    const std::string* target = nullptr;
                    if (auto* j = std::get_if<ir::Jump>(&r.target)) target = &j->chain;
                    if (auto* g = std::get_if<ir::Goto>(&r.target)) target = &g->chain;
                    if (!target) continue;
                    bool found = false;
                    for (const auto& other : t.chains) found |= other.name == *target;
                    if (ir::isBuiltinChain(t.name, *target)) {
                        diags_.report(Code::E104, r.span,
                                      "cannot jump to built-in chain '" + *target + "'");
                    } else if (!found) {
                        diags_
                            .report(
                                Code::E204, r.span,
                                "chain '" + *target + "' does not exist in table '" + t.name + "'")
                            .hint = "declare 'chain " + *target + " { ... }' in table " + t.name;
                    }
                }
            }
        }
    }

    SourceManager& sources_;
    Diagnostics& diags_;
    size_t hostRules_ = 0;  // rules of the host being lowered, against maxRulesPerHost
};

}  // namespace

std::optional<ir::Policy> compileFile(std::string_view path, SourceManager& sources,
                                      Diagnostics& diags) {
    auto id = loadSource(path, sources, diags);
    if (!id) return std::nullopt;
    return Lowering(sources, diags).run(*id);
}

std::optional<ir::Policy> compileText(std::string_view text, std::string_view path,
                                      SourceManager& sources, Diagnostics& diags) {
    const uint32_t id = sources.add(std::string(path), std::string(text));
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        diags.report(Code::E002, SourceSpan{id, 1, 1, 1, 1},
                     "'" + std::string(path) + "' is empty");
        return std::nullopt;
    }
    return Lowering(sources, diags).run(id);
}

}  // namespace policyc
