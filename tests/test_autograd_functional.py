"""dynagrad.autograd.functional against torch.autograd.functional on the same functions."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad
import dynagrad.autograd.functional as AF

torch = pytest.importorskip("torch")
import torch.autograd.functional as TF  # noqa: E402

R = np.random.default_rng(0)
X = R.uniform(-1, 1, (3, 2))
Y = R.uniform(-1, 1, (2,))
V_OUT = R.uniform(-1, 1, (3,))
V_X = R.uniform(-1, 1, (3, 2))
V_Y = R.uniform(-1, 1, (2,))


def single(m):
    return lambda x: (x.sin() * x.exp()).sum(1)


def multi(m):
    return lambda x, y: ((x @ y).tanh(), (x * x).sum() * y)


def scalar(m):
    return lambda x, y: ((x @ y).sin() ** 2).sum() + (x.exp() * y).sum()


def scalar1(m):
    return lambda x: ((x ** 3).sum(0) * x.cos().sum()).sum()


def _np(x):
    if isinstance(x, (tuple, list)):
        return [_np(v) for v in x]
    return x.detach().numpy()


def close(a, b):
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (type(a), type(b))
        for x, y in zip(a, b):
            close(x, y)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def d(*a):
    return tuple(dynagrad.tensor(x) for x in a)


def t(*a):
    return tuple(torch.tensor(x) for x in a)


def test_vjp():
    close(_np(AF.vjp(single(dynagrad), d(X)[0], d(V_OUT)[0])), _np(TF.vjp(single(torch), t(X)[0], t(V_OUT)[0])))
    vs = (R.uniform(-1, 1, (3,)), R.uniform(-1, 1, (2,)))
    close(_np(AF.vjp(multi(dynagrad), d(X, Y), d(*vs))), _np(TF.vjp(multi(torch), t(X, Y), t(*vs))))
    close(_np(AF.vjp(scalar(dynagrad), d(X, Y))), _np(TF.vjp(scalar(torch), t(X, Y))))


def test_jvp():
    close(_np(AF.jvp(single(dynagrad), d(X)[0], d(V_X)[0])), _np(TF.jvp(single(torch), t(X)[0], t(V_X)[0])))
    close(_np(AF.jvp(multi(dynagrad), d(X, Y), d(V_X, V_Y))), _np(TF.jvp(multi(torch), t(X, Y), t(V_X, V_Y))))


@pytest.mark.parametrize("vectorize,strategy", [(False, "reverse-mode"), (True, "reverse-mode"),
                                                (True, "forward-mode")])
def test_jacobian(vectorize, strategy):
    kw = dict(vectorize=vectorize, strategy=strategy)
    close(_np(AF.jacobian(single(dynagrad), d(X)[0], **kw)), _np(TF.jacobian(single(torch), t(X)[0], **kw)))
    dj = AF.jacobian(multi(dynagrad), d(X, Y), **kw)
    tj = TF.jacobian(multi(torch), t(X, Y), **kw)
    assert len(dj) == 2 and len(dj[0]) == 2 and dj[0][0].shape == (3, 3, 2)
    close(_np(dj), _np(tj))
    close(_np(AF.jacobian(single(dynagrad), d(X), **kw)), _np(TF.jacobian(single(torch), t(X), **kw)))


@pytest.mark.parametrize("vectorize", [False, True])
def test_hessian(vectorize):
    close(_np(AF.hessian(scalar1(dynagrad), d(X)[0], vectorize=vectorize)),
          _np(TF.hessian(scalar1(torch), t(X)[0], vectorize=vectorize)))
    dh = AF.hessian(scalar(dynagrad), d(X, Y), vectorize=vectorize)
    th = TF.hessian(scalar(torch), t(X, Y), vectorize=vectorize)
    assert dh[0][1].shape == (3, 2, 2)
    close(_np(dh), _np(th))


def test_hvp_vhp():
    for name in ("hvp", "vhp"):
        close(_np(getattr(AF, name)(scalar(dynagrad), d(X, Y), d(V_X, V_Y))),
              _np(getattr(TF, name)(scalar(torch), t(X, Y), t(V_X, V_Y))))
        close(_np(getattr(AF, name)(scalar1(dynagrad), d(X)[0], d(V_X)[0])),
              _np(getattr(TF, name)(scalar1(torch), t(X)[0], t(V_X)[0])))


def test_create_graph_and_strict():
    x = dynagrad.tensor(X, requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    J = AF.jacobian(single(dynagrad), x, create_graph=True)
    Jt = TF.jacobian(single(torch), xt, create_graph=True)
    assert J.requires_grad
    (J ** 2).sum().backward()
    (Jt ** 2).sum().backward()
    close(_np(x.grad), _np(xt.grad))
    _, hv = AF.hvp(scalar1(dynagrad), x, dynagrad.tensor(V_X), create_graph=True)
    assert hv.requires_grad
    assert not AF.jacobian(single(dynagrad), dynagrad.tensor(X)).requires_grad

    def const(m):
        return lambda x, y: x.sum() * 2
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.vjp(const(dynagrad), d(X, Y), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(const(dynagrad), d(X, Y), strict=True)
    zero = AF.jacobian(const(dynagrad), d(X, Y))[1]
    assert zero.shape == (2,) and not zero.numpy().any()


def test_module_attributes_and_errors():
    assert dynagrad.autograd.functional.jacobian is AF.jacobian
    assert dynagrad.autograd.forward_ad.dual_level is not None
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        AF.jacobian(single(dynagrad), X)
    with pytest.raises(RuntimeError, match="can only be None"):
        AF.vjp(single(dynagrad), d(X)[0])
