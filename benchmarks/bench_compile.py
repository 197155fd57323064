"""dynagrad.compile: training steps eager and compiled, beside PyTorch eager and hand-written NumPy.

Cases: the seed MLP step (784-128-64-10, SGD momentum 0.9, batch 64; the NumPy reference of bench_mlp),
the seed seq2seq GRU step (c07: GRUCell encoder/decoder, length 6, batch 16, Adam) and the seed
Transformer step (c08, AdamW). ``compile_times()`` measures how long the first (tracing) call of a
compiled MLP step takes, in a fresh process and again in the same process.
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
    return out


def _compiled_noarg(step):
    c = dynagrad.compile(step)
    return lambda: c()


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
