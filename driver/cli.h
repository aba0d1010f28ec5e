// SPDX-License-Identifier: GPL-2.0-or-later
// The policyc command line (../shared/design/cli.md is the contract).
#pragma once

namespace policyc {

/// Runs one policyc invocation; returns the process exit status.
int runCli(int argc, char** argv);

}  // namespace policyc
