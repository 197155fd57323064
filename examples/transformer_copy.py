"""A small ``nn.Transformer`` (encoder-decoder) that learns to sort a sequence of digits, then sorts unseen
sequences by greedy decoding.

    python examples/transformer_copy.py      # under a minute; prints token and whole-sequence accuracy

The decoder is trained with teacher forcing under the causal mask from
``nn.Transformer.generate_square_subsequent_mask``; at test time it writes the answer one token at a time,
feeding back its own output. Pass ``--task copy`` for the easier copy task.

Written against the PyTorch API: ``import dynagrad as torch`` is the only change from a PyTorch script.
"""

import argparse
import math
import time

import numpy as np

import dynagrad as torch
import dynagrad.nn as nn
import dynagrad.nn.functional as F

VOCAB, LENGTH, BOS = 10, 8, 10  # digits 0-9, and a start token for the decoder


class Seq2SeqTransformer(nn.Module):
    def __init__(self, d_model=64, nhead=4, layers=2, ff=128):
        super().__init__()
        self.d_model = d_model
        self.src_emb = nn.Embedding(VOCAB, d_model)
        self.tgt_emb = nn.Embedding(VOCAB + 1, d_model)
        self.pos = nn.Parameter(torch.randn(1, LENGTH, d_model) * 0.1)
        self.transformer = nn.Transformer(d_model, nhead, layers, layers, ff, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d_model, VOCAB)
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(LENGTH))

    def forward(self, src, tgt_in):
        n = tgt_in.size(1)
        scale = math.sqrt(self.d_model)
        s = self.src_emb(src) * scale + self.pos[:, :src.size(1)]
        t = self.tgt_emb(tgt_in) * scale + self.pos[:, :n]
        out = self.transformer(s, t, tgt_mask=self.causal[:n, :n], tgt_is_causal=True)
        return self.head(out)

    @torch.no_grad()
    def generate(self, src):
        tgt = torch.full((src.size(0), 1), BOS, dtype=torch.long)
        for _ in range(src.size(1)):
            nxt = self(src, tgt)[:, -1].argmax(dim=-1, keepdim=True)
            tgt = torch.cat([tgt, nxt], dim=1)
        return tgt[:, 1:]


def batch(rng, n, task):
    src = rng.integers(0, VOCAB, size=(n, LENGTH))
    tgt = np.sort(src, axis=1) if task == "sort" else src
    tgt_in = np.concatenate([np.full((n, 1), BOS), tgt[:, :-1]], axis=1)
    return torch.from_numpy(src), torch.from_numpy(tgt_in), torch.from_numpy(tgt)


def main(task="sort", steps=800):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Seq2SeqTransformer()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    start = time.time()
    for step in range(steps):
        src, tgt_in, tgt = batch(rng, 64, task)
        loss = F.cross_entropy(model(src, tgt_in).reshape(-1, VOCAB), tgt.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}  ({time.time() - start:.0f}s)")
    model.eval()
    src, _, tgt = batch(rng, 500, task)
    pred = model.generate(src)
    token_acc = (pred == tgt).float().mean().item()
    seq_acc = (pred == tgt).all(dim=1).float().mean().item()
    print(f"example: {src[0].tolist()} -> {pred[0].tolist()}")
    print(f"{task}: token accuracy {token_acc:.3f}, whole-sequence accuracy {seq_acc:.3f} on 500 unseen sequences")
    return token_acc, seq_acc


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["sort", "copy"], default="sort")
    ap.add_argument("--steps", type=int, default=800)
    args = ap.parse_args()
    main(args.task, args.steps)
