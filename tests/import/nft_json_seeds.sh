#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes whole `nft -j list ruleset` documents into DIR: one per rule of nftables' own tests
# (../shared/conformance/nftables/py/*/*.t.json, each rule in a table of the test's family), and,
# when root with unshare(1), the real dump of every golden HOST.nft loaded in a scratch namespace.
# The fuzz seeds of import_nft_json (tests/fuzz/run.sh) and the input of the conformance count.
# usage: nft_json_seeds.sh DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: nft_json_seeds.sh DIR}
rm -rf "$out" && mkdir -p "$out"
python3 - "$root/../shared/conformance/nftables/py" "$out" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
n = 0
for fam in sorted(os.listdir(src)) if os.path.isdir(src) else []:
    d = os.path.join(src, fam)
    if not os.path.isdir(d):
        continue
    family = "ip" if fam == "any" else fam
    for name in sorted(f for f in os.listdir(d) if f.endswith(".t.json")):
        text = open(os.path.join(d, name)).read()
        # "# RULE" lines introduce each rule's JSON list of statements
        for i, chunk in enumerate(c for c in text.split("\n#") if c.strip()):
            body = chunk.split("\n", 1)[1] if "\n" in chunk else ""
            try:
                expr = json.loads(body)
            except ValueError:
                continue
            doc = {"nftables": [
                {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
                {"table": {"family": family, "name": "t", "handle": 1}},
                {"chain": {"family": family, "table": "t", "name": "c", "handle": 1,
                           "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
                {"rule": {"family": family, "table": "t", "chain": "c", "handle": i + 2,
                          "expr": expr}}]}
            with open(os.path.join(out, "%s_%s_%d.json" % (fam, name[:-7], i)), "w") as f:
                json.dump(doc, f)
            n += 1
print("nft_json_seeds: %d conformance rules" % n, file=sys.stderr)
PY
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && command -v nft >/dev/null 2>&1; then
    for nft in "$root"/tests/golden/expected/*/*.nft; do
        [ -s "$nft" ] || continue
        name=$(basename "$(dirname "$nft")")_$(basename "$nft" .nft)
        unshare -n sh -c 'nft -f "$0" 2>/dev/null && nft -j list ruleset' "$nft" \
            > "$out/golden_$name.json" 2>/dev/null || rm -f "$out/golden_$name.json"
    done
fi
exit 0
