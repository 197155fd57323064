"""Lazy modules against PyTorch: the first input decides the shapes, the same seed gives the same
initial values, the module becomes its eager class, and state_dicts load into lazy modules."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad

torch = pytest.importorskip("torch")

CASES = [  # (class name, args, kwargs, input shape)
    ("LazyLinear", (3,), {}, (2, 5)),
    ("LazyLinear", (4,), {"bias": False}, (2, 3, 6)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 9)),
    ("LazyConv2d", (6, 3), {"stride": 2, "groups": 2}, (2, 4, 9, 9)),
    ("LazyConv2d", (4, 3), {}, (3, 7, 7)),  # unbatched
    ("LazyConv3d", (2, 2), {"bias": False}, (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 2, 5, 5)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,args,kw,shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_first_forward_matches_torch(name, args, kw, shape):
    torch.manual_seed(0)
    dynagrad.manual_seed(0)
    tm, dm = getattr(torch.nn, name)(*args, **kw), getattr(dynagrad.nn, name)(*args, **kw)
    assert dm.has_uninitialized_params()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    yt, yd = tm(torch.tensor(x)), dm(dynagrad.tensor(x))
    assert type(dm).__name__ == type(tm).__name__ == name[4:]
    for (nt, pt), (nd, pd) in zip(tm.named_parameters(), dm.named_parameters()):
        assert nt == nd and tuple(pt.shape) == tuple(pd.shape)
        np.testing.assert_allclose(pd.detach().numpy(), pt.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(yd.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert repr(dm) == repr(tm)


def test_state_dict_loads_into_a_lazy_module():
    torch.manual_seed(1)
    tm = torch.nn.Linear(5, 3)
    dm = dynagrad.nn.LazyLinear(3)
    dm.load_state_dict({k: dynagrad.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.ones((2, 5), np.float32)
    np.testing.assert_allclose(dm(dynagrad.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6)
    assert type(dm) is dynagrad.nn.Linear and dm.in_features == 5


def test_trains_in_a_sequential_with_an_optimizer_made_after_the_first_forward():
    model = dynagrad.nn.Sequential(dynagrad.nn.LazyConv2d(4, 3), dynagrad.nn.ReLU(), dynagrad.nn.Flatten(),
                                   dynagrad.nn.LazyLinear(2))
    x = dynagrad.randn(3, 1, 6, 6)
    model(x)  # dry run, as PyTorch's documentation advises, before building the optimizer
    opt = dynagrad.optim.SGD(model.parameters(), lr=0.1)
    loss0 = model(x).pow(2).sum()
    loss0.backward()
    opt.step()
    assert model(x).pow(2).sum().item() < loss0.item()


def test_errors():
    m = dynagrad.nn.LazyConv2d(4, 3, groups=2)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        m(dynagrad.ones(1, 3, 5, 5))


def test_dtype_argument_is_used():
    m = dynagrad.nn.LazyLinear(3, dtype=dynagrad.float64)
    assert m(dynagrad.ones(2, 5, dtype=dynagrad.float64)).dtype == dynagrad.float64
    assert dynagrad.nn.LazyConv2d(3, 3, dtype=dynagrad.float64).weight.dtype == dynagrad.float64


def test_a_wrongly_shaped_first_input_leaves_the_module_lazy():
    m = dynagrad.nn.LazyConv2d(3, 3)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"):
        m(dynagrad.ones(5, 5))
    assert m.has_uninitialized_params()
    assert tuple(m(dynagrad.ones(1, 2, 5, 5)).shape) == (1, 3, 3, 3)
    assert tuple(m.weight.shape) == (3, 2, 3, 3)
