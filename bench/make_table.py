#!/usr/bin/env python3
"""Markdown table from fanfill_bench's Google Benchmark JSON.

Usage:
  build/bench/fanfill_bench --benchmark_out=bench.json --benchmark_out_format=json
  python3 bench/make_table.py bench.json          # or: ... --benchmark_format=json | make_table.py -

Columns: benchmark, ns/element, GB/s (10^9 bytes/s), and the fill's time relative
to BM_Memset of the same dtype width, size and thread count ("x memset":
1.00 = as fast as memset, 3.00 = three times memset's time). With
--benchmark_repetitions the median of the repetitions is used (computed from the
per-repetition rows, or taken from the "median" aggregate when only aggregates
were written). Python 3 standard library only.
"""

import argparse
import json
import re
import statistics
import sys

DTYPE_BYTES = {"u32": 4, "f32": 4, "f64": 8, "bf16": 2, "f16": 2, "f8e4m3": 1, "f8e5m2": 1}
SIZE_RE = re.compile(r"^\d+[KMG]?$")
TIME_SUFFIXES = ("/real_time", "/manual_time")


def load(path):
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    start = text.find("{")  # tolerate anything printed before the JSON
    if start < 0:
        sys.exit(f"make_table.py: no JSON object in {path}")
    return json.JSONDecoder().raw_decode(text[start:])[0]


def display_name(run_name):
    for suffix in TIME_SUFFIXES:
        run_name = run_name.replace(suffix, "")
    return run_name


def ns_per_elem(row):
    if "time_per_elem" in row:  # seconds per element
        return float(row["time_per_elem"]) * 1e9
    if "ns_per_elem" in row:
        return float(row["ns_per_elem"])
    items = row.get("items_per_second")
    return 1e9 / float(items) if items else None


def gbps(row):
    b = row.get("bytes_per_second")
    return float(b) / 1e9 if b else None


def parse_key(name):
    """(dtype, size, threads) from 'BM_X/<dtype>/<size>/threads:<t>[/...]'."""
    dtype = size = threads = None
    for part in name.split("/")[1:]:
        if part in DTYPE_BYTES and dtype is None:
            dtype = part
        elif SIZE_RE.match(part) and size is None:
            size = part
        elif part.startswith("threads:") and threads is None:
            threads = part
    return dtype, size, threads


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def collect(data):
    """Ordered {display name: {'ns', 'gbps', 'reps', 'error'}}."""
    order, iters, aggs, errors = [], {}, {}, {}
    for row in data.get("benchmarks", []):
        run_name = row.get("run_name", row["name"])
        name = display_name(run_name)
        if name not in iters:
            order.append(name)
            iters[name], aggs[name] = [], {}
        if row.get("error_occurred"):
            errors[name] = row.get("error_message", "error")
            continue
        if row.get("run_type") == "aggregate":
            aggs[name][row.get("aggregate_name")] = row
        else:
            iters[name].append(row)
    out = {}
    for name in order:
        if name in errors:
            out[name] = {"error": errors[name]}
        elif iters[name]:
            rows = iters[name]
            out[name] = {
                "ns": median_or_none([ns_per_elem(r) for r in rows]),
                "gbps": median_or_none([gbps(r) for r in rows]),
                "reps": len(rows),
            }
        elif aggs[name]:
            row = aggs[name].get("median") or aggs[name].get("mean")
            if row is None:
                continue
            out[name] = {"ns": ns_per_elem(row), "gbps": gbps(row),
                         "reps": row.get("repetitions", 1)}
    return out


def memset_ns(results):
    """{(dtype, size, threads): ns} and {(bytes, size, threads): ns} for the memsets."""
    by_dtype, by_width = {}, {}
    for name, r in results.items():
        if not name.startswith("BM_Memset/") or r.get("ns") is None:
            continue
        dtype, size, threads = parse_key(name)
        if dtype is None:
            continue
        by_dtype[(dtype, size, threads)] = r["ns"]
        by_width.setdefault((DTYPE_BYTES[dtype], size, threads), r["ns"])
    return by_dtype, by_width


def fmt(v, digits):
    return "n/a" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", help="Google Benchmark JSON file, or - for stdin")
    args = ap.parse_args()

    data = load(args.json)
    results = collect(data)
    by_dtype, by_width = memset_ns(results)

    ctx = data.get("context", {})
    info = [f"{k}={ctx[k]}" for k in ("host_name", "date", "num_cpus", "mhz_per_cpu",
                                         "fanfill_version", "fanfill_target",
                                         "fanfill_supported_targets", "tbb_max_concurrency")
            if k in ctx]
    if info:
        print("<!-- " + ", ".join(str(x) for x in info) + " -->")
    reps = {r.get("reps") for r in results.values() if "reps" in r}
    if reps and max(reps) > 1:
        print(f"<!-- median of {max(reps)} repetitions -->")

    print("| benchmark | ns/element | GB/s | x memset |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        if "error" in r:
            print(f"| {name} | error: {r['error']} | | |")
            continue
        dtype, size, threads = parse_key(name)
        ref = None
        if dtype is not None:
            key_dtype = "f32" if dtype == "u32" else dtype
            ref = by_dtype.get((key_dtype, size, threads))
            if ref is None:
                ref = by_width.get((DTYPE_BYTES[dtype], size, threads))
        ratio = r["ns"] / ref if ref and r.get("ns") is not None else None
        print(f"| {name} | {fmt(r['ns'], 3)} | {fmt(r['gbps'], 2)} | {fmt(ratio, 2)} |")


if __name__ == "__main__":
    main()
