"""Sequence models side by side: an LSTM language-model training step, a GRU forward+backward and the seed
Transformer's training step (conformance program c08), each built identically in both frameworks."""
from __future__ import annotations

import numpy as np

import dynagrad

VOCAB, EMB, HID, SEQ, BATCH = 1000, 64, 128, 35, 32


def _copy_params(src, dst) -> None:
    """Give the dynagrad model the torch model's weights (so both do the same arithmetic)."""
    theirs = dict(src.named_parameters())
    with dynagrad.no_grad():
        for name, p in dst.named_parameters():
            p.copy_(dynagrad.tensor(theirs[name].detach().numpy()))


def _lstm_lm(lib):
    nn = lib.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(VOCAB, EMB)
            self.rnn = nn.LSTM(EMB, HID)
            self.out = nn.Linear(HID, VOCAB)

        def forward(self, tokens):
            h, _ = self.rnn(self.emb(tokens))
            return self.out(h)
    return LM()


def _lstm_step(lib, model, tokens, targets):
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    x, y = lib.tensor(tokens), lib.tensor(targets)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
    return step


def _gru_fb(lib, model, x_np):
    x = lib.tensor(x_np, requires_grad=True)

    def step():
        out, h = model(x)
        (out.sum() + h.sum()).backward()
    return step


def _transformer(lib):
    nn = lib.nn

    class FeedForward(nn.Module):
        def __init__(self, emb_dim, dropout):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(emb_dim, 4 * emb_dim), nn.GELU(),
                                     nn.Linear(4 * emb_dim, emb_dim), nn.Dropout(dropout))

        def forward(self, x):
            return self.net(x)

    class Transformer(nn.Module):
        def __init__(self, input_size, output_size, emb_dim, n_heads, dropout, max_len=32):
            super().__init__()
            self.emb = nn.Embedding(input_size, emb_dim)
            self.pos_emb = nn.Parameter(lib.zeros(1, max_len, emb_dim))
            self.attn = nn.MultiheadAttention(emb_dim, n_heads, dropout=dropout, batch_first=True)
            self.norm1 = nn.LayerNorm(emb_dim)
            self.norm2 = nn.LayerNorm(emb_dim)
            self.ffn = FeedForward(emb_dim, dropout)
            self.linear2 = nn.Linear(emb_dim, output_size)

        def forward(self, src):
            seq = src.size(1)
            x = self.emb(src) + self.pos_emb[:, :seq]
            causal = lib.triu(lib.ones(seq, seq, dtype=lib.bool), diagonal=1)
            h = self.norm1(x)
            attn_out, attn_weights = self.attn(h, h, h, attn_mask=causal)
            x = x + attn_out
            x = x + self.ffn(self.norm2(x))
            return self.linear2(x), attn_weights
    return Transformer(10, 10, 32, 4, 0.0)


def _transformer_step(lib, model, src_np):
    opt = lib.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    loss_fn = lib.nn.CrossEntropyLoss()
    src = lib.from_numpy(src_np)

    def step():
        logits, _ = model(src)
        loss = loss_fn(logits.reshape(-1, 10), src.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def cases(torch) -> list[tuple[str, dict, int]]:
    rng = np.random.default_rng(0)
    libs = {"dynagrad": dynagrad}
    if torch is not None:
        libs["torch"] = torch
    out = []

    def build(make):
        models = {name: make(lib) for name, lib in libs.items()}
        if "torch" in models:
            _copy_params(models["torch"], models["dynagrad"])
        return models

    tokens = rng.integers(0, VOCAB, size=(SEQ, BATCH))
    targets = rng.integers(0, VOCAB, size=(SEQ, BATCH))
    models = build(_lstm_lm)
    out.append((f"LSTM LM train step (h{HID}, T{SEQ}, B{BATCH})",
                {n: _lstm_step(libs[n], m, tokens, targets) for n, m in models.items()}, 20))

    x = rng.standard_normal((SEQ, BATCH, 32)).astype(np.float32)
    models = build(lambda lib: lib.nn.GRU(32, HID))
    out.append((f"GRU fwd+bwd (32->{HID}, T{SEQ}, B{BATCH})",
                {n: _gru_fb(libs[n], m, x) for n, m in models.items()}, 20))

    src = rng.integers(0, 10, size=(5, 32)).astype(np.int64)
    models = build(_transformer)
    out.append(("Transformer train step (c08 seed)",
                {n: _transformer_step(libs[n], m, src) for n, m in models.items()}, 50))
    return out


if __name__ == "__main__":  # python -m benchmarks.bench_seq: a quick look without the full harness
    from . import harness
    harness.reexec_without_blas_overrides()
    t = harness.torch_or_none()
    if t is not None:
        t.set_num_threads(2)
    results = [harness.time_case(name, fns, n, 5) for name, fns, n in cases(t)]
    print(harness.table(results, [fw for fw in ("dynagrad", "torch") if any(fw in r.times for r in results)]))
