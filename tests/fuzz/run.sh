#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each one.
# Usage: tests/fuzz/run.sh SECONDS [TARGET...]     explore: each target for SECONDS, random seed,
#                                                  corpus kept in BUILD/fuzz-corpus across runs
#        tests/fuzz/run.sh --runs N [TARGET...]     reproduce: each target for N inputs from seed 1
#                                                  and a fresh corpus; the same result on every
#                                                  machine, which is what CI runs
#   targets: compile import_iptables import_nft_json ipt_blob rtnl (the default), and
#   nft_delinearize, which is opt-in: its input goes through libnftnl's *_nlmsg_parse first, and
#   libnftnl 1.2.4 trusts the kernel (it exits or dereferences NULL on malformed attributes), so
#   most of its findings are libnftnl's, not policyc's.
# Seeds are read in place: samples, tests/golden, tests/scenario, ../shared/conformance save
# dumps, and the blobs/messages policyc's own encoders make of the .pol files (policyc_fuzz_seeds);
# import_nft_json's are nftables' own rule tests (../shared/conformance/nftables/py/*/*.t.json)
# made into whole documents, and, as root, `nft -j list ruleset` of every golden .nft
# (tests/import/nft_json_seeds.sh).
# Crashes go to BUILD/fuzz-artifacts/TARGET; any crash, leak, slow input or timeout fails the
# run. Each artifact found once belongs in tests/fuzz/regressions/TARGET, which the unit tests
# replay. BUILD is $POLICYC_FUZZ_BUILD or build-fuzz.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
usage="usage: run.sh SECONDS [TARGET...] | run.sh --runs N [TARGET...]"
if [ "${1:-}" = --runs ]; then
    runs=${2:?$usage}
    shift 2
    # slow-unit reports depend on the machine; a hang is still a failure (-timeout)
    budget=(-runs="$runs" -seed=1 -report_slow_units=20)
    what="$runs inputs"
else
    seconds=${1:?$usage}
    shift
    runs=
    budget=(-max_total_time="$seconds")
    what="${seconds}s"
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(compile import_iptables import_nft_json ipt_blob rtnl)
build=${POLICYC_FUZZ_BUILD:-$root/build-fuzz}
dumps=$root/../shared/conformance/iptables/save-dumps

# Debian's antlr4 4.9 headers do not compile with clang (InterpreterData() {} default-constructs
# a Vocabulary whose const members have no initializer; gcc lets it pass). A patched copy of that
# one header, found through a copy of antlr4-runtime.h ahead of the system one, fixes that; the
# constructor is inline and unused, so the gcc-built runtime library is unaffected.
shim=$build/antlr-shim
mkdir -p "$shim/misc"
cp /usr/include/antlr4-runtime/antlr4-runtime.h "$shim/"
sed 's/InterpreterData() {};/InterpreterData() = delete;/' \
    /usr/include/antlr4-runtime/misc/InterpreterDataReader.h > "$shim/misc/InterpreterDataReader.h"
flags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -I$shim"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DPOLICYC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
cmake --build "$build" -j"$(nproc)" --target policyc_fuzz_seeds \
    $(printf 'fuzz_%s ' "${targets[@]}")

pols=$(find "$root/samples" "$root/tests/golden" "$root/tests/scenario" -name '*.pol' | sort)
rm -rf "$build/fuzz-seeds"
# shellcheck disable=SC2086
ASAN_OPTIONS=detect_leaks=0 "$build/tests/fuzz/policyc_fuzz_seeds" "$build/fuzz-seeds" $pols
# .pol keywords as a dictionary: mutations then produce words the grammar knows.
grep -o "'[a-z@][a-z0-9_-]*'" "$root/grammar/Policy.g4" | sort -u | sed 's/^'"'"'\(.*\)'"'"'$/"\1"/' \
    > "$build/fuzz-seeds/pol.dict"
bash "$root/tests/import/nft_json_seeds.sh" "$build/fuzz-seeds/import_nft_json"

seeds_of() {
    case $1 in
        compile) echo "$root/samples $root/tests/golden/ok $root/tests/golden/errors" \
                      "$root/tests/golden/lint $root/tests/scenario" ;;
        import_iptables) echo "$dumps $root/tests/golden/import" ;;
        import_nft_json) echo "$build/fuzz-seeds/import_nft_json" ;;
        ipt_blob) echo "$build/fuzz-seeds/ipt_blob" ;;
        rtnl) echo "$build/fuzz-seeds/rtnl" ;;
        nft_delinearize) echo "$build/fuzz-seeds/nft_delinearize" ;;
    esac
}

failed=()
for t in "${targets[@]}"; do
    corpus=$build/fuzz-corpus/$t
    # A reproducible run starts from the seeds alone: inputs an earlier run found would change
    # which mutations follow.
    [ -n "$runs" ] && corpus=$build/fuzz-corpus-runs/$t && rm -rf "$corpus"
    artifacts=$build/fuzz-artifacts/$t/
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts" "$build/fuzz-work"
    extra=()
    [ "$t" = compile ] && extra+=(-dict="$build/fuzz-seeds/pol.dict")
    [ -d "$root/tests/fuzz/regressions/$t" ] && extra+=("$root/tests/fuzz/regressions/$t")
    echo "== fuzz_$t for $what"
    failure=
    # Run in a scratch directory: .pol includes are relative to it. stdin closed: an include of
    # "-" or /dev/stdin must not wait for a terminal. The corpus comes first: libFuzzer writes
    # the inputs it finds into the first directory, and the others (the regressions among them)
    # must stay as they are.
    # shellcheck disable=SC2046
    if ! (cd "$build/fuzz-work" && "$build/tests/fuzz/fuzz_$t" "${budget[@]}" \
            -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
            -artifact_prefix="$artifacts" "$corpus" "${extra[@]}" $(seeds_of "$t") \
            < /dev/null 2>&1 | tail -n 40); then
        failure=$t
    fi
    if ls "$artifacts" | grep -q .; then
        failure="$t (artifacts in $artifacts)"
        # CI keeps only the log, and a run from a fixed seed is still not repeatable elsewhere
        # (ASan's addresses feed libFuzzer's comparisons): the input itself must be in the log.
        for a in "$artifacts"*; do
            echo "== $(basename "$a") ($(stat -c %s "$a") bytes), base64:"
            head -c 65536 "$a" | base64 -w 100
        done
    fi
    if [ -n "$failure" ]; then failed+=("$failure"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failures: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${targets[*]}: no crash in $what each"
