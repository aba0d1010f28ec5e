// SPDX-License-Identifier: GPL-2.0-or-later
// legacySteps(): one reversible step per (family, iptables table) the host fills, each
// replacing the whole table with one IPT_SO_SET_REPLACE under the xtables lock.
#include <memory>

#include "backends/apply_step.h"
#include "backends/ipt/ipt_blob.h"
#include "backends/ipt/ipt_kernel.h"

namespace policyc::backends {
namespace {

using namespace policyc::ir;

class LegacyTableStep : public ApplyStep {
  public:
    LegacyTableStep(std::shared_ptr<const Host> host, Family family, std::string table)
        : host_(std::move(host)), family_(family), table_(std::move(table)) {}

    std::string name() const override {
        return "iptables " + table_ + (family_ == Family::V4 ? " (IPv4)" : " (IPv6)");
    }

    /// A table the namespace does not have yet is not read (reading would create it); undo
    /// then leaves it as the kernel would create it: built-in chains, ACCEPT, no rules.
    bool snapshot(Diagnostics& diags) override {
        ipt::XtablesLock lock;
        if (!locked(lock, diags)) return false;
        snapshot_ = ipt::tableExists(family_, table_)
                        ? ipt::readTable(family_, table_, diags)
                        : ipt::encodeTable(Host{}, family_, table_, diags);
        return snapshot_.has_value();
    }

    bool apply(Diagnostics& diags) override {
        auto blob = ipt::encodeTable(*host_, family_, table_, diags);
        if (!blob) return false;
        ipt::XtablesLock lock;
        return locked(lock, diags) && ipt::replaceTable(*blob, diags);
    }

    bool undo(Diagnostics& diags) override {
        if (!snapshot_) return false;
        ipt::XtablesLock lock;
        return locked(lock, diags) && ipt::replaceTable(*snapshot_, diags);
    }

  private:
    bool locked(const ipt::XtablesLock& lock, Diagnostics& diags) const {
        if (lock.held()) return true;
        diags.report(Code::E301, {}, name() + ": " + lock.error());
        return false;
    }

    std::shared_ptr<const Host> host_;
    Family family_;
    std::string table_;
    std::optional<ipt::Blob> snapshot_;
};

}  // namespace

ApplySteps legacySteps(const ir::Host& host) {
    auto shared = std::make_shared<const Host>(host);
    ApplySteps steps;
    for (Family f : {Family::V4, Family::V6}) {
        for (const std::string& table : ipt::tablesToLoad(host, f))
            steps.push_back(std::make_unique<LegacyTableStep>(shared, f, table));
    }
    return steps;
}

}  // namespace policyc::backends
