// SPDX-License-Identifier: GPL-2.0-or-later
// The fast parser against the generated ANTLR parser, the reference: whenever the fast path
// accepts a text, ANTLR must accept it too and build the same AST (spans included). Inputs:
// every .pol file of the repository, their compiled policies re-printed, hand-picked ambiguous
// and odd spellings, every keyword where a name may stand, and seeded random token mutations.
#include "compiler/parse_fast.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <random>
#include <set>
#include <sstream>

#include "PolicyLexer.h"
#include "antlr4-runtime.h"
#include "compiler/ast_build.h"
#include "compiler/compile.h"
#include "compiler/ir_print.h"
#include "compiler/parse.h"

using namespace policyc;
namespace fs = std::filesystem;

namespace {

// ---- a complete dump of an AST, for comparing two of them -----------------------------------

void put(std::ostream& o, const SourceSpan& s) {
    o << '@' << s.file << ':' << s.line << ':' << s.column << '-' << s.endLine << ':'
      << s.endColumn;
}

void put(std::ostream& o, const ast::Value& v) {
    o << "V(" << int(v.kind) << ',' << int(v.atom) << ',' << std::quoted(v.text) << ','
      << v.bracketed;
    put(o, v.span);
    for (const auto& p : v.parts) put(o, p);
    o << ')';
}

void put(std::ostream& o, const ast::Clause& c) {
    o << "C(" << std::quoted(c.key) << ',' << c.negated;
    for (const auto& a : c.args) put(o, a);
    for (const auto& [k, v] : c.options) {
        o << " opt " << std::quoted(k);
        put(o, v);
    }
    put(o, c.span);
    o << ")\n";
}

void put(std::ostream& o, const ast::Rule& r) {
    o << "rule ";
    put(o, r.span);
    o << (r.comment ? " comment " + *r.comment : std::string(" -"));
    o << (r.commentAt ? " at " + std::to_string(*r.commentAt) : std::string()) << '\n';
    for (const auto& a : r.annotations) {
        o << " allow " << a.code << ' ' << std::quoted(a.reason);
        put(o, a.span);
        o << '\n';
    }
    for (const auto& m : r.matches) put(o, m);
    put(o, r.statement);
}

void put(std::ostream& o, const ast::Item& item) {
    o << "item " << item.kind << ' ' << std::quoted(item.name);
    put(o, item.nameSpan);
    put(o, item.span);
    o << '\n';
    for (const auto& a : item.args) put(o, a);
    o << '\n';
    for (const auto& p : item.props) put(o, p);
    if (const auto& t = item.table) {
        o << "table " << t->family.value_or("-") << ' ' << t->name;
        put(o, t->nameSpan);
        put(o, t->span);
        o << '\n';
        for (const auto& c : t->chains) {
            o << "chain " << c.name << ' ' << c.policy.value_or("-");
            put(o, c.nameSpan);
            put(o, c.policySpan);
            put(o, c.span);
            o << '\n';
            for (const auto& r : c.rules) put(o, r);
        }
    }
}

std::string dump(const ast::File& f) {
    std::ostringstream o;
    for (const auto& g : f.globals) put(o, g);
    for (const auto& h : f.hosts) {
        o << "host " << h.name << ' ' << h.implicit;
        put(o, h.nameSpan);
        put(o, h.span);
        o << '\n';
        for (const auto& item : h.items) put(o, item);
    }
    return o.str();
}

// ---- the comparison --------------------------------------------------------------------------

/// Parses with both; fails the test when the fast path accepts what ANTLR does not, or builds
/// another AST. Returns whether the fast path accepted.
bool sameAsAntlr(const std::string& text, const std::string& path = "t.pol") {
    SourceManager sources;
    const uint32_t id = sources.add(path, text);
    Diagnostics diags;
    auto reference = parseFileWithAntlr(id, sources, diags);
    // parseFile hands the fast path only UTF-8 text without NUL bytes (else E002)
    for (const auto& d : diags.items())
        if (d.code == Code::E002) return false;
    auto fast = parseFast(id, text, astbuild::stemOf(path));
    if (!fast) return false;
    CAPTURE(text);
    REQUIRE_MESSAGE(reference, "the fast path accepts what ANTLR refuses");
    CHECK(dump(*fast) == dump(*reference));
    return true;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> repositoryPolicies() {
    std::vector<fs::path> out;
    for (const char* dir : {"samples", "tests", "bench", "docs"}) {
        const fs::path root = fs::path(POLICYC_SOURCE_DIR) / dir;
        if (!fs::exists(root)) continue;
        for (const auto& e : fs::recursive_directory_iterator(root))
            if (e.is_regular_file() && e.path().extension() == ".pol") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("the fast lexer knows exactly the grammar's literal tokens") {
    antlr4::ANTLRInputStream input("");
    const antlr4::dfa::Vocabulary& vocabulary = grammar::PolicyLexer(&input).getVocabulary();
    std::set<std::string> generated;
    for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type)
        if (auto literal = vocabulary.getLiteralName(type); !literal.empty())
            generated.insert(literal);
    std::set<std::string> fast;
    for (auto literal : fastLexerLiterals()) fast.insert(std::string(literal));
    CHECK(fast == generated);
}

TEST_CASE("the fast parser builds ANTLR's AST for every .pol file of the repository") {
    const auto files = repositoryPolicies();
    REQUIRE(files.size() >= 40);
    for (const auto& path : files) {
        CAPTURE(path.string());
        const std::string text = readFile(path);
        const bool accepted = sameAsAntlr(text, path.string());
        // Every file ANTLR parses is on the fast path: it must not decline valid input
        // (tests/golden/errors has files that do not parse).
        SourceManager sources;
        Diagnostics diags;
        const bool valid =
            parseFileWithAntlr(sources.add(path.string(), text), sources, diags).has_value();
        CHECK(accepted == valid);

        // The same policy as policyc prints it, when it compiles.
        SourceManager s2;
        Diagnostics d2;
        if (auto policy = compileFile(path.string(), s2, d2))
            CHECK(sameAsAntlr(printPolicy(*policy), "printed.pol"));
    }
}

TEST_CASE("the fast parser resolves ambiguous and odd spellings as ANTLR does") {
    const std::vector<std::string> accepted = {
        // a comment after a statement is that rule's, not the next rule's (greedy)
        "table filter { chain INPUT { accept comment \"a\" drop comment \"b\" } }",
        "table filter { chain INPUT { comment \"a\" accept comment \"b\"; tcp dport 1 drop } }",
        // tproxy's ('mark' value)? is greedy too; `mark set` is the next rule
        "table mangle { chain PREROUTING { tproxy ip to :1 mark 1 accept } }",
        "table mangle { chain PREROUTING { tproxy ip to :1 mark set 5 } }",
        "table mangle { chain PREROUTING { tproxy to 1.2.3.4:80 mark 0x1/0x1 } }",
        // negation before a value that is itself a keyword
        "table filter { chain INPUT { iif not accept drop } }",
        "table filter { chain INPUT { mark != 1 mark set 2 } }",
        "table filter { chain INPUT { ct mark not 1 ct mark set 2 ct mark save mask 3 } }",
        "table filter { chain INPUT { ct mark 1 ct mark restore } }",
        // names spelled like keywords
        "table ip { chain policy { iif table accept } }",
        "table ip ip { chain chain policy accept { user log jump accept } }",
        "host host { interface local { kind veth } }",
        // values
        "define a = { 1, 2, }\ndefine b = { { 1 }, $a, 3-4, :5, :6-7, [::1]:8, [::1]:9-10 }",
        "define c = 10.0.0.1-10.0.0.2:100-200, 10.0.0.1:5, fe80::1/64, 0x10/0xff, 5/minute",
        "define d = \"a \\\" b\", $x, ab:cd:ef, ::, 1.2.3.4::5, tcp-reset, eth0.5, eth+",
        // routes and routing rules: optional words that are also names
        "route ip local dev lo",
        "route local table 5",
        "route ip 10.0.0.0/8 via 1.2.3.4 dev eth0 table 100 metric 5 src 1.1.1.1",
        "route blackhole default\nroute ip6 unreachable ::/0",
        "route ip dev dev eth0",
        "route default via 1.2.3.4 table 7\ntable inet filter { }",
        "route default via 1.2.3.4\ntable filter { }",
        "rule ip6 priority 10 not fwmark 1 iif a oif b uidrange 1-2 from ::/0 to ::1 table 5",
        "rule blackhole\nrule not prohibit\nrule priority 5 lookup main",
        // tproxy intents followed by a table
        "tproxy tcp, udp port 80 in eth0 to :8000 mark 1 table 100\ntable inet filter { }",
        "tproxy tcp port 80 in eth0 to :8000 table 100 priority 5\ntable filter { }",
        "tproxy tcp port 80 in eth0 to :8000\ntable ip mangle { }",
        // other items, separators and comments
        ";;host h { ; forwarding ipv4 ; rp_filter all strict ; sysctl net.x = 1 ; }",
        "masquerade\nmasquerade from 10.0.0.0/8 out eth0\nforward tcp port 1 in a to 1.2.3.4:5",
        "app x { user 1, 2 group 3 cgroup \"/a\" via wg0 mark 1 table 2 priority 3 ipv6 off ; }",
        "tunnel t { ; kind vxlan local 1.1.1.1 remote 2.2.2.2 port 4789 fwmark 5 peer 3.3.3.3 }",
        "interface e\ninterface f { address 1.2.3.4/24, ::1/128 }",
        "include \"x.pol\"\nhost a { include \"y.pol\" }",
        "table filter { chain INPUT { @allow(shadowed-rule, \"why\") @allow(x) accept ; } ; }",
        "table filter { chain INPUT { socket transparent socket accept } }",
        "table filter { chain INPUT { icmp type 3 code 4 icmpv6 type echo-reply limit 1/s "
        "burst 2 addrtype saddr local ether saddr 02:00:00:00:00:01 cgroup \"/x\" group 5 "
        "proto != udp log prefix \"p \" level warn } }",
        "table nat { chain POSTROUTING { snat to 1.2.3.4-1.2.3.5:1-2 masquerade to :5 redirect "
        "dnat to [::1]:80 reject with icmp-port-unreachable goto x notrack return counter } }",
        // columns count code points, lines only at \n
        "# h\xc3\xa9\xc3\xa9\ntable filter { chain INPUT { comment \"\xc3\xa9\xe2\x82\xac\" "
        "accept comment \"\xf0\x9f\x98\x80\" ; drop } }",
        "table filter {\r\n chain INPUT {\r\n\taccept\r\n }\r\n}\r\n",
    };
    for (const auto& text : accepted) {
        CAPTURE(text);
        CHECK(sameAsAntlr(text));
    }
    // Where the fast path may not decide, it declines: ANTLR then parses (or reports).
    const std::vector<std::string> declined = {
        "table filter { chain INPUT { accept",  // syntax errors
        "table filter { chain INPUT { accept } } }",
        "define a = 1 .",
        "define a = $",
        "define a = \"unterminated\n\"",
        "define a = 1 ! 2",
        "\xef\xbb\xbf"
        "define a = 1",  // a byte-order mark is an ERROR_CHAR for ANTLR
        "table filter { chain INPUT { mark set } }",
        // `table ip route {` after a route: an option `table ip` then a route, or a table?
        "route default via 1.2.3.4\ntable ip route { }",
    };
    for (const auto& text : declined) {
        CAPTURE(text);
        CHECK_FALSE(sameAsAntlr(text));
    }
}

TEST_CASE("the fast parser agrees with ANTLR on every keyword where a name or value may stand") {
    for (auto quoted : fastLexerLiterals()) {
        const std::string k(quoted.substr(1, quoted.size() - 2));
        for (const std::string& text : {
                 "host " + k + " { }",
                 "define " + k + " = " + k + ", " + k + "-" + k + ", " + k + ":" + k,
                 "table filter { chain " + k + " { iif " + k + " jump " + k + " } }",
                 "table filter { chain INPUT { user " + k + " mark set " + k + " } }",
                 "table filter { chain INPUT { oif not " + k + " accept } }",
                 "interface " + k + " { kind " + k + " }",
                 "app a { via " + k + " ipv6 " + k + " }",
                 "route " + k + " via 1.2.3.4",
                 "route ip " + k + " dev " + k,
                 "sysctl " + k + " = " + k,
                 "rp_filter " + k + " " + k,
             }) {
            CAPTURE(text);
            sameAsAntlr(text);
        }
    }
}

TEST_CASE("the fast parser agrees with ANTLR on randomly mutated policies") {
    // Token-level mutations of the repository's policies: delete, duplicate, swap or replace a
    // word. Most results are syntax errors (both must refuse); the rest must parse alike.
    std::vector<std::string> words;
    std::vector<std::vector<std::string>> corpus;
    for (const auto& path : repositoryPolicies()) {
        std::istringstream in(readFile(path));
        std::vector<std::string> tokens;
        for (std::string w; in >> w;) tokens.push_back(w);
        if (tokens.empty() || tokens.size() > 400) continue;
        words.insert(words.end(), tokens.begin(), tokens.end());
        corpus.push_back(std::move(tokens));
    }
    REQUIRE(!corpus.empty());
    std::mt19937 rng(20261122);
    int acceptedCount = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<std::string> t = corpus[rng() % corpus.size()];
        for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
            const size_t i = rng() % t.size();
            switch (rng() % 4) {
                case 0:
                    if (t.size() > 1) t.erase(t.begin() + static_cast<long>(i));
                    break;
                case 1:
                    t.insert(t.begin() + static_cast<long>(i), t[i]);
                    break;
                case 2:
                    std::swap(t[i], t[rng() % t.size()]);
                    break;
                default:
                    t[i] = words[rng() % words.size()];
            }
        }
        std::string text;
        for (const auto& w : t) text += w + (rng() % 8 ? " " : "\n");
        acceptedCount += sameAsAntlr(text);
    }
    MESSAGE("mutations the fast path parsed: " << acceptedCount << " of 3000");

    // Line-level mutations keep most files valid: they recombine rules and items.
    acceptedCount = 0;
    for (int round = 0; round < 3000; ++round) {
        const auto files = repositoryPolicies();
        std::istringstream in(readFile(files[rng() % files.size()]));
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        if (lines.size() < 2) continue;
        for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
            const size_t i = rng() % lines.size(), j = rng() % lines.size();
            switch (rng() % 4) {
                case 0:
                    lines.erase(lines.begin() + static_cast<long>(i));
                    break;
                case 1:
                    lines.insert(lines.begin() + static_cast<long>(i), lines[j]);
                    break;
                case 2:
                    std::swap(lines[i], lines[j]);
                    break;
                default:
                    lines[i] += " " + lines[j];
            }
            if (lines.empty()) lines.push_back("");
        }
        std::string text;
        for (const auto& l : lines) text += l + "\n";
        acceptedCount += sameAsAntlr(text);
    }
    MESSAGE("line mutations the fast path parsed: " << acceptedCount << " of 3000");
}
