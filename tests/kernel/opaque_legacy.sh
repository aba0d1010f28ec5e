#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Legacy apply next to rules of extensions policyc does not model (recent, statistic, NFLOG,
# hashlimit, TOS, length, rt, hl, TRACE, conntrack --ctorigdst ..., and ip header conditions:
# -f, a mask that is no prefix), written by
# iptables-legacy in a scratch netns. policyc decodes them as opaque elements (ir::OpaqueMatch,
# ir::OpaqueTarget, an OpaqueMatch holding the whole ip part) and loads them back byte for byte
# with its own blob:
#  - apply succeeds, and iptables-legacy-save lists every foreign rule exactly as before, in its
#    place (the independent oracle: libxtables decodes the bytes policyc re-loaded);
#  - in mangle OUTPUT, where the policy's app hooks its chain, the foreign rule stays after
#    policyc's jump;
#  - diff after apply is clean; lint --live names each such rule in a not-analysed note;
#  - apply --rollback restores the exact listing.
# usage: opaque_legacy.sh POLICYC
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/netns_lib.sh"
require_netns
policyc=$1
ns="pcx-opq-$$"
work=$(mktemp -d)
export POLICYC_STATE_DIR=$work/state  # apply's saved state for --rollback: not /var/lib/policyc
cleanup() { ip netns del "$ns" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }
in_ns() { ip netns exec "$ns" "$@"; }
run() { nsenter --net="/run/netns/$ns" "$policyc" "$@"; }
save() { in_ns iptables-legacy-save | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]/[0:0]/'; in_ns ip6tables-legacy-save | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]/[0:0]/'; }

ip netns add "$ns" || exit 1
make_ifaces "$ns" "eth9=10.9.0.2/24" || exit 1
# Every table exists before (a legacy table cannot be removed, so rollback restores contents).
for t in raw mangle nat filter; do
    in_ns iptables-legacy -t "$t" -S > /dev/null; in_ns ip6tables-legacy -t "$t" -S > /dev/null
done
ipt() { in_ns iptables-legacy -w 5 "$@" || no "could not set up: iptables $*"; }
ipt -A INPUT -p tcp --dport 22 -m recent --name ssh --set
ipt -A INPUT -p tcp --dport 22 -m recent --name ssh --rcheck --seconds 60 --hitcount 4 -j DROP
ipt -A INPUT -m statistic --mode random --probability 0.25 -j NFLOG --nflog-group 3
ipt -A INPUT -m comment --comment "before the unknown" -m conntrack --ctorigdst 10.0.0.1 -j ACCEPT
# ip header conditions policyc does not model: kept as the entry's whole ip part
ipt -A INPUT -f -j DROP
ipt -A INPUT ! -f -s 10.0.0.0/255.0.255.0 -p udp --dport 53 -j ACCEPT
ipt -N F2B
ipt -A F2B -m hashlimit --hashlimit-above 10/sec --hashlimit-name h1 -j DROP
ipt -A F2B -j RETURN
ipt -I INPUT -j F2B
ipt -t mangle -A OUTPUT -m length --length 100:200 -j TOS --set-tos 0x10
ipt -t raw -A OUTPUT -m pkttype --pkt-type broadcast -j TRACE
in_ns ip6tables-legacy -w 5 -A INPUT -m rt --rt-type 0 -j DROP || no "could not set up ip6tables -m rt"
in_ns ip6tables-legacy -w 5 -A INPUT -p ipv6-icmp -m hl --hl-eq 255 -j ACCEPT || no "could not set up ip6tables -m hl"
save > "$work/before"

cat > "$work/policy.pol" <<'POL'
interface eth9 { address 10.9.0.2/24 }
app a { user 1000; via eth9; mark 1; table 3 }
table filter {
    chain FORWARD policy drop {
        ct state established,related accept
    }
}
POL
run apply "$work/policy.pol" --backend legacy > "$work/log" 2>&1 || no "apply failed: $(cat "$work/log")"
save > "$work/after"
# Every rule that was there is still there, in the same order within its chain.
for chain_rule in $(grep -o '^-A [^ ]*' "$work/before" | sort -u | awk '{print $2}'); do
    grep -- "^-A $chain_rule " "$work/before" > "$work/b.$chain_rule"
    grep -- "^-A $chain_rule " "$work/after" | grep -v -- '-j POLICYC-\|conntrack --ctstate RELATED,ESTABLISHED' > "$work/a.$chain_rule"
    diff -u --label "before: $chain_rule" --label "after apply: $chain_rule" "$work/b.$chain_rule" "$work/a.$chain_rule" ||
        no "foreign rules of chain $chain_rule changed"
done
grep -A1 -- '^-A OUTPUT -j POLICYC-OUTPUT$' "$work/after" | grep -q -- '^-A OUTPUT -m length --length 100:200 -j TOS --set-tos 0x10/0xff$' ||
    no "the foreign mangle OUTPUT rule is not right after policyc's jump: $(grep -- '-A OUTPUT' "$work/after")"
run diff "$work/policy.pol" --backend legacy > "$work/diff" 2>&1 || no "diff after apply is not clean: $(cat "$work/diff")"
run lint --live > "$work/lint" 2>&1
for what in "filter' chain F2B rule 1's match 'hashlimit'" "chain INPUT rule 2's match 'recent'" \
            "chain INPUT rule 4's match 'statistic', target 'NFLOG'" "chain INPUT rule 5's match 'conntrack'" \
            "chain INPUT rule 6's ip header condition" "chain INPUT rule 7's ip header condition" \
            "mangle' chain OUTPUT rule 2's match 'length', target 'TOS'" "raw' chain OUTPUT rule 1's match 'pkttype', target 'TRACE'" \
            "IPv6 table 'filter' chain INPUT rule 1's match 'rt'" "IPv6 table 'filter' chain INPUT rule 2's match 'hl'"; do
    grep -qF -- "$what was not analysed" "$work/lint" || no "lint --live does not name $what: $(cat "$work/lint")"
done
run apply --rollback > "$work/log" 2>&1 || no "apply --rollback failed: $(cat "$work/log")"
save > "$work/rolled"
diff -u --label before --label "after --rollback" "$work/before" "$work/rolled" || no "rollback did not restore the exact listing"
[ $fail -eq 0 ] && echo "ok: legacy apply keeps rules of unmodelled extensions byte for byte (save listing, diff, lint --live, rollback)"
exit $fail
