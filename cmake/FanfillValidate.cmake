# `fanfill validate`'s experiments (src/mlp/{data,experiments,report,validate}):
# data sets, the five experiments, tables/CSV/SVG. Linked into the `fanfill`
# command and tests/validate_test; not installed.
find_package(ZLIB REQUIRED)
add_library(fanfill_validate STATIC
  src/mlp/data.cc
  src/mlp/experiments.cc
  src/mlp/report.cc
  src/mlp/validate.cc)
# The MLP's narrow include directory (cmake/FanfillMlp.cmake) reaches users
# through fanfill_mlp; the sources themselves include from the root.
target_include_directories(fanfill_validate PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_features(fanfill_validate PUBLIC cxx_std_20)
target_compile_options(fanfill_validate PRIVATE -ffp-contract=off -Wall -Wextra)
target_link_libraries(fanfill_validate PUBLIC fanfill_mlp fanfill ZLIB::ZLIB TBB::tbb)
