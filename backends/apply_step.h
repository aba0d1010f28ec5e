// SPDX-License-Identifier: GPL-2.0-or-later
// How a backend changes the kernel: a list of reversible steps. `policyc apply` snapshots every
// step's live state first, applies the steps in order, and when one fails undoes those already
// applied (in reverse), so the kernel is left as it was.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc::backends {

class ApplyStep {
  public:
    virtual ~ApplyStep() = default;
    /// What the step changes, for messages: "iptables mangle (IPv4)", "nftables tables",
    /// "routing rules and routes", "sysctls".
    virtual std::string name() const = 0;
    /// Reads the live state the step will replace. False (with a diagnostic): nothing changed.
    virtual bool snapshot(Diagnostics& diags) = 0;
    /// `apply --dry-run`: has the kernel validate what apply() would install, as far as it can
    /// without committing, and changes nothing. Called after snapshot(). False (with a
    /// diagnostic): apply() would be refused.
    virtual bool check(Diagnostics& diags) = 0;
    /// Installs the host's state. False (with a diagnostic naming what the kernel refused):
    /// the step itself left the kernel as it was.
    virtual bool apply(Diagnostics& diags) = 0;
    /// Puts back what snapshot() read. Called only after a successful apply().
    virtual bool undo(Diagnostics& diags) = 0;
    /// What snapshot() read, for `apply --rollback` in a later run (see saved_state.h); null
    /// when it holds something that could not be restored exactly.
    virtual nlohmann::json saved() const = 0;
};

using ApplySteps = std::vector<std::unique_ptr<ApplyStep>>;

/// ip_tables/ip6_tables through IPT_SO_SET_REPLACE: one step per table and family the host has.
ApplySteps legacySteps(const ir::Host& host);
/// The same steps sharing `host` instead of a copy of it (a large policy's IR is large).
ApplySteps legacySteps(std::shared_ptr<const ir::Host> host);
/// nf_tables: one step, one atomic netlink batch for every table the host declares.
ApplySteps nftSteps(const ir::Host& host);
/// Routing rules and routes over rtnetlink (one step), then sysctls through /proc/sys (one step).
ApplySteps routingSteps(const ir::Host& host);

}  // namespace policyc::backends
