"""Training steps of the models people train (benchmarks/models.py), dynagrad beside PyTorch eager.

Every workload is built once per framework from the same code; dynagrad's model then gets PyTorch's
weights (so both do the same arithmetic) and both get the same inputs, drawn from NumPy. ``WORKLOADS``
is also what ``benchmarks.peak`` runs, one framework per process, for the peak-memory table.
"""
from __future__ import annotations

import numpy as np

from . import models


def copy_state(src, dst, lib) -> None:
    """Give ``dst`` (a dynagrad model) the parameters and buffers of ``src`` (the same model in torch)."""
    theirs = {k: v.detach().numpy() for k, v in src.state_dict().items()}
    with lib.no_grad():
        for name, t in dst.state_dict().items():
            t.copy_(lib.from_numpy(theirs[name].copy()))


def _tokens(rng, vocab, shape):
    return rng.integers(0, vocab, size=shape).astype(np.int64)


def _make(kind, batch, **cfg):
    def build(lib, rng):
        T, V = cfg["block_size"], cfg["vocab_size"]
        model = (models.nanogpt if kind == "nanogpt" else models.mingpt)(lib, **cfg)
        x = _tokens(rng, V, (batch, T))
        y = _tokens(rng, V, (batch, T))
        if kind == "makemore":  # names end early: the rest of each row is -1, which the loss ignores
            y[:, T // 2:][rng.random((batch, T - T // 2)) < 0.5] = -1
        step = {"mingpt": models.mingpt_step, "makemore": models.makemore_step,
                "nanogpt": models.nanogpt_step}[kind]
        return model, (lambda m: step(lib, m, lib.from_numpy(x.copy()), lib.from_numpy(y.copy())))
    return build


def _word_lm(kind, ntokens=10000, rows=351, batch=20):
    def build(lib, rng):
        model = models.word_lm(lib, kind, ntokens)
        data = _tokens(rng, ntokens, (rows, batch))
        return model, (lambda m: models.word_lm_epoch(lib, m, lib.from_numpy(data.copy()), ntokens))
    return build


def _cifar(batch=8):
    def build(lib, rng):
        model = models.resnet18_cifar(lib)
        x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
        y = _tokens(rng, 10, (batch,))
        return model, (lambda m: models.cifar_step(lib, m, lib.from_numpy(x.copy()), lib.from_numpy(y.copy())))
    return build


# name -> (builder(lib, rng) -> (model, make_step(model) -> step), timed iterations per repeat)
WORKLOADS = {
    "minGPT gpt-nano step (3x48, block 6, batch 64)":
        (_make("mingpt", 64, n_layer=3, n_head=3, n_embd=48, block_size=6, vocab_size=10, pdrop=0.0), 20),
    "minGPT gpt-nano step, dropout 0.1 (adder project)":
        (_make("mingpt", 64, n_layer=3, n_head=3, n_embd=48, block_size=6, vocab_size=10, pdrop=0.1), 20),
    "minGPT gpt-micro char step (4x128, block 64, batch 16)":
        (_make("mingpt", 16, n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65, pdrop=0.1), 5),
    "makemore Transformer step (4x64, block 16, batch 32)":
        (_make("makemore", 32, n_layer=4, n_head=4, n_embd=64, block_size=16, vocab_size=27, pdrop=0.0), 20),
    "nanoGPT step, SDPA (4x4x128, block 64, batch 12)":
        (_make("nanogpt", 12, n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65), 5),
    "nanoGPT step, manual attention (4x4x128, block 64, batch 12)":
        (_make("nanogpt", 12, n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65, flash=False), 5),
    "word-language-model LSTM epoch (10 batches, 10k words)": (_word_lm("LSTM"), 1),
    "word-language-model Transformer epoch (10 batches, 10k words)": (_word_lm("Transformer"), 1),
    "CIFAR ResNet-18 step, batch 8 3x32x32": (_cifar(), 2),
}

# the workload whose peak memory the target names (a nanoGPT-size training run)
MEMORY_WORKLOADS = ("nanoGPT step, SDPA (4x4x128, block 64, batch 12)",
                    "nanoGPT step, manual attention (4x4x128, block 64, batch 12)",
                    "minGPT gpt-micro char step (4x128, block 64, batch 16)",
                    "CIFAR ResNet-18 step, batch 8 3x32x32")


def build(name: str, libs: dict, seed: int = 0) -> dict:
    """{framework: step} for workload ``name``; dynagrad gets torch's weights when both are there."""
    make, _ = WORKLOADS[name]
    built = {}
    for fw, lib in libs.items():
        lib.manual_seed(seed)
        built[fw] = make(lib, np.random.default_rng(seed))
    if "torch" in built and "dynagrad" in built:
        copy_state(built["torch"][0], built["dynagrad"][0], libs["dynagrad"])
    return {fw: make_step(model) for fw, (model, make_step) in built.items()}


def cases(torch) -> list[tuple[str, dict, int]]:
    import dynagrad
    libs = {"dynagrad": dynagrad}
    if torch is not None:
        libs["torch"] = torch
    return [(name, build(name, libs), number) for name, (_, number) in WORKLOADS.items()]
