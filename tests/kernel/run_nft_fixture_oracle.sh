#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/nft_text_oracle: has the unit test binary write every nft_text fixture
# rendering (NAME.nft) and checks each with nft_oracle.sh (load, list back, compare).
# usage: run_nft_fixture_oracle.sh UNIT_TEST_BINARY
# Exit: 0 all equal, 1 some differ or failed to load, 77 cannot run here (not root, no netns).
set -u

here=$(cd "$(dirname "$0")" && pwd)
oracle="$here/nft_oracle.sh"
. "$here/netns_lib.sh"
write_fixtures run_nft_fixture_oracle "${1:-}" nft


status=0
count=0
for file in "$tmp"/*.nft; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .nft)
    count=$((count + 1))
    case $name in
        cgroup) nft_oracle_with_cgroups "$oracle" "$file" ;;
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
