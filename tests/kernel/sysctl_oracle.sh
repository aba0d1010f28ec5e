#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Oracle for sysctl renderings: loads FILE with `sysctl -p` in a scratch network namespace (with
# the named interfaces created as veths, for net.ipv4.conf.IFACE.* keys) and requires sysctl to
# echo back exactly the file, i.e. every key exists in a namespace and took the value.
# usage: sysctl_oracle.sh FILE [NAME[=ADDR/LEN,...]...]
# Exit: 0 equal, 1 differ or refused (sysctl's output shown), 77 cannot run here.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
file=$1
shift
ns="pcx-sysctl-$$"
out=$(mktemp) || exit 2
trap 'ip netns del "$ns" 2>/dev/null; rm -f "$out"' EXIT
ip netns add "$ns" || exit 77
n=0
for spec in "$@"; do
    name=${spec%%=*}
    [ "$name" = lo ] && continue
    ip -n "$ns" link add "$name" type veth peer name "pcxs$n" || exit 1
    n=$((n + 1))
done
if ip netns exec "$ns" sysctl -p "$file" >"$out" 2>&1 && diff -u "$file" "$out"; then
    exit 0
fi
cat "$out"
exit 1
