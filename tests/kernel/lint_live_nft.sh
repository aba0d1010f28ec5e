#!/usr/bin/env bash
# The nft twin of lint_live.sh: scenario S4's configurations written by hand with `nft` (an inet
# table of its own, not policyc's) plus `ip rule`/route and a VXLAN link in a scratch namespace.
# `policyc lint --live` reads the table back through nft_delinearize: configurations 1 and 2 must
# be owner-mark-leak at mangle OUTPUT rule 1 (exit 1), configuration 3 must not, and nothing of
# the hand-written table may be left unread (no not-analysed note naming it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
policyc=$1
ns="pcx-delin-$$"
trap 'ip netns del "$ns" 2>/dev/null' EXIT
fail=0
lint() { nsenter --net="/run/netns/$ns" "$policyc" lint --live --format json; }
summary() {  # owner-mark-leak locations, then notes that name the hand-written table
    python3 -c 'import json,sys
d = json.load(sys.stdin)
for f in d["findings"]:
    if f["code"] == "owner-mark-leak": print("%s/%s#%s" % (f["table"], f["chain"], f["rule"]))
for f in d["findings"]:
    if "handmade" in f.get("message", ""): print("NOTE:" + f["message"])'
}

ip netns add "$ns"
s4_client_links "$ns"
ip netns exec "$ns" nft -f - <<'NFT' || { echo "FAIL: nft -f refused the ruleset"; exit 1; }
table inet handmade {
    chain out {
        type route hook output priority mangle; policy accept;
        meta skuid 1000 meta mark set 1
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "vlan3" meta mark 1 snat ip to 10.0.0.3
    }
}
NFT
ip -n "$ns" rule add fwmark 1 table 3
ip -n "$ns" route add default via 10.0.0.1 dev vlan3 table 3
expect_lint "configuration 1 (no exclusion)" 1 "mangle/OUTPUT#1 "
ip -n "$ns" rule add priority 100 to 192.168.1.2 lookup main
expect_lint "configuration 2 (route exclusion only)" 1 "mangle/OUTPUT#1 "
ip netns exec "$ns" nft insert rule inet handmade out ip daddr 192.168.1.2 udp dport 4789 return
expect_lint "configuration 3 (both halves)" 0 ""
exit $fail
