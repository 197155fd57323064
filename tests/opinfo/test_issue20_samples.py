"""Issue 20's hand-checked sample of mismatches, one test each (values from live torch or golden files)."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad
from helpers import reference

nan, inf = float("nan"), float("inf")


def _np(t):
    return t.detach().numpy()


def test_logcumsumexp_with_inf():
    got = _np(dynagrad.logcumsumexp(dynagrad.tensor([inf, 1.0]), 0))
    np.testing.assert_array_equal(got, reference(lambda torch: torch.logcumsumexp(torch.tensor([inf, 1.0]), 0)))


def test_sign_of_nan_is_zero():
    got = _np(dynagrad.sign(dynagrad.tensor([nan, -2.0])))
    np.testing.assert_array_equal(got, reference(lambda torch: torch.sign(torch.tensor([nan, -2.0]))))
    assert got[0] == 0


def test_lgamma_at_non_positive_integers_is_inf():
    got = _np(dynagrad.lgamma(dynagrad.tensor([-1.0, -3.0, 0.0])))
    np.testing.assert_array_equal(got, reference(lambda torch: torch.lgamma(torch.tensor([-1.0, -3.0, 0.0]))))


def test_erf_keeps_float16():
    assert dynagrad.erf(dynagrad.ones(3, dtype=dynagrad.float16)).dtype.name == reference(
        lambda torch: torch.erf(torch.ones(3, dtype=torch.float16)).dtype)


def test_nansum_of_int_is_int64():
    assert dynagrad.nansum(dynagrad.arange(3)).dtype.name == reference(lambda torch: torch.nansum(torch.arange(3)).dtype)


def test_max_backward_with_nan():
    x = dynagrad.tensor([3.0, nan, -1.0], requires_grad=True)
    dynagrad.max(x).backward()

    def ref(torch):
        t = torch.tensor([3.0, nan, -1.0], requires_grad=True)
        torch.max(t).backward()
        return t.grad
    np.testing.assert_array_equal(_np(x.grad), reference(ref))


def test_integer_pow_with_negative_exponents():
    got = _np(dynagrad.pow(dynagrad.tensor([2, 1, -1, -1, 0]), dynagrad.tensor([-1, -2, -3, -2, 2])))
    np.testing.assert_array_equal(got, reference(
        lambda torch: torch.pow(torch.tensor([2, 1, -1, -1, 0]), torch.tensor([-1, -2, -3, -2, 2]))))
    with pytest.raises(RuntimeError, match="negative integer powers"):
        dynagrad.pow(dynagrad.tensor([2]), -1)


def test_gelu_of_0d():
    got = _np(dynagrad.nn.functional.gelu(dynagrad.tensor(1.0)))
    np.testing.assert_allclose(got, reference(lambda torch: torch.nn.functional.gelu(torch.tensor(1.0))), rtol=1e-6)


def test_median_of_empty_nonzero_of_0d_cummax_of_0d():
    def run(m):
        return [m.median(m.zeros(0)), m.nonzero(m.tensor(1.0)), m.cummax(m.tensor(1.0), 0).values,
                m.cummax(m.tensor(1.0), 0).indices]
    for got, want in zip(run(dynagrad), reference(run)):
        np.testing.assert_array_equal(_np(got), want)


def test_digamma_backward_at_huge_negative_does_not_hang():
    x = dynagrad.tensor(-3e17, requires_grad=True)
    dynagrad.digamma(x).backward()

    def ref(torch):
        t = torch.tensor(-3e17, requires_grad=True)
        torch.digamma(t).backward()
        return t.grad
    np.testing.assert_allclose(_np(x.grad), reference(ref), rtol=1e-5)
    assert np.isnan(_np(dynagrad.polygamma(2, dynagrad.tensor([-1e7 - 0.5], dtype=dynagrad.float64)))).all()


def test_where_needs_a_bool_condition():
    a, b = dynagrad.ones(2), dynagrad.zeros(2)
    assert reference(lambda torch: _raises(lambda: torch.where(torch.tensor([1, 0]), torch.ones(2), torch.zeros(2))))\
        == "RuntimeError"
    with pytest.raises(RuntimeError, match="boolean"):
        dynagrad.where(dynagrad.tensor([1, 0]), a, b)


def test_cross_entropy_needs_long_targets():
    with pytest.raises(RuntimeError, match="Long"):
        dynagrad.nn.functional.cross_entropy(dynagrad.zeros(2, 3), dynagrad.tensor([0, 1]).int())
    assert reference(lambda torch: _raises(lambda: torch.nn.functional.cross_entropy(
        torch.zeros(2, 3), torch.tensor([0, 1]).int()))) == "RuntimeError"


def test_abs_of_bool_raises():
    with pytest.raises(NotImplementedError):
        dynagrad.abs(dynagrad.tensor([True]))
    assert reference(lambda torch: _raises(lambda: torch.abs(torch.tensor([True])))) == "NotImplementedError"


def test_logical_and_broadcast_error_is_runtime_error():
    with pytest.raises(RuntimeError, match="must match"):
        dynagrad.ones(3, dtype=dynagrad.bool).logical_and(dynagrad.ones(2, dtype=dynagrad.bool))


def test_sdpa_fully_masked_row():
    q = np.arange(8, dtype=np.float32).reshape(1, 2, 4) / 8
    mask = np.array([[True, False, True], [False, False, False]])

    def run(m):
        t = m.from_numpy(q)
        kv = m.from_numpy(np.ones((1, 3, 4), np.float32))
        return m.nn.functional.scaled_dot_product_attention(t, kv, kv, attn_mask=m.from_numpy(mask))
    np.testing.assert_allclose(_np(run(dynagrad)), reference(run), rtol=1e-6, equal_nan=True)


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__
    return None
