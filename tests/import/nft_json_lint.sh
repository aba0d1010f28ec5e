#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `policyc lint --from nft-json` on a ruleset written by hand with nft: loaded with `nft -f` in a
# scratch namespace, dumped with `nft -j list ruleset`, linted. A rule after an unconditional
# drop must be reported as unreachable-rule, located by table, chain and rule number (the JSON
# is one line, so the line alone locates nothing), and --werror makes the warning exit 1.
# (owner-mark-leak, S4, needs the tunnel link and the ip rules, which `nft -j` does not carry:
# lint --live covers it, tests/kernel/lint_live_nft.sh.)
# usage: nft_json_lint.sh POLICYC
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kernel/netns_lib.sh"
policyc=$1
require_netns
work=$(mktemp -d)
ns="pcx-nftjson-lint-$$"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
ip netns add "$ns" || exit 2
ip netns exec "$ns" nft -f - <<'NFT' || { echo "FAIL: nft -f refused the ruleset"; exit 1; }
table inet handmade {
    chain in {
        type filter hook input priority filter; policy accept;
        tcp dport 22 accept
        drop
        tcp dport 80 accept
    }
}
NFT
ip netns exec "$ns" nft -j list ruleset > "$work/dump.json" || exit 2
"$policyc" lint --werror --from nft-json "$work/dump.json" --format json > "$work/lint" 2>&1
rc=$?
got=$(python3 -c 'import json,sys
for f in json.load(sys.stdin)["findings"]:
    if f["code"] == "unreachable-rule": print("%s/%s#%s" % (f["table"], f["chain"], f["rule"]))' \
    < "$work/lint" 2>/dev/null)
if [ "$rc" = 1 ] && [ "$got" = "filter/INPUT#3" ]; then
    echo "ok: lint --from nft-json reports unreachable-rule at $got"
    exit 0
fi
echo "FAIL: lint --from nft-json: exit $rc (want 1), unreachable-rule at '$got' (want filter/INPUT#3)"
cat "$work/lint"
exit 1
