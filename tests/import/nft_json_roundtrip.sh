#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Faithfulness of `policyc import --from nft-json`: every golden/sample HOST.nft is loaded with
# `nft -f` in one scratch namespace and dumped with `nft -j list ruleset`; that JSON is imported
# to .pol, built again with `--emit nft` and loaded in a second namespace; both `nft list ruleset`
# listings must be identical (nft is the oracle on both sides). The JSON holds no ip rules, so
# when the imported .pol does not build for want of them (tproxy-no-local-route), the golden
# host's own HOST.routes lines are added to it as `rule`/`route` statements and it is built again.
# usage: nft_json_roundtrip.sh POLICYC EXPECTED_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kernel/netns_lib.sh"
policyc=$1 expected=$2
require_netns
command -v unshare >/dev/null 2>&1 || { echo "SKIP: no unshare(1)" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

# usage: in_scratch FILE.nft OUT_LIST [OUT_JSON] -> loads FILE in fresh private mount and network
# namespaces (gone when the command ends) and lists the ruleset. /sys/fs/cgroup is a tmpfs with
# the directories the file names, since nft resolves `socket cgroupv2` paths there both ways.
in_scratch() {  # shared with nft_json_lint_s4.sh
    local dirs
    dirs=$(grep -o 'socket cgroupv2 level [0-9]* \(!= \)\?"[^"]*"' "$1" | sed 's/.*"\(.*\)"/\1/' |
        sort -u)
    # shellcheck disable=SC2016  # $0, $1 ... belong to the inner shell
    unshare -m -n --propagation private sh -c '
        file=$0 list=$1 json=$2; shift 2
        mount -t tmpfs policyc-cgroup-stand-in /sys/fs/cgroup || exit 77
        for d in "$@"; do mkdir -p "/sys/fs/cgroup/$d" || exit 77; done
        nft -f "$file" || exit 1
        nft list ruleset | sed -E "s/packets [0-9]+ bytes [0-9]+/packets 0 bytes 0/" > "$list"
        if [ -n "$json" ]; then nft -j list ruleset > "$json" || exit 1; fi' \
        "$1" "$2" "${3:-}" $dirs
}

# usage: with_routes HOST.nft FILE.pol -> adds HOST.routes (ip -batch) as statements of the host
with_routes() {
    local routes=${1%.nft}.routes
    [ -s "$routes" ] || return 1
    sed -e 's/^\(rule\|route\) add /\1 /' -e 's/ \(protocol\|proto\) 211$//' -e 's/^/    /' \
        "$routes" > "$2.routing"
    sed -i '$d' "$2" && cat "$2.routing" >> "$2" && echo '}' >> "$2"
}

total=0 trips=0 failed=0
for nft in "$expected"/*/*.nft; do
    [ -s "$nft" ] || continue
    case=$(basename "$(dirname "$nft")") host=$(basename "$nft" .nft)
    name="$case/$host" base="$work/${case}_$host"
    total=$((total + 1))
    fail() { failed=$((failed + 1)); echo "FAIL $name: $1"; [ -n "${2:-}" ] && cat "$2"; }
    if ! in_scratch "$nft" "$base.want" "$base.json" 2> "$base.err"; then
        fail "nft -f refuses the golden rendering" "$base.err"; continue
    fi
    if ! "$policyc" import --from nft-json "$base.json" > "$base.pol" 2> "$base.err"; then
        fail "import --from nft-json failed" "$base.err"; continue
    fi
    if ! "$policyc" build "$base.pol" --emit nft > "$base.again.nft" 2> "$base.err" &&
        { ! grep -q 'tproxy-no-local-route' "$base.err" || ! with_routes "$nft" "$base.pol" ||
            ! "$policyc" build "$base.pol" --emit nft > "$base.again.nft" 2> "$base.err"; }; then
        fail "the imported .pol does not build" "$base.err"; cat "$base.pol"; continue
    fi
    if ! in_scratch "$base.again.nft" "$base.got" 2> "$base.err"; then
        fail "nft -f refuses the rendering of the imported .pol" "$base.err"; continue
    fi
    if diff -u "$base.want" "$base.got" > "$base.diff"; then
        trips=$((trips + 1)); echo "ok $name"
    else
        fail "listings differ (want: original, got: after import)" "$base.diff"
    fi
done
echo "nft-json round trip: $total renderings, $trips identical, $failed failed"

[ "$failed" = 0 ] && [ "$total" -gt 0 ]
