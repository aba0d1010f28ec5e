#!/usr/bin/env bash
# `policyc lint --live` against the analyzer's own cases, on state the real tools wrote: every
# tests/golden/lint/*.pol is built, its renderings are loaded into a scratch namespace by the
# real tools (iptables-legacy-restore / ip6tables-legacy-restore or nft -f, ip -batch, sysctl -p;
# links as the policy declares them, VXLAN tunnels as vxlan links), and lint --live must report
# the same finding codes as `policyc lint FILE.pol` (positions differ: live findings name table,
# chain and rule). Cases the live state cannot carry are skipped with the reason: several hosts
# (site-mismatch), @allow suppressions, WireGuard links (this kernel has no wireguard module),
# and files that do not compile.
# usage: lint_live_golden.sh POLICYC legacy|nft
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
policyc=$1 backend=$2
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
ns="pcx-llg-$$"
trap 'ip netns del "$ns" 2>/dev/null; release_cgroups; rm -rf "$work"' EXIT
# cgroup matches name paths the kernel resolves when the rule is loaded
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
codes() {  # the sorted, unique finding codes of a JSON lint result, not-analysed notes aside
    python3 -c 'import json,sys
print(" ".join(sorted({f["code"] for f in json.load(sys.stdin)["findings"] if f["code"] != "not-analysed"})))'
}
# nft -f inside $ns. nft 1.0.6 resolves a cgroup path under /sys/fs/cgroup, where this machine
# has cgroup v1 (v2 is at /sys/fs/cgroup/unified): a private mount namespace binds the real
# cgroup2 root there, so the rule names the real cgroup, as policyc's own apply does.
nft_load() {
    # shellcheck disable=SC2016  # $0 and $1 belong to the inner shell
    nsenter --net="/run/netns/$ns" unshare -m --propagation private sh -c '
        if [ -n "$1" ]; then mount --bind "$1" /sys/fs/cgroup || exit 2; fi
        exec nft -f "$0"' "$1" "${cgroot:-}"
}
pass=0 fail=0 skipped=0
for pol in "$root"/tests/golden/lint/*.pol; do
    name=$(basename "$pol" .pol)
    why=
    grep -q '@allow' "$pol" && why="an @allow suppression lives in the .pol only"
    grep -q 'kind wireguard' "$pol" && why="this kernel has no wireguard link type"
    rm -rf "$work/out"
    if [ -z "$why" ] && ! "$policyc" build "$pol" -o "$work/out" > /dev/null 2>&1; then
        why="build refuses it (a front-end error or an error finding; tests/kernel/lint_live.sh writes S4's leaks by hand)"
    fi
    if [ -z "$why" ] && [ "$(ls "$work"/out/*.json | wc -l)" -ne 1 ]; then
        why="several hosts (site checks span hosts)"
    fi
    if [ -n "$why" ]; then
        echo "skip: $name: $why"; skipped=$((skipped + 1)); continue
    fi
    r=${work}/out/$(basename "$work"/out/*.json .json)
    cgroups=$(sed -n 's/.*cgroup "\([^"]*\)".*/\1/p' "$pol")
    if [ -n "$cgroups" ]; then
        [ -n "$cgroot" ] || { echo "FAIL: $name: no cgroup2 mount for its cgroup match"; fail=$((fail + 1)); continue; }
        # shellcheck disable=SC2086
        hold_cgroups "$cgroot" $cgroups || { echo "FAIL: cannot make cgroups $cgroups"; exit 1; }
    fi
    ip netns add "$ns" || exit 1
    ip -n "$ns" link set lo up
    # links: ethernet-like ones as veth, VXLAN tunnels as vxlan links with their underlay
    python3 - "$r.json" > "$work/links" <<'PY'
import json, sys
for i in json.load(open(sys.argv[1])).get("interfaces", []):
    addrs = ",".join(i.get("addresses", []))
    if i.get("kind") == "vxlan":
        print("vxlan %s %s %s %s %s" % (i["name"], i.get("underlayLocal", "-"),
              i.get("underlayRemote", "-"), i.get("underlayPort", 4789), addrs or "-"))
    else:
        print("veth %s %s" % (i["name"], addrs or "-"))
PY
    n=0
    first=
    while read -r kind link a b c d; do
        if [ "$kind" = veth ]; then
            ip -n "$ns" link add "$link" type veth peer name "pcxl$n"; n=$((n + 1))
            addrs=$a
            [ -z "$first" ] && first=$link
        else
            args=(id 42 dstport "$c")
            [ "$a" != - ] && args+=(local "$a")
            [ "$b" != - ] && args+=(remote "$b")
            ip -n "$ns" link add "$link" type vxlan "${args[@]}"
            addrs=$d
        fi
        ip -n "$ns" link set "$link" up
        [ "$addrs" != - ] && for x in ${addrs//,/ }; do
            case $x in *:*) ip -n "$ns" addr add "$x" dev "$link" nodad ;;
                        *) ip -n "$ns" addr add "$x" dev "$link" ;; esac
        done
    done < "$work/links"
    # The analysis of a .pol takes a routing table it lists no route for (main, usually) to
    # route everything; a real host's main has its default route. Without one, a tunnel's
    # remote end is unreachable and the route half of the S4 exclusion does nothing.
    [ -n "$first" ] && ip -n "$ns" route add default dev "$first"
    # underlay addresses a VXLAN link names as local must exist for its routes
    if [ "$backend" = legacy ]; then
        if { [ -s "$r.iptables" ] && ! ip netns exec "$ns" iptables-legacy-restore < "$r.iptables"; } ||
            { [ -s "$r.ip6tables" ] && ! ip netns exec "$ns" ip6tables-legacy-restore < "$r.ip6tables"; }; then
            echo "FAIL: $name: iptables-legacy-restore refuses what build rendered"; fail=$((fail + 1))
            ip netns del "$ns"
            continue
        fi
    elif grep -q '^# expect: .* legacy-only-hook$' "$pol"; then
        # what the finding says: nf_tables refuses the rule, so nothing of it is live to lint
        if nft_load "$r.nft" 2> "$work/nft-err"; then
            echo "FAIL: $name: nft loaded a rule legacy-only-hook says it refuses"; fail=$((fail + 1))
        elif grep -q 'Operation not supported' "$work/nft-err"; then
            echo "ok: $name: nft refuses it, as legacy-only-hook says ($(head -n 1 "$work/nft-err"))"
            pass=$((pass + 1))
        else
            echo "FAIL: $name: nft refused it for another reason:"; cat "$work/nft-err"
            fail=$((fail + 1))
        fi
        ip netns del "$ns"
        continue
    elif [ -s "$r.nft" ] && ! nft_load "$r.nft"; then
        echo "FAIL: $name: nft -f refuses what build rendered"; fail=$((fail + 1))
        ip netns del "$ns"
        continue
    fi
    [ -s "$r.routes" ] && ip -n "$ns" -batch "$r.routes"
    [ -s "$r.routes6" ] && ip -n "$ns" -6 -batch "$r.routes6"
    [ -s "$r.sysctl" ] && ip netns exec "$ns" sysctl -q -p "$r.sysctl"
    want=$("$policyc" lint --format json "$pol" | codes)
    got=$(nsenter --net="/run/netns/$ns" "$policyc" lint --live --format json | codes)
    if [ "$want" = "$got" ]; then
        echo "ok: $name: lint --live finds '${want}' ($backend)"; pass=$((pass + 1))
    else
        echo "FAIL: $name: lint --live finds '$got', lint of the .pol '$want' ($backend)"
        fail=$((fail + 1))
    fi
    ip netns del "$ns"
done
# tproxy-no-local-route, which build refuses to render, written by hand: a TPROXY mark routed
# to a table without the `local default` route (then with it: clean).
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
if [ "$backend" = legacy ]; then
    ip netns exec "$ns" iptables-legacy -t mangle -A PREROUTING -p tcp --dport 80 \
        -j TPROXY --on-port 8000 --tproxy-mark 0x1/0x1
else
    ip netns exec "$ns" nft -f - <<'NFT'
table ip handmade {
    chain pre {
        type filter hook prerouting priority mangle; policy accept;
        tcp dport 80 tproxy to :8000 meta mark set 0x1 accept
    }
}
NFT
fi
ip -n "$ns" rule add fwmark 0x1/0x1 lookup 100
for state in without with; do
    [ "$state" = with ] && ip -n "$ns" route add local default dev lo table 100
    got=$(nsenter --net="/run/netns/$ns" "$policyc" lint --live --format json | codes)
    want=tproxy-no-local-route; [ "$state" = with ] && want=
    if [ "$got" = "$want" ]; then
        echo "ok: hand-written TPROXY $state the local route: lint --live finds '$got' ($backend)"
        pass=$((pass + 1))
    else
        echo "FAIL: hand-written TPROXY $state the local route: lint --live finds '$got', want '$want'"
        fail=$((fail + 1))
    fi
done
ip netns del "$ns"

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
