#!/usr/bin/env bash
# Cross-architecture check: builds the kernels for Arm (NEON, SVE, SVE2) with
# Debian's aarch64 cross compiler and runs each, under qemu-user, against the
# scalar reference (tools/cross_target_check.cc). SVE runs at vector lengths
# 128, 512 and 2048 bits. Installs its own packages (g++-aarch64-linux-gnu,
# qemu-user-static). Exit status 0 when every target is bit-identical.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" libhwy-dev
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build() {  # name, -march
  aarch64-linux-gnu-g++ -std=c++20 -O2 -ffp-contract=off -march="$2" -DHWY_COMPILE_ONLY_STATIC \
    -I. -Iinclude tools/cross_target_check.cc src/core/reference.cc -static -o "$out/$1"
}
# Highway's NEON and SVE2 targets assume the crypto (AES) extensions.
build neon armv8-a+crypto
build sve armv8.2-a+sve
build sve2 armv9-a+sve2-aes
qemu-aarch64-static -cpu max "$out/neon"
for bytes in 16 64 256; do
  qemu-aarch64-static -cpu "max,sve-default-vector-length=$bytes" "$out/sve"
done
qemu-aarch64-static -cpu max "$out/sve2"
echo "cross-check: NEON, SVE (3 vector lengths) and SVE2 bit-identical to the scalar reference"
