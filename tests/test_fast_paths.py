"""Faster paths give PyTorch's bits: each case compares dynagrad with torch exactly (np.array_equal), and
where torch is absent with the NumPy expression PyTorch's CPU kernel is known to compute."""
from __future__ import annotations

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
