# The `fanfill` command (tools/fanfill_cli): one tensor or a whole model spec
# to .npy / .safetensors / .bin, `describe` and `bench`. Included from the top-level
# CMakeLists.txt after the library targets exist; installed by
# cmake/FanfillInstall.cmake. Needs CLI11 (Debian: libcli11-dev).
option(FANFILL_CLI "Build the fanfill command-line tool" ${FANFILL_MASTER_PROJECT})
if(NOT FANFILL_CLI)
  return()
endif()

find_package(CLI11 2.0 REQUIRED)

# The model-file layout (file headers and tensor order of .npy/.safetensors
# files), shared by the fanfill command and the MPI example (one definition).
add_library(fanfill_formats STATIC tools/fanfill_cli/formats.cc)
target_include_directories(fanfill_formats PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_features(fanfill_formats PUBLIC cxx_std_20)
target_compile_options(fanfill_formats PRIVATE -Wall -Wextra)
target_link_libraries(fanfill_formats PUBLIC fanfill::fanfill
                                      PRIVATE nlohmann_json::nlohmann_json)

# Hugging Face config.json -> tensor list (`fanfill hf`), unit-tested by fanfill_test.
add_library(fanfill_hf_model STATIC tools/fanfill_cli/hf_model.cc)
target_include_directories(fanfill_hf_model PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_features(fanfill_hf_model PUBLIC cxx_std_20)
target_compile_options(fanfill_hf_model PRIVATE -Wall -Wextra)
target_link_libraries(fanfill_hf_model PUBLIC fanfill::fanfill
                                       PRIVATE fanfill_formats nlohmann_json::nlohmann_json)

add_executable(fanfill_cli
  tools/fanfill_cli/main.cc
  tools/fanfill_cli/bench.cc
  tools/fanfill_cli/output_file.cc
  tools/fanfill_cli/tensor_writer.cc)
set_target_properties(fanfill_cli PROPERTIES OUTPUT_NAME fanfill)
# Sources include each other by their path from the project root.
target_include_directories(fanfill_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_features(fanfill_cli PRIVATE cxx_std_20)
target_compile_options(fanfill_cli PRIVATE -Wall -Wextra)
# nlohmann/json is header-only: used here at build time only, as in the library.
target_link_libraries(fanfill_cli PRIVATE fanfill::fanfill fanfill_formats fanfill_hf_model fanfill_validate CLI11::CLI11 TBB::tbb
                                          nlohmann_json::nlohmann_json)
