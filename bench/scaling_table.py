#!/usr/bin/env python3
"""Markdown table from fanfill_scaling_bench's Google Benchmark JSON.

Usage:
  build/bench/fanfill_scaling_bench --benchmark_out=s.json --benchmark_out_format=json
  python3 bench/scaling_table.py s.json        # or: ... --benchmark_format=json | scaling_table.py -

One row per size and thread count n: ns/element of the f32 normal fill and of
memset (non-zero byte) on the same buffer and threads, GB/s (10^9 bytes/s) of
each, the parallel efficiency E(n) = t(1) / (n * t(n)) of each (t = time per
element; t(1) of the same op and size), and the fill's time relative to
memset's ("x memset"). With --benchmark_repetitions the median of the
repetitions is used, with --stat min the fastest repetition, with --stat best
the fastest single iteration of any repetition (the benchmark's
best_time_per_elem counter: on a machine shared with other jobs, the run least
disturbed by them). Python 3
standard library only.
"""

import argparse
import json
import re
import statistics
import sys

NAME_RE = re.compile(r"^BM_Scaling/(normal|memset)/(cache|memory)/threads:(\d+)(?:/real_time)?$")
SIZE_TEXT = {"cache": "256 KiB/thread", "memory": "256 MiB"}


def load(path):
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    start = text.find("{")  # tolerate anything printed before the JSON
    if start < 0:
        sys.exit("scaling_table.py: no JSON object in the input")
    return json.loads(text[start:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="Google Benchmark JSON output, or - for stdin")
    parser.add_argument("--stat", choices=("median", "min", "best"), default="median",
                        help="statistic over repetitions (default: median)")
    args = parser.parse_args()
    reduce = statistics.median if args.stat == "median" else min  # best: min of per-rep bests
    counter = "best_time_per_elem" if args.stat == "best" else "time_per_elem"
    data = load(args.json)

    samples = {}  # (op, size, n) -> [seconds per element]
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        m = NAME_RE.match(b.get("run_name", b["name"]))
        if not m or counter not in b:
            continue
        op, size, n = m.group(1), m.group(2), int(m.group(3))
        samples.setdefault((op, size, n), []).append(float(b[counter]))
    if not samples:
        sys.exit("scaling_table.py: no BM_Scaling results in the input")
    t = {key: reduce(v) for key, v in samples.items()}
    reps = sorted({len(v) for v in samples.values()})

    ctx = data.get("context", {})
    print(f"fanfill {ctx.get('fanfill_version', '?')}, target {ctx.get('fanfill_target', '?')}, "
          f"{ctx.get('hardware_concurrency', '?')} hardware threads, "
          f"host {ctx.get('host_name', '?')}, {ctx.get('date', '?')}; "
          f"{args.stat} of {'/'.join(map(str, reps))} repetition(s)")
    print()
    print("| buffer | threads | normal ns/elem | normal GB/s | normal E(n) "
          "| memset ns/elem | memset GB/s | memset E(n) | x memset |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def cells(op, size, n):
        if (op, size, n) not in t:
            return ["-", "-", "-"]
        tn = t[(op, size, n)]
        gbs = 4 / tn / 1e9  # f32: 4 bytes per element
        eff = f"{t[(op, size, 1)] / (n * tn):.2f}" if (op, size, 1) in t else "-"
        return [f"{tn * 1e9:.3f}", f"{gbs:.2f}", eff]

    for size in ("cache", "memory"):
        counts = sorted({n for (_, s, n) in t if s == size})
        for n in counts:
            row = [SIZE_TEXT[size], str(n)] + cells("normal", size, n) + cells("memset", size, n)
            if ("normal", size, n) in t and ("memset", size, n) in t:
                row.append(f"{t[('normal', size, n)] / t[('memset', size, n)]:.2f}")
            else:
                row.append("-")
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
