// SPDX-License-Identifier: GPL-2.0-or-later
// Parses .pol text into the thin AST: with the hand-written fast path (parse_fast.cpp) when it
// accepts the input, else with the generated ANTLR parser, which reports every syntax error.
// ANTLR runs in the fast SLL prediction mode first and only re-runs in full LL mode when SLL
// fails (the usual ANTLR two-stage strategy).
#include "compiler/parse.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "PolicyLexer.h"
#include "PolicyParser.h"
#include "antlr4-runtime.h"
#include "compiler/ast_build.h"
#include "compiler/compile.h"
#include "compiler/parse_fast.h"

namespace policyc {
namespace {

using antlr4::ParserRuleContext;
using antlr4::Token;
using grammar::PolicyLexer;
using grammar::PolicyParser;

SourceSpan spanOf(uint32_t file, const Token* start, const Token* stop) {
    SourceSpan s;
    s.file = file;
    if (!start) return s;
    s.line = static_cast<uint32_t>(start->getLine());
    s.column = static_cast<uint32_t>(start->getCharPositionInLine()) + 1;
    const Token* end = (stop && stop->getTokenIndex() >= start->getTokenIndex()) ? stop : start;
    s.endLine = static_cast<uint32_t>(end->getLine());
    const std::string text = end->getText();
    size_t lastNl = text.rfind('\n');
    s.endColumn =
        lastNl == std::string::npos
            ? static_cast<uint32_t>(end->getCharPositionInLine() + std::max<size_t>(text.size(), 1))
            : static_cast<uint32_t>(text.size() - lastNl - 1);
    return s;
}

/// Collects syntax errors as located diagnostics, with shorter messages than ANTLR's when the
/// expected-token set is the whole keyword list.
class ErrorCollector : public antlr4::BaseErrorListener {
  public:
    ErrorCollector(uint32_t file, Diagnostics& diags) : file_(file), diags_(diags) {}

    void syntaxError(antlr4::Recognizer*, Token* offending, size_t line, size_t column,
                     const std::string& msg, std::exception_ptr) override {
        ++count;
        SourceSpan span{file_, static_cast<uint32_t>(line), static_cast<uint32_t>(column) + 1,
                        static_cast<uint32_t>(line), static_cast<uint32_t>(column) + 1};
        std::string text = msg;
        if (offending) {
            span = spanOf(file_, offending, offending);
            const std::string tok = offending->getType() == Token::EOF
                                        ? "end of file"
                                        : "'" + offending->getText() + "'";
            const size_t expecting = msg.find("expecting {");
            if (expecting != std::string::npos &&
                std::count(msg.begin() + static_cast<long>(expecting), msg.end(), ',') > 6) {
                text = "unexpected " + tok;
            }
        }
        diags_.report(Code::E001, span, text);
    }

    int count = 0;

  private:
    uint32_t file_;
    Diagnostics& diags_;
};

std::string hexByte(unsigned char b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return {kDigits[b >> 4], kDigits[b & 0xf]};
}

/// The ANTLR runtime throws on malformed UTF-8: report where the first bad byte is instead.
/// Strict (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(uint32_t fileId, std::string_view text, Diagnostics& diags) {
    uint32_t line = 1, column = 1;
    for (size_t i = 0; i < text.size(); ++column) {
        const auto b = static_cast<unsigned char>(text[i]);
        const size_t n = b < 0x80           ? 1
                         : (b >> 5) == 0x6  ? 2
                         : (b >> 4) == 0xe  ? 3
                         : (b >> 3) == 0x1e ? 4
                                            : 0;
        bool ok = n != 0 && i + n <= text.size();
        uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
        for (size_t k = 1; ok && k < n; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            ok = (c & 0xc0) == 0x80;
            cp = (cp << 6) | (c & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        ok = ok && cp >= kMin[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
        if (!ok) {
            diags.report(Code::E002, SourceSpan{fileId, line, column, line, column},
                         "not UTF-8 text: byte 0x" + hexByte(b) + " is not a valid sequence");
            return false;
        }
        if (b == '\n') {
            ++line;
            column = 0;
        }
        i += n;
    }
    return true;
}

/// The generated parser recurses once per `{`, so deep nesting would exhaust the stack before
/// any syntax error: refuse it from the tokens alone (E205 at the first brace too deep).
/// The token type the grammar gives a literal such as '{'.
size_t literalType(const antlr4::dfa::Vocabulary& vocabulary, std::string_view literal) {
    for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type)
        if (vocabulary.getLiteralName(type) == literal) return type;
    return Token::INVALID_TYPE;
}

bool nestingWithinLimit(uint32_t fileId, antlr4::CommonTokenStream& tokens,
                        const antlr4::dfa::Vocabulary& vocabulary, Diagnostics& diags) {
    // By token type, not text: this pass must cost nothing on a large policy.
    static const size_t kOpen = literalType(vocabulary, "'{'");
    static const size_t kClose = literalType(vocabulary, "'}'");
    tokens.fill();
    int depth = 0;
    for (const Token* t : tokens.getTokens()) {
        if (t->getType() == kClose) depth = std::max(depth - 1, 0);
        if (t->getType() != kOpen || ++depth <= InputLimits{}.maxNesting) continue;
        diags.report(Code::E205, spanOf(fileId, t, t),
                     "blocks and sets nest deeper than " +
                         std::to_string(InputLimits{}.maxNesting) + " levels");
        return false;
    }
    return true;
}

using astbuild::unquote;

class AstBuilder {
  public:
    explicit AstBuilder(uint32_t file) : file_(file) {}

    ast::File build(PolicyParser::FileContext* ctx, std::string_view implicitHostName) {
        ast::File out;
        ast::HostDecl implicit;
        implicit.name = std::string(implicitHostName);
        implicit.implicit = true;
        for (auto* top : ctx->topItem()) {
            if (auto* h = top->hostDecl()) {
                out.hosts.push_back(host(h));
            } else if (auto* item = top->hostItem()) {
                auto built = hostItem(item);
                if (!built) continue;
                if (built->kind == "define" || built->kind == "include")
                    out.globals.push_back(std::move(*built));
                else
                    implicit.items.push_back(std::move(*built));
            }
        }
        if (!implicit.items.empty()) {
            implicit.span = implicit.items.front().span;
            out.hosts.insert(out.hosts.begin(), std::move(implicit));
        }
        return out;
    }

  private:
    SourceSpan span(ParserRuleContext* ctx) const {
        return spanOf(file_, ctx->getStart(), ctx->getStop());
    }
    SourceSpan span(antlr4::tree::TerminalNode* t) const {
        return spanOf(file_, t->getSymbol(), t->getSymbol());
    }

    ast::HostDecl host(PolicyParser::HostDeclContext* ctx) {
        ast::HostDecl h;
        h.name = ctx->name()->getText();
        h.nameSpan = span(ctx->name());
        h.span = span(ctx);
        for (auto* item : ctx->hostItem())
            if (auto built = hostItem(item)) h.items.push_back(std::move(*built));
        return h;
    }

    ast::Value atom(PolicyParser::AtomContext* ctx) {
        ast::Value v;
        v.span = span(ctx);
        v.text = ctx->getText();
        if (ctx->NUMBER())
            v.atom = ast::Value::AtomKind::Number;
        else if (ctx->IPV4())
            v.atom = ast::Value::AtomKind::Ipv4;
        else if (ctx->ADDR6())
            v.atom = ast::Value::AtomKind::Addr6;
        else if (ctx->VAR())
            v.atom = ast::Value::AtomKind::Var, v.text = v.text.substr(1);
        else if (ctx->STRING())
            v.atom = ast::Value::AtomKind::String, v.text = unquote(v.text);
        else
            v.atom = ast::Value::AtomKind::Name;
        return v;
    }

    ast::Value nameValue(PolicyParser::NameContext* ctx) {
        ast::Value v;
        v.span = span(ctx);
        v.text = ctx->getText();
        return v;
    }

    ast::Value stringValue(antlr4::tree::TerminalNode* t) {
        ast::Value v;
        v.span = span(t);
        v.atom = ast::Value::AtomKind::String;
        v.text = unquote(t->getText());
        return v;
    }

    static ast::Value composite(ast::Value::Kind kind, std::vector<ast::Value> parts,
                                SourceSpan s) {
        ast::Value v;
        v.kind = kind;
        v.parts = std::move(parts);
        v.span = s;
        return v;
    }

    /// `a` or `a-b` from a run of atoms separated by '-'.
    ast::Value rangeOf(std::vector<ast::Value> atoms) {
        if (atoms.size() == 1) return std::move(atoms[0]);
        SourceSpan s = atoms.front().span;
        s.endLine = atoms.back().span.endLine;
        s.endColumn = atoms.back().span.endColumn;
        return composite(ast::Value::Kind::Range, std::move(atoms), s);
    }

    ast::Value value(PolicyParser::ValueContext* ctx) {
        const SourceSpan s = span(ctx);
        if (auto* set = dynamic_cast<PolicyParser::SetValueContext*>(ctx))
            return composite(ast::Value::Kind::Set, valueList(set->valueList()), s);
        if (auto* slash = dynamic_cast<PolicyParser::SlashValueContext*>(ctx))
            return composite(ast::Value::Kind::Slash, {atom(slash->atom(0)), atom(slash->atom(1))},
                             s);
        if (auto* port = dynamic_cast<PolicyParser::PortOnlyValueContext*>(ctx)) {
            std::vector<ast::Value> atoms;
            for (auto* a : port->atom()) atoms.push_back(atom(a));
            return composite(ast::Value::Kind::PortOnly, {rangeOf(std::move(atoms))}, s);
        }
        if (auto* br = dynamic_cast<PolicyParser::BracketPortValueContext*>(ctx)) {
            std::vector<ast::Value> ports;
            for (size_t i = 1; i < br->atom().size(); ++i) ports.push_back(atom(br->atom(i)));
            ast::Value v = composite(ast::Value::Kind::AddrPort,
                                     {atom(br->atom(0)), rangeOf(std::move(ports))}, s);
            v.bracketed = true;
            return v;
        }
        // plainValue: atom ('-' atom)? (':' atom ('-' atom)?)?
        std::vector<ast::Value> before, after;
        bool sawColon = false;
        for (auto* child : ctx->children) {
            if (auto* a = dynamic_cast<PolicyParser::AtomContext*>(child))
                (sawColon ? after : before).push_back(atom(a));
            else if (child->getText() == ":")
                sawColon = true;
        }
        ast::Value first = rangeOf(std::move(before));
        if (!sawColon) return first;
        return composite(ast::Value::Kind::AddrPort, {std::move(first), rangeOf(std::move(after))},
                         s);
    }

    std::vector<ast::Value> valueList(PolicyParser::ValueListContext* ctx) {
        std::vector<ast::Value> out;
        if (!ctx) return out;
        for (auto* v : ctx->value()) out.push_back(value(v));
        return out;
    }

    /// A clause from a context's children in order (see astbuild::ClauseBuilder).
    ast::Clause clause(ParserRuleContext* ctx) {
        astbuild::ClauseBuilder c;
        for (auto* child : ctx->children) {
            if (auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child)) {
                if (t->getSymbol()->getType() == PolicyLexer::STRING)
                    c.value(stringValue(t));
                else
                    c.word(t->getText());
            } else if (dynamic_cast<PolicyParser::NegationContext*>(child)) {
                c.negate();
            } else if (auto* v = dynamic_cast<PolicyParser::ValueContext*>(child)) {
                c.value(value(v));
            } else if (auto* vl = dynamic_cast<PolicyParser::ValueListContext*>(child)) {
                for (auto& v : valueList(vl)) c.value(std::move(v));
            } else if (auto* n = dynamic_cast<PolicyParser::NameContext*>(child)) {
                c.value(nameValue(n));
            } else if (auto* fl = dynamic_cast<PolicyParser::TcpFlagListContext*>(child)) {
                std::vector<ast::Value> names;
                for (auto* name : fl->name()) names.push_back(nameValue(name));
                c.value(composite(ast::Value::Kind::Set, std::move(names), span(fl)));
            } else if (auto* sub = dynamic_cast<ParserRuleContext*>(child)) {
                // keyword-only sub-rules: addrFamily, l4proto, family, routeType
                c.word(sub->getText());
            }
        }
        return std::move(c).finish(span(ctx));
    }

    ast::Rule rule(PolicyParser::RuleDeclContext* ctx) {
        ast::Rule r;
        r.span = span(ctx);
        for (auto* a : ctx->annotation()) {
            ast::Annotation ann;
            ann.code = a->name()->getText();
            if (a->STRING()) ann.reason = unquote(a->STRING()->getText());
            ann.span = span(a);
            r.annotations.push_back(std::move(ann));
        }
        for (auto* m : ctx->matchExpr()) {
            if (auto* cm = dynamic_cast<PolicyParser::CommentMatchContext*>(m)) {
                r.comment = unquote(cm->comment()->STRING()->getText());
                r.commentAt = r.matches.size();
                continue;
            }
            r.matches.push_back(clause(m));
        }
        if (ctx->statement()) r.statement = clause(ctx->statement());
        if (ctx->comment()) {
            r.comment = unquote(ctx->comment()->STRING()->getText());
            r.commentAt.reset();
        }
        return r;
    }

    ast::Table table(PolicyParser::TableDeclContext* ctx) {
        ast::Table t;
        t.span = span(ctx);
        if (ctx->family()) t.family = ctx->family()->getText();
        t.name = ctx->name()->getText();
        t.nameSpan = span(ctx->name());
        for (auto* c : ctx->chainDecl()) {
            if (!c->name(0)) continue;  // a stray ';'
            ast::Chain chain;
            chain.span = span(c);
            chain.name = c->name(0)->getText();
            chain.nameSpan = span(c->name(0));
            if (c->name(1)) {
                chain.policy = c->name(1)->getText();
                chain.policySpan = span(c->name(1));
            }
            for (auto* r : c->ruleDecl()) chain.rules.push_back(rule(r));
            t.chains.push_back(std::move(chain));
        }
        return t;
    }

    std::optional<ast::Item> hostItem(PolicyParser::HostItemContext* ctx) {
        ast::Item item;
        item.span = span(ctx);
        auto named = [&](PolicyParser::NameContext* n) {
            item.name = n->getText();
            item.nameSpan = span(n);
        };
        if (auto* d = ctx->defineDecl()) {
            item.kind = "define";
            named(d->name());
            item.args = valueList(d->valueList());
        } else if (auto* inc = ctx->includeDecl()) {
            item.kind = "include";
            item.args.push_back(stringValue(inc->STRING()));
        } else if (auto* i = ctx->interfaceDecl()) {
            item.kind = "interface";
            named(i->name());
            for (auto* p : i->linkProp()) item.props.push_back(clause(p));
        } else if (auto* t = ctx->tunnelDecl()) {
            item.kind = "tunnel";
            named(t->name());
            for (auto* p : t->linkProp()) item.props.push_back(clause(p));
        } else if (auto* a = ctx->appDecl()) {
            item.kind = "app";
            named(a->name());
            for (auto* p : a->appProp()) item.props.push_back(clause(p));
        } else if (auto* tp = ctx->tproxyDecl()) {
            // args: [protocols..., ports...] split by the props "proto"/"port"
            item.kind = "tproxy";
            item.props.push_back(ast::Clause{
                "proto", false, valueList(tp->valueList(0)), {}, span(tp->valueList(0))});
            item.props.push_back(ast::Clause{
                "port", false, valueList(tp->valueList(1)), {}, span(tp->valueList(1))});
            item.props.push_back(
                ast::Clause{"in", false, {nameValue(tp->name())}, {}, span(tp->name())});
            item.props.push_back(
                ast::Clause{"to", false, {value(tp->value())}, {}, span(tp->value())});
            for (auto* o : tp->intentOption()) item.props.push_back(clause(o));
        } else if (auto* m = ctx->masqueradeDecl()) {
            item.kind = "masquerade";
            if (m->valueList())
                item.props.push_back(ast::Clause{
                    "from", false, valueList(m->valueList()), {}, span(m->valueList())});
            if (m->name())
                item.props.push_back(
                    ast::Clause{"out", false, {nameValue(m->name())}, {}, span(m->name())});
        } else if (auto* f = ctx->forwardDecl()) {
            item.kind = "forward";
            item.props.push_back(
                ast::Clause{"proto", false, valueList(f->valueList(0)), {}, span(f->valueList(0))});
            item.props.push_back(
                ast::Clause{"port", false, valueList(f->valueList(1)), {}, span(f->valueList(1))});
            if (f->name())
                item.props.push_back(
                    ast::Clause{"in", false, {nameValue(f->name())}, {}, span(f->name())});
            item.props.push_back(
                ast::Clause{"to", false, {value(f->value())}, {}, span(f->value())});
        } else if (auto* fw = ctx->forwardingDecl()) {
            item.kind = "forwarding";
            named(fw->name());
        } else if (auto* rp = ctx->rpFilterDecl()) {
            item.kind = "rp_filter";
            named(rp->name(0));
            item.args.push_back(nameValue(rp->name(1)));
        } else if (auto* tb = ctx->tableDecl()) {
            item.kind = "table";
            item.table = table(tb);
            item.name = item.table->name;
            item.nameSpan = item.table->nameSpan;
        } else if (auto* r = ctx->ipRuleDecl()) {
            item.kind = "rule";
            if (r->addrFamily()) item.name = r->addrFamily()->getText();
            for (auto* child : r->children) {
                auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child);
                if (t && t->getText() == "not")
                    item.props.push_back(ast::Clause{"not", false, {}, {}, span(t)});
            }
            if (r->value())
                item.props.push_back(
                    ast::Clause{"priority", false, {value(r->value())}, {}, span(r->value())});
            for (auto* sel : r->ruleSelector()) item.props.push_back(clause(sel));
            ast::Clause action = clause(r->ruleAction());
            if (action.key == "table") action.key = "lookup";
            item.props.push_back(std::move(action));
        } else if (auto* rt = ctx->routeDecl()) {
            item.kind = "route";
            if (rt->addrFamily()) item.name = rt->addrFamily()->getText();
            if (rt->routeType())
                item.props.push_back(ast::Clause{"type", false, {}, {}, span(rt->routeType())}),
                    item.props.back().key = "type " + rt->routeType()->getText();
            item.args.push_back(value(rt->value()));
            for (auto* o : rt->routeOption()) item.props.push_back(clause(o));
        } else if (auto* s = ctx->sysctlDecl()) {
            item.kind = "sysctl";
            named(s->name());
            item.args.push_back(value(s->value()));
        } else {
            return std::nullopt;  // ';'
        }
        return item;
    }

    uint32_t file_;
};

/// E002 for what is not .pol text at all: NUL bytes or malformed UTF-8.
bool isPolText(uint32_t fileId, const SourceManager::File& file, Diagnostics& diags) {
    if (file.text.find('\0') != std::string::npos) {
        diags.report(Code::E002, SourceSpan{fileId, 1, 1, 1, 1},
                     "'" + file.path + "' is a binary file, not .pol text");
        return false;
    }
    return validUtf8(fileId, file.text, diags);
}

std::optional<ast::File> parseWithAntlr(uint32_t fileId, const SourceManager::File& file,
                                        Diagnostics& diags) {
    antlr4::ANTLRInputStream input;
    try {
        input.load(file.text);
    } catch (const std::range_error&) {  // the runtime's converter refused what validUtf8 let by
        diags.report(Code::E002, SourceSpan{fileId, 1, 1, 1, 1},
                     "'" + file.path + "' is not UTF-8 text");
        return std::nullopt;
    }
    PolicyLexer lexer(&input);
    antlr4::CommonTokenStream tokens(&lexer);
    PolicyParser parser(&tokens);
    ErrorCollector errors(fileId, diags);
    lexer.removeErrorListeners();
    parser.removeErrorListeners();
    if (!nestingWithinLimit(fileId, tokens, parser.getVocabulary(), diags)) return std::nullopt;

    // Stage 1: SLL with bail-out. Most inputs parse here at full speed.
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    PolicyParser::FileContext* tree = nullptr;
    try {
        tree = parser.file();
    } catch (const antlr4::ParseCancellationException&) {
        tree = nullptr;
    }
    // Stage 2: full LL with error recovery, which also reports every syntax error.
    if (!tree) {
        tokens.seek(0);
        parser.reset();
        parser.addErrorListener(&errors);
        parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
        parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
            antlr4::atn::PredictionMode::LL);
        tree = parser.file();
        if (errors.count > 0) return std::nullopt;
    }
    AstBuilder builder(fileId);
    return builder.build(tree, astbuild::stemOf(file.path));
}

}  // namespace

std::optional<ast::File> parseFile(uint32_t fileId, const SourceManager& sources,
                                   Diagnostics& diags) {
    const auto& file = sources.file(fileId);
    if (!isPolText(fileId, file, diags)) return std::nullopt;
    // Valid input takes the fast path; whatever it declines (syntax errors above all) goes to
    // ANTLR, which reports every error with its recovery.
    if (auto fast = parseFast(fileId, file.text, astbuild::stemOf(file.path))) return fast;
    return parseWithAntlr(fileId, file, diags);
}

std::optional<ast::File> parseFileWithAntlr(uint32_t fileId, const SourceManager& sources,
                                            Diagnostics& diags) {
    const auto& file = sources.file(fileId);
    if (!isPolText(fileId, file, diags)) return std::nullopt;
    return parseWithAntlr(fileId, file, diags);
}

}  // namespace policyc
