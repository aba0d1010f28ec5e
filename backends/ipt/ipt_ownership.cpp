// SPDX-License-Identifier: GPL-2.0-or-later
#include "backends/ipt/ipt_ownership.h"

#include <algorithm>

namespace policyc::backends::ipt {

namespace {

bool declares(const ir::Host& host, ir::Family family, const std::string& table,
              const std::string& chain) {
    const ir::TableFamily own =
        family == ir::Family::V4 ? ir::TableFamily::Ip : ir::TableFamily::Ip6;
    return std::any_of(host.tables.begin(), host.tables.end(), [&](const ir::Table& t) {
        return (t.family == own || t.family == ir::TableFamily::Inet) && t.name == table &&
               std::any_of(t.chains.begin(), t.chains.end(),
                           [&](const ir::Chain& c) { return c.name == chain; });
    });
}

}  // namespace

ir::Table foreignChains(const ir::Host& host, ir::Family family, const ir::Table& live) {
    ir::Table out{live.family, live.name, {}, {}};
    for (const ir::Chain& c : live.chains) {
        if (declares(host, family, live.name, c.name)) continue;
        // A built-in chain nobody changed (no rule, ACCEPT) is what the kernel makes anyway.
        if (ir::isBuiltinChain(live.name, c.name) && c.rules.empty() &&
            c.policy != ir::ChainPolicy::Drop)
            continue;
        out.chains.push_back(c);
    }
    return out;
}

ir::Host withForeignChains(const ir::Host& host, ir::Family family,
                           const std::vector<ir::Table>& live) {
    ir::Host merged = host;
    for (const ir::Table& t : live) {
        ir::Table foreign = foreignChains(host, family, t);
        if (!foreign.chains.empty()) merged.tables.push_back(std::move(foreign));
    }
    return merged;
}

}  // namespace policyc::backends::ipt
