"""Faster paths give PyTorch's bits: each case compares dynagrad with torch exactly (np.array_equal), and
where torch is absent with the NumPy expression PyTorch's CPU kernel is known to compute."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import dynagrad
from tests.helpers import HAVE_TORCH, torch


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), np.max(np.abs(a.astype(np.float64) - b))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [3.0, 3, -2.0, -0.5, 2.0, -1.0])
def test_pow_by_a_number_is_pytorchs_product(dtype, exponent):
    x = (np.random.default_rng(0).standard_normal(2000) * 3).astype(dtype)
    g = np.full_like(x, 1.7)
    xd = dynagrad.tensor(x, requires_grad=True)
    yd = xd ** exponent
    yd.backward(dynagrad.tensor(g))
    if HAVE_TORCH:
        xt = torch.tensor(x, requires_grad=True)
        yt = xt ** exponent
        yt.backward(torch.tensor(g))
        _same(yd.detach().numpy(), yt.detach().numpy())
        if exponent in (3, 2, -1):  # backward reads x ** 2, x, x ** -2: the exact forms again
            _same(xd.grad.numpy(), xt.grad.numpy())
    expected = {3: x * x * x, -2: 1 / (x * x), -0.5: 1 / np.sqrt(x), 2: x * x, -1: 1 / x}[exponent]
    _same(yd.detach().numpy(), expected.astype(dtype))
    if exponent == 3:
        _same(xd.grad.numpy(), g * (3.0 * (x * x)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_mean_without_ndarray_mean_gives_its_bits(dtype, dim, keepdim):
    x = np.random.default_rng(1).standard_normal((3, 5, 7)).astype(dtype)
    got = dynagrad.tensor(x).mean(dim, keepdim).numpy()
    axis = dim if dim is None or isinstance(dim, int) else tuple(dim)
    _same(got, np.asarray(x.mean(axis=axis, keepdims=keepdim)))
    if HAVE_TORCH and dtype != "float16":
        t = torch.tensor(x).mean() if dim is None else torch.tensor(x).mean(dim, keepdim)
        np.testing.assert_allclose(got, t.numpy(), rtol=1e-6)


def test_slicing_fast_path_is_a_view_with_pytorchs_errors():
    x = dynagrad.arange(6.0, requires_grad=True)
    y = x * 1
    s = y[1:4]
    assert s._base is y and s._vc is y._vc and np.shares_memory(s._data, y._data)
    s.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        y[::-1]
    with pytest.raises(IndexError, match="indexing a tensor of shape"):
        dynagrad.zeros(())[1:2]


def test_masked_fill_converts_the_value_to_the_tensors_dtype():
    m = dynagrad.tensor([True, False, True])
    assert dynagrad.tensor([1, 2, 3]).masked_fill(m, 7.9).tolist() == [7, 2, 7]
    assert dynagrad.tensor([1.0, 2.0, 3.0]).masked_fill(m, float("-inf")).tolist() == [-np.inf, 2.0, -np.inf]
    f16 = dynagrad.tensor([1.0, 2.0], dtype=dynagrad.float16).masked_fill(dynagrad.tensor([True, False]), 1e-4)
    assert f16.dtype == dynagrad.float16 and f16[0].item() == float(np.float16(1e-4))
    with pytest.raises(RuntimeError, match="must be broadcastable"):
        dynagrad.zeros(2, 3).masked_fill(dynagrad.tensor([True, False]), 1.0)


def _both_paths(fn):
    """fn() with the numba kernels off, then on (when numba is installed): the results must be equal."""
    from dynagrad import _jit
    before = _jit.enabled()
    try:
        _jit.set_enabled(False)
        ref = fn()
        if importlib.util.find_spec("numba") is None:
            return ref, None
        _jit.set_enabled(True)
        return ref, fn()
    finally:
        _jit.set_enabled(before)


def test_blocked_gelu_is_the_whole_array_formula_bit_for_bit():
    from dynagrad.nn import _ops
    x = (np.random.default_rng(0).standard_normal(3 * _ops._JIT_BLOCK + 5) * 3).astype(np.float32)
    x[:5] = [0.0, -0.0, np.inf, -np.inf, np.nan]
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    cdf = _ops._erf_array(x * _ops._SQRT1_2)
    cdf += 1
    cdf *= 0.5
    grad = g * (cdf + x * (np.exp(-0.5 * (x * x)) * _ops._INV_SQRT_2PI))

    def run():
        out, c = _ops._gelu_erf_blocked(x)
        return out, c, _ops._gelu_erf_grad_blocked(g, x, c)
    ref, jit = _both_paths(run)
    for got in (ref, jit):
        if got is not None:
            _same(got[0], x * cdf)
            _same(got[1], cdf)
            _same(got[2], grad)


def test_gelu_on_a_large_tensor_matches_pytorch():
    x = np.random.default_rng(2).standard_normal((70, 1000)).astype(np.float32)
    xd = dynagrad.tensor(x, requires_grad=True)
    y = dynagrad.nn.functional.gelu(xd)
    y.sum().backward()
    if HAVE_TORCH:
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.gelu(xt)
        yt.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert abs(float(y[0, 0]) - x[0, 0] * 0.5 * (1 + math.erf(x[0, 0] / math.sqrt(2)))) < 1e-6


@pytest.mark.parametrize("cls,kw", [
    ("AdamW", dict(lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=1e-2, weight_decay=0.01, amsgrad=True)),
    ("Adam", dict(lr=1e-2, betas=(0.3, 0.9), maximize=True)),
    ("AdamW", dict(lr=5e-4, betas=(0.9, 0.95), eps=1e-6, amsgrad=True)),
])
def test_adam_kernel_is_numpys_update_bit_for_bit(cls, kw):
    rng = np.random.default_rng(3)
    shapes = [(70, 100), (5000,), (3, 4)]  # large (kernel), large, small (flat)
    p0 = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]

    def run():
        ps = [dynagrad.nn.Parameter(dynagrad.tensor(a.copy())) for a in p0]
        opt = getattr(dynagrad.optim, cls)(ps, **kw)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = dynagrad.tensor(g)
            opt.step()
        return [p.detach().numpy().copy() for p in ps] + [v._data.copy() for st in opt.state.values()
                                                          for v in st.values()]
    ref, jit = _both_paths(run)
    if jit is not None:
        for a, b in zip(ref, jit):
            _same(a, b)
    if HAVE_TORCH:
        ps = [torch.nn.Parameter(torch.tensor(a.copy())) for a in p0]
        opt = getattr(torch.optim, cls)(ps, **kw)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = torch.tensor(g)
            opt.step()
        for a, p in zip(ref, ps):
            np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,ns,bias", [((12, 64, 128), (128,), True), ((40, 30, 20), (30, 20), False)])
def test_layer_norm_kernels_are_numpys_steps_bit_for_bit(shape, ns, bias):
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    w, b = rng.standard_normal(ns).astype(np.float32), rng.standard_normal(ns).astype(np.float32)

    def run():
        xd, wd = dynagrad.tensor(x, requires_grad=True), dynagrad.tensor(w, requires_grad=True)
        bd = dynagrad.tensor(b, requires_grad=True) if bias else None
        y = dynagrad.nn.functional.layer_norm(xd, ns, wd, bd)
        y.backward(dynagrad.tensor(g))
        return [y.detach().numpy(), xd.grad.numpy(), wd.grad.numpy()] + ([bd.grad.numpy()] if bias else [])
    ref, jit = _both_paths(run)
    if jit is not None:
        for a, c in zip(ref, jit):
            _same(a, c)
    if HAVE_TORCH:
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True) if bias else None
        yt = torch.nn.functional.layer_norm(xt, ns, wt, bt)
        yt.backward(torch.tensor(g))
        for a, t in zip(ref, [yt, xt.grad, wt.grad] + ([bt.grad] if bias else [])):
            np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("special", [False, True])
def test_relu_backward_kernel_is_the_masked_product(special):
    from dynagrad.ops import _dual as D
    rng = np.random.default_rng(5)
    v = np.maximum(rng.standard_normal(70000).astype(np.float32), 0)
    g = rng.standard_normal(70000).astype(np.float32)
    v[:3] = [np.nan, 0.0, 1.0]
    if special:  # a non-finite gradient where the mask is off becomes 0, as PyTorch's select
        g[1:3] = [np.inf, np.nan]
    ref, jit = _both_paths(lambda: D.mask_positive(g, v))
    keep = ~(v <= 0)  # a NaN output passes its gradient, as PyTorch's threshold_backward
    expected = np.where(keep, g, np.float32(0)) if special else g * keep
    for got in (ref, jit):
        if got is not None:
            _same(got, expected)


@pytest.mark.parametrize("shape,affine", [((8, 64, 32, 32), True), ((32, 16, 28, 28), False), ((6, 40, 300), True),
                                          ((4, 8, 6, 10, 12), True)])
def test_batch_norm_kernels_are_numpys_steps_bit_for_bit(shape, affine):
    # training-mode batch norm: per-channel kernels on (N, C, rest) and the factored backward, against torch
    rng = np.random.default_rng(5)
    x, g = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)

    def run(lib):
        xd = lib.tensor(x, requires_grad=True)
        wd, bd = (lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)) if affine else (None, None)
        rm, rv = lib.zeros(c), lib.ones(c)
        y = lib.nn.functional.batch_norm(xd, rm, rv, wd, bd, training=True, momentum=0.1, eps=1e-5)
        y.backward(lib.tensor(g))
        out = [y.detach().numpy(), xd.grad.numpy(), rm.numpy(), rv.numpy()]
        return out + ([wd.grad.numpy(), bd.grad.numpy()] if affine else [])
    ref, jit = _both_paths(lambda: run(dynagrad))
    if jit is not None:
        for a, k in zip(ref, jit):
            _same(a, k)
    if HAVE_TORCH:
        for a, t in zip(ref, run(torch)):
            np.testing.assert_allclose(a, t, rtol=1e-4, atol=1e-4)
    else:  # the input gradient from its definition: (g - mean(g) - xhat * mean(g * xhat)) * w / std
        axes = (0,) + tuple(range(2, len(shape)))
        xd = x.astype(np.float64)
        mean, var = xd.mean(axes, keepdims=True), xd.var(axes, keepdims=True)
        xhat = (xd - mean) / np.sqrt(var + 1e-5)
        wv = (w if affine else np.ones(c, np.float32)).astype(np.float64).reshape((1, c) + (1,) * (len(shape) - 2))
        gx = (g - g.mean(axes, keepdims=True) - xhat * (g * xhat).mean(axes, keepdims=True)) * wv / np.sqrt(var + 1e-5)
        np.testing.assert_allclose(ref[1], gx, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("x_shape,w_shape,kw,bias", [
    ((20, 16, 28, 28), (32, 16, 3, 3), dict(padding=1), True),  # the blocked path (ConvNet's second layer)
    ((4, 3, 30, 31), (8, 3, 5, 3), dict(padding=2, stride=(1, 2)), True),
    ((2, 4, 20, 20), (6, 4, 3, 3), dict(dilation=2), False),
])
def test_conv_kernels_give_numpys_bits(x_shape, w_shape, kw, bias):
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)

    def run():
        xd, wd = dynagrad.tensor(x, requires_grad=True), dynagrad.tensor(w, requires_grad=True)
        bd = dynagrad.tensor(b, requires_grad=True) if bias else None
        y = dynagrad.nn.functional.conv2d(xd, wd, bd, **kw)
        y.backward(dynagrad.ones_like(y) * 0.3)
        return [y.detach().numpy(), xd.grad.numpy(), wd.grad.numpy()] + ([bd.grad.numpy()] if bias else [])
    ref, jit = _both_paths(run)
    if jit is not None:
        for a, c in zip(ref, jit):
            _same(a, c)


@pytest.mark.parametrize("shape", [(1120, 1000), (12, 4, 64, 64), (3000, 7), (37, 10001), (2, 40000)])
def test_row_softmax_kernels_give_numpys_bits(shape):  # whole chunks, a partial last chunk, rows over a chunk
    from dynagrad.ops import _rows
    rng = np.random.default_rng(7)
    a, g = (rng.standard_normal(shape) * 5).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    a.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    a[-1] = -np.inf  # a fully masked row gives NaN, as in PyTorch
    p = np.nan_to_num(_rows.softmax_last(a))
    def run():
        s = a.copy()
        top = _rows.softmax_last_inplace(s)
        return (_rows.softmax_last(a), _rows.log_softmax_last(a), _rows.softmax_grad_last(g, p), s, top,
                _rows.log_softmax_grad_last(g, np.log(p)))

    with np.errstate(divide="ignore"):
        ref, jit = _both_paths(run)
    _same(ref[4], a.max(-1, keepdims=True))
    with np.errstate(divide="ignore"):
        _same(ref[5], g - np.exp(np.log(p)) * g.sum(-1, keepdims=True))
    e = np.exp(a - a.max(-1, keepdims=True))
    _same(ref[0], e / e.sum(-1, keepdims=True))
    if jit is not None:
        for x, y in zip(ref, jit):
            _same(x, y)
