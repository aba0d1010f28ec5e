#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/routes_text_oracle: has the unit test binary write every routes_text fixture
# (NAME.routes for IPv4, NAME.routes6 for IPv6, NAME.ifaces, NAME.sysctl), loads each rendering
# with routes_oracle.py (-6 for NAME.routes6) and checks each sysctl rendering with `sysctl -p` in
# a scratch network namespace (it echoes what it set).
# usage: run_routes_fixture_oracle.sh UNIT_TEST_BINARY
# Exit: 0 all equal, 1 some differ or failed to load, 77 cannot run here (not root, no netns).
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 UNIT_TEST_BINARY" >&2
    exit 2
fi
unit=$1
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "run_routes_fixture_oracle: skipped: needs root for scratch network namespaces" >&2
    exit 77
fi
for tool in ip python3 sysctl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run_routes_fixture_oracle: skipped: $tool not installed" >&2
        exit 77
    fi
done

tmp=$(mktemp -d) || exit 2
ns="pcx-rt-sysctl-$$"
cleanup() {
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

if ! POLICYC_ORACLE_DIR="$tmp" "$unit" -tc='routes_text: write fixtures*' >"$tmp/unit.log" 2>&1
then
    cat "$tmp/unit.log" >&2
    exit 1
fi

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

if ! ip netns add "$ns" 2>"$tmp/netns.err"; then
    cat "$tmp/netns.err" >&2
    exit 77
fi
for sysctl in "$tmp"/*.sysctl; do
    name=$(basename "$sysctl" .sysctl)
    [ -s "$sysctl" ] || continue
    # Interface-scoped keys (net.ipv4.conf.IFACE.*) need the interface.
    while IFS='=' read -r ifname _; do
        [ "$ifname" = lo ] || ip -n "$ns" link add "$ifname" type veth peer name "pcxs-$count" \
            2>/dev/null
        count=$((count + 1))
    done <"$tmp/$name.ifaces"
    if ip netns exec "$ns" sysctl -p "$sysctl" >"$tmp/listed" 2>"$tmp/sysctl.err" &&
        diff -u "$sysctl" "$tmp/listed"; then
        echo "ok: $name.sysctl"
    else
        cat "$tmp/sysctl.err"
        echo "FAIL: $name.sysctl"
        status=1
    fi
done
exit $status
