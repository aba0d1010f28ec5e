// SPDX-License-Identifier: GPL-2.0-or-later
// One row per xtables match and target policyc emits: the name, the revision iptables 1.8.9
// uses, the payload size and how the payload encodes from (and decodes to) IR values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir.h"

namespace policyc::backends::ipt {

/// A match or target payload: the bytes after the 32-byte xt header, XT_ALIGNed.
using Bytes = std::vector<uint8_t>;

/// What encoders and decoders need besides the payload; `error` says why one failed.
struct XtContext {
    ir::Family family = ir::Family::V4;
    std::string error;
    bool overLimit = false;  // the error is a kernel size limit (a name or text too long)
};

struct MatchRow {
    std::string_view name;
    uint8_t revision;
    size_t size;
    /// The IR matches one module of an entry carries (e.g. both port conditions of `-m tcp`).
    Bytes (*encode)(XtContext& ctx, const std::vector<ir::Match>& matches);
    /// Appends the matches the payload says; false (with ctx.error) when it cannot.
    bool (*decode)(XtContext& ctx, const uint8_t* data, std::vector<ir::Match>& out);
};

struct TargetRow {
    std::string_view name;
    uint8_t revision;
    std::optional<ir::Family> family;  // set when each family has its own layout
    size_t size;
    Bytes (*encode)(XtContext& ctx, const ir::Target& target);
    std::optional<ir::Target> (*decode)(XtContext& ctx, const uint8_t* data);
};

/// The row for module `name` (revision: the one policyc emits; nullopt = any).
const MatchRow* findMatchRow(std::string_view name, std::optional<uint8_t> revision = {});
const TargetRow* findTargetRow(std::string_view name, ir::Family family,
                               std::optional<uint8_t> revision = {});
/// The extension name of a non-standard target ("REJECT", "SNAT" ...); "" for verdicts and
/// jumps, which the blob layout encodes itself.
std::string_view targetName(const ir::Target& target);

/// The module payload of a comment (kept out of the IR's matches).
Bytes encodeComment(XtContext& ctx, const std::string& comment);
std::string decodeComment(const uint8_t* data);

}  // namespace policyc::backends::ipt
