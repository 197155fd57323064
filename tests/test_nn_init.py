"""nn.init and every layer's default initialisation against PyTorch's distributions (bounds, means and
variances over many draws; the two frameworks' random streams differ, the distributions must not)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dynagrad  # noqa: E402

SHAPE = (300, 400)


@pytest.fixture(autouse=True)
def _seed_torch():
    torch.manual_seed(0)  # dynagrad's generator is seeded by conftest: the comparisons are reproducible


def draws(m, fn, shape=SHAPE):
    t = m.empty(*shape)
    fn(m.nn.init, t)
    return t.detach().numpy().astype(np.float64)


def same_distribution(a, b, exact_bounds=True):
    """Equal support (min/max close) and equal first two moments within sampling error."""
    n = a.size
    assert a.shape == b.shape
    se_mean = b.std() / math.sqrt(n) + 1e-12
    assert abs(a.mean() - b.mean()) < 6 * se_mean, (a.mean(), b.mean())
    assert abs(a.std() - b.std()) < 6 * b.std() / math.sqrt(2 * n) + 1e-12, (a.std(), b.std())
    if exact_bounds:
        span = b.max() - b.min()
        tol = 0.01 * span + 8 * span / n
        assert abs(a.min() - b.min()) < tol and abs(a.max() - b.max()) < tol, (
            a.min(),
            b.min(),
            a.max(),
            b.max(),
        )


INITS = [
    ("uniform_", lambda I, t: I.uniform_(t, -0.3, 0.7), True),
    ("normal_", lambda I, t: I.normal_(t, 0.5, 2.0), False),
    ("trunc_normal_", lambda I, t: I.trunc_normal_(t, 0.1, 0.5, -0.4, 0.9), True),
    ("xavier_uniform_", lambda I, t: I.xavier_uniform_(t, gain=1.5), True),
    ("xavier_normal_", lambda I, t: I.xavier_normal_(t), False),
    ("kaiming_uniform_", lambda I, t: I.kaiming_uniform_(t), True),
    ("kaiming_uniform_a5", lambda I, t: I.kaiming_uniform_(t, a=math.sqrt(5)), True),
    (
        "kaiming_uniform_fan_out_relu",
        lambda I, t: I.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
        True,
    ),
    ("kaiming_normal_", lambda I, t: I.kaiming_normal_(t, a=0.1, nonlinearity="leaky_relu"), False),
    ("kaiming_normal_fan_out", lambda I, t: I.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh"), False),
    ("orthogonal_", lambda I, t: I.orthogonal_(t, gain=2.0), False),
    ("sparse_", lambda I, t: I.sparse_(t, 0.3, std=0.1), False),
]


@pytest.mark.parametrize("name,fn,bounds", INITS, ids=[i[0] for i in INITS])
def test_init_distributions(name, fn, bounds):
    shape = (60, 80) if name == "orthogonal_" else SHAPE  # torch's QR is slow on big matrices
    same_distribution(draws(dynagrad, fn, shape), draws(torch, fn, shape), bounds)


def test_deterministic_inits_equal_torch():
    for fn, shape in [
        (lambda I, t: I.constant_(t, 0.3), (3, 4)),
        (lambda I, t: I.ones_(t), (2, 2)),
        (lambda I, t: I.zeros_(t), (2, 2)),
        (lambda I, t: I.eye_(t), (3, 5)),
        (lambda I, t: I.dirac_(t), (4, 3, 3)),
        (lambda I, t: I.dirac_(t, groups=2), (4, 2, 3, 3)),
        (lambda I, t: I.dirac_(t), (2, 2, 1, 3, 3)),
    ]:
        np.testing.assert_array_equal(draws(dynagrad, fn, shape), draws(torch, fn, shape))


def test_orthogonal_is_orthogonal_and_sparse_is_sparse():
    w = draws(dynagrad, lambda I, t: I.orthogonal_(t), (30, 50))
    np.testing.assert_allclose(w @ w.T, np.eye(30), atol=1e-5)
    w = draws(dynagrad, lambda I, t: I.orthogonal_(t), (6, 2, 2, 2))
    flat = w.reshape(6, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(6), atol=1e-5)
    s = draws(dynagrad, lambda I, t: I.sparse_(t, 0.25), (40, 10))
    assert ((s == 0).sum(0) >= 10).all()


def test_gains_and_fans_equal_torch():
    for args in [
        ("linear",),
        ("conv2d",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("leaky_relu",),
        ("leaky_relu", 0.2),
        ("selu",),
        ("conv_transpose3d",),
    ]:
        assert dynagrad.nn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    for shape in [(3, 4), (5, 3, 2, 2), (4, 2, 3)]:
        assert dynagrad.nn.init._calculate_fan_in_and_fan_out(
            dynagrad.empty(*shape)
        ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    for m in (dynagrad, torch):
        with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
            m.nn.init.calculate_gain("foo")
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            m.nn.init.xavier_uniform_(m.empty(3))


def test_generator_argument_and_no_grad():
    p = dynagrad.nn.Parameter(dynagrad.empty(50))
    g = dynagrad.Generator().manual_seed(7)
    dynagrad.nn.init.normal_(p, generator=g)
    a = p.detach().numpy().copy()
    dynagrad.nn.init.normal_(p, generator=dynagrad.Generator().manual_seed(7))
    np.testing.assert_array_equal(a, p.detach().numpy())
    assert p.grad_fn is None and p.requires_grad  # filled without recording a graph
    dynagrad.nn.init.kaiming_uniform_(p.reshape(5, 10).detach(), generator=g)


def _params(m, make, n):
    """Concatenated parameter values of ``n`` freshly built layers, by name."""
    out = {}
    for _ in range(n):
        for name, p in make(m).named_parameters():
            out.setdefault(name, []).append(p.detach().numpy().astype(np.float64).ravel())
    return {k: np.concatenate(v) for k, v in out.items()}


LAYERS = [
    ("Linear", lambda m: m.nn.Linear(64, 32), 40),
    ("Linear_fan_in_1", lambda m: m.nn.Linear(1, 300), 10),
    ("Bilinear", lambda m: m.nn.Bilinear(8, 6, 20), 20),
    ("Embedding", lambda m: m.nn.Embedding(200, 16), 20),
    ("Embedding_padding", lambda m: m.nn.Embedding(200, 16, padding_idx=3), 20),
    ("PReLU", lambda m: m.nn.PReLU(5, init=0.3), 1),
    ("LayerNorm", lambda m: m.nn.LayerNorm((4, 5)), 1),
    ("BatchNorm1d", lambda m: m.nn.BatchNorm1d(7), 1),
    ("GroupNorm", lambda m: m.nn.GroupNorm(2, 6), 1),
    ("RMSNorm", lambda m: m.nn.RMSNorm(3), 1),
    ("EmbeddingBag", lambda m: m.nn.EmbeddingBag(100, 8), 20),
]


@pytest.mark.parametrize("name,make,n", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_default_initialisation_matches_torch(name, make, n):
    mine, ref = _params(dynagrad, make, n), _params(torch, make, n)
    assert mine.keys() == ref.keys()
    for k in ref:
        a, b = mine[k], ref[k]
        if b.std() == 0:
            np.testing.assert_array_equal(a, b, err_msg=k)
        else:
            same_distribution(a, b, exact_bounds="Embedding" not in name)
    if "padding" in name:
        assert not make(dynagrad).weight.detach().numpy()[3].any()
    d, t = make(dynagrad), make(torch)
    for (bn, b1), (tn, b2) in zip(d.named_buffers(), t.named_buffers()):
        assert bn == tn
        np.testing.assert_array_equal(b1.numpy(), b2.numpy())
