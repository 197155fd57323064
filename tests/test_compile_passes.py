"""Each dynagrad.compile pass on its own: it rewrites the graph as it says and what the graph computes (run
by the IR interpreter) does not change."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad as torch
from dynagrad.compile import fusion, guards, interp, memory, passes, tracer
from dynagrad.compile.ir import Graph


def trace(fn, *args):
    flat, _ = guards.flatten(args, {})
    mods, reach = tracer.scan(fn, flat)
    result, tr = tracer.run(fn, args, {}, flat, mods, reach)
    assert tr.tracer.failed is None, tr.tracer.failed
    return tr.graph, flat


def run(g: Graph, flat):
    env = interp.run_graph(g, {i: x._data for i, x in enumerate(flat)})
    return interp.outputs(g, env)


def ops(g: Graph):
    return [n.name() for n in g.nodes if n.op in ("op", "np", "kernel")]


def check_same(fn, p, *args):
    g, flat = trace(fn, *args)
    before = run(g, flat)
    n_before = len(ops(g))
    p(g)
    after = run(g, flat)
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    return g, n_before


x = torch.randn(4, 5)
y = torch.randn(4, 5)


def test_dce_removes_unused_values():
    def f(a):
        unused = a.exp() * 3  # noqa: F841
        return a + 1
    g, n = check_same(f, passes.dce, x)
    assert n == 3 and ops(g) == ["AddBackward0"]


def test_cse_merges_identical_computations():
    def f(a, b):
        return (a * b).sum() + (a * b).sum()
    g, n = check_same(f, passes.cse, x, y)
    assert ops(g).count("MulBackward0") == 1 and ops(g).count("SumBackward0") == 1


def test_cse_keeps_ops_with_a_backward_apart():
    w = torch.randn(5, requires_grad=True)

    def f(a):
        return (a * w).sum() + (a * w).sum()
    g, _ = check_same(f, passes.cse, x)
    assert ops(g).count("MulBackward0") == 2


def test_constant_folding():
    def f(a):
        c = torch.ones(3) * 2 + 1  # built from constants
        return a[:, :3] * c.exp()
    g, n = check_same(f, passes.fold_constants, x)
    assert "ExpBackward0" not in ops(g) and "AddBackward0" not in ops(g)
    assert any(node.meta.get("folded") for node in g.nodes if node.op == "const")


@pytest.mark.parametrize("expr,gone", [
    (lambda a: a * 1, "MulBackward0"), (lambda a: 1 * a, "MulBackward0"), (lambda a: a + 0, "AddBackward0"),
    (lambda a: a - 0, "SubBackward0"), (lambda a: a / 1, "DivBackward0"),
    (lambda a: a.t().t(), "PermuteBackward0"), (lambda a: a.permute(1, 0).permute(1, 0), "PermuteBackward0"),
    (lambda a: a.reshape(4, 5), "ViewBackward0"), (lambda a: a.float(), "ToCopyBackward0"),
])
def test_simplify_identities(expr, gone):
    g, _ = check_same(lambda a: expr(a).exp(), passes.simplify, x)
    assert gone not in ops(g)
    assert ops(g) == ["ExpBackward0"]


def test_simplify_reshape_of_reshape():
    g, _ = check_same(lambda a: a.reshape(20).reshape(2, 10).exp(), passes.simplify, x)
    views = [n for n in g.nodes if n.op == "op" and n.target.__name__ == "ViewBackward0"]
    assert len(views) == 1 and views[0].args[0].node.op == "input"


def test_simplify_keeps_broadcasting_identities():
    b = torch.randn(3, 4, 5)
    g, _ = check_same(lambda a, c: (a + c * 0).exp(), passes.simplify, x, b)  # c*0 broadcasts: not removed
    assert "AddBackward0" in ops(g)


def test_fusion_of_elementwise_chain_and_reduction():
    def f(a, b):
        return ((a * 2 + b).relu() * 3 - 1).exp().sum(1)
    g, n = check_same(f, fusion.fuse, x, y)
    assert ops(g) == ["fused_kernel"]
    k = [n for n in g.nodes if n.op == "kernel"][0]
    assert len(k.meta["nodes"]) == 7


def test_fusion_stops_at_shared_values_and_effects():
    def f(a, b):
        c = a * 2 + 1
        return c.exp() + c.tanh()  # c has two readers: its chain ends there
    g, _ = check_same(f, fusion.fuse, x, y)
    assert ops(g) == ["fused_kernel", "TanhBackward0", "fused_kernel"]  # (a*2+1), tanh, (exp, +)
    w = torch.ones(5)

    def h(a):
        b = a * 2
        w.add_(1)  # a side effect between two elementwise ops ends the chain
        return b + 1
    g, _ = trace(h, x)
    fusion.fuse(g)
    assert "fused_kernel" not in ops(g)


def test_buffer_plan_reuses_buffers_by_liveness():
    def f(a, b):
        s1 = (a * 2 + 1).exp().sum()  # scratch for the chain, a buffer for the sum
        s2 = (b * 3 - 1).tanh().sum()  # the same shapes again, after the first ones died
        return s1 + s2
    g, flat = trace(f, x, y)
    before = run(g, flat)
    fusion.fuse(g)
    bufs = memory.plan(g)
    kernels = [n for n in g.nodes if n.op == "kernel"]
    assert len(kernels) == 2
    assert kernels[0].meta["scratch"] == kernels[1].meta["scratch"]  # reused: the first is dead
    assert kernels[0].meta["buffer"] != kernels[1].meta["buffer"]  # both sums are live at the add
    assert len(bufs) == 3
    np.testing.assert_allclose(run(g, flat)[0], before[0], rtol=1e-6)


def test_buffer_plan_never_pools_outputs():
    for f in (lambda a: (a * 2 + 1).exp(), lambda a: (a * 2 + 1).exp().sum().reshape(1),
              lambda a: (a * 2 + 1).exp().t()):
        g, _ = trace(f, x)
        fusion.fuse(g)
        memory.plan(g)
        assert all("buffer" not in n.meta for n in g.nodes if n.op == "kernel")  # not even through a view
    cf = torch.compile(lambda a: (a * 2 + 1).exp().sum().reshape(1))
    first = cf(x)
    second = cf(x * 2)
    assert first.item() != second.item()


def test_compiled_programs_use_out_buffers():
    f = torch.compile(lambda a, b: ((a * 2 + b).relu() * 3).sum() + a.sum())
    for _ in range(3):
        np.testing.assert_allclose(f(x, y).numpy(), (((x * 2 + y).relu() * 3).sum() + x.sum()).numpy(), rtol=1e-6)
    assert "out=B" in f.code and "_empty(" in f.code


def test_sink_effects_puts_checks_first():
    w = torch.ones(3)

    def f(a):
        w.mul_(2)  # a side effect, then a value the program depends on
        if (a * 3).sum() > 0:
            return a + 1
        return a - 1
    g, _ = trace(f, torch.ones(3))
    passes.sink_effects(g)
    kinds = [n.op for n in g.nodes]
    assert kinds.index("guard") < max(i for i, n in enumerate(g.nodes) if n.meta.get("effect"))
    w2 = torch.ones(3)
    cf = torch.compile(lambda a: (w2.mul_(2), a + 1 if (a * 3).sum() > 0 else a - 1)[1])
    for v in (1.0, -1.0, 2.0):
        cf(torch.full((3,), v))
    assert w2.tolist() == [8.0, 8.0, 8.0]  # one doubling per call, whichever path


def test_numba_kernel_matches_numpy():
    pytest.importorskip("numba")
    a, b = torch.randn(200, 300), torch.randn(200, 300)
    f = torch.compile(lambda a, b: ((a * 2 + b).relu() * 3 - 1).tanh(), backend="numba")
    ref = ((a * 2 + b).relu() * 3 - 1).tanh()
    for _ in range(2):
        np.testing.assert_allclose(f(a, b).numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
    assert "NK" in f.code
