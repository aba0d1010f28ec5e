// SPDX-License-Identifier: GPL-2.0-or-later
// Types the generic values of the AST for the field they stand in, with a located error when
// they do not fit (wrong kind, wrong family, out of range). Expands `$name` definitions.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/ir.h"

namespace policyc {

/// The definitions visible in one host: globals first, the host's own shadowing them.
using Definitions = std::map<std::string, const ast::Item*, std::less<>>;

/// A SNAT/DNAT/TPROXY destination as written: address or range, and/or port or port range.
struct NatSpec {
    std::optional<ir::IpAddr> first;
    std::optional<ir::IpAddr> last;
    std::optional<ir::NumRange> ports;
};

class ValueReader {
  public:
    ValueReader(const Definitions& defs, Diagnostics& diags) : defs_(defs), diags_(diags) {}

    /// Every element of a value list with sets and definitions expanded, in order.
    std::vector<const ast::Value*> flatten(const std::vector<ast::Value>& values);
    /// One value with a definition expanded; an error when it names several values.
    const ast::Value* single(const ast::Value& v, std::string_view what);

    std::optional<uint64_t> number(const ast::Value& v, uint64_t max, std::string_view what);
    std::optional<ir::NumRange> numRange(const ast::Value& v, uint32_t max, std::string_view what);
    std::optional<std::vector<ir::NumRange>> ports(const std::vector<ast::Value>& values);
    std::optional<std::string> word(const ast::Value& v, std::string_view what);
    std::optional<ir::IpAddr> address(const ast::Value& v, std::optional<ir::Family> want,
                                      std::string_view what);
    std::optional<ir::Prefix> prefix(const ast::Value& v, std::optional<ir::Family> want,
                                     std::string_view what);
    std::optional<ir::AddrItem> addrItem(const ast::Value& v, std::optional<ir::Family> want);
    std::optional<ir::MarkMask> mark(const ast::Value& v, std::string_view what);
    /// uid/gid, a range of them, or a user/group name looked up on the compiling machine.
    std::optional<ir::NumRange> ownerIds(const ast::Value& v, bool group);
    std::optional<NatSpec> natSpec(const ast::Value& v, std::optional<ir::Family> want);
    std::optional<uint8_t> protocol(const ast::Value& v);
    std::optional<uint32_t> routeTable(const ast::Value& v);

    /// Whether `v` is, or names through `define`, a braced set (`{ 22 }`). For a value already
    /// read without error (an undefined name would be reported again).
    bool isSet(const ast::Value& v);

    Diagnostics& diags() { return diags_; }

  private:
    const ast::Value* resolve(const ast::Value& v, int depth = 0);
    void flattenInto(const ast::Value& v, std::vector<const ast::Value*>& out, int depth);
    void wrongKind(const ast::Value& v, std::string_view expected);

    const Definitions& defs_;
    Diagnostics& diags_;
    size_t valuesExpanded_ = 0;  // by flatten(), against InputLimits::maxValuesPerHost
    bool valuesOverLimit_ = false;
    bool flattenFailed_ = false;  // an error in the value flatten() is expanding; rest skipped
    std::set<std::string_view> expanded_;  // definitions one flatten() has expanded in full
};

/// How a value is spelled in messages: the token text, or a short description for composites.
std::string describe(const ast::Value& v);

}  // namespace policyc
