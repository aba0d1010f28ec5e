#!/usr/bin/env bash
# `policyc lint --live` on state written by the real tools (iptables-legacy, ip) in a scratch
# namespace: scenario S4's configurations 1 and 2 (owner match -> mark -> ip rule into a VXLAN
# tunnel) must be reported as owner-mark-leak at mangle OUTPUT rule 1 (exit 1); configuration 3
# (both halves of the exclusion) must not. policyc runs under `nsenter --net` so it reads that
# namespace only.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
policyc=$1
ns="pcx-live-$$"
trap 'ip netns del "$ns" 2>/dev/null' EXIT
fail=0
lint() { nsenter --net="/run/netns/$ns" "$policyc" lint --live --format json; }
summary() {  # prints the owner-mark-leak locations of a JSON lint result
    python3 -c 'import json,sys
for f in json.load(sys.stdin)["findings"]:
    if f["code"] == "owner-mark-leak": print("%s/%s#%s" % (f["table"], f["chain"], f["rule"]))'
}

ip netns add "$ns"
s4_client_links "$ns"
ip netns exec "$ns" iptables-legacy -t mangle -A OUTPUT -m owner --uid-owner 1000 -j MARK --set-mark 1
ip netns exec "$ns" iptables-legacy -t nat -A POSTROUTING -o vlan3 -m mark --mark 1 -j SNAT --to-source 10.0.0.3
ip -n "$ns" rule add fwmark 1 table 3
ip -n "$ns" route add default via 10.0.0.1 dev vlan3 table 3
expect_lint "configuration 1 (no exclusion)" 1 "mangle/OUTPUT#1 "
ip -n "$ns" rule add priority 100 to 192.168.1.2 lookup main
expect_lint "configuration 2 (route exclusion only)" 1 "mangle/OUTPUT#1 "
ip netns exec "$ns" iptables-legacy -t mangle -I OUTPUT -d 192.168.1.2 -p udp --dport 4789 -j RETURN
expect_lint "configuration 3 (both halves)" 0 ""
exit $fail
