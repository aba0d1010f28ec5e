#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Oracle for the nft text renderer: loads FILE with `nft -f` into a scratch network namespace and
# checks that `nft list ruleset` prints FILE back unchanged.
# usage: nft_oracle.sh FILE
#   NFT_ORACLE_CURRENT_NETNS=1: the caller already runs this in a fresh network namespace of its
#   own (unshare -n), e.g. to keep a private mount namespace that `ip netns exec` would replace.
# Exit: 0 equal, 1 differ (unified diff on stdout), 2 load failed (nft's error on stderr),
#       77 cannot run here (not root, no netns support or no nft).
set -u

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: $0 FILE.nft" >&2
    exit 2
fi
file=$1
own_ns=${NFT_ORACLE_CURRENT_NETNS:-}

if [ "$(id -u)" -ne 0 ]; then
    echo "nft_oracle: skipped: needs root for a scratch network namespace" >&2
    exit 77
fi
if ! command -v nft >/dev/null 2>&1 || { [ -z "$own_ns" ] && ! command -v ip >/dev/null 2>&1; }
then
    echo "nft_oracle: skipped: nft or ip not installed" >&2
    exit 77
fi

ns="pcx-nft-oracle-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
tmp=$(mktemp -d) || exit 2
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
    [ -n "$own_ns" ] || ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

in_ns() {
    if [ -n "$own_ns" ]; then
        "$@"
    else
        ip netns exec "$ns" "$@"
    fi
}

if [ -z "$own_ns" ] && ! ip netns add "$ns" 2>"$tmp/netns.err"; then
    echo "nft_oracle: skipped: cannot create a network namespace:" >&2
    cat "$tmp/netns.err" >&2
    exit 77
fi
if [ -n "$(in_ns nft list ruleset 2>/dev/null)" ]; then
    echo "nft_oracle: the namespace is not fresh: it already has a ruleset" >&2
    exit 2
fi

if ! in_ns nft -f "$file" 2>"$tmp/load.err"; then
    echo "nft_oracle: nft -f $file failed:" >&2
    cat "$tmp/load.err" >&2
    exit 2
fi
if ! in_ns nft list ruleset >"$tmp/listed" 2>"$tmp/list.err"; then
    echo "nft_oracle: nft list ruleset failed:" >&2
    cat "$tmp/list.err" >&2
    exit 2
fi

# Counters of a fresh namespace stay at zero unless traffic crosses it; zero them anyway so
# that a stray packet (none is sent) could never make the comparison flaky.
sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter packets 0 bytes 0/g' "$tmp/listed" \
    >"$tmp/sanitized"

if diff -u --label "$file" --label "nft list ruleset" "$file" "$tmp/sanitized"; then
    exit 0
fi
exit 1
