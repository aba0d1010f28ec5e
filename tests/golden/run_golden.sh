#!/usr/bin/env bash
# Golden test for one .pol file: `policyc build FILE -o TMP` must write exactly the files in
# tests/golden/expected/NAME/ (every kernel-checkable rendering of every host). POLICYC_UPDATE_GOLDENS=1 rewrites
# them instead; the kernel test (tests/kernel/golden_kernel.sh) then proves each rendering with
# the real tools, so a regenerated golden is only accepted once the kernel agrees with it.
set -euo pipefail
policyc=$1 pol=$2 expected=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$policyc" build "$pol" -o "$out" > "$out.summary"
rm -f "$out.summary"
# The IR's JSON has no outside oracle (its shape is unit-tested in ir_json_test.cpp); only the
# renderings the kernel tools can confirm are goldens.
rm -f "$out"/*.json
if [ "${POLICYC_UPDATE_GOLDENS:-}" = 1 ]; then
    rm -rf "$expected" && mkdir -p "$expected" && cp "$out"/* "$expected"/
    echo "updated $expected"
    exit 0
fi
if ! diff -ru "$expected" "$out"; then
    echo "FAIL: $pol: renderings differ from $expected (lines with - are expected, + produced)"
    exit 1
fi
echo "ok: $pol ($(ls "$out" | wc -l) files)"
