# fanfill_mpi_init (examples/mpi_init): a model spec initialized across MPI
# ranks, each rank filling only its shards (PreparedInit::RunBlock), into one
# .safetensors file by MPI-IO, byte for byte the file `fanfill model` writes.
# Included from the top-level CMakeLists.txt after tests/ and bench/. Needs an
# MPI with C++ bindings found by FindMPI (Debian: libopenmpi-dev openmpi-bin)
# and the `fanfill` command (FANFILL_CLI), whose model-file layout library
# (fanfill_formats: ModelLayout, the header and tensor order of `fanfill model`) it links.
#
# Tests (ctest -L mpi; ~10 s on a 2-core VM):
#   mpi.init.np1 .. np4   mpirun -np N, output cmp'ed with `fanfill model`
#   mpi.init.chunked.np3  the same with 16 KiB chunks (many collective writes)
#   mpi.init.bad_args     bad arguments: non-zero exit, message, no file
#   mpi.init.bad_spec     an invalid spec, an existing file, a directory, a dangling
#                         link at --out: non-zero exit, message (spec errors once), no file
#   mpi.init.io_errors    a file-size limit (ulimit -f) on one rank: the up-front
#                         reservation and the short-write checks, model and --hf;
#                         exit 1, the failing rank's message, nothing left behind
#   mpi.init.full_disk    a 64 KiB tmpfs: a full disk refused up front with
#                         `fanfill model`'s message (skipped where mount is refused)
#   mpi.init.concurrent   two runs at once to one output: no shared temporary file
#   mpi.hf.np1 .. np3     --hf: every file cmp'ed with `fanfill hf`; --force over an
#                         earlier save; bad config, non-empty dir
# Open MPI as root in a container needs --allow-run-as-root; more ranks than
# cores needs --oversubscribe. FANFILL_MPIEXEC_PREFLAGS holds them (and any
# site flags, e.g. "--mca btl self,vader" where the TCP BTL has no network).
option(FANFILL_MPI "Build the MPI shard-initialization example" ${FANFILL_MASTER_PROJECT})
if(NOT FANFILL_MPI)
  return()
endif()
if(NOT TARGET fanfill_cli)
  message(STATUS "fanfill: FANFILL_CLI is off; the MPI example (which reuses its header code) "
                 "is not built")
  return()
endif()
find_package(MPI COMPONENTS CXX)
if(NOT MPI_CXX_FOUND)
  message(STATUS "fanfill: no MPI found; the MPI example is not built")
  return()
endif()

add_executable(fanfill_mpi_init examples/mpi_init/mpi_init.cc)
target_include_directories(fanfill_mpi_init PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_features(fanfill_mpi_init PRIVATE cxx_std_20)
target_compile_options(fanfill_mpi_init PRIVATE -ffp-contract=off -Wall -Wextra)
# The program uses MPI's C API; leave out the deprecated C++ bindings' header
# (Open MPI's warns under -Wextra).
target_compile_definitions(fanfill_mpi_init PRIVATE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
target_link_libraries(fanfill_mpi_init PRIVATE fanfill::fanfill fanfill_formats fanfill_hf_model MPI::MPI_CXX TBB::tbb
                                               nlohmann_json::nlohmann_json)

if(NOT FANFILL_TESTS)
  return()
endif()

set(FANFILL_MPIEXEC_PREFLAGS "--oversubscribe;--allow-run-as-root" CACHE STRING
    "Flags given to ${MPIEXEC_EXECUTABLE} before -np in the MPI tests (a CMake list)")
set(_fanfill_mpi_spec ${CMAKE_CURRENT_SOURCE_DIR}/examples/mpi_init/test_model.json)
set(_fanfill_mpi_driver ${CMAKE_CURRENT_SOURCE_DIR}/examples/mpi_init/run_and_compare.cmake)
set(_fanfill_mpi_work ${CMAKE_CURRENT_BINARY_DIR}/mpi_init_work)
string(REPLACE ";" "|" _fanfill_mpi_preflags "${FANFILL_MPIEXEC_PREFLAGS}")

function(_fanfill_mpi_test name mode np)
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND}
      -DMODE=${mode}
      -DMPIEXEC=${MPIEXEC_EXECUTABLE}
      -DNUMPROC_FLAG=${MPIEXEC_NUMPROC_FLAG}
      -DPREFLAGS=${_fanfill_mpi_preflags}
      -DNP=${np}
      -DPROG=$<TARGET_FILE:fanfill_mpi_init>
      -DCLI=$<TARGET_FILE:fanfill_cli>
      -DSPEC=${_fanfill_mpi_spec}
      -DWORK=${_fanfill_mpi_work}/${name}
      ${ARGN}
      -P ${_fanfill_mpi_driver})
  set_tests_properties(${name} PROPERTIES LABELS mpi TIMEOUT 60
    # Open MPI: ranks that share a node are normal here; no CMA single-copy
    # (refused by ptrace rules in many containers; vader then falls back).
    ENVIRONMENT "OMPI_MCA_rmaps_base_oversubscribe=1;OMPI_MCA_btl_vader_single_copy_mechanism=none")
endfunction()

foreach(np 1 2 3 4)
  _fanfill_mpi_test(mpi.init.np${np} compare ${np})
endforeach()
_fanfill_mpi_test(mpi.init.chunked.np3 compare 3 -DEXTRA=--chunk-kib|16)
_fanfill_mpi_test(mpi.init.bad_args bad_args 2)
_fanfill_mpi_test(mpi.init.bad_spec bad_spec 2)
set(_fanfill_mpi_hf_spec ${CMAKE_CURRENT_SOURCE_DIR}/examples/mpi_init/test_hf_config.json)
# 3 ranks: with 2, rank 1's share of the --hf test's first shard is the part
# that a 1 KiB limit stops; with 3 the failure comes after a renamed shard.
_fanfill_mpi_test(mpi.init.io_errors io_errors 3 -DHF_SPEC=${_fanfill_mpi_hf_spec})
_fanfill_mpi_test(mpi.init.full_disk full_disk 2 -DHF_SPEC=${_fanfill_mpi_hf_spec})
set_tests_properties(mpi.init.full_disk PROPERTIES SKIP_REGULAR_EXPRESSION "FANFILL_MPI_TEST_SKIPPED")
_fanfill_mpi_test(mpi.init.concurrent concurrent 2)
# --hf: the `fanfill hf` directory, byte for byte, for 1, 2 and 3 ranks (sharded Mixtral).
foreach(np 1 2 3)
  _fanfill_mpi_test(mpi.hf.np${np} hf ${np}
    -DEXTRA=--max-shard-size|40KB
    -DSPEC=${_fanfill_mpi_hf_spec})
endforeach()
