#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel test kernel/nft_refusal: a rule policyc's compiler and analyzer accept but nf_tables
# refuses. xt_cgroup allows a cgroup match in POSTROUTING, so lint passes (with a
# legacy-only-hook warning, which says what this test shows); nft's socket
# expression (which `cgroup` becomes) is allowed only in prerouting, input and output, which
# the kernel checks when it validates the table: EOPNOTSUPP on the rule, with no extended ACK
# offset (nft -f shows the same refusal, underlining the whole rule). Asserts that
# `policyc apply --backend nft` exits 1, its error is FILE:LINE:COL of the cgroup match (the
# rule's only hook-limited expression), and `nft list ruleset` is what the previous apply left;
# `apply --dry-run` reports the same (nft --check alone accepts the rule).
# usage: nft_refusal.sh POLICYC
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
policyc=$1
ns="pcx-refuse-$$"
work=$(mktemp -d)
export POLICYC_STATE_DIR=$work/state
cleanup() { ip netns del "$ns" 2>/dev/null; release_cgroups; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
fail=0
no() { echo "FAIL: $*"; fail=1; }

cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -z "$cgroot" ]; then echo "SKIP: no cgroup2 mount for the cgroup match" >&2; exit 77; fi
hold_cgroups "$cgroot" policyc-test/refusal || { echo "FAIL: cannot make the test cgroup"; exit 1; }

# good.pol: the cgroup match where nft allows it; bad.pol adds it in POSTROUTING (line 9).
write_policy() {
    cat > "$work/$1.pol" <<EOF
host h {
    interface eth0 { address 192.0.2.1/24 }
    table mangle {
        chain OUTPUT {
            cgroup "policyc-test/refusal" tcp dport 22 mark set 0x1
        }
        chain POSTROUTING {
            oif eth0 mark 0x1 accept
$2
        }
    }
}
EOF
}
write_policy good ""
write_policy bad '            oif eth0 cgroup "policyc-test/refusal" tcp dport 22 mark set 0x2'
want="$work/bad.pol:9:22: error: the kernel refused the nftables update: Operation not supported"

# The compiler and the analyzer accept it.
if "$policyc" lint "$work/bad.pol" > "$work/lint" 2>&1; then echo "ok: lint accepts the rule"
else no "lint refuses the rule:"; cat "$work/lint"; fi
"$policyc" build "$work/bad.pol" --emit nft > "$work/bad.nft" 2> "$work/build" ||
    { no "build refuses the rule:"; cat "$work/build"; }

# The oracle: nft itself, loading policyc's rendering, is refused the same way.
printf '#!/bin/sh\nexec nft -f "$1"\n' > "$work/nft-load" && chmod +x "$work/nft-load"
nft_oracle_with_cgroups "$work/nft-load" "$work/bad.nft" > "$work/oracle" 2>&1
rc=$?
[ "$rc" = 77 ] && { echo "SKIP: $(cat "$work/oracle")" >&2; exit 77; }
if [ "$rc" != 0 ] && grep -q 'Error: Could not process rule: Operation not supported' "$work/oracle"
then echo "ok: nft -f of the rendering is refused: $(grep -m1 Error "$work/oracle")"
else no "nft -f of the rendering: exit $rc:"; cat "$work/oracle"; fi

# ... while nft --check (a batch without END) lets it through on this kernel: the hook check runs
# on commit only. Recorded, not required: a kernel that checks it earlier is fine too.
printf '#!/bin/sh\nexec nft -c -f "$1"\n' > "$work/nft-check" && chmod +x "$work/nft-check"
if nft_oracle_with_cgroups "$work/nft-check" "$work/bad.nft" > "$work/oracle-c" 2>&1
then echo "note: nft -c -f accepts the rendering (hooks are validated on commit)"
else echo "note: nft -c -f refuses the rendering: $(grep -m1 Error "$work/oracle-c")"; fi

ip netns add "$ns" || exit 1
make_ifaces "$ns" "eth0=192.0.2.1/24" || exit 1
run() { local pol=$1; shift; nsenter --net="/run/netns/$ns" "$policyc" apply "$work/$pol.pol" --backend nft "$@"; }
if run good > "$work/good.out" 2>&1; then echo "ok: the allowed policy applies"
else no "apply of good.pol:"; cat "$work/good.out"; fi
ip netns exec "$ns" nft list ruleset > "$work/L1"
grep -q 'socket cgroupv2' "$work/L1" || no "the allowed policy is not loaded:$(echo; cat "$work/L1")"

# --dry-run: a batch without END (nft --check) passes the kernel's hook checks, so apply also
# commits it in a scratch namespace of its own, and must report the same error.
run bad --dry-run > "$work/dry.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -qF "$want" "$work/dry.out"; then
    echo "ok: apply --dry-run is refused at the cgroup match too"
else
    no "apply --dry-run of bad.pol exits $rc (want 1 and '$want'):"; cat "$work/dry.out"
fi
ip netns exec "$ns" nft list ruleset | diff -u "$work/L1" - > /dev/null ||
    no "the dry run changed the ruleset"

run bad > "$work/bad.out" 2>&1
rc=$?
if [ "$rc" = 1 ]; then echo "ok: apply of the refused rule exits 1"
else no "apply of bad.pol exits $rc (want 1)"; fi
# the analyzer's legacy-only-hook warning comes first, at the same place; then the kernel's error
error=$(grep -m1 ': error: ' "$work/bad.out")
if [ "${error:0:${#want}}" = "$want" ] &&
    grep -q "^$work/bad.pol:9:22: warning: .*\[legacy-only-hook\]$" "$work/bad.out"; then
    echo "ok: the warning and the error point at the cgroup match: $error"
else
    no "no warning, or the error does not start with '$want':"; cat "$work/bad.out"
fi
ip netns exec "$ns" nft list ruleset > "$work/L2"
if diff -u "$work/L1" "$work/L2"; then echo "ok: nft list ruleset is unchanged"
else no "the refused apply changed the ruleset"; fi
exit $fail
