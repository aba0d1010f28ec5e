// SPDX-License-Identifier: GPL-2.0-or-later
// Verbs of cli.md: build, lint, diff, apply and import. Nothing is written unless the whole input
// compiled without errors.
#include "driver/cli.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "analyzer/checks.h"
#include "analyzer/session_guard.h"
#include "backends/saved_state.h"
#include "backends/text/render.h"
#include "compiler/compile.h"
#include "compiler/ir_json.h"
#include "driver/apply.h"
#include "driver/diff.h"
#include "driver/import.h"
#include "driver/live.h"
#include "driver/state_file.h"

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
    bool force = false;
    bool rollback = false;
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
         [](const ir::Host& h, const SourceManager& s) { return renderJson(h, s) + "\n"; }},
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

/// Waits up to `seconds` for a line on `fd`: true only for "yes". End of input, another
/// answer or the time running out all mean no.
bool confirmed(int fd, int seconds) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    std::string line;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        const int ready = poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        char c = 0;
        if (read(fd, &c, 1) != 1) return false;
        if (c == '\n') break;
        line += c;
    }
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    return line == "yes";
}

/// The steps of `host`; they may refer to it, so it must outlive them.
backends::ApplySteps stepsFor(const std::shared_ptr<const ir::Host>& host,
                              const std::string& backend) {
    backends::ApplySteps steps =
        backend == "legacy" ? backends::legacySteps(host) : backends::nftSteps(*host);
    for (auto& s : backends::routingSteps(*host)) steps.push_back(std::move(s));
    return steps;
}

/// When policyc runs over SSH, whether the host's filter would drop the session's own packets
/// (a `lockout-risk` diagnostic says where).
bool cutsThisSession(const ir::Host& host, Diagnostics& diags) {
    const char* env = std::getenv("SSH_CONNECTION");
    if (!env || !*env) return false;
    const auto session = analyzer::parseSshConnection(env);
    if (!session) {
        diags.report(Code::W013, {},
                     "SSH_CONNECTION ('" + std::string(env) +
                         "') is not 'CLIENT PORT SERVER PORT': the session was not checked");
        return false;
    }
    const auto cut = analyzer::sessionCut(host, *session);
    if (!cut) return false;
    auto& d = diags.report(
        Code::W013, cut->span,
        cut->where + " drops packets of this SSH session (" + session->client.str() + " port " +
            std::to_string(session->clientPort) + " to " + session->server.str() + " port " +
            std::to_string(session->serverPort) + ")");
    d.hint = "accept the session first, e.g. 'ct state established,related accept' or 'ip saddr " +
             session->client.str() + " tcp dport " + std::to_string(session->serverPort) +
             " accept'";
    return true;
}

/// Keeps what the steps replaced for `apply --rollback`. The apply stands either way: a state
/// that cannot be written is a warning.
void saveReplacedState(const backends::ApplySteps& steps, const std::string& host,
                       const std::string& backend) {
    std::string error;
    const auto path = stateFilePath(error);
    // An older state must not stay behind: --rollback would put back what preceded an earlier
    // apply, over this one.
    auto forget = [&](const std::string& why) {
        std::error_code ec;
        if (path) std::filesystem::remove(*path, ec);
        std::cerr << "policyc: warning: " << why << ", so 'apply --rollback' is not available for "
                  << "this apply\n";
    };
    nlohmann::json saved = nlohmann::json::array();
    for (const auto& s : steps) {
        saved.push_back(s->saved());
        if (saved.back().is_null())
            return forget("'" + s->name() + "' replaced state policyc cannot save exactly");
    }
    const nlohmann::json state = {
        {"version", 1}, {"host", host}, {"backend", backend}, {"steps", saved}};
    if (!path || !writeStateFile(*path, state, error))
        forget("the replaced state was not saved (" + error + ")");
}

int runDryRun(const std::shared_ptr<const ir::Host>& shared, const Options& o,
              const SourceManager& sources) {
    const ir::Host& host = *shared;
    backends::ApplySteps steps = stepsFor(shared, o.backend);
    Diagnostics checkDiags;
    const bool ok = checkSteps(steps, checkDiags, std::cerr);
    steps.clear();  // releases the xtables lock before the diff reads the tables
    Diagnostics readDiags;
    const auto sections = diffSections(host, o.backend, readDiags);
    printDiagnostics(checkDiags, sources, std::cerr);
    printDiagnostics(readDiags, sources, std::cerr);
    const size_t differ = printDiff(sections, std::cout);
    if (!ok) {
        std::cerr << "policyc: apply --dry-run: the kernel would refuse it (see above); nothing "
                     "was changed\n";
        return 1;
    }
    std::cerr << "host " << host.name << ": would apply cleanly with the " << o.backend
              << " backend; " << differ << " of " << sections.size()
              << " parts would change; nothing was changed\n";
    return readDiags.hasErrors() ? 2 : 0;
}

/// The one host diff and apply act on, compiled and checked; nullopt (diagnostics printed)
/// when the policy has errors or the host is not named.
std::optional<ir::Host> hostToApply(const Options& o, std::string_view verb, SourceManager& sources,
                                    Diagnostics& diags) {
    auto policy = compileAndCheck(o, sources, diags);
    if (!policy || diags.hasErrors()) {
        printDiagnostics(diags, sources, std::cerr);
        return std::nullopt;
    }
    const ir::Host* host = selectHost(*policy, o, verb);
    if (!host) return std::nullopt;
    // Moved out, not copied: the rest of the policy is dropped here.
    return std::move(policy->hosts[static_cast<size_t>(host - policy->hosts.data())]);
}

int runApply(const Options& o) {
    SourceManager sources;
    Diagnostics diags;
    auto compiled = hostToApply(o, "apply", sources, diags);
    if (!compiled) return 2;
    // Shared with the legacy steps, which would otherwise keep a copy.
    const auto host = std::make_shared<const ir::Host>(std::move(*compiled));
    if (!o.force && cutsThisSession(*host, diags)) {
        printDiagnostics(diags, sources, std::cerr);
        std::cerr << "policyc: apply refused: it would cut the SSH session it runs in (--force "
                     "applies anyway); nothing was changed\n";
        return 1;
    }
    if (o.dryRun) {
        printDiagnostics(diags, sources, std::cerr);
        return runDryRun(host, o, sources);
    }
    // The answer to --confirm comes from standard input, or from the terminal when standard
    // input carried the policy. Opened before anything changes: no answer channel, no apply.
    int answerFd = STDIN_FILENO;
    if (o.confirm > 0 && o.file == "-") {
        answerFd = open("/dev/tty", O_RDONLY | O_CLOEXEC);
        if (answerFd < 0) {
            std::cerr << "policyc: error: apply --confirm reads the answer from the terminal "
                         "when the policy comes from standard input, and there is none\n";
            return 2;
        }
    }

    backends::ApplySteps steps = stepsFor(host, o.backend);
    const char* inject = std::getenv("POLICYC_INJECT_FAILURE");
    const char* pause = std::getenv("POLICYC_PAUSE_AFTER_SNAPSHOT");
    Diagnostics applyDiags;
    const ApplyOutcome outcome =
        applySteps(steps, applyDiags, std::cout, inject ? std::string(inject) : std::string(),
                   pause ? static_cast<unsigned>(std::strtoul(pause, nullptr, 10)) : 0);
    printDiagnostics(diags, sources, std::cerr);
    printDiagnostics(applyDiags, sources, std::cerr);
    switch (outcome) {
        case ApplyOutcome::Applied:
            break;
        case ApplyOutcome::RolledBack:
            std::cerr << "policyc: apply refused; the kernel is as before\n";
            return 1;
        case ApplyOutcome::Failed:
            std::cerr << "policyc: apply failed and could not restore every step (see above)\n";
            return 2;
    }
    if (o.confirm > 0) {
        std::cerr << "policyc: applied. Type 'yes' within " << o.confirm
                  << " seconds to keep it; anything else restores the previous state.\n";
        const bool kept = confirmed(answerFd, o.confirm);
        if (answerFd != STDIN_FILENO) close(answerFd);
        if (!kept) {
            Diagnostics undoDiags;
            const bool restored = rollBackSteps(steps, undoDiags, std::cout);
            printDiagnostics(undoDiags, sources, std::cerr);
            if (!restored) {
                std::cerr << "policyc: not confirmed, and the previous state could not be "
                             "restored for every step (see above)\n";
                return 2;
            }
            std::cerr << "policyc: not confirmed; the previous state is restored\n";
            return 1;
        }
    }
    saveReplacedState(steps, host->name, o.backend);
    std::cout << "host " << host->name << ": applied with the " << o.backend << " backend\n";
    return 0;
}

int runRollback() {
    std::string error;
    const auto path = stateFilePath(error);
    const auto state = path ? readStateFile(*path, error) : std::nullopt;
    auto steps = state && state->contains("steps")
                     ? backends::restoreSteps(state->at("steps"), error)
                     : std::nullopt;
    if (!steps) {
        std::cerr << "policyc: error: apply --rollback: " << error << '\n';
        return 2;
    }
    Diagnostics diags;
    SourceManager sources;
    const ApplyOutcome outcome = applySteps(*steps, diags, std::cout);
    printDiagnostics(diags, sources, std::cerr);
    if (outcome != ApplyOutcome::Applied) {
        std::cerr << "policyc: apply --rollback failed"
                  << (outcome == ApplyOutcome::RolledBack ? "; the kernel is as before\n"
                                                          : " and could not restore every step\n");
        return outcome == ApplyOutcome::RolledBack ? 1 : 2;
    }
    // Spent: a second --rollback must not put the same state back over a newer apply.
    std::error_code ec;
    std::filesystem::remove(*path, ec);
    std::cout << "restored the state before the last apply of host "
              << state->value("host", std::string("?")) << " ("
              << state->value("backend", std::string("?")) << " backend)\n";
    return 0;
}

int runDiff(const Options& o) {
    SourceManager sources;
    Diagnostics diags;
    auto host = hostToApply(o, "diff", sources, diags);
    if (!host) return 2;
    Diagnostics readDiags;
    const auto sections = diffSections(*host, o.backend, readDiags);
    printDiagnostics(readDiags, sources, std::cerr);
    if (readDiags.hasErrors()) return 2;
    const size_t differ = printDiff(sections, std::cout);
    if (differ == 0) {
        std::cerr << "host " << host->name << ": the live state equals the policy (" << o.backend
                  << " backend)\n";
        return 0;
    }
    std::cerr << "host " << host->name << ": " << differ << " of " << sections.size()
              << " parts differ (" << o.backend << " backend)\n";
    return 1;
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
    apply->add_option("FILE", o.file);
    apply->add_flag("--rollback", o.rollback,
                    "restore the state the last apply in this network namespace replaced");
    apply->add_option("--host", o.host);
    apply->add_option("--backend", o.backend)->check(CLI::IsMember({"legacy", "nft"}));
    apply->add_flag("--dry-run", o.dryRun);
    apply->add_option("--confirm", o.confirm, "keep the new state only if confirmed in SECONDS")
        ->check(CLI::PositiveNumber);
    apply->add_flag("--force", o.force,
                    "apply even when the filter would cut the SSH session policyc runs in");

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
    if (diff->parsed()) return runDiff(o);
    if (apply->parsed()) {
        if (o.rollback) {
            if (!o.file.empty() || o.dryRun || o.confirm > 0) {
                std::cerr << "policyc: error: apply --rollback takes no FILE, --dry-run or "
                             "--confirm\n";
                return 2;
            }
            return runRollback();
        }
        if (o.file.empty()) {
            std::cerr << "policyc: error: apply needs FILE.pol (or --rollback)\n";
            return 2;
        }
        return runApply(o);
    }
    if (import->parsed()) return runImport(o.from, o.file);
    return 2;
}

}  // namespace policyc
