"""Graph memory: saved values are dropped as soon as a node's backward has run (unless retain_graph), a graph
dies with its last output (by reference counting: no cycles), and long graphs need no recursion."""
from __future__ import annotations

import gc
import sys
import weakref

import pytest

import dynagrad


@pytest.fixture
def no_gc():
    """Reference counting alone must free graphs: a graph kept alive until the cycle collector runs would
    hold every activation of a training step for a while."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was:
        gc.enable()


def _saved_pair(x):
    a = x.exp()
    b = x.sin()
    return a, b


def test_saved_values_dropped_after_backward(no_gc):
    x = dynagrad.randn(50, requires_grad=True)
    a, b = _saved_pair(x)
    wa, wb = weakref.ref(a), weakref.ref(b)
    loss = (a * b).sum()  # MulBackward0 saves a and b
    del a, b
    assert wa() is not None and wb() is not None  # held by the graph for backward
    node = loss.grad_fn.next_functions[0][0]
    assert node.name() == "MulBackward0"
    loss.backward()
    assert wa() is None and wb() is None  # dropped once MulBackward0 ran
    with pytest.raises(RuntimeError, match="second time"):
        node.saved_tensors  # noqa: B018


def test_retain_graph_keeps_saved_values(no_gc):
    x = dynagrad.randn(50, requires_grad=True)
    a, b = _saved_pair(x)
    wa = weakref.ref(a)
    loss = (a * b).sum()
    del a, b
    loss.backward(retain_graph=True)
    assert wa() is not None
    loss.backward()
    assert wa() is None
    assert dynagrad.allclose(x.grad, 2 * (x.exp() * x.cos() + x.exp() * x.sin()).detach())


def test_saved_values_dropped_during_backward():
    """A node releases its saved values as soon as it has run, before the nodes after it run."""
    x = dynagrad.randn(10, requires_grad=True)
    h1 = x * x
    h2 = h1.exp()
    h3 = h2 * h2
    loss = h3.sum()
    mul_node = h3.grad_fn
    seen = []
    x_node = h1.grad_fn  # runs last
    x_node.register_prehook(lambda grads: seen.append(_released(mul_node) and _released(h2.grad_fn)))
    del h1, h3
    loss.backward()
    assert seen == [True]


def _released(node) -> bool:
    try:
        node.saved_tensors  # noqa: B018
    except RuntimeError:
        return True
    return False


def test_graph_freed_when_last_output_dies(no_gc):
    x = dynagrad.randn(20, requires_grad=True)
    h = (x * 2).exp()
    y = h.sin().sum()
    refs = [weakref.ref(y.grad_fn), weakref.ref(h.grad_fn), weakref.ref(h)]
    del h
    assert all(r() is not None for r in refs)  # y keeps its graph alive
    del y
    assert all(r() is None for r in refs)
    assert x.grad is None


def test_graph_freed_after_backward_and_outputs_die(no_gc):
    x = dynagrad.randn(8, 8, requires_grad=True)
    w = dynagrad.randn(8, 8, requires_grad=True)
    out = (x @ w).relu()
    loss = out.mean()
    node_refs = [weakref.ref(out.grad_fn), weakref.ref(loss.grad_fn)]
    out_ref = weakref.ref(out)
    loss.backward()
    del out, loss
    assert out_ref() is None and all(r() is None for r in node_refs)
    assert x.grad is not None and w.grad is not None  # leaves keep their gradients


def test_outputs_do_not_keep_each_other_alive(no_gc):
    x = dynagrad.randn(6, requires_grad=True)
    parts = x.split(2)  # one node, three outputs
    r0, r1 = weakref.ref(parts[0]), weakref.ref(parts[1])
    node = weakref.ref(parts[0].grad_fn)
    keep = parts[2]
    del parts
    assert r0() is None and r1() is None
    assert node() is not None  # still needed by `keep`
    del keep
    assert node() is None


def test_training_loop_does_not_accumulate_graphs(no_gc):
    w = dynagrad.randn(4, 4, requires_grad=True)
    x = dynagrad.randn(16, 4)
    nodes = []
    for _ in range(5):
        loss = ((x @ w).tanh() ** 2).mean()
        nodes.append(weakref.ref(loss.grad_fn))
        loss.backward()
        with dynagrad.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    del loss
    assert all(r() is None for r in nodes)


def test_hundred_thousand_op_chain_backward():
    x = dynagrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert sys.getrecursionlimit() < 100_000
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing the (already released) chain must not recurse either


def test_hundred_thousand_op_chain_freed_without_backward():
    x = dynagrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    ref = weakref.ref(y.grad_fn)
    del y  # deallocating a 100k-deep graph
    gc.collect()
    assert ref() is None


def test_long_chain_autograd_grad_and_mixed_ops():
    x = dynagrad.ones(3, requires_grad=True)
    y = x
    for i in range(20_000):
        y = (y * 1.0001).tanh() if i % 2 else y + 0.0
    (g,) = dynagrad.autograd.grad(y.sum(), x)
    assert g.shape == (3,) and bool((g > 0).all())
