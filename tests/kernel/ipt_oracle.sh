#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Oracle for iptables renderings: loads FILE with iptables-legacy-restore (FAMILY 4) or
# ip6tables-legacy-restore (6) into a fresh network namespace, lists it back with *-legacy-save,
# drops '#' lines, zeroes chain counters and diffs against FILE.
#
# usage: ipt_oracle.sh 4|6 FILE
# exit:  0 read-back equals FILE; 1 it differs (unified diff on stdout); 2 restore failed (its
#        stderr on stdout) or a tool or cgroup2 is missing; 77 not root or no network namespaces.
#
# Setup done for FILE:
# - Table order: iptables-legacy-save lists tables newest first (the kernel keeps the per-netns
#   table list in reverse creation order). Before the restore, the script creates FILE's tables
#   in reverse order of their appearance, so a correct FILE lists back in its own order with no
#   rewriting of the output.
# - `-m cgroup --path P`: the kernel resolves P when the rule is loaded, so every missing P is
#   created under the cgroup2 mount and removed afterwards (hold_cgroups in netns_lib.sh).
#   Paths with quotes or backslashes are not supported here.
set -u
. "$(dirname "$0")/netns_lib.sh"

skip() { echo "ipt_oracle: skipped: $*" >&2; exit 77; }
fail() { echo "ipt_oracle: $*"; exit 2; }

[ $# -eq 2 ] || { echo "usage: $0 4|6 FILE" >&2; exit 64; }
family=$1 file=$2
case $family in
    4) tool=iptables ;;
    6) tool=ip6tables ;;
    *) echo "ipt_oracle: FAMILY must be 4 or 6" >&2; exit 64 ;;
esac
[ -r "$file" ] || { echo "ipt_oracle: cannot read $file" >&2; exit 64; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in ip "$tool-legacy" "$tool-legacy-restore" "$tool-legacy-save"; do
    command -v "$t" >/dev/null || fail "$t not found"
done

ns="pcx-ipt-oracle-$$-$RANDOM"
tmp=$(mktemp -d) || exit 1
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    ip netns del "$ns" 2>/dev/null
    release_cgroups
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"

# cgroup paths the rendering names, unquoted the way xtables_save_string quoted them.
cgroup_paths() {
    grep -o -- '--path \("[^"]*"\|[^ ]*\)' "$file" | sed -e 's/^--path //' -e 's/^"\(.*\)"$/\1/'
}
if cgroup_paths | grep -q .; then
    cg_root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
    [ -n "$cg_root" ] || fail "cgroup2 is not mounted, cannot create the cgroups FILE names"
    mapfile -t paths < <(cgroup_paths | sort -u)
    hold_cgroups "$cg_root" "${paths[@]}" || fail "cannot create the cgroups $file names under $cg_root"
fi

in_ns() { ip netns exec "$ns" "$@"; }

sed -n 's/^\*//p' "$file" | tac | while read -r t; do
    in_ns "$tool-legacy" -t "$t" -S </dev/null >/dev/null 2>&1
done

if ! in_ns "$tool-legacy-restore" <"$file" >"$tmp/restore.out" 2>&1; then
    echo "ipt_oracle: $tool-legacy-restore $file failed:"
    cat "$tmp/restore.out"
    exit 2
fi

in_ns "$tool-legacy-save" |
    sed -e '/^#/d' -e 's/^\(:[^ ]* [^ ]*\) \[[0-9]*:[0-9]*\]$/\1 [0:0]/' |
    diff -u --label "$file" --label "$tool-legacy-save" "$file" - || exit 1
exit 0
