#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/routes_text_oracle: has the unit test binary write every routes_text fixture
# (NAME.routes for IPv4, NAME.routes6 for IPv6, NAME.ifaces, NAME.sysctl), loads each rendering
# with routes_oracle.py (-6 for NAME.routes6) and each sysctl rendering with sysctl_oracle.sh.
# usage: run_routes_fixture_oracle.sh UNIT_TEST_BINARY
# Exit: 0 all equal, 1 some differ or failed to load, 77 cannot run here (not root, no netns).
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
write_fixtures run_routes_fixture_oracle "${1:-}" routes
for tool in ip python3 sysctl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run_routes_fixture_oracle: skipped: $tool not installed" >&2
        exit 77
    fi
done

status=0
count=0
# usage: oracle EXT [-6]: runs routes_oracle.py on every NAME.EXT; sets found when there was one.
oracle() {
    ext=$1
    shift
    found=0
    for routes in "$tmp"/*."$ext"; do
        [ -e "$routes" ] || continue
        name=$(basename "$routes" ".$ext")
        found=1
        # One NAME=ADDR/LEN,... word per line: word splitting is intended here.
        # shellcheck disable=SC2046
        python3 "$here/routes_oracle.py" "$@" "$routes" $(cat "$tmp/$name.ifaces")
        rc=$?
        case $rc in
            0) echo "ok: $name.$ext" ;;
            77) exit 77 ;;
            *) echo "FAIL ($rc): $name.$ext"; status=1 ;;
        esac
    done
}
for family in "routes" "routes6 -6"; do
    # shellcheck disable=SC2086
    oracle $family
    if [ "$found" -eq 0 ]; then
        echo "run_routes_fixture_oracle: the unit binary wrote no .${family%% *} fixture" >&2
        exit 1
    fi
done

for sysctl in "$tmp"/*.sysctl; do
    [ -s "$sysctl" ] || continue
    name=$(basename "$sysctl" .sysctl)
    # One NAME=ADDR/LEN,... word per line: word splitting is intended here.
    # shellcheck disable=SC2046
    if "$here/sysctl_oracle.sh" "$sysctl" $(cat "$tmp/$name.ifaces"); then
        echo "ok: $name.sysctl"
    else
        echo "FAIL: $name.sysctl"
        status=1
    fi
done
exit $status
