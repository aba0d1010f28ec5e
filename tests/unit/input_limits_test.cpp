// SPDX-License-Identifier: GPL-2.0-or-later
// Hostile input: the limits of InputLimits that need inputs too large for tests/golden/errors,
// and the replay of every input the fuzzers once crashed on (tests/fuzz/regressions/TARGET/*).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "compiler/compile.h"
// The fuzz target bodies, compiled into the unit tests so that gcc builds replay regressions
// too (tests/CMakeLists.txt globs tests/unit/*.cpp only).
#include "tests/fuzz/targets.cpp"

using namespace policyc;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("policyc-limits-" + std::to_string(getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
    }
};

/// The first diagnostic with `code`, rendered, or empty.
std::string firstOf(const Diagnostics& diags, Code code, const SourceManager& sources) {
    for (const auto& d : diags.sorted())
        if (d.code == code) return renderText({d}, sources);
    return {};
}

const char* kRule = "table filter { chain INPUT { accept } }\n";

}  // namespace

TEST_CASE("limits: a file over 64 MiB is refused before it is read") {
    TempDir dir;
    dir.write("big.pol", "");
    fs::resize_file(dir.path / "big.pol", (64u << 20) + 1);  // sparse
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileFile((dir.path / "big.pol").string(), sources, diags));
    CHECK(firstOf(diags, Code::E205, sources).find("larger than 64 MiB") != std::string::npos);
}

TEST_CASE("limits: an include of an endless stream stops after 64 MiB") {
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileText("include \"/dev/zero\"\n", "zero.pol", sources, diags));
    const std::string e = firstOf(diags, Code::E205, sources);
    CHECK(e.find("zero.pol:1:1:") != std::string::npos);
    CHECK(e.find("larger than 64 MiB") != std::string::npos);
}

TEST_CASE("limits: includes nest at most 16 files deep") {
    TempDir dir;
    for (int i = 0; i < 20; ++i)
        dir.write("f" + std::to_string(i) + ".pol",
                  "include \"f" + std::to_string(i + 1) + ".pol\"\n");
    dir.write("f20.pol", kRule);
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileFile((dir.path / "f0.pol").string(), sources, diags));
    const std::string e = firstOf(diags, Code::E105, sources);
    CHECK(e.find("f16.pol:1:1:") != std::string::npos);
    CHECK(e.find("deeper than 16") != std::string::npos);
}

TEST_CASE("limits: at most 1024 files are read, however the includes multiply") {
    TempDir dir;  // f0 includes f1 twice, f1 includes f2 twice ...: 2^12 reads without a bound
    for (int i = 0; i < 12; ++i) {
        const std::string next = "f" + std::to_string(i + 1) + ".pol";
        dir.write("f" + std::to_string(i) + ".pol",
                  "include \"" + next + "\"\ninclude \"./" + next + "\"\n");
    }
    dir.write("f12.pol", "define $x = 1\n");
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileFile((dir.path / "f0.pol").string(), sources, diags));
    CHECK(firstOf(diags, Code::E105, sources).find("more than 1024 files") != std::string::npos);
    CHECK(sources.fileCount() <= 1024);
}

TEST_CASE("limits: a file including itself by another spelling is a cycle") {
    TempDir dir;
    dir.write("self.pol", "include \"./self.pol\"\n" + std::string(kRule));
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileFile((dir.path / "self.pol").string(), sources, diags));
    CHECK(firstOf(diags, Code::E105, sources).find("includes itself") != std::string::npos);
}

TEST_CASE("limits: at most 1,000,000 rules per host") {
    const size_t n = InputLimits{}.maxRulesPerHost + 1;
    std::string text = "table filter {\n    chain INPUT {\n";
    text.reserve(text.size() + n * 9 + 16);
    for (size_t i = 0; i < n; ++i) text += "  accept\n";
    text += "    }\n}\n";
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileText(text, "many.pol", sources, diags));
    const std::string e = firstOf(diags, Code::E205, sources);
    CHECK(e.find("many.pol:" + std::to_string(n + 2) + ":3:") != std::string::npos);
    CHECK(e.find("more than 1000000 rules") != std::string::npos);
}

TEST_CASE("fuzz regressions replay without a crash") {
    const fs::path root = fs::path(POLICYC_SOURCE_DIR) / "tests/fuzz/regressions";
    if (!fs::exists(root)) return;
    for (const auto& dir : fs::directory_iterator(root)) {
        auto target = fuzz::targetNamed(dir.path().filename().string());
        const bool known = target != nullptr;
        REQUIRE_MESSAGE(known, "no fuzz target named " << dir.path().filename());
        for (const auto& e : fs::directory_iterator(dir.path())) {
            CAPTURE(e.path().string());
            std::ifstream in(e.path(), std::ios::binary);
            const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
            target(bytes.data(), bytes.size());
        }
    }
}

TEST_CASE("limits: a definition used again in one list is expanded once") {
    // Eight levels of eight copies each: 16M values if every path were expanded.
    std::string text = "define a1 = 1, 2, 3, 4, 5, 6, 7, 8\n";
    for (int level = 2; level <= 8; ++level) {
        text += "define a" + std::to_string(level) + " = ";
        for (int copy = 0; copy < 8; ++copy)
            text += (copy ? ", $a" : "$a") + std::to_string(level - 1);
        text += "\n";
    }
    text += "table filter { chain INPUT { tcp dport $a8, $a1 accept } }\n";
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(text, "ladder.pol", sources, diags);
    REQUIRE(policy);
    const auto& rules = policy->hosts.at(0).tables.at(0).chains.at(0).rules;
    REQUIRE(rules.size() == 1);
    size_t ports = 0;
    for (const auto& m : rules[0].matches)
        if (const auto* p = std::get_if<ir::PortMatch>(&m)) ports += p->ports.size();
    CHECK(ports == 8);
}

TEST_CASE("limits: at most 16,000,000 values per host, counted over every use") {
    // 65,536 distinct ports used by 245 rules: 16,056,320 values.
    std::string text = "define p = 0";
    for (int port = 1; port < 65536; ++port) text += ", " + std::to_string(port);
    text += "\ntable filter {\n    chain INPUT {\n";
    for (int rule = 0; rule < 245; ++rule) text += "        tcp dport $p accept\n";
    text += "    }\n}\n";
    SourceManager sources;
    Diagnostics diags;
    CHECK_FALSE(compileText(text, "values.pol", sources, diags));
    const std::string e = firstOf(diags, Code::E205, sources);
    CHECK(e.find("values.pol:248:19:") != std::string::npos);
    CHECK(e.find("more than 16000000 elements") != std::string::npos);
}
