# Tests of the fanfill command (tools/fanfill_cli), run with: ctest -R cli
#   cli.numpy   every file the command writes, loaded by numpy (cli_numpy_test.py)
#   cli.errors  every error path: message, non-zero exit, no file left (cli_errors_test.py)
#   cli.bench   `fanfill bench` smoke test; cli.bench.threads: the thread count it reports
#   cli.installed  the installed command runs (needs the packaging.install fixture)
if(NOT TARGET fanfill_cli)
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "fanfill: no Python 3 interpreter; the cli tests are not built")
  return()
endif()

# install-deps.sh installs Debian's python3-numpy, which only Debian's own
# /usr/bin/python3 imports; a pyenv or virtualenv python3 found first on PATH
# may lack it. Prefer an interpreter that has numpy (cli.numpy skips without).
set(_fanfill_cli_python "${Python3_EXECUTABLE}")
execute_process(COMMAND "${_fanfill_cli_python}" -c "import numpy"
                RESULT_VARIABLE _fanfill_numpy_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT _fanfill_numpy_rc EQUAL 0 AND EXISTS /usr/bin/python3)
  execute_process(COMMAND /usr/bin/python3 -c "import numpy"
                  RESULT_VARIABLE _fanfill_numpy_rc OUTPUT_QUIET ERROR_QUIET)
  if(_fanfill_numpy_rc EQUAL 0)
    set(_fanfill_cli_python /usr/bin/python3)
  endif()
endif()

# Exit code 77 means "skipped" (numpy missing, printed with the reason).
add_test(NAME cli.numpy
  COMMAND "${_fanfill_cli_python}" "${CMAKE_CURRENT_SOURCE_DIR}/cli_numpy_test.py"
          "$<TARGET_FILE:fanfill_cli>" "${CMAKE_CURRENT_BINARY_DIR}/cli_numpy_work")
add_test(NAME cli.errors
  COMMAND "${_fanfill_cli_python}" "${CMAKE_CURRENT_SOURCE_DIR}/cli_errors_test.py"
          "$<TARGET_FILE:fanfill_cli>" "${CMAKE_CURRENT_BINARY_DIR}/cli_errors_work")
set_tests_properties(cli.numpy cli.errors PROPERTIES
  SKIP_RETURN_CODE 77
  LABELS cli
  TIMEOUT 120)

# `fanfill bench` runs and prints its last row (tiny size: a smoke test, not a benchmark).
add_test(NAME cli.bench COMMAND fanfill_cli bench --size 4096 --reps 1)
set_tests_properties(cli.bench PROPERTIES
  PASS_REGULAR_EXPRESSION "\\| truncated_normal +\\| f16 +\\| all +\\|"
  LABELS cli
  TIMEOUT 60)
# --threads 1: the header gives the thread count in force (global_control), not the arena's.
add_test(NAME cli.bench.threads COMMAND fanfill_cli --threads 1 bench --size 4096 --reps 1)
set_tests_properties(cli.bench.threads PROPERTIES
  PASS_REGULAR_EXPRESSION "; all = 1 threads\n"
  LABELS cli
  TIMEOUT 60)

# The installed command runs (packaging.install makes the prefix; see packaging.cmake).
if(FANFILL_INSTALL)
  add_test(NAME cli.installed
    COMMAND "${PROJECT_BINARY_DIR}/pkg-install/${CMAKE_INSTALL_BINDIR}/fanfill" --version)
  set_tests_properties(cli.installed PROPERTIES
    FIXTURES_REQUIRED fanfill_pkg_install
    PASS_REGULAR_EXPRESSION "fanfill ${PROJECT_VERSION}"
    LABELS "cli;packaging")
endif()

unset(_fanfill_cli_python)
unset(_fanfill_numpy_rc)
