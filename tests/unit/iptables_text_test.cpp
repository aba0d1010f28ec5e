// SPDX-License-Identifier: GPL-2.0-or-later
// renderIptables against iptables-legacy-save. Every expected text below is the read-back of
// iptables 1.8.9 (loaded with *-legacy-restore, listed with *-legacy-save in a scratch netns by
// tests/kernel/ipt_oracle.sh); ctest -L kernel re-proves them (kernel/iptables_text_oracle).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "backends/text/render.h"
#include "tests/unit/fixture_writers.h"
#include "tests/unit/ipt_fixture_hosts.h"

namespace {

using namespace policyc::ir;
using policyc::backends::renderIptables;

using namespace policyc::testing::ipt_fixtures;

struct Fixture {
    const char* name;
    Family family;
    Host (*host)();
    const char* expected;
};

const std::vector<Fixture>& fixtures() {
    static const std::vector<Fixture> kFixtures = {
        {"filter_v4", Family::V4, filterHost, R"(*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:Beta - [0:0]
:alpha - [0:0]
:zeta - [0:0]
-A INPUT -s 10.0.0.0/24 -d 10.0.1.5/32 -i eth0 -p tcp -m tcp --sport 1000:2000 --dport 22 -j ACCEPT
-A INPUT ! -s 10.1.0.0/16 ! -i wg+ ! -p udp -j DROP
-A INPUT -j zeta
-A INPUT ! -s 0.0.0.0/0 -g alpha
-A INPUT -p tcp -m tcp ! --dport 22 -j RETURN
-A INPUT -p sctp -m sctp --dport 53
-A INPUT -p gre -j ACCEPT
-A INPUT -j ACCEPT
-A INPUT -p 99 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A INPUT -j LOG
-A INPUT -j LOG --log-prefix "in: " --log-level 6
-A INPUT -j LOG --log-prefix x
-A INPUT -j LOG --log-level 0
-A FORWARD -i eth0 ! -o eth1 -j ACCEPT
-A Beta -o wg+ -j ACCEPT
-A alpha -s 10.0.0.0/24 -j RETURN
COMMIT
)"},
        {"matches_v4", Family::V4, matchesHost, R"(*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -m owner --uid-owner 1000-1005 --gid-owner 100 -j ACCEPT
-A OUTPUT -m owner --uid-owner 1000 -m owner --uid-owner 2000 --gid-owner 100 -j ACCEPT
-A OUTPUT -m owner ! --uid-owner 0 ! --gid-owner 5 -j ACCEPT
-A OUTPUT -m cgroup --path "/pcx-ipt-test" -j ACCEPT
-A OUTPUT -m cgroup ! --path "pcx-ipt-test/sub" -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack ! --ctstate INVALID,NEW,UNTRACKED -j ACCEPT
-A INPUT -m mark --mark 0x1 -m mark ! --mark 0x2/0x2 -j ACCEPT
-A INPUT -m mark --mark 0x0 -j ACCEPT
-A INPUT -m connmark ! --mark 0x10/0xf0 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p icmp -m icmp ! --icmp-type 3/4 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 0/0 -j ACCEPT
-A INPUT -m addrtype --src-type UNICAST --dst-type LOCAL -j ACCEPT
-A INPUT -m addrtype ! --src-type BROADCAST -j ACCEPT
-A INPUT -m limit --limit 5/min --limit-burst 10 -j ACCEPT
-A INPUT -m limit --limit 1/sec -j ACCEPT
-A INPUT -m limit --limit 1/min -j ACCEPT
-A INPUT -m limit --limit 7/hour --limit-burst 1 -j ACCEPT
-A INPUT -m mac --mac-source aa:bb:cc:dd:ee:0f -j ACCEPT
-A INPUT -m mac ! --mac-source 00:11:22:33:44:55 -j ACCEPT
-A INPUT -m socket -j ACCEPT
-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 ! --tcp-flags SYN,ACK SYN -j ACCEPT
-A INPUT -m state --state NEW -j ACCEPT
-A INPUT -m state ! --state INVALID,RELATED -j ACCEPT
-A INPUT -p tcp -m tcp -j ACCEPT
-A INPUT -p udp -m udp -m multiport --dports 1,2 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment mid -m conntrack --ctstate NEW -m limit --limit 3/min -j ACCEPT
-A INPUT -p tcp -m comment --comment first -m tcp --dport 22 -j ACCEPT
-A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m limit --limit 3/min -m comment --comment "ssh in" -j ACCEPT
-A INPUT -m comment --comment "x\'y\"z\\w" -j ACCEPT
-A INPUT -m comment --comment plain-comment_1 -j ACCEPT
COMMIT
)"},
        {"expansion_v4", Family::V4, expansionHost, R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/24 -d 10.0.2.1/32 -j ACCEPT
-A INPUT -s 10.0.0.0/24 -d 10.0.3.0/24 -j ACCEPT
-A INPUT -d 10.0.2.1/32 -m iprange --src-range 10.0.1.1-10.0.1.9 -j ACCEPT
-A INPUT -d 10.0.3.0/24 -m iprange --src-range 10.0.1.1-10.0.1.9 -j ACCEPT
-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.0.1.1-10.0.1.9 -j DROP
-A INPUT -p tcp -m multiport --dports 80,443,1000:2000 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 16,17,18,19,20 -j ACCEPT
-A INPUT -p udp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15 -j ACCEPT
-A INPUT -p udp -m multiport ! --sports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -m multiport ! --sports 16,17,18,19,20 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m multiport --sports 1,2 -j ACCEPT
-A INPUT -p tcp -m multiport ! --dports 0:65535 -j DROP
-A INPUT -p tcp -m multiport --sports 0:65535 -j ACCEPT
-A INPUT -p udplite -m multiport --dports 53 -j ACCEPT
COMMIT
)"},
        {"nat_mangle_raw_v4", Family::V4, natMangleRawHost, R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i lo -j CT --notrack
-A OUTPUT -p udp -m udp --dport 53 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DIVERT - [0:0]
-A PREROUTING -p tcp -m socket --transparent -j DIVERT
-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 8000 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1
-A PREROUTING -p tcp -m tcp --dport 81 -j TPROXY --on-port 8000 --on-ip 10.0.0.1 --tproxy-mark 0x0/0x0
-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff
-A PREROUTING -j MARK --set-xmark 0x1/0xff
-A PREROUTING -j CONNMARK --set-xmark 0x1/0xff
-A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 1400
-A DIVERT -j MARK --set-xmark 0x1/0xffffffff
-A DIVERT -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.3
-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 10.0.0.3:8080
-A PREROUTING -p tcp -m tcp --dport 82 -j DNAT --to-destination 10.0.0.3-10.0.0.9:1000-2000
-A PREROUTING -p tcp -m tcp --dport 83 -j REDIRECT --to-ports 8080
-A PREROUTING -p tcp -m tcp --dport 84 -j REDIRECT
-A OUTPUT -p tcp -j DNAT --to-destination :8080
-A OUTPUT -p udp -j REDIRECT --to-ports 8080-8090
-A POSTROUTING -o eth0 -j SNAT --to-source 10.0.0.3
-A POSTROUTING -o eth0 -p udp -j SNAT --to-source 10.0.0.3-10.0.0.9:1000-2000
-A POSTROUTING -o eth1 -j MASQUERADE
-A POSTROUTING -o eth1 -p tcp -j MASQUERADE --to-ports 1000-2000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
)"},
        {"inet_v4", Family::V4, inetHost, R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING ! -d 192.168.0.0/16 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:common - [0:0]
:v4only - [0:0]
-A INPUT -s 10.0.0.0/8 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-port-unreachable
-A INPUT -i eth0 -j DROP
-A common -j RETURN
COMMIT
)"},
        {"inet_v6", Family::V6, inetHost, R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:common - [0:0]
:v6only - [0:0]
-A INPUT -s fd00::/8 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp6-port-unreachable
-A common -j RETURN
COMMIT
)"},
        {"tables_v6", Family::V6, v6Host, R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m socket -j ACCEPT
-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 8000 --on-ip :: --tproxy-mark 0x1/0x1
-A PREROUTING -p tcp -m tcp --dport 81 -j TPROXY --on-port 8000 --on-ip 2001:db8::1 --tproxy-mark 0x0/0x0
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination [2001:db8::3]:8080
-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 2001:db8::3
-A PREROUTING -p tcp -m tcp --dport 82 -j DNAT --to-destination [2001:db8::3-2001:db8::9]:1000-2000
-A PREROUTING -p tcp -m tcp --dport 83 -j DNAT --to-destination 2001:db8::3-2001:db8::9
-A PREROUTING -p tcp -j REDIRECT --to-ports 8080
-A POSTROUTING -o eth0 -j SNAT --to-source 2001:db8::3
-A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1000-2000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 2001:db8::/32 -d 2001:db8::1/128 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT ! -s 2001:db8::/64 -j ACCEPT
-A INPUT ! -s ::/0 -j DROP
-A INPUT -m iprange --src-range 2001:db8::1-2001:db8::9 -j ACCEPT
-A INPUT -s fd00::/8 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 ! --icmpv6-type 135 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 255 -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -j REJECT --reject-with icmp6-port-unreachable
-A INPUT -j REJECT --reject-with icmp6-adm-prohibited
-A INPUT -j LOG --log-prefix "v6 "
COMMIT
)"},
    };
    return kFixtures;
}

}  // namespace

TEST_CASE("iptables text: each fixture renders as iptables-legacy-save lists it back") {
    for (const Fixture& f : fixtures()) {
        INFO("fixture " << f.name);
        CHECK(renderIptables(f.host(), f.family) == f.expected);
    }
}

TEST_CASE("iptables text: no qualifying table renders as the empty string") {
    CHECK(renderIptables(host({}), Family::V4).empty());
    CHECK(renderIptables(host({table(TableFamily::Ip6, "filter", {})}), Family::V4).empty());
    CHECK(renderIptables(host({table(TableFamily::Ip, "filter", {})}), Family::V6).empty());
}

// ctest's kernel/iptables_text_oracle sets POLICYC_ORACLE_DIR, then loads every file written
// here with tests/kernel/ipt_oracle.sh, so the expectations above stay proven by the kernel.
POLICYC_FIXTURE_WRITER(iptables) {
    for (const Fixture& f : fixtures()) {
        policyc::testing::writeFixtureFile(
            dir / (std::string(f.name) + (f.family == Family::V4 ? ".v4" : ".v6")),
            renderIptables(f.host(), f.family));
    }
}
