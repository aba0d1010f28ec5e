#!/usr/bin/env bash
# The command-line contract of ../shared/design/cli.md: exit codes, located errors with carets,
# several errors per file, nothing written on bad input, and the not-yet-available verbs.
# Each tests/golden/errors/*.pol lists the diagnostics it must produce as `# expect: LINE:COL CODE`.
set -uo pipefail
policyc=$1
here=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_exit() {  # want, description, command...
    local want=$1 what=$2; shift 2
    "$@" > "$work/out" 2> "$work/err"; local rc=$?
    if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, want $want"; cat "$work/err"; fi
}

# Bad input: exit 2, every expected located error, nothing written.
for pol in golden/errors/*.pol; do
    rm -rf "$work/o"
    expect_exit 2 "build $pol" "$policyc" build "$pol" -o "$work/o"
    [ -e "$work/o" ] && bad "build $pol wrote $work/o despite errors" || ok
    [ -s "$work/out" ] && bad "build $pol printed on stdout" || ok
    while read -r _ _ loc code; do
        if grep -qE "^$pol:$loc: error: .*\[$code\]\$" "$work/err"; then ok; else
            bad "$pol: no '$pol:$loc: error: ... [$code]' in:"; cat "$work/err"; fi
    done < <(grep '^# expect:' "$pol")
    grep -q '\^' "$work/err" && ok || bad "$pol: no caret under the source line"
done
# lint: front-end errors are unusable input (2); analyzer errors are findings (1).
expect_exit 2 "lint of a syntax error" "$policyc" lint golden/errors/syntax.pol
expect_exit 1 "lint of invalid hooks" "$policyc" lint golden/errors/invalid_hook.pol
for pol in ../samples/*.pol; do expect_exit 0 "lint of sample $pol" "$policyc" lint --werror "$pol"; done

# Unusable files.
expect_exit 2 "missing file" "$policyc" build "$work/missing.pol"
grep -q "cannot read '$work/missing.pol'" "$work/err" && ok || bad "missing file message"
expect_exit 2 "a directory" "$policyc" build "$work"
grep -q "cannot read '$work': it is a directory \[unreadable-input\]" "$work/err" && ok || bad "directory message"
: > "$work/empty.pol"
expect_exit 2 "empty file" "$policyc" build "$work/empty.pol"
grep -q "empty.pol:1:1: error: .* is empty \[unreadable-input\]" "$work/err" && ok || bad "empty file message"
printf 'table\0\1\2' > "$work/binary.pol"
expect_exit 2 "binary file" "$policyc" build "$work/binary.pol"
grep -q "binary.pol:1:1: error: .*binary" "$work/err" && ok || bad "binary file message"

# One-host verbs on a file with several hosts.
expect_exit 2 "--emit without --host" "$policyc" build ../samples/site.pol --emit nft
grep -q "client server" "$work/err" && ok || bad "--emit without --host does not list the hosts"
expect_exit 0 "--emit with --host" "$policyc" build ../samples/site.pol --emit iptables --host client
grep -q -- "--uid-owner 1000" "$work/out" && ok || bad "--emit iptables lacks the owner rule"
expect_exit 2 "unknown host" "$policyc" build ../samples/site.pol --emit nft --host nope
expect_exit 2 "unknown --emit kind" "$policyc" build ../samples/client.pol --emit bogus

# Standard input.
expect_exit 0 "stdin" sh -c "printf 'table filter { chain INPUT { tcp dport 22 accept } }\n' | '$policyc' build - --emit iptables"
grep -q -- "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT" "$work/out" && ok || bad "stdin rendering"

# build writes every rendering of every host and a summary.
expect_exit 0 "build site" "$policyc" build ../samples/site.pol -o "$work/site"
for h in client server; do for s in iptables ip6tables nft routes routes6 sysctl json; do
    [ -f "$work/site/$h.$s" ] && ok || bad "build did not write $h.$s"; done; done
grep -q "^host client: " "$work/out" && grep -q "^host server: " "$work/out" && ok || bad "summary"

# Machine-readable lint output.
expect_exit 1 "lint json" "$policyc" lint golden/errors/invalid_hook.pol --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["findings"]
hooks=sorted(x["line"] for x in f if x["code"]=="invalid-hook"); assert hooks==[5,10], hooks
assert all(x["file"].endswith("invalid_hook.pol") and x["column"] and x["severity"] in ("error","warning","note") for x in f)
assert d["summary"]["error"]==sum(x["severity"]=="error" for x in f)' "$work/out" && ok || bad "lint --format json shape"
expect_exit 1 "lint sarif" "$policyc" lint golden/errors/invalid_hook.pol --format sarif
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]=="2.1.0"; r=d["runs"][0]; hook=[x for x in r["results"] if x["ruleId"]=="invalid-hook"]; reg=hook[0]["locations"][0]["physicalLocation"]["region"]; assert (reg["startLine"], reg["startColumn"]) == (5, 22), reg' "$work/out" && ok || bad "lint --format sarif shape"
printf 'table filter { chain INPUT { accept }\n chain unused { accept } }\n' > "$work/unused.pol"
expect_exit 0 "lint without --werror on warnings" "$policyc" lint "$work/unused.pol"
expect_exit 1 "lint --werror on warnings" "$policyc" lint --werror "$work/unused.pol"
grep -q 'unused.pol:2:8: warning: .*\[unused-chain\]' "$work/out" && ok || bad "unused-chain warning"

# nft JSON input: a missing file and broken JSON are exit 2 with a located error.
expect_exit 2 "import --from nft-json of a missing file" "$policyc" import --from nft-json "$work/none.json"
printf '{"nftables": [\n  {"table": {"family": "inet", "name": "t", "handle": 1}},\n  oops\n]}\n' > "$work/bad.json"
expect_exit 2 "import --from nft-json of broken JSON" "$policyc" import --from nft-json "$work/bad.json"
grep -q 'bad.json:3:3: error' "$work/err" && ok || bad "broken JSON: no line:column ($(cat "$work/err"))"
expect_exit 2 "lint --from nft-json of broken JSON" "$policyc" lint --from nft-json "$work/bad.json"
# apply stops before the kernel on bad input or an ambiguous host (never run for real here:
# this test runs in the host's namespace; tests/kernel/golden_apply.sh applies in scratch ones).
expect_exit 2 "apply of a bad file" "$policyc" apply golden/errors/syntax.pol
expect_exit 2 "apply without --host" "$policyc" apply ../samples/site.pol
grep -q "client server" "$work/err" && ok || bad "apply without --host does not list the hosts"
# diff and apply --dry-run read the kernel only after the policy compiled (their kernel
# behaviour: tests/kernel/golden_apply.sh diff, tests/kernel/workflow.sh).
expect_exit 2 "diff of a bad file" "$policyc" diff golden/errors/syntax.pol
grep -q 'syntax.pol:[0-9]*:[0-9]*: error' "$work/err" && ok || bad "diff of a bad file: no located error"
expect_exit 2 "diff without --host" "$policyc" diff ../samples/site.pol
expect_exit 2 "apply --dry-run of a bad file" "$policyc" apply --dry-run golden/errors/syntax.pol
expect_exit 2 "apply --confirm of a bad file" "$policyc" apply --confirm 5 golden/errors/syntax.pol
expect_exit 2 "no verb" "$policyc"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
