"""dynagrad.compile never gives a stale value: what a compiled program reads is read fresh at every call
or guarded (issue 17). The first test is the bug report: a compiled module returning (output, loss),
trained with an optimizer outside it, gave the second call's loss from the third call on.

The cause was in the backward walk (the engine's, and its replay in ``compile/autodiff.py``): a root of
backward that another root reaches (``o`` is a root and ``loss`` is computed from ``o``) was visited twice
while counting dependencies, so what lay beyond it never became ready and no gradient reached the
parameters (eagerly too, for ``autograd.backward([o, loss], ...)``).
"""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad as torch
import dynagrad.nn as nn
from dynagrad.autograd import state
from tests.helpers import torch as pt  # None where PyTorch is not installed: the golden values stand in

# PyTorch 2.13's losses for the program of the bug report (torch.manual_seed(0), six steps)
GOLDEN_LOSSES = [0.8356050252914429, 0.769091010093689, 0.7126891613006592, 0.6646268963813782,
                 0.623460590839386, 0.588013231754303]


def _losses(lib, compiled: bool, steps: int = 6) -> list:
    class M(lib.nn.Module):
        def __init__(s):
            super().__init__()
            s.l = lib.nn.Linear(8, 4)

        def forward(s, x, y):
            o = s.l(x)
            return o, lib.nn.functional.mse_loss(o, y)
    lib.manual_seed(0)
    m = M()
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    f = lib.compile(m) if compiled else m
    x, y = lib.randn(16, 8), lib.randn(16, 4)
    out = []
    for _ in range(steps):
        _, loss = f(x, y)
        out.append(loss.item())
        loss.backward()
        opt.step()
        opt.zero_grad()
    return out


def test_issue17_two_outputs_trained_outside_the_compiled_module():
    eager, compiled = _losses(torch, False), _losses(torch, True)
    np.testing.assert_allclose(eager, GOLDEN_LOSSES, rtol=1e-6)
    np.testing.assert_allclose(compiled, GOLDEN_LOSSES, rtol=1e-6)
    if pt is not None:
        np.testing.assert_allclose(compiled, _losses(pt, False), rtol=1e-6)


def test_backward_from_roots_that_reach_each_other():
    def run(lib):
        w = lib.ones(3, requires_grad=True)
        a = w * 2
        b = (a * a).sum()
        c = a.sum() * 3
        lib.autograd.backward([a, b, c], [lib.ones(3), lib.tensor(1.0), lib.tensor(2.0)], retain_graph=True)
        (g,) = lib.autograd.grad([b, a], [w], [lib.tensor(1.0), lib.ones(3)])
        return w.grad.tolist(), g.tolist()
    got = run(torch)
    assert got == ([22.0, 22.0, 22.0], [10.0, 10.0, 10.0])
    if pt is not None:
        assert got == run(pt)


def test_nothing_is_patched_while_tracing():
    """The tracer is reached through ``state.tracer`` only: the core's functions stay what they are."""
    from dynagrad import autograd
    from dynagrad.optim import optimizer
    seen = {}
    before = (torch.Tensor.__dict__["grad"], autograd.run_backward, torch.optim.SGD.step,
              optimizer.Optimizer.zero_grad, torch.Tensor.item, torch.Tensor._wrap)
    lin = nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)

    def step(x):
        seen["inside"] = (torch.Tensor.__dict__["grad"], autograd.run_backward, torch.optim.SGD.step,
                          optimizer.Optimizer.zero_grad, torch.Tensor.item, torch.Tensor._wrap)
        seen["tracer"] = state.tracer
        opt.zero_grad()
        loss = lin(x).sum()
        loss.backward()
        opt.step()
        return loss
    torch.compile(step)(torch.ones(3, 2))
    assert seen["inside"] == before
    assert seen["tracer"] is not None and state.tracer is None and state.transform_hook is None


def _pair(make):
    torch.manual_seed(0)
    m1 = make()
    m2 = make()
    m2.load_state_dict(m1.state_dict())
    return m1, m2


def test_compiled_dropout_draws_eagers_numbers():
    make = lambda: nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4),  # noqa: E731
                                 nn.Dropout(0.1))
    m1, m2 = _pair(make)
    cm = torch.compile(m2)
    x = torch.randn(5, 8)
    for seed in range(3):
        torch.manual_seed(seed)
        a = m1(x)
        a.pow(2).sum().backward()
        after_eager = torch.rand(1).item()  # the stream continues where eager left it
        torch.manual_seed(seed)
        b = cm(x)
        b.pow(2).sum().backward()
        assert torch.rand(1).item() == after_eager
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert len(cm._compiled.programs) == 1


def test_random_creation_inside_a_compiled_function():
    def f(x):
        return x + torch.randn(4, 8) * 0.1 + torch.rand(32)[:8] + torch.randn(3).sum() + \
            torch.randint(0, 5, (8,)).float()
    cf = torch.compile(f)
    x = torch.zeros(4, 8)
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        a = f(x)
        torch.manual_seed(seed)
        np.testing.assert_array_equal(a.numpy(), cf(x).numpy())
    assert len(cf.programs) == 1
    g = torch.Generator().manual_seed(3)
    h = torch.compile(lambda x: x + torch.rand(x.shape, generator=g))
    first, second = h(torch.zeros(2)), h(torch.zeros(2))
    g.manual_seed(3)
    assert first.tolist() == torch.rand(2, generator=g).tolist()
    assert second.tolist() == torch.rand(2, generator=g).tolist()


def test_a_draw_the_tracer_cannot_see_runs_eagerly():
    from dynagrad import random as R

    def f(x):  # NumPy's generator used directly, not through dynagrad.random
        return x + torch.from_numpy(R.default_generator._np.random(3).astype(np.float32))
    cf = torch.compile(f)
    a, b = cf(torch.zeros(3)), cf(torch.zeros(3))
    assert not np.array_equal(a.numpy(), b.numpy())
    assert not cf.programs and "cannot see" in cf.events[-1]["reason"]
    # reseeding inside the function is Python state a program could not repeat
    k = torch.compile(lambda x: (torch.manual_seed(0), x + torch.rand(2))[1])
    assert k(torch.zeros(2)).tolist() == k(torch.zeros(2)).tolist() and not k.programs


# -- Python values: guarded where the trace used them, refused where the function changes them -------------

SCALE = 2.0


def test_module_attributes_and_globals_are_guarded():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.scale = 1.5

        def forward(self, x):
            return self.lin(x) * self.scale * SCALE
    global SCALE
    m = M()
    cm = torch.compile(m)
    x = torch.randn(2, 3)
    with torch.no_grad():
        for scale, g in ((1.5, 2.0), (3.0, 2.0), (3.0, -1.0)):
            m.scale, SCALE = scale, g
            np.testing.assert_allclose(cm(x).numpy(), m(x).numpy(), rtol=1e-6)
        m.lin = nn.Linear(3, 3)  # a replaced submodule: its parameters, not the old ones
        np.testing.assert_allclose(cm(x).numpy(), m(x).numpy(), rtol=1e-6)
        m.lin.weight = nn.Parameter(torch.zeros(3, 3))  # a replaced parameter
        np.testing.assert_allclose(cm(x).numpy(), m(x).numpy(), rtol=1e-6)
    SCALE = 2.0
    reasons = [e["reason"] for e in cm._compiled.events if e["kind"] == "retrace"]
    assert "scale changed from 1.5 to 3.0" in reasons[0] and "SCALE changed from 2.0 to -1.0" in reasons[1]
    assert len(reasons) == 4


def test_functions_that_change_python_state_run_eagerly():
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.calls = 0
            self.hidden = None

        def forward(self, x):
            self.calls += 1
            out = self.lin(x)
            self.hidden = out.detach()  # state carried to the next call
            return out
    m = Counting()
    cm = torch.compile(m)
    for _ in range(3):
        out = cm(torch.ones(1, 2))
    assert m.calls == 3 and m.hidden is not None and np.array_equal(m.hidden.numpy(), out.detach().numpy())
    assert not cm._compiled.programs and "calls" in cm._compiled.events[-1]["reason"]
    log = []
    f = torch.compile(lambda x: (log.append(1), x * 2)[1])
    for _ in range(3):
        f(torch.ones(1))
    assert log == [1, 1, 1]


def test_print_runs_at_every_call(capsys):
    @torch.compile
    def f(x):
        y = x * 2
        print("total", y.sum().item())
        return y + 1
    outs = [f(torch.full((2,), v)).tolist() for v in (1.0, 2.0, 3.0)]
    assert outs == [[3.0, 3.0], [5.0, 5.0], [7.0, 7.0]]
    assert capsys.readouterr().out.split("\n")[:3] == ["total 4.0", "total 8.0", "total 12.0"]


def test_item_is_a_graph_break_with_the_right_answer():
    @torch.compile
    def f(x, n):
        return x * x.sum().item() + n
    for v in (1.0, 2.0, 1.0):
        assert f(torch.full((2,), v), 3).tolist() == [2 * v * v + 3] * 2
    assert len(f.programs) == 2  # one per value read; the third call reuses the first


def test_frozen_parameters_default_dtype_and_returned_constants():
    lin = nn.Linear(2, 2)
    cm = torch.compile(lin)
    x = torch.ones(1, 2)
    cm(x).sum().backward()
    assert lin.weight.grad is not None
    lin.weight.grad = None
    lin.weight.requires_grad_(False)  # fine-tuning freezes a layer: a new program, no gradient for it
    cm(x).sum().backward()
    assert lin.weight.grad is None and lin.bias.grad is not None
    f = torch.compile(lambda x: (x + 1, torch.zeros(2)))
    _, z = f(torch.ones(2))
    z.add_(5)  # the caller owns what it was given: the next call is not affected
    assert f(torch.ones(2))[1].tolist() == [0.0, 0.0]
    g = torch.compile(lambda x: x + torch.ones(2))
    assert g(torch.zeros(2)).dtype == torch.float32
    try:
        torch.set_default_dtype(torch.float64)
        assert g(torch.zeros(2, dtype=torch.float64)).dtype == torch.float64
        assert "default dtype" in g.events[-1]["reason"] or len(g.programs) == 2
    finally:
        torch.set_default_dtype(torch.float32)


def test_gradient_hooks_added_after_compiling_a_training_step():
    lin = nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = lin(x).sum()
        loss.backward()
        return loss
    cs = torch.compile(step)
    x = torch.ones(4, 2)
    cs(x)
    cs(x)
    seen = []
    lin.weight.register_hook(lambda g: seen.append(g.clone()) or g * 0)
    cs(x)
    assert len(seen) == 1 and lin.weight.grad.abs().sum().item() == 0.0


def test_inplace_change_before_backward_raises_as_eagerly():
    m = nn.Linear(4, 3)
    cm = torch.compile(m)
    x = torch.randn(2, 4, requires_grad=True)
    for f in (m, cm, cm):
        out = f(x)
        with torch.no_grad():
            m.weight.mul_(0.5)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
    x2 = torch.randn(2, 4)  # the weight is not saved when the input needs no gradient: no error
    for f in (m, cm):
        out = f(x2)
        with torch.no_grad():
            m.weight.mul_(0.5)
        out.sum().backward()


def test_autocast_is_compiled_and_guarded():
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    cm = torch.compile(m)
    x = torch.randn(3, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = m(x), cm(x)
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(a.float().detach().numpy(), b.float().detach().numpy())
        b.float().sum().backward()
    c = cm(x)  # autocast off: another program
    assert c.dtype == torch.float32 and len(cm._compiled.programs) == 2
    assert "autocast changed" in cm._compiled.events[-1]["reason"]
    np.testing.assert_allclose(c.detach().numpy(), m(x).detach().numpy(), rtol=1e-6)


def test_closure_variables_are_guarded():
    scale = 2.0

    def f(x):
        return x * scale
    cf = torch.compile(f)
    assert cf(torch.ones(2)).tolist() == [2.0, 2.0]
    scale = 5.0  # noqa: F841 - read by f through its closure
    assert cf(torch.ones(2)).tolist() == [5.0, 5.0]
    assert "scale changed from 2.0" in cf.events[-1]["reason"]


def test_a_scheduler_stepped_inside_the_function_runs_it_eagerly():
    lin = nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)

    def step(x):
        opt.zero_grad()
        lin(x).sum().backward()
        opt.step()
        sched.step()  # changes the learning rate: Python state a program would not change
        return opt.param_groups[0]["lr"]
    cs = torch.compile(step)
    assert [cs(torch.ones(1, 2)) for _ in range(3)] == [0.05, 0.025, 0.0125]
    assert not cs.programs
