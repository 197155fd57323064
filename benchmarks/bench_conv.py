"""Training steps of the seed ConvNet (batch 32, 1x28x28) and the seed ResNet (batch 4, 3x112x112): forward,
cross-entropy, backward, SGD step; the same model code on dynagrad and PyTorch, from the same weights."""
from __future__ import annotations

import numpy as np

import dynagrad


def convnet(lib, in_channels=1, size=28, num_classes=10):
    """The seed's ConvNet (two 3x3 convolutions and a linear head), here on MNIST-sized inputs."""
    nn = lib.nn

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1)
            self.conv2 = nn.Conv2d(16, 32, 3, 1, 1)
            self.fc = nn.Linear(32 * size * size, num_classes)

        def forward(self, x):
            x = lib.relu(self.conv1(x))
            x = lib.relu(self.conv2(x))
            return self.fc(x.view(x.size(0), -1))
    return ConvNet()


def resnet(lib, num_classes=10):
    """The seed's small ResNet-style network (BatchNorm, in-place ReLU, max and average pooling)."""
    nn = lib.nn

    def block(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(True))
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
                         nn.MaxPool2d(3, 2, 1), block(64, 64, 1), block(64, 128, 2), block(128, 256, 2),
                         nn.AvgPool2d(7, stride=1), nn.Flatten(), nn.Linear(256, num_classes))


def _same_weights(models, libs, seed):
    """Give every model the same parameters, drawn from NumPy (the conformance programs' scheme)."""
    rng = np.random.default_rng(seed)
    for group in zip(*[list(m.parameters()) for m in models]):
        fan_in = int(np.prod(group[0].shape[1:])) if group[0].dim() > 1 else int(group[0].shape[0])
        bound = 1.0 / np.sqrt(max(fan_in, 1))
        values = rng.uniform(-bound, bound, size=tuple(group[0].shape)).astype(np.float32)
        for p, lib in zip(group, libs):
            with lib.no_grad():
                p.copy_(lib.from_numpy(values.copy()))


def _step(lib, model, x, y, lr=0.01, momentum=0.0):
    opt = lib.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
    return step


def cases(torch) -> list[tuple[str, dict, int]]:
    libs = {"dynagrad": dynagrad}
    if torch is not None:
        libs["torch"] = torch
    rng = np.random.default_rng(0)
    out = []
    x_np = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    y_np = rng.integers(0, 10, size=32).astype(np.int64)
    models = {name: convnet(lib) for name, lib in libs.items()}
    _same_weights(list(models.values()), list(libs.values()), 1)
    fns = {name: _step(lib, models[name], lib.from_numpy(x_np.copy()), lib.from_numpy(y_np.copy()))
           for name, lib in libs.items()}
    out.append(("seed ConvNet step, batch 32 1x28x28", fns, 20))

    x_np = rng.standard_normal((4, 3, 112, 112)).astype(np.float32)
    y_np = rng.integers(0, 10, size=4).astype(np.int64)
    models = {name: resnet(lib) for name, lib in libs.items()}
    _same_weights(list(models.values()), list(libs.values()), 2)
    fns = {name: _step(lib, models[name], lib.from_numpy(x_np.copy()), lib.from_numpy(y_np.copy()), 0.05, 0.9)
           for name, lib in libs.items()}
    out.append(("seed ResNet step, batch 4 3x112x112", fns, 3))
    return out
