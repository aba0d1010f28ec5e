// SPDX-License-Identifier: GPL-2.0-or-later
// The thin syntax tree between `parse` and `lower`: what the user wrote, with spans, names not
// yet bound and values not yet typed. Nothing after `lower` sees it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/source.h"

namespace policyc::ast {

/// A value as written. The resolver decides what it means for the field it stands in.
struct Value {
    enum class Kind : uint8_t {
        Atom,      // one token
        Range,     // parts: [first, last]            a-b
        Slash,     // parts: [left, right]            10.0.0.0/24, 0x1/0xff, 5/minute
        AddrPort,  // parts: [addr (Atom|Range), port (Atom|Range)]   10.0.0.3:1000
        PortOnly,  // parts: [port (Atom|Range)]      :8000
        Set,       // parts: the elements            { a, b }
    } kind = Kind::Atom;
    enum class AtomKind : uint8_t { Number, Ipv4, Addr6, String, Var, Name } atom = AtomKind::Name;
    std::string text;        // Atom: the token text, strings unquoted and unescaped
    bool bracketed = false;  // AddrPort written as [v6]:port
    std::vector<Value> parts;
    SourceSpan span;
};

/// One match, statement or property: a keyword path, an optional negation and its arguments.
/// `key` examples: "ip saddr", "tcp dport", "ct state", "mark set", "tproxy", "kind", "fwmark".
struct Clause {
    std::string key;
    bool negated = false;
    std::vector<Value> args;
    /// Named sub-arguments: ("with", v), ("prefix", v), ("mark", v), ("family", "ip6") ...
    std::vector<std::pair<std::string, Value>> options;
    SourceSpan span;

    const Value* option(std::string_view name) const {
        for (const auto& [k, v] : options)
            if (k == name) return &v;
        return nullptr;
    }
};

struct Annotation {
    std::string code;
    std::string reason;
    SourceSpan span;
};

struct Rule {
    std::vector<Clause> matches;
    Clause statement;
    std::optional<std::string> comment;
    /// When the comment stands among the matches: how many match clauses come before it.
    std::optional<size_t> commentAt;
    std::vector<Annotation> annotations;
    SourceSpan span;
};

struct Chain {
    std::string name;
    SourceSpan nameSpan;
    std::optional<std::string> policy;
    SourceSpan policySpan;
    std::vector<Rule> rules;
    SourceSpan span;
};

struct Table {
    std::optional<std::string> family;  // "ip", "ip6", "inet"; absent = inet
    std::string name;
    SourceSpan nameSpan;
    std::vector<Chain> chains;
    SourceSpan span;
};

/// A declaration inside a host (or at file level). `kind` is the leading keyword:
/// define, include, interface, tunnel, app, tproxy, masquerade, forward, forwarding, rp_filter,
/// table, rule, route, sysctl.
struct Item {
    std::string kind;
    std::string name;  // define/interface/tunnel/app name, sysctl key, forwarding/rp_filter word
    SourceSpan nameSpan;
    std::vector<Value> args;     // main arguments (see lower.cpp for each kind)
    std::vector<Clause> props;   // properties, selectors, options
    std::optional<Table> table;  // kind == "table"
    SourceSpan span;
};

struct HostDecl {
    std::string name;
    SourceSpan nameSpan;
    bool implicit = false;  // items written outside any `host` block
    std::vector<Item> items;
    SourceSpan span;
};

struct File {
    std::vector<Item> globals;  // defines and includes outside hosts, in order
    std::vector<HostDecl> hosts;
};

}  // namespace policyc::ast
