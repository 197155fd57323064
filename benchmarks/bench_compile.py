"""dynagrad.compile: training steps eager and compiled, beside PyTorch eager and hand-written NumPy.

Cases: the seed MLP step (784-128-64-10, SGD momentum 0.9, batch 64; the NumPy reference of bench_mlp),
the seed seq2seq GRU step (c07: GRUCell encoder/decoder, length 6, batch 16, Adam), the seed
Transformer step (c08, AdamW), and issue 17's cases (``speed_cases``): the seed ConvNet step (batch 32,
1x28x28, SGD) and the LSTM LM step (h128, T35, B32, Adam) compiled whole, and nanoGPT's model (4 layers,
4 heads, 128 wide, block 64, batch 12; ``nanogpt(lib)`` is its model.py for either framework) compiled
as nanoGPT compiles it, trained as its train.py does (AdamW groups, clipping). ``compile_times()`` measures
how long the first (tracing) call of a compiled MLP step takes, in a fresh process and again in the same
process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

import dynagrad
from benchmarks.bench_mlp import NumpyMLP, data, framework_step, init_weights
from benchmarks.bench_seq import _copy_params, _transformer, _transformer_step

VOCAB, HIDDEN, LENGTH, BATCH = 6, 48, 6, 16


def _seq2seq(lib):
    nn = lib.nn

    class DynamicSeq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRUCell(VOCAB, HIDDEN)
            self.decoder = nn.GRUCell(VOCAB, HIDDEN)
            self.fc = nn.Linear(HIDDEN, VOCAB)

        def forward(self, input_seq, target_seq):
            h = lib.zeros(input_seq.size(0), HIDDEN)
            for t in range(input_seq.size(1)):
                h = self.encoder(input_seq[:, t], h)
            output = []
            for t in range(input_seq.size(1)):
                h = self.decoder(target_seq[:, t], h)
                output.append(self.fc(h))
            return lib.stack(output, dim=1)
    return DynamicSeq2Seq()


def _seq2seq_step(lib, model, src_np, tgt_np, tokens_np):
    opt = lib.optim.Adam(model.parameters(), lr=0.02)
    src, tgt, tokens = lib.from_numpy(src_np), lib.from_numpy(tgt_np), lib.from_numpy(tokens_np)

    def step(src, tgt, tokens):
        logits = model(src, tgt)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tokens.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step, (src, tgt, tokens)


def _bound(step, args):
    return lambda: step(*args)


def cases(torch) -> list[tuple[str, dict, int]]:
    out = []
    w = init_weights()
    x, y = data(64)
    tx, ty = dynagrad.from_numpy(x), dynagrad.from_numpy(y)
    fns = {"dynagrad": _bound(framework_step(dynagrad, w), (tx, ty)),
           "dynagrad compiled": _bound(dynagrad.compile(framework_step(dynagrad, w)), (tx, ty))}
    if torch is not None:
        fns["torch"] = _bound(framework_step(torch, w), (torch.from_numpy(x), torch.from_numpy(y)))
    m = NumpyMLP(w)
    fns["numpy"] = lambda: m.step(x, y)
    out.append(("MLP train step, batch 64 (compiled)", fns, 200))

    rng = np.random.default_rng(7)
    eye = np.eye(VOCAB, dtype=np.float32)
    tokens = rng.integers(0, VOCAB, size=(BATCH, LENGTH))
    src = eye[tokens]
    tgt = np.concatenate([np.zeros((BATCH, 1, VOCAB), np.float32), src[:, :-1]], axis=1)
    libs = {"dynagrad": dynagrad} | ({"torch": torch} if torch is not None else {})
    models = {n: _seq2seq(lib) for n, lib in libs.items()}
    compiled_model = _seq2seq(dynagrad)
    if torch is not None:
        _copy_params(models["torch"], models["dynagrad"])
        _copy_params(models["torch"], compiled_model)
    fns = {}
    step, args = _seq2seq_step(dynagrad, models["dynagrad"], src, tgt, tokens)
    fns["dynagrad"] = _bound(step, args)
    step, args = _seq2seq_step(dynagrad, compiled_model, src, tgt, tokens)
    fns["dynagrad compiled"] = _bound(dynagrad.compile(step), args)
    if torch is not None:
        step, args = _seq2seq_step(torch, models["torch"], src, tgt, tokens)
        fns["torch"] = _bound(step, args)
    out.append((f"GRU seq2seq train step (c07, T{LENGTH}, B{BATCH}, compiled)", fns, 50))

    src = rng.integers(0, 10, size=(5, 32)).astype(np.int64)
    models = {n: _transformer(lib) for n, lib in libs.items()}
    compiled_model = _transformer(dynagrad)
    if torch is not None:
        _copy_params(models["torch"], models["dynagrad"])
        _copy_params(models["torch"], compiled_model)
    fns = {"dynagrad": _transformer_step(dynagrad, models["dynagrad"], src)}
    fns["dynagrad compiled"] = _compiled_noarg(_transformer_step(dynagrad, compiled_model, src))
    if torch is not None:
        fns["torch"] = _transformer_step(torch, models["torch"], src)
    out.append(("Transformer train step (c08, compiled)", fns, 50))
    return out + speed_cases(torch)


def _compiled_noarg(step):
    c = dynagrad.compile(step)
    return lambda: c()


# -- the issue-17 speed cases: the seed ConvNet, the LSTM LM and a nanoGPT-size GPT, compiled steps ----------

def nanogpt(lib):
    """nanoGPT's model.py, as nanoGPT writes it, for ``lib`` (dynagrad or torch): returns (GPTConfig, GPT)."""
    import math
    nn, F = lib.nn, lib.nn.functional

    class GPTConfig:
        def __init__(self, block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                     bias=True):
            self.block_size, self.vocab_size, self.n_layer, self.n_head = block_size, vocab_size, n_layer, n_head
            self.n_embd, self.dropout, self.bias = n_embd, dropout, bias

    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            self.attn_dropout = nn.Dropout(config.dropout)
            self.resid_dropout = nn.Dropout(config.dropout)
            self.n_head = config.n_head
            self.n_embd = config.n_embd
            self.dropout = config.dropout
            self.flash = hasattr(lib.nn.functional, 'scaled_dot_product_attention')

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            y = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                                               dropout_p=self.dropout if self.training else 0,
                                                               is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = nn.Dropout(config.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith('c_proj.weight'):
                    lib.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                lib.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    lib.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                lib.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            device = idx.device
            b, t = idx.size()
            assert t <= self.config.block_size, f"Cannot forward sequence of length {t}"
            pos = lib.arange(0, t, dtype=lib.long, device=device)
            tok_emb = self.transformer.wte(idx)
            pos_emb = self.transformer.wpe(pos)
            x = self.transformer.drop(tok_emb + pos_emb)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is not None:
                logits = self.lm_head(x)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            else:
                logits = self.lm_head(x[:, [-1], :])
                loss = None
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas):
            param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [{'params': decay_params, 'weight_decay': weight_decay},
                            {'params': nodecay_params, 'weight_decay': 0.0}]
            return lib.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)

    return GPTConfig, GPT


def _gpt_step(lib, model, x_np, y_np, compiled=False):
    """nanoGPT's train.py inner loop (one micro-step): forward with targets, backward, clip, step."""
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99))
    m = dynagrad.compile(model) if compiled else model
    x, y = lib.from_numpy(x_np.copy()), lib.from_numpy(y_np.copy())

    def step():
        _, loss = m(x, y)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def speed_cases(torch) -> list[tuple[str, dict, int]]:
    """The seed ConvNet, the LSTM LM and the nanoGPT-size GPT: eager and compiled dynagrad beside PyTorch
    eager (the compiled step: the whole training step for the ConvNet and the LSTM LM, the model as nanoGPT
    compiles it for the GPT)."""
    from benchmarks import bench_conv, bench_seq
    libs = {"dynagrad": dynagrad} | ({"torch": torch} if torch is not None else {})
    rng = np.random.default_rng(0)
    out = []
    x_np = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    y_np = rng.integers(0, 10, size=32).astype(np.int64)
    models = {name: bench_conv.convnet(lib) for name, lib in libs.items()}
    models["dynagrad compiled"] = bench_conv.convnet(dynagrad)
    bench_conv._same_weights(list(models.values()), [libs.get(n, dynagrad) for n in models], 1)
    fns = {}
    for name, m in models.items():
        lib = libs.get(name, dynagrad)
        step = bench_conv._step(lib, m, lib.from_numpy(x_np.copy()), lib.from_numpy(y_np.copy()))
        fns[name] = _compiled_noarg(step) if name == "dynagrad compiled" else step
    out.append(("seed ConvNet step, batch 32 1x28x28 (compiled)", fns, 20))

    V, S, B = bench_seq.VOCAB, bench_seq.SEQ, bench_seq.BATCH
    tokens, targets = rng.integers(0, V, size=(S, B)), rng.integers(0, V, size=(S, B))
    models = {name: bench_seq._lstm_lm(lib) for name, lib in libs.items()}
    models["dynagrad compiled"] = bench_seq._lstm_lm(dynagrad)
    if torch is not None:
        bench_seq._copy_params(models["torch"], models["dynagrad"])
        bench_seq._copy_params(models["torch"], models["dynagrad compiled"])
    fns = {}
    for name, m in models.items():
        step = bench_seq._lstm_step(libs.get(name, dynagrad), m, tokens, targets)
        fns[name] = _compiled_noarg(step) if name == "dynagrad compiled" else step
    out.append((f"LSTM LM train step (h{bench_seq.HID}, T{S}, B{B}, compiled)", fns, 10))

    x_np = rng.integers(0, 65, size=(12, 64)).astype(np.int64)
    y_np = rng.integers(0, 65, size=(12, 64)).astype(np.int64)
    fns = {}
    models = {}
    for name in ["dynagrad", "dynagrad compiled"] + (["torch"] if torch is not None else []):
        lib = libs.get(name, dynagrad)
        GPTConfig, GPT = nanogpt(lib)
        lib.manual_seed(0)
        models[name] = GPT(GPTConfig())
    if torch is not None:
        bench_seq._copy_params(models["torch"], models["dynagrad"])
        bench_seq._copy_params(models["torch"], models["dynagrad compiled"])
    for name, m in models.items():
        fns[name] = _gpt_step(libs.get(name, dynagrad), m, x_np, y_np, compiled=name == "dynagrad compiled")
    out.append(("nanoGPT-size GPT train step (4 layers, 4 heads, 128 wide, block 64, batch 12, compiled)",
                fns, 5))
    return out


_CHILD = r"""
import sys, time, json
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import dynagrad
from benchmarks.bench_mlp import data, init_weights, framework_step
t1 = time.perf_counter()
x, y = data(64)
tx, ty = dynagrad.from_numpy(x), dynagrad.from_numpy(y)
step = dynagrad.compile(framework_step(dynagrad, init_weights()))
t2 = time.perf_counter(); step(tx, ty); t3 = time.perf_counter(); step(tx, ty); t4 = time.perf_counter()
again = dynagrad.compile(framework_step(dynagrad, init_weights()))
t5 = time.perf_counter(); again(tx, ty); t6 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_call_s": t3 - t2, "second_call_s": t4 - t3,
                  "first_call_same_process_s": t6 - t5}}))
"""


def compile_times() -> dict:
    """Compile times of the MLP step: the first call in a fresh process (cold: tracing, passes, codegen),
    the next call, and the first call of a second compiled copy in the same process (warm)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(root=root)], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_compile
    from . import harness
    t = harness.torch_or_none()
    if t is not None:
        t.set_num_threads(2)
    results = [harness.time_case(name, fns, n, 7) for name, fns, n in cases(t)]
    fws = [fw for fw in ("dynagrad", "dynagrad compiled", "torch", "numpy") if any(fw in r.times for r in results)]
    print(harness.table(results, fws))
    print("compile times:", json.dumps(compile_times(), indent=1))
