"""DTensor parameters: each rank fills its local shard at its global offsets, so that
full_tensor() equals the one-process init bit for bit (gloo on CPU, mp.spawn)."""

import math

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available():
    pytest.skip("torch.distributed is not available", allow_module_level=True)
import fanfill  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from fanfill.torch import init_model, nn_init  # noqa: E402
from torch import nn  # noqa: E402

SEED = 1234


def _model() -> nn.Module:
    m = nn.Module()
    m.fc = nn.Linear(10, 7)  # 7 rows: uneven for 2 and 4 shards
    m.proj = nn.Linear(5, 10)  # sharded on columns
    m.emb = nn.Embedding(9, 5, padding_idx=8)  # 4 shards of 9 rows: 3, 3, 3, 0 (the last empty)
    m.norm = nn.LayerNorm(5)
    return m


def _placements(world: int, dims: int) -> dict[str, list]:
    from torch.distributed.tensor import Replicate, Shard

    if dims == 2:
        return {"fc.weight": [Shard(0), Shard(1)], "fc.bias": [Shard(0), Replicate()],
                "proj.weight": [Shard(1), Shard(0)], "proj.bias": [Replicate(), Replicate()],
                "emb.weight": [Shard(0), Replicate()], "norm.weight": [Replicate(), Shard(0)],
                "norm.bias": [Replicate(), Replicate()]}
    return {"fc.weight": [Shard(0)], "fc.bias": [Shard(0)], "proj.weight": [Shard(1)],
            "proj.bias": [Replicate()], "emb.weight": [Shard(0)], "norm.weight": [Replicate()],
            "norm.bias": [Shard(0)]}


def _reference() -> dict[str, torch.Tensor]:
    m = _model()
    init_model(m, SEED)
    out = {k: v.detach().clone() for k, v in m.named_parameters()}
    r = _model()
    init_model(r, SEED, rules="torch")
    out.update({f"rules:{k}": v.detach().clone() for k, v in r.named_parameters()})
    torch.manual_seed(7)
    out["kaiming"] = nn_init.kaiming_normal_(torch.empty(11, 6), mode="fan_out")
    out["init_"] = fanfill.init_(torch.empty(13, 4), "trunc_normal(std=0.1)", seed=3, name="x")
    out["orthogonal"] = fanfill.init_(torch.empty(6, 5), "orthogonal", seed=3, name="q")
    return out


def _worker(rank: int, world: int, store: str, dims: int, path: str) -> None:
    torch.set_num_threads(1)
    # A FileStore rendezvous (as PyTorch's own gloo tests use): no TCP port
    # picked here and bound later (another process can take it in between),
    # and no store server thread that only rank 0 would own and tear down.
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor import Shard, distribute_tensor

        shape = (world,) if dims == 1 else (2, world // 2)
        mesh = init_device_mesh("cpu", shape)
        place = _placements(world, dims)
        def distributed() -> nn.Module:
            m = _model()
            for mod_name, mod in m.named_children():
                for pname, p in list(mod.named_parameters(recurse=False)):
                    dt = distribute_tensor(p.detach(), mesh, place[f"{mod_name}.{pname}"])
                    setattr(mod, pname, nn.Parameter(dt))
            return m

        m = distributed()
        init_model(m, SEED)
        out = {k: v.full_tensor().detach().clone() for k, v in m.named_parameters()}
        r = distributed()
        init_model(r, SEED, rules="torch")
        out.update({f"rules:{k}": v.full_tensor().detach().clone()
                    for k, v in r.named_parameters()})
        torch.manual_seed(7)
        one = [Shard(0)] * len(shape)
        k = distribute_tensor(torch.empty(11, 6), mesh, one)
        out["kaiming"] = nn_init.kaiming_normal_(k, mode="fan_out").full_tensor()
        x = distribute_tensor(torch.empty(13, 4), mesh, one)
        out["init_"] = fanfill.init_(x, "trunc_normal(std=0.1)", seed=3, name="x").full_tensor()
        q = distribute_tensor(torch.empty(6, 5), mesh, [Shard(1)] * len(shape))
        out["orthogonal"] = fanfill.init_(q, "orthogonal", seed=3, name="q").full_tensor()
        if rank == 0:
            torch.save(out, path)
        dist.barrier()  # no rank tears gloo down while another still talks to it
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("world,dims", [(1, 1), (2, 1), (4, 1), (4, 2)])
def test_sharded_init_equals_one_process(world, dims, tmp_path):
    path = str(tmp_path / "out.pt")
    store = str(tmp_path / "store")  # must not exist yet: FileStore creates it
    mp.spawn(_worker, args=(world, store, dims, path), nprocs=world, join=True)
    got = torch.load(path)
    ref = _reference()
    assert set(got) == set(ref)
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
    assert torch.equal(got["emb.weight"][8], torch.zeros(5))  # padding row, on the empty shard's
    assert math.isfinite(float(got["fc.weight"].std()))


def _core_cases() -> list[tuple[str, object, object]]:
    """(name, make(mesh or None), call(out)) for the core functions on a DTensor and the
    same tensor as a plain one: make(None) gives the plain tensor."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.placement_types import _StridedShard

    def dt(shape, dtype=torch.float32, place=None, grad=False):
        def make(mesh):
            t = torch.zeros(shape, dtype=dtype)
            if mesh is not None:
                t = _from_local(t, mesh, place or [Shard(0)])
            return nn.Parameter(t) if grad else t
        return make

    f8 = torch.float8_e4m3fn
    return [
        # The core checks: refused as for a plain tensor, with the same message.
        ("int64", dt(8, torch.int64), lambda o: fanfill.fill_normal(o, 0.0, 3.0, seed=1)),
        ("complex64", dt(8, torch.complex64), lambda o: fanfill.fill_normal(o, seed=1)),
        ("complex64 init_", dt((4, 4), torch.complex64),
         lambda o: fanfill.init_(o, "ones", seed=1)),
        ("requires grad", dt(8, grad=True), lambda o: fanfill.fill_normal(o, seed=1)),
        ("requires grad init_", dt((4, 4), grad=True),
         lambda o: fanfill.init_(o, "kaiming_normal", seed=1)),
        ("fp8 overflow", dt(64, f8), lambda o: fanfill.fill_normal(o, 0.0, 1000.0, seed=1)),
        ("fp8 underflow", dt(64, f8), lambda o: fanfill.init_(o, "normal(std=0.004)", seed=1)),
        ("fp8 orthogonal overflow", dt((6, 5), f8, [Shard(1)]),
         lambda o: fanfill.init_(o, "orthogonal(gain=1000)", seed=1)),
        # Values: full_tensor() equals the plain fill, byte for byte.
        ("fp8 uniform", dt(4097, f8),
         lambda o: fanfill.fill_uniform(o, -2.0, 3.0, seed=5, name="w")),
        ("fp8 normal scaled", dt((7, 64), f8),
         lambda o: fanfill.fill_normal(o, 0.0, 0.004, seed=5, name="w", scale=2**-6)),
        ("fp8 kaiming", dt((7, 64), f8), lambda o: fanfill.init_(o, "kaiming_normal", seed=2)),
        ("fp8 orthogonal", dt((6, 5), f8, [Shard(1)]),
         lambda o: fanfill.init_(o, "orthogonal", seed=2, name="q")),
        ("bf16 ones", dt((5, 3), torch.bfloat16), lambda o: fanfill.init_(o, "ones", seed=2)),
        ("f32 io layout", dt((3, 4, 6), place=[Shard(2)]),
         lambda o: fanfill.init_(o, "kaiming_uniform", seed=2, layout="io")),
        ("f32 sparse", dt((6, 5)), lambda o: fanfill.init_(o, "sparse(sparsity=0.3)", seed=2)),
        ("f32 eye", dt((5, 6), place=[Shard(1)]), lambda o: fanfill.init_(o, "eye", seed=2)),
        ("f32 0-d", dt((), place=[Replicate()]), lambda o: fanfill.fill_normal(o, seed=2)),
        # One row on 2 ranks: rank 1's shard is empty.
        ("f32 empty shard", dt((1, 4)), lambda o: fanfill.init_(o, "kaiming_normal", seed=2)),
        ("f32 empty shard orthogonal", dt((1, 4)),
         lambda o: fanfill.init_(o, "orthogonal", seed=2)),
        ("f32 empty shard fill", dt((1, 4)), lambda o: fanfill.fill_uniform(o, seed=2)),
        ("f32 grad off", dt(9, grad=True), lambda o: _no_grad(fanfill.fill_normal, o, seed=4)),
        # A _StridedShard whose rows are one range per rank (split_factor 1) is filled.
        ("f32 strided shard, one range", dt((8, 3), place=[_StridedShard(0, split_factor=1)]),
         lambda o: fanfill.init_(o, "normal", seed=2, name="s")),
    ]


def _from_local(t: torch.Tensor, mesh, place, local=None):
    """A DTensor of t's shape and dtype whose local shard is `local` (default: zeros): gloo
    cannot scatter FP8 or complex tensors (distribute_tensor), so each rank makes its own."""
    from torch.distributed.tensor import DTensor
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    lshape, _ = compute_local_shape_and_global_offset(t.shape, mesh, place)
    if local is None:
        local = torch.zeros(lshape, dtype=t.dtype)
    return DTensor.from_local(local, mesh, place, run_check=False, shape=t.shape,
                              stride=t.stride())


def _full_bytes(d) -> torch.Tensor:
    """full_tensor() of a DTensor, as bytes (an FP8 one gathered through its uint8 view)."""
    if d.dtype.itemsize == 1:
        d = _from_local(torch.empty(d.shape, dtype=torch.uint8), d.device_mesh, d.placements,
                        d.to_local().detach().view(torch.uint8))
    full = d.full_tensor().detach()
    return full.view(torch.uint8) if full.dim() else full.reshape(1).view(torch.uint8)


def _no_grad(fill, out, **kw):
    with torch.no_grad():
        return fill(out, **kw)


def _outcome(make, call, mesh) -> object:
    """The filled tensor (full_tensor() of a DTensor, as bytes) or "Error: message"."""
    out = make(mesh)
    try:
        call(out)
    except (TypeError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    if mesh is not None:
        return _full_bytes(out)
    full = out.detach()
    return full.view(torch.uint8) if full.dim() else full.reshape(1).view(torch.uint8)


def _core_worker(rank: int, world: int, store: str, path: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh("cpu", (world,))
        out = {name: _outcome(make, call, mesh) for name, make, call in _core_cases()}
        # split_factor 2 gives rank 0 rows 0, 1, 4, 5 of 8: not one block, so refused
        # (each fill writes one block at the shard's global offset).
        from torch.distributed.tensor.placement_types import _StridedShard

        strided = _from_local(torch.zeros(8, 3), mesh, [_StridedShard(0, split_factor=2)])
        out["@strided"] = [_outcome(lambda _, t=strided: t, call, mesh) for call in (
            lambda o: fanfill.init_(o, "normal", seed=2),
            lambda o: fanfill.fill_uniform(o, seed=2),
            lambda o: nn_init.normal_(o),
        )]
        if rank == 0:
            torch.save(out, path)
        outside = _outside_mesh_outcomes(rank)
        if rank == 1:
            torch.save(outside, path + ".outside")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _outside_mesh_outcomes(rank: int) -> dict[str, str]:
    """On a mesh of rank 0 alone, what each call does on rank 1, which holds no shard
    (torch gives it an empty 1-d local tensor and no offset): "ok" with nothing written,
    or the error a member rank raises too."""
    from torch.distributed.device_mesh import DeviceMesh
    from torch.distributed.tensor import Shard

    sub = DeviceMesh("cpu", [0])  # every rank constructs it (group creation is collective)
    if rank != 1:
        return {}

    def dt(shape, dtype=torch.float32):
        return _from_local(torch.zeros(shape, dtype=dtype), sub, [Shard(0)])

    def model() -> nn.Module:
        m = nn.Module()
        m.fc, m.emb = nn.Linear(6, 4), nn.Embedding(5, 3, padding_idx=2)
        for mod in (m.fc, m.emb):
            for pname, p in list(mod.named_parameters(recurse=False)):
                setattr(mod, pname, nn.Parameter(_from_local(p.detach(), sub, [Shard(0)])))
        return m

    calls = {
        "fill_normal": lambda: fanfill.fill_normal(dt((6, 4)), seed=1),
        "init_ kaiming": lambda: fanfill.init_(dt((6, 4)), "kaiming_normal", seed=1),
        "init_ orthogonal": lambda: fanfill.init_(dt((6, 4)), "orthogonal", seed=1),
        "init_ typo": lambda: fanfill.init_(dt((6, 4)), "kaimin_normal", seed=1),
        "fp8 overflow": lambda: fanfill.fill_normal(dt(64, torch.float8_e4m3fn), 0.0, 1e3,
                                                    seed=1),
        "nn_init normal_": lambda: nn_init.normal_(dt((6, 4))),
        "nn_init orthogonal_": lambda: nn_init.orthogonal_(dt((6, 4))),
        "init_model": lambda: init_model(model(), SEED),
        "init_model rules": lambda: init_model(model(), SEED, rules="torch"),
        "init_model rules eye": lambda: init_model(
            model(), SEED, rules={nn.Linear: {"weight": "eye", "bias": "zeros"}}),
        "init_model rules typo": lambda: init_model(
            model(), SEED, rules={nn.Linear: {"weight": "kaimin_normal"}}),
    }
    out = {}
    for name, call in calls.items():
        try:
            call()
            out[name] = "ok"
        except (TypeError, ValueError) as e:
            out[name] = f"{type(e).__name__}: {e}"
    return out


def test_core_functions_check_dtensors_as_plain_tensors(tmp_path):
    """fill_*/init_ on a DTensor apply the checks of a plain tensor to its local shard
    (dtype, requires_grad, FP8 range) and write what the plain call writes (FP8 natively:
    uniform keeps [low, high)), on 2 ranks with uneven shards."""
    path = str(tmp_path / "out.pt")
    store = str(tmp_path / "store")
    mp.spawn(_core_worker, args=(2, store, path), nprocs=2, join=True)
    got = torch.load(path)
    for outcome in got.pop("@strided"):
        assert isinstance(outcome, str) and "ValueError" in outcome, outcome
        assert "give this rank the global indices [0, 1, 4, 5] of dim 0, not one range" in outcome
    for name, make, call in _core_cases():
        want = _outcome(make, call, None)
        if isinstance(want, str):
            assert got[name] == want, name
        else:
            assert isinstance(got[name], torch.Tensor), (name, got[name])
            assert torch.equal(got[name], want), name
    assert got["int64"].startswith("TypeError") and "int64" in got["int64"]
    assert "requires grad" in got["requires grad"]
    assert "f8e4m3 range" in got["fp8 overflow"] and "spread" in got["fp8 underflow"]
    u = torch.load(path)["fp8 uniform"].view(torch.float8_e4m3fn).float()
    assert float(u.min()) >= -2.0 and float(u.max()) < 3.0
    # A rank outside the DTensor's mesh: nothing to write, the same checks as a member's
    # (these raised "block rank mismatch" or a zip() error, or returned unchecked).
    outside = torch.load(path + ".outside")
    bad = {"init_ typo": "unknown scheme 'kaimin_normal'", "fp8 overflow": "f8e4m3 range",
           "init_model rules typo": "unknown scheme 'kaimin_normal'"}
    assert set(outside) == {*bad, "fill_normal", "init_ kaiming", "init_ orthogonal",
                            "nn_init normal_", "nn_init orthogonal_", "init_model",
                            "init_model rules", "init_model rules eye"}
    for name, outcome in outside.items():
        if name in bad:
            assert outcome.startswith("ValueError") and bad[name] in outcome, (name, outcome)
        else:
            assert outcome == "ok", (name, outcome)
