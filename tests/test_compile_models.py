"""dynagrad.compile on the seed models: compiled results equal eager results, training steps included.

Two copies of each model start from the same weights; one trains eagerly, the other through a compiled
step (or a compiled module inside an eager step). Losses, parameters and buffers must agree to float32
rounding (they agree exactly: the compiled program runs the same forward and backward formulas).
"""
from __future__ import annotations

import copy
import logging

import numpy as np
import pytest

import dynagrad as torch
import dynagrad.nn as nn
from tests.compile_models import MLP, RNN, ConvNet, ResNet, Seq2Seq, Transformer, TreeNet, init_from_numpy, train_step


def _state(m):
    return [p.detach().numpy().copy() for p in m.parameters()] + [b.numpy().copy() for b in m.buffers()]


def _assert_same(m1, m2, atol=1e-6):
    for a, b in zip(_state(m1), _state(m2)):
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5, atol=atol)


def _pair(make, seed, opt):
    m1 = init_from_numpy(make(), seed)
    m2 = copy.deepcopy(m1)
    return m1, m2, opt(m1.parameters()), opt(m2.parameters())


def _run(make, data, opt, steps=3, whole=True, seed=0):
    m1, m2, o1, o2 = _pair(make, seed, opt)
    s1 = train_step(m1, o1)
    s2 = torch.compile(train_step(m2, o2)) if whole else train_step(torch.compile(m2), o2)
    for i in range(steps):
        x, y = data(i)
        l1 = s1(x, y).item()
        l2 = s2(x, y).item()
        assert l1 == pytest.approx(l2, rel=1e-6, abs=1e-7)
        _assert_same(m1, m2)
    return s2, m1, m2


rng = np.random.default_rng(0)


def _cls_data(shape, classes=10):
    def data(i):
        return (torch.from_numpy(rng.standard_normal(shape).astype(np.float32)),
                torch.from_numpy(rng.integers(0, classes, shape[0])))
    return data


@pytest.mark.parametrize("whole", [True, False])
def test_mlp_training_step(whole):
    s2, _, _ = _run(MLP, _cls_data((64, 64)), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5), whole=whole)
    if whole:
        assert len(s2.programs) == 1  # no retrace after the first call
        assert "backward" not in s2.code or "_bwd" in s2.code


def test_mlp_adam_and_symbolic_batch():
    m1, m2, o1, o2 = _pair(MLP, 1, lambda p: torch.optim.Adam(p, lr=0.01))
    s1, s2 = train_step(m1, o1), torch.compile(train_step(m2, o2))
    for b in (32, 16, 7, 32, 50):
        x, y = _cls_data((b, 64))(0)
        l1 = s1(x, y).item()
        assert l1 == pytest.approx(s2(x, y).item(), rel=1e-6)
        _assert_same(m1, m2)
    # the second batch size made the batch dimension symbolic: no further traces
    assert len(s2.programs) == 2
    assert "S0_0" in s2.code


@pytest.mark.parametrize("whole", [True, False])
def test_convnet_training_step(whole):
    _run(lambda: ConvNet(size=8), _cls_data((4, 3, 8, 8)), lambda p: torch.optim.SGD(p, lr=0.01), whole=whole)


def test_resnet_training_step_and_eval():
    s2, m1, m2 = _run(lambda: ResNet(width=8), _cls_data((2, 3, 112, 112)),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), steps=2)
    # running statistics were updated by the compiled steps exactly as eagerly
    np.testing.assert_allclose(m1.bn1.running_mean.numpy(), m2.bn1.running_mean.numpy(), rtol=1e-6, atol=1e-7)
    assert int(m2.bn1.num_batches_tracked) == 2
    m1.eval()
    m2.eval()
    x = torch.from_numpy(rng.standard_normal((2, 3, 112, 112)).astype(np.float32))
    cm = torch.compile(m2)
    with torch.no_grad():
        np.testing.assert_allclose(m1(x).numpy(), cm(x).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(m1(x).numpy(), cm(x).numpy(), rtol=1e-5, atol=1e-6)


def test_rnn_classifier_compiled_module():
    class W(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = RNN()

        def forward(self, x):
            return self.m(x, torch.zeros(1, x.size(0), 32))[0]
    _run(W, _cls_data((16, 12, 4), 2), lambda p: torch.optim.Adam(p, lr=0.01), whole=False)


def test_transformer_training_step():
    def data(i):
        s = torch.from_numpy(rng.integers(0, 10, (5, 32)))
        return s, s
    _run(Transformer, data, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.01))


def test_seq2seq_changing_lengths_retraces_once_per_path(caplog):
    eye = np.eye(6, dtype=np.float32)
    m1, m2, o1, o2 = _pair(Seq2Seq, 7, lambda p: torch.optim.Adam(p, lr=0.02))

    def mk(m, o):
        def step(src, tgt, tokens):
            o.zero_grad()
            logits = m(src, tgt)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 6), tokens.reshape(-1))
            loss.backward()
            o.step()
            return loss
        return step
    s1, s2 = mk(m1, o1), torch.compile(mk(m2, o2))
    lengths = [3, 5, 3, 2, 6, 4, 5, 2, 6, 4]
    with caplog.at_level(logging.INFO, logger="dynagrad.compile"):
        for length in lengths:
            tokens = rng.integers(0, 6, size=(16, length))
            shifted = np.concatenate([np.zeros((16, 1, 6), np.float32), eye[tokens][:, :-1]], axis=1)
            args = torch.from_numpy(eye[tokens]), torch.from_numpy(shifted), torch.from_numpy(tokens)
            l1 = s1(*args).item()
            assert l1 == pytest.approx(s2(*args).item(), rel=1e-6)
    _assert_same(m1, m2)
    # the Python loop over the length is control flow: one program per distinct length, no more
    assert len(s2.programs) == len(set(lengths)) == 5
    retraces = [r for r in caplog.records if "retracing" in r.getMessage()]
    assert len(retraces) == 4 and all("shape changed" in r.getMessage() for r in retraces)
    # inference (feeds back its own softmax): compiled too
    m1.eval()
    m2.eval()
    src = torch.from_numpy(eye[rng.integers(0, 6, size=(8, 4))])
    with torch.no_grad():
        np.testing.assert_allclose(m1(src).numpy(), torch.compile(m2)(src).numpy(), rtol=1e-6, atol=1e-7)


def test_tree_recursive_network():
    m1, m2, o1, o2 = _pair(TreeNet, 3, lambda p: torch.optim.SGD(p, lr=0.1))

    def mk(m, o):
        def step(tree, label):
            o.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(tree)[None], label)
            loss.backward()
            o.step()
            return loss
        return step
    s1, s2 = mk(m1, o1), torch.compile(mk(m2, o2))
    trees = [((1, 2), 3), (1, (2, (3, 4))), ((1, 2), 3), ((5, 6), (7, 0)), (1, (2, (3, 4)))]
    for i, tree in enumerate(trees):
        label = torch.tensor([i % 3])
        l1 = s1(tree, label).item()
        assert l1 == pytest.approx(s2(tree, label).item(), rel=1e-6)
    _assert_same(m1, m2)
    assert len(s2.programs) == 3  # one program per tree shape


def test_compiled_forward_backward_outside():
    """A compiled module's outputs hang from one graph node: eager code can backpropagate through it."""
    m1 = init_from_numpy(MLP(), 2)
    m2 = copy.deepcopy(m1)
    cm = torch.compile(m2)
    x = torch.from_numpy(rng.standard_normal((8, 64)).astype(np.float32)).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    for _ in range(2):
        (m1(x) ** 2).sum().backward()
        out = cm(x2)
        assert out.grad_fn is not None
        (out ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-5, atol=1e-7)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make_opt", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.1),
    lambda p: torch.optim.SGD(p, lr=0.1),
    lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
    lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.01),
    lambda p: torch.optim.RMSprop(p, lr=0.01),
])
@pytest.mark.parametrize("backend", [None, "numba"])
def test_optimizer_updates_in_the_program_match_eager_bit_for_bit(make_opt, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    m1, m2, o1, o2 = _pair(MLP, 4, make_opt)
    s1, s2 = train_step(m1, o1), torch.compile(train_step(m2, o2), backend=backend)
    sched = torch.optim.lr_scheduler.StepLR(o2, 2, 0.5)
    sched1 = torch.optim.lr_scheduler.StepLR(o1, 2, 0.5)
    for i in range(5):
        x, y = _cls_data((32, 64))(i)
        l1 = s1(x, y).item()
        assert l1 == s2(x, y).item()
        sched.step()
        sched1.step()
    for a, b in zip(_state(m1), _state(m2)):
        np.testing.assert_array_equal(a, b)
    assert len(s2.programs) == 1
