# Test driver for fanfill_mpi_init (cmake -P; registered by cmake/FanfillMpi.cmake).
#   MODE=compare   mpirun -np NP PROG SPEC (+ EXTRA, '|'-separated), then cmp
#                  the file with `CLI model SPEC` of the same seed, byte for byte
#   MODE=bad_args  bad command lines: non-zero exit, the expected message, no file
#   MODE=bad_spec  a bad spec, a missing spec, an existing output: the same checks
#   MODE=hf        --hf SPEC (a config.json) into a directory, every file cmp'ed
#                  with `CLI hf` of the same seed (EXTRA: e.g. --max-shard-size|40KB);
#                  then a bad config and a non-empty directory are refused
# Other variables: MPIEXEC, NUMPROC_FLAG, PREFLAGS ('|'-separated), CLI, WORK.
foreach(var MODE MPIEXEC NUMPROC_FLAG NP PROG CLI SPEC WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_and_compare.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" preflags "${PREFLAGS}")
string(REPLACE "|" ";" extra "${EXTRA}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# Runs PROG under mpirun with the given arguments; sets rc, out, err in the caller.
macro(run_mpi)
  execute_process(
    COMMAND "${MPIEXEC}" ${preflags} ${NUMPROC_FLAG} ${NP} "${PROG}" ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
endmacro()

# A bad run must fail (non-zero exit), print `expected` and leave no output file.
function(expect_failure expected out_file)
  run_mpi(${ARGN})
  if(rc EQUAL 0)
    message(FATAL_ERROR "expected a failure for '${ARGN}', got exit 0\nstdout: ${out}\nstderr: ${err}")
  endif()
  string(FIND "${err}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "'${ARGN}': stderr lacks '${expected}'\nexit: ${rc}\nstderr: ${err}")
  endif()
  if(NOT "${out_file}" STREQUAL "" AND EXISTS "${out_file}")
    message(FATAL_ERROR "'${ARGN}' failed but left ${out_file}")
  endif()
  message(STATUS "ok (exit ${rc}): ${expected}")
endfunction()

if(MODE STREQUAL "compare")
  # A seed per rank count, so that the runs do not all test one seed.
  math(EXPR seed "20261129 + 1000003 * ${NP}")
  set(ref "${WORK}/reference.safetensors")
  set(got "${WORK}/mpi.safetensors")
  execute_process(COMMAND "${CLI}" model "${SPEC}" --seed ${seed} --out "${ref}"
                  RESULT_VARIABLE cli_rc ERROR_VARIABLE cli_err)
  if(NOT cli_rc EQUAL 0)
    message(FATAL_ERROR "fanfill model failed (${cli_rc}): ${cli_err}")
  endif()
  # One oneTBB thread per rank: NP ranks share this machine's cores.
  run_mpi("${SPEC}" --seed ${seed} --out "${got}" --threads 1 --plan ${extra})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mpirun failed (${rc})\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "${out}")
  if(EXISTS "${got}.tmp-mpi")
    message(FATAL_ERROR "the temporary file ${got}.tmp-mpi remains")
  endif()
  file(SIZE "${ref}" ref_size)
  file(SIZE "${got}" got_size)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${ref}" "${got}"
                  RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    # Name the first differing byte (cmp is in every POSIX system).
    execute_process(COMMAND cmp "${ref}" "${got}" OUTPUT_VARIABLE where ERROR_VARIABLE where)
    message(FATAL_ERROR "${NP} ranks: ${got} (${got_size} bytes) differs from fanfill model's "
                        "${ref} (${ref_size} bytes): ${where}")
  endif()
  # The plan exercises both kinds of file view (test_model.json is written for it).
  foreach(line "blocks.0.attn.proj.weight +\\[79,79\\] bf16 row-parallel along dim 1"
               "blocks.0.mlp.fc1.weight +\\[317,79\\] f16 column-parallel along dim 0"
               "head.weight +\\[79,1001\\] bf16 column-parallel along dim 1"
               "blocks.0.attn.rel_pos.weight +\\[37,29\\] f32 whole on rank")
    if(NOT out MATCHES "${line}")
      message(FATAL_ERROR "--plan output lacks '${line}':\n${out}")
    endif()
  endforeach()
  # The work is shared: the busiest rank wrote at most 1.1 x its even share of
  # the data. Slack: the whole (owner) tensors of test_model.json are 1.9% of
  # its data and an uneven split adds at most one row or column per tensor
  # (< 3% here), so an even plan stays under 1.1 x; one rank doing all the
  # work would write NP x its share.
  if(NOT out MATCHES "the busiest rank wrote ([0-9]+) bytes")
    message(FATAL_ERROR "no summary line in the output:\n${out}")
  endif()
  set(busiest ${CMAKE_MATCH_1})
  execute_process(COMMAND "${CLI}" describe --spec "${SPEC}" OUTPUT_VARIABLE describe)
  string(JSON n_tensors LENGTH "${describe}")
  set(data_bytes 0)
  math(EXPR last "${n_tensors} - 1")
  foreach(i RANGE ${last})
    string(JSON b GET "${describe}" ${i} bytes)
    math(EXPR data_bytes "${data_bytes} + ${b}")
  endforeach()
  math(EXPR limit "${data_bytes} * 11 / (10 * ${NP})")
  if(busiest GREATER limit)
    message(FATAL_ERROR "${NP} ranks: the busiest rank wrote ${busiest} of ${data_bytes} bytes "
                        "(more than 1.1 x an even share, ${limit})")
  endif()
  message(STATUS "${NP} ranks, seed ${seed}: ${got_size} bytes, identical to fanfill model; "
                 "busiest rank wrote ${busiest} of ${data_bytes} data bytes")
elseif(MODE STREQUAL "bad_args")
  set(o "${WORK}/x.safetensors")
  expect_failure("--seed is required" "${o}" "${SPEC}" --out "${o}")
  expect_failure("--seed: 'abc' is not an integer" "${o}" "${SPEC}" --seed abc --out "${o}")
  expect_failure("does not end in .safetensors" "${WORK}/x.npy" "${SPEC}" --seed 1
                 --out "${WORK}/x.npy")
  expect_failure("unknown option '--bogus'" "${o}" "${SPEC}" --seed 1 --out "${o}" --bogus)
  expect_failure("the model spec (JSON) is required" "${o}" --seed 1 --out "${o}")
  expect_failure("--threads: '-2' is not an integer" "${o}" "${SPEC}" --seed 1 --out "${o}"
                 --threads -2)
elseif(MODE STREQUAL "bad_spec")
  set(o "${WORK}/x.safetensors")
  file(WRITE "${WORK}/bad.json"
       "{\"tensors\": [{\"name\": \"w\", \"shape\": [4, 5], \"scheme\": \"kaiming_nromal\"}]}")
  expect_failure("kaiming_nromal" "${o}" "${WORK}/bad.json" --seed 1 --out "${o}")
  expect_failure("cannot read '${WORK}/missing.json'" "${o}" "${WORK}/missing.json" --seed 1
                 --out "${o}")
  expect_failure("does not exist" "" "${SPEC}" --seed 1 --out "${WORK}/no/such/dir/x.safetensors")
  file(WRITE "${o}" "keep me")
  expect_failure("exists (use --force to replace it)" "" "${SPEC}" --seed 1 --out "${o}")
  file(READ "${o}" kept)
  if(NOT kept STREQUAL "keep me")
    message(FATAL_ERROR "an existing output was changed without --force")
  endif()
elseif(MODE STREQUAL "hf")
  math(EXPR seed "20261201 + 1000003 * ${NP}")
  set(ref "${WORK}/reference")
  set(got "${WORK}/mpi")
  execute_process(COMMAND "${CLI}" hf "${SPEC}" --seed ${seed} --out "${ref}" --threads 1 ${extra}
                  RESULT_VARIABLE cli_rc ERROR_VARIABLE cli_err)
  if(NOT cli_rc EQUAL 0)
    message(FATAL_ERROR "fanfill hf failed (${cli_rc}): ${cli_err}")
  endif()
  run_mpi(--hf "${SPEC}" --seed ${seed} --out "${got}" --threads 1 ${extra})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fanfill_mpi_init --hf failed (${rc}):\n${out}\n${err}")
  endif()
  file(GLOB ref_files RELATIVE "${ref}" "${ref}/*")
  file(GLOB got_files RELATIVE "${got}" "${got}/*")
  list(SORT ref_files)
  list(SORT got_files)
  if(NOT ref_files STREQUAL got_files)
    message(FATAL_ERROR "files differ: fanfill hf: ${ref_files}; MPI: ${got_files}")
  endif()
  list(LENGTH ref_files n)
  if(n LESS 4)
    message(FATAL_ERROR "expected several shards, got ${ref_files}")
  endif()
  foreach(f IN LISTS ref_files)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${ref}/${f}" "${got}/${f}"
                    RESULT_VARIABLE same)
    if(NOT same EQUAL 0)
      message(FATAL_ERROR "${f} differs between fanfill hf and ${NP} MPI ranks")
    endif()
  endforeach()
  message(STATUS "${n} files identical with ${NP} ranks: ${ref_files}")
  file(WRITE "${WORK}/bad.json" "{\"model_type\": \"llama\", \"num_attention_heads\": 5}")
  expect_failure("does not divide 'hidden_size'" "${WORK}/bad_out"
                 --hf "${WORK}/bad.json" --seed 1 --out "${WORK}/bad_out")
  expect_failure("is not empty" "" --hf "${SPEC}" --seed 1 --out "${got}")
else()
  message(FATAL_ERROR "run_and_compare.cmake: unknown MODE '${MODE}'")
endif()
