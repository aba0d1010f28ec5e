// SPDX-License-Identifier: GPL-2.0-or-later
// `policyc diff` and the review half of `apply --dry-run`: the live state of what apply would
// replace, read by policyc's own decoders, against the host's compilation, both printed by the
// same renderers so that only real differences remain.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc {

/// One thing apply replaces, as text: the live state and the policy's.
struct DiffSection {
    std::string title;  // "nftables (table policyc)", "iptables (IPv4)", "routing (IPv4)" ...
    std::string live;
    std::string wanted;
    /// Objects policyc does not own that share a hook with its own, one line each: shown as
    /// context, never counted as drift.
    std::vector<std::string> context;
};

/// Reads the current network namespace for every part of `host` that apply with `backend`
/// ("legacy" or "nft") would replace. Parts that cannot be read are E301 diagnostics.
std::vector<DiffSection> diffSections(const ir::Host& host, std::string_view backend,
                                      Diagnostics& diags);

/// A unified diff (`--- live` / `+++ policy`, 3 lines of context) of one section; empty when
/// the live state equals the policy's.
std::string unifiedDiff(const DiffSection& section);

/// Prints every section that differs, and its context lines; returns how many differ.
size_t printDiff(const std::vector<DiffSection>& sections, std::ostream& out);

}  // namespace policyc
