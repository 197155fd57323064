"""nn.utils.parametrize and parametrizations.weight_norm against PyTorch: state_dict keys and values,
outputs and gradients, assignment through right_inverse, caching, removal and errors."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad
from dynagrad.nn.utils import parametrizations, parametrize

torch = pytest.importorskip("torch")


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(0, 1)

        def right_inverse(self, a):
            return a.triu()
    return Symmetric()


def _scale(lib, k):
    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * k

        def right_inverse(self, y):
            return y / k
    return Scale()


def _pair(make):
    t = make(torch)
    d = make(dynagrad)
    d.load_state_dict({k: dynagrad.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, d


def _train_both_and_compare(tm, dm, x, steps=3):
    """A few SGD steps on sum(m(x)^2) in both frameworks; the state_dicts must then agree."""
    topt, dopt = torch.optim.SGD(tm.parameters(), lr=0.1), dynagrad.optim.SGD(dm.parameters(), lr=0.1)
    for _ in range(steps):
        for m, opt, lib in ((tm, topt, torch), (dm, dopt, dynagrad)):
            opt.zero_grad()
            m(lib.tensor(x)).pow(2).sum().backward()
            opt.step()
    for k, v in tm.state_dict().items():
        _close(v, dm.state_dict()[k], 1e-5)


def _close(a, b, tol=1e-6):
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=tol, atol=tol)


def test_symmetric_parametrization_matches_torch():
    torch.manual_seed(0)
    tl, dl = _pair(lambda lib: lib.nn.Linear(4, 4))
    torch.nn.utils.parametrize.register_parametrization(tl, "weight", _symmetric(torch))
    parametrize.register_parametrization(dl, "weight", _symmetric(dynagrad))
    assert list(dl.state_dict()) == list(tl.state_dict())
    for k, v in tl.state_dict().items():
        _close(v, dl.state_dict()[k])
    assert type(dl).__name__ == type(tl).__name__ == "ParametrizedLinear"
    x = np.arange(8.0, dtype=np.float32).reshape(2, 4) / 7
    (tl(torch.tensor(x)) ** 2).sum().backward()
    (dl(dynagrad.tensor(x)) ** 2).sum().backward()
    _close(tl.parametrizations.weight.original.grad, dl.parametrizations.weight.original.grad, 1e-5)
    assert [n for n, _ in dl.named_parameters()] == [n for n, _ in tl.named_parameters()]


def test_assignment_goes_through_right_inverse_and_chains():
    lin = dynagrad.nn.Linear(3, 3)
    parametrize.register_parametrization(lin, "weight", _scale(dynagrad, 2.0))
    parametrize.register_parametrization(lin, "weight", _scale(dynagrad, 3.0))  # chained: x * 2 * 3
    target = dynagrad.ones(3, 3)
    lin.weight = target
    np.testing.assert_allclose(lin.parametrizations.weight.original.detach().numpy(), np.full((3, 3), 1 / 6), rtol=1e-6)
    np.testing.assert_allclose(lin.weight.detach().numpy(), np.ones((3, 3)), rtol=1e-6)
    assert len(lin.parametrizations.weight) == 2


@pytest.mark.parametrize("make,dim", [(lambda lib: lib.nn.Linear(5, 3), 0),
                                      (lambda lib: lib.nn.Conv2d(2, 4, 3), 0),
                                      (lambda lib: lib.nn.Linear(5, 3), 1),
                                      (lambda lib: lib.nn.Linear(5, 3), None)])
def test_weight_norm_matches_torch(make, dim):
    torch.manual_seed(1)
    tm, dm = _pair(make)
    torch.nn.utils.parametrizations.weight_norm(tm, dim=dim)
    parametrizations.weight_norm(dm, dim=dim)
    assert list(dm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        _close(v, dm.state_dict()[k])
    shape = (2, 5) if isinstance(tm, torch.nn.Linear) else (2, 2, 6, 6)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    yt, yd = tm(torch.tensor(x)), dm(dynagrad.tensor(x))
    _close(yt, yd, 1e-5)
    (yt ** 2).sum().backward()
    (yd ** 2).sum().backward()
    tp, dp = dict(tm.named_parameters()), dict(dm.named_parameters())
    assert list(dp) == list(tp)
    for n in tp:
        _close(tp[n].grad, dp[n].grad, 1e-4)


def test_weight_norm_loads_a_torch_state_dict_and_trains():
    torch.manual_seed(2)
    tm = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(4, 2))
    dm = parametrizations.weight_norm(dynagrad.nn.Linear(4, 2))
    dm.load_state_dict({k: dynagrad.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    _train_both_and_compare(tm, dm, np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))


def test_cached_computes_once():
    calls = []

    class Counting(dynagrad.nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 1.0

    lin = dynagrad.nn.Linear(2, 2)
    parametrize.register_parametrization(lin, "weight", Counting())
    calls.clear()
    with parametrize.cached():
        a, b = lin.weight, lin.weight
    assert a is b and len(calls) == 1
    lin.weight  # noqa: B018 - outside the block: computed again
    assert len(calls) == 2


def test_remove_parametrizations():
    lin = dynagrad.nn.Linear(3, 3)
    parametrize.register_parametrization(lin, "weight", _symmetric(dynagrad))
    w = lin.weight.detach().numpy().copy()
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is dynagrad.nn.Linear and not parametrize.is_parametrized(lin)
    assert isinstance(lin.weight, dynagrad.nn.Parameter)
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w)
    assert sorted(lin.state_dict()) == ["bias", "weight"]
    wn = parametrizations.weight_norm(dynagrad.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="sequence of tensors"):
        parametrize.remove_parametrizations(wn, "weight", leave_parametrized=False)
    before = wn.weight.detach().numpy()
    parametrize.remove_parametrizations(wn, "weight")
    np.testing.assert_allclose(wn.weight.detach().numpy(), before, rtol=1e-6)
    assert parametrize.type_before_parametrizations(wn) is dynagrad.nn.Linear


def test_errors():
    lin = dynagrad.nn.Linear(3, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        parametrize.register_parametrization(lin, "nope", _symmetric(dynagrad))

    class Shrink(dynagrad.nn.Module):
        def forward(self, x):
            return x[:2]

    with pytest.raises(ValueError, match="may not change the shape or dtype"):
        parametrize.register_parametrization(lin, "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(lin, "weight")


@pytest.mark.parametrize("make,dim,shape", [
    (lambda lib: lib.nn.Linear(5, 3), None, (2, 5)),
    (lambda lib: lib.nn.Conv2d(2, 4, 3), None, (2, 2, 6, 6)),
    (lambda lib: lib.nn.ConvTranspose2d(2, 4, 3), None, (2, 2, 5, 5)),  # dim 1 by default
    (lambda lib: lib.nn.Linear(5, 3), 1, (2, 5)),
])
def test_spectral_norm_matches_torch_over_training_steps(make, dim, shape):
    # the same seed draws the same power-iteration start vectors in both
    torch.manual_seed(3)
    tm = torch.nn.utils.parametrizations.spectral_norm(make(torch), dim=dim)
    dynagrad.manual_seed(3)
    dm = parametrizations.spectral_norm(make(dynagrad), dim=dim)
    assert list(dm.state_dict()) == list(tm.state_dict())
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    _train_both_and_compare(tm, dm, x)
    tm.eval()
    dm.eval()
    u = dm.parametrizations.weight[0]._u.numpy().copy()
    _close(tm(torch.tensor(x)), dm(dynagrad.tensor(x)), 1e-5)
    np.testing.assert_array_equal(dm.parametrizations.weight[0]._u.numpy(), u)  # eval: no power step


def test_spectral_norm_errors_and_vectors():
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        parametrizations.spectral_norm(dynagrad.nn.Linear(3, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        parametrizations.spectral_norm(dynagrad.nn.Linear(3, 2), dim=2)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
        parametrizations.spectral_norm(dynagrad.nn.Linear(3, 2), name="nope")
    lin = parametrizations.spectral_norm(dynagrad.nn.Linear(3, 2), name="bias")  # a vector: normalised
    np.testing.assert_allclose(np.linalg.norm(lin.bias.detach().numpy()), 1.0, rtol=1e-6)


def test_deepcopy_works_and_pickling_is_refused():
    import copy
    import pickle
    for m in (parametrizations.weight_norm(dynagrad.nn.Linear(3, 2)),
              parametrizations.spectral_norm(dynagrad.nn.Linear(3, 2))):
        c = copy.deepcopy(m)
        assert type(c).__name__ == "ParametrizedLinear" and c is not m
        np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
        assert all(a is not b for a, b in zip(c.parameters(), m.parameters()))
        with pytest.raises(RuntimeError, match="only supported through state_dict"):
            pickle.dumps(m)


def test_assignment_checks_dtype_and_right_inverse():
    m = parametrizations.spectral_norm(dynagrad.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="has dtype torch.float64 while `original` has dtype torch.float32"):
        m.weight = dynagrad.ones(2, 3, dtype=dynagrad.float64)

    class NoInverse(dynagrad.nn.Module):
        def forward(self, x):
            return x * 2

    lin = dynagrad.nn.Linear(2, 2)
    parametrize.register_parametrization(lin, "weight", NoInverse(), unsafe=True)
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        lin.weight = dynagrad.ones(2, 2)
