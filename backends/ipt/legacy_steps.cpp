// SPDX-License-Identifier: GPL-2.0-or-later
// legacySteps(): one reversible step per (family, iptables table) the host fills or policyc's
// chains are left in, each replacing what policyc owns with one IPT_SO_SET_REPLACE of the table
// (everything else kept as it is: ipt_ownership.h). The steps share one xtables lock, taken
// by the first snapshot and held until the steps are destroyed: no iptables run can change a
// table between policyc's read, its replace and a rollback.

#include <algorithm>
#include <cstring>
#include <memory>

#include "backends/apply_step.h"
#include "backends/ipt/ipt_blob.h"
#include "backends/ipt/ipt_kernel.h"
#include "backends/ipt/ipt_ownership.h"
#include "backends/saved_state.h"
#include "backends/scratch_netns.h"

namespace policyc::backends {
namespace {

using namespace policyc::ir;

struct SharedLock {
    std::unique_ptr<ipt::XtablesLock> lock;
};

class LegacyTableStep : public ApplyStep {
  public:
    LegacyTableStep(std::shared_ptr<const Host> host, std::shared_ptr<SharedLock> lock,
                    Family family, std::string table)
        : host_(std::move(host)),
          lock_(std::move(lock)),
          family_(family),
          table_(std::move(table)) {}
    /// A step that installs `blob` itself (a saved state), not a host's encoding.
    LegacyTableStep(ipt::Blob blob, std::shared_ptr<SharedLock> lock)
        : lock_(std::move(lock)),
          family_(blob.family),
          table_(blob.table),
          given_(std::move(blob)) {}

    std::string name() const override {
        return "iptables " + table_ + (family_ == Family::V4 ? " (IPv4)" : " (IPv6)");
    }

    /// A table the namespace does not have yet is not read (reading would create it); undo
    /// then leaves it as the kernel would create it: built-in chains, ACCEPT, no rules.
    bool snapshot(Diagnostics& diags) override {
        if (!locked(diags)) return false;
        existed_ = ipt::tableExists(family_, table_);
        snapshot_ = existed_ ? ipt::readTable(family_, table_, diags)
                             : ipt::encodeTable(Host{}, family_, table_, diags);
        return snapshot_.has_value();
    }

    /// IPT_SO_SET_REPLACE has no validate-only mode, so the blob is loaded into a network
    /// namespace made for it in a child process, where the kernel checks it as it would here
    /// (hooks, targets, extensions, loops) and which vanishes with the child.
    bool check(Diagnostics& diags) override {
        auto blob = wanted(diags);
        if (!blob) return false;
        const ScratchResult r = inScratchNetns([&](std::string& why) {
            Diagnostics inChild;
            if (ipt::replaceTable(*blob, inChild)) return true;
            why = inChild.items().empty() ? "refused" : inChild.items().back().message;
            return false;
        });
        if (r.ok) return true;
        return checkFailed(diags, r.text.empty() ? "the check process failed" : r.text);
    }

    bool apply(Diagnostics& diags) override {
        auto blob = wanted(diags);
        if (!blob || !locked(diags) || !unchangedSinceSnapshot(diags)) return false;
        if (!replaceKeepingCounters(*snapshot_, *blob, diags)) return false;
        applied_ = std::move(blob);
        return true;
    }

    bool undo(Diagnostics& diags) override {
        return snapshot_ && applied_ && locked(diags) &&
               replaceKeepingCounters(*applied_, *snapshot_, diags);
    }

    nlohmann::json saved() const override {
        const ipt::Blob& b = *snapshot_;
        return {{"kind", "iptables"},         {"family", b.family == Family::V4 ? "ipv4" : "ipv6"},
                {"table", b.table},           {"validHooks", b.validHooks},
                {"hookEntry", b.hookEntry},   {"underflow", b.underflow},
                {"numEntries", b.numEntries}, {"entries", toHex(b.entries)}};
    }

  private:
    /// The host's chains over the live table: chains it does not declare stay as they are.
    std::optional<ipt::Blob> wanted(Diagnostics& diags) const {
        if (given_) return given_;
        if (!existed_) return ipt::encodeTable(*host_, family_, table_, diags);
        Diagnostics local;
        auto live = ipt::decodeTable(*snapshot_, local);
        if (!live) {
            diags.report(Code::E301, {},
                         name() +
                             " holds rules policyc cannot read, so it cannot keep the chains "
                             "it does not own: " +
                             (local.items().empty() ? std::string("unreadable")
                                                    : local.items().back().message));
            return std::nullopt;
        }
        return ipt::encodeTable(ipt::withForeignChains(*host_, family_, {*live}), family_, table_,
                                diags);
    }

    /// Replaces `from` (what the kernel holds) by `to`; the rules `to` keeps keep their counters.
    /// Counters are bookkeeping: a failure to carry them is reported but does not fail the step.
    static bool replaceKeepingCounters(const ipt::Blob& from, const ipt::Blob& to,
                                       Diagnostics& diags) {
        std::vector<ipt::EntryCounters> old;
        if (!ipt::replaceTable(to, diags, &old)) return false;
        const auto carried = ipt::carryCounters(from, old, to);
        const bool any = std::any_of(carried.begin(), carried.end(),
                                     [](const auto& c) { return c.packets || c.bytes; });
        Diagnostics local;
        if (any && !ipt::addCounters(to, carried, local))
            diags
                .report(Code::E301, {},
                        "the counters of unchanged rules were not kept: " +
                            local.items().back().message)
                .severity = Severity::Warning;
        return true;
    }

    bool checkFailed(Diagnostics& diags, const std::string& why) const {
        diags.report(Code::E301, {}, name() + ": the kernel would refuse it: " + why);
        return false;
    }

    bool locked(Diagnostics& diags) const {
        if (!lock_->lock) lock_->lock = std::make_unique<ipt::XtablesLock>();
        if (lock_->lock->held()) return true;
        diags.report(Code::E301, {}, name() + ": " + lock_->lock->error());
        return false;
    }

    /// A program that ignores the xtables lock may still have changed the table since it was
    /// read; replacing it then would drop that change silently, and undo would too.
    bool unchangedSinceSnapshot(Diagnostics& diags) const {
        if (!existed_ && !ipt::tableExists(family_, table_)) return true;
        Diagnostics local;
        auto now = existed_ ? ipt::readTable(family_, table_, local) : std::nullopt;
        if (now && ipt::sameRules(*now, *snapshot_)) return true;
        diags.report(Code::E301, {},
                     name() +
                         ": the table changed since policyc read it (another program wrote "
                         "it without the xtables lock); nothing was replaced");
        return false;
    }

    std::shared_ptr<const Host> host_;
    std::shared_ptr<SharedLock> lock_;
    Family family_;
    std::string table_;
    std::optional<ipt::Blob> given_;
    std::optional<ipt::Blob> snapshot_;
    std::optional<ipt::Blob> applied_;
    bool existed_ = false;
};

}  // namespace

ApplySteps legacySteps(const ir::Host& host) {
    return legacySteps(std::make_shared<const Host>(host));
}

ApplySteps legacySteps(std::shared_ptr<const ir::Host> host) {
    auto lock = std::make_shared<SharedLock>();
    ApplySteps steps;
    for (Family f : {Family::V4, Family::V6}) {
        for (const std::string& table : ipt::tablesToReplace(*host, f))
            steps.push_back(std::make_unique<LegacyTableStep>(host, lock, f, table));
    }
    return steps;
}

std::optional<ApplySteps> legacyRestoreSteps(const nlohmann::json& saved, std::string& error) {
    auto lock = std::make_shared<SharedLock>();
    ApplySteps steps;
    for (const auto& step : saved) {
        if (step.at("kind") != "iptables") continue;
        ipt::Blob b;
        b.family = step.at("family") == "ipv4" ? Family::V4 : Family::V6;
        b.table = step.at("table").get<std::string>();
        b.validHooks = step.at("validHooks").get<uint32_t>();
        b.hookEntry = step.at("hookEntry").get<std::array<uint32_t, ipt::kNumHooks>>();
        b.underflow = step.at("underflow").get<std::array<uint32_t, ipt::kNumHooks>>();
        b.numEntries = step.at("numEntries").get<uint32_t>();
        auto entries = fromHex(step.at("entries").get<std::string>());
        if (!entries) {
            error = "the saved iptables " + b.table + " table is not hex";
            return std::nullopt;
        }
        b.entries = std::move(*entries);
        steps.push_back(std::make_unique<LegacyTableStep>(std::move(b), lock));
    }
    return steps;
}

}  // namespace policyc::backends
