#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Turns bench/run.sh's results.tsv into the markdown table of medians and ratios.
"""Usage: report.py results.tsv [machine-file]"""
import math
import statistics
import sys
from collections import defaultdict


def load(path):
    """(label, size) -> list of (wall ms, MiB, cpu ms) of the successful runs; failures
    counted apart."""
    ok, failed = defaultdict(list), defaultdict(int)
    for line in open(path):
        label, size, _run, us, kb, rc, cpu = line.rstrip("\n").split("\t")
        good = rc == "0" or (label == "lint" and rc == "1")
        key = (label, int(size))
        if good:
            ok[key].append((int(us) / 1000.0, int(kb) / 1024.0, float(cpu)))
        else:
            failed[key] += 1
    return ok, failed


def med(ok, failed, label, size):
    runs = ok.get((label, size))
    if not runs:
        return failed.get((label, size), 0) or None
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            len(runs), failed.get((label, size), 0), statistics.median(r[2] for r in runs))


def num(ms):
    return "%.0f" % ms if ms >= 100 else "%.1f" % ms


def cell(m):
    """wall ms, cpu ms, MiB"""
    if m is None:
        return "not run", "-", "-"
    if isinstance(m, int):
        return "failed (%d runs)" % m, "-", "-"
    ms, mib, _n, bad, cpu = m
    note = "" if not bad else " (%d failed)" % bad
    return num(ms) + note, num(cpu), "%.1f" % mib


def ratio(a, b, i):
    if not isinstance(a, tuple) or not isinstance(b, tuple) or b[i] == 0:
        return "-"
    return "%.2fx" % (a[i] / b[i])


def compare(ok, failed, sizes, mine, theirs, title, other):
    print("\n### %s\n" % title)
    print("| rules | policyc wall ms | cpu ms | MiB | %s wall ms | cpu ms | MiB "
          "| wall ratio | cpu ratio | memory ratio |" % other)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        a, b = med(ok, failed, mine, n), med(ok, failed, theirs, n)
        print("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
              % ((n,) + cell(a) + cell(b) + (ratio(a, b, 0), ratio(a, b, 4), ratio(a, b, 1))))


def growth(ok, failed, sizes, label, title):
    """Time and memory by size, and the exponent k of t ~ n^k between consecutive sizes
    (n log n from 10k to 200k is k ~ 1.1; quadratic is 2)."""
    print("\n### %s\n" % title)
    print("| rules | wall ms | cpu ms | MiB | cpu us per rule | growth k of cpu (t ~ n^k) "
          "vs previous size |")
    print("|---:|---:|---:|---:|---:|---:|")
    prev = None
    for n in sizes:
        m = med(ok, failed, label, n)
        t, cpu, mib = cell(m)
        m = m if isinstance(m, tuple) else None
        per = "%.1f" % (1000 * m[4] / n) if m else "-"
        k = "-"
        if m and prev and prev[1][4] > 0 and m[4] > 0:
            k = "%.2f" % (math.log(m[4] / prev[1][4]) / math.log(n / prev[0]))
        print("| %d | %s | %s | %s | %s | %s |" % (n, t, cpu, mib, per, k))
        prev = (n, m) if m else None


def main():
    ok, failed = load(sys.argv[1])
    sizes = sorted({k[1] for k in list(ok) + list(failed)})
    if len(sys.argv) > 2:
        kernel, cpus, mem = [l.strip() for l in open(sys.argv[2])][:3]
        print("Machine: %s CPUs, %s RAM, kernel %s" % (cpus, mem, kernel))
    runs = max((len(v) for v in ok.values()), default=0)
    print("Medians of %d runs; wall time and cpu time (user + system, which includes the "
          "kernel's work in the process's netlink/setsockopt calls) in ms, peak RSS "
          "(/usr/bin/time %%M) in MiB; ratio = policyc / tool (below 1 is better for policyc)."
          % runs)
    noop = [r[0] for k, v in ok.items() if k[0] == "noop" for r in v]
    if noop:
        print("Measurement overhead (the same wrapper running `true`): median %.1f ms wall."
              % statistics.median(noop))
    compare(ok, failed, sizes, "apply-nft", "nft-f",
            "policyc apply --backend nft vs nft -f (targets: <= 0.5x time, <= 0.25x memory)",
            "nft -f")
    compare(ok, failed, sizes, "apply-legacy", "ipt-restore",
            "policyc apply --backend legacy vs iptables-legacy-restore (target: <= 1.0x time)",
            "restore")
    growth(ok, failed, sizes, "build", "policyc build -o DIR, no kernel (target: 200k < 2 s)")
    growth(ok, failed, sizes, "lint",
           "policyc lint (target: 200k < 5 s, growing no faster than n log n)")
    compare(ok, failed, sizes, "diff-nft", "nft-list",
            "policyc diff --backend nft vs nft list ruleset, after the apply (target: faster)",
            "nft list")
    compare(ok, failed, sizes, "diff-legacy", "ipt-save",
            "policyc diff --backend legacy vs iptables-legacy-save, after the load",
            "save")
    print("\n### One-rule change, nft backend: second apply after changing one rule "
          "(target: < 50 ms)\n")
    print("| rules | second apply wall ms | cpu ms | MiB | first apply (fresh netns) wall ms |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        t, cpu, mib = cell(med(ok, failed, "change-nft", n))
        first = cell(med(ok, failed, "apply-nft", n))[0]
        print("| %d | %s | %s | %s | %s |" % (n, t, cpu, mib, first))


if __name__ == "__main__":
    main()
