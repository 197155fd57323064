"""dynagrad.compile: training steps eager and compiled, beside PyTorch eager and hand-written NumPy.

Cases: the seed MLP step (784-128-64-10, SGD momentum 0.9, batch 64; the NumPy reference of bench_mlp),
the seed seq2seq GRU step (c07: GRUCell encoder/decoder, length 6, batch 16, Adam), the seed
Transformer step (c08, AdamW), and issue 17's cases (``speed_cases``): the seed ConvNet step (batch 32,
1x28x28, SGD) and the LSTM LM step (h128, T35, B32, Adam) compiled whole, and nanoGPT's model (4 layers,
4 heads, 128 wide, block 64, batch 12; benchmarks/models.py's ``nanogpt``) compiled
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

def speed_cases(torch) -> list[tuple[str, dict, int]]:
    """The seed ConvNet, the LSTM LM and the nanoGPT-size GPT: eager and compiled dynagrad beside PyTorch
    eager (the compiled step: the whole training step for the ConvNet and the LSTM LM, the model as nanoGPT
    compiles it for the GPT)."""
    from benchmarks import bench_conv, bench_seq
    from benchmarks import models as gpt_models
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
        lib.manual_seed(0)
        models[name] = gpt_models.nanogpt(lib, n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65,
                                          bias=True)
    if torch is not None:
        bench_seq._copy_params(models["torch"], models["dynagrad"])
        bench_seq._copy_params(models["torch"], models["dynagrad compiled"])
    for name, m in models.items():
        lib = libs.get(name, dynagrad)
        x, y = lib.from_numpy(x_np.copy()), lib.from_numpy(y_np.copy())
        # nanoGPT compiles the model, not the step (train.py: model = torch.compile(model))
        fns[name] = gpt_models.nanogpt_step(lib, dynagrad.compile(m) if name == "dynagrad compiled" else m, x, y)
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


_SPEED_CHILD = r"""
import sys, time, json
sys.path.insert(0, {root!r})
import dynagrad
from benchmarks import bench_compile
name, fns, _ = bench_compile.speed_cases(None)[{index}]
step = fns["dynagrad compiled"]
t0 = time.perf_counter(); step(); first = time.perf_counter() - t0
times = []
for _ in range(3):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
print(json.dumps({{"name": name, "first_call_s": first, "step_s": min(times), "compile_s": first - min(times)}}))
"""


def speed_compile_times(cases=range(3)) -> dict:
    """What compiling costs in issue 17's training steps (ConvNet, LSTM LM, nanoGPT-size GPT), each in a
    fresh process as a program meets it: the first call of the compiled step (tracing, passes, code
    generation, and the compiler's one-time start-up; numba's kernels come from its on-disk cache once
    built) less a steady step."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = {}
    for index in cases:
        proc = subprocess.run([sys.executable, "-c", _SPEED_CHILD.format(root=root, index=index)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            out[f"case {index}"] = {"error": proc.stderr.strip().splitlines()[-1:]}
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        out[row.pop("name")] = row
    return out


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
    print("compile times of the issue-17 steps:", json.dumps(speed_compile_times(), indent=1))
