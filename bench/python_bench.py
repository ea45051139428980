"""Benchmark of the Python package: fanfill.torch.nn_init vs torch.nn.init, init_model vs a
model's own init, and the Python call overhead of a small fill.

Usage: python bench/python_bench.py [--size 8192] [--reps 5] [--threads 2]
                                    [--model-layers 16] [--skip-model] [--only-overhead]

Each row is the median of --reps runs; torch's function and fanfill's run in
alternation, torch first in each pair (both see the same load). ns/element is
wall time / elements; cycles/element uses the clock of /proc/cpuinfo ("cpu MHz",
the TSC rate on this machine) or --ghz. Ratios are from the one run printed.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import fanfill
import numpy as np
import torch
from fanfill.torch import init_model, nn_init


def _clock_ghz(override: float | None) -> float:
    if override:
        return override
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000.0
    except OSError:
        pass
    return float("nan")


def _median_time(fn: Callable[[], object], reps: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _paired_medians(first: Callable[[], object], second: Callable[[], object],
                    reps: int) -> tuple[float, float]:
    """Median times of `first` (torch) and `second` (fanfill), run in alternation, first
    first in each pair, so that both see the same load on a shared machine."""
    first()
    second()
    a, b = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        a.append(t1 - t0)
        b.append(t2 - t1)
    return statistics.median(a), statistics.median(b)


def _row(name: str, n: int, t_torch: float, t_ff: float, ghz: float) -> str:
    ns_t, ns_f = t_torch / n * 1e9, t_ff / n * 1e9
    return (f"| {name} | {ns_t:.3f} | {ns_t * ghz:.2f} | {ns_f:.3f} | {ns_f * ghz:.2f} | "
            f"{t_torch / t_ff:.1f}x |")


def bench_nn_init(size: int, reps: int, ghz: float) -> list[str]:
    rows = []
    fns = [
        ("kaiming_normal_", lambda m, t: m.kaiming_normal_(t)),
        ("trunc_normal_", lambda m, t: m.trunc_normal_(t, std=0.02)),
        ("uniform_", lambda m, t: m.uniform_(t, -0.1, 0.1)),
    ]
    for dtype, dname in ((torch.float32, "f32"), (torch.bfloat16, "bf16")):
        t = torch.empty(size, size, dtype=dtype)
        for fname, call in fns:
            t_torch, t_ff = _paired_medians(lambda call=call, t=t: call(torch.nn.init, t),
                                            lambda call=call, t=t: call(nn_init, t), reps)
            rows.append(_row(f"{fname} {size}x{size} {dname}", t.numel(), t_torch, t_ff, ghz))
            print(rows[-1], flush=True)
        del t
        gc.collect()
    return rows


def _decoder(layers: int, dtype: torch.dtype) -> tuple[torch.nn.Module, int]:
    import transformers

    cfg = transformers.LlamaConfig(
        vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=layers,
        num_attention_heads=16, num_key_value_heads=16, tie_word_embeddings=False,
        torch_dtype=dtype)
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(cfg).to(dtype)
    model.to_empty(device="cpu")
    n = sum(p.numel() for p in model.parameters())
    return model, n


def bench_model(layers: int, reps: int, ghz: float) -> list[str]:
    rows = []
    for dtype, dname in ((torch.float32, "f32"), (torch.bfloat16, "bf16")):
        model, n = _decoder(layers, dtype)

        def own(model: torch.nn.Module = model) -> None:
            for m in model.modules():
                m._is_hf_initialized = False
            with torch.no_grad():
                model.init_weights()

        t_own, t_ff = _paired_medians(own, lambda model=model: init_model(model, 0), reps)
        rows.append(_row(f"init_model Llama {n / 1e9:.2f}B params ({layers} layers) {dname}", n,
                         t_own, t_ff, ghz))
        print(rows[-1], flush=True)
        del model
        gc.collect()
    return rows


def _repeated(fn: Callable[[], object], k: int) -> Callable[[], None]:
    """`fn` called k times in a row, as one timed sample."""
    def run() -> None:
        for _ in range(k):
            fn()
    return run


def bench_overhead(reps: int) -> list[str]:
    """Per-call time of small fills (where the Python layers, not the kernel, dominate), each
    beside a reference call on the same buffer, paired as in _paired_medians."""
    a = np.empty(256, np.float32)
    t = torch.empty(16, 16)
    rng = np.random.default_rng(1)
    pairs = [
        ("fill_normal(numpy f32[256])", lambda: rng.standard_normal(out=a, dtype=np.float32),
         lambda: fanfill.fill_normal(a, seed=1)),
        ("fill_normal(torch f32[16,16])", lambda: t.normal_(),
         lambda: fanfill.fill_normal(t, seed=1)),
        ("init_(torch f32[16,16], 'kaiming_normal')", lambda: t.normal_(),
         lambda: fanfill.init_(t, "kaiming_normal", seed=1)),
    ]
    for fname, call in (("normal_", lambda m: m.normal_(t)),
                        ("uniform_", lambda m: m.uniform_(t, -0.1, 0.1)),
                        ("trunc_normal_", lambda m: m.trunc_normal_(t, std=0.02)),
                        ("kaiming_normal_", lambda m: m.kaiming_normal_(t)),
                        ("xavier_uniform_", lambda m: m.xavier_uniform_(t))):
        pairs.append((f"nn.init.{fname}(f32[16,16])",
                      lambda call=call: call(torch.nn.init), lambda call=call: call(nn_init)))
    # A model of many small modules, where init_model's per-module and per-fill work
    # dominates; the reference is the modules' own reset_parameters (what torch's
    # constructors run), with torch's generator.
    small = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Linear(32, 32),
                                                      torch.nn.LayerNorm(32))
                                  for _ in range(200)])
    resets = [m.reset_parameters for m in small.modules() if hasattr(m, "reset_parameters")]

    def own_init() -> None:
        for reset in resets:
            reset()

    out = []
    k = 500  # calls per timed sample
    for name, ref, ours in pairs:
        t_ref, t_ff = _paired_medians(_repeated(ref, k), _repeated(ours, k), max(reps, 5))
        out.append(f"| {name} | {t_ref / k * 1e6:.2f} | {t_ff / k * 1e6:.2f} | "
                   f"{t_ff / t_ref:.1f} |")
        print(out[-1], flush=True)
    k = 5
    t_ref, t_ff = _paired_medians(_repeated(own_init, k),
                                  _repeated(lambda: init_model(small, 1), k), max(reps, 5))
    out.append(f"| init_model(200 x (Linear(32, 32) + LayerNorm(32))) (ref: their "
               f"reset_parameters) | {t_ref / k * 1e6:.0f} | {t_ff / k * 1e6:.0f} | "
               f"{t_ff / t_ref:.1f} |")
    print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-layers", type=int, default=16)
    ap.add_argument("--skip-model", action="store_true")
    ap.add_argument("--only-overhead", action="store_true",
                    help="only the per-call times of small fills")
    ap.add_argument("--ghz", type=float, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # fanfill's nn_init uses the default oneTBB arena: all cores of the machine (run this on
    # a machine with --threads cores, or under taskset, to compare like with like).
    ghz = _clock_ghz(args.ghz)
    print(f"torch {torch.__version__}, fanfill {fanfill.version()} ({fanfill.active_target()}), "
          f"{args.threads} threads, clock {ghz:.3f} GHz, median of {args.reps}")
    if args.only_overhead:
        print("| call | reference us/call | fanfill us/call | fanfill / reference |")
        print("|---|---|---|---|")
        bench_overhead(args.reps)
        return
    print("| operation | torch ns/elem | torch cycles/elem | fanfill ns/elem | "
          "fanfill cycles/elem | speed-up |")
    print("|---|---|---|---|---|---|")
    bench_nn_init(args.size, args.reps, ghz)
    if not args.skip_model:
        bench_model(args.model_layers, args.reps, ghz)
    print()
    print("| call (reference: numpy's standard_normal, torch's normal_ or torch.nn.init) | "
          "reference us/call | fanfill us/call | fanfill / reference |")
    print("|---|---|---|---|")
    bench_overhead(args.reps)


if __name__ == "__main__":
    main()
