// SPDX-License-Identifier: GPL-2.0-or-later
// Verbs of cli.md: build, lint, apply and import (iptables-save) work; diff says plainly that it
// is not available yet. Nothing is written unless the whole input compiled without errors.
#include "driver/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "analyzer/checks.h"
#include "backends/text/render.h"
#include "compiler/compile.h"
#include "compiler/ir_json.h"
#include "driver/apply.h"
#include "driver/import.h"
#include "driver/live.h"

namespace policyc {
namespace {

namespace fs = std::filesystem;

enum class Format { Text, Json, Sarif };

struct Options {
    std::string file;
    std::string host;
    std::string emit;
    std::string outDir = "policyc-out";
    std::string from;
    std::string backend = "nft";
    std::string format = "text";
    bool live = false;
    bool werror = false;
    bool dryRun = false;
    int confirm = 0;
};

/// Every rendering of one host, by the kind name of `--emit` and the file suffix of `-o`.
struct Rendering {
    std::string_view kind;
    std::string_view suffix;
    std::string (*render)(const ir::Host&, const SourceManager&);
};

const std::vector<Rendering>& renderings() {
    static const std::vector<Rendering> kRenderings = {
        {"iptables", ".iptables",
         [](const ir::Host& h, const SourceManager&) {
             return backends::renderIptables(h, ir::Family::V4);
         }},
        {"ip6tables", ".ip6tables",
         [](const ir::Host& h, const SourceManager&) {
             return backends::renderIptables(h, ir::Family::V6);
         }},
        {"nft", ".nft",
         [](const ir::Host& h, const SourceManager&) { return backends::renderNft(h); }},
        {"routes", ".routes",
         [](const ir::Host& h, const SourceManager&) {
             return backends::renderRoutes(h, ir::Family::V4);
         }},
        {"routes6", ".routes6",
         [](const ir::Host& h, const SourceManager&) {
             return backends::renderRoutes(h, ir::Family::V6);
         }},
        {"sysctl", ".sysctl",
         [](const ir::Host& h, const SourceManager&) { return backends::renderSysctl(h); }},
        {"json", ".json",
         [](const ir::Host& h, const SourceManager& s) { return toJson(h, s).dump(2) + "\n"; }},
    };
    return kRenderings;
}

void printDiagnostics(const Diagnostics& diags, const SourceManager& sources, std::ostream& out) {
    out << renderText(diags.sorted(), sources);
}

/// Compiles the file and runs the analyzer on every host. Front-end errors make it nullopt.
std::optional<ir::Policy> compileAndCheck(const Options& o, SourceManager& sources,
                                          Diagnostics& diags) {
    auto policy = compileFile(o.file, sources, diags);
    if (!policy) return std::nullopt;
    for (const auto& h : policy->hosts) {
        diags.setHost(policy->hosts.size() > 1 ? h.name : "");
        analyzer::runChecks(h, diags);
    }
    diags.setHost("");
    analyzer::checkSite(*policy, diags);
    analyzer::applySuppressions(*policy, diags);
    return policy;
}

/// The host a one-host verb acts on; with several hosts, `--host` is required.
const ir::Host* selectHost(const ir::Policy& policy, const Options& o, std::string_view verb) {
    if (!o.host.empty()) {
        if (const ir::Host* h = policy.findHost(o.host)) return h;
        std::cerr << "policyc: error: no host '" << o.host << "' in " << o.file << "; hosts:";
        for (const auto& h : policy.hosts) std::cerr << ' ' << h.name;
        std::cerr << '\n';
        return nullptr;
    }
    if (policy.hosts.size() == 1) return &policy.hosts[0];
    std::cerr << "policyc: error: " << o.file << " has several hosts; " << verb
              << " acts on one: add --host NAME with one of:";
    for (const auto& h : policy.hosts) std::cerr << ' ' << h.name;
    std::cerr << '\n';
    return nullptr;
}

size_t countLines(const std::string& text, std::string_view prefix) {
    size_t n = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) n += line.starts_with(prefix);
    return n;
}

void printSummary(const ir::Host& h, const std::map<std::string_view, std::string>& out,
                  const Diagnostics& diags, const std::string& dir) {
    size_t chains = 0, rules = 0;
    for (const auto& t : h.tables) {
        chains += t.chains.size();
        for (const auto& c : t.chains) rules += c.rules.size();
    }
    size_t findings = 0;
    for (const auto& d : diags.items()) findings += d.host.empty() || d.host == h.name;
    std::cout << "host " << h.name << ": " << h.interfaces.size() << " interfaces, "
              << h.tables.size() << " tables, " << chains << " chains, " << rules
              << " rules (iptables " << countLines(out.at("iptables"), "-A ") << ", ip6tables "
              << countLines(out.at("ip6tables"), "-A ") << "), " << h.routingRules.size()
              << " routing rules, " << h.routes.size() << " routes, " << h.sysctls.size()
              << " sysctls, " << findings << " findings\n";
    std::cout << "  wrote " << dir << "/" << h.name
              << ".{iptables,ip6tables,nft,routes,routes6,sysctl,json}\n";
}

int runBuild(const Options& o) {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileAndCheck(o, sources, diags);
    printDiagnostics(diags, sources, std::cerr);
    if (!policy || diags.hasErrors()) return 2;

    if (!o.emit.empty()) {
        const ir::Host* h = selectHost(*policy, o, "--emit");
        if (!h) return 2;
        for (const auto& r : renderings()) {
            if (r.kind == o.emit) {
                std::cout << r.render(*h, sources);
                return 0;
            }
        }
        std::cerr << "policyc: error: unknown --emit kind '" << o.emit
                  << "' (iptables, ip6tables, nft, routes, routes6, sysctl, json)\n";
        return 2;
    }

    std::vector<const ir::Host*> hosts;
    if (!o.host.empty()) {
        const ir::Host* h = selectHost(*policy, o, "build");
        if (!h) return 2;
        hosts.push_back(h);
    } else {
        for (const auto& h : policy->hosts) hosts.push_back(&h);
    }
    // Render everything first so a failure leaves no half-written output directory.
    std::vector<std::map<std::string_view, std::string>> outputs;
    for (const ir::Host* h : hosts) {
        std::map<std::string_view, std::string> out;
        for (const auto& r : renderings()) out[r.kind] = r.render(*h, sources);
        outputs.push_back(std::move(out));
    }
    std::error_code ec;
    fs::create_directories(o.outDir, ec);
    if (ec) {
        std::cerr << "policyc: error: cannot create '" << o.outDir << "': " << ec.message() << '\n';
        return 2;
    }
    for (size_t i = 0; i < hosts.size(); ++i) {
        for (const auto& r : renderings()) {
            const fs::path path = fs::path(o.outDir) / (hosts[i]->name + std::string(r.suffix));
            std::ofstream f(path, std::ios::binary | std::ios::trunc);
            f << outputs[i].at(r.kind);
            if (!f) {
                std::cerr << "policyc: error: cannot write '" << path.string() << "'\n";
                return 2;
            }
        }
        printSummary(*hosts[i], outputs[i], diags, o.outDir);
    }
    return 0;
}

bool isFrontEndError(const Diagnostic& d) {
    const std::string_view id = codeInfo(d.code).id;
    return d.severity == Severity::Error && (id.starts_with("E0") || id.starts_with("E1"));
}

int runLint(const Options& o) {
    if (o.from == "nft-json") {
        std::cerr << "policyc: error: lint --from nft-json is not available yet: this version "
                     "lints .pol files, iptables-save dumps and --live [not-available]\n";
        return 2;
    }
    if (o.file.empty() && !o.live) {
        std::cerr << "policyc: error: lint needs FILE.pol, --from KIND FILE or --live\n";
        return 2;
    }
    SourceManager sources;
    Diagnostics diags;
    std::optional<ir::Policy> policy;
    if (o.live) {
        if (auto host = readLiveHost(diags)) {
            analyzer::runChecks(*host, diags);
            policy = ir::Policy{{std::move(*host)}};
        }
    } else {
        policy = o.from.empty() ? compileAndCheck(o, sources, diags)
                                : importAndCheck(o.from, o.file, sources, diags);
    }
    std::vector<Diagnostic> found = diags.sorted();
    if (policy && !o.host.empty()) {
        if (!policy->findHost(o.host)) {
            selectHost(*policy, o, "lint");
            return 2;
        }
        std::erase_if(found,
                      [&](const Diagnostic& d) { return !d.host.empty() && d.host != o.host; });
    }
    if (o.format == "json")
        std::cout << renderJson(found, sources);
    else if (o.format == "sarif")
        std::cout << renderSarif(found, sources);
    else
        std::cout << renderText(found, sources);

    if (!policy || std::any_of(found.begin(), found.end(), isFrontEndError)) return 2;
    const bool errors = std::any_of(found.begin(), found.end(),
                                    [](const auto& d) { return d.severity == Severity::Error; });
    // A part of the state that could not be read is not a finding about the policy.
    const bool anyFinding =
        std::any_of(found.begin(), found.end(), [](const auto& d) { return d.code != Code::W014; });
    if (errors || (o.werror && anyFinding)) return 1;
    return 0;
}

int runApply(const Options& o) {
    if (o.dryRun || o.confirm > 0) {
        std::cerr << "policyc: error: apply " << (o.dryRun ? "--dry-run" : "--confirm")
                  << " is not available yet in this version [not-available]\n";
        return 2;
    }
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileAndCheck(o, sources, diags);
    if (!policy || diags.hasErrors()) {
        printDiagnostics(diags, sources, std::cerr);
        return 2;
    }
    const ir::Host* host = selectHost(*policy, o, "apply");
    if (!host) return 2;

    backends::ApplySteps steps =
        o.backend == "legacy" ? backends::legacySteps(*host) : backends::nftSteps(*host);
    for (auto& s : backends::routingSteps(*host)) steps.push_back(std::move(s));

    const char* inject = std::getenv("POLICYC_INJECT_FAILURE");
    Diagnostics applyDiags;
    const ApplyOutcome outcome =
        applySteps(steps, applyDiags, std::cout, inject ? std::string(inject) : std::string());
    printDiagnostics(diags, sources, std::cerr);
    printDiagnostics(applyDiags, sources, std::cerr);
    switch (outcome) {
        case ApplyOutcome::Applied:
            std::cout << "host " << host->name << ": applied with the " << o.backend
                      << " backend\n";
            return 0;
        case ApplyOutcome::RolledBack:
            std::cerr << "policyc: apply refused; the kernel is as before\n";
            return 1;
        case ApplyOutcome::Failed:
            std::cerr << "policyc: apply failed and could not restore every step (see above)\n";
            return 2;
    }
    return 2;
}

int notAvailable(std::string_view verb, std::string_view issue) {
    std::cerr
        << "policyc: error: '" << verb << "' is not available yet in this version (" << issue
        << ") [not-available]\n"
        << "  hint: 'policyc build FILE.pol' writes the iptables-restore, nft -f and ip -batch "
           "renderings, which the real tools can load\n";
    return 2;
}

}  // namespace

int runCli(int argc, char** argv) {
    CLI::App app{
        "policyc: a compiler and static analyzer for Linux packet-filtering and policy-routing "
        "rules"};
    app.require_subcommand(1);
    Options o;

    auto* build =
        app.add_subcommand("build", "compile a .pol file and write or print its renderings");
    build->add_option("FILE", o.file, "the .pol file ('-' for standard input)")->required();
    build->add_option("--host", o.host, "act on this host only");
    build->add_option(
        "--emit", o.emit,
        "print one host's rendering: iptables, ip6tables, nft, routes, routes6, sysctl, json");
    build->add_option("-o", o.outDir, "output directory (default policyc-out)");

    auto* lint = app.add_subcommand("lint", "report mistakes in a policy");
    lint->add_option("FILE", o.file, "the .pol file ('-' for standard input)");
    lint->add_option("--from", o.from, "read a rule set: iptables-save or nft-json")
        ->check(CLI::IsMember({"iptables-save", "nft-json"}));
    lint->add_flag("--live", o.live, "read the current network namespace");
    lint->add_option("--host", o.host, "only this host's findings");
    lint->add_option("--format", o.format, "text, json or sarif")
        ->check(CLI::IsMember({"text", "json", "sarif"}));
    lint->add_flag("--werror", o.werror, "any finding fails (exit 1)");

    auto* diff = app.add_subcommand("diff", "show what apply would change in the live kernel");
    diff->add_option("FILE", o.file)->required();
    diff->add_option("--host", o.host);
    diff->add_option("--backend", o.backend)->check(CLI::IsMember({"legacy", "nft"}));

    auto* apply = app.add_subcommand("apply", "load a policy into the kernel atomically");
    apply->add_option("FILE", o.file)->required();
    apply->add_option("--host", o.host);
    apply->add_option("--backend", o.backend)->check(CLI::IsMember({"legacy", "nft"}));
    apply->add_flag("--dry-run", o.dryRun);
    apply->add_option("--confirm", o.confirm);

    auto* import = app.add_subcommand("import", "print a .pol equivalent to a rule set");
    import->add_option("--from", o.from)
        ->required()
        ->check(CLI::IsMember({"iptables-save", "nft-json"}));
    import->add_option("FILE", o.file)->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (build->parsed()) return runBuild(o);
    if (lint->parsed()) return runLint(o);
    if (diff->parsed()) return notAvailable("diff", "the kernel backends come next");
    if (apply->parsed()) return runApply(o);
    if (import->parsed()) {
        if (o.from == "nft-json")
            return notAvailable("import --from nft-json", "its reader comes next");
        return runImport(o.from, o.file);
    }
    return 2;
}

}  // namespace policyc
