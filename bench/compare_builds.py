#!/usr/bin/env python3
"""Old build vs new build, interleaved in one sitting: is any benchmark row slower?

Usage:
  python3 bench/compare_builds.py OLD_BUILD NEW_BUILD [--reps 5] [--min-time 0.2]
      [--stat median|min] [--bench fanfill_schemes_bench=FILTER ...] [--json out.json]

For each benchmark binary (bench/<name> under each build directory) and each
repetition, the old and the new binary run back to back, the order alternating
between repetitions, so that drift on a shared machine hits both alike. Each
run is one Google Benchmark invocation with --benchmark_repetitions=1. The
table gives, per row, the median over the repetitions of ns per element (from
items_per_second; rows without items report ns per iteration), cycles per
element at the clock read from /proc/cpuinfo, and new/old. A row "counts as
slower" (the rule of the architecture issue) when new/old > 1.05 here AND in a
second, separate run of this script. --stat min takes the fastest repetition
instead of the median: on a VM whose neighbours come and go (runs of the same
binary 10% apart), the least disturbed run is the steadier estimate of what
the code costs; use many short repetitions with it. Python 3 standard
library only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

DEFAULT_BENCHES = {
    # name: --benchmark_filter (regex); the 4096^2 orthogonal row is one slow
    # iteration (LAPACK) and is left to the full table.
    "fanfill_schemes_bench": "-BM_Orthogonal/f32/n:4096",
    "fanfill_bench": "(/1M/|/64M/threads:1$|Baseline)",
    "fanfill_buffer_bench": ".*",
}


def cpu_ghz() -> float:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000.0
    except OSError:
        pass
    return float("nan")


def run_once(binary: str, flt: str, min_time: str,
             extra: list[str]) -> dict[str, tuple[str, float]]:
    cmd = [binary, f"--benchmark_filter={flt}", f"--benchmark_min_time={min_time}",
           "--benchmark_format=json", *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data = json.loads(out[out.find("{"):])
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        ips = b.get("items_per_second")
        if ips:
            rows[b["name"]] = ("ns/elem", 1e9 / ips)
        else:
            scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            rows[b["name"]] = ("ns/iter", b["real_time"] * scale)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", default="0.2")
    ap.add_argument("--bench", action="append", default=[],
                    help="NAME=FILTER (replaces the default set when given)")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="per row, the median (default) or the fastest of the repetitions")
    ap.add_argument("--json", help="write the raw samples here")
    ap.add_argument("--extra-arg", action="append", default=[],
                    help="passed to every benchmark binary (e.g. --extra-arg=--emulate_fma)")
    args = ap.parse_args()
    benches = dict(DEFAULT_BENCHES)
    if args.bench:
        benches = dict(b.split("=", 1) for b in args.bench)

    samples = {}  # (bench, row) -> {"old": [...], "new": [...], "unit": str}
    for rep in range(args.reps):
        for name, flt in benches.items():
            order = ("old", "new") if rep % 2 == 0 else ("new", "old")
            for which in order:
                binary = os.path.join(getattr(args, which), "bench", name)
                for row, (unit, v) in run_once(binary, flt, args.min_time,
                                                   args.extra_arg).items():
                    s = samples.setdefault((name, row), {"old": [], "new": [], "unit": unit})
                    s[which].append(v)
        print(f"compare_builds: repetition {rep + 1}/{args.reps} done", file=sys.stderr)

    ghz = cpu_ghz()
    stat = statistics.median if args.stat == "median" else min
    what = "medians" if args.stat == "median" else "fastest"
    print(f"clock {ghz:.3f} GHz (/proc/cpuinfo); {what} of {args.reps} interleaved runs each\n")
    print("| benchmark | unit | old | new | old cyc | new cyc | new/old |")
    print("|---|---|---:|---:|---:|---:|---:|")
    worst = []
    for (_name, row), s in samples.items():
        if not s["old"] or not s["new"]:
            continue
        o, n = stat(s["old"]), stat(s["new"])
        ratio = n / o
        worst.append((ratio, row))
        flag = " **>5%**" if ratio > 1.05 else ""
        print(f"| {row} | {s['unit']} | {o:.4g} | {n:.4g} | {o * ghz:.4g} | {n * ghz:.4g} "
              f"| {ratio:.3f}{flag} |")
    worst.sort(reverse=True)
    print("\nslowest ratios: " + ", ".join(f"{r:.3f} {row}" for r, row in worst[:5]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({f"{k[0]}:{k[1]}": v for k, v in samples.items()}, f, indent=1)


if __name__ == "__main__":
    main()
