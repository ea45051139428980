# fanfill_mlp_bench: MLP training step and bare GEMM, GFLOP/s beside the
# core's theoretical peak (see bench/mlp_bench.cc).
add_executable(fanfill_mlp_bench mlp_bench.cc)
target_link_libraries(fanfill_mlp_bench PRIVATE fanfill_mlp benchmark::benchmark TBB::tbb)
target_compile_features(fanfill_mlp_bench PRIVATE cxx_std_20)
target_compile_options(fanfill_mlp_bench PRIVATE -Wall -Wextra)
