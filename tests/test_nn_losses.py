"""Every loss, each reduction and option, against PyTorch: values and input gradients, functional and
module."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_nn_tools import NoGrad, compare  # noqa: E402

import dynagrad  # noqa: E402

REDUCTIONS = ["mean", "sum", "none"]
R = np.random.default_rng(0)
X = R.standard_normal((6, 5)).astype(np.float32)
Y = R.standard_normal((6, 5)).astype(np.float32)
Z = R.standard_normal((6, 5)).astype(np.float32)
T = R.integers(0, 5, 6)
T_IGN = T.copy()
T_IGN[[1, 3]] = -100
W = NoGrad(R.uniform(0.5, 2, 5).astype(np.float32))
X4 = R.standard_normal((2, 5, 3, 4)).astype(np.float32)
T4 = R.integers(0, 5, (2, 3, 4))
PROBS = R.dirichlet(np.ones(5), 6).astype(np.float32)
P01 = R.uniform(0.05, 0.95, (6, 5)).astype(np.float32)
Y01 = R.uniform(0, 1, (6, 5)).astype(np.float32)
SIGNS = np.where(R.random(6) < 0.5, 1, -1).astype(np.float32)
SIGNS2 = np.where(R.random((6, 5)) < 0.5, 1, -1).astype(np.float32)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_class_indices(reduction, smoothing):
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    compare(lambda m, F, x, t: F.cross_entropy(x, t, **kw), X, T)
    compare(lambda m, F, x, t, w: F.cross_entropy(x, t, weight=w, **kw), X, T, W)
    compare(lambda m, F, x, t, w: F.cross_entropy(x, t, weight=w, **kw), X, T_IGN, W)
    compare(lambda m, F, x, t: F.cross_entropy(x, t, ignore_index=2, **kw), X4, T4)  # (N, C, d1, d2)
    compare(lambda m, F, x, t, w: F.cross_entropy(x, t, w, ignore_index=2, **kw), X4, T4, W)
    compare(lambda m, F, x, t: F.cross_entropy(x, t, **kw), X[0].copy(), np.array(3))  # unbatched (C,)
    compare(lambda m, F, x, t: m.nn.CrossEntropyLoss(**kw)(x, t), X, T)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(reduction, smoothing):
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    compare(lambda m, F, x, p, w: F.cross_entropy(x, p, w, **kw), X, PROBS, W)
    compare(
        lambda m, F, x, p: F.cross_entropy(x, p, **kw),
        X4,
        np.moveaxis(R.dirichlet(np.ones(5), (2, 3, 4)), -1, 1).astype(np.float32),
    )


def test_cross_entropy_all_ignored_is_nan_like_torch():
    compare(lambda m, F, x, t: F.cross_entropy(x, t), X, np.full(6, -100), backward=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    compare(lambda m, F, x, t: F.nll_loss(x, t, reduction=reduction), X, T)
    compare(lambda m, F, x, t, w: F.nll_loss(x, t, w, reduction=reduction), X, T_IGN, W)
    compare(lambda m, F, x, t, w: F.nll_loss(x, t, w, reduction=reduction, ignore_index=1), X4, T4, W)
    compare(lambda m, F, x, t, w: m.nn.NLLLoss(w, reduction=reduction)(x, t), X, T, W)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction):
    compare(lambda m, F, x, y: F.mse_loss(x, y, reduction=reduction), X, Y)
    compare(lambda m, F, x, y: m.nn.MSELoss(reduction=reduction)(x, y), X, Y)
    compare(lambda m, F, x, y: F.l1_loss(x, y, reduction=reduction), X, Y)
    compare(lambda m, F, x, y: m.nn.L1Loss(reduction=reduction)(x, y), X, Y)
    compare(lambda m, F, x, y: m.nn.SmoothL1Loss(reduction=reduction)(x, y), X, Y)
    compare(lambda m, F, x, y: m.nn.SmoothL1Loss(reduction=reduction, beta=0.5)(x, y), X, Y)
    compare(lambda m, F, x, y: m.nn.SmoothL1Loss(reduction=reduction, beta=0.0)(x, y), X, Y)
    compare(lambda m, F, x, y: m.nn.HuberLoss(reduction=reduction)(x, y), X, Y)
    compare(lambda m, F, x, y: m.nn.HuberLoss(reduction=reduction, delta=0.7)(x, y), X, Y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    compare(lambda m, F, x, y: F.binary_cross_entropy(x, y, reduction=reduction), P01, Y01)
    compare(lambda m, F, x, y, w: m.nn.BCELoss(w, reduction=reduction)(x, y), P01, Y01, W)
    compare(lambda m, F, x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction), X * 3, Y01)
    compare(
        lambda m, F, x, y, w, pw: m.nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw)(x, y),
        X * 3,
        Y01,
        W,
        NoGrad(R.uniform(0.5, 3, 5).astype(np.float32)),
    )


def test_bce_edges_like_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5], np.float32)
    compare(lambda m, F, x, y: F.binary_cross_entropy(x, y, reduction="none"), x, NoGrad(y))
    big = np.array([-100.0, -20.0, 0.0, 20.0, 100.0], np.float32)
    compare(lambda m, F, x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"), big, y)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        dynagrad.nn.functional.binary_cross_entropy(dynagrad.tensor([1.5]), dynagrad.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    lp = np.log(R.dirichlet(np.ones(5), 6)).astype(np.float32)
    tp = R.dirichlet(np.ones(5), 6).astype(np.float32)
    tp[0, 0] = 0.0  # 0 * log 0 = 0
    target = np.log(tp + 1e-3).astype(np.float32) if log_target else tp
    compare(lambda m, F, x, y: m.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, y), lp, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses(reduction):
    compare(lambda m, F, a, b, t: m.nn.CosineEmbeddingLoss(0.2, reduction=reduction)(a, b, t), X, Y, SIGNS)
    compare(
        lambda m, F, a, b, t: m.nn.CosineEmbeddingLoss(reduction=reduction)(a, b, t),
        X[0].copy(),
        Y[0].copy(),
        np.array(-1.0, np.float32),
    )
    compare(
        lambda m, F, a, b, t: m.nn.MarginRankingLoss(0.3, reduction=reduction)(a, b, t),
        X[:, 0].copy(),
        Y[:, 0].copy(),
        SIGNS,
    )
    compare(lambda m, F, a, t: m.nn.HingeEmbeddingLoss(0.5, reduction=reduction)(a, t), X, SIGNS2)
    compare(lambda m, F, a, t: m.nn.SoftMarginLoss(reduction=reduction)(a, t), X, NoGrad(SIGNS2))
    compare(lambda m, F, a, p, n: m.nn.TripletMarginLoss(0.5, reduction=reduction)(a, p, n), X, Y, Z)
    compare(
        lambda m, F, a, p, n: m.nn.TripletMarginLoss(0.5, p=1, swap=True, reduction=reduction)(a, p, n),
        X,
        Y,
        Z,
    )
    compare(lambda m, F, a, p, n: m.nn.TripletMarginWithDistanceLoss(reduction=reduction)(a, p, n), X, Y, Z)
    compare(
        lambda m, F, a, t, w: m.nn.MultiLabelSoftMarginLoss(w, reduction=reduction)(a, t),
        X,
        (R.random((6, 5)) < 0.5).astype(np.float32),
        W,
    )
    compare(lambda m, F, a, t, w: m.nn.MultiMarginLoss(2, 0.7, w, reduction=reduction)(a, t), X, T, W)
    labels = np.array(
        [
            [3, 0, -1, 1, 1],
            [1, 2, 3, -1, 0],
            [0, 1, 2, 3, 4],
            [-1, 0, 0, 0, 0],
            [4, -1, 0, 0, 0],
            [2, 2, -1, 0, 0],
        ]
    )
    compare(lambda m, F, a, t: m.nn.MultiLabelMarginLoss(reduction=reduction)(a, t), X, labels)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_likelihood_losses(reduction):
    counts = R.poisson(2, (6, 5)).astype(np.float32)
    compare(lambda m, F, a, t: m.nn.PoissonNLLLoss(reduction=reduction)(a, t), X, counts)
    compare(
        lambda m, F, a, t: m.nn.PoissonNLLLoss(log_input=False, full=True, reduction=reduction)(a, t),
        np.abs(X) + 0.1,
        counts + 1,
    )
    var = R.uniform(0.1, 2, (6, 5)).astype(np.float32)
    compare(lambda m, F, a, t, v: m.nn.GaussianNLLLoss(reduction=reduction)(a, t, v), X, Y, var)
    compare(
        lambda m, F, a, t, v: m.nn.GaussianNLLLoss(full=True, eps=0.5, reduction=reduction)(a, t, v),
        X,
        Y,
        var[:, 0].copy(),
    )


def test_loss_errors_match_torch():
    for m in (dynagrad, torch):
        F = m.nn.functional
        with pytest.raises(IndexError, match="Target 5 is out of bounds"):
            F.cross_entropy(m.zeros(2, 3), m.tensor([0, 5]))
        with pytest.raises(
            ValueError,
            match=r"Expected input batch_size \(2\) to match target batch_size "
            r"\(3\)",
        ):
            F.cross_entropy(m.zeros(2, 3), m.tensor([0, 1, 2]))
        with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 5\]"):
            F.cross_entropy(m.zeros(2, 3, 4), m.zeros(2, 5, dtype=m.long))
        with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
            F.mse_loss(m.zeros(3), m.zeros(3), reduction="foo")
        with pytest.raises(ValueError, match="must be the same as input size"):
            F.binary_cross_entropy_with_logits(m.zeros(3), m.zeros(2))


def test_loss_module_reprs_and_buffers():
    w = [1.0, 2.0, 3.0]
    for name, kw in [
        ("CrossEntropyLoss", {}),
        ("BCEWithLogitsLoss", {}),
        ("TripletMarginLoss", {}),
        ("NLLLoss", {}),
    ]:
        assert repr(getattr(dynagrad.nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))
    d = dynagrad.nn.CrossEntropyLoss(weight=dynagrad.tensor(w))
    t = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))
    assert list(d.state_dict()) == list(t.state_dict()) == ["weight"]
    assert d.reduction == t.reduction == "mean"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (
            dynagrad.nn.MSELoss(size_average=False).reduction
            == torch.nn.MSELoss(size_average=False).reduction
        )
