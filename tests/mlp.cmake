# mlp_test: the MLP core (src/mlp): GEMM on every compiled Highway target
# against exact emulations and a double reference, finite-difference gradient
# checks in double, SGD, losses, thread-count determinism, errors.
fanfill_test(mlp_test)
target_link_libraries(mlp_test PRIVATE fanfill_mlp TBB::tbb)
