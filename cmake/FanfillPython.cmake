# The Python package `fanfill` (python/): the nanobind extension fanfill._core
# over the static library. Built by `pip install .` (pyproject.toml,
# scikit-build-core sets FANFILL_PYTHON=ON and installs component "python") or
# in-tree with -DFANFILL_PYTHON=ON, which puts an importable package in
# <build>/python (PYTHONPATH=<build>/python). The compile flags of the numerics
# (-ffp-contract=off, ...) are the library target's own: the extension only
# links it.
option(FANFILL_PYTHON "Build the Python extension fanfill._core (python/)" OFF)
if(NOT FANFILL_PYTHON)
  return()
endif()

find_package(Python 3.11 COMPONENTS Interpreter Development.Module REQUIRED)
if(NOT nanobind_DIR)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
    OUTPUT_VARIABLE nanobind_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _fanfill_nb_rc)
  if(NOT _fanfill_nb_rc EQUAL 0)
    message(FATAL_ERROR "FANFILL_PYTHON: nanobind is not installed for ${Python_EXECUTABLE} "
                        "(pip install nanobind)")
  endif()
endif()
find_package(nanobind CONFIG REQUIRED)

nanobind_add_module(_core NB_STATIC python/src/fanfill_py.cc)
target_compile_features(_core PRIVATE cxx_std_20)
target_compile_options(_core PRIVATE -Wall -Wextra)
target_link_libraries(_core PRIVATE fanfill::fanfill)

# In-tree: <build>/python/fanfill holds the extension and a copy of the .py files.
set(_fanfill_py_dir "${CMAKE_BINARY_DIR}/python/fanfill")
set_target_properties(_core PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${_fanfill_py_dir}")
file(GLOB_RECURSE _fanfill_py_sources CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/python/fanfill/*.py" "${PROJECT_SOURCE_DIR}/python/fanfill/py.typed")
set(_fanfill_py_copies)
foreach(src IN LISTS _fanfill_py_sources)
  file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}/python/fanfill" "${src}")
  add_custom_command(OUTPUT "${_fanfill_py_dir}/${rel}"
                     COMMAND ${CMAKE_COMMAND} -E copy_if_different "${src}" "${_fanfill_py_dir}/${rel}"
                     DEPENDS "${src}" VERBATIM)
  list(APPEND _fanfill_py_copies "${_fanfill_py_dir}/${rel}")
endforeach()
add_custom_target(fanfill_python ALL DEPENDS _core ${_fanfill_py_copies})

if(SKBUILD)
  # pip install .: the extension goes next to the pure-Python files (wheel.packages).
  install(TARGETS _core LIBRARY DESTINATION fanfill COMPONENT python)
endif()

# In-tree tests: ctest runs pytest on tests/python against <build>/python (needs
# pytest, torch, scipy, ... in ${Python_EXECUTABLE}'s environment; scripts/test-python.sh
# is the self-contained route).
if(FANFILL_TESTS)
  add_test(NAME python_tests
           COMMAND "${Python_EXECUTABLE}" -m pytest -q -p no:cacheprovider
                   "${PROJECT_SOURCE_DIR}/tests/python")
  set(_fanfill_py_env "PYTHONPATH=${CMAKE_BINARY_DIR}/python")
  if(TARGET fanfill_cli)  # tests/python/test_hf.py runs `fanfill hf`
    list(APPEND _fanfill_py_env "FANFILL_CLI=$<TARGET_FILE:fanfill_cli>")
  endif()
  set_tests_properties(python_tests PROPERTIES ENVIRONMENT "${_fanfill_py_env}" TIMEOUT 900)
endif()
