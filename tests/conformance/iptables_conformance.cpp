// SPDX-License-Identifier: GPL-2.0-or-later
// kernel/iptables_conformance: iptables' own extension tests (../shared/conformance .t files) run
// through policyc's importer, blob encoder and IPT_SO_SET_REPLACE, listed back by
// iptables-legacy-save in a private network namespace. See tests/conformance/README.md.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/checks.h"
#include "backends/ipt/ipt_blob.h"
#include "backends/ipt/ipt_kernel.h"
#include "compiler/diagnostics.h"
#include "compiler/import_iptables.h"
#include "compiler/ir.h"
#include "compiler/source.h"

namespace fs = std::filesystem;

namespace policyc::conformance {
namespace {

using ir::Family;

/// The extensions policyc supports and the .t files that test them (those that exist).
struct Extension {
    std::string name;
    std::vector<std::string> files;
};

const std::vector<Extension>& extensions() {
    static const std::vector<Extension> kExtensions = {
        {"tcp", {"libxt_tcp.t"}},
        {"udp", {"libxt_udp.t"}},
        {"icmp", {"libipt_icmp.t"}},
        {"icmp6", {"libip6t_icmp6.t"}},
        {"multiport", {"libxt_multiport.t"}},
        {"iprange", {"libipt_iprange.t", "libip6t_iprange.t", "libxt_iprange.t"}},
        {"owner", {"libxt_owner.t"}},
        {"mark", {"libxt_mark.t"}},
        {"MARK", {"libxt_MARK.t"}},
        {"connmark", {"libxt_connmark.t"}},
        {"CONNMARK", {"libxt_CONNMARK.t"}},
        {"conntrack", {"libipt_conntrack.t", "libip6t_conntrack.t", "libxt_conntrack.t"}},
        {"state", {"libxt_state.t"}},
        {"socket", {"libxt_socket.t"}},
        {"cgroup", {"libxt_cgroup.t"}},
        {"addrtype", {"libxt_addrtype.t"}},
        {"comment", {"libxt_comment.t"}},
        {"limit", {"libxt_limit.t"}},
        {"mac", {"libxt_mac.t"}},
        {"SNAT", {"libipt_SNAT.t", "libip6t_SNAT.t"}},
        {"DNAT", {"libipt_DNAT.t", "libip6t_DNAT.t"}},
        {"MASQUERADE", {"libipt_MASQUERADE.t", "libip6t_MASQUERADE.t"}},
        {"REDIRECT", {"libxt_REDIRECT.t"}},
        {"TPROXY", {"libipt_TPROXY.t", "libip6t_TPROXY.t"}},
        {"LOG", {"libipt_LOG.t", "libip6t_LOG.t"}},
        {"REJECT", {"libipt_REJECT.t", "libip6t_REJECT.t"}},
        {"CT", {"libxt_CT.t"}},
        {"TCPMSS", {"libxt_TCPMSS.t"}},
        {"standard",
         {"libxt_standard.t", "libipt_standard.t", "libip6t_standard.t", "iptables.t"}},
    };
    return kExtensions;
}

/// One `ARGS;EXPECTED;RESULT` line with the table and chains in force where it stands.
struct Case {
    std::string file;
    unsigned line = 0;
    std::string table;
    std::vector<std::string> chains;
    std::string args;
    std::string expected;  // the rule text after "-A CHAIN ", "" = nothing listed
    bool ok = false;       // RESULT OK (else FAIL; NOMATCH lines are not read)
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, sep)) out.push_back(part);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

/// iptables-test.py's reading of a .t file; lines limited to the NFT variant are left out.
std::vector<Case> readCases(const fs::path& path) {
    std::vector<Case> cases;
    std::ifstream in(path);
    std::string text, table = "filter";
    std::vector<std::string> chains;
    for (unsigned n = 1; std::getline(in, text); ++n) {
        if (text.empty() || text[0] == '#' || text[0] == '@' || text[0] == '%') continue;
        if (text[0] == ':') {
            chains = split(text.substr(1), ',');
            continue;
        }
        if (text[0] == '*') {
            table = text.substr(1);
            continue;
        }
        const std::vector<std::string> f = split(text, ';');
        if (f.size() < 3 || (f[2] != "OK" && f[2] != "FAIL")) continue;
        if (f.size() > 3 && f[3] == "NFT") continue;
        Case c{path.filename().string(), n, table, chains, f[0], f[1], f[2] == "OK"};
        if (c.expected == "=") c.expected = c.args;
        cases.push_back(std::move(c));
    }
    return cases;
}

/// iptables-test.py: libipt_ files run with iptables, libip6t_ with ip6tables, libxt_ with both.
std::vector<Family> familiesOf(const std::string& file) {
    if (file.starts_with("libip6t_")) return {Family::V6};
    if (file.starts_with("libxt_")) return {Family::V4, Family::V6};
    return {Family::V4};
}

/// The chain a rule jumps to when it is not a target extension (those are upper case).
std::optional<std::string> userChain(const std::string& args) {
    std::istringstream in(args);
    std::string tok, prev;
    while (in >> tok) {
        if (prev == "-j" || prev == "--jump" || prev == "-g" || prev == "--goto") {
            const bool lower = std::any_of(tok.begin(), tok.end(), [](char c) {
                return std::islower(static_cast<unsigned char>(c));
            });
            if (lower) return tok;
        }
        prev = tok;
    }
    return std::nullopt;
}

std::string saveText(const Case& c, const std::string& chain) {
    std::ostringstream out;
    out << "*" << c.table << "\n";
    for (std::string_view b : ir::builtinChains(c.table)) out << ":" << b << " ACCEPT [0:0]\n";
    if (auto user = userChain(c.args)) out << ":" << *user << " - [0:0]\n";
    out << "-A " << chain << " " << c.args << "\nCOMMIT\n";
    return out.str();
}

std::string runCommand(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "popen failed";
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

/// Where one (line, family, chain) run ended.
enum class Outcome { Listed, Refused, Unsupported, KernelRefused, Skipped };

struct Run {
    Run(Outcome o, std::string d, std::optional<backends::ipt::Blob> l = {})
        : outcome(o), detail(std::move(d)), loaded(std::move(l)) {}
    Outcome outcome;
    std::string detail;                         // the listing's rule lines, or the diagnostic
    std::optional<backends::ipt::Blob> loaded;  // Listed: the table as the kernel holds it
};

std::string firstError(const Diagnostics& d) {
    for (const Diagnostic& item : d.items())
        if (item.severity == Severity::Error)
            return std::string(codeInfo(item.code).id) + " " + item.message;
    return "(no message)";
}

bool hasCode(const Diagnostics& d, Code code) {
    return std::any_of(d.items().begin(), d.items().end(),
                       [&](const Diagnostic& i) { return i.code == code; });
}

/// The imported tables are `ip` unless the line has IPv6 evidence; an ip6tables run of a
/// family-neutral libxt_ line takes them as `ip6`. nullopt: the line belongs to the other family.
std::optional<ir::Host> forFamily(ir::Host h, Family f) {
    for (ir::Table& t : h.tables) {
        if (t.family == ir::TableFamily::Ip6 && f == Family::V4) return std::nullopt;
        if (f == Family::V6) t.family = ir::TableFamily::Ip6;
        for (ir::Chain& ch : t.chains)
            for (ir::Rule& r : ch.rules)
                if (auto* tp = std::get_if<ir::Tproxy>(&r.target)) tp->family = f;
    }
    return h;
}

std::string listRules(const Case& c, Family f) {
    const std::string tool = f == Family::V4 ? "iptables-legacy-save" : "ip6tables-legacy-save";
    std::istringstream in(runCommand(tool + " -t " + c.table + " 2>&1"));
    std::string line, out;
    while (std::getline(in, line))
        if (line.starts_with("-A ")) out += line + "\n";
    return out;
}

Run runOne(const Case& c, Family f, const std::string& chain) {
    SourceManager sources;
    Diagnostics diags;
    const uint32_t id = sources.add(c.file + ":" + std::to_string(c.line), saveText(c, chain));
    auto imported = importIptablesSave(id, "conformance", sources, diags);
    if (!imported) {
        return {hasCode(diags, Code::E202) ? Outcome::Unsupported : Outcome::Refused,
                "import: " + firstError(diags)};
    }
    auto host = forFamily(*imported, f);
    if (!host) return {Outcome::Skipped, "IPv4 only"};
    // What apply checks before the kernel: a rule the kernel would refuse in this chain.
    Diagnostics checks;
    analyzer::runChecks(*host, checks);
    if (hasCode(checks, Code::E201)) return {Outcome::Refused, "lint: " + firstError(checks)};
    auto blob = backends::ipt::encodeTable(*host, f, c.table, diags);
    if (!blob) return {Outcome::Refused, "encode: " + firstError(diags)};
    if (!backends::ipt::replaceTable(*blob, diags))
        return {Outcome::KernelRefused, "kernel: " + firstError(diags)};
    return {Outcome::Listed, listRules(c, f), backends::ipt::readTable(f, c.table, diags)};
}

/// What the real tool makes of ARGS: it loads them into the same (emptied) table, which is then
/// listed and read back. nullopt when the tool refuses ARGS.
struct ToolRun {
    std::string listing;
    std::optional<backends::ipt::Blob> loaded;
};

std::optional<ToolRun> toolRun(const Case& c, Family f, const std::string& chain) {
    const std::string tool = f == Family::V4 ? "iptables-legacy" : "ip6tables-legacy";
    const std::string t = tool + " -t " + c.table + " ";
    std::string script = t + "-F && " + t + "-X";
    if (auto user = userChain(c.args)) script += " && " + t + "-N " + *user;
    script += " && " + t + "-A " + chain + " " + c.args + " 2>/dev/null && echo loaded";
    if (runCommand("(" + script + ") 2>/dev/null").find("loaded") == std::string::npos)
        return std::nullopt;
    Diagnostics diags;
    return ToolRun{listRules(c, f), backends::ipt::readTable(f, c.table, diags)};
}

std::string expectedListing(const Case& c, const std::string& chain) {
    return c.expected.empty() ? "" : "-A " + chain + " " + c.expected + "\n";
}

/// ToolAgrees: policyc lists exactly what iptables-legacy lists for ARGS, and both differ
/// from EXPECTED (written for iptables-nft or another version). Either way the kernel must hold
/// the same entries as after iptables-legacy loads ARGS, byte for byte but for counters.
enum class Verdict { Pass, ToolAgrees, Fail, Unsupported };

struct LineResult {
    Verdict verdict = Verdict::Pass;
    std::string why;  // for failures: what happened in the first run that went wrong
};

/// A line passes when every run does: an OK line lists as EXPECTED in each chain and family, with
/// the kernel holding what iptables-legacy loads for it, and a FAIL line is refused by policyc
/// before the kernel. Any unsupported-construct refusal makes the whole line unsupported (the
/// runs differ only in chain and family).
LineResult judge(const Case& c) {
    LineResult result;
    bool ran = false;
    for (Family f : familiesOf(c.file)) {
        for (const std::string& chain : c.chains) {
            const Run r = runOne(c, f, chain);
            if (r.outcome == Outcome::Skipped) continue;
            ran = true;
            if (r.outcome == Outcome::Unsupported) return {Verdict::Unsupported, r.detail};
            if (result.verdict == Verdict::Fail) continue;
            const bool listed = c.ok && r.outcome == Outcome::Listed;
            const auto tool = listed ? toolRun(c, f, chain) : std::nullopt;
            const bool sameEntries = tool && tool->loaded && r.loaded &&
                                     backends::ipt::sameRules(*tool->loaded, *r.loaded);
            const bool good = c.ok ? listed && r.detail == expectedListing(c, chain)
                                   : r.outcome == Outcome::Refused;
            std::ostringstream why;
            why << (f == Family::V4 ? "iptables " : "ip6tables ") << chain << ": ";
            const std::string shown =
                "'" + (r.detail.empty() ? "" : r.detail.substr(0, r.detail.size() - 1)) + "'";
            if (listed && tool && !sameEntries) {
                why << "listed " << shown
                    << ", but the kernel holds other entries than iptables-legacy loads for it";
                result = {Verdict::Fail, why.str()};
                continue;
            }
            if (good) continue;
            if (listed && tool && tool->listing == r.detail) {
                result = {Verdict::ToolAgrees, "iptables-legacy lists it as policyc does"};
                continue;
            }
            if (r.outcome == Outcome::Listed && c.ok)
                why << "listed " << shown << ", expected '-A " << chain << " " << c.expected << "'";
            else if (r.outcome == Outcome::Listed)
                why << "accepted and listed " << shown << ", expected a refusal";
            else
                why << r.detail;
            result = {Verdict::Fail, why.str()};
        }
    }
    if (!ran) return {Verdict::Fail, "no run applies to this line"};
    return result;
}

/// tests/conformance/iptables_known_gaps.txt: `file:line reason` per line, '#' comments.
std::map<std::string, std::string> readKnownGaps(const fs::path& path, bool& ok) {
    std::map<std::string, std::string> gaps;
    std::ifstream in(path);
    ok = static_cast<bool>(in);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const size_t space = line.find(' ');
        gaps[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return gaps;
}

struct Tally {
    unsigned lines = 0, pass = 0, agree = 0, fail = 0, unsupported = 0, gap = 0;
    void operator+=(const Tally& o) {
        lines += o.lines, pass += o.pass, agree += o.agree, fail += o.fail;
        unsupported += o.unsupported, gap += o.gap;
    }
};

void printRow(const std::string& name, const Tally& t) {
    std::cout << std::left << std::setw(12) << name << std::right << std::setw(6) << t.lines
              << std::setw(6) << t.pass << std::setw(8) << t.agree << std::setw(6) << t.fail
              << std::setw(7) << t.gap << std::setw(13) << t.unsupported << "\n";
}

struct Options {
    fs::path dataDir;
    fs::path gapsFile;
    bool verbose = false;
};

int run(const Options& o) {
    bool gapsOk = false;
    auto gaps = readKnownGaps(o.gapsFile, gapsOk);
    if (!gapsOk) {
        std::cerr << "cannot read " << o.gapsFile << "\n";
        return 1;
    }
    std::set<std::string> gapsSeen;
    std::ostringstream problems, notes;
    Tally total;
    std::cout << "extension    lines  pass  legacy  fail  k.gap  unsupported\n"
                 "(legacy: .t EXPECTED differs, policyc lists what iptables-legacy lists)\n";
    for (const Extension& ext : extensions()) {
        Tally t;
        for (const std::string& file : ext.files) {
            if (!fs::exists(o.dataDir / file)) continue;
            for (const Case& c : readCases(o.dataDir / file)) {
                const LineResult r = judge(c);
                const std::string where = c.file + ":" + std::to_string(c.line);
                auto gap = gaps.find(where);
                if (gap != gaps.end()) gapsSeen.insert(where);
                ++t.lines;
                if (r.verdict == Verdict::Unsupported) {
                    ++t.unsupported;
                    if (o.verbose) notes << "unsupported " << where << ": " << r.why << "\n";
                    if (gap != gaps.end())
                        problems << "known gap " << where << " is unsupported: " << r.why << "\n";
                } else if (r.verdict == Verdict::Pass || r.verdict == Verdict::ToolAgrees) {
                    ++(r.verdict == Verdict::Pass ? t.pass : t.agree);
                    if (r.verdict == Verdict::ToolAgrees && o.verbose)
                        notes << "legacy " << where << ": " << r.why << "\n";
                    if (gap != gaps.end())
                        problems << "known gap " << where << " passes now: remove it\n";
                } else if (gap != gaps.end()) {
                    ++t.gap;
                    notes << "known gap " << where << " (" << gap->second << "): " << r.why
                          << "\n";
                } else {
                    ++t.fail;
                    problems << "FAIL " << where << " " << (c.ok ? "OK" : "FAIL") << " line '"
                             << c.args << "': " << r.why << "\n";
                }
            }
        }
        printRow(ext.name, t);
        total += t;
    }
    printRow("total", total);
    for (const auto& [where, reason] : gaps)
        if (!gapsSeen.count(where))
            problems << "known gap " << where << " names no line of a tested file\n";
    std::cout << notes.str() << problems.str();
    if (total.lines == 0) {
        std::cout << "no .t file found in " << o.dataDir << "\n";
        return 1;
    }
    return problems.str().empty() ? 0 : 1;
}

}  // namespace
}  // namespace policyc::conformance

int main(int argc, char** argv) {
    using policyc::conformance::Options;
    Options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "-v") {
        o.verbose = true;
        args.erase(args.begin());
    }
    if (args.size() != 2) {
        std::cerr << "usage: policyc_ipt_conformance [-v] EXTENSIONS_DIR KNOWN_GAPS_FILE\n";
        return 2;
    }
    o.dataDir = args[0];
    o.gapsFile = args[1];
    // A missing data directory fails the test: skipping would hide a broken checkout.
    if (!fs::is_directory(o.dataDir)) {
        std::cerr << "conformance data missing: " << o.dataDir << "\n";
        return 1;
    }
    if (::geteuid() != 0) {
        std::cerr << "skipped: loading tables needs root\n";
        return 77;
    }
    // The whole process moves to a fresh network namespace, so the tables it loads and the
    // iptables-legacy-save it runs never touch the host's; the namespace dies with it.
    if (::unshare(CLONE_NEWNET) != 0) {
        std::cerr << "skipped: cannot create a network namespace\n";
        return 77;
    }
    return policyc::conformance::run(o);
}
