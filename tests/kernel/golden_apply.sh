#!/usr/bin/env bash
# Proves `policyc apply` against the real tools, per host of one policy, with one backend:
#  - apply: namespace A gets `policyc apply --backend B`; namespace B gets the same policy's text
#    renderings loaded by iptables-legacy-restore / nft -f, ip -batch / ip -6 -batch and
#    sysctl -p. Every listing (legacy tables, nft ruleset, ip rules, routes, the sysctls) must be
#    the same in both, and `policyc diff` in B (policyc's decoders reading what the real tools
#    wrote) must find nothing to change.
#  - rollback: namespace A holds foreign and older state; apply with a failure injected before its
#    last step must exit 1, say which steps it rolled back, and leave every listing as before.
#  - diff: on the fresh namespace `policyc diff` exits 1 and shows every line of the renderings
#    as added; `apply --dry-run` exits 0 and changes no listing; after apply, diff exits 0 and
#    prints nothing; a rule added by hand to a policyc chain is shown as a removed line (drift),
#    and the next apply removes it.
# policyc runs under `nsenter --net` (not `ip netns exec`, which remounts /sys) so that it sees
# the machine's real mounts, the cgroup2 hierarchy among them.
# usage: golden_apply.sh POLICYC FILE.pol legacy|nft apply|rollback|diff
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
policyc=$1 pol=$2 backend=$3 mode=$4
work=$(mktemp -d)
export POLICYC_STATE_DIR=$work/state  # apply's saved state for --rollback: not /var/lib/policyc
nsA="pcx-apA-$$" nsB="pcx-apB-$$"
cleanup() {
    ip netns del "$nsA" 2>/dev/null; ip netns del "$nsB" 2>/dev/null; rm -rf "$work"
    release_cgroups
}
trap cleanup EXIT
"$policyc" build "$pol" -o "$work/out" > /dev/null || exit 1
# Foreign state, and an older policyc state, that a rolled-back apply must leave as found.
# Legacy tables are created by the first sockopt that names them and can never be removed, so
# a rollback can restore their contents but not their absence: the old state has them all, as a
# real host that ran iptables has.
populate_old_state() {
    for t in raw mangle nat filter; do
        ip netns exec "$1" iptables-legacy -t "$t" -S > /dev/null
        ip netns exec "$1" ip6tables-legacy -t "$t" -S > /dev/null
    done
    ip netns exec "$1" iptables-legacy -A INPUT -s 203.0.113.9 -j DROP
    ip netns exec "$1" ip6tables-legacy -t mangle -A OUTPUT -j MARK --set-mark 0x77
    ip netns exec "$1" nft add table inet foreign
    ip netns exec "$1" nft add table inet policyc
    ip netns exec "$1" nft add chain inet policyc old '{ type filter hook input priority 0; }'
    ip netns exec "$1" nft add rule inet policyc old tcp dport '{ 22, 80, 8000-8080 }' ip saddr '{ 10.0.0.0/8, 192.168.1.1 }' accept
    ip -n "$1" rule add priority 4321 fwmark 0x99 lookup 99 protocol 211
    ip -n "$1" route add blackhole 198.51.100.0/24 table 99 proto 211
    ip netns exec "$1" sysctl -q -w net.ipv4.conf.all.rp_filter=1
}
# The drift a hand-written rule makes in the first policyc chain of the backend's rendering
# (prints nothing when the host has no table for this backend). The mark is the marker.
add_drift() {
    local ns=$1 r=$2
    if [ "$backend" = nft ]; then
        [ -s "$r.nft" ] || return 0
        local fam chain
        fam=$(sed -n 's/^table \([a-z0-9]*\) policyc {$/\1/p' "$r.nft" | head -1)
        chain=$(sed -n 's/^\tchain \([^ ]*\) {$/\1/p' "$r.nft" | head -1)
        ip netns exec "$ns" nft add rule "$fam" policyc "$chain" meta mark 0x7777 accept
    else
        local file=$r.iptables tool=iptables-legacy
        [ -s "$file" ] || { file=$r.ip6tables; tool=ip6tables-legacy; }
        [ -s "$file" ] || return 0
        # a chain policyc owns whole: the first with a rule other than a jump to a POLICYC-
        # chain (a built-in chain that only holds that jump keeps other tools' rules)
        local table chain
        read -r table chain < <(awk '/^\*/ {t = substr($1, 2)} /^-A / && !/ -j POLICYC-/ {print t, $2; exit}' "$file")
        [ -n "$chain" ] || return 0
        ip netns exec "$ns" "$tool" -t "$table" -A "$chain" -m mark --mark 0x7777 -j ACCEPT
    fi
    echo drift
}

check_diff() {
    local host=$1 r=$2 ok=0 rc
    run() { nsenter --net="/run/netns/$nsA" "$policyc" "$@" "$pol" --host "$host" --backend "$backend"; }
    run diff > "$work/diff" 2> "$work/log"; rc=$?
    if [ $rc -ne 1 ]; then echo "FAIL: $host: diff on an empty namespace exited $rc, want 1"; cat "$work/log"; ok=1; fi
    local files=("$r.routes" "$r.routes6")
    if [ "$backend" = nft ]; then files+=("$r.nft"); else files+=("$r.iptables" "$r.ip6tables"); fi
    for f in "${files[@]}"; do
        [ -s "$f" ] || continue
        while IFS= read -r line; do
            [ -z "$line" ] && continue
            grep -qxF -- "+$line" "$work/diff" ||
                { echo "FAIL: $host: diff does not show '$line' of $(basename "$f") as added"; ok=1; }
        done < "$f"
    done
    kernel_listing "$nsA" "$r.sysctl" > "$work/before"
    run apply --dry-run > "$work/dry" 2> "$work/log"; rc=$?
    kernel_listing "$nsA" "$r.sysctl" > "$work/after"
    if [ $rc -ne 0 ]; then echo "FAIL: $host: apply --dry-run exited $rc"; cat "$work/log"; ok=1; fi
    diff -u --label before --label "after --dry-run" "$work/before" "$work/after" ||
        { echo "FAIL: $host: apply --dry-run changed the namespace"; ok=1; }
    cmp -s "$work/dry" "$work/diff" || { echo "FAIL: $host: --dry-run printed another diff than diff"; ok=1; }
    run apply > "$work/log" 2>&1 || { echo "FAIL: $host: apply failed"; cat "$work/log"; ok=1; }
    run diff > "$work/diff" 2> "$work/log"; rc=$?
    if [ $rc -ne 0 ] || [ -s "$work/diff" ]; then
        echo "FAIL: $host: diff after apply exited $rc, want 0 and no output:"; cat "$work/diff" "$work/log"; ok=1
    fi
    if [ -n "$(add_drift "$nsA" "$r")" ]; then
        run diff > "$work/diff" 2> "$work/log"; rc=$?
        if [ $rc -ne 1 ] || ! grep -q '^-.*0x0*7777' "$work/diff"; then
            echo "FAIL: $host: a hand-added rule is not shown as drift (exit $rc):"; cat "$work/diff"; ok=1
        fi
        run apply > "$work/log" 2>&1 || { echo "FAIL: $host: apply over drift failed"; cat "$work/log"; ok=1; }
        run diff > /dev/null 2>&1 || { echo "FAIL: $host: diff after the drift's apply is not clean"; ok=1; }
        kernel_listing "$nsA" | grep -q '0x0*7777' && { echo "FAIL: $host: apply kept the drift"; ok=1; }
    fi
    [ $ok -eq 0 ] && echo "ok: $host: diff shows everything, --dry-run changes nothing, apply makes diff clean, drift is shown and removed ($backend)"
    return $ok
}

fail=0
for rendering in "$work"/out/*.iptables; do
    host=$(basename "$rendering" .iptables)
    r="$work/out/$host"
    mapfile -t ifaces < <(python3 -c '
import json,sys
for i in json.load(open(sys.argv[1])).get("interfaces",[]):
    print(i["name"]+"="+",".join(i.get("addresses",[])))' "$r.json")
    # cgroups the policy matches must exist (the kernel resolves them when a rule is loaded);
    # they are made in the real cgroup2 hierarchy and removed again (hold_cgroups).
    mapfile -t cgroups < <(python3 -c '
import json,sys
def walk(x):
    if isinstance(x, dict):
        if x.get("match") == "cgroup": print(x["path"].strip("/"))
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(json.load(open(sys.argv[1])))' "$r.json" | sort -u)
    cg2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo 2>/dev/null ||
          findmnt -n -t cgroup2 -o TARGET | head -1)
    [ -z "$cg2" ] && cg2=$(findmnt -n -t cgroup2 -o TARGET | head -1)
    if [ -n "$cg2" ] && [ ${#cgroups[@]} -gt 0 ]; then
        hold_cgroups "$cg2" "${cgroups[@]}" || { echo "FAIL: cannot create cgroups ${cgroups[*]}"; exit 1; }
    fi
    ip netns add "$nsA" && ip netns add "$nsB" || exit 1
    make_ifaces "$nsA" "${ifaces[@]}" && make_ifaces "$nsB" "${ifaces[@]}" || exit 1

    if [ "$mode" = diff ]; then
        check_diff "$host" "$r" || fail=1
    elif [ "$mode" = apply ]; then
        if ! nsenter --net="/run/netns/$nsA" "$policyc" apply --backend "$backend" "$pol" --host "$host" > "$work/log" 2>&1; then
            echo "FAIL: $host: policyc apply --backend $backend failed:"; cat "$work/log"; fail=1
        fi
        if [ "$backend" = legacy ]; then
            [ -s "$r.iptables" ] && ip netns exec "$nsB" iptables-legacy-restore < "$r.iptables"
            [ -s "$r.ip6tables" ] && ip netns exec "$nsB" ip6tables-legacy-restore < "$r.ip6tables"
        else
            # nft 1.0.6 resolves cgroups below /sys/fs/cgroup only: give it the cgroup2
            # hierarchy there in a private mount namespace
            [ -s "$r.nft" ] && ip netns exec "$nsB" unshare -m --propagation private sh -c \
                'mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null; exec nft -f "$0"' "$r.nft"
        fi
        [ -s "$r.routes" ] && ip -n "$nsB" -batch "$r.routes"
        [ -s "$r.routes6" ] && ip -n "$nsB" -6 -batch "$r.routes6"
        [ -s "$r.sysctl" ] && ip netns exec "$nsB" sysctl -q -p "$r.sysctl"
        # What the real tools wrote, read back by policyc's own decoders, is the compiled host:
        # diff in B finds nothing to change.
        if ! nsenter --net="/run/netns/$nsB" "$policyc" diff --backend "$backend" "$pol" --host "$host" > "$work/tooldiff" 2>&1; then
            echo "FAIL: $host: policyc diff sees a difference in what the real tools loaded:"; cat "$work/tooldiff"; fail=1
        fi
        kernel_listing "$nsA" "$r.sysctl" > "$work/A"
        kernel_listing "$nsB" "$r.sysctl" > "$work/B"
        if diff -u --label "real tools ($host)" --label "policyc apply --backend $backend ($host)" "$work/B" "$work/A"; then
            echo "ok: $host: policyc apply --backend $backend lists back like the real tools' load"
        else
            fail=1
        fi
    else
        # A first, uninjected apply names the steps; its namespace is then made anew.
        last=$(nsenter --net="/run/netns/$nsA" "$policyc" apply --backend "$backend" "$pol" --host "$host" 2>/dev/null |
               sed -n 's/^applied: //p' | tail -1)
        ip netns del "$nsA"; ip netns add "$nsA"; make_ifaces "$nsA" "${ifaces[@]}"
        populate_old_state "$nsA"
        kernel_listing "$nsA" "$r.sysctl" > "$work/before"
        if [ -z "$last" ]; then
            echo "FAIL: $host: the uninjected apply applied no step"; fail=1
        else
            POLICYC_INJECT_FAILURE="$last" nsenter --net="/run/netns/$nsA" "$policyc" apply --backend "$backend" "$pol" --host "$host" > "$work/log" 2>&1
            rc=$?
            kernel_listing "$nsA" "$r.sysctl" > "$work/after"
            if [ $rc -ne 1 ]; then echo "FAIL: $host: injected failure exited $rc, want 1"; cat "$work/log"; fail=1
            elif ! grep -q "^rolled back: " "$work/log"; then echo "FAIL: $host: nothing was rolled back"; cat "$work/log"; fail=1
            elif ! diff -u --label before --label "after rollback" "$work/before" "$work/after"; then
                echo "FAIL: $host: the rollback did not restore the namespace"; fail=1
            else
                echo "ok: $host: failure before '$last' rolled back $(grep -c '^rolled back: ' "$work/log") steps; namespace as before"
            fi
        fi
    fi
    ip netns del "$nsA"; ip netns del "$nsB"
done
exit $fail
