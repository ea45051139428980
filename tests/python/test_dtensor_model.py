"""init_model on DTensor parameters, drawn through aliases and views of the parameter and with
embedding padding rows: full_tensor() equals the one-process init bit for bit (gloo on CPU,
mp.spawn; one launch runs every check)."""

from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available():
    pytest.skip("torch.distributed is not available", allow_module_level=True)
import torch.multiprocessing as mp  # noqa: E402
from fanfill.torch import InitReport, init_model  # noqa: E402
from torch import nn  # noqa: E402

try:
    import transformers
except ImportError:  # the Hugging Face check is left out
    transformers = None

SEED = 9
WORLD = 2

# how -> (global shape, dtype, sharded dim)
HOWS = {
    "param": ((7, 8), torch.float32, 0),
    "data": ((7, 8), torch.float32, 0),
    "detach": ((7, 8), torch.float32, 0),
    "init_data": ((7, 8), torch.float32, 0),
    "to_local": ((7, 8), torch.float32, 0),
    "to_local_orthogonal": ((7, 8), torch.float32, 0),
    "to_local_rows": ((7, 8), torch.float32, 0),
    "to_local_columns": ((6, 9), torch.float32, 1),
    "to_local_complex_rows": ((5, 6), torch.complex64, 0),
}


def _local(t: torch.Tensor) -> torch.Tensor:
    """The local shard of a DTensor; the tensor itself in one process."""
    return t.to_local() if hasattr(t, "to_local") else t


class _Custom(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        shape, dtype, _ = HOWS[how]
        self.w = nn.Parameter(torch.zeros(shape, dtype=dtype))

    def reset_parameters(self) -> None:
        h, w = self.how, self.w
        if h == "param":
            w.normal_(0.0, 1.0)
        elif h == "data":
            w.data.normal_(0.0, 1.0)
        elif h == "detach":
            w.detach().uniform_(-1.0, 1.0)
        elif h == "init_data":
            nn.init.normal_(w.data, 0.0, 0.5)
        elif h == "to_local":
            _local(w).normal_(0.0, 1.0)
        elif h == "to_local_orthogonal":
            nn.init.orthogonal_(_local(w))
        elif h in ("to_local_rows", "to_local_complex_rows"):
            loc = _local(w)
            loc[:1].normal_(0.0, 1.0)
            loc[1:].normal_(0.0, 1.0)
        elif h == "to_local_columns":
            loc = _local(w)
            loc[:, :1].uniform_(-1.0, 1.0)
            loc[:, 1:].uniform_(-1.0, 1.0)


class _DrawsEveryRow(nn.Embedding):
    """padding_idx only as the gradient mask: its own init draws the padding row too."""

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, 0.0, 1.0)


def _embeddings() -> nn.Module:
    m = nn.Module()
    m.every_row = _DrawsEveryRow(6, 4, padding_idx=1)
    m.torch_emb = nn.Embedding(6, 4, padding_idx=4)  # its reset_parameters zeroes row 4
    return m


def _llama() -> nn.Module:
    cfg = transformers.LlamaConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=16,
        pad_token_id=3, tie_word_embeddings=False)
    return transformers.LlamaForCausalLM(cfg)


def _models() -> dict[str, Callable[[], nn.Module]]:
    out: dict[str, Callable[[], nn.Module]] = {
        f"custom:{h}": (lambda h=h: _Custom(h)) for h in HOWS}
    out["embeddings"] = _embeddings
    if transformers is not None:
        out["llama"] = _llama
    return out


def _result(m: nn.Module, rep: InitReport,
            full: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, Any]:
    return {"params": {n: full(p).detach().clone() for n, p in m.named_parameters()},
            "filled": dict(rep.filled), "unnamed": list(rep.unnamed)}


def _reference() -> dict[str, dict[str, Any]]:
    out = {}
    for key, make in _models().items():
        m = make()
        rep = init_model(m, SEED)
        out[key] = _result(m, rep, lambda p: p)
    return out


def _worker(rank: int, world: int, store: str, path: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor import DTensor, Replicate, Shard

        mesh = init_device_mesh("cpu", (world,))

        def shard(p: torch.Tensor, dim: int | None) -> nn.Parameter:
            # from_local: no collective (and complex shards need none of gloo's kernels).
            if dim is None:
                return nn.Parameter(DTensor.from_local(p.detach().clone(), mesh, [Replicate()],
                                                       run_check=False),
                                    requires_grad=p.requires_grad)
            local = p.detach().chunk(world, dim)[rank].clone()
            dt = DTensor.from_local(local, mesh, [Shard(dim)], run_check=False,
                                    shape=p.shape, stride=p.stride())
            return nn.Parameter(dt, requires_grad=p.requires_grad)

        out = {}
        for key, make in _models().items():
            m = make()
            for mod in m.modules():
                for pname, p in list(mod.named_parameters(recurse=False)):
                    dim = HOWS[mod.how][2] if isinstance(mod, _Custom) else (
                        0 if p.dim() == 2 else None)
                    setattr(mod, pname, shard(p, dim))
            rep = init_model(m, SEED)
            out[key] = _result(m, rep, lambda p: p.full_tensor())
        if rank == 0:
            torch.save(out, path)
        dist.barrier()  # no rank tears gloo down while another still talks to it
    finally:
        dist.destroy_process_group()


def test_dtensor_aliases_views_and_padding_rows_equal_one_process(tmp_path: Any) -> None:
    path = str(tmp_path / "out.pt")
    store = str(tmp_path / "store")  # must not exist yet: FileStore creates it
    mp.spawn(_worker, args=(WORLD, store, path), nprocs=WORLD, join=True)
    got = torch.load(path)
    ref = _reference()
    assert set(got) == set(ref)
    for key in ref:
        r, g = ref[key], got[key]
        assert not g["unnamed"], (key, g["unnamed"])
        assert g["filled"] == r["filled"], key
        for n, v in r["params"].items():
            assert torch.equal(g["params"][n], v), f"{key}: {n}"
    # The shards are not copies of one another (each rank at its global offsets).
    w = got["custom:to_local"]["params"]["w"]
    assert not torch.equal(w[:3], w[4:7])
    # An embedding whose own init draws its padding row keeps the drawn row.
    emb = got["embeddings"]["params"]
    assert emb["every_row.weight"][1].abs().sum() > 0
    assert torch.equal(emb["torch_emb.weight"][4], torch.zeros(4))
    if transformers is not None:
        assert torch.equal(got["llama"]["params"]["model.embed_tokens.weight"][3], torch.zeros(16))
