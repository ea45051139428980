# Driver for the packaging tests (tests/packaging.cmake): cmake -P script.
#
#   -DSTEP=install           -DBUILD_DIR=<fanfill build> -DPREFIX=<dir> [-DCONFIG=<cfg>]
#       Installs the fanfill build into a fresh PREFIX.
#   -DSTEP=cmake_consumer    -DSOURCE_DIR=<example> -DBINARY_DIR=<dir> -DPREFIX=<dir>
#                            -DEXECUTABLE=<name> + the toolchain variables below
#       Configures, builds and runs an example project against PREFIX
#       (CMAKE_PREFIX_PATH=PREFIX) and checks that it found fanfill there.
#   -DSTEP=pkgconfig_consumer -DSOURCE=<main.c> -DBINARY_DIR=<dir> -DPREFIX=<dir>
#                            -DC_COMPILER=<cc> [-DC_FLAGS=<flags>] [-DMODULE=<pc>]
#       Builds `cc -std=c11 main.c $(pkg-config --static --cflags --libs MODULE)`
#       (MODULE fanfill by default, or fanfill-core) with
#       PKG_CONFIG_PATH=<PREFIX's pkgconfig dir> and runs it.
#   Both consumer steps take [-DFORBID=<regex>]: the consumer's link line must
#   not match it (the core's consumers: no LAPACK or OpenBLAS). Prints
#       "FANFILL-PACKAGING-SKIP" (the test's SKIP_REGULAR_EXPRESSION) and stops
#       when there is no pkg-config.
#
# Toolchain variables, passed on so that the consumers are built like fanfill:
#   GENERATOR, MAKE_PROGRAM, C_COMPILER, CXX_COMPILER, C_FLAGS, CXX_FLAGS,
#   CONFIG (the build type), HWY_DIR, TBB_DIR (where fanfill found its deps).
cmake_minimum_required(VERSION 3.20)

function(run_checked what)
  message(STATUS "[${what}] ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${what}] failed (${rc}): ${ARGN}")
  endif()
endfunction()

foreach(var IN ITEMS STEP PREFIX)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "packaging_driver.cmake: ${var} is not set")
  endif()
endforeach()

if(STEP STREQUAL "install")
  # A fresh prefix, so that a file the install rules no longer make cannot hide.
  file(REMOVE_RECURSE "${PREFIX}")
  set(config_args "")
  if(CONFIG)
    set(config_args --config "${CONFIG}")
  endif()
  run_checked(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
              ${config_args})
  foreach(f IN ITEMS include/fanfill/fanfill.h include/fanfill/fanfill.hpp
                     include/fanfill/philox.h)
    if(NOT EXISTS "${PREFIX}/${f}")
      message(FATAL_ERROR "not installed: ${PREFIX}/${f}")
    endif()
  endforeach()
  foreach(f IN ITEMS libfanfill.a fanfill-config.cmake fanfill-config-version.cmake
                     fanfill-targets.cmake fanfill.pc)
    file(GLOB_RECURSE found "${PREFIX}/*/${f}")
    if(NOT found)
      message(FATAL_ERROR "not installed: ${f} (under ${PREFIX})")
    endif()
  endforeach()

elseif(STEP STREQUAL "cmake_consumer")
  file(REMOVE_RECURSE "${BINARY_DIR}")
  set(args
    -S "${SOURCE_DIR}" -B "${BINARY_DIR}" -G "${GENERATOR}" --no-warn-unused-cli
    "-DCMAKE_PREFIX_PATH=${PREFIX}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    "-DCMAKE_BUILD_TYPE=${CONFIG}"
    "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_C_FLAGS=${C_FLAGS}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
  if(MAKE_PROGRAM)
    list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  # fanfill-config.cmake finds Highway and oneTBB itself; point it where the
  # fanfill build found them (no-op for system packages).
  if(HWY_DIR)
    list(APPEND args "-DHWY_DIR=${HWY_DIR}")
  endif()
  if(TBB_DIR)
    list(APPEND args "-DTBB_DIR=${TBB_DIR}")
  endif()
  run_checked(configure "${CMAKE_COMMAND}" ${args})

  # The package must come from the test prefix, not from some other install.
  file(STRINGS "${BINARY_DIR}/CMakeCache.txt" fanfill_dir REGEX "^fanfill_DIR:")
  string(REGEX REPLACE "^fanfill_DIR:[A-Z]+=" "" fanfill_dir "${fanfill_dir}")
  file(REAL_PATH "${PREFIX}" real_prefix)
  file(REAL_PATH "${fanfill_dir}" real_fanfill_dir)
  string(FIND "${real_fanfill_dir}/" "${real_prefix}/" pos)
  if(NOT pos EQUAL 0)
    message(FATAL_ERROR "fanfill was found in ${fanfill_dir}, not under ${PREFIX}")
  endif()

  set(config_args "")
  if(CONFIG)
    set(config_args --config "${CONFIG}")
  endif()
  run_checked(build "${CMAKE_COMMAND}" --build "${BINARY_DIR}" ${config_args})
  if(FORBID)
    # The link line CMake generated for the executable.
    if(GENERATOR MATCHES "Ninja")
      execute_process(COMMAND "${MAKE_PROGRAM}" -C "${BINARY_DIR}" -t commands "${EXECUTABLE}"
                      OUTPUT_VARIABLE commands RESULT_VARIABLE rc)
      string(REGEX MATCH "[^\n]* -o ${EXECUTABLE} [^\n]*" link_line "${commands}")
    else()
      file(READ "${BINARY_DIR}/CMakeFiles/${EXECUTABLE}.dir/link.txt" link_line)
    endif()
    if(link_line STREQUAL "")
      message(FATAL_ERROR "no link line found for ${EXECUTABLE}")
    endif()
    message(STATUS "link line: ${link_line}")
    if(link_line MATCHES "${FORBID}")
      message(FATAL_ERROR "the link line of ${EXECUTABLE} matches '${FORBID}': ${link_line}")
    endif()
  endif()
  set(exe "${BINARY_DIR}/${EXECUTABLE}")
  if(NOT EXISTS "${exe}" AND CONFIG)
    set(exe "${BINARY_DIR}/${CONFIG}/${EXECUTABLE}")  # multi-config generators
  endif()
  run_checked(run "${exe}")

elseif(STEP STREQUAL "pkgconfig_consumer")
  if(DEFINED ENV{PKG_CONFIG} AND NOT "$ENV{PKG_CONFIG}" STREQUAL "")
    set(pkg_config "$ENV{PKG_CONFIG}")
  else()
    find_program(pkg_config NAMES pkg-config pkgconf)
  endif()
  if(NOT pkg_config)
    message("FANFILL-PACKAGING-SKIP: pkg-config not found; the pkg-config build is not tested")
    return()
  endif()

  if(NOT MODULE)
    set(MODULE fanfill)
  endif()
  file(GLOB_RECURSE pc_files "${PREFIX}/*/${MODULE}.pc")
  list(LENGTH pc_files n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected one ${MODULE}.pc under ${PREFIX}, found: ${pc_files}")
  endif()
  get_filename_component(pc_dir "${pc_files}" DIRECTORY)
  if(DEFINED ENV{PKG_CONFIG_PATH} AND NOT "$ENV{PKG_CONFIG_PATH}" STREQUAL "")
    set(ENV{PKG_CONFIG_PATH} "${pc_dir}:$ENV{PKG_CONFIG_PATH}")
  else()
    set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
  endif()

  run_checked(validate "${pkg_config}" --validate ${MODULE})
  execute_process(COMMAND "${pkg_config}" --static --cflags --libs ${MODULE}
                  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --static --cflags --libs ${MODULE} failed (${rc})")
  endif()
  message(STATUS "pkg-config --static --cflags --libs ${MODULE}: ${flags}")
  if(FORBID AND flags MATCHES "${FORBID}")
    message(FATAL_ERROR "pkg-config's flags for ${MODULE} match '${FORBID}': ${flags}")
  endif()
  string(FIND " ${flags}" " -I${PREFIX}/" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "the include directory does not point into ${PREFIX}: ${flags}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  separate_arguments(c_flags UNIX_COMMAND "${C_FLAGS}")

  file(REMOVE_RECURSE "${BINARY_DIR}")
  file(MAKE_DIRECTORY "${BINARY_DIR}")
  set(exe "${BINARY_DIR}/c_consumer")
  run_checked(compile "${C_COMPILER}" -std=c11 ${c_flags} "${SOURCE}" ${flags} -o "${exe}")
  run_checked(run "${exe}")

else()
  message(FATAL_ERROR "packaging_driver.cmake: unknown STEP '${STEP}'")
endif()
