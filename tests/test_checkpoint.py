"""Activation checkpointing gives the plain path's gradients while holding fewer saved values."""
import numpy as np
import pytest

import dynagrad
from dynagrad import memory
from dynagrad.utils.checkpoint import checkpoint, checkpoint_sequential


def _weights():
    rng = np.random.default_rng(0)
    return [dynagrad.tensor(rng.standard_normal((32, 32)).astype(np.float32) * 0.2, requires_grad=True)
            for _ in range(2)]


def _block(x, w1, w2, dropout=False):
    h = x
    for _ in range(6):
        h = (h @ w1).tanh() @ w2
        if dropout:  # a random mask: recomputation must draw the same one
            h = h * (dynagrad.rand(h.shape) > 0.3).float() / 0.7
    return h


@pytest.mark.parametrize("dropout", [False, True])
def test_checkpoint_matches_plain_gradients(dropout):
    w1, w2 = _weights()
    x = dynagrad.randn(8, 32, requires_grad=True)
    dynagrad.manual_seed(1)
    plain = _block(x, w1, w2, dropout).pow(2).sum()
    plain.backward()
    grads = [t.grad.clone() for t in (x, w1, w2)]
    for t in (x, w1, w2):
        t.grad = None
    dynagrad.manual_seed(1)
    ck = checkpoint(_block, x, w1, w2, dropout, use_reentrant=False).pow(2).sum()
    assert ck.item() == pytest.approx(plain.item(), rel=1e-6)
    ck.backward()
    for g, t in zip(grads, (x, w1, w2)):
        np.testing.assert_allclose(t.grad.numpy(), g.numpy(), rtol=1e-5, atol=1e-6)


def test_checkpoint_cuts_saved_memory():
    w1, w2 = _weights()
    x = dynagrad.randn(64, 32)
    out = _block(x, w1, w2)
    plain_bytes = memory.stats()["graph_saved_bytes"]
    del out
    out = checkpoint(_block, x, w1, w2, use_reentrant=False)
    ck_bytes = memory.stats()["graph_saved_bytes"]
    assert ck_bytes < plain_bytes / 4, (ck_bytes, plain_bytes)
    out.sum().backward()
    assert w1.grad is not None


def test_checkpoint_without_grad_just_runs():
    w1, w2 = _weights()
    with dynagrad.no_grad():
        out = checkpoint(_block, dynagrad.randn(2, 32), w1, w2, use_reentrant=False)
    assert out.grad_fn is None


def test_checkpoint_warns_without_use_reentrant():
    w1, w2 = _weights()
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(_block, dynagrad.randn(2, 32), w1, w2)


def test_nondeterministic_function_is_refused():
    w = dynagrad.randn(4, 4, requires_grad=True)
    calls = []

    def f(x):
        calls.append(1)
        return (x @ w).exp() if len(calls) == 1 else (x @ w).tanh().exp()

    out = checkpoint(f, dynagrad.randn(2, 4), use_reentrant=False)
    with pytest.raises(RuntimeError, match="different graph"):
        out.sum().backward()


def test_requires_grad_changed_before_backward_is_refused_clearly():
    # what an op keeps for backward depends on which inputs require grad: a change in between would hand
    # the forward's node values it did not expect (PyTorch raises CheckpointError, a RuntimeError, too)
    lin = dynagrad.nn.Linear(3, 2)
    x = dynagrad.ones(4, 3, requires_grad=True)
    y = checkpoint(lambda t: lin(t * 2).sum(), x, use_reentrant=False)
    lin.weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="differs in which inputs of AddmmBackward0 require grad"):
        y.backward()


def test_checkpoint_sequential_matches_plain():
    nn = pytest.importorskip("dynagrad.nn")
    if not hasattr(nn, "Sequential"):
        pytest.skip("dynagrad.nn.Sequential not available yet")
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(16, 16), nn.Tanh())])
    x = dynagrad.randn(5, 16, requires_grad=True)
    model(x).sum().backward()
    plain = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None
    checkpoint_sequential(model, 2, x, use_reentrant=False).sum().backward()
    for g, t in zip(plain, list(model.parameters()) + [x]):
        np.testing.assert_allclose(t.grad.numpy(), g.numpy(), rtol=1e-5, atol=1e-6)


def test_checkpoint_recomputes_under_the_forward_autocast():
    if dynagrad.bfloat16 is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    w1, w2 = _weights()
    x = dynagrad.randn(8, 32)
    with dynagrad.autocast(device_type="cpu", dtype=dynagrad.bfloat16):
        plain = _block(x, w1, w2).float().sum()
        ck = checkpoint(_block, x, w1, w2, use_reentrant=False).float().sum()
    plain.backward()
    grads = [w.grad.clone() for w in (w1, w2)]
    w1.grad = w2.grad = None
    ck.backward()  # backward runs outside autocast; the recomputation must still cast like the forward
    for g, w in zip(grads, (w1, w2)):
        np.testing.assert_allclose(w.grad.numpy(), g.numpy(), rtol=1e-5, atol=1e-6)
