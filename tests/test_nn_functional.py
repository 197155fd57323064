"""nn.functional against PyTorch (forms not covered through the layers), numerical gradient checks of every
nn primitive in float64 (first and second order), and nn.utils."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dynagrad
import dynagrad.nn.functional as F
from dynagrad.autograd import grad, gradcheck

R = np.random.default_rng(0)


def T(*shape, scale=1.0, shift=0.0):
    return dynagrad.tensor(
        R.standard_normal(shape) * scale + shift, dtype=dynagrad.float64, requires_grad=True
    )


def second_order_check(fn, args, eps=1e-6, atol=1e-4, rtol=1e-3):
    """d/dx of <grad(fn)(x) . u> by autograd (create_graph=True) against central differences."""
    out = fn(*args)
    v = dynagrad.tensor(R.standard_normal(tuple(out.shape)))
    us = [R.standard_normal(tuple(a.shape)) for a in args]

    def s(arrays, create):
        xs = [dynagrad.tensor(a, requires_grad=True) for a in arrays]
        gs = grad(fn(*xs), xs, grad_outputs=v, create_graph=create, allow_unused=True)
        total = dynagrad.tensor(0.0, dtype=dynagrad.float64)
        for g, u in zip(gs, us):
            if g is not None:
                total = total + (g * dynagrad.tensor(u)).sum()
        return total, xs

    base = [a.detach().numpy().copy() for a in args]
    total, xs = s(base, True)
    analytic = grad(total, xs, allow_unused=True) if total.requires_grad else [None] * len(xs)
    for i, a in enumerate(base):
        num = np.zeros(a.size)
        for j in range(a.size):
            hi = [b.copy() for b in base]
            lo = [b.copy() for b in base]
            hi[i].reshape(-1)[j] += eps
            lo[i].reshape(-1)[j] -= eps
            num[j] = (float(s(hi, False)[0]) - float(s(lo, False)[0])) / (2 * eps)
        ana = np.zeros(a.size) if analytic[i] is None else analytic[i].numpy().reshape(-1)
        np.testing.assert_allclose(ana, num, atol=atol, rtol=rtol, err_msg=f"second derivative, input {i}")


W64 = dynagrad.tensor([1.0, 2.0, 0.5, 3.0], dtype=dynagrad.float64)
_POS_WEIGHT = dynagrad.tensor(np.random.default_rng(5).uniform(0.5, 2, 4))

PRIMITIVES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), lambda: (T(3, 4), T(2, 4), T(2))),
    "linear_3d": (lambda x, w: F.linear(x, w), lambda: (T(2, 3, 4), T(2, 4))),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (2, 4), w, b),
        lambda: (T(3, 2, 4, shift=1), T(2, 4), T(2, 4)),
    ),
    "batch_norm_train": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda: (T(5, 3, 2, scale=2), T(3), T(3)),
    ),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(
            x, dynagrad.zeros(3, dtype=dynagrad.float64), dynagrad.ones(3, dtype=dynagrad.float64) * 2, w, b
        ),
        lambda: (T(5, 3, 2), T(3), T(3)),
    ),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), lambda: (T(2, 4, 3), T(4), T(4))),
    "instance_norm": (lambda x: F.instance_norm(x), lambda: (T(2, 3, 4),)),
    "cross_entropy": (lambda x: F.cross_entropy(x, dynagrad.tensor([0, 2, 1])), lambda: (T(3, 4),)),
    "cross_entropy_options": (
        lambda x: F.cross_entropy(x, dynagrad.tensor([0, 2, -100]), weight=W64, label_smoothing=0.1),
        lambda: (T(3, 4),),
    ),
    "cross_entropy_4d_none": (
        lambda x: F.cross_entropy(x, dynagrad.tensor([[0, 3], [1, 1]]), reduction="none"),
        lambda: (T(2, 4, 2),),
    ),
    "nll_loss": (lambda x: F.nll_loss(x, dynagrad.tensor([0, 2, 1]), weight=W64), lambda: (T(3, 4),)),
    "embedding": (lambda w: F.embedding(dynagrad.tensor([[0, 1, 1], [2, 0, 2]]), w), lambda: (T(3, 2),)),
    "dropout": (lambda x: (dynagrad.manual_seed(0), F.dropout(x, 0.3))[1], lambda: (T(4, 5),)),
    "gelu": (F.gelu, lambda: (T(6, scale=2),)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda: (T(6, scale=2),)),
    "silu": (F.silu, lambda: (T(6, scale=2),)),
    "mish": (F.mish, lambda: (T(6, scale=2),)),
    "elu": (lambda x: F.elu(x, 0.7), lambda: (T(6, scale=2),)),
    "selu": (F.selu, lambda: (T(6, scale=2),)),
    "celu": (lambda x: F.celu(x, 0.7), lambda: (T(6, scale=2),)),
    "softplus": (lambda x: F.softplus(x, 2.0, 3.0), lambda: (T(6, scale=2),)),
    "logsigmoid": (F.logsigmoid, lambda: (T(6, scale=2),)),
    "leaky_relu": (F.leaky_relu, lambda: (T(6, scale=2),)),
    "hardswish": (F.hardswish, lambda: (T(6, scale=3),)),
    "hardsigmoid": (F.hardsigmoid, lambda: (T(6, scale=3),)),
    "hardtanh": (F.hardtanh, lambda: (T(6, scale=3),)),
    "threshold": (lambda x: F.threshold(x, 0.1, 2.0), lambda: (T(6, scale=3),)),
    "prelu": (F.prelu, lambda: (T(2, 3, 2), T(3))),
    "binary_cross_entropy": (
        lambda x, y: F.binary_cross_entropy(x, y),
        lambda: (
            dynagrad.tensor(R.uniform(0.1, 0.9, 4), requires_grad=True),
            dynagrad.tensor(R.uniform(0, 1, 4), requires_grad=True),
        ),
    ),
    # pos_weight is a constant: PyTorch refuses a pos_weight that requires grad
    "bce_with_logits": (
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=_POS_WEIGHT),
        lambda: (T(4), dynagrad.tensor(R.uniform(0, 1, 4), requires_grad=True)),
    ),
    "pad_constant": (lambda x: F.pad(x, (1, -1, 2, 0), value=0.5), lambda: (T(2, 3, 4),)),
    "pad_reflect": (lambda x: F.pad(x, (2, 1), mode="reflect"), lambda: (T(2, 3, 4),)),
}


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_gradcheck_float64(name):
    fn, make = PRIMITIVES[name]
    assert gradcheck(fn, make())


@pytest.mark.parametrize("name", [n for n in PRIMITIVES if n != "pad_reflect"])
def test_double_backward(name):
    fn, make = PRIMITIVES[name]
    second_order_check(fn, make())


def test_nn_primitives_are_single_nodes():
    x = dynagrad.randn(4, 3, requires_grad=True)
    lin = dynagrad.nn.Linear(3, 5)
    y = lin(x)
    assert y.grad_fn.name() == "AddmmBackward0"
    assert {fn.name() if fn is not None else None for fn, _ in y.grad_fn.next_functions} == {
        "torch::autograd::AccumulateGrad"
    }
    assert F.cross_entropy(y, dynagrad.tensor([0, 1, 2, 3])).grad_fn.name() == "NllLossBackward0"
    assert F.layer_norm(y, (5,)).grad_fn.name() == "NativeLayerNormBackward0"
    assert F.batch_norm(y, None, None, training=True).grad_fn.name() == "NativeBatchNormBackward0"


def test_torch_free_values():
    """Values recorded from PyTorch 2.x, so these run without torch."""
    x = dynagrad.tensor([[1.0, 2.0, 3.0], [1.0, -1.0, 0.5]], requires_grad=True)
    loss = F.cross_entropy(x, dynagrad.tensor([2, 0]))
    np.testing.assert_allclose(loss.item(), 0.481281, atol=1e-5)
    loss.backward()
    np.testing.assert_allclose(
        x.grad.numpy(), [[0.0450, 0.1224, -0.1674], [-0.2130, 0.0388, 0.1741]], atol=1e-4
    )
    np.testing.assert_allclose(F.gelu(dynagrad.tensor([-1.0, 0.5])).numpy(), [-0.1587, 0.3457], atol=1e-4)
    np.testing.assert_allclose(
        F.layer_norm(dynagrad.tensor([[1.0, 2.0, 4.0]]), (3,)).numpy(),
        [[-1.0690, -0.2673, 1.3363]],
        atol=1e-4,
    )
    np.testing.assert_allclose(
        F.smooth_l1_loss(dynagrad.tensor([0.2, 3.0]), dynagrad.zeros(2)).item(), 1.26, atol=1e-6
    )
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(
            dynagrad.tensor([0.3]), dynagrad.tensor([1.0]), pos_weight=dynagrad.tensor([2.0])
        ).item(),
        1.1087,
        atol=1e-4,
    )
    assert F.one_hot(dynagrad.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.pad(dynagrad.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist() == [[3, 2, 1, 2, 3, 2]]
    assert F.pad(dynagrad.tensor([[1.0, 2.0, 3.0]]), (1, -1), value=9).tolist() == [[9, 1, 2]]
    assert repr(dynagrad.nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"
    assert (
        repr(dynagrad.nn.BatchNorm2d(4))
        == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )


def test_torch_free_module_behaviour():
    bn = dynagrad.nn.BatchNorm1d(2, momentum=None)
    bn(dynagrad.tensor([[0.0, 1.0], [2.0, 3.0]]))
    bn(dynagrad.tensor([[4.0, 1.0], [6.0, 3.0]]))
    np.testing.assert_allclose(bn.running_mean.numpy(), [3.0, 2.0])  # cumulative average
    np.testing.assert_allclose(bn.running_var.numpy(), [2.0, 2.0])  # unbiased batch variances averaged
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    seq = dynagrad.nn.Sequential(dynagrad.nn.Linear(2, 2), dynagrad.nn.ReLU())
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    sd = seq.state_dict()
    sd["0.weight"] = dynagrad.zeros(3, 2)
    with pytest.raises(RuntimeError) as info:
        seq.load_state_dict(sd)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Sequential:\n\tsize mismatch for "
        "0.weight: "
        "copying a param with shape torch.Size([3, 2]) from checkpoint, the shape in "
        "current "
        "model is torch.Size([2, 2])."
    )


def test_functional_against_torch():
    torch = pytest.importorskip("torch")
    from test_nn_tools import compare

    x = R.standard_normal((4, 6, 5)).astype(np.float32)
    y = R.standard_normal((4, 6, 5)).astype(np.float32)
    compare(lambda m, F, x: F.normalize(x), x)
    compare(lambda m, F, x: F.normalize(x, p=1, dim=-1, eps=0.1), x)
    compare(lambda m, F, x, y: F.cosine_similarity(x, y), x, y)
    compare(lambda m, F, x, y: F.cosine_similarity(x, y, dim=-1), x, y[0].copy())
    compare(lambda m, F, x, y: F.pairwise_distance(x, y), x, y)
    compare(lambda m, F, x, y: F.pairwise_distance(x, y, p=1, keepdim=True), x, y)
    compare(lambda m, F, x: F.pdist(x), x[0].copy())
    compare(lambda m, F, x: F.softmax(x, 1), x)
    compare(lambda m, F, x: F.log_softmax(x, -1), x)
    compare(lambda m, F, x: F.softmin(x, 0), x)
    compare(lambda m, F, x: F.glu(x, -2), x)
    compare(
        lambda m, F, x, w, b: F.layer_norm(x, (5,), w, b),
        x,
        R.standard_normal(5).astype(np.float32),
        R.standard_normal(5).astype(np.float32),
    )
    compare(lambda m, F, x: F.local_response_norm(x, 2), x)
    for mode in ("constant", "reflect", "replicate", "circular"):
        compare(lambda m, F, x, mode=mode: F.pad(x, (1, 2), mode=mode), x)
        compare(lambda m, F, x, mode=mode: F.pad(x, (1, 2, 2, 1), mode=mode), x)
        compare(lambda m, F, x, mode=mode: F.pad(x, (1, 0, 2, 1, 1, 1), mode=mode), x[None].copy())
        compare(lambda m, F, x, mode=mode: F.pad(x, (-1, 2, 1, -2), mode=mode), x)
    compare(lambda m, F, x: F.channel_shuffle(x, 3), x.reshape(2, 6, 10))
    compare(
        lambda m, F, x, w, b: F.linear_cross_entropy(
            x, w, m.tensor([0, 2, 1, 1]), linear_bias=b, label_smoothing=0.1
        ),
        x[:, 0],
        R.standard_normal((3, 5)).astype(np.float32),
        R.standard_normal(3).astype(np.float32),
    )
    idx = np.array([[0, 3], [1, 2]])
    compare(lambda m, F, i: F.one_hot(i), idx)
    compare(lambda m, F, i: F.one_hot(i, 6), idx)
    for m in (dynagrad, torch):
        with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
            m.nn.functional.one_hot(m.tensor([1, 5]), 3)
        with pytest.raises(
            RuntimeError, match="Padding size should be less than the corresponding input dimension"
        ):
            m.nn.functional.pad(m.zeros(1, 2, 3), (4, 4), mode="reflect")
        with pytest.raises(RuntimeError, match="expected input with shape"):
            m.nn.functional.layer_norm(m.zeros(2, 3), (4,))
        with pytest.raises(RuntimeError, match="divisible by num_groups"):
            m.nn.functional.group_norm(m.zeros(2, 6), 4)


def test_linear_errors_like_torch():
    torch = pytest.importorskip("torch")
    for shape, msg in [
        ((64, 100), r"\(64x100 and 784x128\)"),
        ((100,), r"\(1x100 and 784x128\)"),
        ((2, 3, 100), r"\(6x100 and 784x128\)"),
    ]:
        for m in (dynagrad, torch):
            with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied " + msg):
                m.nn.functional.linear(m.zeros(*shape), m.zeros(128, 784))
    with pytest.raises(RuntimeError, match="must have the same dtype"):
        F.linear(dynagrad.zeros(2, 3, dtype=dynagrad.float64), dynagrad.zeros(4, 3))


def test_clip_grad_against_torch():
    torch = pytest.importorskip("torch")
    grads = [R.standard_normal((3, 4)).astype(np.float32), R.standard_normal(5).astype(np.float32)]
    for norm_type in (2.0, 1, float("inf"), 0.5, 3):
        for max_norm in (0.5, 100.0):
            res = []
            for m in (dynagrad, torch):
                ps = [m.nn.Parameter(m.zeros(*g.shape)) for g in grads] + [m.nn.Parameter(m.zeros(2))]
                for p, g in zip(ps, grads):
                    p.grad = m.from_numpy(g.copy())
                total = m.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type, foreach=True)
                res.append((total.numpy(), [p.grad.numpy() for p in ps[:2]], ps[2].grad))
            np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5)
            assert res[0][0].dtype == res[1][0].dtype and res[0][0].shape == ()
            for a, b in zip(res[0][1], res[1][1]):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
            assert res[0][2] is None
    p = dynagrad.nn.Parameter(dynagrad.zeros(2))
    p.grad = dynagrad.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        dynagrad.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert float(dynagrad.nn.utils.clip_grad_norm_([], 1.0)) == 0.0
    q = dynagrad.nn.Parameter(dynagrad.zeros(3))
    q.grad = dynagrad.tensor([-3.0, 0.2, 5.0])
    dynagrad.nn.utils.clip_grad_value_([q], 1.0)
    np.testing.assert_allclose(q.grad.numpy(), [-1.0, 0.2, 1.0])


def test_parameters_vector_round_trip():
    lin = dynagrad.nn.Linear(3, 2)
    v = dynagrad.nn.utils.parameters_to_vector(lin.parameters())
    assert v.shape == (8,) and v.requires_grad
    v.sum().backward()
    assert lin.weight.grad.tolist() == [[1.0] * 3] * 2
    dynagrad.nn.utils.vector_to_parameters(dynagrad.arange(8.0), lin.parameters())
    assert lin.weight.detach().tolist() == [[0, 1, 2], [3, 4, 5]] and lin.bias.detach().tolist() == [6, 7]
    assert lin.weight.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        dynagrad.nn.utils.vector_to_parameters([1.0], lin.parameters())


def test_kl_div_mean_warns_like_torch():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        F.kl_div(dynagrad.zeros(2), dynagrad.ones(2))
    assert any("batchmean" in str(x.message) for x in w)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_against_torch(dim):
    pytest.importorskip("torch")
    from test_nn_tools import check_module

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm, _ = check_module(
            lambda m: m.nn.utils.weight_norm(m.nn.Linear(4, 3), dim=dim),
            R.standard_normal((5, 4)).astype(np.float32),
            steps=2,
        )
    w = dm(dynagrad.ones(1, 4))
    dynagrad.nn.utils.remove_weight_norm(dm)
    assert [n for n, _ in dm.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(dm(dynagrad.ones(1, 4)).detach().numpy(), w.detach().numpy(), rtol=1e-6)
    out = dynagrad.nn.utils.stateless.functional_call(
        dm, {"weight": dynagrad.zeros(3, 4)}, (dynagrad.ones(1, 4),)
    )
    np.testing.assert_allclose(out.detach().numpy(), dm.bias.detach().numpy()[None], rtol=1e-6)
