#!/usr/bin/env bash
# Faithfulness of `policyc import --from iptables-save` on real dumps
# (../shared/conformance/iptables/save-dumps): each dump is loaded with iptables-legacy-restore in
# one scratch namespace, its import -> .pol -> `build --emit iptables|ip6tables` in another, and
# both listings (iptables-legacy-save, '#' lines dropped, counters zeroed) must be identical.
# A dump with constructs policyc does not support must fail the import with located
# unsupported-construct errors only; it is reported as not importable and counted.
# usage: round_trip.sh POLICYC DUMP_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kernel/netns_lib.sh"
policyc=$1 dumps=$2
if [ ! -d "$dumps" ]; then
    echo "FAIL: conformance dumps not found at $dumps (CI always has ../shared/conformance)" >&2
    exit 1
fi
require_netns
work=$(mktemp -d)
namespaces=()
cleanup() {
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

# usage: listing RESTORE SAVE FILE OUT -> loads FILE in a fresh namespace, lists it into OUT
# Nothing is equated: -m state, a bare -m tcp and the comment's place have .pol spellings.
listing() {
    local ns="pcx-import-$$-${#namespaces[@]}"
    ip netns add "$ns" || return 1
    namespaces+=("$ns")
    ip netns exec "$ns" "$1" < "$3" > "$work/restore.err" 2>&1 || { cat "$work/restore.err"; return 1; }
    ip netns exec "$ns" "$2" | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]/[0:0]/' |
        awk '/^\*/{name=$0} {blocks[name]=blocks[name] $0 "\n"}
             END {n=split("*raw *mangle *nat *filter *security", order, " ")
                  for (i=1;i<=n;i++) if (order[i] in blocks) printf "%s", blocks[order[i]]}' > "$4"
}

total=0 trips=0 unsupported=0 failed=0
for dump in "$dumps"/*; do
    name=$(basename "$dump")
    # iptables-xml output lives next to the dumps; it is not iptables-save text.
    if [ "$(sed -n '/[^[:space:]]/{s/^[[:space:]]*\(.\).*/\1/p;q}' "$dump")" = "<" ]; then
        echo "skip $name: iptables-xml output, not an iptables-save dump"
        continue
    fi
    total=$((total + 1))
    if ! "$policyc" import --from iptables-save "$dump" > "$work/$name.pol" 2> "$work/$name.err"; then
        errors=$(grep -E ': error: ' "$work/$name.err")
        if [ -n "$errors" ] && ! grep -qv '\[unsupported-construct\]$' <<<"$errors"; then
            unsupported=$((unsupported + 1))
            echo "not importable: $(head -1 <<<"$errors")"
        else
            failed=$((failed + 1))
            echo "FAIL $name: import failed for another reason than an unsupported construct:"
            cat "$work/$name.err"
        fi
        continue
    fi
    if grep -q '^    table ip6 ' "$work/$name.pol"; then
        emit=ip6tables restore=ip6tables-legacy-restore save=ip6tables-legacy-save
    else
        emit=iptables restore=iptables-legacy-restore save=iptables-legacy-save
    fi
    if ! "$policyc" build "$work/$name.pol" --emit "$emit" > "$work/$name.rules" 2> "$work/$name.err"; then
        failed=$((failed + 1)); echo "FAIL $name: the imported .pol does not build:"; cat "$work/$name.err"
        continue
    fi
    if ! listing "$restore" "$save" "$dump" "$work/$name.want"; then
        failed=$((failed + 1)); echo "FAIL $name: $restore refuses the original dump"; continue
    fi
    if ! listing "$restore" "$save" "$work/$name.rules" "$work/$name.got"; then
        failed=$((failed + 1)); echo "FAIL $name: $restore refuses policyc's rendering"; continue
    fi
    if diff -u "$work/$name.want" "$work/$name.got" > "$work/$name.diff"; then
        trips=$((trips + 1)); echo "ok $name"
    else
        failed=$((failed + 1)); echo "FAIL $name: listings differ (original, policyc):"
        cat "$work/$name.diff"
    fi
done
echo "$trips of $total dumps round trip; $unsupported not importable; $failed failed"
[ "$failed" = 0 ]
