// SPDX-License-Identifier: GPL-2.0-or-later
// conformance/nft_py: nftables' own rule tests (tests/py *.t.json + *.t.payload) imported with
// importNftJson and linearized by the nft backend, against nft's own bytecode in the payloads;
// with --kernel, also loaded by policyc's batch in a private network namespace and listed back
// by `nft list ruleset` against the .t file's canonical form.
// See tests/conformance/README.md, section "nftables tests/py".
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_linearize.h"
#include "compiler/diagnostics.h"
#include "compiler/import_nft_json.h"
#include "compiler/source.h"

namespace fs = std::filesystem;

namespace policyc::conformance {
namespace {

std::string readFile(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

/// `:name;type T hook H [device D] priority P` lines of a .t file.
struct ChainDef {
    std::string type, hook;
    int prio = 0;
};

std::map<std::string, ChainDef> chainDefs(const fs::path& t) {
    std::map<std::string, ChainDef> defs;
    for (const std::string& line : splitLines(readFile(t))) {
        if (line.empty() || line[0] != ':') continue;
        const size_t semi = line.find(';');
        if (semi == std::string::npos) continue;
        ChainDef d;
        std::istringstream words(line.substr(semi + 1));
        for (std::string w; words >> w;) {
            if (w == "type") words >> d.type;
            if (w == "hook") words >> d.hook;
            if (w == "priority") words >> d.prio;
        }
        defs[line.substr(1, semi - 1)] = d;
    }
    return defs;
}

/// `RULE;ok[;CANONICAL]` lines of a .t file: the form `nft list ruleset` prints for RULE.
std::map<std::string, std::string> canonicalForms(const fs::path& t) {
    std::map<std::string, std::string> forms;
    for (const std::string& line : splitLines(readFile(t))) {
        if (line.empty() || line[0] == ':' || line[0] == '*' || line[0] == '#' || line[0] == '-')
            continue;
        std::vector<std::string> fields;
        std::istringstream in(line);
        for (std::string f; std::getline(in, f, ';');) fields.push_back(f);
        if (fields.size() < 2 || trim(fields[1]) != "ok") continue;
        const std::string rule = trim(fields[0]);
        forms.emplace(rule, fields.size() > 2 ? trim(fields[2]) : rule);
    }
    return forms;
}

/// One `# RULE` entry of a payload file: its `FAMILY TABLE CHAIN` line and the lines that
/// nft-test.py compares (expressions and set elements).
struct Payload {
    std::string family, chain;
    std::vector<std::string> lines;
};

/// nft-test.py's payload_line_relevant: expression lines and set element lines. The other
/// lines (`__set%d TABLE FLAGS [size N]` and `FAMILY TABLE CHAIN`) carry names chosen by the
/// test and a size that tests/py records for some sets only; nft-test.py skips them too.
bool relevant(const std::string& line) {
    return line.rfind("  [ ", 0) == 0 || trim(line).rfind("element", 0) == 0;
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::string joined(const std::vector<std::string>& ws) {
    std::string out;
    for (const std::string& w : ws) out += (out.empty() ? "" : " ") + w;
    return out;
}

bool isHex(const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

/// libnftnl 1.2.4 (which policyc links, as nft 1.0.6 does here) prints a data register as
/// 32-bit words in host order, zero-padded ("0x0002a8c0" for the 3 bytes c0 a8 02); the
/// libnftnl that wrote tests/py's payloads prints network-order data byte by byte ("0xc0a802")
/// and host-order data (marks, shift counts) as words, as before. The bytes are the same; only
/// the printing differs, so a payload token is turned into 1.2.4's words: as network-order
/// bytes (`network`), or as one host-order number (a u16 `iiftype` prints as "0x0001").
std::string asOldWords(const std::string& hex, bool network) {
    if (hex.size() % 2 != 0) return hex;
    if (!network && hex.size() % 8 == 0) {
        std::string out;
        for (size_t i = 0; i < hex.size(); i += 8) out += (i ? " " : "") + hex.substr(i, 8);
        return out;
    }
    if (!network && hex.size() < 8) return std::string(8 - hex.size(), '0') + hex;
    std::string bytes = hex;
    while (bytes.size() % 8 != 0) bytes += "00";
    std::string out;
    for (size_t i = 0; i < bytes.size(); i += 8) {
        std::string word;
        for (size_t j = 8; j >= 2; j -= 2) word += bytes.substr(i + j - 2, 2);
        out += (i ? " " : "") + word;
    }
    return out;
}

/// An expression line of the payload with its data registers printed as libnftnl 1.2.4 does.
/// Only cmp, range, bitwise and immediate carry data; flags elsewhere (`masq flags 0x4`,
/// `lookup ... 0x1`) are printed the same by both.
std::string oldExprLine(const std::string& line, bool network) {
    std::vector<std::string> ws = words(line);
    if (ws.size() < 2 ||
        (ws[1] != "cmp" && ws[1] != "range" && ws[1] != "bitwise" && ws[1] != "immediate"))
        return joined(ws);
    for (std::string& w : ws)
        if (w.rfind("0x", 0) == 0 && isHex(w.substr(2))) {
            std::string conv = asOldWords(w.substr(2), network), out;
            for (const std::string& part : words(conv))
                out += (out.empty() ? "" : " ") + ("0x" + part);
            w = out;
        }
    return joined(ws);
}

/// Elements of an element line, each as `KEYWORDS flags F` in libnftnl 1.2.4's words. Ours
/// print `element W...  : F [end]`; the payloads `element H [. H]... [flags F]`.
std::vector<std::string> elements(const std::string& line, bool payload, bool network) {
    std::vector<std::string> out;
    const std::vector<std::string> ws = words(line);
    for (size_t i = 0; i < ws.size(); ++i) {
        if (ws[i] != "element") continue;
        std::string key, flags = "0";
        size_t j = i + 1;
        for (; j < ws.size() && ws[j] != "element"; ++j) {
            if (ws[j] == "flags" || ws[j] == ":") {
                if (j + 1 < ws.size()) flags = ws[++j];
            } else if (ws[j] == "[end]" || ws[j] == ".") {
                continue;
            } else {
                key += (key.empty() ? "" : " ") + (payload ? asOldWords(ws[j], network) : ws[j]);
            }
        }
        out.push_back(key + " flags " + flags);
        i = j - 1;
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// nft-test.py compares element lines as sets of elements (payload_check_set_elems): the order
/// nft sends elements in is not part of the bytecode.
bool lineMatches(const std::string& want, const std::string& got) {
    const bool element = want.rfind("element", 0) == 0;
    if (element != (got.rfind("element", 0) == 0)) return false;
    for (bool network : {true, false}) {
        if (element ? elements(want, true, network) == elements(got, false, network)
                    : oldExprLine(want, network) == joined(words(got)))
            return true;
    }
    return false;
}

bool linesMatch(const std::vector<std::string>& want, const std::vector<std::string>& got) {
    if (want.size() != got.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
        if (!lineMatches(want[i], got[i])) return false;
    return true;
}

std::vector<std::string> relevantLines(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const std::string& l : lines)
        if (relevant(l)) out.push_back(trim(l));
    return out;
}

/// nft 1.0.6 (installed here; `nft --debug=netlink -c` in a scratch netns) encodes `x A-B` as
/// `cmp gte A` + `cmp lte B`; the later nft that wrote the payloads uses one `range eq A B`.
/// Same bytes compared, same verdict: the payload's form is turned into 1.0.6's.
std::vector<std::string> asNft106(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const std::string& l : lines) {
        const std::vector<std::string> ws = words(l);
        // [ range eq reg N A... B... ]
        if (ws.size() >= 8 && ws[1] == "range" && ws[2] == "eq" && ws.back() == "]" &&
            (ws.size() - 6) % 2 == 0) {
            const size_t half = (ws.size() - 6) / 2;
            auto part = [&](const char* op, size_t from) {
                std::string s = "[ cmp " + std::string(op) + " reg " + ws[4];
                for (size_t i = 0; i < half; ++i) s += " " + ws[from + i];
                return s + " ]";
            };
            out.push_back(part("gte", 5));
            out.push_back(part("lte", 5 + half));
            continue;
        }
        out.push_back(l);
    }
    return out;
}

/// Payload entries by rule text: the first whose header names `family` (generic payload files
/// hold one entry per family for some rules).
std::map<std::string, Payload> payloads(const fs::path& file, const std::string& family) {
    std::map<std::string, Payload> out;
    const std::vector<std::string> lines = splitLines(readFile(file));
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].rfind("# ", 0) != 0) continue;
        const std::string rule = trim(lines[i].substr(2));
        Payload p;
        std::vector<std::string> body;
        size_t j = i + 1;
        for (; j < lines.size() && !trim(lines[j]).empty() && lines[j][0] != '#'; ++j) {
            const std::string& l = lines[j];
            if (!relevant(l) && l.rfind("__set", 0) != 0 && p.family.empty()) {
                std::istringstream words(l);
                std::string table;
                words >> p.family >> table >> p.chain;
            }
            body.push_back(l);
        }
        i = j - 1;
        p.lines = asNft106(relevantLines(body));
        if (p.family == family && !out.count(rule)) out[rule] = std::move(p);
    }
    return out;
}

/// `# RULE` then the rule's JSON list of statements, as the .t.json files hold them.
std::vector<std::pair<std::string, std::string>> jsonRules(const fs::path& file) {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string text = "\n" + readFile(file);
    size_t at = 0;
    while ((at = text.find("\n#", at)) != std::string::npos) {
        const size_t body = text.find('\n', at + 1);
        if (body == std::string::npos) break;
        const size_t next = text.find("\n#", body);
        const std::string rule = trim(text.substr(at + 2, body - at - 2));
        const std::string expr =
            text.substr(body, next == std::string::npos ? std::string::npos : next - body);
        at = body;
        if (nlohmann::json::accept(expr)) out.emplace_back(rule, expr);
    }
    return out;
}

/// One table `family t`, one base chain `c` as the test's chain line declares it, one rule:
/// the shape `nft -j list ruleset` prints (as tests/unit/import_nft_json_test.cpp's docWith).
std::string document(const std::string& family, const ChainDef& c, const std::string& expr) {
    nlohmann::json chain = {{"family", family}, {"table", "t"},      {"name", "c"},
                            {"handle", 1},      {"type", c.type},    {"hook", c.hook},
                            {"prio", c.prio},   {"policy", "accept"}};
    const std::string head =
        nlohmann::json{{"metainfo", {{"version", "1.0.6"}}}}.dump() + ", " +
        nlohmann::json{{"table", {{"family", family}, {"name", "t"}, {"handle", 1}}}}.dump() +
        ", " + nlohmann::json{{"chain", chain}}.dump();
    return R"({"nftables": [)" + head + R"(, {"rule": {"family": ")" + family +
           R"(", "table": "t", "chain": "c", "handle": 7, "expr": )" + expr + "}}]}";
}

enum class Fate { Exact, Differs, NotImported };

/// A difference only by a trailing `counter`: what a rule without statement got before
/// ir::NoTarget::counts told it apart from one with a counter (a column to see it come back).
bool onlyCounterAdded(const std::vector<std::string>& want, const std::vector<std::string>& got) {
    if (got.empty() || got.back().rfind("[ counter ", 0) != 0) return false;
    for (const std::string& w : want)
        if (w.rfind("[ counter ", 0) == 0) return false;
    return linesMatch(want, std::vector<std::string>(got.begin(), got.end() - 1));
}

struct Outcome {
    Fate fate = Fate::NotImported;
    std::vector<std::string> got;  // relevant lines of debugText, or the import error
    std::optional<backends::nft::NftRuleset> ruleset;  // what policyc would load
};

Outcome run(const std::string& family, const ChainDef& chain, const std::string& expr) {
    SourceManager sources;
    Diagnostics diags;
    const uint32_t file = sources.add("rule.json", document(family, chain, expr));
    const auto host = importNftJson(file, "t", sources, diags);
    if (!host) {
        for (const Diagnostic& d : diags.sorted())
            if (d.severity == Severity::Error) return {Fate::NotImported, {d.message}, {}};
        return {Fate::NotImported, {"(no error)"}, {}};
    }
    backends::nft::NftRuleset rs = backends::nft::linearize(*host);
    if (!rs.errors.empty()) return {Fate::Differs, {"linearize error: " + rs.errors.front()}, {}};
    auto lines = relevantLines(splitLines(backends::nft::debugText(rs)));
    return {Fate::Differs, std::move(lines), std::move(rs)};
}

// ---- --kernel: what nft lists back ----------------------------------------------------------

std::string command(const std::string& cmd) {
    std::string out;
    if (FILE* p = popen((cmd + " 2>&1").c_str(), "r")) {
        char buf[4096];
        for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        pclose(p);
    }
    return out;
}

/// The rules of `nft list ruleset` (a rule's continuation lines joined), counters zeroed.
std::vector<std::string> listedRules() {
    std::vector<std::string> rules;
    for (const std::string& line : splitLines(command("nft list ruleset"))) {
        const size_t tabs = line.find_first_not_of('\t');
        if (tabs == std::string::npos || tabs < 2) continue;
        std::string text = trim(line);
        if (tabs == 2 && text.rfind("type ", 0) == 0) continue;
        if (tabs > 2 && !rules.empty()) {
            rules.back() += " " + text;
            continue;
        }
        rules.push_back(text);
    }
    for (std::string& r : rules) {
        const size_t c = r.find("counter packets ");
        if (c == std::string::npos) continue;
        const size_t end = r.find(" bytes ", c);
        const size_t stop = end == std::string::npos ? end : r.find(' ', end + 7);
        r = r.substr(0, c) + "counter" + (stop == std::string::npos ? "" : r.substr(stop));
    }
    return rules;
}

/// nft 1.0.6's own listing of RULE loaded with `nft -f` (the .t files come from a newer nft,
/// whose canonical forms may differ): empty when nft refuses it.
std::string nftListing(const std::string& family, const ChainDef& c, const std::string& rule) {
    command("nft flush ruleset");
    const std::string file = "/tmp/policyc-nft-py-" + std::to_string(getpid()) + ".nft";
    std::ofstream(file) << "table " << family << " t {\n\tchain c {\n\t\ttype " << c.type
                        << " hook " << c.hook << " priority " << c.prio << "; policy accept;\n\t\t"
                        << rule << "\n\t}\n}\n";
    const std::string err = command("nft -f " + file);
    fs::remove(file);
    const auto rules = listedRules();
    return err.empty() && rules.size() == 1 ? rules[0] : "";
}

enum class Listing { Canonical, AsNft106, Different, NotLoaded };

/// Loads `rs` with policyc's own batch into this (private) network namespace and lists it.
Listing kernelListing(const backends::nft::NftRuleset& rs, const std::string& family,
                      const ChainDef& c, const std::string& rule, const std::string& canonical,
                      std::string& listed) {
    command("nft flush ruleset");
    backends::nft::NftSocket sock;
    backends::nft::BatchError error;
    if (!sock.error().empty() ||
        !backends::nft::replaceTables(sock, rs.families, rs, std::nullopt, error)) {
        listed = "load failed: " + (sock.error().empty() ? error.message : sock.error());
        return Listing::NotLoaded;
    }
    const auto rules = listedRules();
    listed = rules.size() == 1 ? rules[0] : "(" + std::to_string(rules.size()) + " rules)";
    if (listed == canonical) return Listing::Canonical;
    return listed == nftListing(family, c, rule) ? Listing::AsNft106 : Listing::Different;
}

struct Figures {
    int rules = 0, exact = 0, differs = 0, notImported = 0, counterOnly = 0;
    void add(Fate f) {
        ++rules;
        (f == Fate::Exact ? exact : f == Fate::Differs ? differs : notImported)++;
    }
};

void printFigures(const std::string& name, const Figures& f) {
    std::cout << std::left << std::setw(26) << name << std::right << std::setw(5) << f.rules
              << std::setw(7) << f.exact << std::setw(8) << f.differs << std::setw(10)
              << f.counterOnly << std::setw(13) << f.notImported << "\n";
}

struct Options {
    fs::path pyDir, expected;
    bool verbose = false, write = false, kernel = false;
};

/// --kernel figures: how the imported rules list back once policyc loaded them.
struct ListingFigures {
    int canonical = 0, asNft106 = 0, different = 0, notLoaded = 0, exactDifferent = 0;
};

int conformance(const Options& o) {
    if (!fs::is_directory(o.pyDir)) {
        std::cerr << "nft_py: " << o.pyDir << " is missing\n";
        return 1;
    }
    std::set<std::string> exact;  // "DIR/FILE: RULE"
    ListingFigures listing;
    std::map<std::string, Figures> perFile;
    Figures total;
    std::cout << std::left << std::setw(26) << "file" << std::right << std::setw(5) << "rules"
              << std::setw(7) << "exact" << std::setw(8) << "differs" << std::setw(10) << "+counter"
              << std::setw(13) << "not imported"
              << "\n";
    for (const std::string dir : {"any", "inet", "ip", "ip6"}) {
        const std::string family = dir == "any" ? "ip" : dir;  // as nft-test.py's first table
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(o.pyDir / dir))
            if (e.path().string().ends_with(".t.json")) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const fs::path& json : files) {
            const std::string base = json.string().substr(0, json.string().size() - 5);
            fs::path payloadFile = base + ".payload." + (family == "ip" ? "ip" : family);
            if (!fs::exists(payloadFile)) payloadFile = base + ".payload";
            if (!fs::exists(payloadFile)) continue;
            const auto defs = chainDefs(base);
            const auto forms =
                o.kernel ? canonicalForms(base) : std::map<std::string, std::string>{};
            const auto want = payloads(payloadFile, family);
            const std::string name =
                dir + "/" + json.filename().string().substr(0, json.filename().string().size() - 5);
            Figures fig;
            for (const auto& [rule, expr] : jsonRules(json)) {
                const auto p = want.find(rule);
                if (p == want.end()) continue;
                const auto def = defs.find(p->second.chain);
                if (def == defs.end()) continue;
                Outcome out = run(family, def->second, expr);
                if (out.fate == Fate::Differs && linesMatch(p->second.lines, out.got))
                    out.fate = Fate::Exact;
                fig.add(out.fate);
                total.add(out.fate);
                const bool counterOnly =
                    out.fate == Fate::Differs && onlyCounterAdded(p->second.lines, out.got);
                fig.counterOnly += counterOnly;
                total.counterOnly += counterOnly;
                const std::string key = name + ": " + rule;
                if (out.fate == Fate::Exact) exact.insert(key);
                if (o.kernel && out.ruleset) {
                    const auto form = forms.find(rule);
                    std::string listed;
                    const Listing l =
                        kernelListing(*out.ruleset, family, def->second, rule,
                                      form == forms.end() ? rule : form->second, listed);
                    (l == Listing::Canonical   ? listing.canonical
                     : l == Listing::AsNft106  ? listing.asNft106
                     : l == Listing::NotLoaded ? listing.notLoaded
                                               : listing.different)++;
                    // the same bytecode must list as nft lists its own: anything else is a bug
                    const bool bad = out.fate == Fate::Exact && l != Listing::Canonical &&
                                     l != Listing::AsNft106;
                    listing.exactDifferent += bad;
                    if (bad || (o.verbose && l != Listing::Canonical))
                        std::cout << (bad ? "LISTED WRONG " : "LISTED ") << key
                                  << "\n    listed:    " << listed << "\n    canonical: "
                                  << (form == forms.end() ? rule : form->second) << "\n";
                }
                if (out.fate == Fate::Differs || (o.verbose && out.fate == Fate::NotImported)) {
                    std::cout << (out.fate == Fate::NotImported ? "REFUSED "
                                  : counterOnly                 ? "DIFFERS (+counter) "
                                                                : "DIFFERS ")
                              << key << "\n";
                    if (out.fate == Fate::Differs)
                        for (const std::string& l : p->second.lines)
                            std::cout << "    expected: " << l << "\n";
                    for (const std::string& l : out.got) std::cout << "    got:      " << l << "\n";
                }
            }
            if (fig.rules > 0) perFile[name] = fig;
        }
    }
    for (const auto& [name, fig] : perFile) printFigures(name, fig);
    printFigures("total", total);
    if (o.kernel) {
        std::cout << "loaded by policyc, listed by nft 1.0.6: " << listing.canonical
                  << " as the .t canonical form, " << listing.asNft106
                  << " as nft 1.0.6 lists the rule itself, " << listing.different
                  << " differently, " << listing.notLoaded << " refused by the kernel; "
                  << listing.exactDifferent << " exact rules listed wrong\n";
        if (listing.exactDifferent > 0 || listing.notLoaded > 0) return 1;
    }

    if (o.write) {
        std::ofstream outFile(o.expected);
        outFile << "# Rules of nftables' tests/py whose bytecode policyc reproduces exactly\n"
                << "# (written by policyc_nft_py_conformance --write-expected; see README.md).\n"
                << "# total " << total.rules << " exact " << total.exact << " differs "
                << total.differs << " (+counter only " << total.counterOnly << ") not-imported "
                << total.notImported << "\n";
        for (const std::string& k : exact) outFile << k << "\n";
        std::cout << "wrote " << o.expected << "\n";
        return 0;
    }
    std::set<std::string> expected;
    for (const std::string& line : splitLines(readFile(o.expected)))
        if (!line.empty() && line[0] != '#') expected.insert(line);
    if (expected.empty()) {
        std::cerr << "nft_py: no expected figures in " << o.expected << "\n";
        return 1;
    }
    int regressions = 0, gains = 0;
    for (const std::string& k : expected)
        if (!exact.count(k)) {
            std::cout << "REGRESSION (was exact): " << k << "\n";
            ++regressions;
        }
    for (const std::string& k : exact)
        if (!expected.count(k)) {
            std::cout << "newly exact (add it to the expected file): " << k << "\n";
            ++gains;
        }
    std::cout << "nft tests/py: " << total.exact << " exact of " << total.rules << " ("
              << regressions << " regressions, " << gains << " newly exact)\n";
    return regressions == 0 ? 0 : 1;
}

}  // namespace
}  // namespace policyc::conformance

int main(int argc, char** argv) {
    policyc::conformance::Options o;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-v")
            o.verbose = true;
        else if (a == "--write-expected")
            o.write = true;
        else if (a == "--kernel")
            o.kernel = true;
        else
            positional.push_back(a);
    }
    if (positional.size() != 2) {
        std::cerr << "usage: policyc_nft_py_conformance PY_DIR EXPECTED [-v] [--write-expected] "
                     "[--kernel]\n";
        return 2;
    }
    o.pyDir = positional[0];
    o.expected = positional[1];
    if (o.kernel) {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
            std::cerr << "skipped: --kernel needs root and a private network namespace\n";
            return 77;
        }
    }
    return policyc::conformance::conformance(o);
}
