"""Run by tests/test_compile_api.py on 2 ranks: torch.compile of a DistributedDataParallel model trains as the
eager DDP model does (the gradients still averaged by DDP's hooks around the compiled forward)."""
import numpy as np

import dynagrad as torch
import dynagrad.distributed as dist
from dynagrad import nn
from dynagrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
r = dist.get_rank()


def run(compiled):
    torch.manual_seed(r)  # different weights per rank: DDP broadcasts rank 0's
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    ddp = DDP(model)
    net = torch.compile(ddp) if compiled else ddp
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(10 + r)  # each rank its own batches
    losses = []
    for _ in range(5):
        x = torch.from_numpy(rng.standard_normal((6, 8)).astype(np.float32))
        y = torch.from_numpy(rng.integers(0, 3, 6))
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()], net


eager_losses, eager_weights, _ = run(False)
losses, weights, net = run(True)
np.testing.assert_allclose(losses, eager_losses, rtol=1e-6)
for a, b in zip(weights, eager_weights):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
assert list(net.state_dict())[0] == "_orig_mod.module.0.weight", list(net.state_dict())[:2]
assert len(net._compiled.programs) == 1, net._compiled.events
print(f"rank {r}: compiled ddp OK")
