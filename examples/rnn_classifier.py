"""The seed RNN classifier: ``nn.RNN(batch_first=True)`` and a linear head on the last step's output.

    python examples/rnn_classifier.py        # a few seconds; prints the test accuracy (>= 90%)

Task: sequences of 12 steps of 4 numbers each; the label says whether all the numbers sum above zero, so
the network has to accumulate evidence over the whole sequence. A second model reads sequences of varying
length through ``pack_padded_sequence`` and an LSTM.

Written against the PyTorch API: ``import dynagrad as torch`` is the only change from a PyTorch script.
"""

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
from dynagrad.nn.utils.rnn import pack_padded_sequence


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden):
        output, hidden = self.rnn(input, hidden)
        output = self.fc(output[:, -1, :])
        return output, hidden


class PackedLSTM(nn.Module):
    """Variable-length input: the final hidden state of each sequence, wherever it ends."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.fc(h[-1])


def make_data(rng, n, steps=12, lengths=None):
    x = rng.standard_normal((n, steps, 4)).astype(np.float32)
    if lengths is not None:
        x[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0  # padding
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean().item()


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = make_data(rng, 4096)
    x_test, y_test = make_data(rng, 512)
    model = RNN(4, 32, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(12):
        for i in range(0, 4096, 64):
            hidden = torch.zeros(1, 64, 32)
            out, _ = model(x[i:i + 64], hidden)
            loss = criterion(out, y[i:i + 64])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 4 == 3:
            print(f"epoch {epoch + 1:3d}  loss {loss.item():.4f}")
    with torch.no_grad():
        acc = accuracy(model(x_test, torch.zeros(1, 512, 32))[0], y_test)
    print(f"RNN test accuracy: {acc:.3f}")

    lengths = rng.integers(3, 13, size=4096)
    x, y = make_data(rng, 4096, lengths=lengths)
    model = PackedLSTM(4, 32, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _epoch in range(6):
        for i in range(0, 3584, 64):
            loss = criterion(model(x[i:i + 64], lengths[i:i + 64].tolist()), y[i:i + 64])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        acc2 = accuracy(model(x[3584:], lengths[3584:].tolist()), y[3584:])
    print(f"packed LSTM (lengths 3-12) test accuracy: {acc2:.3f}")
    return acc, acc2


if __name__ == "__main__":
    main()
