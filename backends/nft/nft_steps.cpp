// SPDX-License-Identifier: GPL-2.0-or-later
// nftSteps(): the host's nftables tables as one reversible step. Snapshot records, per family
// the host uses, whether table `policyc` existed and dumps it; apply replaces those tables in one
// transaction guarded by the ruleset generation; undo deletes what did not exist and re-adds the
// dumped tables in one transaction.

#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>

#include "backends/apply_step.h"
#include "backends/cgroup2.h"
#include "backends/nft/nft_batch.h"
#include "backends/nft/nft_linearize.h"
#include "backends/saved_state.h"
#include "backends/scratch_netns.h"
#include "backends/text/nft_text_vocab.h"

namespace policyc::backends {
namespace {

using namespace nft;

/// Expressions whose hook (and chain type) nf_tables checks only when it validates the whole
/// table: a refusal then is EOPNOTSUPP on the rule without an extended ACK offset.
bool hookRestricted(std::string_view name) {
    static const std::array<std::string_view, 6> kNames = {"socket", "tproxy", "reject",
                                                           "nat",    "masq",   "redir"};
    return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

/// The one expression of rule `o` the kernel's hook validation can refuse, if exactly one IR
/// element produced such expressions.
std::optional<size_t> soleHookRestricted(const NftObject& o) {
    std::optional<size_t> found;
    for (size_t i = 0; i < o.exprOrigins.size(); ++i) {
        if (!hookRestricted(expressionName(o, i))) continue;
        if (found && o.exprOrigins[*found] != o.exprOrigins[i]) return std::nullopt;
        if (!found) found = i;
    }
    return found;
}

class NftStep : public ApplyStep {
  public:
    explicit NftStep(const ir::Host& host) : host_(&host), span_(host.span) {}
    /// A step that installs `ruleset` itself (a saved state) in place of the `policyc` tables
    /// of its families.
    explicit NftStep(NftRuleset ruleset) : wanted_(std::move(ruleset)) {}
    std::string name() const override { return "nftables tables"; }

    bool snapshot(Diagnostics& diags) override {
        if (host_) wanted_ = linearize(*host_, cgroup2Mount().value_or("/sys/fs/cgroup"));
        if (!wanted_.errors.empty()) {
            for (const std::string& e : wanted_.errors)
                diags.report(Code::E301, span_, "nftables: " + e);
            return false;
        }
        if (!sock_.error().empty()) return fail(diags, span_, sock_.error());
        std::string error;
        old_ = NftRuleset{};
        if (!dumpOwnTables(sock_, wanted_.families, old_, error)) return fail(diags, span_, error);
        // Read last, so that anything changed after the dump makes apply fail.
        genid_ = generationId(sock_, error);
        if (!genid_) return fail(diags, span_, error);
        return true;
    }

    /// A batch without its END message makes the kernel check every message, but not the
    /// hooks and chain types of the expressions (nft --check accepts a `tproxy` in an output
    /// chain, for one): those it validates only on commit. So the batch is also committed in a
    /// network namespace made for it in a child process, which vanishes with the child.
    bool check(Diagnostics& diags) override {
        if (!send(diags, BatchMode::Check)) return false;
        BatchError error;
        if (commitInScratchNetns(error)) return true;
        report(diags, error);
        return false;
    }
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
        diags.report(Code::E301, span_,
                     "cannot restore the previous nftables tables: " + error.message + where);
        return false;
    }

    nlohmann::json saved() const override {
        nlohmann::json objects = nlohmann::json::array();
        for (const NftObject& o : old_.objects) {
            nlohmann::json j = {{"family", o.family}, {"msg", toHex(objectMessage(o))}};
            if (o.kind == NftObject::Kind::Set) {
                auto elements = setElements(o);
                // A set policyc's tables never make: nothing that could be restored exactly.
                if (!elements) return nullptr;
                nlohmann::json list = nlohmann::json::array();
                for (const auto& e : *elements) {
                    nlohmann::json el = {{"key", toHex(e.key)}};
                    if (!e.keyEnd.empty()) el["keyEnd"] = toHex(e.keyEnd);
                    if (e.flags) el["flags"] = *e.flags;
                    list.push_back(std::move(el));
                }
                j["elements"] = std::move(list);
            }
            objects.push_back(std::move(j));
        }
        return {{"kind", "nftables"}, {"families", wanted_.families}, {"objects", objects}};
    }

  private:
    bool send(Diagnostics& diags, BatchMode mode) {
        BatchError error;
        if (replaceTables(sock_, wanted_.families, wanted_, genid_, error, mode)) return true;
        report(diags, error);
        return false;
    }

    /// The child sends back "ERRNO OBJECT EXPRESSION" (-1: none), a line with the message and
    /// the kernel's text.
    bool commitInScratchNetns(BatchError& error) const {
        const ScratchResult r = inScratchNetns([&](std::string& text) {
            NftSocket sock;
            BatchError e;
            bool ok = false;
            if (!sock.error().empty())
                e.message = sock.error();
            else
                ok = replaceTables(sock, wanted_.families, wanted_, std::nullopt, e);
            auto index = [](const std::optional<size_t>& i) {
                return i ? static_cast<long long>(*i) : -1LL;
            };
            std::ostringstream out;
            out << e.errnum << ' ' << index(e.object) << ' ' << index(e.expression) << '\n'
                << e.message << '\n'
                << e.kernelMessage;
            if (!ok) text = out.str();
            return ok;
        });
        if (r.ok) return true;
        std::istringstream in(r.text);
        long long object = -1, expression = -1;
        if (!(in >> error.errnum >> object >> expression))
            return scratchFailed(error, r.text.empty() ? "the check process failed" : r.text);
        in.ignore(1);
        std::getline(in, error.message);
        std::getline(in, error.kernelMessage);
        if (object >= 0 && static_cast<size_t>(object) < wanted_.objects.size())
            error.object = static_cast<size_t>(object);
        if (expression >= 0) error.expression = static_cast<size_t>(expression);
        return false;
    }

    static bool scratchFailed(BatchError& error, const std::string& why) {
        error.message = "cannot check the batch in a scratch network namespace: " + why;
        return false;
    }

    void report(Diagnostics& diags, const BatchError& error) const {
        SourceSpan span = span_;
        std::ostringstream msg;
        msg << "the kernel refused the nftables update: " << error.message;
        if (!error.kernelMessage.empty()) msg << ": " << error.kernelMessage;
        if (error.object) {
            const NftObject& o = wanted_.objects[*error.object];
            span = o.span;
            if (o.kind == NftObject::Kind::Rule || o.kind == NftObject::Kind::Set)
                msg << " (chain " << o.chainName << ", rule " << o.ruleIndex + 1;
            else if (o.kind == NftObject::Kind::Chain)
                msg << " (chain " << o.chainName;
            // The extended ACK names the expression: point at the match or statement that
            // produced it.
            if (o.kind == NftObject::Kind::Rule && error.expression &&
                *error.expression < o.exprSpans.size()) {
                span = o.exprSpans[*error.expression];
                msg << ", its '" << expressionName(o, *error.expression) << "' expression";
            } else if (o.kind == NftObject::Kind::Rule && error.errnum == EOPNOTSUPP) {
                if (auto k = soleHookRestricted(o); k && *k < o.exprSpans.size()) {
                    span = o.exprSpans[*k];
                    msg << "; the kernel names no expression, and only its '"
                        << expressionName(o, *k)
                        << "' expression is limited to some hooks and chain types";
                }
            }
            if (o.kind != NftObject::Kind::Table) msg << ")";
        } else if (error.errnum == ERESTART) {
            msg << " (the ruleset changed since it was read; nothing was changed)";
        } else if (error.errnum == EPERM) {
            msg << " (table " << kTableName
                << " is owned by another program's netlink socket, nft's 'flags owner', or "
                   "policyc lacks CAP_NET_ADMIN here; nothing was changed)";
        }
        diags.report(Code::E301, span, msg.str());
    }

    bool fail(Diagnostics& diags, SourceSpan span, const std::string& message) {
        diags.report(Code::E301, span, "nftables: " + message);
        return false;
    }

    const ir::Host* host_ = nullptr;
    SourceSpan span_;
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

std::optional<ApplySteps> nftRestoreSteps(const nlohmann::json& saved, std::string& error) {
    ApplySteps steps;
    for (const auto& step : saved) {
        if (step.at("kind") != "nftables") continue;
        NftRuleset ruleset;
        ruleset.families = step.at("families").get<std::vector<uint16_t>>();
        for (const auto& o : step.at("objects")) {
            auto msg = fromHex(o.at("msg").get<std::string>());
            auto object =
                msg ? objectFromMessage(*msg, o.at("family").get<uint16_t>()) : std::nullopt;
            std::vector<SetElement> elements;
            for (const auto& e : o.value("elements", nlohmann::json::array())) {
                auto key = fromHex(e.at("key").get<std::string>());
                auto end = fromHex(e.value("keyEnd", std::string()));
                if (!key || !end)
                    object.reset();
                else
                    elements.push_back({*key, *end,
                                        e.contains("flags")
                                            ? std::optional<uint32_t>(e.at("flags").get<uint32_t>())
                                            : std::nullopt});
            }
            if (!object) {
                error = "a saved nftables object cannot be read back";
                return std::nullopt;
            }
            if (object->kind == NftObject::Kind::Set) addSetElements(*object, elements);
            ruleset.objects.push_back(std::move(*object));
        }
        steps.push_back(std::make_unique<NftStep>(std::move(ruleset)));
    }
    return steps;
}

}  // namespace policyc::backends
