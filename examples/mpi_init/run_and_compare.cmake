# Test driver for fanfill_mpi_init (cmake -P; registered by cmake/FanfillMpi.cmake).
#   MODE=compare    mpirun -np NP PROG SPEC (+ EXTRA, '|'-separated), then cmp
#                   the file with `CLI model SPEC` of the same seed, byte for byte;
#                   a file named like the old fixed temporary name is left alone
#   MODE=bad_args   bad command lines: non-zero exit, the expected message, no file
#   MODE=bad_spec   a bad spec, a missing spec, an existing output, a directory,
#                   a dangling link: the same checks, spec errors printed once
#   MODE=hf         --hf SPEC (a config.json) into a directory, every file cmp'ed
#                   with `CLI hf` of the same seed (EXTRA: e.g. --max-shard-size|40KB);
#                   --force over an earlier save removes its stale weight files as
#                   `CLI hf` does; a bad config and a non-empty directory are refused
#   MODE=io_errors  write errors (a file-size limit, ulimit -f, on one rank; SPEC
#                   and HF_SPEC): the reservation and the short-write paths,
#                   model and --hf: the rank's message, exit 1, nothing left
#   MODE=full_disk  a 64 KiB tmpfs (skipped where mount is not allowed): a full
#                   disk is refused up front, as `CLI model` refuses it
#   MODE=concurrent two runs at once to one output (with --force: both succeed,
#                   the file is whole; without: one fails); no temporary file left
# Other variables: MPIEXEC, NUMPROC_FLAG, PREFLAGS ('|'-separated), CLI, WORK, HF_SPEC.
foreach(var MODE MPIEXEC NUMPROC_FLAG NP PROG CLI SPEC WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_and_compare.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" preflags "${PREFLAGS}")
string(REPLACE "|" ";" extra "${EXTRA}")
if(MODE STREQUAL "full_disk" AND EXISTS "${WORK}/small")
  execute_process(COMMAND umount "${WORK}/small" OUTPUT_QUIET ERROR_QUIET)  # a leftover mount
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# Runs PROG under mpirun with the given arguments; sets rc, out, err in the caller.
macro(run_mpi)
  execute_process(
    COMMAND "${MPIEXEC}" ${preflags} ${NUMPROC_FLAG} ${NP} "${PROG}" ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
endmacro()

# Runs PROG under mpirun where rank `limit_rank` has a file-size limit of
# `kib` KiB (bash's ulimit -f) and ignores nothing else; sets rc, out, err.
macro(run_mpi_limited limit_rank kib)
  execute_process(
    COMMAND "${MPIEXEC}" ${preflags} ${NUMPROC_FLAG} ${NP}
            bash "${WORK}/limit.sh" ${limit_rank} ${kib} "${PROG}" ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
endmacro()

# A failed run (rc, out, err set) must have exited non-zero, by itself (not a
# timeout or a signal), and printed `expected`; if out_file is given, it must
# not exist.
function(check_failure what expected out_file)
  if(rc EQUAL 0)
    message(FATAL_ERROR "expected a failure for '${what}', got exit 0\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "'${what}' did not exit by itself: ${rc}\nstderr: ${err}")
  endif()
  string(FIND "${err}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "'${what}': stderr lacks '${expected}'\nexit: ${rc}\nstderr: ${err}")
  endif()
  if(NOT "${out_file}" STREQUAL "" AND EXISTS "${out_file}")
    message(FATAL_ERROR "'${what}' failed but left ${out_file}")
  endif()
  message(STATUS "ok (exit ${rc}): ${expected}")
endfunction()

# A bad run must fail (non-zero exit), print `expected` and leave no output file.
function(expect_failure expected out_file)
  run_mpi(${ARGN})
  check_failure("${ARGN}" "${expected}" "${out_file}")
  set(rc "${rc}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

# The files in `dir` (hidden ones too: CMake's * matches a leading dot), sorted, into `var`.
function(list_dir var dir)
  file(GLOB names LIST_DIRECTORIES true RELATIVE "${dir}" "${dir}/*")
  list(SORT names)
  set(${var} "${names}" PARENT_SCOPE)
endfunction()

# No temporary file of fanfill_mpi_init (".<name>.tmp-mpi.XXXXXX") in `dir`.
function(expect_no_temp dir)
  file(GLOB temps "${dir}/.*.tmp-mpi.*")
  if(temps)
    message(FATAL_ERROR "temporary files remain: ${temps}")
  endif()
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
  # The temporary name was once the fixed "<out>.tmp-mpi", deleted first: a
  # user's file of that name must now be left alone.
  file(WRITE "${got}.tmp-mpi" "a user's file")
  # One oneTBB thread per rank: NP ranks share this machine's cores.
  run_mpi("${SPEC}" --seed ${seed} --out "${got}" --threads 1 --plan ${extra})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mpirun failed (${rc})\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "${out}")
  expect_no_temp("${WORK}")
  file(READ "${got}.tmp-mpi" kept)
  if(NOT kept STREQUAL "a user's file")
    message(FATAL_ERROR "${got}.tmp-mpi, not the program's, was changed or deleted")
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
  # Options of the other mode are errors, not silently ignored.
  expect_failure("--dtype needs --hf" "${o}" "${SPEC}" --seed 1 --out "${o}" --dtype bf16)
  expect_failure("--max-shard-size needs --hf" "${o}" "${SPEC}" --seed 1 --out "${o}"
                 --max-shard-size 1KB)
  expect_failure("unexpected argument '${SPEC}'" "${WORK}/hf_out" "${SPEC}" --hf "${SPEC}"
                 --seed 1 --out "${WORK}/hf_out")
  foreach(opt IN ITEMS "--plan" "--row-parallel;*.w" "--chunk-kib;4")
    list(GET opt 0 name)
    expect_failure("${name} does not apply to --hf" "${WORK}/hf_out" --hf "${SPEC}" --seed 1
                   --out "${WORK}/hf_out" ${opt})
  endforeach()
  expect_failure("unexpected argument '${SPEC}'" "${WORK}/hf_out" --hf "${SPEC}" "${SPEC}"
                 --seed 1 --out "${WORK}/hf_out")
elseif(MODE STREQUAL "bad_spec")
  set(o "${WORK}/x.safetensors")
  file(WRITE "${WORK}/bad.json"
       "{\"tensors\": [{\"name\": \"w\", \"shape\": [4, 5], \"scheme\": \"kaiming_nromal\"}]}")
  expect_failure("kaiming_nromal" "${o}" "${WORK}/bad.json" --seed 1 --out "${o}")
  expect_failure("cannot read '${WORK}/missing.json'" "${o}" "${WORK}/missing.json" --seed 1
                 --out "${o}")
  expect_failure("does not exist" "" "${SPEC}" --seed 1 --out "${WORK}/no/such/dir/x.safetensors")
  # An error of the file's layout (ModelLayout) is a spec error: printed once
  # (by rank 0, not by every rank as its own failure), exit 2.
  file(WRITE "${WORK}/clash.json"
       "{\"tensors\": [{\"name\": \"w\", \"shape\": [4, 4], \"dtype\": \"f8e4m3\", "
       "\"scheme\": \"normal(std=0.1)\", \"scale\": 0.0078125}, "
       "{\"name\": \"w_scale\", \"shape\": [], \"scheme\": \"ones\"}]}")
  expect_failure("clash.json: tensor 'w' has a scale, stored as 'w_scale'" "${o}"
                 "${WORK}/clash.json" --seed 1 --out "${o}")
  string(REGEX MATCHALL "fanfill_mpi_init: error" lines "${err}")
  list(LENGTH lines n_lines)
  if(NOT n_lines EQUAL 1 OR NOT rc EQUAL 2)
    message(FATAL_ERROR "a spec error: ${n_lines} error lines (want 1), exit ${rc} (want 2):\n${err}")
  endif()
  file(WRITE "${o}" "keep me")
  expect_failure("exists (use --force to replace it)" "" "${SPEC}" --seed 1 --out "${o}")
  file(READ "${o}" kept)
  if(NOT kept STREQUAL "keep me")
    message(FATAL_ERROR "an existing output was changed without --force")
  endif()
  # A directory at --out: refused up front, with --force too, and without a
  # hint at --force.
  set(d "${WORK}/dir.safetensors")
  file(MAKE_DIRECTORY "${d}")
  foreach(force "" "--force")
    expect_failure("'${d}' is a directory" "" "${SPEC}" --seed 1 --out "${d}" ${force})
    string(FIND "${err}" "use --force" hint)
    if(NOT hint EQUAL -1)
      message(FATAL_ERROR "a directory at --out: the message suggests --force:\n${err}")
    endif()
  endforeach()
  list_dir(in_d "${d}")
  if(in_d)
    message(FATAL_ERROR "files were made in ${d}: ${in_d}")
  endif()
  expect_no_temp("${WORK}")
  # A dangling link at --out exists (lstat), as for `fanfill model`.
  set(link "${WORK}/link.safetensors")
  file(CREATE_LINK "${WORK}/nowhere/target.safetensors" "${link}" SYMBOLIC)
  expect_failure("'${link}' exists (use --force to replace it)" "" "${SPEC}" --seed 1
                 --out "${link}")
  if(NOT IS_SYMLINK "${link}" OR EXISTS "${WORK}/nowhere")
    message(FATAL_ERROR "the dangling link ${link} was replaced or followed without --force")
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
  # Compares every file of the directories `a` (fanfill hf) and `b` (MPI).
  function(compare_dirs a b)
    list_dir(a_files "${a}")
    list_dir(b_files "${b}")
    if(NOT a_files STREQUAL b_files)
      message(FATAL_ERROR "files differ: fanfill hf: ${a_files}; MPI: ${b_files}")
    endif()
    foreach(f IN LISTS a_files)
      execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${a}/${f}" "${b}/${f}"
                      RESULT_VARIABLE same)
      if(NOT same EQUAL 0)
        message(FATAL_ERROR "${f} differs between fanfill hf and ${NP} MPI ranks (${a}, ${b})")
      endif()
    endforeach()
  endfunction()
  compare_dirs("${ref}" "${got}")
  list_dir(ref_files "${ref}")
  list(LENGTH ref_files n)
  if(n LESS 4)
    message(FATAL_ERROR "expected several shards, got ${ref_files}")
  endif()
  message(STATUS "${n} files identical with ${NP} ranks: ${ref_files}")
  # --force over an earlier save: its weight files that this save does not
  # write (an unsharded model.safetensors, shards of another count) are removed
  # after the write, other files stay, as with fanfill hf.
  foreach(dir "${WORK}/stale_ref" "${WORK}/stale")
    foreach(f model.safetensors model-00001-of-00099.safetensors model.safetensors.index.json
              model_ema.safetensors notes.txt)
      file(WRITE "${dir}/${f}" "an earlier save")
    endforeach()
  endforeach()
  execute_process(COMMAND "${CLI}" hf "${SPEC}" --seed ${seed} --out "${WORK}/stale_ref" --force
                          --threads 1 ${extra}
                  RESULT_VARIABLE cli_rc ERROR_VARIABLE cli_err)
  if(NOT cli_rc EQUAL 0)
    message(FATAL_ERROR "fanfill hf --force failed (${cli_rc}): ${cli_err}")
  endif()
  run_mpi(--hf "${SPEC}" --seed ${seed} --out "${WORK}/stale" --force --threads 1 ${extra})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fanfill_mpi_init --hf --force failed (${rc}):\n${out}\n${err}")
  endif()
  compare_dirs("${WORK}/stale_ref" "${WORK}/stale")
  if(EXISTS "${WORK}/stale/model.safetensors" OR
     EXISTS "${WORK}/stale/model-00001-of-00099.safetensors" OR
     NOT EXISTS "${WORK}/stale/model_ema.safetensors" OR NOT EXISTS "${WORK}/stale/notes.txt")
    list_dir(left "${WORK}/stale")
    message(FATAL_ERROR "--force over an earlier save left: ${left}")
  endif()
  message(STATUS "--force over an earlier save: stale weight files removed as by fanfill hf")
  file(WRITE "${WORK}/bad.json" "{\"model_type\": \"llama\", \"num_attention_heads\": 5}")
  expect_failure("does not divide 'hidden_size'" "${WORK}/bad_out"
                 --hf "${WORK}/bad.json" --seed 1 --out "${WORK}/bad_out")
  expect_failure("is not empty" "" --hf "${SPEC}" --seed 1 --out "${got}")
elseif(MODE STREQUAL "io_errors")
  if(NOT DEFINED HF_SPEC)
    message(FATAL_ERROR "run_and_compare.cmake: HF_SPEC is not set")
  endif()
  # limit.sh RANK KIB PROG ARGS...: rank RANK runs PROG with a file-size limit
  # of KIB KiB (RLIMIT_FSIZE); writes past it fail with EFBIG (and SIGXFSZ,
  # which would kill a rank that did not ignore it). Open MPI's default
  # shared-memory segments are files sized with ftruncate, which the limit
  # refuses too (a warning, and a slow fallback: 3 s a run here); System V
  # segments are not files, so they are preferred where available.
  set(ENV{OMPI_MCA_shmem_sysv_priority} 100)
  file(WRITE "${WORK}/limit.sh"
       "if [ \"$OMPI_COMM_WORLD_RANK\" = \"$1\" ]; then ulimit -f \"$2\"; fi\n"
       "shift 2\nexec \"$@\"\n")
  set(o "${WORK}/m.safetensors")
  # Rank 0 reserves the file's size up front (fallocate): past the limit, the
  # run fails before anything is computed, with the fanfill command's message.
  run_mpi_limited(0 1 "${SPEC}" --seed 1 --out "${o}" --threads 1)
  check_failure("model, rank 0 limited" "bytes to '${o}': File too large" "${o}")
  expect_no_temp("${WORK}")
  # Rank 1 limited, each rank writing its own blocks (OMPIO's individual
  # collective component): the reservation succeeds, rank 1's writes come back
  # short; rank 1 says so, every rank exits 1, the temporary file is removed.
  set(ENV{OMPI_MCA_fcoll} individual)
  run_mpi_limited(1 1 "${SPEC}" --seed 1 --out "${o}" --threads 1)
  unset(ENV{OMPI_MCA_fcoll})
  check_failure("model, rank 1 limited" "error (rank 1): cannot write '${o}': File too large"
                "${o}")
  expect_no_temp("${WORK}")
  # --hf into new nested directories, rank 0 limited to 30 KiB: shard 1 (25720
  # bytes) is written and renamed, shard 2 (49656) cannot be reserved; the run
  # removes shard 1 and every directory it created.
  run_mpi_limited(0 30 --hf "${HF_SPEC}" --seed 1 --out "${WORK}/new/a/b" --threads 1
                  --max-shard-size 40KB)
  check_failure("hf, rank 0 limited"
                "bytes to '${WORK}/new/a/b/model-00002-of-00013.safetensors': File too large"
                "${WORK}/new")
  # --hf --force into a directory of an earlier save, rank 1 limited (its
  # share of a shard's chunks fails): the files this run renamed are removed,
  # the earlier files stay as they were.
  set(d "${WORK}/earlier")
  file(WRITE "${d}/notes.txt" "kept")
  file(WRITE "${d}/model.safetensors" "an earlier save")
  run_mpi_limited(1 1 --hf "${HF_SPEC}" --seed 1 --out "${d}" --threads 1 --force
                  --max-shard-size 40KB)
  check_failure("hf, rank 1 limited" "error (rank 1): cannot write '${d}/model-0000" "")
  string(FIND "${err}" "File too large" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "hf, rank 1 limited: no reason in the message:\n${err}")
  endif()
  list_dir(left "${d}")
  file(READ "${d}/model.safetensors" earlier)
  if(NOT left STREQUAL "model.safetensors;notes.txt" OR NOT earlier STREQUAL "an earlier save")
    message(FATAL_ERROR "a failed --hf --force run left ${d}: ${left}")
  endif()
elseif(MODE STREQUAL "full_disk")
  if(NOT DEFINED HF_SPEC)
    message(FATAL_ERROR "run_and_compare.cmake: HF_SPEC is not set")
  endif()
  set(small "${WORK}/small")
  file(MAKE_DIRECTORY "${small}")
  execute_process(COMMAND mount -t tmpfs -o size=64k tmpfs "${small}"
                  RESULT_VARIABLE mount_rc OUTPUT_QUIET ERROR_VARIABLE mount_err)
  if(NOT mount_rc EQUAL 0)
    message(STATUS "FANFILL_MPI_TEST_SKIPPED: cannot mount a tmpfs here: ${mount_err}")
    return()
  endif()
  # Every check's result first, then the unmount, then the verdict.
  set(o "${small}/m.safetensors")
  execute_process(COMMAND "${CLI}" model "${SPEC}" --seed 1 --out "${o}"
                  RESULT_VARIABLE cli_rc ERROR_VARIABLE cli_err)
  run_mpi("${SPEC}" --seed 1 --out "${o}" --threads 1)
  set(model_rc "${rc}")
  set(model_err "${err}")
  list_dir(model_left "${small}")
  run_mpi(--hf "${HF_SPEC}" --seed 1 --out "${small}/ck/a" --threads 1 --max-shard-size 40KB)
  set(hf_rc "${rc}")
  set(hf_err "${err}")
  list_dir(hf_left "${small}")
  execute_process(COMMAND umount "${small}" RESULT_VARIABLE umount_rc)
  # `fanfill model`'s message for the same full disk, which the MPI tool must print.
  if(NOT cli_err MATCHES "(cannot write [0-9]+ bytes to '[^']*': No space left on device)")
    message(FATAL_ERROR "fanfill model on a full disk: ${cli_err}")
  endif()
  set(rc "${model_rc}")
  set(err "${model_err}")
  check_failure("model on a full disk" "${CMAKE_MATCH_1}" "${o}")
  if(model_left)
    message(FATAL_ERROR "model on a full disk left: ${model_left}")
  endif()
  # --hf: shard 1 fits and is renamed, shard 2 does not: everything removed.
  set(rc "${hf_rc}")
  set(err "${hf_err}")
  check_failure("hf on a full disk"
                "model-00002-of-00013.safetensors': No space left on device" "")
  if(hf_left)
    message(FATAL_ERROR "hf on a full disk left: ${hf_left}")
  endif()
  if(NOT umount_rc EQUAL 0)
    message(FATAL_ERROR "umount ${small} failed (${umount_rc})")
  endif()
elseif(MODE STREQUAL "concurrent")
  set(ref "${WORK}/reference.safetensors")
  set(o "${WORK}/m.safetensors")
  execute_process(COMMAND "${CLI}" model "${SPEC}" --seed 7 --out "${ref}"
                  RESULT_VARIABLE cli_rc ERROR_VARIABLE cli_err)
  if(NOT cli_rc EQUAL 0)
    message(FATAL_ERROR "fanfill model failed (${cli_rc}): ${cli_err}")
  endif()
  # Two jobs started together (sh: one in the background), to one output.
  # Each has its own temporary file. Each mpirun gets its own TMPDIR: two
  # started at once race to create Open MPI's session directory
  # (/tmp/ompi.<host>.<uid>: "mkdir ... File exists", orte_init failed).
  set(both [=[
mkdir -p "$0.tmp-a" "$0.tmp-b"
TMPDIR="$0.tmp-a" "$@" >"$0.a" 2>&1 & pid=$!
TMPDIR="$0.tmp-b" "$@" >"$0.b" 2>&1; b=$?
wait $pid; a=$?
cat "$0.a" "$0.b" >&2
echo "$a;$b"
]=])
  foreach(force "--force" "")
    file(REMOVE "${o}")
    execute_process(COMMAND sh -c "${both}" "${WORK}/log" "${MPIEXEC}" ${preflags}
                            ${NUMPROC_FLAG} ${NP} "${PROG}" "${SPEC}" --seed 7 --out "${o}"
                            --threads 1 ${force}
                    INPUT_FILE /dev/null RESULT_VARIABLE sh_rc OUTPUT_VARIABLE rcs
                    ERROR_VARIABLE err TIMEOUT 50 OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT sh_rc EQUAL 0 OR NOT rcs MATCHES "^([0-9]+);([0-9]+)$")
      message(FATAL_ERROR "two runs at once ${force}: ${sh_rc} '${rcs}'\n${err}")
    endif()
    set(rc_a ${CMAKE_MATCH_1})
    set(rc_b ${CMAKE_MATCH_2})
    if(force)  # both succeed; the last rename wins, with a whole file
      if(NOT rc_a EQUAL 0 OR NOT rc_b EQUAL 0)
        message(FATAL_ERROR "two runs with --force: exits ${rcs}\n${err}")
      endif()
    else()  # exactly one succeeds, the other finds the file (before or at its rename)
      string(FIND "${err}" "'${o}' exists (use --force to replace it)" at)
      if(NOT "${rc_a};${rc_b}" MATCHES "^(0;[1-9][0-9]*|[1-9][0-9]*;0)$" OR at EQUAL -1)
        message(FATAL_ERROR "two runs without --force: exits ${rcs} (want one 0)\n${err}")
      endif()
    endif()
    execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${ref}" "${o}"
                    RESULT_VARIABLE differ)
    if(NOT differ EQUAL 0)
      message(FATAL_ERROR "two runs at once ${force}: ${o} differs from fanfill model's")
    endif()
    expect_no_temp("${WORK}")
    message(STATUS "two runs at once ${force}: exits ${rcs}, the file is fanfill model's")
  endforeach()
else()
  message(FATAL_ERROR "run_and_compare.cmake: unknown MODE '${MODE}'")
endif()
