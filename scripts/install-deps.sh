#!/usr/bin/env bash
# Installs the Debian 12 packages fanfill needs to build, test and benchmark.
# Idempotent; skips apt-get entirely when everything is already installed.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config python3
      libhwy-dev libtbb-dev libbenchmark-dev libgtest-dev librandom123-dev
      liblapacke-dev libopenblas-dev nlohmann-json3-dev
      libcli11-dev python3-numpy zlib1g-dev python3-sklearn
      libopenmpi-dev openmpi-bin clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
