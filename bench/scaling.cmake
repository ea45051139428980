# fanfill_scaling_bench: f32 normal fill and memset over 1, 2, 4, ... N threads,
# for a cache-resident (256 KiB per thread) and a 256 MiB buffer (see
# bench/scaling_bench.cc). bench/scaling_table.py turns its JSON output into
# the Markdown table of docs/cluster.md:
#   build/bench/fanfill_scaling_bench --benchmark_out=s.json --benchmark_out_format=json
#   python3 bench/scaling_table.py s.json
add_executable(fanfill_scaling_bench scaling_bench.cc)
target_link_libraries(fanfill_scaling_bench PRIVATE fanfill benchmark::benchmark TBB::tbb)
target_compile_features(fanfill_scaling_bench PRIVATE cxx_std_20)
target_compile_options(fanfill_scaling_bench PRIVATE -Wall -Wextra)
