# fanfill_mlp: the demonstration MLP of src/mlp (dense layers, Highway GEMM,
# oneTBB, SGD with momentum). Internal: used by `fanfill validate`, its tests
# and benchmarks; not installed.
add_library(fanfill_mlp STATIC
  ${PROJECT_SOURCE_DIR}/src/mlp/gemm.cc
  ${PROJECT_SOURCE_DIR}/src/mlp/mlp.cc
)
target_compile_features(fanfill_mlp PUBLIC cxx_std_20)
# `#include "src/mlp/mlp.h"` and Highway's HWY_TARGET_INCLUDE work from the
# root inside the library. Its users get a narrow include directory that holds
# src/mlp alone (a link in the build tree), so code that links the MLP sees
# its headers and none of the library's internals (src/core, src/schemes...).
set(FANFILL_MLP_INCLUDE_DIR "${PROJECT_BINARY_DIR}/mlp_include")
file(MAKE_DIRECTORY "${FANFILL_MLP_INCLUDE_DIR}/src")
file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/mlp" "${FANFILL_MLP_INCLUDE_DIR}/src/mlp" SYMBOLIC)
target_include_directories(fanfill_mlp PRIVATE ${PROJECT_SOURCE_DIR}
                                       PUBLIC ${FANFILL_MLP_INCLUDE_DIR})
target_compile_options(fanfill_mlp PRIVATE -ffp-contract=off -Wall -Wextra)
target_compile_definitions(fanfill_mlp PRIVATE
  HWY_DISABLED_TARGETS=${FANFILL_HWY_DISABLED_TARGETS})
target_link_libraries(fanfill_mlp PUBLIC fanfill hwy::hwy TBB::tbb)
