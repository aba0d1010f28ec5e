#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/nft_text_oracle: has the unit test binary write every nft_text fixture
# rendering (NAME.nft) and checks each with nft_oracle.sh (load, list back, compare).
# usage: run_nft_fixture_oracle.sh UNIT_TEST_BINARY
# Exit: 0 all equal, 1 some differ or failed to load, 77 cannot run here (not root, no netns).
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 UNIT_TEST_BINARY" >&2
    exit 2
fi
unit=$1
here=$(cd "$(dirname "$0")" && pwd)
oracle="$here/nft_oracle.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "run_nft_fixture_oracle: skipped: needs root for scratch network namespaces" >&2
    exit 77
fi

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

if ! POLICYC_ORACLE_DIR="$tmp" "$unit" -tc='nft_text: write fixtures*' >"$tmp/unit.log" 2>&1
then
    cat "$tmp/unit.log" >&2
    exit 1
fi

# nft 1.0.6 resolves `socket cgroupv2 level N "path"` to the inode of /sys/fs/cgroup/path at
# load time and back at listing time. Hosts with cgroup2 elsewhere (this project's hybrid
# layout mounts it at /sys/fs/cgroup/unified) cannot load it as is, so that fixture runs in
# private mount and network namespaces whose /sys/fs/cgroup is a tmpfs holding the directories
# it names: that proves the spelling and the path round trip, not the cgroup's kernel semantics.
# (`ip netns exec` would remount /sys, hence unshare and NFT_ORACLE_CURRENT_NETNS.)
run_cgroup() {
    if ! command -v unshare >/dev/null 2>&1; then
        echo "skipped: $1: no unshare(1) for private mount and network namespaces"
        return 77
    fi
    # shellcheck disable=SC2016  # $0 and $1 belong to the inner shell
    NFT_ORACLE_CURRENT_NETNS=1 unshare -m -n --propagation private sh -c '
        mount -t tmpfs policyc-cgroup-stand-in /sys/fs/cgroup &&
            mkdir -p /sys/fs/cgroup/app/x || exit 77
        exec "$0" "$1"' "$oracle" "$1"
}

status=0
count=0
for file in "$tmp"/*.nft; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .nft)
    count=$((count + 1))
    case $name in
        cgroup) run_cgroup "$file" ;;
        *) "$oracle" "$file" ;;
    esac
    rc=$?
    case $rc in
        0) echo "ok: $name.nft" ;;
        77)
            if [ "$name" = cgroup ]; then
                echo "skipped: $name.nft: no private mount namespace with a cgroup stand-in"
            else
                exit 77
            fi
            ;;
        *) echo "FAIL ($rc): $name.nft"; status=1 ;;
    esac
done
if [ "$count" -eq 0 ]; then
    echo "run_nft_fixture_oracle: the unit binary wrote no fixtures" >&2
    exit 1
fi
exit $status
