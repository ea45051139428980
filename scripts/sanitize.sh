#!/usr/bin/env bash
# Sanitizer builds and runs (docs/hardening.md).
# Usage: scripts/sanitize.sh asan|tsan [build-dir]
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (g++, -O1), the whole
#         test suite (every ctest test: nothing is excluded; ASAN_EXCLUDE=<ctest -E
#         regex> leaves tests out for local use), in build-asan.
#   tsan  ThreadSanitizer (g++, -O1), the tests that run parallel fills, in build-tsan.
# Both compile only the AVX2 and SCALAR Highway targets (HWY_DISABLED_TARGETS):
# an instrumented src/fill.cc with every target takes > 10 min and GBs of RAM.
# The targets test still compares both compiled targets with the scalar reference.
# Set FANFILL_SANITIZE_CONFIGURE_ONLY=1 to configure and build without running.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: scripts/sanitize.sh asan|tsan [build-dir]}
scripts/install-deps.sh

# Highway targets left out of every Highway TU: only AVX2 and SCALAR remain on x86.
disabled_targets='(HWY_SSSE3|HWY_SSE4|HWY_AVX3|HWY_AVX3_DL)'
jobs=$(nproc)

case "$mode" in
  asan)
    build=${2:-build-asan}
    flags='-O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer'
    ;;
  tsan)
    build=${2:-build-tsan}
    flags='-O1 -fsanitize=thread -fno-omit-frame-pointer'
    ;;
  *)
    echo "sanitize.sh: unknown mode '$mode' (asan or tsan)" >&2
    exit 2
    ;;
esac

# Build type None: no -O3/-DNDEBUG from CMake, so the flags above decide the
# optimization level and assert() stays on. CMAKE_<LANG>_FLAGS reach the link
# line too, and the packaging tests hand them to the example consumers they build.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
  "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
  "-DFANFILL_HWY_DISABLED_TARGETS=$disabled_targets" \
  -DFANFILL_BENCH=OFF

if [ "$mode" = asan ]; then
  cmake --build "$build" --parallel "$jobs"
  [ "${FANFILL_SANITIZE_CONFIGURE_ONLY:-0}" = 1 ] && exit 0
  # halt_on_error: the first report fails the test. detect_leaks: LeakSanitizer
  # (checked to work in this container, docs/hardening.md).
  export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  status=0
  ctest --test-dir "$build" --output-on-failure --timeout 1500 -j "$jobs" -LE mpi \
    ${ASAN_EXCLUDE:+-E "$ASAN_EXCLUDE"} || status=1
  # The MPI tests (label mpi, when the tree has them): Open MPI is not
  # instrumented and keeps MPI_Init's allocations past MPI_Finalize. Its
  # components stay loaded (no dlclose) and malloc stacks are unwound fully, so
  # that scripts/lsan.supp can name Open MPI's modules; leaks anywhere else
  # still fail.
  ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0 \
  OMPI_MCA_mca_base_component_disable_dlclose=1 \
  ctest --test-dir "$build" --output-on-failure --timeout 1500 -j "$jobs" -L mpi \
    ${ASAN_EXCLUDE:+-E "$ASAN_EXCLUDE"} --no-tests=ignore || status=1
  exit "$status"
else
  # The tests that run fills on several threads (oneTBB parallel_for through
  # FillOptions/InitOptions::max_threads), whole; and the MLP's thread-count
  # tests (GEMM and training on several threads) when mlp_test exists.
  tsan_tests=(invariance_test:'*' blocks_test:'*' buffer_test:'*' stats_test:'*'
              mlp_test:'*ThreadCount*:*Concurrent*')
  targets=()
  runs=()
  for entry in "${tsan_tests[@]}"; do
    t=${entry%%:*}
    if ninja -C "$build" -t targets all 2>/dev/null | grep -q "^$t:"; then
      targets+=("$t")
      runs+=("$entry")
    else
      echo "sanitize.sh: tsan: no target $t in this tree; skipped"
    fi
  done
  cmake --build "$build" --parallel "$jobs" --target "${targets[@]}"
  [ "${FANFILL_SANITIZE_CONFIGURE_ONLY:-0}" = 1 ] && exit 0
  # halt_on_error: the first race fails the test binary (exit status 66).
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  status=0
  for entry in "${runs[@]}"; do
    t=${entry%%:*}
    filter=${entry#*:}
    exe=$(find "$build" -name "$t" -type f -perm -u+x | head -n 1)
    echo "sanitize.sh: tsan: $t --gtest_filter=$filter"
    start=$SECONDS
    if "$exe" --gtest_filter="$filter" --gtest_brief=1; then
      echo "sanitize.sh: tsan: $t passed in $((SECONDS - start)) s"
    else
      echo "sanitize.sh: tsan: $t FAILED" >&2
      status=1
    fi
  done
  exit "$status"
fi
