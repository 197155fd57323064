"""The seed's MNIST MLP (784-128-64-10 with ReLU, SGD with momentum), on the bundled 8x8 digits (64 inputs).

    python examples/mlp_digits.py
For real MNIST, place the IDX files as torchvision lays them out and use dynagrad.vision.datasets.MNIST.
"""
import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F
from dynagrad.utils.data import DataLoader, TensorDataset
from dynagrad.vision.datasets import load_digits

torch.manual_seed(0)
images, labels = load_digits()
x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 16.0)
y = torch.from_numpy(labels.astype(np.int64))
order = torch.randperm(len(x))
train, test = order[:1437], order[1437:]


class MLP(nn.Module):
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


model = MLP()
loader = DataLoader(TensorDataset(x[train], y[train]), batch_size=64, shuffle=True)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
criterion = nn.CrossEntropyLoss()
for _epoch in range(30):
    model.train()
    for data, target in loader:
        optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    predicted = model(x[test]).argmax(1)
accuracy = (predicted == y[test]).float().mean().item()
print(f"test accuracy on {len(test)} images: {accuracy:.2%}")
