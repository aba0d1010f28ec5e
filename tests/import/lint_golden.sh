#!/usr/bin/env bash
# `policyc lint --from iptables-save` on every real dump (../shared/conformance/iptables/
# save-dumps): it must not crash (exit 0 or 1; exit 2 only with unsupported-construct errors
# alone), and where tests/golden/import/NAME.lint.txt exists (findings read and judged right)
# its output must equal that golden. Run from the project root: the paths in the output are
# relative to it.
# usage: lint_golden.sh POLICYC DUMP_DIR GOLDEN_DIR
set -uo pipefail
policyc=$1 dumps=$2 goldens=$3
if [ ! -d "$dumps" ]; then
    echo "FAIL: conformance dumps not found at $dumps (CI always has ../shared/conformance)" >&2
    exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=0 compared=0 unjudged=0
for dump in "$dumps"/*; do
    name=$(basename "$dump")
    if [ "$(sed -n '/[^[:space:]]/{s/^[[:space:]]*\(.\).*/\1/p;q}' "$dump")" = "<" ]; then
        echo "skip $name: iptables-xml output, not an iptables-save dump"
        continue
    fi
    "$policyc" lint --from iptables-save "$dump" > "$out" 2>&1
    rc=$?
    if [ "$rc" = 2 ]; then
        errors=$(grep -E ': error: ' "$out")
        if [ -z "$errors" ] || grep -qv '\[unsupported-construct\]$' <<<"$errors"; then
            failed=$((failed + 1)); echo "FAIL $name: exit 2 without only unsupported constructs:"
            cat "$out"; continue
        fi
    elif [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
        failed=$((failed + 1)); echo "FAIL $name: lint exit $rc"; cat "$out"; continue
    fi
    golden="$goldens/$name.lint.txt"
    if [ ! -f "$golden" ]; then
        unjudged=$((unjudged + 1)); echo "no golden for $name (findings not judged yet), exit $rc"
        continue
    fi
    compared=$((compared + 1))
    if diff -u "$golden" "$out"; then echo "ok $name"; else
        failed=$((failed + 1)); echo "FAIL $name: findings differ from $golden"; fi
done
echo "$compared goldens compared, $unjudged dumps without a golden, $failed failed"
[ "$failed" = 0 ]
