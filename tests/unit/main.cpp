// SPDX-License-Identifier: GPL-2.0-or-later
// The unit test binary: doctest's runner, plus `--write-fixtures=NAME` for the kernel tests.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string_view>

#include "tests/unit/fixture_writers.h"

namespace policyc::testing {
namespace {
std::map<std::string, FixtureWriter>& writers() {
    static std::map<std::string, FixtureWriter> registry;
    return registry;
}
}  // namespace

bool registerFixtureWriter(const char* name, FixtureWriter writer) {
    writers()[name] = writer;
    return true;
}

bool runFixtureWriter(const std::string& name, const std::filesystem::path& dir) {
    auto it = writers().find(name);
    if (it == writers().end()) {
        std::cerr << "no fixture writer named '" << name << "'\n";
        return false;
    }
    try {
        it->second(dir);
    } catch (const std::exception& e) {
        std::cerr << "fixture writer '" << name << "' failed: " << e.what() << '\n';
        return false;
    }
    return true;
}

void writeFixtureFile(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out.good()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace policyc::testing

int main(int argc, char** argv) {
    constexpr std::string_view kWrite = "--write-fixtures=";
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!arg.starts_with(kWrite)) continue;
        const char* dir = std::getenv("POLICYC_ORACLE_DIR");
        if (dir == nullptr || *dir == '\0') {
            std::cerr << "--write-fixtures needs POLICYC_ORACLE_DIR\n";
            return 2;
        }
        return policyc::testing::runFixtureWriter(std::string(arg.substr(kWrite.size())), dir) ? 0
                                                                                               : 1;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
