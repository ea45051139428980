#!/usr/bin/env bash
# The Python package's tests: makes a virtual environment (default build/venv),
# installs torch==2.13.0 (CPU) and the test dependencies, `pip install .`
# (scikit-build-core building the same CMake project), then runs `ruff check`
# and pytest on tests/python. Exits non-zero on any failure, including pytest
# collecting no tests.
# Usage: scripts/test-python.sh [pytest args...]
# Environment: FANFILL_VENV (venv path), FANFILL_JOBS (build parallelism, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${FANFILL_VENV:-build/venv}
start=$SECONDS
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv"; then
    # Debian's python3 needs python3-venv for this.
    rm -rf "$venv"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
fi
py="$(cd "$venv" && pwd)/bin/python"
"$py" -m pip install -q --disable-pip-version-check torch==2.13.0
"$py" -m pip install -q --disable-pip-version-check numpy scipy ml_dtypes pytest nanobind \
  scikit-build-core ruff transformers safetensors
export CMAKE_BUILD_PARALLEL_LEVEL=${FANFILL_JOBS:-$(nproc)}
# A persistent build directory (the venv's own nanobind and Python) keeps rebuilds incremental.
extra=(-Cbuild-dir=build/pip-venv)
if command -v ccache >/dev/null 2>&1; then
  extra+=(-Ccmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
"$py" -m pip install -q --disable-pip-version-check --no-build-isolation "${extra[@]}" .
echo "=== test-python: installed in $((SECONDS - start)) s"
"$(dirname "$py")/ruff" check
# Run from outside the source tree so that `import fanfill` is the installed package.
set +e
(cd tests/python && "$py" -m pytest -q -p no:cacheprovider "$@" .)
rc=$?
set -e
echo "=== test-python: pytest exit status $rc, total $((SECONDS - start)) s"
case $rc in
  0) exit 0 ;;
  5) echo "test-python: pytest collected no tests" >&2; exit 1 ;;
  *) exit "$rc" ;;
esac
