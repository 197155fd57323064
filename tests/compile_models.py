"""The seed models (as in the conformance programs), for the dynagrad.compile, jit and ONNX tests."""
from __future__ import annotations

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F


def init_from_numpy(model, seed=0):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else int(p.shape[0])
            bound = 1.0 / np.sqrt(max(fan_in, 1))
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=tuple(p.shape)).astype(np.float32)))
    return model


class MLP(nn.Module):
    def __init__(self, sizes=(64, 128, 64, 10)):
        super().__init__()
        self.n_in = sizes[0]
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])
        self.fc3 = nn.Linear(sizes[2], sizes[3])

    def forward(self, x):
        x = x.view(-1, self.n_in)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class ConvNet(nn.Module):
    def __init__(self, num_classes=10, size=32):
        super().__init__()
        self.size = size
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1, 1)
        self.fc = nn.Linear(32 * size * size, num_classes)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(x.view(-1, 32 * self.size * self.size))


def _block(i, o, s):
    return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                         nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class ResNet(nn.Module):
    def __init__(self, num_classes=10, width=64):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _block(w, w, 1)
        self.layer2 = _block(w, 2 * w, 2)
        self.layer3 = _block(2 * w, 4 * w, 2)
        self.avgpool = nn.AvgPool2d(7, stride=1)
        self.fc = nn.Linear(4 * w, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        return self.fc(x.view(x.size(0), -1))


class RNN(nn.Module):
    def __init__(self, input_size=4, hidden_size=32, output_size=2):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden):
        output, hidden = self.rnn(input, hidden)
        return self.fc(output[:, -1, :]), hidden


class Seq2Seq(nn.Module):
    def __init__(self, input_size=6, hidden_size=48, output_size=6):
        super().__init__()
        self.hidden_size, self.output_size = hidden_size, output_size
        self.encoder = nn.GRUCell(input_size, hidden_size)
        self.decoder = nn.GRUCell(output_size, hidden_size)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, input_seq, target_seq=None):
        batch, length = input_seq.size(0), input_seq.size(1)
        h = torch.zeros(batch, self.hidden_size)
        for t in range(length):
            h = self.encoder(input_seq[:, t], h)
        output = []
        if target_seq is not None:
            for t in range(length):
                h = self.decoder(target_seq[:, t], h)
                output.append(self.fc(h))
        else:
            out = self.fc(self.decoder(torch.zeros(batch, self.output_size), h))
            output.append(out)
            for _ in range(1, length):
                h = self.decoder(F.softmax(out, dim=1), h)
                out = self.fc(h)
                output.append(out)
        return torch.stack(output, dim=1)


class FeedForward(nn.Module):
    def __init__(self, emb_dim, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(emb_dim, 4 * emb_dim), nn.GELU(), nn.Linear(4 * emb_dim, emb_dim),
                                 nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Transformer(nn.Module):
    def __init__(self, input_size=10, output_size=10, emb_dim=32, n_heads=4, dropout=0.0, max_len=32):
        super().__init__()
        self.emb = nn.Embedding(input_size, emb_dim)
        self.pos_emb = nn.Parameter(torch.zeros(1, max_len, emb_dim))
        self.attn = nn.MultiheadAttention(emb_dim, n_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(emb_dim)
        self.norm2 = nn.LayerNorm(emb_dim)
        self.ffn = FeedForward(emb_dim, dropout)
        self.linear2 = nn.Linear(emb_dim, output_size)

    def forward(self, src):
        seq = src.size(1)
        x = self.emb(src) + self.pos_emb[:, :seq]
        causal = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
        h = self.norm1(x)
        attn_out, attn_weights = self.attn(h, h, h, attn_mask=causal)
        x = x + attn_out
        x = x + self.ffn(self.norm2(x))
        return self.linear2(x), attn_weights


class TreeNet(nn.Module):
    """A recursive network over a tree of leaf indices (nested tuples): its graph follows the tree."""

    def __init__(self, vocab=8, dim=16, classes=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.combine = nn.Linear(2 * dim, dim)
        self.out = nn.Linear(dim, classes)

    def encode(self, tree):
        if isinstance(tree, int):
            return self.emb.weight[tree]
        left, right = (self.encode(t) for t in tree)
        return torch.tanh(self.combine(torch.cat([left, right])))

    def forward(self, tree):
        return self.out(self.encode(tree))


def train_step(model, opt, loss_fn=None):
    """The usual step: zero_grad, forward, loss, backward, step; returns the loss tensor."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        if isinstance(out, tuple):
            out = out[0]
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step
