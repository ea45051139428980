#!/usr/bin/env bash
# Instruction counts (callgrind) of bench/fixed_work.cc's workloads, linked
# against two builds of the library: the old and the new build directory.
# Usage: bench/insn_compare.sh OLD_SRC OLD_BUILD NEW_SRC NEW_BUILD
# (OLD_SRC/NEW_SRC: the source trees, for their include/ directories). Prints
# one line per workload: old, new, new/old. Needs valgrind.
set -euo pipefail
old_src=$1 old_build=$2 new_src=$3 new_build=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
libs=(-lhwy -ltbb $(pkg-config --libs lapacke openblas) -lpthread)
link() {  # src build out
  local archives=("$2/libfanfill.a")
  [ -f "$2/libfanfill_core.a" ] && archives+=("$2/libfanfill_core.a")
  g++ -std=c++20 -O2 -I"$1/include" "$here/fixed_work.cc" "${archives[@]}" "${libs[@]}" -o "$3"
}
link "$old_src" "$old_build" "$work/old"
link "$new_src" "$new_build" "$work/new"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" 2>&1 |
          sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
printf '%-14s %14s %14s %8s\n' workload old new new/old
for w in init_small init_model normal_f32 uniform_f32 uniform_bf16 trunc_f32 normal_f64 normal_f8e4m3 uniform_f8e4m3 init_block \
         bits_scalar orthogonal; do
  o=$(count "$work/old" "$w")
  n=$(count "$work/new" "$w")
  printf '%-14s %14d %14d %8.4f\n' "$w" "$o" "$n" "$(echo "$n / $o" | bc -l)"
done
