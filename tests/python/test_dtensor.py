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
