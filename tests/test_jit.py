"""dynagrad.jit: trace gives a callable graph module with a readable IR and code; script is refused."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad as torch
import dynagrad.nn as nn
from tests.compile_models import MLP, init_from_numpy


def test_trace_module():
    m = init_from_numpy(MLP(), 0)
    x = torch.randn(5, 64)
    tm = torch.jit.trace(m, x)
    assert "AddmmBackward0" in str(tm.graph) and "ext fc1.weight" in str(tm.graph)
    assert tm.code.startswith("def backward") or "def forward" in tm.code
    y = torch.randn(5, 64)
    np.testing.assert_allclose(tm(y).detach().numpy(), m(y).detach().numpy(), rtol=1e-6)
    assert tm.fc1 is m.fc1  # attributes pass through
    out = tm(y)
    out.sum().backward()  # the traced module is differentiable
    assert m.fc1.weight.grad is not None


def test_trace_function_and_tuple_inputs():
    def f(a, b):
        return (a @ b).relu(), a.sum()
    a, b = torch.randn(3, 4), torch.randn(4, 2)
    tf = torch.jit.trace(f, (a, b))
    r1, r2 = tf(a, b)
    np.testing.assert_allclose(r1.numpy(), f(a, b)[0].numpy())
    assert r2.item() == pytest.approx(a.sum().item())
    assert repr(tf).startswith("TracedModule(")


def test_script_is_not_supported():
    with pytest.raises(RuntimeError, match="use dynagrad.jit.trace"):
        torch.jit.script(nn.Linear(2, 2))
    assert not torch.jit.is_scripting()
