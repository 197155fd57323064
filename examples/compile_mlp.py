"""dynagrad.compile on the seed MLP: the whole training step (forward, loss, backward, optimizer update)
captured once as a graph, run as generated NumPy, and exported to ONNX at the end.

    python examples/compile_mlp.py            # trains on the bundled 8x8 digits
    DYNAGRAD_LOG=1 python examples/compile_mlp.py   # also shows the compiler's log (traces, guards)
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F

if os.environ.get("DYNAGRAD_LOG"):
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")


class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(-1, 64)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def digits():
    from dynagrad.vision.datasets import load_digits
    images, labels = load_digits()
    x = images.reshape(len(images), -1).astype(np.float32)
    x /= x.max()
    y = labels.astype(np.int64)
    return (x[:1500], y[:1500]), (x[1500:], y[1500:])


def main():
    torch.manual_seed(0)
    (xtr, ytr), (xte, yte) = digits()
    model = MyModel()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)

    @torch.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    t0 = time.perf_counter()
    for epoch in range(30):
        perm = np.random.default_rng(epoch).permutation(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            loss = train_step(torch.from_numpy(xtr[idx]), torch.from_numpy(ytr[idx]))
        if epoch % 10 == 0:
            print(f"epoch {epoch}: loss {loss:.4f}")
    print(f"trained in {time.perf_counter() - t0:.2f} s; {len(train_step.programs)} compiled program(s) "
          f"(the last batch is smaller: its size made the batch dimension symbolic)")
    model.eval()
    predict = torch.compile(model)
    with torch.no_grad():
        acc = (predict(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
    print(f"test accuracy {acc:.3f}")
    print("the training step's program:\n" + train_step.code[:1200] + "...")
    try:
        torch.onnx.export(model, (torch.from_numpy(xte[:1]),), "mlp.onnx", input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})
        print("exported mlp.onnx")
    except ImportError:
        print("pip install onnx to export")


if __name__ == "__main__":
    main()
