#!/usr/bin/env bash
# Proves every rendering of one golden case with the real tools, each in a fresh namespace:
# HOST.iptables / HOST.ip6tables through iptables-legacy-restore/-save, HOST.nft through
# nft -f / nft list ruleset, HOST.routes through ip -batch / ip -j rule|route (with the host's
# interfaces created as veths), HOST.sysctl through sysctl -p in a netns. The renderings must
# list back unchanged.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
# usage: golden_kernel.sh POLICYC FILE.pol EXPECTED_DIR (policyc gives the hosts' interfaces)
policyc=$1 pol=$2 expected=$3
fail=0
check() {  # name, command...
    local name=$1; shift
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then echo "ok: $name"; else echo "FAIL: $name (exit $rc)"; echo "$out"; fail=1; fi
}
for rendering in "$expected"/*.iptables; do
    host=$(basename "$rendering" .iptables)
    dir=$expected
    [ -s "$dir/$host.iptables" ] && check "$host.iptables" "$here/ipt_oracle.sh" 4 "$dir/$host.iptables"
    [ -s "$dir/$host.ip6tables" ] && check "$host.ip6tables" "$here/ipt_oracle.sh" 6 "$dir/$host.ip6tables"
    if [ -s "$dir/$host.nft" ]; then
        if grep -q 'socket cgroupv2' "$dir/$host.nft"; then
            check "$host.nft (cgroup stand-in)" nft_oracle_with_cgroups "$here/nft_oracle.sh" "$dir/$host.nft"
        else
            check "$host.nft" "$here/nft_oracle.sh" "$dir/$host.nft"
        fi
    fi
    if [ -s "$dir/$host.routes" ] || [ -s "$dir/$host.routes6" ] || [ -s "$dir/$host.sysctl" ]; then
        mapfile -t ifaces < <("$policyc" build "$pol" --host "$host" --emit json | python3 -c '
import json,sys
h=json.load(sys.stdin)
for i in h.get("interfaces",[]):
    if i["name"]!="lo": print(i["name"]+"="+",".join(i.get("addresses",[])))')
        [ -s "$dir/$host.routes" ] && check "$host.routes" python3 "$here/routes_oracle.py" "$dir/$host.routes" "${ifaces[@]}"
        [ -s "$dir/$host.routes6" ] && check "$host.routes6" python3 "$here/routes_oracle.py" -6 "$dir/$host.routes6" "${ifaces[@]}"
        [ -s "$dir/$host.sysctl" ] && check "$host.sysctl" "$here/sysctl_oracle.sh" "$dir/$host.sysctl" "${ifaces[@]}"
    fi
done
exit $fail
