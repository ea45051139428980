#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, -fsanitize=fuzzer,address,undefined)
# and fuzzes each for a bounded time. Fails on any crash, leak, timeout or
# out-of-memory, and on any saved regression input that fails again.
# Usage: scripts/fuzz.sh [seconds-per-target (default 60; 0: build and run the
#        saved regressions only)] [build-dir (default build-fuzz)]
# A crash leaves its input in <build-dir>/artifacts/<target>/; reproduce with
#   <build-dir>/<target> <that file>       (docs/hardening.md)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${2:-build-fuzz}
scripts/install-deps.sh  # clang and libclang-rt-dev (libFuzzer) among them

CC=clang CXX=clang++ cmake -S fuzz -B "$build" -G Ninja >/dev/null
cmake --build "$build" --parallel "$(nproc)"

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for target in scheme_spec model_spec; do
  fuzzer="$build/${target}_fuzzer"
  regressions="fuzz/regressions/$target"
  # 1. Every saved crash input, once (libFuzzer runs the files it is given).
  if compgen -G "$regressions/*" >/dev/null; then
    echo "fuzz.sh: $target: regression inputs"
    "$fuzzer" -runs=0 "$regressions"/* >"$build/$target.regressions.log" 2>&1 || {
      cat "$build/$target.regressions.log"
      echo "fuzz.sh: $target: a saved regression input fails again" >&2
      status=1
    }
  fi
  [ "$seconds" -gt 0 ] || continue  # 0: build and check the regressions only
  # 2. Fuzz from the seed corpus, into a scratch copy (the committed corpus
  #    stays small); stops at the first crash.
  work="$build/corpus/$target"
  artifacts="$build/artifacts/$target/"
  mkdir -p "$work" "$artifacts"
  echo "fuzz.sh: $target: fuzzing for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 -artifact_prefix="$artifacts" \
      "$work" "fuzz/corpus/$target" >"$build/$target.fuzz.log" 2>&1; then
    tail -n 60 "$build/$target.fuzz.log"
    echo "fuzz.sh: $target: FAILED; inputs in $artifacts:" >&2
    ls -l "$artifacts" >&2
    status=1
  else
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' \
      "$build/$target.fuzz.log" || true
    echo "fuzz.sh: $target: no crash; corpus now $(ls "$work" | wc -l) inputs"
  fi
done
exit "$status"
