#!/usr/bin/env python3
"""Bad-input tests of the fanfill command.

Usage: cli_errors_test.py <fanfill executable> <scratch directory>

Every error path must exit non-zero, print "fanfill: error: <message>" on
stderr and leave the directory as it was: no output file and no temporary
".<name>.tmp.XXXXXX" file. An existing file is only replaced with --force.
Covers: bad shape, layout, dtype, scheme, stream options, extension,
bf16 as .npy, unwritable paths, a file-size limit (EFBIG), a full disk
(ENOSPC, on a 64 KiB tmpfs in a user namespace where the kernel allows one),
unknown or unsupported --target, --threads 0, an unknown command, specs
nested 100000 deep or with a key twice, options describe --spec refuses,
zero-element tensors torch refuses, files past the largest file size,
bench sizes, and SIGINT / SIGTERM while the file is being made.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

from cli_check import check, run_tests

FANFILL = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])


def listing(directory):
    return sorted(os.listdir(directory))


def expect_error(args, message, directory=None, preexec_fn=None, absent=None):
    """Runs fanfill in `directory`; it must fail with `message` (and without
    `absent`) and change nothing."""
    directory = directory or WORK
    before = listing(directory)
    proc = subprocess.run([FANFILL, *args], cwd=directory, capture_output=True, text=True,
                          errors="replace", preexec_fn=preexec_fn)
    label = " ".join(args)[:120]
    check(proc.returncode != 0, f"{label}: exit code 0")
    check(proc.stderr.startswith("fanfill: error: "), f"{label}: stderr {proc.stderr!r}")
    check(message in proc.stderr, f"{label}: {message!r} not in {proc.stderr!r}")
    check(absent is None or absent not in proc.stderr,
          f"{label}: {absent!r} in {proc.stderr!r}")
    check(listing(directory) == before,
          f"{label}: directory changed: {before} -> {listing(directory)}")


FILL = ["fill", "--seed", "1", "--name", "w"]
GOOD = ["--shape", "8,4", "--scheme", "kaiming_uniform"]


def test_bad_inputs():
    expect_error([*FILL, "--shape", "4,x", "--scheme", "normal", "--out", "a.npy"], "bad --shape")
    expect_error([*FILL, "--shape", "-3,4", "--scheme", "normal", "--out", "a.npy"],
                 "bad --shape")
    expect_error([*FILL, "--shape", "4,,4", "--scheme", "normal", "--out", "a.npy"],
                 "bad --shape")
    expect_error([*FILL, "--scheme", "normal", "--out", "a.npy"], "--shape is required")
    # fill's and describe's errors are their options' own: no spec was given.
    expect_error([*FILL, "--shape", "8", "--scheme", "kaiming_normal", "--out", "a.npy"],
                 "--name w: kaiming_normal(a=0, mode=fan_in, nonlinearity=leaky_relu) on shape "
                 "[8] (layout oi): needs fan_in", absent="model spec: ")
    expect_error(["fill", "--seed", "1", "--stream", "5", "--shape", "8", "--scheme",
                  "kaiming_normal", "--out", "a.npy"],
                 "fanfill: error: kaiming_normal(a=0, mode=fan_in, nonlinearity=leaky_relu) on "
                 "shape [8]", absent="'tensor'")
    expect_error(["describe", "--shape", "8", "--scheme", "kaiming_normal"],
                 "fanfill: error: kaiming_normal(a=0, mode=fan_in, nonlinearity=leaky_relu) on "
                 "shape [8]", absent="model spec: ")
    expect_error([*FILL, "--shape", "4,4", "--scheme", "normal(std=1e5)", "--dtype", "f16",
                  "--out", "a.npy"], "--name w: normal(mean=0, std=1e+05) on shape [4, 4] (f16)",
                 absent="model spec: ")
    expect_error([*FILL, "--shape", "8,4", "--scheme", "kaiming_nromal", "--out", "a.npy"],
                 "unknown scheme")
    expect_error([*FILL, "--shape", "8,4", "--scheme", "normal(std=-1)", "--out", "a.npy"],
                 "std")
    expect_error([*FILL, *GOOD, "--layout", "xy", "--out", "a.npy"], "layout")
    expect_error([*FILL, *GOOD, "--dtype", "f8", "--out", "a.npy"], "f8")
    expect_error([*FILL, *GOOD, "--dtype", "bf16", "--out", "a.npy"], "bf16 has no numpy dtype")
    expect_error([*FILL, *GOOD, "--dtype", "f8e4m3", "--out", "a.npy"],
                 "f8e4m3 has no standard numpy dtype")
    expect_error([*FILL, *GOOD, "--dtype", "f8e5m2", "--scale", "0.5", "--out", "a.bin"],
                 "only .safetensors stores the scale")
    expect_error([*FILL, *GOOD, "--dtype", "f8e4m3", "--scale", "0", "--out", "a.safetensors"],
                 "scale must be finite and > 0, got 0")
    expect_error([*FILL, "--shape", "8,4", "--scheme", "normal(std=0.001)", "--dtype", "f8e4m3",
                  "--out", "a.safetensors"], "use scale <=")
    expect_error([*FILL, *GOOD, "--out", "a.txt"], ".npy, .safetensors or .bin")
    expect_error(["fill", "--seed", "1", *GOOD, "--out", "a.npy"], "--name or --stream")
    expect_error([*FILL, "--stream", "3", *GOOD, "--out", "a.npy"], "excludes")
    expect_error(["fill", "--name", "w", *GOOD, "--out", "a.npy"], "--seed")
    expect_error(["--threads", "0", *FILL, *GOOD, "--out", "a.npy"],
                 "--threads: must be a positive integer, got '0'")
    # Seeds and streams: decimal integers in [0, 2^64), never wrapped or clamped.
    for option in ("--seed", "--stream"):
        for bad in ("-1", "18446744073709551616", "99999999999999999999999", "+3", "0x10",
                    "1e3", "1.5", ""):
            args = (["fill", "--seed", bad, "--name", "w"] if option == "--seed" else
                    ["fill", "--seed", "1", "--stream", bad])
            expect_error([*args, *GOOD, "--out", "a.npy"], f"{option} '{bad}': expected an "
                         "integer in [0, 2^64)" if bad else option)
    for sub in (["model", "spec.json"], ["hf", "config.json"], ["validate", "--quick"]):
        expect_error([*sub, "--seed", "-1", "--out", "x"], "--seed '-1': expected an integer")
    # An FP8 scale is stored as an F32 tensor: it must round to a normal float32.
    for scale, scheme in (("2e-46", "normal(std=1e-45)"), ("1e-39", "normal(std=1e-38)"),
                          ("1e39", "normal(std=1e38)")):
        expect_error([*FILL, "--shape", "4,4", "--scheme", scheme, "--dtype", "f8e4m3",
                      "--scale", scale, "--out", "a.safetensors"], "is not a normal float32")
    # Orthogonal's FP8 underflow is refused like the distributions' (the fix is named).
    expect_error([*FILL, "--shape", "4,4", "--scheme", "orthogonal(gain=1e-6)", "--dtype",
                  "f8e4m3", "--out", "a.safetensors"], "orthogonal: the spread 5e-07 is below "
                 "the smallest f8e4m3 normal 2^-6, so the values would underflow to a few "
                 "subnormals; use scale <= 2^-15")
    # Scales print as the shortest decimal, not std::to_string's six places.
    expect_error([*FILL, *GOOD, "--scale", "1e-7", "--out", "a.npy"], "has scale 1e-07:")
    # numpy reads at most 64 dimensions.
    expect_error([*FILL, "--shape", ",".join(["1"] * 65), "--scheme", "normal", "--out",
                  "a.npy"], ".npy holds at most 64 dimensions")
    expect_error(["--target", "no_such_target", *FILL, *GOOD, "--out", "a.npy"], "target")
    expect_error(["frobnicate"], "unknown command 'frobnicate' (expected fill, model, describe, "
                 "bench, validate, hf)")
    expect_error([], "A subcommand is required")
    expect_error(["bench", "--size", "0"], "--size")
    # A value the dtype cannot hold.
    expect_error([*FILL, "--shape", "4,4", "--scheme", "constant(value=1e6)", "--dtype", "f16",
                  "--out", "a.npy"], "overflows f16")
    # torch raises OverflowError for 1 + a ** 2; a zero gain would write zeros.
    for scheme in ("kaiming_normal(a=1e200)", "kaiming_uniform(a=1e200)"):
        expect_error([*FILL, "--shape", "4,4", "--scheme", scheme, "--out", "a.npy"],
                     "leaky_relu: the negative slope (a) 1e+200 is too large: 1 + a^2 overflows")
    # A .safetensors header is JSON: a name that is not UTF-8 cannot be in it.
    expect_error(["fill", "--seed", "1", "--name", "\udcff\udcfe", *GOOD, "--out",
                  "u.safetensors"],
                 "the tensor name '\\xFF\\xFE' is not valid UTF-8", absent="json.exception")
    # So is describe's output; a message's --name is escaped where it is not UTF-8 or holds
    # control characters, kept as it is otherwise.
    expect_error(["describe", "--name", "w\udcff", *GOOD],
                 "--name w\\xFF: the name is not valid UTF-8, which JSON needs",
                 absent="json.exception")
    expect_error(["describe", "--name", "w\x01", "--shape", "4", "--scheme", "normal(std=1e6)",
                  "--dtype", "f16"], "--name w\\x01: normal(mean=0, std=1e+06)")
    expect_error(["describe", "--name", "wé", "--shape", "4", "--scheme", "normal(std=1e6)",
                  "--dtype", "f16"], "--name wé: normal(mean=0, std=1e+06)")


def write(name, text):
    with open(os.path.join(WORK, name), "w") as f:
        f.write(text)


def test_spec_values_and_keys():
    # Values nested 100000 deep are shown by their kind: dump() of them ran
    # off the stack (a segfault).
    deep = "[" * 100000 + "]" * 100000
    tensor = '{"name": "a", "shape": [2], "scheme": "normal"'
    cases = [
        ('{"tensors": [{"name": "a", "scheme": "normal", "shape": %s}]}' % deep,
         '"shape" must hold integers >= 0, got an array of 1 element at index 0'),
        ('{"tensors": [%s, "stream": %s}]}' % (tensor, deep),
         '"stream" must be an integer in [0, 2^64), got an array of 1 element'),
        ('{"tensors": [{"scheme": "normal", "shape": [2], "name": %s}]}' % deep,
         '"name" must be a string, got an array of 1 element'),
        ('{"tensors": [%s}], "layout": %s}' % (tensor, deep),
         'top level: "layout" must be a string, got an array of 1 element'),
        ('{"tensors": [%s}, %s]}' % (tensor, deep),
         "tensors[1] must be an object, got an array of 1 element"),
        # A key twice: nlohmann (and Python) keep the last; refused.
        ('{"tensors": [{"name": "a", "name": "b", "shape": [2, 2], "scheme": "normal"}]}',
         'duplicate key "name" in tensors[0]'),
        ('{"tensors": [%s}], "tensors": [{"name": "b", "shape": [3], "scheme": "zeros"}]}'
         % tensor, 'duplicate key "tensors" at the top level'),
        # fans_from and the scheme's own fan_in: one source of fans.
        ('{"tensors": [{"name": "w", "shape": [2, 3], "scheme": "normal"}, {"name": "b", '
         '"shape": [2], "scheme": "torch_default_bias(fan_in=10)", "fans_from": "w"}]}',
         "tensor #1 'b': fans_from 'w' and the scheme's fan_in=10 both give fans"),
    ]
    for i, (text, message) in enumerate(cases):
        write(f"spec{i}.json", text)
        expect_error(["model", f"spec{i}.json", "--seed", "1", "--out", "m.safetensors"],
                     "fanfill: error: model spec: ")
        expect_error(["model", f"spec{i}.json", "--seed", "1", "--out", "m.safetensors"], message)
        expect_error(["describe", "--spec", f"spec{i}.json"], message)
    # A directory is not read as an empty file ("unexpected end of input").
    os.mkdir(os.path.join(WORK, "specdir"))
    expect_error(["model", "specdir", "--seed", "1", "--out", "m.safetensors"],
                 "cannot read 'specdir': it is a directory")
    expect_error(["describe", "--spec", "specdir"], "cannot read 'specdir': it is a directory")


def test_describe_options():
    # With --spec every per-tensor option is the spec's: a usage error.
    write("one.json", '{"tensors": [{"name": "a", "shape": [4, 4], "scheme": "normal"}]}')
    for option, value in (("--shape", "4,4"), ("--scheme", "normal"), ("--dtype", "f16"),
                          ("--layout", "io"), ("--name", "w"), ("--stream", "3"),
                          ("--scale", "2")):
        expect_error(["describe", "--spec", "one.json", option, value],
                     f"{option} excludes --spec")
    # describe --scale is checked as fill's is (the library's one check).
    for scale, message in (("0", "scale must be finite and > 0, got 0"),
                           ("-2", "scale must be finite and > 0, got -2"),
                           ("1e-39", "is not a normal float32"),
                           ("1e39", "is not a normal float32")):
        expect_error(["describe", "--shape", "4,4", "--scheme", "normal", "--scale", scale],
                     message, absent="model spec: ")
        expect_error([*FILL, "--shape", "4,4", "--scheme", "normal", "--dtype", "f8e4m3",
                      "--scale", scale, "--out", "a.safetensors"], message)
    # What fill refuses for its dtype, describe refuses with fill's message (it described
    # such tensors before): values beyond the range, FP8 without the scale it needs, FP8
    # values below its normals.
    for opts, message in (
            (["--scheme", "normal(std=1e6)", "--dtype", "f16"],
             "can reach +-6764600, beyond the f16 range +-65504"),
            (["--scheme", "normal(std=100)", "--dtype", "f8e4m3"],
             "beyond the f8e4m3 range +-448; use scale >= 2^1"),
            (["--scheme", "uniform(a=-1e5, b=1e5)", "--dtype", "f8e5m2", "--scale", "1.5"],
             "exceed the f8e5m2 range +-57344; use scale >= 2^1"),
            (["--scheme", "normal(std=0.001)", "--dtype", "f8e4m3"],
             "below the smallest f8e4m3 normal 2^-6"),
            (["--scheme", "trunc_normal(std=1e40, a=-inf, b=inf)"],
             "must lie in the float range")):
        expect_error(["describe", "--shape", "4,4", *opts], message, absent="model spec: ")
        expect_error([*FILL, "--shape", "4,4", *opts, "--out", "a.safetensors"], message)
    write("range.json", '{"tensors": [{"name": "a", "shape": [4, 4], "scheme": "normal(std=1)"},'
          ' {"name": "b", "shape": [4, 4], "scheme": "normal(std=100)", "dtype": "f8e4m3"}]}')
    expect_error(["describe", "--spec", "range.json"],
                 "model spec: tensor #1 'b': normal(mean=0, std=100) on shape [4, 4] (f8e4m3)")
    expect_error(["model", "range.json", "--seed", "1", "--out", "r.safetensors"],
                 "model spec: tensor #1 'b': normal(mean=0, std=100) on shape [4, 4] (f8e4m3)")


def test_zero_element_tensors():
    # As torch.nn.init: a scheme's rank requirement holds whatever the count.
    for shape, scheme, message in (("0,3,3", "eye", "eye needs exactly 2 dimensions"),
                                   ("0", "sparse(0.5)", "sparse needs exactly 2 dimensions"),
                                   ("0", "orthogonal", "orthogonal needs at least 2 dimensions"),
                                   ("3,0,3", "dirac(groups=2)", "not divisible by groups=2")):
        expect_error([*FILL, "--shape", shape, "--scheme", scheme, "--out", "z.npy"], message,
                     absent="model spec: ")
        expect_error(["describe", "--shape", shape, "--scheme", scheme], message)
        write("zero.json", '{"tensors": [{"name": "z", "shape": [%s], "scheme": "%s"}]}'
              % (shape, scheme))
        expect_error(["model", "zero.json", "--seed", "1", "--out", "z.safetensors"], message)
    # A distribution the dtype cannot hold: refused whatever the count.
    expect_error([*FILL, "--shape", "0", "--scheme", "uniform(0, 1e300)", "--dtype", "f16",
                  "--out", "z.npy"], "exceed the f16 range")


def test_sizes():
    # Past the largest file (int64 off_t): refused before anything is created,
    # not "Invalid argument" from fallocate or a wrapped sum ("out of memory").
    for out in ("x.safetensors", "x.npy", "x.bin"):
        expect_error([*FILL, "--shape", "1152921504606846976,2", "--scheme", "zeros", "--out",
                      out], "would be 922337203685477", absent="Invalid argument")
    big = ", ".join('{"name": "%s", "shape": [1152921504606846976], "scheme": "zeros"}' % n
                    for n in "abcd")
    write("big.json", '{"tensors": [%s, {"name": "e", "shape": [1], "scheme": "zeros"}]}' % big)
    expect_error(["model", "big.json", "--seed", "1", "--out", "m.safetensors"],
                 "the file's tensors would be 18446744073709551620 bytes, more than the largest "
                 "file size",
                 absent="out of memory")
    # bench --size: strictly parsed, and a buffer that cannot be is refused.
    expect_error(["bench", "--size", "-1"], "--size '-1': expected an integer in [0, 2^64)")
    expect_error(["bench", "--size", "2305843009213693952", "--reps", "1"],
                 "the buffer of 2305843009213693952 f64 elements would be more than 2^64 bytes")
    expect_error(["bench", "--size", str(2 ** 50), "--reps", "1"],
                 "is more than this machine's memory")


def test_unsupported_target():
    out = subprocess.run([FANFILL, "--version"], capture_output=True, text=True).stdout
    lines = dict(line.split(": ", 1) for line in out.splitlines()[1:])
    compiled = lines["compiled targets"].split()
    supported = lines["supported targets"].split()
    check(supported and set(supported) <= set(compiled), f"--version targets: {out!r}")
    missing = [t for t in compiled if t not in supported]
    if missing:  # compiled in, but this CPU cannot run it
        expect_error(["--target", missing[0].lower(), *FILL, *GOOD, "--out", "a.npy"],
                     "not available")
    else:
        print("note: this CPU runs every compiled target; the refusal is checked by name only")


def test_model_errors():
    with open(os.path.join(WORK, "bad.json"), "w") as f:
        f.write('{"tensors": [{"name": "a", "shape": [4, 4], "scheme": "normal", "bogus": 1}]}')
    with open(os.path.join(WORK, "dup.json"), "w") as f:
        f.write('{"tensors": [{"name": "a", "shape": [4, 4], "scheme": "normal"},'
                ' {"name": "a", "shape": [4], "scheme": "zeros"}]}')
    with open(os.path.join(WORK, "ok.json"), "w") as f:
        f.write('{"tensors": [{"name": "a", "shape": [4, 4], "scheme": "normal"}]}')
    with open(os.path.join(WORK, "reserved.json"), "w") as f:
        f.write('{"tensors": [{"name": "__metadata__", "shape": [4], "scheme": "zeros"}]}')
    model = ["model", "--seed", "1"]
    expect_error([*model, "bad.json", "--out", "m.safetensors"], "bogus")
    expect_error([*model, "dup.json", "--out", "m.safetensors"], "a")
    expect_error([*model, "missing.json", "--out", "m.safetensors"], "missing.json")
    expect_error([*model, "ok.json", "--out", "m.npy"], ".safetensors")
    expect_error([*model, "reserved.json", "--out", "m.safetensors"], "reserved")
    expect_error(["describe", "--spec", "bad.json"], "bogus")
    expect_error(["describe", "--shape", "4,4", "--scheme", "nope"], "unknown scheme")


def test_unwritable_paths():
    expect_error([*FILL, *GOOD, "--out", "no_such_dir/a.npy"], "No such file or directory")
    with open(os.path.join(WORK, "plainfile"), "w") as f:
        f.write("x")
    expect_error([*FILL, *GOOD, "--out", "plainfile/a.npy"], "not a directory")
    os.mkdir(os.path.join(WORK, "subdir.npy"))
    expect_error([*FILL, *GOOD, "--out", "subdir.npy", "--force"], "is a directory")
    if os.geteuid() != 0:  # root writes to read-only directories anyway
        ro = os.path.join(WORK, "readonly")
        os.mkdir(ro, 0o555)
        expect_error([*FILL, *GOOD, "--out", "readonly/a.npy"], "Permission denied")


def test_no_overwrite_without_force():
    target = os.path.join(WORK, "exists.npy")
    with open(target, "wb") as f:
        f.write(b"keep me")
    expect_error([*FILL, *GOOD, "--out", "exists.npy"], "--force")
    with open(target, "rb") as f:
        check(f.read() == b"keep me", "existing file changed without --force")
    proc = subprocess.run([FANFILL, *FILL, *GOOD, "--out", "exists.npy", "--force"], cwd=WORK,
                          capture_output=True, text=True)
    check(proc.returncode == 0, f"--force failed: {proc.stderr}")
    with open(target, "rb") as f:
        check(f.read(6) == b"\x93NUMPY", "--force did not replace the file")
    check(not [f for f in listing(WORK) if ".tmp." in f], "temporary file left after --force")
    os.remove(target)


def test_file_size_limit():
    # Past RLIMIT_FSIZE the writes fail with EFBIG (fanfill ignores SIGXFSZ).
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    expect_error([*FILL, "--shape", "1024,1024", "--scheme", "normal", "--out", "big.bin"],
                 "File too large", preexec_fn=limit)


def test_disk_full():
    # A 64 KiB tmpfs in a private mount namespace (unprivileged via a user
    # namespace); the listing is taken inside, where the mount exists.
    if not shutil.which("unshare"):
        print("note: no unshare; the full-disk check is skipped")
        return
    mnt = os.path.join(WORK, "tiny")
    os.mkdir(mnt)
    script = (
        'mount -t tmpfs -o size=64k tmpfs "$1" || exit 77; cd "$1"; '
        '"$2" fill --seed 1 --name w --shape 1024,1024 --scheme normal --out full.bin '
        '2>err.txt; rc=$?; err=$(cat err.txt); rm err.txt; '
        'echo "rc=$rc"; echo "err=$err"; echo "files=$(ls -A)"')
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", mnt, FANFILL],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"note: cannot mount a tmpfs here ({proc.stderr.strip()}); "
              "the full-disk check is skipped")
        return
    out = proc.stdout
    check("rc=0" not in out, f"full disk: exit code 0: {out!r}")
    check("fanfill: error: " in out and "No space left on device" in out,
          f"full disk message: {out!r}")
    check("files=\n" in out or out.rstrip().endswith("files="), f"full disk left: {out!r}")


def test_signals():
    # An orthogonal f64 4096 x 4096 on one thread takes seconds (QR); the
    # temporary file exists from the start. Signal once it appears.
    for sig in (signal.SIGINT, signal.SIGTERM):
        d = os.path.join(WORK, f"sig{int(sig)}")
        os.mkdir(d)
        proc = subprocess.Popen([FANFILL, "--threads", "1", *FILL, "--shape", "4096,4096",
                                 "--scheme", "orthogonal", "--dtype", "f64", "--out", "q.npy"],
                                cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not [f for f in os.listdir(d) if ".tmp." in f]:
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        seen = bool([f for f in os.listdir(d) if ".tmp." in f])
        check(seen, f"{sig.name}: the temporary file never appeared")
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            check(False, f"{sig.name}: fanfill did not stop")
        check(proc.returncode == -sig, f"{sig.name}: exit status {proc.returncode}")
        check(listing(d) == [], f"{sig.name}: files left: {listing(d)}")
        proc.stderr.close()


def main():
    return run_tests(WORK, (test_bad_inputs, test_spec_values_and_keys, test_describe_options,
                            test_zero_element_tensors, test_sizes, test_unsupported_target,
                            test_model_errors,
                            test_unwritable_paths, test_no_overwrite_without_force,
                            test_file_size_limit, test_disk_full, test_signals))


if __name__ == "__main__":
    sys.exit(main())
