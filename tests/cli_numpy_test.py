#!/usr/bin/env python3
"""Real-client test of the fanfill command: numpy loads what it writes.

Usage: cli_numpy_test.py <fanfill executable> <scratch directory>

For each case the command writes a .npy (default threads and SIMD target) and
a .bin (--threads 1 --target scalar); numpy must load the .npy with the right
shape and dtype, and its values must equal the .bin bit for bit. So one check
covers the .npy writer, the chunked parallel writer (the shapes include
multi-chunk tensors) and target independence. A kaiming_normal tensor's
mean and std are checked against gain / sqrt(fan). The safetensors files
(`fill` and `model`) are read back by the independent reader below (JSON
header + numpy.frombuffer) and compared with .npy files of the same tensors;
bf16 is compared with the f32 values rounded to nearest even.
Exits 77 (CTest: skipped) when numpy is missing.
"""
import ast
import json
import math
import os
import struct
import subprocess
import sys

from cli_check import check, run_tests

try:
    import numpy as np
except ImportError:
    print("SKIP: numpy is not installed (Debian: python3-numpy)")
    sys.exit(77)

FANFILL = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
SEED = "42"


def run(*args):
    proc = subprocess.run([FANFILL, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"fanfill {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def path(name):
    return os.path.join(WORK, name)


NUMPY_DTYPE = {"f32": np.dtype("<f4"), "f64": np.dtype("<f8"), "f16": np.dtype("<f2")}


def read_safetensors(file):
    """Independent reader: u64 header length, JSON header, raw data."""
    with open(file, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    check((8 + n) % 8 == 0, f"{file}: data does not start 8-byte aligned")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    header.pop("__metadata__", None)
    spans = sorted(tuple(v["data_offsets"]) for v in header.values())
    pos = 0
    for begin, end in spans:
        check(begin == pos, f"{file}: hole or overlap at byte {pos}")
        pos = end
    check(pos == len(data), f"{file}: data section is {len(data)} bytes, header covers {pos}")
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "BF16": "<u2", "F8_E4M3": "u1",
              "F8_E5M2": "u1"}
    tensors = {}
    for name, v in header.items():
        begin, end = v["data_offsets"]
        dt = np.dtype(dtypes[v["dtype"]])
        arr = np.frombuffer(data[begin:end], dtype=dt).reshape(v["shape"])
        check(begin % dt.itemsize == 0, f"{file}: {name} is not aligned to its element size")
        tensors[name] = (v["dtype"], arr)
    return tensors


def bf16_round(f32):
    """float32 -> bfloat16 bits, round to nearest even (finite values)."""
    bits = f32.astype("<f4").view("<u4").astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def fp8_round(f32, e4m3):
    """float32 -> FP8 bits by nearest-value search, ties to the even pattern
    (finite values inside the format's range; independent of fanfill's code)."""
    mant, bias, top = (3, 7, 0x7E) if e4m3 else (2, 15, 0x7B)
    patterns = np.arange(top + 1)
    exp, m = patterns >> mant, patterns & ((1 << mant) - 1)
    values = np.where(exp == 0, m * 2.0 ** (1 - bias - mant),
                      (1 + m / 2.0 ** mant) * 2.0 ** (exp - bias))
    a = np.abs(f32.astype(np.float64)).ravel()
    lo = np.searchsorted(values, a, side="right") - 1
    hi = np.minimum(lo + 1, top)
    dlo, dhi = a - values[lo], values[hi] - a
    pick = np.where(dlo < dhi, lo, np.where(dlo > dhi, hi, np.where(lo % 2 == 0, lo, hi)))
    pick = np.where(lo == top, top, pick)
    sign = np.where(np.signbit(f32.ravel()), 0x80, 0)
    return (pick | sign).astype(np.uint8).reshape(f32.shape)


CASES = [
    # shape, layout, scheme, dtype
    ("64,32,3,3", "oi", "kaiming_normal(mode=fan_in)", "f32"),
    ("3,3,32,64", "io", "he_normal", "f32"),
    ("300,200", "io", "glorot_uniform", "f64"),
    ("2100,2100", "oi", "normal(std=0.02)", "f32"),   # 17.6 MB: two chunks
    ("1500,1500", "oi", "trunc_normal(std=0.02)", "f64"),  # 18 MB: two chunks
    ("4099,2049", "oi", "xavier_normal", "f16"),     # 16.8 MB: two chunks of f16
    ("17", "oi", "uniform(a=-1, b=1)", "f16"),
    ("0,5", "oi", "normal", "f32"),
    ("48,40", "oi", "orthogonal(gain=2)", "f32"),
    ("40,48", "io", "sparse(sparsity=0.25)", "f64"),
    ("16,24", "oi", "eye", "f16"),
    ("8,4,3,3", "oi", "dirac", "f32"),
    ("5,7", "oi", "constant(value=0.1)", "f16"),
    ("3000,1500", "oi", "zeros", "f32"),
]


def test_npy_against_scalar_single_thread():
    for i, (shape, layout, scheme, dtype) in enumerate(CASES):
        label = f"{scheme} {shape} {layout} {dtype}"
        common = ["--shape", shape, "--layout", layout, "--scheme", scheme, "--seed", SEED,
                  "--name", f"t{i}", "--dtype", dtype]
        run("fill", *common, "--out", path(f"t{i}.npy"))
        run("--threads", "1", "--target", "scalar", "fill", *common, "--out", path(f"t{i}.bin"))
        arr = np.load(path(f"t{i}.npy"))
        dims = tuple(int(d) for d in shape.split(","))
        check(arr.shape == dims, f"{label}: shape {arr.shape}, expected {dims}")
        check(arr.dtype == NUMPY_DTYPE[dtype], f"{label}: dtype {arr.dtype}")
        with open(path(f"t{i}.bin"), "rb") as f:
            raw = f.read()
        check(arr.tobytes() == raw, f"{label}: .npy values differ from the --threads 1 "
                                    f"--target scalar .bin")
        check(bool(np.all(np.isfinite(arr))), f"{label}: non-finite values")


def test_kaiming_std():
    # fan_in = 32 * 3 * 3; std = sqrt(2) / sqrt(288). n = 18432 normals: the sample
    # std has standard error sigma / sqrt(2n), the mean sigma / sqrt(n); 6 standard
    # errors give p_fail < 4e-9 per check.
    arr = np.load(path("t0.npy")).astype(np.float64)
    n = arr.size
    sigma = math.sqrt(2.0) / math.sqrt(32 * 3 * 3)
    check(abs(arr.std() - sigma) < 6 * sigma / math.sqrt(2 * n),
          f"kaiming_normal std {arr.std()} vs {sigma}")
    check(abs(arr.mean()) < 6 * sigma / math.sqrt(n), f"kaiming_normal mean {arr.mean()}")
    desc = json.loads(run("describe", "--shape", "64,32,3,3", "--layout", "oi", "--scheme",
                          "kaiming_normal(mode=fan_in)").stdout)
    check(len(desc) == 1 and desc[0]["fan_in"] == 288 and desc[0]["fan_out"] == 576,
          f"describe fans: {desc}")
    check(math.isclose(desc[0]["std"], sigma, rel_tol=1e-15), f"describe std {desc[0]['std']}")
    check(desc[0]["distribution"] == {"kind": "normal", "mean": 0.0, "stddev": desc[0]["std"]},
          f"describe distribution {desc[0]['distribution']}")


def test_npy_rank_64():
    # 64 dimensions, numpy 2's NPY_MAXDIMS (numpy 1: 32), the most .npy takes
    # (cli_errors_test.py: 65 is refused). The header is parsed here too, so
    # that numpy 1 checks it as well.
    shape = (1,) * 63 + (3,)
    run("fill", "--shape", ",".join(map(str, shape)), "--scheme", "normal", "--seed", SEED,
        "--stream", "1", "--out", path("rank64.npy"))
    with open(path("rank64.npy"), "rb") as f:
        blob = f.read()
    check(blob[:8] == b"\x93NUMPY\x01\x00", f"rank 64: magic/version {blob[:8]!r}")
    (n,) = struct.unpack("<H", blob[8:10])
    check((10 + n) % 64 == 0 and blob[10 + n - 1:10 + n] == b"\n", "rank 64: header padding")
    header = ast.literal_eval(blob[10:10 + n].decode("latin1"))
    check(header["descr"] == "<f4" and header["shape"] == shape
          and header["fortran_order"] is False, "rank 64: header contents")
    run("fill", "--shape", "3", "--scheme", "normal", "--seed", SEED, "--stream", "1",
        "--out", path("rank64.bin"))
    with open(path("rank64.bin"), "rb") as f:
        check(blob[10 + n:] == f.read(), "rank 64: data")
    if int(np.__version__.split(".")[0]) >= 2:
        a = np.load(path("rank64.npy"))
        check(a.shape == shape and a.dtype == np.float32, f"rank 64: numpy {a.shape} {a.dtype}")


def test_fill_safetensors():
    for dtype in ("f32", "f64", "f16", "bf16"):
        common = ["--shape", "96,80", "--scheme", "kaiming_normal", "--seed", SEED,
                  "--name", "layer1.weight"]
        run("fill", *common, "--dtype", dtype, "--out", path(f"s_{dtype}.safetensors"))
        tensors = read_safetensors(path(f"s_{dtype}.safetensors"))
        check(list(tensors) == ["layer1.weight"], f"safetensors names {list(tensors)}")
        st_dtype, arr = tensors["layer1.weight"]
        check(st_dtype == dtype.upper(), f"safetensors dtype {st_dtype} for {dtype}")
        check(arr.shape == (96, 80), f"safetensors shape {arr.shape}")
        if dtype == "bf16":
            run("fill", *common, "--dtype", "f32", "--out", path("s_bf16_ref.npy"))
            expected = bf16_round(np.load(path("s_bf16_ref.npy")))
            check(np.array_equal(arr, expected), "bf16 != f32 rounded to nearest even")
        else:
            run("fill", *common, "--dtype", dtype, "--out", path(f"s_{dtype}.npy"))
            check(arr.tobytes() == np.load(path(f"s_{dtype}.npy")).tobytes(),
                  f"safetensors {dtype} != .npy")
    # --stream without --name: the tensor is called "tensor".
    run("fill", "--shape", "3,4", "--scheme", "ones", "--seed", SEED, "--stream", "9",
        "--out", path("anon.safetensors"))
    check(list(read_safetensors(path("anon.safetensors"))) == ["tensor"], "default name")


def test_fp8_safetensors():
    # stored = value / scale: with a power-of-two scale the divided parameters
    # are exact, so the FP8 tensor is the f32 fill of std / scale rounded once.
    for dtype, e4m3 in (("f8e4m3", True), ("f8e5m2", False)):
        common = ["--shape", "64,48", "--seed", SEED, "--name", "w"]
        out = path(f"fp8_{dtype}.safetensors")
        run("fill", *common, "--scheme", "normal(std=0.02)", "--dtype", dtype,
            "--scale", str(2.0 ** -6), "--out", out)
        tensors = read_safetensors(out)
        check(sorted(tensors) == ["w", "w_scale"], f"{dtype}: names {sorted(tensors)}")
        st_dtype, arr = tensors["w"]
        check(st_dtype == ("F8_E4M3" if e4m3 else "F8_E5M2"), f"{dtype}: dtype {st_dtype}")
        sd, scale = tensors["w_scale"]
        check(sd == "F32" and scale.shape == () and float(scale) == 2.0 ** -6,
              f"{dtype}: w_scale {sd} {scale.shape} {scale}")
        run("fill", *common, "--scheme", "normal(std=1.28)", "--dtype", "f32",
            "--out", path(f"fp8_{dtype}_ref.npy"))
        ref = fp8_round(np.load(path(f"fp8_{dtype}_ref.npy")), e4m3)
        check(np.array_equal(arr, ref), f"{dtype}: values != f32 fill of std/scale rounded")
    # A model spec with "scale", beside unscaled tensors of other widths.
    model = {"tensors": [
        {"name": "a", "shape": [33], "scheme": "normal(std=0.5)", "dtype": "f8e5m2"},
        {"name": "b", "shape": [10, 10], "scheme": "uniform(a=-0.01, b=0.01)",
         "dtype": "f8e4m3", "scale": 0.0009765625},
        {"name": "c", "shape": [5], "scheme": "ones", "dtype": "f64"}]}
    with open(path("fp8_model.json"), "w") as f:
        json.dump(model, f)
    run("model", path("fp8_model.json"), "--seed", SEED, "--out", path("fp8_model.safetensors"))
    tensors = read_safetensors(path("fp8_model.safetensors"))
    check(sorted(tensors) == ["a", "b", "b_scale", "c"], f"fp8 model names {sorted(tensors)}")
    check(float(tensors["b_scale"][1]) == 0.0009765625, "fp8 model b_scale")
    vals = tensors["b"][1]
    check(vals.dtype == np.uint8 and vals.shape == (10, 10), "fp8 model b shape")
    # A scale given explicitly is stored, 1 included (README: --scale S writes
    # <name>_scale), by fill and by a spec's "scale"; the values are unscaled.
    one = ["--shape", "8,4", "--scheme", "normal(std=0.5)", "--seed", SEED, "--name", "w",
           "--dtype", "f8e4m3"]
    run("fill", *one, "--scale", "1", "--out", path("fp8_one.safetensors"))
    run("fill", *one, "--out", path("fp8_none.safetensors"))
    with open(path("fp8_one_model.json"), "w") as f:
        json.dump({"tensors": [{"name": "w", "shape": [8, 4], "scheme": "normal(std=0.5)",
                                "dtype": "f8e4m3", "scale": 1}]}, f)
    run("model", path("fp8_one_model.json"), "--seed", SEED, "--out",
        path("fp8_one_model.safetensors"))
    unscaled = read_safetensors(path("fp8_none.safetensors"))
    check(sorted(unscaled) == ["w"], f"no --scale: names {sorted(unscaled)}")
    for file in ("fp8_one.safetensors", "fp8_one_model.safetensors"):
        tensors = read_safetensors(path(file))
        check(sorted(tensors) == ["w", "w_scale"], f"{file}: names {sorted(tensors)}")
        sd, scale = tensors["w_scale"]
        check(sd == "F32" and scale.shape == () and float(scale) == 1.0,
              f"{file}: w_scale {sd} {scale.shape} {scale}")
        check(np.array_equal(tensors["w"][1], unscaled["w"][1]), f"{file}: values changed")
    try:
        from safetensors import safe_open
    except ImportError:
        print("note: no safetensors package for this python; read by the reader above only")
    else:  # numpy has no FP8 dtype: only the scale is loaded
        with safe_open(path("fp8_one.safetensors"), framework="numpy") as f:
            keys, scale = sorted(f.keys()), f.get_tensor("w_scale")
        check(keys == ["w", "w_scale"] and scale.shape == () and scale.dtype == np.float32
              and float(scale) == 1.0, f"safetensors: {keys} {scale!r}")


def test_describe():
    # The described moments are those of the values stored, value / scale;
    # the scale is reported, and the distribution (the one Fill) carries it.
    desc = json.loads(run("describe", "--shape", "8,8", "--scheme", "uniform(-1, 3)",
                          "--scale", "0.25").stdout)[0]
    check(desc["scale"] == 0.25 and desc["low"] == -4.0 and desc["high"] == 12.0
          and desc["mean"] == 4.0 and math.isclose(desc["std"], 16 / math.sqrt(12), rel_tol=1e-15),
          f"describe --scale: {desc}")
    check(desc["distribution"] == {"kind": "uniform", "low": -1.0, "high": 3.0, "scale": 0.25},
          f"describe --scale distribution: {desc['distribution']}")
    with open(path("scaled.json"), "w") as f:
        json.dump({"tensors": [{"name": "w", "shape": [4], "scheme": "constant(2)",
                                "scale": 0.5}, {"name": "v", "shape": [4], "scheme": "ones"}]}, f)
    desc = json.loads(run("describe", "--spec", path("scaled.json")).stdout)
    check(desc[0]["scale"] == 0.5 and desc[0]["mean"] == 4.0 and desc[0]["high"] == 4.0
          and desc[1]["scale"] == 1.0 and desc[1]["mean"] == 1.0, f"describe --spec scale: {desc}")
    # A zero-element tensor is a no-op without fans (torch's kaiming_ warns and
    # returns): describe, fill and model all accept it.
    desc = json.loads(run("describe", "--shape", "4,0", "--scheme", "kaiming_normal").stdout)[0]
    check(desc["count"] == 0 and desc["fan_in"] == 0 and desc["std"] is None
          and desc["distribution"] is None, f"describe 4,0 kaiming_normal: {desc}")
    run("fill", "--shape", "4,0", "--scheme", "kaiming_normal", "--seed", SEED, "--name", "e",
        "--out", path("empty.npy"))
    check(np.load(path("empty.npy")).shape == (4, 0), "fill 4,0 kaiming_normal")
    with open(path("empty.json"), "w") as f:
        json.dump({"tensors": [{"name": "e", "shape": [4, 0], "scheme": "kaiming_normal"},
                               {"name": "o", "shape": [0, 5], "scheme": "orthogonal"}]}, f)
    run("model", path("empty.json"), "--seed", SEED, "--out", path("empty.safetensors"))
    tensors = read_safetensors(path("empty.safetensors"))
    check(tensors["e"][1].shape == (4, 0) and tensors["o"][1].shape == (0, 5),
          f"model of empty tensors: {tensors}")
    # "stream": -0 is 0 (as Python's json reads it).
    for name, stream in (("zero", "0"), ("minus_zero", "-0")):
        with open(path(f"{name}.json"), "w") as f:
            f.write('{"tensors": [{"name": "a", "shape": [16], "scheme": "normal", '
                    '"stream": %s}]}' % stream)
        run("model", path(f"{name}.json"), "--seed", SEED, "--out", path(f"{name}.safetensors"))
    with open(path("zero.safetensors"), "rb") as a, open(path("minus_zero.safetensors"), "rb") as b:
        check(a.read() == b.read(), '"stream": -0 and "stream": 0 differ')


MODEL = {
    "layout": "oi",
    "tensors": [
        {"name": "embed", "shape": [1000, 64], "scheme": "normal(std=0.02)", "dtype": "bf16"},
        {"name": "conv.weight", "shape": [64, 16, 3, 3],
         "scheme": "kaiming_normal(mode=fan_out, nonlinearity=relu)"},
        {"name": "conv.bias", "shape": [64], "scheme": "torch_default_bias",
         "fans_from": "conv.weight", "dtype": "f16"},
        {"name": "fc.weight", "shape": [2100, 2100], "scheme": "xavier_uniform", "dtype": "f64"},
        {"name": "fc.q", "shape": [32, 32], "scheme": "orthogonal", "stream": 12345},
        {"name": "ln.weight", "shape": [7], "scheme": "ones", "dtype": "bf16"},
    ],
}


def test_model_safetensors():
    with open(path("model.json"), "w") as f:
        json.dump(MODEL, f)
    proc = run("model", path("model.json"), "--seed", SEED, "--out", path("model.safetensors"),
               "--progress")
    check("100%" in proc.stderr and "done in" in proc.stderr,
          f"--progress printed no final line: {proc.stderr!r}")
    tensors = read_safetensors(path("model.safetensors"))
    check(sorted(tensors) == sorted(t["name"] for t in MODEL["tensors"]),
          f"model names {sorted(tensors)}")
    for t in MODEL["tensors"]:
        name = t["name"]
        st_dtype, arr = tensors[name]
        dtype = t.get("dtype", "f32")
        check(st_dtype == dtype.upper(), f"{name}: dtype {st_dtype}")
        check(list(arr.shape) == t["shape"], f"{name}: shape {arr.shape}")
        scheme = t["scheme"]
        if "fans_from" in t:  # the weight's fan_in = 16 * 3 * 3
            scheme = "torch_default_bias(fan_in=144)"
        stream = ["--stream", str(t["stream"])] if "stream" in t else ["--name", name]
        common = ["--shape", ",".join(map(str, t["shape"])), "--scheme", scheme,
                  "--seed", SEED, *stream]
        ref = path(f"model_{name}.npy")
        if dtype == "bf16":
            run("fill", *common, "--dtype", "f32", "--out", ref)
            check(np.array_equal(arr, bf16_round(np.load(ref))), f"{name}: bf16 values")
        else:
            run("fill", *common, "--dtype", dtype, "--out", ref)
            check(arr.tobytes() == np.load(ref).tobytes(), f"{name}: values differ from fill")
    desc = json.loads(run("describe", "--spec", path("model.json")).stdout)
    check([d["name"] for d in desc] == [t["name"] for t in MODEL["tensors"]], "describe --spec")
    check(desc[2]["fan_in"] == 144 and desc[2]["distribution"]["kind"] == "uniform",
          f"describe --spec bias: {desc[2]}")


def check_no_temporary_files():
    leftovers = [f for f in os.listdir(WORK) if ".tmp." in f]
    check(not leftovers, f"temporary files left: {leftovers}")


def main():
    return run_tests(WORK, (test_npy_against_scalar_single_thread, test_kaiming_std,
                            test_npy_rank_64, test_fill_safetensors, test_model_safetensors,
                            test_fp8_safetensors, test_describe),
                     final_check=check_no_temporary_files)


if __name__ == "__main__":
    sys.exit(main())
