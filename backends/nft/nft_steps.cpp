// SPDX-License-Identifier: GPL-2.0-or-later
// nftSteps(): the host's nftables tables as one reversible step. Snapshot records, per family
// the host uses, whether table `policyc` existed and dumps it; apply replaces those tables in one
// transaction guarded by the ruleset generation; undo deletes what did not exist and re-adds the
// dumped tables in one transaction.
#include <sstream>

#include "backends/apply_step.h"
#include "backends/cgroup2.h"
#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_linearize.h"

namespace policyc::backends {
namespace {

using namespace nft;

class NftStep : public ApplyStep {
  public:
    explicit NftStep(const ir::Host& host) : host_(host) {}
    std::string name() const override { return "nftables tables"; }

    bool snapshot(Diagnostics& diags) override {
        wanted_ = linearize(host_, cgroup2Mount().value_or("/sys/fs/cgroup"));
        if (!wanted_.errors.empty()) {
            for (const std::string& e : wanted_.errors)
                diags.report(Code::E301, host_.span, "nftables: " + e);
            return false;
        }
        if (!sock_.error().empty()) return fail(diags, host_.span, sock_.error());
        std::string error;
        old_ = NftRuleset{};
        for (uint16_t family : wanted_.families) {
            auto exists = tableExists(sock_, family, error);
            if (!exists) return fail(diags, host_.span, error);
            if (*exists && !dumpTable(sock_, family, old_, error))
                return fail(diags, host_.span, error);
        }
        // Read last, so that anything changed after the dump makes apply fail.
        genid_ = generationId(sock_, error);
        if (!genid_) return fail(diags, host_.span, error);
        return true;
    }

    bool check(Diagnostics& diags) override { return send(diags, BatchMode::Check); }
    bool apply(Diagnostics& diags) override { return send(diags, BatchMode::Commit); }

    bool undo(Diagnostics& diags) override {
        BatchError error;
        if (replaceTables(sock_, wanted_.families, old_, std::nullopt, error)) return true;
        std::string where;
        if (error.object) {
            const NftObject& o = old_.objects[*error.object];
            static const char* kKinds[] = {"table", "chain", "set", "rule"};
            where = std::string(" (") + kKinds[static_cast<int>(o.kind)] +
                    (o.chainName.empty() ? "" : " in chain " + o.chainName) + ")";
        }
        diags.report(Code::E301, host_.span,
                     "cannot restore the previous nftables tables: " + error.message + where);
        return false;
    }

  private:
    bool send(Diagnostics& diags, BatchMode mode) {
        BatchError error;
        if (replaceTables(sock_, wanted_.families, wanted_, genid_, error, mode)) return true;
        SourceSpan span = host_.span;
        std::ostringstream msg;
        msg << "the kernel refused the nftables update: " << error.message;
        if (error.object) {
            const NftObject& o = wanted_.objects[*error.object];
            span = o.span;
            if (o.kind == NftObject::Kind::Rule || o.kind == NftObject::Kind::Set)
                msg << " (chain " << o.chainName << ", rule " << o.ruleIndex + 1 << ")";
            else if (o.kind == NftObject::Kind::Chain)
                msg << " (chain " << o.chainName << ")";
        } else if (error.errnum == ERESTART) {
            msg << " (the ruleset changed since it was read; nothing was changed)";
        }
        diags.report(Code::E301, span, msg.str());
        return false;
    }

    bool fail(Diagnostics& diags, SourceSpan span, const std::string& message) {
        diags.report(Code::E301, span, "nftables: " + message);
        return false;
    }

    const ir::Host& host_;
    NftSocket sock_;
    NftRuleset wanted_;
    NftRuleset old_;
    std::optional<uint32_t> genid_;
};

}  // namespace

ApplySteps nftSteps(const ir::Host& host) {
    ApplySteps steps;
    if (!host.tables.empty()) steps.push_back(std::make_unique<NftStep>(host));
    return steps;
}

}  // namespace policyc::backends
