#!/usr/bin/env bash
# The per-target tests built with clang, where Highway 1.0.3's fallback target
# is EMU128 (with GCC before 12.3, Debian's 12.2 included, it is SCALAR), so
# that every target a clang build of fanfill can dispatch to is checked
# against the scalar reference and std::fma: targets_test (every fill, every
# dtype, bit for bit) and fma_emulation_test (the exact-FMA emulation of the
# targets without FMA: SSE4 and EMU128).
# Usage: scripts/clang-targets.sh [build-dir (default build-clang)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-clang}
scripts/install-deps.sh  # clang among them
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target targets_test fma_emulation_test
for t in targets_test fma_emulation_test; do
  "$build/tests/$t" --gtest_brief=1
done
# The fallback really is EMU128 here (else this stage checks nothing new).
tests=$("$build/tests/targets_test" --gtest_list_tests)
grep -q '/EMU128\b' <<<"$tests" || {
  echo "clang-targets.sh: no EMU128 target in this clang build" >&2
  exit 1
}
echo "clang-targets.sh: every target of the clang build matches the scalar reference"
