"""torchsummary.summary (the older Keras-style table) of a small CNN, on the CPU."""
import torch.nn as nn
from torchsummary import summary

model = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 6 * 6, 10),
)
summary(model, (3, 16, 16), batch_size=4, device="cpu")
mlp = nn.Sequential(nn.Linear(784, 64), nn.Tanh(), nn.Dropout(0.2), nn.Linear(64, 10), nn.LogSoftmax(dim=1))
summary(mlp, (784,), device="cpu")
