"""The seed's small ResNet-style network: a 7x7 stem, BatchNorm, in-place ReLU, max pooling, three stages
of 3x3 convolutions, a 7x7 average pool and a linear head, on 112x112 inputs.

    python examples/resnet.py [--steps 5] [--batch 4]

Trains a few steps with SGD + momentum on random data, then evaluates (BatchNorm's running statistics).
"""

import argparse
import time

import dynagrad as torch
import dynagrad.nn as nn


class ResNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._stage(64, 64, stride=1)
        self.layer2 = self._stage(64, 128, stride=2)
        self.layer3 = self._stage(128, 256, stride=2)
        self.avgpool = nn.AvgPool2d(7, stride=1)
        self.fc = nn.Linear(256, num_classes)

    @staticmethod
    def _stage(cin, cout, stride):
        return nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 112, 112)
    y = torch.randint(0, 10, (args.batch,))
    model = ResNet(10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for step in range(args.steps):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"step {step}  loss {loss.item():.4f}")
    print(f"{(time.perf_counter() - start) / args.steps * 1e3:.0f} ms per step")
    model.eval()
    with torch.no_grad():
        print("eval predictions:", model(x).argmax(1).tolist(), "labels:", y.tolist())


if __name__ == "__main__":
    main()
