"""As in PyTorch, an op keeps an input for backward only when the gradient that reads it is wanted. So a
parameter changed in place after ``x @ w`` (x not requiring grad) is no error, while one whose value a
wanted gradient reads still is. Checked against PyTorch live when it is installed."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad

try:
    import torch
except ImportError:  # pragma: no cover - the golden values below still run
    torch = None

X = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
WL = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)

CASES = {  # name -> (inputs as (array, requires_grad), forward)
    "mul": ([(X, False), (X + 1, True)], lambda lib, a, b: (a * b).sum()),
    "mul-number": ([(X, True)], lambda lib, a: (a * 2.0).sum()),
    "div": ([(X + 1, True), (X + 2, False)], lambda lib, a, b: (a / b).sum()),
    "matmul": ([(X, False), (W, True)], lambda lib, a, b: (a @ b).sum()),
    "mm-3d": ([(np.stack([X, X]), False), (W, True)], lambda lib, a, b: (a @ b).sum()),
    "linear": ([(X, False), (WL, True)], lambda lib, a, w: lib.nn.functional.linear(a, w).sum()),
    "linear-3d": ([(np.stack([X, X]), False), (WL, True)],
                  lambda lib, a, w: lib.nn.functional.linear(a, w).sum()),
    "dot": ([(X[0], False), (X[1], True)], lambda lib, a, b: lib.dot(a, b)),
    "mv": ([(W.T.copy(), False), (X[0], True)], lambda lib, a, v: (a @ v).sum()),
}


def _run(lib, name):
    specs, fn = CASES[name]
    ts = [lib.tensor(a, requires_grad=g) for a, g in specs]
    out = fn(lib, *ts)
    with lib.no_grad():
        for t in ts:
            if t.requires_grad:
                t.mul_(3)  # the op did not keep this one: its gradient reads only the others
    out.backward()
    return [t.grad.numpy().copy() for t in ts if t.requires_grad]


@pytest.mark.parametrize("name", list(CASES))
def test_changing_an_input_backward_does_not_read_is_fine(name):
    got = _run(dynagrad, name)
    if torch is not None:
        want = _run(torch, name)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[0], EXPECTED[name](), rtol=1e-6, atol=1e-6)


EXPECTED = {  # the gradients by hand: none depends on the value that was changed in place
    "mul": lambda: X,
    "mul-number": lambda: np.full_like(X, 2.0),
    "div": lambda: 1 / (X + 2),
    "matmul": lambda: X.T @ np.ones((2, 4), np.float32),
    "mm-3d": lambda: 2 * X.T @ np.ones((2, 4), np.float32),
    "linear": lambda: np.ones((2, 4), np.float32).T @ X,
    "linear-3d": lambda: 2 * np.ones((2, 4), np.float32).T @ X,
    "dot": lambda: X[0],
    "mv": lambda: W @ np.ones(4, np.float32),
}


def test_linear_gradients_unchanged_with_and_without_input_grad():
    x, w, b = (dynagrad.tensor(X, requires_grad=True), dynagrad.tensor(WL, requires_grad=True),
               dynagrad.zeros(4, requires_grad=True))
    dynagrad.nn.functional.linear(x, w, b).pow(2).sum().backward()
    w2 = dynagrad.tensor(WL, requires_grad=True)
    dynagrad.nn.functional.linear(dynagrad.tensor(X), w2, b.detach()).pow(2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("op", ["mul", "matmul", "linear"])
def test_a_value_a_wanted_gradient_reads_is_still_guarded(op):
    a = dynagrad.tensor(X, requires_grad=True)
    b = dynagrad.tensor(X + 1 if op == "mul" else (W if op == "matmul" else WL), requires_grad=True)
    out = {"mul": lambda: a * b, "matmul": lambda: a @ b,
           "linear": lambda: dynagrad.nn.functional.linear(a, b)}[op]().sum()
    with dynagrad.no_grad():
        a.mul_(3)  # b's gradient reads a
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()
