"""torch.lgamma / Tensor.digamma and friends resolve to dynagrad.special's differentiable primitives."""
import numpy as np
import pytest

import dynagrad


def _inputs(lib):
    return lib.tensor([0.5, 2.0, 3.5], dtype=lib.float64, requires_grad=True)


def _run(lib):
    x = _inputs(lib)
    parts = [lib.lgamma(x), x.digamma(), x.polygamma(1), lib.erfc(x), (x / 4).erfinv(), x.lgamma()]
    total = sum(p.sum() for p in parts)
    total.backward()
    return [p.detach().numpy() for p in parts], x.grad.numpy()


def test_special_aliases_values_and_gradients():
    values, grad = _run(dynagrad)
    # lgamma(2) = 0, digamma(2) = 1 - euler_gamma, erfc(0.5) known
    assert values[0][1] == pytest.approx(0.0, abs=1e-12)
    assert values[1][1] == pytest.approx(1 - 0.5772156649015329, rel=1e-12)
    assert values[3][0] == pytest.approx(0.4795001221869535, rel=1e-12)
    assert values[2][0] == pytest.approx(np.pi ** 2 / 2, rel=1e-13)  # trigamma(1/2); PyTorch's is off by 3e-10
    torch = pytest.importorskip("torch")
    ref_values, ref_grad = _run(torch)
    for a, b in zip(values, ref_values):
        np.testing.assert_allclose(a, b, rtol=1e-8)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-7)
