#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every benchmark of issue 8 side by side (policyc vs nft -f / iptables-legacy-restore,
# build, lint, diff, one-rule change), each kernel run in a fresh scratch netns; prints medians.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/run.sh [--sizes 1000,10000,50000,200000] [--runs N] [--timeout SECONDS]
                    [--policyc PATH] [--work DIR]
Needs root (network namespaces). Never touches the host namespace.
POLICYC (or --policyc) defaults to build-bench/driver/policyc, then build/driver/policyc.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
sizes=1000,10000,50000,200000
runs=3
limit=900
work=""
policyc=${POLICYC:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --timeout) limit=$2; shift 2 ;;
        --policyc) policyc=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
if [ -z "$policyc" ]; then
    for p in "$repo/build-bench/driver/policyc" "$repo/build/driver/policyc"; do
        [ -x "$p" ] && { policyc=$p; break; }
    done
fi
[ -x "${policyc:-}" ] || { echo "run.sh: no policyc binary (set POLICYC)" >&2; exit 2; }
policyc=$(readlink -f "$policyc")
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root for network namespaces" >&2; exit 2; }
for t in /usr/bin/time nft iptables-legacy-restore iptables-legacy-save python3; do
    command -v "$t" > /dev/null || { echo "run.sh: missing $t" >&2; exit 2; }
done
[ -n "$work" ] || work=$(mktemp -d /tmp/policyc-bench.XXXXXX)
mkdir -p "$work"
results="$work/results.tsv"
: > "$results"

nsprefix="pcx-bench-$$"
nsseq=0
cleanup() {
    local ns
    for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep "^$nsprefix-" || true); do
        ip netns del "$ns" 2> /dev/null || true
    done
}
trap cleanup EXIT INT TERM

newns() {
    nsseq=$((nsseq + 1))
    ns="$nsprefix-$nsseq"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
}

# Namespace teardown frees the rules in a kernel worker; let it finish so that it does not eat
# the CPU of the next measurement (2-core machines notice).
delns() {
    ip netns del "$1"
    local n=$2
    sleep "$(python3 -c "print(0.2 + $n / 100000)")"
}

# Other work on the machine (compilers) would otherwise set the wall times; root may raise the
# measured process's priority so that wall time approaches its own cpu time plus waits.
export NICE=${BENCH_NICE:--20}

# timed NS|- LABEL SIZE RUN CMD...: wall time (inside the netns, without `ip netns exec` itself)
# and peak RSS of CMD from /usr/bin/time; one line per run into results.tsv.
timed() {
    local ns=$1 label=$2 size=$3 run=$4
    shift 4
    local tf="$work/time.$$" rc=0 out
    local inner='t0=$EPOCHREALTIME; nice -n "$NICE" /usr/bin/time -f "%M %U %S" -o "$0" timeout "$1" "${@:2}" \
        > /dev/null 2> "$0.err"; rc=$?; t1=$EPOCHREALTIME;
        echo "$rc $(( (${t1/./} - ${t0/./}) ))"'
    if [ "$ns" = - ]; then
        out=$(bash -c "$inner" "$tf" "$limit" "$@")
    else
        out=$(ip netns exec "$ns" bash -c "$inner" "$tf" "$limit" "$@")
    fi
    rc=${out%% *}
    local us=${out##* }
    local kb cpu
    read -r kb cpu < <(awk '/^[0-9]+ [0-9.]+ [0-9.]+$/ {k = $1; c = ($2 + $3) * 1000}
        END {printf "%d %d\n", k, c}' "$tf")
    # lint exits 1 when it has findings: that is a result, not a failure. diff must exit 0
    # (nothing to change after the apply), else its time is not the comparison's.
    if [ "$rc" != 0 ] && ! { [ "$label" = lint ] && [ "$rc" = 1 ]; }; then
        echo "  $label n=$size run $run: exit $rc: $(head -c 300 "$tf.err")" >&2
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$size" "$run" "$us" "${kb:-0}" "$rc" \
        "${cpu:-0}" \
        >> "$results"
}

count_rules() { # NS TOOL -> number of rules listed back (correctness check, not timed)
    if [ "$2" = nft ]; then
        ip netns exec "$1" nft list ruleset | grep -cE '^\s+(meta|ct|iifname|ip|tcp|udp)' || true
    else
        ip netns exec "$1" iptables-legacy-save | grep -c '^-A' || true
    fi
}

check_count() { # NS TOOL SIZE WHAT
    local got
    got=$(count_rules "$1" "$2")
    [ "$got" = "$3" ] || echo "  WARNING: $4 n=$3: $got rules listed back, expected $3" >&2
}

IFS=, read -r -a sizelist <<< "$sizes"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "policyc: $policyc"
echo "work dir: $work (runs=$runs, timeout=${limit}s)"

for n in "${sizelist[@]}"; do
    python3 "$here/gen_policy.py" "$n" > "$work/$n.pol"
    python3 "$here/gen_policy.py" "$n" --change > "$work/$n-change.pol"
    "$policyc" build "$work/$n.pol" --host bench --emit iptables > "$work/$n.iptables"
    "$policyc" build "$work/$n.pol" --host bench --emit nft > "$work/$n.nft"
done

for n in "${sizelist[@]}"; do
    echo "== n=$n"
    for r in $(seq 1 "$runs"); do
        echo "  run $r"
        # Alternate which side goes first so that drift (page cache, workers) favours neither.
        for side in $( [ $((r % 2)) = 1 ] && echo "a b" || echo "b a"); do
            newns
            if [ "$side" = a ]; then
                timed "$ns" apply-nft "$n" "$r" "$policyc" apply "$work/$n.pol" --host bench \
                    --backend nft
                [ "$r" = 1 ] && check_count "$ns" nft "$n" "policyc apply --backend nft"
                # read back + compare; exit 0: the live state equals the policy
                timed "$ns" diff-nft "$n" "$r" "$policyc" diff "$work/$n.pol" --host bench \
                    --backend nft
            else
                timed "$ns" nft-f "$n" "$r" nft -f "$work/$n.nft"
                [ "$r" = 1 ] && check_count "$ns" nft "$n" "nft -f"
                # diff's reference: listing the ruleset back, which `policyc diff` also does.
                timed "$ns" nft-list "$n" "$r" nft list ruleset
            fi
            delns "$ns" "$n"
            newns
            if [ "$side" = a ]; then
                timed "$ns" apply-legacy "$n" "$r" "$policyc" apply "$work/$n.pol" --host bench \
                    --backend legacy
                [ "$r" = 1 ] && check_count "$ns" legacy "$n" "policyc apply --backend legacy"
                timed "$ns" diff-legacy "$n" "$r" "$policyc" diff "$work/$n.pol" --host bench \
                    --backend legacy
            else
                timed "$ns" ipt-restore "$n" "$r" iptables-legacy-restore "$work/$n.iptables"
                [ "$r" = 1 ] && check_count "$ns" legacy "$n" "iptables-legacy-restore"
                timed "$ns" ipt-save "$n" "$r" iptables-legacy-save
            fi
            delns "$ns" "$n"
        done
        timed - noop "$n" "$r" true
        timed - build "$n" "$r" "$policyc" build "$work/$n.pol" -o "$work/out-$n"
        timed - lint "$n" "$r" "$policyc" lint "$work/$n.pol"
        # One-rule change: the first apply is setup, only the second one is timed.
        newns
        ip netns exec "$ns" "$policyc" apply "$work/$n.pol" --host bench --backend nft \
            > /dev/null || echo "  one-rule change n=$n: the first apply failed" >&2
        timed "$ns" change-nft "$n" "$r" "$policyc" apply "$work/$n-change.pol" --host bench \
            --backend nft
        delns "$ns" "$n"
    done
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
uname -r > "$work/machine"
nproc >> "$work/machine"
free -m | awk '/^Mem:/ {print $2 " MiB"}' >> "$work/machine"
python3 "$here/report.py" "$results" "$work/machine"
