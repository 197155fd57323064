"""Gradient accumulation over micro-batches, with mixed precision and activation checkpointing.

A batch of 256 that does not fit in memory is processed as 4 micro-batches of 64: each micro-batch's loss
is divided by 4 and backpropagated, gradients add up in .grad, and the optimizer steps once. The first part
checks that this gives the big batch's update; the second trains with bfloat16 autocast and checkpointed
blocks, the usual memory-saving combination.

    python examples/grad_accumulation.py
"""
import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
from dynagrad.utils.checkpoint import checkpoint
from dynagrad.vision.datasets import load_digits

torch.manual_seed(0)
images, labels = load_digits()
x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 16.0)
y = torch.from_numpy(labels.astype(np.int64))
order = torch.randperm(len(x))
train, test = order[:1536], order[1536:]


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


# 1. accumulation gives the same update as the full batch
big, small = make_model(), make_model()
loss_fn = nn.CrossEntropyLoss()
xb, yb = x[train[:256]], y[train[:256]]
loss_fn(big(xb), yb).backward()
for i in range(4):
    part = slice(64 * i, 64 * (i + 1))
    (loss_fn(small(xb[part]), yb[part]) / 4).backward()
diff = max((a.grad - b.grad).abs().max().item() for a, b in zip(big.parameters(), small.parameters()))
print(f"largest difference between full-batch and accumulated gradients: {diff:.2e}")
assert diff < 1e-6

# 2. training: 4 micro-batches per step, bfloat16 autocast, the hidden block checkpointed
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
accumulate = 4
for epoch in range(10):
    perm = train[torch.randperm(len(train))]
    for step in range(0, len(perm), 256):
        opt.zero_grad()
        for i in range(accumulate):
            idx = perm[step + 64 * i: step + 64 * (i + 1)]
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                h = model[1](model[0](x[idx]))
                h = checkpoint(lambda t: model[3](model[2](t)), h, use_reentrant=False)
                out = model[4](h)
                loss = loss_fn(out.float(), y[idx]) / accumulate
            loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(x[test]).argmax(1) == y[test]).float().mean().item()
    print(f"epoch {epoch + 1:2d}: test accuracy {acc:.2%}")
print(f"final test accuracy with accumulation, bfloat16 autocast and checkpointing: {acc:.2%}")
