"""Pooling, padding, resizing and the other image layers against PyTorch (values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from helpers import Const, F, check_op  # noqa: E402

import dynagrad  # noqa: E402


def _F(m):
    return m.nn.functional


def _ties(*shape):
    """Small integers: many equal values inside windows, to check which element gets the gradient."""
    return Const(np.random.default_rng(1).integers(0, 3, size=shape).astype(np.float32))


MAXPOOL2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=2),
]


@pytest.mark.parametrize("kw", MAXPOOL2D, ids=[str(k) for k in MAXPOOL2D])
def test_max_pool2d(kw):
    check_op(lambda m, x: _F(m).max_pool2d(x, **kw, return_indices=True), F(2, 3, 9, 8))
    check_op(lambda m, x: m.nn.MaxPool2d(**kw)(x), _ties(2, 2, 7, 6))


def test_max_pool1d_3d_and_unbatched():
    check_op(lambda m, x: _F(m).max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True), F(2, 3, 10))
    check_op(lambda m, x: m.nn.MaxPool1d(2, dilation=2)(x), _ties(3, 9))
    check_op(lambda m, x: _F(m).max_pool3d(x, 2, return_indices=True), F(2, 2, 4, 5, 6))
    check_op(lambda m, x: _F(m).max_pool2d(x, 2), F(3, 6, 6))


def test_max_unpool():
    def fn(m, x):
        v, i = _F(m).max_pool2d(x, 2, return_indices=True)
        return m.nn.MaxUnpool2d(2)(v, i, output_size=(9, 8)), m.nn.MaxUnpool2d(2)(v * 2, i)

    check_op(fn, F(2, 3, 9, 8))

    def fn1(m, x):
        v, i = _F(m).max_pool1d(x, 3, stride=2, return_indices=True)
        return _F(m).max_unpool1d(v, i, 3, stride=2)

    check_op(fn1, F(2, 2, 9))


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_avg_pool2d(ceil_mode, count_include_pad):
    kw = dict(ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    check_op(lambda m, x: _F(m).avg_pool2d(x, 3, 2, 1, **kw), F(2, 3, 10, 8))
    check_op(lambda m, x: m.nn.AvgPool2d((2, 3), (1, 2), (1, 0), **kw)(x), F(1, 2, 5, 7))


def test_avg_pool_divisor_1d_3d():
    check_op(lambda m, x: _F(m).avg_pool2d(x, 3, 2, 1, divisor_override=5), F(2, 3, 10, 8))
    check_op(lambda m, x: m.nn.AvgPool1d(4, 3, 2, ceil_mode=True, count_include_pad=False)(x), F(2, 3, 10))
    check_op(lambda m, x: _F(m).avg_pool3d(x, 2, 1), F(1, 2, 3, 4, 5))
    check_op(lambda m, x: m.nn.AvgPool2d(7, stride=1)(x), F(2, 4, 7, 7))


@pytest.mark.parametrize("size", [(3, 5), (5, 4), 1, (None, 2), (10, 8)])
def test_adaptive_pool2d(size):
    check_op(lambda m, x: m.nn.AdaptiveAvgPool2d(size)(x), F(2, 3, 10, 8))
    check_op(lambda m, x: _F(m).adaptive_max_pool2d(x, size, return_indices=True), F(2, 3, 10, 8))


def test_adaptive_pool1d_3d():
    check_op(lambda m, x: _F(m).adaptive_avg_pool1d(x, 3), F(2, 3, 10))
    check_op(lambda m, x: m.nn.AdaptiveMaxPool1d(4)(x), F(2, 3, 10))
    check_op(lambda m, x: _F(m).adaptive_avg_pool3d(x, (2, 3, 2)), F(1, 2, 5, 6, 4))
    check_op(lambda m, x: m.nn.AdaptiveMaxPool2d((2, 3))(x), _ties(1, 2, 6, 7))


def test_lp_pool():
    check_op(lambda m, x: m.nn.LPPool2d(2, 3, 2)(x), F(2, 3, 10, 8))
    check_op(lambda m, x: _F(m).lp_pool2d(x, 3.0, (2, 3)), F(1, 2, 6, 6, low=0.1, high=2.0))
    check_op(lambda m, x: m.nn.LPPool1d(1.5, 2)(x), F(2, 3, 8, low=0.1, high=2.0))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes(mode):
    check_op(lambda m, x: _F(m).pad(x, (2, 1, 1, 3), mode=mode), F(2, 3, 5, 6))
    check_op(lambda m, x: _F(m).pad(x, (2, 3), mode=mode), F(2, 3, 5))
    check_op(lambda m, x: _F(m).pad(x, (3, 0, 0, 2, 1, 1), mode=mode), F(1, 2, 4, 5, 6))
    check_op(lambda m, x: _F(m).pad(x, (1, 2), mode=mode), F(3, 5))


def test_pad_layers_and_constant():
    check_op(lambda m, x: m.nn.ReflectionPad2d((1, 2, 3, 0))(x), F(2, 3, 5, 6))
    check_op(lambda m, x: m.nn.ReplicationPad2d(4)(x), F(1, 2, 3, 3))
    check_op(lambda m, x: m.nn.ZeroPad2d((1, 0, 2, 1))(x), F(2, 3, 4, 4))
    check_op(lambda m, x: m.nn.ConstantPad2d(2, 3.5)(x), F(2, 3, 4, 4))
    check_op(lambda m, x: _F(m).pad(x, (2, -1, 1, 3), value=2.5), F(2, 3, 5, 6))
    check_op(lambda m, x: _F(m).pad(x, (-1, 2, 2, -2), mode="circular"), F(2, 3, 4, 5))
    check_op(lambda m, x: _F(m).pad(x, (6, 1), mode="reflect"), F(2, 3, 5), raises=RuntimeError)


INTERP = [
    dict(size=(7, 5)),
    dict(scale_factor=2),
    dict(scale_factor=1.7),
    dict(size=(3, 13)),
    dict(scale_factor=(0.5, 2.3)),
]


@pytest.mark.parametrize("kw", INTERP, ids=[str(k) for k in INTERP])
def test_interpolate_2d(kw):
    for mode, ac in [
        ("nearest", None),
        ("nearest-exact", None),
        ("bilinear", False),
        ("bilinear", True),
        ("bicubic", False),
        ("bicubic", True),
        ("area", None),
    ]:
        check_op(
            lambda m, x, mode=mode, ac=ac: _F(m).interpolate(x, mode=mode, align_corners=ac, **kw),
            F(2, 3, 6, 9),
        )
    for mode in ("bilinear", "bicubic"):
        check_op(lambda m, x, mode=mode: _F(m).interpolate(x, mode=mode, antialias=True, **kw), F(1, 2, 6, 9))


def test_interpolate_1d_3d_and_upsample():
    check_op(
        lambda m, x: _F(m).interpolate(x, scale_factor=2.5, mode="linear", recompute_scale_factor=True),
        F(2, 3, 7),
    )
    check_op(lambda m, x: _F(m).interpolate(x, size=4, mode="linear", align_corners=True), F(2, 3, 7))
    check_op(lambda m, x: _F(m).interpolate(x, scale_factor=1.5, mode="trilinear"), F(1, 2, 4, 5, 3))
    check_op(lambda m, x: _F(m).interpolate(x, scale_factor=3), F(1, 2, 4, 5, 3))
    check_op(
        lambda m, x: m.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)(x), F(1, 2, 3, 4)
    )
    check_op(lambda m, x: m.nn.UpsamplingNearest2d(size=(5, 7))(x), F(1, 2, 3, 4))
    check_op(lambda m, x: m.nn.UpsamplingBilinear2d(scale_factor=3)(x), F(1, 2, 3, 4))
    check_op(
        lambda m, x: _F(m).interpolate(x, size=5, mode="bilinear"), F(1, 2, 3), raises=NotImplementedError
    )
    check_op(lambda m, x: _F(m).interpolate(x, size=(5, 5), mode="linear"), F(1, 2, 3), raises=ValueError)


def test_create_graph_pool_pad():
    def avg(m, x):
        y = _F(m).avg_pool2d(x**2, 3, 2, 1, count_include_pad=False)
        (g,) = m.autograd.grad((y**2).sum(), (x,), create_graph=True)
        return (g**2).sum()

    check_op(avg, F(2, 3, 6, 6), dtypes=("float64",))

    def mx(m, x):
        (g,) = m.autograd.grad((_F(m).max_pool2d(x, 3, 2, 1) ** 3).sum(), (x,), create_graph=True)
        return (g**2).sum()

    check_op(mx, F(2, 3, 6, 6), dtypes=("float64",))

    def pad(m, x):
        (g,) = m.autograd.grad(
            (_F(m).pad(x, (1, 2, 2, 1), mode="reflect") ** 3).sum(), (x,), create_graph=True
        )
        return (g**2).sum()

    check_op(pad, F(2, 3, 4, 4), dtypes=("float64",))


def test_norm_dropout_shuffle_layers():
    def inorm(m, x):
        layer = m.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
        with m.no_grad():
            layer.weight.copy_(m.tensor([1.0, 2.0, -1.0]))
            layer.bias.copy_(m.tensor([0.0, 0.5, 1.0]))
        y = layer(x)
        layer.eval()
        return y, layer(x), layer.running_mean, layer.running_var

    check_op(inorm, F(2, 3, 5, 6))
    check_op(lambda m, x: m.nn.InstanceNorm2d(3)(x), F(3, 4, 5))
    check_op(lambda m, x: m.nn.LocalResponseNorm(3)(x), F(2, 5, 4, 6))
    check_op(lambda m, x: m.nn.LocalResponseNorm(4, 1e-2, 0.5, 2.0)(x), F(2, 5, 7))
    check_op(lambda m, x: m.nn.PixelShuffle(2)(x), F(2, 12, 4, 5))
    check_op(lambda m, x: m.nn.PixelUnshuffle(2)(x), F(2, 3, 4, 6))
    check_op(lambda m, x: m.nn.Dropout2d(0.5).eval()(x), F(2, 3, 4, 4))


def test_dropout2d_drops_whole_channels():
    dynagrad.manual_seed(0)
    y = dynagrad.nn.Dropout2d(0.5)(dynagrad.ones(8, 16, 3, 3))
    per_channel = y.reshape(8, 16, 9)
    assert bool((per_channel.std(-1) == 0).all())
    vals = set(np.unique(y.numpy()).tolist())
    assert vals == {0.0, 2.0}
    y1 = dynagrad.nn.Dropout1d(0.25)(dynagrad.ones(4, 8, 5))
    assert set(np.unique(y1.numpy()).tolist()) <= {0.0, float(np.float32(4.0 / 3.0))}


def test_pool_errors():
    x = dynagrad.randn(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="half"):
        dynagrad.nn.functional.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError):
        dynagrad.nn.functional.avg_pool2d(x, 5)
    with pytest.raises(RuntimeError):
        dynagrad.nn.functional.max_pool2d(dynagrad.randn(4), 2)
