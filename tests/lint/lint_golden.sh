#!/usr/bin/env bash
# Analyzer cases: every tests/golden/lint/*.pol declares the findings it must produce as
# `# expect: LINE:COL CODE` lines (a file without any is a near miss that must lint clean), and
# `policyc lint --format json` must report exactly that set: nothing missing, nothing extra.
# *.save files are read with --from iptables-save (same `# expect:` lines), *.json files (the
# output of `nft -j list ruleset`, which has no comments) with --from nft-json, expecting the
# lines of NAME.expect if there is one.
set -uo pipefail
policyc=$1
pass=0 fail=0
for pol in golden/lint/*.pol golden/lint/*.save golden/lint/*.json; do
    case $pol in
        *.save) from=(--from iptables-save) ;;
        *.json) from=(--from nft-json) ;;
        *) from=() ;;
    esac
    expectations=$pol
    [ "${pol%.json}" != "$pol" ] && expectations=${pol%.json}.expect
    expected=$([ -f "$expectations" ] && sed -n 's/^# expect: \([0-9]*\):\([0-9]*\) \([a-z0-9-]*\)$/\1:\2 \3/p' "$expectations" | sort)
    actual=$("$policyc" lint --format json "${from[@]}" "$pol" | python3 -c '
import json, sys
for f in json.load(sys.stdin)["findings"]:
    print("%s:%s %s" % (f.get("line"), f.get("column"), f["code"]))' | sort)
    if [ "$expected" = "$actual" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $pol"
        diff <(echo "$expected") <(echo "$actual") | sed 's/^</  missing:/; s/^>/  extra:  /' | grep -v '^---\|^[0-9]'
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
