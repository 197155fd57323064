"""torchinfo.summary of a CNN, an RNN model and a Transformer-ish block: the printed tables."""
import torch
import torch.nn as nn
from torchinfo import summary


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(16, 10))

    def forward(self, x):
        return self.head(self.features(x))


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(64, 5)

    def forward(self, tokens):
        h, _ = self.lstm(self.emb(tokens))
        return self.out(h)


net = Net()
print(summary(net, input_size=(2, 1, 28, 28), verbose=0))
print(summary(net, input_size=(2, 1, 28, 28), depth=1, verbose=0,
              col_names=("input_size", "output_size", "num_params", "kernel_size", "mult_adds", "trainable")))
print(summary(Tagger(), input_data=torch.randint(0, 100, (3, 7)), verbose=0, row_settings=("var_names", "depth")))
block = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), num_layers=2,
                              enable_nested_tensor=False)
for p in block.layers[1].parameters():
    p.requires_grad_(False)
print(summary(block, input_size=(2, 5, 32), verbose=0, col_names=("output_size", "num_params", "trainable")))
stats = summary(nn.Linear(4, 3), input_size=(1, 4), verbose=0)
print(stats.total_params, stats.trainable_params, stats.total_mult_adds)
