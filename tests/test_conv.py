"""Convolutions against PyTorch: forward values and gradients of input, weight and bias over their options."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from helpers import F, check_op  # noqa: E402

import dynagrad  # noqa: E402


def _F(m):
    return m.nn.functional


CONV2D = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(0, 2)),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid", dilation=(2, 1)),
    dict(padding=1, groups=2),
    dict(stride=3, padding=2, dilation=2),
]


@pytest.mark.parametrize("kw", CONV2D, ids=[str(k) for k in CONV2D])
def test_conv2d(kw):
    check_op(
        lambda m, x, w, b: _F(m).conv2d(x, w, b, **kw),
        F(2, 4, 9, 8),
        F(6, 4 // kw.get("groups", 1), 3, 3),
        F(6),
    )


def test_conv2d_even_kernel_same_no_bias_unbatched():
    check_op(lambda m, x, w: _F(m).conv2d(x, w, padding="same"), F(2, 3, 7, 6), F(5, 3, 4, 2))
    check_op(lambda m, x, w: _F(m).conv2d(x, w, padding="same", dilation=3), F(2, 3, 9, 8), F(5, 3, 2, 3))
    check_op(lambda m, x, w, b: _F(m).conv2d(x, w, b, padding=1), F(3, 6, 5), F(4, 3, 3, 3), F(4))


def test_conv2d_depthwise_and_float64():
    check_op(
        lambda m, x, w, b: _F(m).conv2d(x, w, b, padding=1, groups=4),
        F(2, 4, 6, 7),
        F(8, 1, 3, 3),
        F(8),
        dtypes=("float32", "float64"),
    )
    check_op(lambda m, x, w: _F(m).conv2d(x, w, stride=2, groups=32), F(2, 32, 6, 6), F(32, 1, 3, 3))


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(stride=3, padding=2),
        dict(padding="same", dilation=3),
        dict(groups=3, padding=1),
        dict(stride=2, dilation=2),
    ],
)
def test_conv1d(kw):
    check_op(
        lambda m, x, w, b: _F(m).conv1d(x, w, b, **kw),
        F(2, 6, 17),
        F(4 * 3, 6 // kw.get("groups", 1), 3),
        F(12),
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(stride=(1, 2, 1), padding=(1, 0, 2)),
        dict(padding="same"),
        dict(stride=2, dilation=(1, 2, 1), groups=2),
    ],
)
def test_conv3d(kw):
    check_op(
        lambda m, x, w, b: _F(m).conv3d(x, w, b, **kw),
        F(2, 4, 5, 6, 7),
        F(4, 4 // kw.get("groups", 1), 2, 3, 2),
        F(4),
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(stride=2, padding=1, output_padding=1),
        dict(groups=2, dilation=2),
        dict(stride=(3, 2), padding=(2, 0), output_padding=(2, 1), dilation=(1, 2)),
    ],
)
def test_conv_transpose2d(kw):
    check_op(
        lambda m, x, w, b: _F(m).conv_transpose2d(x, w, b, **kw),
        F(2, 4, 5, 6),
        F(4, 3, 3, 3),
        F(3 * kw.get("groups", 1)),
    )


@pytest.mark.parametrize(
    "kw", [dict(), dict(stride=3, padding=2, dilation=2), dict(stride=2, output_padding=1, groups=2)]
)
def test_conv_transpose1d(kw):
    check_op(
        lambda m, x, w, b: _F(m).conv_transpose1d(x, w, b, **kw),
        F(2, 4, 7),
        F(4, 5, 3),
        F(5 * kw.get("groups", 1)),
    )


def test_conv_transpose_unbatched_and_3d():
    check_op(lambda m, x, w: _F(m).conv_transpose2d(x, w, stride=2), F(4, 3, 3), F(4, 2, 2, 2))
    check_op(
        lambda m, x, w: _F(m).conv_transpose3d(x, w, stride=2, padding=1), F(1, 2, 3, 3, 3), F(2, 2, 3, 3, 3)
    )


def test_unfold_fold():
    kw = dict(dilation=(1, 2), padding=1, stride=(2, 1))
    check_op(lambda m, x: _F(m).unfold(x, (2, 3), **kw), F(2, 3, 7, 8))
    check_op(lambda m, x: _F(m).fold(x, (7, 8), (2, 3), **kw), F(2, 18, 24))
    check_op(lambda m, x: m.nn.Unfold(3, padding=1)(x), F(3, 5, 5))
    check_op(lambda m, x: m.nn.Fold((4, 5), 2)(x), F(1, 8, 12))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_modules_padding_modes(mode):
    def fn(m, x, w, b):
        conv = m.nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(2, 1), padding_mode=mode)
        with m.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(b)
        return conv(x), conv.weight.grad is None

    check_op(fn, F(2, 3, 6, 7), F(4, 3, 3, 2, grad=False), F(4, grad=False))

    def fn1(m, x):
        conv = m.nn.Conv1d(2, 2, 3, padding="same", padding_mode=mode, bias=False)
        with m.no_grad():
            conv.weight.copy_(m.arange(12.0).reshape(2, 2, 3) / 10)
        return conv(x)

    check_op(fn1, F(2, 2, 6))


def test_conv_module_parameter_gradients():
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    shapes = [(6, 1, 3, 3), (6,), (6, 3, 3, 3)]
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = {}
    for m in (dynagrad, torch):
        conv = m.nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3)
        tconv = m.nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1, bias=False)
        params = list(conv.parameters()) + list(tconv.parameters())
        with m.no_grad():
            for p, v in zip(params, values):
                p.copy_(m.from_numpy(v))
        y = tconv(conv(m.from_numpy(x)).relu(), output_size=(8, 8))
        (y**2).sum().backward()
        grads[m.__name__] = [p.grad.numpy().copy() for p in params]
    for a, b in zip(grads["dynagrad"], grads["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_conv_module_init_and_repr():
    conv = dynagrad.nn.Conv2d(4, 8, 3, groups=2)
    assert tuple(conv.weight.shape) == (8, 2, 3, 3) and tuple(conv.bias.shape) == (8,)
    bound = 1 / np.sqrt(2 * 9)
    assert float(conv.weight.abs().max()) <= bound and float(conv.bias.abs().max()) <= bound
    assert repr(conv) == "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), groups=2)"
    t = dynagrad.nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2)
    assert tuple(t.weight.shape) == (4, 3, 2, 2)
    assert (
        repr(dynagrad.nn.Conv1d(1, 2, 3, padding="same", bias=False))
        == "Conv1d(1, 2, kernel_size=(3,), stride=(1,), padding=same, bias=False)"
    )


def test_conv_create_graph():
    def fn(m, x, w):
        y = _F(m).conv2d(x, w, stride=2, padding=1)
        gx, gw = m.autograd.grad((y**2).sum(), (x, w), create_graph=True)
        return (gx**2).sum() + (gw**3).sum()

    check_op(fn, F(2, 3, 6, 6), F(4, 3, 3, 3), dtypes=("float64",))

    def fnt(m, x, w, b):
        y = _F(m).conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)
        gx, gw, gb = m.autograd.grad((y**2).sum(), (x, w, b), create_graph=True)
        return (gx**2).sum() + (gw**3).sum() + (gb**2).sum()

    check_op(fnt, F(2, 4, 3, 3), F(4, 2, 3, 3), F(4), dtypes=("float64",))

    def fnu(m, x):
        y = _F(m).unfold(x * x, 2, stride=1)
        (g,) = m.autograd.grad(y.pow(3).sum(), (x,), create_graph=True)
        return g.sin().sum()

    check_op(fnu, F(1, 2, 4, 4), dtypes=("float64",))


def test_conv_non_finite_and_first_layer():
    # inputs that need no gradient: only weight and bias gradients are computed
    check_op(
        lambda m, x, w, b: _F(m).conv2d(x, w, b, padding=1), F(3, 1, 8, 8, grad=False), F(4, 1, 3, 3), F(4)
    )
    a = np.zeros((1, 1, 1, 6), np.float32)
    a[..., -1] = np.inf  # never read by a stride-2 window of size 2: gradients stay finite
    check_op(lambda m, x, w: _F(m).conv2d(x, w, stride=(1, 2)), a, F(1, 1, 1, 3))


def test_conv_errors():
    x = dynagrad.randn(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="channels"):
        dynagrad.nn.functional.conv2d(x, dynagrad.randn(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match="strided"):
        dynagrad.nn.functional.conv2d(x, dynagrad.randn(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError):
        dynagrad.nn.functional.conv2d(x, dynagrad.randn(2, 3, 7, 7))
    with pytest.raises(RuntimeError, match="same"):
        dynagrad.nn.functional.conv2d(x, dynagrad.randn(2, 3, 3, 3).double())
    with pytest.raises(ValueError):
        dynagrad.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        dynagrad.nn.Conv2d(3, 4, 3, padding_mode="mirror")
