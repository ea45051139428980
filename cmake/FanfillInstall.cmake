# Install rules and package files for fanfill ({fmt} style). Included from the
# top-level CMakeLists.txt when FANFILL_INSTALL is on, after the targets exist.
#
# Users then write, after `cmake --install`:
#   find_package(fanfill 0.1 REQUIRED)                   # everything
#   target_link_libraries(app PRIVATE fanfill::fanfill)    # schemes + core (C++ and C)
#   target_link_libraries(app PRIVATE fanfill::fanfill_c)  # the same, said as C
# or, for the fills alone (no LAPACK, no OpenBLAS looked for or linked):
#   find_package(fanfill 0.1 REQUIRED COMPONENTS core)
#   target_link_libraries(app PRIVATE fanfill::core)       # fanfill.hpp, fanfill.h, ...
# or, without CMake:
#   cc app.c $(pkg-config --static --cflags --libs fanfill)       # or fanfill-core
# (libfanfill*.a are static libraries: --static is what brings in their
# dependencies, Highway, oneTBB, LAPACKE/OpenBLAS and the C++ runtime).
#
# The build tree can be used in place of an install: fanfill_DIR=<build dir>.

include(CMakePackageConfigHelpers)

set(FANFILL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/fanfill" CACHE STRING
    "Where fanfill-config.cmake is installed (relative to CMAKE_INSTALL_PREFIX, or absolute)")
set(FANFILL_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where fanfill.pc is installed (relative to CMAKE_INSTALL_PREFIX, or absolute)")
mark_as_advanced(FANFILL_INSTALL_CMAKEDIR FANFILL_INSTALL_PKGCONFIGDIR)

# --- Library, headers, exported targets -------------------------------------

# Only the static archive (no RUNTIME/LIBRARY parts); the INTERFACE target
# fanfill_c has no file but must be in the export set to exist for users.
# (No INCLUDES DESTINATION: fanfill's $<INSTALL_INTERFACE:include> already
# names the installed include directory.)
# Two export sets, one per component: fanfill-core-targets.cmake (fanfill::core)
# and fanfill-targets.cmake (fanfill::fanfill, fanfill::fanfill_c, which need
# the core's file), so that COMPONENTS core never loads a target that needs LAPACKE.
install(TARGETS fanfill_core
  EXPORT fanfill-core-targets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT fanfill_development)
install(TARGETS fanfill fanfill_c
  EXPORT fanfill-targets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT fanfill_development)

# The fanfill command (cmake/FanfillCli.cmake), when it is built.
if(TARGET fanfill_cli)
  install(TARGETS fanfill_cli
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT fanfill_runtime)
endif()

install(DIRECTORY "${fanfill_SOURCE_DIR}/include/fanfill"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT fanfill_development
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

# The exported file names the dependencies by their imported targets
# (hwy::hwy, TBB::tbb); fanfill-config.cmake finds them before including it.
foreach(_set IN ITEMS fanfill-core-targets fanfill-targets)
  install(EXPORT ${_set}
    NAMESPACE fanfill::
    FILE ${_set}.cmake
    DESTINATION "${FANFILL_INSTALL_CMAKEDIR}"
    COMPONENT fanfill_development)
  # The same targets for use straight from the build tree (fanfill_DIR=<build>).
  export(EXPORT ${_set}
    NAMESPACE fanfill::
    FILE "${PROJECT_BINARY_DIR}/${_set}.cmake")
endforeach()
unset(_set)

# --- fanfill-config.cmake and fanfill-config-version.cmake -------------------

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/fanfill-config.cmake.in"
  "${PROJECT_BINARY_DIR}/fanfill-config.cmake"
  INSTALL_DESTINATION "${FANFILL_INSTALL_CMAKEDIR}")

# Compatibility: SameMinorVersion. While fanfill is 0.x, a minor release may
# change the API or ABI (semantic versioning's rule for 0.y.z), so a user asking
# for 0.1 accepts 0.1.z (z >= the requested patch) but not 0.2. SameMajorVersion
# would let find_package(fanfill 0.1) silently pick an incompatible 0.2. Switch
# to SameMajorVersion at 1.0, when minor releases become backward compatible.
# Not ARCH_INDEPENDENT: a static library is tied to the pointer size it was
# built for, which the version file checks.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/fanfill-config-version.cmake"
  VERSION "${fanfill_VERSION}"
  COMPATIBILITY SameMinorVersion)

install(FILES
    "${PROJECT_BINARY_DIR}/fanfill-config.cmake"
    "${PROJECT_BINARY_DIR}/fanfill-config-version.cmake"
  DESTINATION "${FANFILL_INSTALL_CMAKEDIR}"
  COMPONENT fanfill_development)

# --- fanfill.pc ---------------------------------------------------------------

# The C++ runtime libraries a C link must add by hand (libstdc++ and libm with
# GCC, libc++ with clang -stdlib=libc++...): what the C++ compiler links
# implicitly minus what the C compiler links anyway. Without -lstdc++,
# `cc main.c $(pkg-config --static --libs fanfill)` fails on the C++ runtime
# symbols libfanfill.a uses (operator new, __cxa_*, typeinfo vtables), and
# without -lm on erfc, fma and nextafter.
set(_fanfill_runtime_libs ${CMAKE_CXX_IMPLICIT_LINK_LIBRARIES})
if(CMAKE_C_IMPLICIT_LINK_LIBRARIES)
  list(REMOVE_ITEM _fanfill_runtime_libs ${CMAKE_C_IMPLICIT_LINK_LIBRARIES})
endif()
list(REMOVE_DUPLICATES _fanfill_runtime_libs)
set(FANFILL_PC_LIBS_PRIVATE "")
foreach(_lib IN LISTS _fanfill_runtime_libs)
  if(IS_ABSOLUTE "${_lib}" OR _lib MATCHES "^-")
    string(APPEND FANFILL_PC_LIBS_PRIVATE " ${_lib}")
  else()
    string(APPEND FANFILL_PC_LIBS_PRIVATE " -l${_lib}")
  endif()
endforeach()
string(STRIP "${FANFILL_PC_LIBS_PRIVATE}" FANFILL_PC_LIBS_PRIVATE)
unset(_fanfill_runtime_libs)
unset(_lib)

# Highway and oneTBB ship libhwy.pc and tbb.pc; they are private requirements
# (fanfill's public headers include neither, but the static archive needs both
# at link time).
set(FANFILL_PC_REQUIRES_PRIVATE "libhwy >= 1.0, tbb")

foreach(_dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(FANFILL_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(FANFILL_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
unset(_dir)

# The prefix is only known at install time (`cmake --install --prefix P` may
# differ from CMAKE_INSTALL_PREFIX at configure time), so the file is made in
# two steps: everything but @FANFILL_PC_PREFIX@ now (configure_file substitutes
# in one pass, so the placeholder survives), the prefix when installing; the
# result honours --prefix and DESTDIR. (A ${pcfiledir}-relative prefix would be
# relocatable too, but for a /usr install it yields
# -I/usr/lib/<triplet>/pkgconfig/../../../include, which pkg-config does not
# recognise as a system directory and so emits.)
# One .pc file per target: fanfill-core.pc (the fills) and fanfill.pc (the
# schemes; Requires.private fanfill-core, lapacke and openblas).
set(FANFILL_PC_PREFIX "@FANFILL_PC_PREFIX@")
foreach(_pc IN ITEMS fanfill-core fanfill)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${_pc}.pc.in"
                 "${PROJECT_BINARY_DIR}/${_pc}.pc.stage" @ONLY)
  install(CODE "
    set(FANFILL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${PROJECT_BINARY_DIR}/${_pc}.pc.stage\"
                   \"${PROJECT_BINARY_DIR}/${_pc}.pc\" @ONLY)
  " COMPONENT fanfill_development)
  install(FILES "${PROJECT_BINARY_DIR}/${_pc}.pc"
    DESTINATION "${FANFILL_INSTALL_PKGCONFIGDIR}"
    COMPONENT fanfill_development)
endforeach()
unset(_pc)
unset(FANFILL_PC_PREFIX)
