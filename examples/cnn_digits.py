"""A small CNN on the 8x8 handwritten digits bundled with dynagrad (1,500 training, 297 test images).

    python examples/cnn_digits.py            # about half a minute; prints the test accuracy (>= 97%)

Written against the PyTorch API: `import dynagrad as torch` is the only change from a PyTorch script.
"""

import argparse
import time

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F
from dynagrad.utils.data import DataLoader
from dynagrad.vision import datasets, transforms


class DigitsCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout2d(0.1)
        self.fc1 = nn.Linear(64 * 4 * 4, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.dropout(x)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += y.numel()
    return correct / total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    # light augmentation: random shifts of up to one pixel
    train_tf = transforms.Compose([transforms.ToTensor(), transforms.RandomCrop(8, padding=1)])
    train_set = datasets.Digits(train=True, transform=train_tf)
    test_set = datasets.Digits(train=False)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    criterion = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * y.numel()
        scheduler.step()
        print(
            f"epoch {epoch + 1:2d}  loss {total / len(train_set):.4f}  "
            f"test accuracy {evaluate(model, test_loader):.4f}  ({time.perf_counter() - start:.1f}s)"
        )
    acc = evaluate(model, test_loader)
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
