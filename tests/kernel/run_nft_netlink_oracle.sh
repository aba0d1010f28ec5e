#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/nft_netlink_oracle: in private mount and network namespaces (a tmpfs stands
# in for /sys/fs/cgroup, so cgroup paths resolve to the same inodes for both sides), has the unit
# test binary write every golden host's renderNft() text (NAME.nft) and the nft backend's objects
# as libnftnl prints them (NAME.netlink), and compares the latter with what
# `nft --debug=netlink -c -f NAME.nft` prints. Exit: 0 equal, 1 differ, 77 cannot run here.
set -u
bin=${1:-}
if [ -z "$bin" ] || [ ! -x "$bin" ]; then echo "usage: $0 UNIT_TEST_BINARY" >&2; exit 2; fi
if [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root" >&2; exit 77; fi
command -v nft >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2016  # expanded by the inner shell
unshare -m -n --propagation private sh -c '
    bin=$0 dir=$1
    mount -t tmpfs policyc-cgroup-stand-in /sys/fs/cgroup || exit 77
    POLICYC_NFT_CGROUP_ROOT=/sys/fs/cgroup POLICYC_ORACLE_DIR="$dir" \
        "$bin" --write-fixtures=nft_netlink || exit 1
    status=0
    for f in "$dir"/*.nft; do
        n=${f%.nft}
        nft --debug=netlink -c -f "$f" 2>&1 | grep -v "(null)" >"$n.oracle"
        if diff -u "$n.oracle" "$n.netlink"; then echo "ok: $(basename "$n")"
        else echo "FAIL: $(basename "$n")"; status=1; fi
    done
    exit $status' "$bin" "$tmp"
