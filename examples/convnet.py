"""The seed's ConvNet: two 3x3 convolutions and a linear head, trained for a few SGD steps.

    python examples/convnet.py [--steps 20] [--batch 32]

On random 3x32x32 images with random labels (the network memorises them, so the loss falls); swap in
a real dataset through `dynagrad.vision.datasets` or `ImageFolder`.
"""

import argparse
import time

import dynagrad as torch
import dynagrad.nn as nn


class ConvNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1, 1)
        self.fc = nn.Linear(32 * 32 * 32, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        x = torch.relu(x)
        x = self.conv2(x)
        x = torch.relu(x)
        x = x.view(-1, 32 * 32 * 32)
        x = self.fc(x)
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    model = ConvNet(10)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    start = time.perf_counter()
    for step in range(args.steps):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        if step % 5 == 0 or step == args.steps - 1:
            print(f"step {step:3d}  loss {loss.item():.4f}")
    print(f"{(time.perf_counter() - start) / args.steps * 1e3:.1f} ms per step")


if __name__ == "__main__":
    main()
