"""The seed's DynamicSeq2Seq: a GRUCell encoder and decoder that learn to copy a sequence of tokens.

    python examples/seq2seq_gru.py           # under a minute; prints the free-running copy accuracy (>= 90%)

Every batch has its own sequence length (2 to 8), so every step builds a graph of a different size: the
point of a define-by-run framework. Training uses teacher forcing (the decoder is fed the previous target
token); inference runs free, feeding the decoder its own previous output.

Written against the PyTorch API: ``import dynagrad as torch`` is the only change from a PyTorch script.
"""

import time

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F


class DynamicSeq2Seq(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.encoder = nn.GRUCell(input_size, hidden_size)
        self.decoder = nn.GRUCell(output_size, hidden_size)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, input_seq, target_seq=None):
        batch_size, seq_length = input_seq.size(0), input_seq.size(1)
        h = torch.zeros(batch_size, self.hidden_size)
        for t in range(seq_length):
            h = self.encoder(input_seq[:, t], h)
        output = []
        if target_seq is not None:  # teacher forcing
            for t in range(seq_length):
                h = self.decoder(target_seq[:, t], h)
                output.append(self.fc(h))
        else:  # free running: feed back the model's own prediction
            prev = torch.zeros(batch_size, self.output_size)
            for _ in range(seq_length):
                h = self.decoder(prev, h)
                out = self.fc(h)
                output.append(out)
                prev = F.one_hot(out.argmax(dim=1), self.output_size).float()
        return torch.stack(output, dim=1)


VOCAB = 8


def batch(rng, size, length):
    eye = np.eye(VOCAB, dtype=np.float32)
    tokens = rng.integers(0, VOCAB, size=(size, length))
    src = eye[tokens]
    shifted = np.concatenate([np.zeros((size, 1, VOCAB), np.float32), src[:, :-1]], axis=1)
    return torch.from_numpy(src), torch.from_numpy(shifted), torch.from_numpy(tokens)


def main(steps=1500):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = DynamicSeq2Seq(VOCAB, 96, VOCAB)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    start = time.time()
    for step in range(steps):
        length = int(rng.integers(2, 9))  # a new graph shape each step
        src, shifted, tokens = batch(rng, 32, length)
        logits = model(src, shifted)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 300 == 0 or step == steps - 1:
            print(f"step {step:5d}  length {length}  loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        accs = []
        for length in range(2, 9):
            src, _, tokens = batch(rng, 256, length)
            pred = model(src).argmax(dim=2).numpy()
            accs.append(float((pred == tokens.numpy()).mean()))
            print(f"free-running copy accuracy, length {length}: {accs[-1]:.3f}")
    print(f"mean copy accuracy: {np.mean(accs):.3f}  ({time.time() - start:.0f}s)")
    return float(np.mean(accs))


if __name__ == "__main__":
    main()
