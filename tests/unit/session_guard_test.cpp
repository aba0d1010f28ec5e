// SPDX-License-Identifier: GPL-2.0-or-later
// The apply-time lockout guard: which filters cut the SSH session policyc runs in.
#include "analyzer/session_guard.h"

#include <doctest/doctest.h>

#include "compiler/compile.h"

using namespace policyc;
using namespace policyc::analyzer;

namespace {

ir::Host compiled(const std::string& text) {
    SourceManager sources;
    Diagnostics diags;
    auto policy = compileText(text, "guard.pol", sources, diags);
    REQUIRE(policy);
    return policy->hosts.at(0);
}

const SshSession kV4 = *parseSshConnection("192.0.2.50 51234 192.0.2.1 22");

std::string cutOf(const std::string& text, const SshSession& s = kV4) {
    auto cut = sessionCut(compiled(text), s);
    return cut ? cut->where : "";
}

}  // namespace

TEST_CASE("session guard: SSH_CONNECTION is four fields, one family") {
    auto s = parseSshConnection("2001:db8::5 40000 2001:db8::1 2222");
    REQUIRE(s);
    CHECK(s->clientPort == 40000);
    CHECK(s->serverPort == 2222);
    CHECK(s->server.str() == "2001:db8::1");
    CHECK_FALSE(parseSshConnection("192.0.2.5 40000 2001:db8::1 22"));
    CHECK_FALSE(parseSshConnection("192.0.2.5 40000 192.0.2.1"));
    CHECK_FALSE(parseSshConnection("192.0.2.5 40000 192.0.2.1 22 extra"));
    CHECK_FALSE(parseSshConnection("192.0.2.5 70000 192.0.2.1 22"));
    CHECK_FALSE(parseSshConnection(""));
}

TEST_CASE("session guard: a DROP policy with nothing for the session cuts it") {
    CHECK(cutOf("table filter { chain INPUT policy drop { tcp dport 80 accept } }") ==
          "filter INPUT policy DROP");
    CHECK(cutOf("table filter { chain OUTPUT policy drop { tcp sport 80 accept } }") ==
          "filter OUTPUT policy DROP");
}

TEST_CASE("session guard: established, the port or the client accepted keep it") {
    CHECK(cutOf("table filter { chain INPUT policy drop { ct state established,related accept } }")
              .empty());
    CHECK(cutOf("table filter { chain INPUT policy drop { tcp dport 22 accept } }").empty());
    CHECK(
        cutOf("table filter { chain INPUT policy drop { ip saddr 192.0.2.0/24 accept } }").empty());
    // Another client's network only: this one is cut.
    CHECK(cutOf("table filter { chain INPUT policy drop { ip saddr 198.51.100.0/24 accept } }") ==
          "filter INPUT policy DROP");
}

TEST_CASE("session guard: a drop rule that may catch the session before an accept cuts it") {
    CHECK(cutOf("table filter { chain INPUT {\n"
                "  tcp dport 80 accept\n"
                "  ip saddr 192.0.2.0/25 drop\n"
                "  tcp dport 22 accept\n"
                "} }") == "filter INPUT rule 2");
    // After an accept of every packet of the session, a drop does not matter.
    CHECK(cutOf("table filter { chain INPUT {\n"
                "  tcp dport 22 accept\n"
                "  drop\n"
                "} }")
              .empty());
    // A rule for other packets does not.
    CHECK(cutOf("table filter { chain INPUT { udp dport 53 drop } }").empty());
}

TEST_CASE("session guard: an IPv6 session is judged by IPv6 rules only") {
    const auto v6 = *parseSshConnection("2001:db8::5 40000 2001:db8::1 22");
    CHECK(cutOf("table ip filter { chain INPUT policy drop { } }", v6).empty());
    CHECK(cutOf("table ip6 filter { chain INPUT policy drop { } }", v6) ==
          "filter INPUT policy DROP");
}
