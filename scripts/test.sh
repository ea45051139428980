#!/usr/bin/env bash
# The test command: installs what the build needs, configures, builds, runs every test,
# then the Python package's tests (scripts/test-python.sh).
# Usage: scripts/test.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
scripts/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" --output-on-failure --timeout 900 -j "$(nproc)"
# the Python package (docs: README "Python"); tests/python/test_hf.py runs the command just built
FANFILL_CLI="$(cd "$build" && pwd)/fanfill" scripts/test-python.sh
