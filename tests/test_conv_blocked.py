"""The blocked convolution path (a few samples at a time, so im2col patches stay in cache) gives what the
whole-batch path gives, and what PyTorch gives, for the layouts it takes: stride 1 except perhaps in the
last dim, any padding and dilation, with and without bias, batches that do not divide into blocks."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad
import dynagrad.nn.functional as F
from dynagrad.ops import conv as C

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

CONFIGS = [  # (N, C, O, spatial, kernel, stride, padding, dilation, bias)
    (7, 3, 5, (9, 10), (3, 3), 1, 1, 1, True),
    (5, 2, 4, (8, 11), (3, 2), (1, 2), (2, 0), 1, False),
    (6, 4, 3, (12, 30), (3, 3), 1, 2, 2, True),
    (5, 3, 2, (13,), (4,), 1, 1, 1, True),
    (4, 2, 3, (5, 24, 30), (2, 3, 3), 1, 1, 1, False),
]


def _run(lib, cfg, seed=0, w_grad=True):
    N, Cc, O, S, K, stride, pad, dil, bias = cfg
    rng = np.random.default_rng(seed)
    x = lib.tensor(rng.standard_normal((N, Cc) + S).astype(np.float32), requires_grad=True)
    w = lib.tensor(rng.standard_normal((O, Cc) + K).astype(np.float32), requires_grad=w_grad)
    b = lib.tensor(rng.standard_normal(O).astype(np.float32), requires_grad=True) if bias else None
    conv = {1: lib.nn.functional.conv1d, 2: lib.nn.functional.conv2d, 3: lib.nn.functional.conv3d}[len(S)]
    y = conv(x, w, b, stride=stride, padding=pad, dilation=dil)
    g = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(lib.tensor(g))
    out = [y.detach().numpy(), x.grad.numpy(), w.grad.numpy() if w_grad else None]
    return out + ([b.grad.numpy()] if bias else [])


@pytest.fixture
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(C, "_CHUNK_BYTES", 1)  # one sample per block...
    monkeypatch.setattr(C, "_CHUNK_MIN_BYTES", 0)  # ...however small the input
    calls = []
    orig = C._chunked_forward
    monkeypatch.setattr(C, "_chunked_forward", lambda *a: calls.append(1) or orig(*a))
    return calls


@pytest.mark.parametrize("cfg", CONFIGS, ids=[f"{len(c[3])}d-{i}" for i, c in enumerate(CONFIGS)])
def test_blocked_matches_whole_batch_and_torch(cfg, tiny_blocks, monkeypatch):
    blocked = _run(dynagrad, cfg)
    assert tiny_blocks, "the blocked path did not run"
    monkeypatch.setattr(C, "_chunk", lambda *a: 0)
    whole = _run(dynagrad, cfg)
    # sums over blocks and over the whole batch round differently: float32 error grows with the values summed
    for a, b in zip(blocked, whole):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4 * max(1.0, float(np.abs(b).max())))
    if torch is not None:
        for a, b in zip(blocked, _run(torch, cfg)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(b).max())))


def test_blocks_with_and_without_kept_patches(tiny_blocks):
    # patches are kept from forward only for the weight gradient; without it backward needs none
    cfg = CONFIGS[0]
    with_w = _run(dynagrad, cfg)
    without_w = _run(dynagrad, cfg, w_grad=False)
    np.testing.assert_allclose(without_w[1], with_w[1], rtol=1e-6)
    np.testing.assert_allclose(without_w[3], with_w[3], rtol=1e-6)
    x = dynagrad.randn(3, 3, 9, 10, requires_grad=True)
    assert F.conv2d(x, dynagrad.randn(5, 3, 3, 3), padding=1).grad_fn.cols is None
    assert len(F.conv2d(x, dynagrad.randn(5, 3, 3, 3, requires_grad=True), padding=1).grad_fn.cols) == 3


def test_seed_convnet_sizes_take_the_blocked_path():
    # the seed ConvNet's second layer: 16 -> 32 channels on 28x28, batch 32
    f = C._Flat.plan(np.zeros((32, 16, 28, 28), np.float32), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), (28, 28))
    assert 1 < C._chunk(f, 32, 16, (3, 3), 4) < 32
    assert C._chunk(f, 2, 1, (3, 3), 4) == 0  # small inputs keep the whole-batch path


@pytest.mark.parametrize("size,flat", [(4, False), (8, False), (16, True), (32, True)])
def test_small_planes_take_the_exact_layout(size, flat):
    # 3x3, padding 1: the extended grid has (size+2)/size of the columns; above 1.2x the exact layout wins
    x = np.zeros((2, 3, size, size), np.float32)
    plan = C._Flat.plan(x, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), (size, size))
    assert (plan is not None) == flat


def _reference(cfg, seed=0):
    """Output and gradients of a stride-1, padding-1 convolution in float64, from its definition."""
    N, Cc, O, S, K = cfg[:5]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, Cc) + S).astype(np.float32).astype(np.float64)
    w = rng.standard_normal((O, Cc) + K).astype(np.float32).astype(np.float64)
    b = rng.standard_normal(O).astype(np.float32).astype(np.float64)
    win = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), K, axis=(2, 3))
    y = np.einsum("ncijkl,ockl->noij", win, w) + b[:, None, None]
    g = rng.standard_normal(y.shape).astype(np.float32).astype(np.float64)
    gw = np.einsum("noij,ncijkl->ockl", g, win)
    gxp = np.zeros((N, Cc) + tuple(s + 2 for s in S))
    for k in range(K[0]):
        for l in range(K[1]):
            gxp[:, :, k:k + S[0], l:l + S[1]] += np.einsum("noij,oc->ncij", g, w[:, :, k, l])
    return [y, gxp[:, :, 1:-1, 1:-1], gw, g.sum((0, 2, 3))]


@pytest.mark.parametrize("size", [4, 8, 16])
def test_deep_layer_shapes_match_the_definition_and_torch(size):
    # many channels on small planes: the exact layout, and a weight gradient formed without a transposed copy
    cfg = (3, 48, 40, (size, size), (3, 3), 1, 1, 1, True)
    got = _run(dynagrad, cfg)
    for a, b in zip(got, _reference(cfg)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    if torch is not None:
        for a, b in zip(got, _run(torch, cfg)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("O,CK,L", [(40, 432, 16), (8, 27, 900)])
def test_weight_grad_forms_agree(O, CK, L):
    # the in-place form (deep layers) and the transposed-copy form (long positions) compute one product
    rng = np.random.default_rng(1)
    gr = rng.standard_normal((1, O, L)).astype(np.float32)
    cols = rng.standard_normal((1, CK, L)).astype(np.float32)
    got = C._weight_grad(gr, cols)
    assert got.shape == (1, O, CK) and got.flags.c_contiguous
    np.testing.assert_allclose(got[0], gr[0].astype(np.float64) @ cols[0].T.astype(np.float64), rtol=1e-4, atol=1e-4)
