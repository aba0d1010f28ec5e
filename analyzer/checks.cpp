// SPDX-License-Identifier: GPL-2.0-or-later
// The order checks run in; findings are sorted by location afterwards anyway.
#include "analyzer/checks.h"

namespace policyc::analyzer {

void runChecks(const ir::Host& host, Diagnostics& diags) {
    checkKernelValidity(host, diags);
    checkHygiene(host, diags);
    checkRouting(host, diags);
}

}  // namespace policyc::analyzer
