# Packaging tests: install fanfill into a scratch prefix, then build and run the
# example consumers in examples/ against it, the CMake way (find_package) and
# the pkg-config way. Run them with: ctest -R packaging
# They use the library as built: run them after a full build.
if(NOT FANFILL_INSTALL)
  return()  # no install rules to test
endif()

set(_fanfill_pkg_prefix "${PROJECT_BINARY_DIR}/pkg-install")
set(_fanfill_pkg_work "${PROJECT_BINARY_DIR}/pkg-consumers")
set(_fanfill_pkg_driver "${CMAKE_CURRENT_LIST_DIR}/packaging_driver.cmake")
# Build the consumers with fanfill's generator, compilers, flags and build type.
set(_fanfill_pkg_toolchain
  "-DGENERATOR=${CMAKE_GENERATOR}"
  "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
  "-DC_COMPILER=${CMAKE_C_COMPILER}"
  "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
  "-DC_FLAGS=${CMAKE_C_FLAGS}"
  "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
  "-DCONFIG=$<CONFIG>"
  "-DHWY_DIR=${HWY_DIR}"
  "-DTBB_DIR=${TBB_DIR}")

add_test(NAME packaging.install
  COMMAND "${CMAKE_COMMAND}" -DSTEP=install "-DBUILD_DIR=${PROJECT_BINARY_DIR}"
          "-DPREFIX=${_fanfill_pkg_prefix}" "-DCONFIG=$<CONFIG>"
          -P "${_fanfill_pkg_driver}")
set_tests_properties(packaging.install PROPERTIES
  FIXTURES_SETUP fanfill_pkg_install)

add_test(NAME packaging.cpp_consumer
  COMMAND "${CMAKE_COMMAND}" -DSTEP=cmake_consumer
          "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}/examples/cpp_consumer"
          "-DBINARY_DIR=${_fanfill_pkg_work}/cpp_consumer"
          -DEXECUTABLE=cpp_consumer
          "-DPREFIX=${_fanfill_pkg_prefix}" ${_fanfill_pkg_toolchain}
          -P "${_fanfill_pkg_driver}")

# The C consumer uses the core alone: no LAPACK or OpenBLAS on its link line,
# through CMake (find_package COMPONENTS core) and pkg-config (fanfill-core).
add_test(NAME packaging.c_consumer_cmake
  COMMAND "${CMAKE_COMMAND}" -DSTEP=cmake_consumer
          "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}/examples/c_consumer"
          "-DBINARY_DIR=${_fanfill_pkg_work}/c_consumer_cmake"
          -DEXECUTABLE=c_consumer "-DFORBID=lapack|openblas|blas"
          "-DPREFIX=${_fanfill_pkg_prefix}" ${_fanfill_pkg_toolchain}
          -P "${_fanfill_pkg_driver}")

add_test(NAME packaging.c_consumer_pkgconfig
  COMMAND "${CMAKE_COMMAND}" -DSTEP=pkgconfig_consumer
          "-DSOURCE=${PROJECT_SOURCE_DIR}/examples/c_consumer/main.c"
          "-DBINARY_DIR=${_fanfill_pkg_work}/c_consumer_pkgconfig"
          -DMODULE=fanfill-core "-DFORBID=lapack|openblas|blas"
          "-DPREFIX=${_fanfill_pkg_prefix}" ${_fanfill_pkg_toolchain}
          -P "${_fanfill_pkg_driver}")
# Skipped, not failed, on a machine without pkg-config.
set_tests_properties(packaging.c_consumer_pkgconfig PROPERTIES
  SKIP_REGULAR_EXPRESSION "FANFILL-PACKAGING-SKIP")

set_tests_properties(packaging.cpp_consumer packaging.c_consumer_cmake
                     packaging.c_consumer_pkgconfig PROPERTIES
  FIXTURES_REQUIRED fanfill_pkg_install)
set_tests_properties(packaging.install packaging.cpp_consumer packaging.c_consumer_cmake
                     packaging.c_consumer_pkgconfig PROPERTIES
  LABELS packaging
  TIMEOUT 300)

unset(_fanfill_pkg_prefix)
unset(_fanfill_pkg_work)
unset(_fanfill_pkg_driver)
unset(_fanfill_pkg_toolchain)
