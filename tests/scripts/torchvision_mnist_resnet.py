"""A torchvision training script written as its users write them: MNIST (IDX files under argv[1]) with a
RandomRotation / RandomCrop(padding) / Resize / Grayscale(3) / Normalize pipeline, a DataLoader with 2
workers, and torchvision's ResNet-18 (new head) trained on the 32x32 images. tests/test_vision_script.py
runs it through `dynagrad run` and compares what it prints with the same script under torch + torchvision
(tests/golden/torchvision_script.json).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision import datasets, transforms


def main():
    root = sys.argv[1]
    torch.manual_seed(0)
    train_tf = transforms.Compose([
        transforms.RandomRotation(10),
        transforms.RandomCrop(28, padding=2),
        transforms.Resize(32),
        transforms.Grayscale(num_output_channels=3),
        transforms.ToTensor(),
        transforms.Normalize((0.1307,) * 3, (0.3081,) * 3),
    ])
    test_tf = transforms.Compose([transforms.Resize(32), transforms.Grayscale(3), transforms.ToTensor(),
                                  transforms.Normalize((0.1307,) * 3, (0.3081,) * 3)])
    train = datasets.MNIST(root, train=True, download=True, transform=train_tf)
    test = datasets.MNIST(root, train=False, transform=test_tf)
    print(f"train {len(train)} test {len(test)} classes {train.classes[:2]}")
    loader = torch.utils.data.DataLoader(train, batch_size=16, shuffle=True, num_workers=2)

    model = torchvision.models.resnet18(num_classes=10)
    model.fc = nn.Linear(model.fc.in_features, 10)  # a fresh head, as fine-tuning scripts do
    print(f"params {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    model.train()
    for step, (x, y) in enumerate(loader):
        print(f"batch {step} shape {tuple(x.shape)} sum {x.sum().item():.3f} labels {y.tolist()}")
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        print(f"step {step} loss {loss.item():.4f}")
        if step == 2:
            break

    model.eval()
    with torch.no_grad():
        x, y = next(iter(torch.utils.data.DataLoader(test, batch_size=16)))
        out = model(x)
        acc = (out.argmax(1) == y).float().mean().item()
        print(f"eval loss {F.cross_entropy(out, y).item():.4f} acc {acc:.4f}")


if __name__ == "__main__":
    main()
