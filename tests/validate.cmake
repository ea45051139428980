# Tests of `fanfill validate` (src/mlp/{data,experiments,report,validate}):
#   validate_test   quick experiments 1-3 with margins, determinism across
#                   thread counts, the digits loader, CSV/SVG writers
#   validate.cli    `fanfill validate --quick --out DIR` writes its CSV/SVG files
# This file doubles as the cli test's checker: run with -P it checks the files.
if(CMAKE_SCRIPT_MODE_FILE)
  # cmake -DFANFILL=<exe> -DOUT=<dir> -P validate.cmake
  file(REMOVE_RECURSE "${OUT}")
  execute_process(COMMAND "${FANFILL}" --threads 2 validate --quick --out "${OUT}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fanfill validate --quick exited with ${rc}")
  endif()
  foreach(f symmetry.csv symmetry_accuracy.svg symmetry_accuracy.csv
            signal.csv signal_forward.svg signal_backward.svg signal_forward.csv
            depth.csv depth_loss.svg linear.csv linear_epochs.svg)
    if(NOT EXISTS "${OUT}/${f}")
      message(FATAL_ERROR "fanfill validate did not write ${OUT}/${f}")
    endif()
    file(SIZE "${OUT}/${f}" size)
    if(size EQUAL 0)
      message(FATAL_ERROR "${OUT}/${f} is empty")
    endif()
  endforeach()
  file(READ "${OUT}/signal_forward.svg" svg)
  if(NOT svg MATCHES "^<svg .*</svg>\n$")
    message(FATAL_ERROR "signal_forward.svg is not an SVG document")
  endif()
  return()
endif()

if(NOT TARGET fanfill_validate)
  return()
endif()
fanfill_test(validate_test)
target_link_libraries(validate_test PRIVATE fanfill_validate TBB::tbb)

if(TARGET fanfill_cli)
  add_test(NAME validate.cli
    COMMAND ${CMAKE_COMMAND} -DFANFILL=$<TARGET_FILE:fanfill_cli>
            -DOUT=${CMAKE_CURRENT_BINARY_DIR}/validate_cli_out -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(validate.cli PROPERTIES LABELS validate TIMEOUT 180)
endif()
