#!/usr/bin/env bash
# The main job: builds fanfill, prints this machine's throughput table (every
# fill beside a memset of the same buffer, median of 3 repetitions), then the
# quick MLP validation summary (`fanfill validate --quick`: tables on stdout,
# CSV + SVG plots in build/validate).
# Usage: scripts/bench.sh [extra google-benchmark flags, e.g. --benchmark_filter=Normal]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)" --target fanfill_bench fanfill_cli
build/bench/fanfill_bench --benchmark_min_time=0.2 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out=build/fanfill_bench.json --benchmark_out_format=json "$@"
echo
python3 bench/make_table.py build/fanfill_bench.json
echo
echo "== MLP validation (quick): fanfill validate --quick --out build/validate"
build/fanfill validate --quick --out build/validate
