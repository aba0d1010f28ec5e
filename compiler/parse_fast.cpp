// SPDX-License-Identifier: GPL-2.0-or-later
// A hand-written lexer and recursive-descent parser for grammar/Policy.g4, the fast path of
// parseFile. ANTLR's generated parser spends ~50 us per rule lexing, predicting, building and
// freeing its parse tree; this one reads tokens straight into the AST.
//
// Why its AST is ANTLR's: the lexer takes, like ANTLR's, the longest match and on a tie the
// earliest token rule (literals first). The parser decides each choice of the grammar (an
// alternative, an optional part, another loop iteration) for the first alternative in grammar
// order that local lookahead does not rule out; if that turns out wrong, the parse fails and
// ANTLR runs instead. So a parse that succeeds took, at every choice, the first alternative
// that can lead to a valid parse: on input with one reading that is the reading, and where the
// grammar is ambiguous (`accept comment "x" drop`, `tproxy to :1 mark 1 accept`, `iif not
// accept`) it is the first alternative, which is what ANTLR's prediction picks too (greedy
// optional parts and loops). Where two readings stay possible past a few tokens of lookahead
// (`table` after a route or a tproxy intent: an option, or the next table?) it gives up.
// tests/unit/parse_fast_test.cpp compares both parsers on every .pol file of the repository.
#include "compiler/parse_fast.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "compiler/ast_build.h"
#include "compiler/compile.h"

namespace policyc {
namespace {

// The grammar's literal tokens; all but punctuation, '@allow', '!=', 'set', 'save' and
// 'restore' are also names (rule `name`).
#define POLICYC_KEYWORDS(X)                                                                   \
    X(Host, "host") X(LBrace, "{") X(RBrace, "}") X(Semi, ";") X(Define, "define") X(Eq, "=") \
    X(Include, "include") X(Interface, "interface") X(Tunnel, "tunnel") X(Kind, "kind")       \
    X(Address, "address") X(Peer, "peer") X(Local, "local") X(Remote, "remote")               \
    X(Port, "port") X(Fwmark, "fwmark") X(App, "app") X(User, "user") X(Group, "group")       \
    X(Cgroup, "cgroup") X(Via, "via") X(Mark, "mark") X(Table, "table")                       \
    X(Priority, "priority") X(Ipv6, "ipv6") X(Tproxy, "tproxy") X(In, "in") X(To, "to")       \
    X(Masquerade, "masquerade") X(From, "from") X(Out, "out") X(Forward, "forward")           \
    X(Forwarding, "forwarding") X(RpFilter, "rp_filter") X(Ip, "ip") X(Ip6, "ip6")            \
    X(Inet, "inet") X(Chain, "chain") X(Policy, "policy") X(Allow, "@allow") X(LParen, "(")   \
    X(Comma, ",") X(RParen, ")") X(Comment, "comment") X(Saddr, "saddr") X(Daddr, "daddr")    \
    X(Sport, "sport") X(Dport, "dport") X(Proto, "proto") X(Iif, "iif") X(Oif, "oif")         \
    X(Ct, "ct") X(State, "state") X(Socket, "socket") X(Transparent, "transparent")           \
    X(Icmp, "icmp") X(Icmpv6, "icmpv6") X(Type, "type") X(Code, "code")                       \
    X(Addrtype, "addrtype") X(Limit, "limit") X(Burst, "burst") X(Ether, "ether")             \
    X(Tcp, "tcp") X(Udp, "udp") X(Sctp, "sctp") X(Flags, "flags") X(Neq, "!=") X(Not, "not")  \
    X(Accept, "accept") X(Drop, "drop") X(Reject, "reject") X(With, "with")                   \
    X(Return, "return") X(Jump, "jump") X(Goto, "goto") X(Counter, "counter") X(Log, "log")   \
    X(Prefix, "prefix") X(Level, "level") X(Set, "set") X(Save, "save") X(Mask, "mask")       \
    X(Restore, "restore") X(Snat, "snat") X(Dnat, "dnat") X(Redirect, "redirect")             \
    X(Notrack, "notrack") X(Rule, "rule") X(Uidrange, "uidrange") X(Lookup, "lookup")         \
    X(Blackhole, "blackhole") X(Unreachable, "unreachable") X(Prohibit, "prohibit")           \
    X(Route, "route") X(Dev, "dev") X(Src, "src") X(Metric, "metric") X(Sysctl, "sysctl")     \
    X(Colon, ":") X(Dash, "-") X(LBracket, "[") X(RBracket, "]") X(Slash, "/")                \
    X(Default, "default") X(Mss, "mss") X(Clamp, "clamp")

#define POLICYC_ENUM(name, text) name,
enum class K : uint8_t { POLICYC_KEYWORDS(POLICYC_ENUM) None };
#undef POLICYC_ENUM

#define POLICYC_TEXT(name, text) text,
constexpr std::string_view kKeywordText[] = {POLICYC_KEYWORDS(POLICYC_TEXT)};
#undef POLICYC_TEXT
#define POLICYC_QUOTED(name, text) "'" text "'",
constexpr std::string_view kKeywordQuoted[] = {POLICYC_KEYWORDS(POLICYC_QUOTED)};
#undef POLICYC_QUOTED
constexpr size_t kKeywordCount = std::size(kKeywordText);

bool isAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isHex(unsigned char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct KeywordTable {
    std::array<std::vector<std::pair<std::string_view, K>>, 128> byFirst;
    std::array<bool, kKeywordCount + 1> isName{};

    KeywordTable() {
        for (size_t i = 0; i < kKeywordCount; ++i) {
            const std::string_view t = kKeywordText[i];
            const auto k = static_cast<K>(i);
            byFirst[static_cast<unsigned char>(t[0])].emplace_back(t, k);
            const auto c = static_cast<unsigned char>(t[0]);
            isName[i] = (isAlpha(c) || c == '_') && k != K::Set && k != K::Save && k != K::Restore;
        }
    }

    K find(std::string_view word) const {
        const auto c = static_cast<unsigned char>(word[0]);
        if (c >= byFirst.size()) return K::None;
        for (const auto& [text, k] : byFirst[c])
            if (text == word) return k;
        return K::None;
    }
};

const KeywordTable& keywords() {
    static const KeywordTable kTable;
    return kTable;
}

enum class T : uint8_t { Kw, Addr6, Ipv4, Number, String, Var, Id, Eof };

struct Tok {
    T type = T::Eof;
    K kw = K::None;
    uint32_t off = 0;
    uint32_t len = 0;
    uint32_t line = 0;
    uint32_t col = 0;  // code points since the line's start, as ANTLR counts
};

/// Thrown when the fast path declines the input; parseFast turns it into nullopt.
struct Decline {};

[[noreturn]] void decline() { throw Decline{}; }

/// ANTLR's lexer for Policy.g4, one token at a time: longest match, ties to the earlier rule.
class Lexer {
  public:
    explicit Lexer(std::string_view text) : text_(text) {}

    Tok next() {
        skipTrivia();
        Tok t;
        t.off = static_cast<uint32_t>(p_);
        t.line = line_;
        t.col = static_cast<uint32_t>(p_ - lineStart_ - continuation_);
        if (p_ >= text_.size()) return t;
        const auto c = static_cast<unsigned char>(text_[p_]);
        size_t len = 0;
        if (isAlpha(c) || c == '_') {
            const size_t id = idLength();
            const size_t a6 = isHex(c) ? addr6Length() : 0;
            if (a6 > id) {
                t.type = T::Addr6, len = a6;
            } else {
                len = id;
                t.kw = keywords().find(text_.substr(p_, len));
                t.type = t.kw == K::None ? T::Id : T::Kw;
            }
        } else if (isDigit(c)) {
            // No two of these can tie: ADDR6 has colons, IPV4 dots the others lack.
            const size_t a6 = addr6Length(), v4 = ipv4Length(), num = numberLength();
            if (a6 >= v4 && a6 >= num)
                t.type = T::Addr6, len = a6;
            else if (v4 >= num)
                t.type = T::Ipv4, len = v4;
            else
                t.type = T::Number, len = num;
        } else {
            len = punctuation(c, t);
        }
        if (len == 0) decline();  // ERROR_CHAR: a syntax error, ANTLR reports it
        t.len = static_cast<uint32_t>(len);
        p_ += len;
        return t;
    }

  private:
    unsigned char at(size_t i) const {
        return i < text_.size() ? static_cast<unsigned char>(text_[i]) : 0;
    }

    void skipTrivia() {
        while (p_ < text_.size()) {
            const char c = text_[p_];
            if (c == ' ' || c == '\t' || c == '\r') {
                ++p_;
            } else if (c == '\n') {
                ++p_;
                ++line_;
                lineStart_ = p_;
                continuation_ = 0;
            } else if (c == '#') {
                while (p_ < text_.size() && text_[p_] != '\n' && text_[p_] != '\r')
                    countContinuation(p_++);
            } else {
                return;
            }
        }
    }

    /// Columns count code points: bytes 10xxxxxx do not advance them.
    void countContinuation(size_t i) {
        continuation_ += (static_cast<unsigned char>(text_[i]) & 0xc0) == 0x80;
    }

    static bool idChar(unsigned char c) {
        return isAlpha(c) || isDigit(c) || c == '_' || c == '.' || c == '+' || c == '*';
    }

    // ID : [a-zA-Z_] [a-zA-Z0-9_.+*]* ( '-' [a-zA-Z0-9_.+*]+ )*
    size_t idLength() const {
        size_t q = p_ + 1;
        for (;;) {
            while (idChar(at(q))) ++q;
            if (at(q) != '-' || !idChar(at(q + 1))) return q - p_;
            ++q;
        }
    }

    // ADDR6 : [0-9a-fA-F.]* ':' [0-9a-fA-F.]* ':' [0-9a-fA-F:.]*
    size_t addr6Length() const {
        auto a = [](unsigned char c) { return isHex(c) || c == '.'; };
        size_t q = p_;
        for (int colon = 0; colon < 2; ++colon) {
            while (a(at(q))) ++q;
            if (at(q) != ':') return 0;
            ++q;
        }
        while (a(at(q)) || at(q) == ':') ++q;
        return q - p_;
    }

    // IPV4 : DEC '.' DEC '.' DEC '.' DEC
    size_t ipv4Length() const {
        size_t q = p_;
        for (int part = 0; part < 4; ++part) {
            if (part > 0) {
                if (at(q) != '.') return 0;
                ++q;
            }
            if (!isDigit(at(q))) return 0;
            while (isDigit(at(q))) ++q;
        }
        return q - p_;
    }

    // NUMBER : '0' [xX] [0-9a-fA-F]+ | DEC
    size_t numberLength() const {
        if (at(p_) == '0' && (at(p_ + 1) == 'x' || at(p_ + 1) == 'X') && isHex(at(p_ + 2))) {
            size_t q = p_ + 2;
            while (isHex(at(q))) ++q;
            return q - p_;
        }
        size_t q = p_;
        while (isDigit(at(q))) ++q;
        return q - p_;
    }

    // STRING : '"' ( ~["\\\r\n] | '\\' ~[\r\n] )* '"'
    size_t stringLength() {
        for (size_t q = p_ + 1; q < text_.size(); ++q) {
            const char c = text_[q];
            if (c == '"') {
                for (size_t i = p_; i <= q; ++i) countContinuation(i);
                return q + 1 - p_;
            }
            if (c == '\r' || c == '\n') return 0;
            if (c == '\\') {
                ++q;
                if (q >= text_.size() || text_[q] == '\r' || text_[q] == '\n') return 0;
            }
        }
        return 0;
    }

    size_t punctuation(unsigned char c, Tok& t) {
        t.type = T::Kw;
        auto literal = [&](K k, size_t len) {
            t.kw = k;
            return len;
        };
        switch (c) {
            case '.': {
                const size_t a6 = addr6Length();
                t.type = T::Addr6;
                return a6;
            }
            case ':': {
                if (const size_t a6 = addr6Length()) {
                    t.type = T::Addr6;
                    return a6;
                }
                return literal(K::Colon, 1);
            }
            case '"':
                t.type = T::String;
                return stringLength();
            case '$': {
                // VAR : '$' [a-zA-Z_] [a-zA-Z0-9_]*
                if (!isAlpha(at(p_ + 1)) && at(p_ + 1) != '_') return 0;
                size_t q = p_ + 2;
                while (isAlpha(at(q)) || isDigit(at(q)) || at(q) == '_') ++q;
                t.type = T::Var;
                return q - p_;
            }
            case '@':
                return text_.substr(p_, 6) == "@allow" ? literal(K::Allow, 6) : 0;
            case '!':
                return at(p_ + 1) == '=' ? literal(K::Neq, 2) : 0;
            case '{':
                // The ANTLR path refuses deep nesting with E205 before parsing: leave it that.
                if (++depth_ > InputLimits{}.maxNesting) return 0;
                return literal(K::LBrace, 1);
            case '}':
                depth_ = std::max(depth_ - 1, 0);
                return literal(K::RBrace, 1);
            case ';':
                return literal(K::Semi, 1);
            case '=':
                return literal(K::Eq, 1);
            case '(':
                return literal(K::LParen, 1);
            case ')':
                return literal(K::RParen, 1);
            case ',':
                return literal(K::Comma, 1);
            case '-':
                return literal(K::Dash, 1);
            case '[':
                return literal(K::LBracket, 1);
            case ']':
                return literal(K::RBracket, 1);
            case '/':
                return literal(K::Slash, 1);
            default:
                return 0;
        }
    }

    std::string_view text_;
    size_t p_ = 0;
    uint32_t line_ = 1;
    size_t lineStart_ = 0;
    size_t continuation_ = 0;  // UTF-8 continuation bytes since lineStart_
    int depth_ = 0;
};

using astbuild::ClauseBuilder;
using Kind = ast::Value::Kind;
using AtomKind = ast::Value::AtomKind;

class Parser {
  public:
    Parser(uint32_t file, std::string_view text) : file_(file), text_(text), lexer_(text) {}

    ast::File file(std::string_view implicitHostName) {
        ast::File out;
        ast::HostDecl implicit;
        implicit.name = std::string(implicitHostName);
        implicit.implicit = true;
        while (la().type != T::Eof) {
            if (at(K::Host)) {
                out.hosts.push_back(hostDecl());
            } else if (auto item = hostItem()) {
                if (item->kind == "define" || item->kind == "include")
                    out.globals.push_back(std::move(*item));
                else
                    implicit.items.push_back(std::move(*item));
            }
        }
        if (!implicit.items.empty()) {
            implicit.span = implicit.items.front().span;
            out.hosts.insert(out.hosts.begin(), std::move(implicit));
        }
        return out;
    }

  private:
    // ---- tokens ----------------------------------------------------------------------------

    // Tokens are returned by value: lexing more may move the buffer.

    /// The token `k` ahead of the next one to consume (lexed on demand).
    Tok la(size_t k = 0) { return tok(pos_ + k); }

    /// The token at absolute index i (i >= pos_).
    Tok tok(size_t i) {
        while (i >= base_ + buf_.size()) buf_.push_back(lexer_.next());
        return buf_[i - base_];
    }

    bool at(K k) { return is(la(), k); }
    static bool is(const Tok& t, K k) { return t.type == T::Kw && t.kw == k; }

    Tok consume() {
        last_ = la();
        ++pos_;
        // Tokens behind pos_ are never looked at again; keep the buffer small.
        if (pos_ - base_ >= 4096) {
            buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(pos_ - base_));
            base_ = pos_;
        }
        return last_;
    }

    Tok expect(K k) {
        if (!at(k)) decline();
        return consume();
    }

    std::string_view text(const Tok& t) const { return text_.substr(t.off, t.len); }

    static bool isName(const Tok& t) {
        return t.type == T::Id ||
               (t.type == T::Kw && keywords().isName[static_cast<size_t>(t.kw)]);
    }
    static bool isAtomStart(const Tok& t) {
        return t.type == T::Number || t.type == T::Ipv4 || t.type == T::Addr6 ||
               t.type == T::String || t.type == T::Var || isName(t);
    }
    static bool isValueStart(const Tok& t) {
        return is(t, K::LBrace) || is(t, K::Colon) || is(t, K::LBracket) || isAtomStart(t);
    }
    static bool isFamilyWord(const Tok& t) { return is(t, K::Ip) || is(t, K::Ip6); }
    static bool isRouteType(const Tok& t) {
        return is(t, K::Local) || is(t, K::Blackhole) || is(t, K::Unreachable) ||
               is(t, K::Prohibit);
    }

    /// FOLLOW(hostItem): what may come after a host item, inside a host or at file level.
    static bool followsItem(const Tok& t) {
        if (t.type == T::Eof) return true;
        if (t.type != T::Kw) return false;
        switch (t.kw) {
            case K::Host:
            case K::RBrace:
            case K::Semi:
            case K::Define:
            case K::Include:
            case K::Interface:
            case K::Tunnel:
            case K::App:
            case K::Tproxy:
            case K::Masquerade:
            case K::Forward:
            case K::Forwarding:
            case K::RpFilter:
            case K::Table:
            case K::Rule:
            case K::Route:
            case K::Sysctl:
                return true;
            default:
                return false;
        }
    }

    SourceSpan span(const Tok& start, const Tok& stop) const {
        return SourceSpan{file_, start.line, start.col + 1, stop.line,
                          stop.col + std::max<uint32_t>(stop.len, 1)};
    }

    // ---- values ----------------------------------------------------------------------------

    ast::Value atom() {
        const Tok t = la();
        ast::Value v;
        v.span = span(t, t);
        switch (t.type) {
            case T::Number:
                v.atom = AtomKind::Number;
                v.text = text(t);
                break;
            case T::Ipv4:
                v.atom = AtomKind::Ipv4;
                v.text = text(t);
                break;
            case T::Addr6:
                v.atom = AtomKind::Addr6;
                v.text = text(t);
                break;
            case T::Var:
                v.atom = AtomKind::Var;
                v.text = text(t).substr(1);
                break;
            case T::String:
                v.atom = AtomKind::String;
                v.text = astbuild::unquote(text(t));
                break;
            default:
                if (!isName(t)) decline();
                v.text = text(t);
        }
        consume();
        return v;
    }

    ast::Value nameValue() {
        if (!isName(la())) decline();
        const Tok t = consume();
        ast::Value v;
        v.span = span(t, t);
        v.text = text(t);
        return v;
    }

    ast::Value stringValue() {
        if (la().type != T::String) decline();
        const Tok t = consume();
        ast::Value v;
        v.span = span(t, t);
        v.atom = AtomKind::String;
        v.text = astbuild::unquote(text(t));
        return v;
    }

    static ast::Value composite(Kind kind, std::vector<ast::Value> parts, SourceSpan s) {
        ast::Value v;
        v.kind = kind;
        v.parts = std::move(parts);
        v.span = s;
        return v;
    }

    /// `a` or `a-b` (at the next token).
    ast::Value atomOrRange() {
        ast::Value first = atom();
        if (!at(K::Dash)) return first;
        consume();
        ast::Value last = atom();
        SourceSpan s = first.span;
        s.endLine = last.span.endLine;
        s.endColumn = last.span.endColumn;
        std::vector<ast::Value> parts;
        parts.reserve(2);
        parts.push_back(std::move(first));
        parts.push_back(std::move(last));
        return composite(Kind::Range, std::move(parts), s);
    }

    static std::vector<ast::Value> pair(ast::Value a, ast::Value b) {
        std::vector<ast::Value> parts;
        parts.reserve(2);
        parts.push_back(std::move(a));
        parts.push_back(std::move(b));
        return parts;
    }

    // value : '{' valueList ','? '}' | ':' atom ('-' atom)? | '[' atom ']' ':' atom ('-' atom)?
    //       | atom ('-' atom)? (':' atom ('-' atom)?)? | atom '/' atom
    ast::Value value() {
        const Tok start = la();
        if (is(start, K::LBrace)) {
            consume();
            std::vector<ast::Value> items = valueList().values;
            if (at(K::Comma)) consume();
            expect(K::RBrace);
            return composite(Kind::Set, std::move(items), span(start, last_));
        }
        if (is(start, K::Colon)) {
            consume();
            std::vector<ast::Value> parts;
            parts.push_back(atomOrRange());
            return composite(Kind::PortOnly, std::move(parts), span(start, last_));
        }
        if (is(start, K::LBracket)) {
            consume();
            ast::Value addr = atom();
            expect(K::RBracket);
            expect(K::Colon);
            ast::Value port = atomOrRange();
            ast::Value v = composite(Kind::AddrPort, pair(std::move(addr), std::move(port)),
                                     span(start, last_));
            v.bracketed = true;
            return v;
        }
        // '/' never follows a value: an atom before it is a slashValue's.
        if (is(la(1), K::Slash)) {
            ast::Value left = atom();
            consume();
            ast::Value right = atom();
            return composite(Kind::Slash, pair(std::move(left), std::move(right)),
                             span(start, last_));
        }
        ast::Value first = atomOrRange();
        if (!at(K::Colon)) return first;
        consume();
        ast::Value port = atomOrRange();
        return composite(Kind::AddrPort, pair(std::move(first), std::move(port)),
                         span(start, last_));
    }

    struct ValueList {
        std::vector<ast::Value> values;
        SourceSpan span;
    };

    // valueList : value ( ',' value )* ; inside a set a ',' before '}' is the set's own.
    ValueList valueList() {
        const Tok start = la();
        ValueList out;
        out.values.push_back(value());
        while (at(K::Comma) && isValueStart(la(1))) {
            consume();
            out.values.push_back(value());
        }
        out.span = span(start, last_);
        return out;
    }

    /// Where the value starting at token i ends (the index after it), or 0 when none starts
    /// there. Decides exactly as value() does, without building anything.
    size_t valueEnd(size_t i) {
        auto atomAt = [&](size_t j) { return isAtomStart(tok(j)) ? j + 1 : 0; };
        auto rangeAt = [&](size_t j) {
            j = atomAt(j);
            if (j && is(tok(j), K::Dash)) j = atomAt(j + 1);
            return j;
        };
        const Tok t = tok(i);
        if (is(t, K::LBrace)) {
            size_t j = valueEnd(i + 1);
            while (j && is(tok(j), K::Comma) && isValueStart(tok(j + 1))) j = valueEnd(j + 1);
            if (j && is(tok(j), K::Comma)) ++j;
            return j && is(tok(j), K::RBrace) ? j + 1 : 0;
        }
        if (is(t, K::Colon)) return rangeAt(i + 1);
        if (is(t, K::LBracket)) {
            size_t j = atomAt(i + 1);
            if (!j || !is(tok(j), K::RBracket) || !is(tok(j + 1), K::Colon)) return 0;
            return rangeAt(j + 2);
        }
        if (!isAtomStart(t)) return 0;
        if (is(tok(i + 1), K::Slash)) return atomAt(i + 2);
        size_t j = rangeAt(i);
        if (j && is(tok(j), K::Colon)) j = rangeAt(j + 1);
        return j;
    }

    void valuesInto(ClauseBuilder& c) {
        for (auto& v : valueList().values) c.value(std::move(v));
    }

    /// `negation?` before a value: taken whenever a value follows (greedy, as ANTLR).
    void negation(ClauseBuilder& c) {
        if ((at(K::Neq) || at(K::Not)) && isValueStart(la(1))) {
            consume();
            c.negate();
        }
    }

    void word(ClauseBuilder& c) { c.word(text(consume())); }

    // ---- rules -----------------------------------------------------------------------------

    ast::Annotation annotation() {
        const Tok start = consume();  // '@allow'
        ast::Annotation a;
        expect(K::LParen);
        if (!isName(la())) decline();
        a.code = text(consume());
        if (at(K::Comma)) {
            consume();
            a.reason = stringValue().text;
        }
        expect(K::RParen);
        a.span = span(start, last_);
        return a;
    }

    /// Whether the next token starts another match (the loop `matchExpr*`) rather than the
    /// rule's statement: `mark` and `ct mark` begin both.
    bool matchFollows() {
        const Tok t = la();
        if (t.type != T::Kw) return false;
        switch (t.kw) {
            case K::Ip:
            case K::Ip6:
            case K::Saddr:
            case K::Daddr:
            case K::Udp:
            case K::Sctp:
            case K::Proto:
            case K::Iif:
            case K::Oif:
            case K::User:
            case K::Group:
            case K::Cgroup:
            case K::Socket:
            case K::Icmp:
            case K::Icmpv6:
            case K::Addrtype:
            case K::Limit:
            case K::Ether:
            case K::Comment:
            case K::State:
                return true;
            case K::Tcp:  // `tcp [flags|sport|dport ...]`, not `tcp mss`
                return !is(la(1), K::Mss);
            case K::Mark:  // `mark [not] VALUE`, not `mark set`
                return isValueStart(la(1)) || is(la(1), K::Neq);
            case K::Ct:  // `ct state`, `ct mark [not] VALUE`, not `ct mark set|save|restore`
                return is(la(1), K::State) ||
                       (is(la(1), K::Mark) && (isValueStart(la(2)) || is(la(2), K::Neq)));
            default:
                return false;
        }
    }

    // 'flags' negation? tcpFlagList '/' tcpFlagList, after 'tcp'
    void tcpFlags(ClauseBuilder& c) {
        word(c);
        if ((at(K::Neq) || at(K::Not)) && isName(la(1))) {
            consume();
            c.negate();
        }
        c.value(tcpFlagList());
        expect(K::Slash);
        c.value(tcpFlagList());
    }

    // tcpFlagList : name ( ',' name )*
    ast::Value tcpFlagList() {
        const Tok start = la();
        ast::Value list;
        list.kind = ast::Value::Kind::Set;
        list.parts.push_back(nameValue());
        while (at(K::Comma) && isName(la(1))) {
            consume();
            list.parts.push_back(nameValue());
        }
        list.span = span(start, last_);
        return list;
    }

    ast::Clause matchExpr() {
        const Tok start = la();
        ClauseBuilder c;
        switch (start.kw) {
            case K::Ip:
            case K::Ip6:
            case K::Saddr:
            case K::Daddr:
                if (at(K::Ip) || at(K::Ip6)) word(c);
                if (!at(K::Saddr) && !at(K::Daddr)) decline();
                word(c);
                negation(c);
                valuesInto(c);
                break;
            case K::Tcp:
            case K::Udp:
            case K::Sctp:
                word(c);
                if (start.kw == K::Tcp && at(K::Flags)) {
                    tcpFlags(c);
                    break;
                }
                if (at(K::Sport) || at(K::Dport)) {
                    word(c);
                    negation(c);
                    valuesInto(c);
                }
                break;
            case K::Proto:
            case K::State:
                word(c);
                negation(c);
                valuesInto(c);
                break;
            case K::Ct:
                word(c);
                if (at(K::State)) {
                    word(c);
                    negation(c);
                    valuesInto(c);
                } else {
                    if (!at(K::Mark)) decline();
                    word(c);
                    negation(c);
                    c.value(value());
                }
                break;
            case K::Iif:
            case K::Oif:
            case K::Mark:
            case K::User:
            case K::Group:
            case K::Cgroup:
                word(c);
                negation(c);
                c.value(value());
                break;
            case K::Socket:
                word(c);
                if (at(K::Transparent)) word(c);
                break;
            case K::Icmp:
            case K::Icmpv6:
                word(c);
                if (!at(K::Type)) decline();
                word(c);
                negation(c);
                c.value(value());
                if (at(K::Code)) {
                    word(c);
                    c.value(value());
                }
                break;
            case K::Addrtype:
            case K::Ether:
                word(c);
                if (!at(K::Saddr) && !(start.kw == K::Addrtype && at(K::Daddr))) decline();
                word(c);
                negation(c);
                c.value(value());
                break;
            case K::Limit:
                word(c);
                c.value(value());
                if (at(K::Burst)) {
                    word(c);
                    c.value(value());
                }
                break;
            default:
                decline();
        }
        return std::move(c).finish(span(start, last_));
    }

    ast::Clause statement() {
        const Tok start = la();
        if (start.type != T::Kw) decline();
        ClauseBuilder c;
        switch (start.kw) {
            case K::Accept:
            case K::Drop:
            case K::Return:
            case K::Counter:
            case K::Notrack:
                word(c);
                break;
            case K::Reject:
                word(c);
                if (at(K::With)) {
                    word(c);
                    c.value(nameValue());
                }
                break;
            case K::Jump:
            case K::Goto:
                word(c);
                c.value(nameValue());
                break;
            case K::Log:
                word(c);
                if (at(K::Prefix)) {
                    word(c);
                    c.value(stringValue());
                }
                if (at(K::Level)) {
                    word(c);
                    c.value(value());
                }
                break;
            case K::Mark:
                word(c);
                if (!at(K::Set)) decline();
                word(c);
                c.value(value());
                break;
            case K::Ct:
                word(c);
                if (!at(K::Mark)) decline();
                word(c);
                if (at(K::Set)) {
                    word(c);
                    c.value(value());
                } else if (at(K::Save) || at(K::Restore)) {
                    word(c);
                    if (at(K::Mask)) {
                        word(c);
                        c.value(value());
                    }
                } else {
                    decline();
                }
                break;
            case K::Snat:
            case K::Dnat:
                word(c);
                if (!at(K::To)) decline();
                word(c);
                c.value(value());
                break;
            case K::Masquerade:
            case K::Redirect:
                word(c);
                if (at(K::To)) {
                    word(c);
                    c.value(value());
                }
                break;
            case K::Tproxy:
                word(c);
                if (isFamilyWord(la())) word(c);
                if (!at(K::To)) decline();
                word(c);
                c.value(value());
                // ('mark' value)? is greedy: `mark 1` is this statement's, not the next rule's
                if (at(K::Mark) && isValueStart(la(1))) {
                    word(c);
                    c.value(value());
                }
                break;
            case K::Tcp:
                word(c);
                if (!at(K::Mss)) decline();
                word(c);
                if (at(K::Clamp)) {
                    word(c);
                } else {
                    if (!at(K::Set)) decline();
                    word(c);
                    c.value(value());
                }
                break;
            default:
                decline();
        }
        return std::move(c).finish(span(start, last_));
    }

    // ruleDecl : annotation* ( matchExpr* statement comment? ';'? | matchExpr+ ';' )
    ast::Rule ruleDecl() {
        const Tok start = la();
        ast::Rule r;
        while (at(K::Allow)) r.annotations.push_back(annotation());
        // Collected apart and moved into a vector of the exact size: the AST of a large
        // policy is what sets compile's peak memory.
        clauses_.clear();
        bool anyMatch = false;
        while (matchFollows()) {
            anyMatch = true;
            if (at(K::Comment)) {
                consume();
                r.comment = stringValue().text;
                r.commentAt = clauses_.size();
                continue;
            }
            clauses_.push_back(matchExpr());
        }
        r.matches.reserve(clauses_.size());
        std::move(clauses_.begin(), clauses_.end(), std::back_inserter(r.matches));
        if (anyMatch && at(K::Semi)) {  // matches closed by `;`: no statement
            consume();
            r.span = span(start, last_);
            return r;
        }
        r.statement = statement();
        // Greedy: `accept comment "x" drop` gives the comment to `accept`, as ANTLR does.
        if (at(K::Comment) && la(1).type == T::String) {
            consume();
            r.comment = stringValue().text;
            r.commentAt.reset();
        }
        if (at(K::Semi)) consume();
        r.span = span(start, last_);
        return r;
    }

    // ---- tables ----------------------------------------------------------------------------

    // chainDecl : 'chain' name ( 'policy' name )? '{' ruleDecl* '}' | ';'
    void chainDecl(ast::Table& t) {
        if (at(K::Semi)) {
            consume();
            return;
        }
        const Tok start = expect(K::Chain);
        ast::Chain chain;
        ast::Value name = nameValue();
        chain.name = std::move(name.text);
        chain.nameSpan = name.span;
        if (at(K::Policy)) {
            consume();
            ast::Value policy = nameValue();
            chain.policy = std::move(policy.text);
            chain.policySpan = policy.span;
        }
        expect(K::LBrace);
        while (!at(K::RBrace)) chain.rules.push_back(ruleDecl());
        consume();
        chain.span = span(start, last_);
        t.chains.push_back(std::move(chain));
    }

    /// Whether the tokens from i on begin a tableDecl: 'table' family? name '{'.
    bool tableDeclAt(size_t i) {
        if (isName(tok(i + 1)) && is(tok(i + 2), K::LBrace)) return true;
        const Tok f = tok(i + 1);
        return (is(f, K::Ip) || is(f, K::Ip6) || is(f, K::Inet)) && isName(tok(i + 2)) &&
               is(tok(i + 3), K::LBrace);
    }

    // tableDecl : 'table' family? name '{' chainDecl* '}'
    ast::Table tableDecl() {
        const Tok start = consume();
        ast::Table t;
        const Tok f = la();
        // `table ip {` names the table "ip"
        if ((is(f, K::Ip) || is(f, K::Ip6) || is(f, K::Inet)) && isName(la(1)) &&
            is(la(2), K::LBrace))
            t.family = std::string(text(consume()));
        ast::Value name = nameValue();
        t.name = std::move(name.text);
        t.nameSpan = name.span;
        expect(K::LBrace);
        while (!at(K::RBrace)) chainDecl(t);
        consume();
        t.span = span(start, last_);
        return t;
    }

    /// At 'table' after a route option or a tproxy intent option: another option (true) or the
    /// host's next item, a table (false)? Declines when the tokens allow both.
    bool tableOptionFollows(bool (*optionWord)(const Tok&)) {
        const size_t end = valueEnd(pos_ + 1);
        const bool option = end && (optionWord(tok(end)) || followsItem(tok(end)));
        const bool table = tableDeclAt(pos_);
        if (option && table) decline();
        return option;
    }

    static bool intentOptionWord(const Tok& t) {
        return is(t, K::Mark) || is(t, K::Table) || is(t, K::Priority);
    }
    static bool routeOptionWord(const Tok& t) {
        return is(t, K::Via) || is(t, K::Dev) || is(t, K::Src) || is(t, K::Table) ||
               is(t, K::Metric);
    }

    // ---- host items ------------------------------------------------------------------------

    ast::HostDecl hostDecl() {
        const Tok start = consume();  // 'host'
        ast::HostDecl h;
        ast::Value name = nameValue();
        h.name = std::move(name.text);
        h.nameSpan = name.span;
        expect(K::LBrace);
        while (!at(K::RBrace))
            if (auto item = hostItem()) h.items.push_back(std::move(*item));
        consume();
        h.span = span(start, last_);
        return h;
    }

    static void named(ast::Item& item, ast::Value name) {
        item.name = std::move(name.text);
        item.nameSpan = name.span;
    }

    static ast::Clause prop(std::string key, std::vector<ast::Value> args, SourceSpan s) {
        return ast::Clause{std::move(key), false, std::move(args), {}, s};
    }
    static ast::Clause prop(std::string key, ast::Value arg) {
        const SourceSpan s = arg.span;
        std::vector<ast::Value> args;
        args.push_back(std::move(arg));
        return prop(std::move(key), std::move(args), s);
    }
    static ast::Clause prop(std::string key, ValueList list) {
        return prop(std::move(key), std::move(list.values), list.span);
    }

    /// One keyword and what the grammar has after it: linkProp, appProp, intentOption,
    /// ruleSelector, routeOption. `what` reads the argument, if any.
    template <typename Arg>
    ast::Clause keywordClause(Arg what) {
        const Tok start = la();
        ClauseBuilder c;
        word(c);
        what(c);
        return std::move(c).finish(span(start, last_));
    }

    ast::Clause linkProp() {
        switch (la().kw) {
            case K::Kind:
                return keywordClause([&](ClauseBuilder& c) { c.value(nameValue()); });
            case K::Address:
                return keywordClause([&](ClauseBuilder& c) { valuesInto(c); });
            case K::Peer:
            case K::Local:
            case K::Remote:
            case K::Port:
            case K::Fwmark:
                return keywordClause([&](ClauseBuilder& c) { c.value(value()); });
            case K::Semi:
                return keywordClause([](ClauseBuilder&) {});
            default:
                decline();
        }
    }

    ast::Clause appProp() {
        switch (la().kw) {
            case K::User:
            case K::Group:
            case K::Cgroup:
                return keywordClause([&](ClauseBuilder& c) { valuesInto(c); });
            case K::Via:
            case K::Ipv6:
                return keywordClause([&](ClauseBuilder& c) { c.value(nameValue()); });
            case K::Mark:
            case K::Table:
            case K::Priority:
                return keywordClause([&](ClauseBuilder& c) { c.value(value()); });
            case K::Semi:
                return keywordClause([](ClauseBuilder&) {});
            default:
                decline();
        }
    }

    /// Whether `route` ... from token i on (after the family word, if any) can be a routeDecl
    /// with (`typed`) or without a route type: false only when it certainly cannot.
    bool routeTailPossible(size_t i, bool typed) {
        if (typed) {
            if (!isRouteType(tok(i))) return false;
            ++i;
        }
        i = valueEnd(i);
        if (!i) return false;
        for (;;) {
            const Tok t = tok(i);
            if (is(t, K::Via) || is(t, K::Src) || is(t, K::Metric)) {
                i = valueEnd(i + 1);
                if (!i) return false;
            } else if (is(t, K::Dev)) {
                if (!isName(tok(i + 1))) return false;
                i += 2;
            } else if (is(t, K::Table)) {
                const size_t end = valueEnd(i + 1);
                const bool option = end && (routeOptionWord(tok(end)) || followsItem(tok(end)));
                if (option && tableDeclAt(i)) return true;  // undecided here: not ruled out
                if (!option) break;
                i = end;
            } else {
                break;
            }
        }
        return followsItem(tok(i));
    }

    // routeDecl : 'route' addrFamily? routeType? value routeOption*
    // `ip`, `local` ... are also names, so each optional word is taken unless the rest of the
    // item cannot parse with it.
    void routeDecl(ast::Item& item) {
        consume();
        item.kind = "route";
        if (isFamilyWord(la()) &&
            (routeTailPossible(pos_ + 1, true) || routeTailPossible(pos_ + 1, false)))
            item.name = std::string(text(consume()));
        if (isRouteType(la()) && routeTailPossible(pos_, true)) {
            const Tok t = consume();
            item.props.push_back(prop("type " + std::string(text(t)), {}, span(t, t)));
        }
        item.args.push_back(value());
        for (;;) {
            const Tok t = la();
            if (is(t, K::Dev)) {
                item.props.push_back(
                    keywordClause([&](ClauseBuilder& c) { c.value(nameValue()); }));
            } else if (is(t, K::Via) || is(t, K::Src) || is(t, K::Metric) ||
                       (is(t, K::Table) && tableOptionFollows(routeOptionWord))) {
                item.props.push_back(keywordClause([&](ClauseBuilder& c) { c.value(value()); }));
            } else {
                break;
            }
        }
    }

    // ipRuleDecl : 'rule' addrFamily? ( 'priority' value )? 'not'? ruleSelector* ruleAction
    void ipRuleDecl(ast::Item& item) {
        consume();
        item.kind = "rule";
        if (isFamilyWord(la())) item.name = std::string(text(consume()));
        std::optional<ast::Clause> priority;
        if (at(K::Priority)) {
            consume();
            priority = prop("priority", value());
        }
        if (at(K::Not)) {
            const Tok t = consume();
            item.props.push_back(prop("not", {}, span(t, t)));
        }
        if (priority) item.props.push_back(std::move(*priority));
        for (;;) {
            const Tok t = la();
            if (is(t, K::Iif) || is(t, K::Oif)) {
                item.props.push_back(
                    keywordClause([&](ClauseBuilder& c) { c.value(nameValue()); }));
            } else if (is(t, K::Fwmark) || is(t, K::Uidrange) || is(t, K::From) ||
                       is(t, K::To)) {
                item.props.push_back(keywordClause([&](ClauseBuilder& c) { c.value(value()); }));
            } else {
                break;
            }
        }
        ast::Clause action;
        if (at(K::Lookup) || at(K::Table))
            action = keywordClause([&](ClauseBuilder& c) { c.value(value()); });
        else if (at(K::Blackhole) || at(K::Unreachable) || at(K::Prohibit))
            action = keywordClause([](ClauseBuilder&) {});
        else
            decline();
        if (action.key == "table") action.key = "lookup";
        item.props.push_back(std::move(action));
    }

    std::optional<ast::Item> hostItem() {
        const Tok start = la();
        if (start.type != T::Kw) decline();
        ast::Item item;
        switch (start.kw) {
            case K::Semi:
                consume();
                return std::nullopt;
            case K::Define:
                consume();
                item.kind = "define";
                named(item, nameValue());
                expect(K::Eq);
                item.args = valueList().values;
                break;
            case K::Include:
                consume();
                item.kind = "include";
                item.args.push_back(stringValue());
                break;
            case K::Interface:
            case K::Tunnel:
                consume();
                item.kind = start.kw == K::Tunnel ? "tunnel" : "interface";
                named(item, nameValue());
                if (start.kw == K::Tunnel || at(K::LBrace)) {
                    expect(K::LBrace);
                    while (!at(K::RBrace)) item.props.push_back(linkProp());
                    consume();
                }
                break;
            case K::App:
                consume();
                item.kind = "app";
                named(item, nameValue());
                expect(K::LBrace);
                while (!at(K::RBrace)) item.props.push_back(appProp());
                consume();
                break;
            case K::Tproxy:
                tproxyDecl(item);
                break;
            case K::Masquerade:
                consume();
                item.kind = "masquerade";
                if (at(K::From)) {
                    consume();
                    item.props.push_back(prop("from", valueList()));
                }
                if (at(K::Out)) {
                    consume();
                    item.props.push_back(prop("out", nameValue()));
                }
                break;
            case K::Forward:
                consume();
                item.kind = "forward";
                item.props.push_back(prop("proto", valueList()));
                expect(K::Port);
                item.props.push_back(prop("port", valueList()));
                if (at(K::In)) {
                    consume();
                    item.props.push_back(prop("in", nameValue()));
                }
                expect(K::To);
                item.props.push_back(prop("to", value()));
                break;
            case K::Forwarding:
                consume();
                item.kind = "forwarding";
                named(item, nameValue());
                break;
            case K::RpFilter:
                consume();
                item.kind = "rp_filter";
                named(item, nameValue());
                item.args.push_back(nameValue());
                break;
            case K::Table:
                item.kind = "table";
                item.table = tableDecl();
                item.name = item.table->name;
                item.nameSpan = item.table->nameSpan;
                break;
            case K::Rule:
                ipRuleDecl(item);
                break;
            case K::Route:
                routeDecl(item);
                break;
            case K::Sysctl:
                consume();
                item.kind = "sysctl";
                named(item, nameValue());
                expect(K::Eq);
                item.args.push_back(value());
                break;
            default:
                decline();
        }
        item.span = span(start, last_);
        return item;
    }

    // tproxyDecl : 'tproxy' valueList 'port' valueList 'in' name 'to' value intentOption*
    void tproxyDecl(ast::Item& item) {
        consume();
        item.kind = "tproxy";
        item.props.push_back(prop("proto", valueList()));
        expect(K::Port);
        item.props.push_back(prop("port", valueList()));
        expect(K::In);
        item.props.push_back(prop("in", nameValue()));
        expect(K::To);
        item.props.push_back(prop("to", value()));
        while (at(K::Mark) || at(K::Priority) ||
               (at(K::Table) && tableOptionFollows(intentOptionWord)))
            item.props.push_back(keywordClause([&](ClauseBuilder& c) { c.value(value()); }));
    }

    uint32_t file_;
    std::string_view text_;
    Lexer lexer_;
    std::vector<Tok> buf_;  // tokens base_ .. base_ + buf_.size() - 1
    size_t base_ = 0;
    size_t pos_ = 0;  // the next token to consume
    Tok last_;        // the last token consumed: where the construct being built stops
    std::vector<ast::Clause> clauses_;  // ruleDecl's matches as they are read
};

}  // namespace

std::optional<ast::File> parseFast(uint32_t fileId, std::string_view text,
                                   std::string_view implicitHostName) {
    try {
        return Parser(fileId, text).file(implicitHostName);
    } catch (const Decline&) {
        return std::nullopt;
    }
}

std::vector<std::string_view> fastLexerLiterals() {
    return {std::begin(kKeywordQuoted), std::end(kKeywordQuoted)};
}

}  // namespace policyc
