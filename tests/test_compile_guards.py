"""dynagrad.compile guards, retraces, graph breaks, the cache, logging and explain; eager fallbacks."""
from __future__ import annotations

import logging

import numpy as np
import pytest

import dynagrad as torch
import dynagrad.nn as nn


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "dynagrad.compile"]


def test_decorator_forms_and_code():
    @torch.compile
    def f(x):
        return (x * 2 + 1).relu().sum()

    @torch.compile(dynamic=False)
    def g(x):
        return x.exp()
    assert f(torch.ones(3)).item() == 9.0
    assert g(torch.zeros(2)).tolist() == [1.0, 1.0]
    assert f.code.startswith("def forward(flat):")
    assert "ReluBackward0" in str(f.graph)
    assert callable(torch.compile) and torch.compile.explain is torch.compiler.explain


def test_retrace_reasons_are_logged(caplog):
    f = torch.compile(lambda x, n: x * n)
    with caplog.at_level(logging.INFO, logger="dynagrad.compile"):
        f(torch.ones(2, 3), 2)
        f(torch.ones(2, 3), 2)
        f(torch.ones(2, 3, dtype=torch.float64), 2)
        f(torch.ones(2, 3), 3)
        f(torch.ones(2, 3, requires_grad=True), 2)
        with torch.no_grad():
            f(torch.ones(2, 3, requires_grad=True), 2)
    msgs = _messages(caplog)
    assert sum(m.endswith(": tracing") for m in msgs) == 1
    retraces = [m for m in msgs if "retracing" in m]
    assert len(retraces) == 4
    assert "dtype changed from float32" in retraces[0]
    assert "Python value changed from 2" in retraces[1]
    assert "requires_grad changed from False" in retraces[2]
    assert "grad mode changed from True" in retraces[3]


def test_dims_become_symbolic_after_second_shape(caplog):
    f = torch.compile(lambda x, w: (x @ w).relu().sum(0))
    w = torch.randn(4, 3)
    with caplog.at_level(logging.INFO, logger="dynagrad.compile"):
        for n in (5, 8, 2, 13, 8):
            x = torch.randn(n, 4)
            np.testing.assert_allclose(f(x, w).numpy(), (x @ w).relu().sum(0).numpy(), rtol=1e-6)
    assert len(f.programs) == 2
    assert any("now symbolic" in m for m in _messages(caplog))
    # size 1 is specialised (broadcasting differs): a new trace
    f(torch.randn(1, 4), w)
    assert len(f.programs) == 3


def test_parameter_identity_and_training_flag_are_guarded():
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    cm = torch.compile(m)
    m.eval()
    x = torch.randn(2, 3)
    with torch.no_grad():
        a = cm(x)
        m[0].weight = nn.Parameter(torch.zeros(3, 3))
        b = cm(x)
    np.testing.assert_allclose(b.numpy(), np.broadcast_to(m[0].bias.detach().numpy(), (2, 3)), rtol=1e-6)
    assert not np.allclose(a.numpy(), b.numpy())
    m.train()  # dropout now draws random numbers: a new program, drawing anew at every call
    with torch.no_grad():
        c1, c2 = cm(x), cm(x)
    assert not np.allclose(c1.numpy(), c2.numpy())
    assert len(cm._compiled.programs) == 3  # eval, eval with a new weight, train


def test_graph_break_on_tensor_value_specialises_per_path(caplog):
    def f(x):
        y = x * 2
        if y.sum() > 0:
            return y.exp()
        return y.tanh() - 1
    cf = torch.compile(f)
    with caplog.at_level(logging.INFO, logger="dynagrad.compile"):
        for v in (1.0, -1.0, 2.0, -3.0, 0.5):
            x = torch.full((3,), v)
            np.testing.assert_allclose(cf(x).numpy(), f(x).numpy(), rtol=1e-6)
    assert len(cf.programs) == 2  # one per path, no more
    msgs = _messages(caplog)
    breaks = [m for m in msgs if "graph break" in m]
    assert len(breaks) == 2 and all("test_compile_guards.py" in m and "if y.sum() > 0" in m for m in breaks)
    assert any("differs from True" in m for m in msgs)
    report = torch.compile.explain(f, torch.ones(3))
    assert report.graph_count == 1 and report.graph_break_count == 1
    assert "if y.sum() > 0" in str(report)


def test_returned_item_is_not_a_guard():
    f = torch.compile(lambda x: (x * x).sum().item())
    assert [f(torch.full((2,), v)) for v in (1.0, 2.0, 3.0)] == [2.0, 8.0, 18.0]
    assert len(f.programs) == 1


def test_cache_is_bounded(caplog, monkeypatch):
    from dynagrad import compile as dc
    monkeypatch.setattr(dc, "cache_size_limit", 3)
    f = torch.compile(lambda x, k: x + k)
    with caplog.at_level(logging.INFO, logger="dynagrad.compile"):
        for k in range(6):
            assert f(torch.zeros(1), k).item() == k
    assert len(f.entries) == 3
    assert any("cache_size_limit" in m for m in _messages(caplog))


def test_inplace_and_buffers():
    def f(x, buf):
        y = x * 2
        y += 1
        buf.mul_(0.5).add_(y.sum())
        return y
    buf1, buf2 = torch.ones(2), torch.ones(2)
    cf = torch.compile(f)
    for v in (1.0, 2.0, 3.0):
        x = torch.full((2,), v)
        np.testing.assert_allclose(f(x, buf1).numpy(), cf(x, buf2).numpy())
        np.testing.assert_allclose(buf1.numpy(), buf2.numpy())


def test_grad_accumulation_without_zero_grad():
    w1 = torch.ones(3, requires_grad=True)
    w2 = torch.ones(3, requires_grad=True)

    def f(w, x):
        (w * x).sum().backward()
    cf = torch.compile(f)
    for v in (1.0, 2.0, 3.0):
        f(w1, torch.full((3,), v))
        cf(w2, torch.full((3,), v))
        np.testing.assert_allclose(w1.grad.numpy(), w2.grad.numpy())
    assert w2.grad.tolist() == [6.0, 6.0, 6.0]


def test_autograd_grad_inside():
    def f(x):
        y = (x ** 3).sum()
        (g,) = torch.autograd.grad(y, x)
        return g
    cf = torch.compile(f)
    for v in (1.0, 2.0):
        x = torch.full((2,), v, requires_grad=True)
        np.testing.assert_allclose(cf(x).numpy(), f(x).numpy())


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


@pytest.mark.parametrize("case", ["custom_function", "hook", "tensor_hook", "view_inplace", "create_graph"])
def test_fallbacks_run_eagerly_and_correctly(case, caplog):
    w = torch.ones(3, requires_grad=True)
    if case == "custom_function":
        def f(x):
            loss = Square.apply(w * x).sum()
            loss.backward()
            return loss
    elif case == "hook":
        lin = nn.Linear(3, 1)
        seen = []
        lin.register_forward_hook(lambda m, i, o: seen.append(1))

        def f(x):
            return lin(x[None]).sum() + (w * x).sum()
    elif case == "tensor_hook":
        def f(x):
            y = w * x
            y.register_hook(lambda g: g * 2)
            y.sum().backward()
            return y.detach()
    elif case == "view_inplace":
        def f(x):
            y = x * 2
            v = y[1:]
            v.mul_(10)
            return y
    else:
        def f(x):
            (g,) = torch.autograd.grad((w * x).pow(3).sum(), w, create_graph=True)
            return g.sum()
    cf = torch.compile(f)
    with caplog.at_level(logging.INFO, logger="dynagrad.compile"):
        for v in (1.0, 2.0, 3.0):
            torch.manual_seed(0)
            w.grad = None
            a = f(torch.full((3,), v))
            ga = None if w.grad is None else w.grad.clone()
            torch.manual_seed(0)
            w.grad = None
            b = cf(torch.full((3,), v))
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
            if ga is not None:
                np.testing.assert_allclose(ga.numpy(), w.grad.numpy())
    assert any("running eagerly" in m for m in _messages(caplog))
    assert not cf.programs


def test_fullgraph_raises_instead_of_breaking():
    def f(x):
        return x.exp() if x.sum() > 0 else x

    with pytest.raises(RuntimeError, match="graph breaks at .*test_compile_guards.py"):
        torch.compile(f, fullgraph=True)(torch.ones(2))
    with pytest.raises(RuntimeError, match="cannot be captured"):
        torch.compile(lambda x: Square.apply(x), fullgraph=True)(torch.ones(2, requires_grad=True))
    assert torch.compile(lambda x: x.exp(), fullgraph=True)(torch.zeros(1)).item() == 1.0


def test_numpy_escapes_are_guarded_and_returned_arrays_are_not():
    scipy_linalg = pytest.importorskip("scipy.linalg")

    def f(x):  # SciPy works on a NumPy copy the tracer cannot follow: the program checks the array
        return (torch.from_numpy(scipy_linalg.expm(x.detach().numpy())) * 2).sum()
    cf = torch.compile(f)
    for v in (0.1, 0.2, 0.1):
        x = torch.eye(3) * v
        assert cf(x).item() == pytest.approx(f(x).item(), rel=1e-6)
    assert len(cf.programs) == 2
    g = torch.compile(lambda x: (x * 2).numpy())
    assert g(torch.ones(2)).tolist() == [2.0, 2.0] and g(torch.full((2,), 3.0)).tolist() == [6.0, 6.0]
    assert len(g.programs) == 1
