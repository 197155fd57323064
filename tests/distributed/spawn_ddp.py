"""Run by tests/test_multiprocessing_ddp.py: DDP and ZeroRedundancyOptimizer on 2 ranks started by mp.spawn
(not by an MPI launcher), checked against single-process training in the parent.

Usage: spawn_ddp.py METHOD OUTDIR, METHOD one of env, tcp, file. Rank 0 writes its results to OUTDIR; the
parent then trains the same model on the concatenated batches and compares.
"""
import os
import sys

import dynagrad as torch
import dynagrad.distributed as dist
import dynagrad.multiprocessing as mp
import dynagrad.nn as nn
from dynagrad.distributed.optim import ZeroRedundancyOptimizer
from dynagrad.nn.parallel import DistributedDataParallel as DDP

STEPS, ACCUM, BATCH = 3, 2, 8


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3), nn.Linear(3, 2))


def batches():
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(2 * BATCH, 6, generator=g), torch.randn(2 * BATCH, 2, generator=g))
            for _ in range(STEPS * ACCUM)]


def train_ddp(rank, world):
    m = model()
    ddp = DDP(m)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    data = batches()
    for step in range(STEPS):
        for micro in range(ACCUM):  # nanoGPT's gradient accumulation: sync only on the last micro-step
            x, y = data[step * ACCUM + micro]
            x, y = x[rank * BATCH:(rank + 1) * BATCH], y[rank * BATCH:(rank + 1) * BATCH]
            ddp.require_backward_grad_sync = micro == ACCUM - 1
            loss = nn.functional.mse_loss(ddp(x), y) / ACCUM
            loss.backward()
        opt.step()
        opt.zero_grad()
    return m


def train_zero(rank, optimizer_class, bucket_view, **kw):
    m = model()
    ddp = DDP(m)
    opt = ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=optimizer_class,
                                  parameters_as_bucket_view=bucket_view, **kw)
    data = batches()
    for step in range(STEPS):
        x, y = data[step]
        x, y = x[rank * BATCH:(rank + 1) * BATCH], y[rank * BATCH:(rank + 1) * BATCH]
        opt.zero_grad()
        with ddp.no_sync():  # local gradients first, then one synced backward that averages both
            nn.functional.mse_loss(ddp(x[:4]), y[:4]).backward()
        nn.functional.mse_loss(ddp(x[4:]), y[4:]).backward()
        opt.step()
    opt.consolidate_state_dict(to=0)
    owned = sum(p.numel() for g in opt.optim.param_groups for p in g["params"])
    return m, (opt.state_dict() if rank == 0 else None), owned


def worker(rank, world, method, outdir):
    if method == "env":
        dist.init_process_group("gloo", rank=rank, world_size=world)
    else:
        dist.init_process_group("gloo", init_method=method, rank=rank, world_size=world)
    assert dist.is_initialized() and dist.get_rank() == rank and dist.get_world_size() == world
    assert dist.get_backend() == "gloo"
    t = torch.tensor([float(rank), 2.0 * rank])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [0.5, 1.0], t
    results = {"ddp": train_ddp(rank, world).state_dict()}
    owned = []
    for name, cls, bucket, kw in (("zero_adam", torch.optim.Adam, False, {"lr": 0.01}),
                                  ("zero_sgd_bucket", torch.optim.SGD, True, {"lr": 0.05, "momentum": 0.9})):
        m, sd, n = train_zero(rank, cls, bucket, **kw)
        results[name] = m.state_dict()
        results[name + "_opt"] = sd
        owned.append(n)
    counts = [None, None]
    dist.all_gather_object(counts, owned)
    if rank == 0:
        results["owned"] = counts
        torch.save(results, os.path.join(outdir, "rank0.pt"))
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()


def reference():
    out = {}
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    data = batches()
    for step in range(STEPS):
        for micro in range(ACCUM):
            x, y = data[step * ACCUM + micro]
            (nn.functional.mse_loss(m(x), y) / ACCUM).backward()
        opt.step()
        opt.zero_grad()
    out["ddp"] = m.state_dict()
    for name, cls, kw in (("zero_adam", torch.optim.Adam, {"lr": 0.01}),
                          ("zero_sgd_bucket", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9})):
        m = model()
        opt = cls(m.parameters(), **kw)
        for step in range(STEPS):
            x, y = data[step]
            opt.zero_grad()
            # both ranks' halves, each split 4 + 4 as in the DDP run: the mean of the four losses' gradients
            parts = [(x[a:b], y[a:b]) for a, b in ((0, 4), (4, 8), (8, 12), (12, 16))]
            (sum(nn.functional.mse_loss(m(u), v) for u, v in parts) / 2).backward()
            opt.step()
        out[name] = m.state_dict()
        out[name + "_opt"] = opt.state_dict()
    return out


def close(a, b, what):
    import numpy as np
    if isinstance(a, dict):
        assert a.keys() == b.keys(), (what, a.keys(), b.keys())
        for k in a:
            close(a[k], b[k], f"{what}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), what
        for i, (u, v) in enumerate(zip(a, b)):
            close(u, v, f"{what}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert np.allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6), (what, a, b)
    else:
        assert a == b, (what, a, b)


if __name__ == "__main__":
    method, outdir = sys.argv[1], sys.argv[2]
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = sys.argv[3] if len(sys.argv) > 3 else "29531"
    if method == "tcp":
        method = f"tcp://127.0.0.1:{os.environ['MASTER_PORT']}"
    elif method == "file":
        method = "file://" + os.path.join(outdir, "rendezvous")
    mp.spawn(worker, args=(2, method, outdir), nprocs=2)
    got = torch.load(os.path.join(outdir, "rank0.pt"), weights_only=False)
    want = reference()
    for k in want:
        close(got[k], want[k], k)
        print("ok:", k, "equals single-process training")
    total = sum(p.numel() for p in model().parameters())
    for which in (0, 1):  # each rank owns a part of the parameters, and together all of them
        parts = [got["owned"][r][which] for r in (0, 1)]
        assert sum(parts) == total and all(n > 0 for n in parts), got["owned"]
    print("ok: ZeroRedundancyOptimizer shards the state", got["owned"])
    assert not os.path.exists(os.path.join(outdir, "rendezvous")), "file:// rendezvous file left behind"
    print("spawn ddp OK")
