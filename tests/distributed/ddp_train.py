"""Run by tests/test_distributed.py on 2 ranks: DistributedDataParallel against single-process training."""
import copy

import numpy as np

import dynagrad as torch
import dynagrad.distributed as dist
from dynagrad import nn
from dynagrad.nn.parallel import DistributedDataParallel as DDP
from dynagrad.utils.data import DataLoader, DistributedSampler, TensorDataset

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
assert n == 2
loss_fn = nn.CrossEntropyLoss()


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5))


def gathered(t):
    out = [torch.zeros_like(t) for _ in range(n)]
    dist.all_gather(out, t.detach())
    return [o.numpy() for o in out]


def same_on_all_ranks(module):
    for name, p in module.state_dict().items():
        a = gathered(p)
        assert all(np.array_equal(a[0], x) for x in a[1:]), f"{name} differs across ranks"


torch.manual_seed(123)  # the same data on every rank
X, Y = torch.randn(256, 20), torch.randint(0, 5, (256,))
ds = TensorDataset(X, Y)

# -- 2 ranks with batch B each == 1 process with batch 2B (SGD with momentum, same start, same data order) --
for kwargs in ({}, {"bucket_cap_mb": 0.0001, "gradient_as_bucket_view": True}):
    torch.manual_seed(r)  # different weights on each rank: DDP must broadcast rank 0's
    model = mlp()
    ddp = DDP(model, **kwargs)
    assert ddp.module is model
    assert list(ddp.state_dict())[0] == "module.0.weight"
    if kwargs:
        assert len(ddp._buckets) == 4, [b.params for b in ddp._buckets]
    ref = copy.deepcopy(model)  # rank 0's initial weights, now on every rank
    same_on_all_ranks(ddp)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    B = 8
    sampler = DistributedSampler(ds, shuffle=False)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for (x, y), (xr, yr) in zip(DataLoader(ds, batch_size=B, sampler=sampler),
                                    DataLoader(ds, batch_size=2 * B)):
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            opt.step()
            ref_opt.zero_grad()
            loss_fn(ref(xr), yr).backward()
            ref_opt.step()
    same_on_all_ranks(ddp)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=name)
    if kwargs:  # the gradients are views of the buckets
        for i, p in enumerate(ddp._params):
            b, k = ddp._where[i]
            assert p.grad._data is ddp._buckets[b].views[k]


# -- no_sync: gradients accumulate locally, then the next synced backward averages the sum --------------
def local_grads(module, batches):
    m = copy.deepcopy(module)
    m.zero_grad()
    for x, y in batches:
        loss_fn(m(x), y).backward()
    return [p.grad for p in m.parameters()]


torch.manual_seed(0)
model = mlp()
ddp = DDP(model)
b1 = (X[r * 16:(r + 1) * 16], Y[r * 16:(r + 1) * 16])
b2 = (X[64 + r * 16:64 + (r + 1) * 16], Y[64 + r * 16:64 + (r + 1) * 16])
expected = local_grads(model, [b1, b2])
for g in expected:
    dist.all_reduce(g, op=dist.ReduceOp.AVG)
with ddp.no_sync():
    loss_fn(ddp(b1[0]), b1[1]).backward()
first = model[0].weight.grad.clone()
assert not np.array_equal(*gathered(first)), "inside no_sync the gradients must stay local"
loss_fn(ddp(b2[0]), b2[1]).backward()
for p, e in zip(model.parameters(), expected):
    np.testing.assert_allclose(p.grad.numpy(), e.numpy(), rtol=1e-5, atol=1e-7)
# a second backward without a forward through DDP is not averaged again
model.zero_grad()
loss_fn(model(b1[0]), b1[1]).backward()
np.testing.assert_allclose(model[0].weight.grad.numpy(), local_grads(model, [b1])[0].numpy(), rtol=1e-6)


# -- find_unused_parameters: rank 0 skips a branch, rank 1 uses it; a third branch is never used ---------
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(4, 3)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


x = torch.randn(6, 4) + r
for cap in (None, 1e-5):  # one bucket; a bucket per parameter (started in the same order on every rank)
    torch.manual_seed(0)
    net = Branchy()
    ddp = DDP(net, find_unused_parameters=True, bucket_cap_mb=cap)
    mine = copy.deepcopy(net)
    (mine(x, r == 1) ** 2).mean().backward()
    for _ in range(2):  # twice: the state resets between iterations
        net.zero_grad()
        (ddp(x, use_b=r == 1) ** 2).mean().backward()
        for name in ("a.weight", "a.bias", "b.weight", "b.bias"):
            g = mine.get_parameter(name).grad
            g = g.clone() if g is not None else torch.zeros_like(mine.get_parameter(name))
            dist.all_reduce(g, op=dist.ReduceOp.AVG)
            np.testing.assert_allclose(net.get_parameter(name).grad.numpy(), g.numpy(), rtol=1e-5, atol=1e-7)
        assert net.c.weight.grad is None and net.c.bias.grad is None

# without the flag, a parameter that got no gradient is PyTorch's error at the next forward
ddp = DDP(Branchy())
(ddp(x, use_b=False) ** 2).mean().backward()
try:
    ddp(x, use_b=False)
    raise AssertionError("an unused parameter went unnoticed")
except RuntimeError as e:
    assert "Expected to have finished reduction in the prior iteration" in str(e), str(e)
    assert "b.weight" in str(e) and "find_unused_parameters=True" in str(e)

# -- buffers: BatchNorm statistics are broadcast from rank 0 before each forward ------------------------
torch.manual_seed(r)
bn_model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 2))
ddp = DDP(bn_model)
same_on_all_ranks(ddp)
ddp(torch.randn(8, 4) * (r + 1)).sum().backward()
assert not np.array_equal(*gathered(bn_model[1].running_var)), "each rank's statistics differ after training"
ddp.eval()
with torch.no_grad():
    ddp(torch.randn(8, 4))
same_on_all_ranks(ddp)
print(f"rank {r}: ddp OK", flush=True)
