#!/usr/bin/env python3
"""fanfill's scalar FP8 conversions vs torch over all 2^32 float32 patterns.

Usage (natively, never under qemu or a sanitizer; about a minute per format):
  cmake --build build --target fp8_dump
  python3 -m venv build/fp8-venv && build/fp8-venv/bin/pip install torch==2.13.0 ml_dtypes numpy
  build/fp8-venv/bin/python3 scripts/fp8_torch_sweep.py build/tests/fp8_dump [--formats e4m3,e5m2]

For each format, build/tests/fp8_dump streams FloatToF8Bits(x) for x = 0 ..
2^32 - 1 (src/core/dtype.h); this script computes, per chunk of 2^26
patterns, torch.from_numpy(x).to(torch.float8_e4m3fn / float8_e5m2) viewed
as uint8 and compares byte for byte. It also counts where ml_dtypes
(astype) differs from torch, for information. Exit status 0 when fanfill and
torch agree on every pattern. The result is recorded in docs/fp8.md.
"""

import argparse
import subprocess
import sys
import time

import numpy as np
import torch

CHUNK = 1 << 26
TORCH = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}


def sweep(dump: str, fmt: str) -> int:
    import ml_dtypes  # optional cross-check

    ml = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}[fmt]
    proc = subprocess.Popen([dump, fmt], stdout=subprocess.PIPE)
    mismatches, ml_diff, first = 0, 0, []
    t0 = time.time()
    for c in range((1 << 32) // CHUNK):
        bits = np.arange(c * CHUNK, (c + 1) * CHUNK, dtype=np.uint64).astype(np.uint32)
        x = bits.view(np.float32)
        want = torch.from_numpy(x).to(TORCH[fmt]).view(torch.uint8).numpy()
        got = np.frombuffer(proc.stdout.read(CHUNK), dtype=np.uint8)
        if got.size != CHUNK:
            sys.exit(f"fp8_dump ended early in chunk {c}")
        bad = np.nonzero(got != want)[0]
        mismatches += bad.size
        for i in bad[: max(0, 10 - len(first))]:
            first.append((int(bits[i]), int(got[i]), int(want[i])))
        ml_diff += int(np.count_nonzero(x.astype(ml).view(np.uint8) != want))
    proc.wait()
    print(f"{fmt}: {mismatches} mismatches with torch {torch.__version__} over 2^32 patterns "
          f"({time.time() - t0:.0f} s); ml_dtypes {ml_dtypes.__version__} differs from torch "
          f"on {ml_diff}")
    for b, g, w in first:
        print(f"  0x{b:08x}: fanfill 0x{g:02x}, torch 0x{w:02x}")
    return mismatches


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", help="path of the fp8_dump executable")
    ap.add_argument("--formats", default="e4m3,e5m2")
    args = ap.parse_args()
    total = sum(sweep(args.dump, f) for f in args.formats.split(","))
    print("OK: fanfill == torch on every pattern" if total == 0 else f"FAIL: {total} mismatches")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
