#!/usr/bin/env bash
# The main job: builds fanfill and prints this machine's throughput table,
# every fill beside a memset of the same buffer.
# Usage: scripts/bench.sh [extra google-benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)" --target fanfill_bench
build/bench/fanfill_bench --benchmark_min_time=0.2 "$@"
