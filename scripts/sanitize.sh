#!/usr/bin/env bash
# Sanitizer builds and runs (docs/hardening.md).
# Usage: scripts/sanitize.sh asan|tsan [build-dir]
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (g++, -O1), the whole
#         test suite (every ctest test but the two longest validation experiments
#         and the validate CLI run, see below; ASAN_EXCLUDE=<ctest -E regex>
#         replaces that list), in build-asan.
#   tsan  ThreadSanitizer (g++, -O1), the tests that run parallel fills, in build-tsan,
#         against a oneTBB built with ThreadSanitizer from Debian's own source
#         package of the installed version (apt-get source onetbb; oneTBB's
#         TBB_SANITIZE=thread): Debian's libtbb is not instrumented, so TSan
#         could not see its fork/join synchronization and would report every
#         parallel_for. Built once into <build-dir>/onetbb-tsan (~35 s on 2 cores).
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

tbb_args=()
if [ "$mode" = tsan ]; then
  tbb_prefix=$PWD/$build/onetbb-tsan/install
  if [ ! -f "$tbb_prefix/lib/cmake/TBB/TBBConfig.cmake" ]; then
    # The source of exactly the installed libtbb-dev, from the Debian archive
    # (a deb-src entry for the configured suites, used for this download only).
    tbb_version=$(dpkg-query -W -f='${Version}' libtbb-dev)
    src_dir=$PWD/$build/onetbb-tsan/src
    rm -rf "$src_dir" && mkdir -p "$src_dir"
    list=$PWD/$build/onetbb-tsan/deb-src.sources
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$suite" "$suite" > "$list"
    apt_opts=(-o "Dir::Etc::sourcelist=$list" -o Dir::Etc::sourceparts=-
              -o "Dir::State::Lists=$PWD/$build/onetbb-tsan/lists" -o APT::Sandbox::User=root)
    mkdir -p "$build/onetbb-tsan/lists/partial"
    apt-get "${apt_opts[@]}" update -qq
    (cd "$src_dir" && apt-get "${apt_opts[@]}" source -qq --download-only "onetbb=$tbb_version")
    tar -C "$src_dir" -xf "$src_dir"/onetbb_*.orig.tar.*
    tbb_src=$(find "$src_dir" -maxdepth 2 -name CMakeLists.txt -printf '%h\n' | head -n 1)
    cmake -S "$tbb_src" -B "$build/onetbb-tsan/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DTBB_SANITIZE=thread -DTBB_TEST=OFF \
      -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF -DTBBMALLOC_BUILD=OFF -DCMAKE_INSTALL_PREFIX="$tbb_prefix" \
      -DCMAKE_POLICY_VERSION_MINIMUM=3.5
    cmake --build "$build/onetbb-tsan/build" --parallel "$jobs"
    cmake --install "$build/onetbb-tsan/build" > /dev/null
  fi
  tbb_args=("-DTBB_DIR=$tbb_prefix/lib/cmake/TBB")
fi

# Build type None: no -O3/-DNDEBUG from CMake, so the flags above decide the
# optimization level and assert() stays on. CMAKE_<LANG>_FLAGS reach the link
# line too, and the packaging tests hand them to the example consumers they build.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
  "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
  "-DFANFILL_HWY_DISABLED_TARGETS=$disabled_targets" \
  -DFANFILL_BENCH=OFF "${tbb_args[@]}"

if [ "$mode" = asan ]; then
  cmake --build "$build" --parallel "$jobs"
  [ "${FANFILL_SANITIZE_CONFIGURE_ONLY:-0}" = 1 ] && exit 0
  # halt_on_error: the first report fails the test. detect_leaks: LeakSanitizer
  # (checked to work in this container, docs/hardening.md).
  export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  # Left out, and only these: the two biggest `fanfill validate` experiments
  # and the CLI run of all five. They are long numerical runs of code that
  # the other tests already run under ASan+UBSan (mlp_test: GEMM, network,
  # training, every activation and loss; validate_test's symmetry,
  # determinism, data, report and run tests: the experiment, data and
  # report code), only bigger: 8.5 s + 1.3 s in Release took 543 s + 156 s
  # here, and validate.cli over 180 s. ASAN_EXCLUDE replaces this list.
  exclude=${ASAN_EXCLUDE-'^(ValidateSignal\.|ValidateDepth\.|validate\.cli$)'}
  status=0
  ctest --test-dir "$build" --output-on-failure --timeout 1500 -j "$jobs" -LE mpi \
    ${exclude:+-E "$exclude"} || status=1
  # The MPI tests (label mpi, when the tree has them): Open MPI is not
  # instrumented and keeps MPI_Init's allocations past MPI_Finalize. Its
  # components stay loaded (no dlclose) and malloc stacks are unwound fully, so
  # that scripts/lsan.supp can name Open MPI's modules; leaks anywhere else
  # still fail.
  ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0 \
  OMPI_MCA_mca_base_component_disable_dlclose=1 \
  ctest --test-dir "$build" --output-on-failure --timeout 1500 -j "$jobs" -L mpi \
    ${exclude:+-E "$exclude"} --no-tests=ignore || status=1
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
