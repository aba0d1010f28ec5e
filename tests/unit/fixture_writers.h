// SPDX-License-Identifier: GPL-2.0-or-later
// Fixture writers: the renderer tests' fixtures, written to files for the kernel tests, which
// load them with the real tools (tests/kernel/run_*_fixture_oracle.sh). Not test cases: main()
// runs the one named by `--write-fixtures=NAME` (into POLICYC_ORACLE_DIR) instead of the tests.
#pragma once

#include <filesystem>
#include <string>

namespace policyc::testing {

using FixtureWriter = void (*)(const std::filesystem::path& dir);

/// Registers a writer under `name`; returns true so it can initialise a static.
bool registerFixtureWriter(const char* name, FixtureWriter writer);
/// Runs the named writer; false (with a message on stderr) when there is none or it failed.
bool runFixtureWriter(const std::string& name, const std::filesystem::path& dir);
/// Writes a file or throws: a fixture that silently failed to write would prove nothing.
void writeFixtureFile(const std::filesystem::path& path, const std::string& text);

}  // namespace policyc::testing

#define POLICYC_FIXTURE_WRITER(name)                                                   \
    static void policycFixtureWriter_##name(const std::filesystem::path& dir);         \
    [[maybe_unused]] static const bool policycFixtureWriterRegistered_##name =         \
        ::policyc::testing::registerFixtureWriter(#name, policycFixtureWriter_##name); \
    static void policycFixtureWriter_##name(const std::filesystem::path& dir)
