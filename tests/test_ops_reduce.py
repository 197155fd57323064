"""Reductions against PyTorch: over all elements, one dim, several dims, keepdim; 0-d, empty and
non-contiguous inputs; ties; integer and bool inputs."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import B, Const, F, I, check_op

FLOATS = ("float32", "float64")

DIMS = [None, 0, -1, (0, 2), 1]


def _dim_kw(dim, keepdim):
    kw = {} if dim is None and not keepdim else {"dim": dim}
    if keepdim:
        kw["keepdim"] = True
    return kw


REDUCE = {  # name -> (fn(m, x, kw), accepts a tuple of dims)
    "sum": (lambda m, x, kw: m.sum(x, **kw), True),
    "sum_method": (lambda m, x, kw: x.sum(**kw), True),
    "mean": (lambda m, x, kw: x.mean(**kw), True),
    "amax": (lambda m, x, kw: m.amax(x, **kw), True),
    "amin": (lambda m, x, kw: x.amin(**kw), True),
    "var": (lambda m, x, kw: m.var(x, **kw), True),
    "var_biased": (lambda m, x, kw: m.var(x, unbiased=False, **kw), True),
    "var_correction": (lambda m, x, kw: x.var(correction=2, **kw), True),
    "std": (lambda m, x, kw: m.std(x, **kw), True),
    "std_correction0": (lambda m, x, kw: x.std(correction=0, **kw), True),
    "norm": (lambda m, x, kw: x.norm(**kw), True),
    "norm_1": (lambda m, x, kw: m.norm(x, p=1, **kw), True),
    "norm_3": (lambda m, x, kw: m.norm(x, p=3, **kw), True),
    "norm_inf": (lambda m, x, kw: m.norm(x, p=float("inf"), **kw), True),
    "logsumexp": (lambda m, x, kw: m.logsumexp(x, _dims_or_all(kw.pop("dim", None), x), **kw), True),
    "prod": (lambda m, x, kw: m.prod(x, **kw), False),
    "max_dim": (lambda m, x, kw: m.max(x, **kw), False),
    "min_dim": (lambda m, x, kw: x.min(**kw), False),
    "argmax": (lambda m, x, kw: m.argmax(x, **kw), False),
    "argmin": (lambda m, x, kw: x.argmin(**kw), False),
    "all": (lambda m, x, kw: m.all(x > 0, **kw), True),
    "any": (lambda m, x, kw: (x > 1).any(**kw), True),
}


def _dims_or_all(dim, x):
    return tuple(range(x.dim())) if dim is None else dim


@pytest.mark.parametrize("name", list(REDUCE))
def test_reduce(name):
    fn, tuples = REDUCE[name]
    for dim in DIMS:
        if isinstance(dim, tuple) and not tuples:
            continue
        for keepdim in (False, True):
            if dim is None and keepdim and name in ("max_dim", "min_dim", "prod", "all", "any"):
                continue
            kw = _dim_kw(dim, keepdim)
            check_op(lambda m, x, kw=kw: fn(m, x, dict(kw)), (3, 4, 5),
                     dtypes=FLOATS if dim in (None, 0) else ("float32",))
    kw = {} if name != "logsumexp" else {"dim": 1}
    check_op(lambda m, x: fn(m, x, dict(kw)), F(4, 3, layout="T"))
    check_op(lambda m, x: fn(m, x, dict(kw)), F(2, 3, 4, layout="step"))


@pytest.mark.parametrize("name", list(REDUCE))
def test_reduce_0d(name):
    fn, tuples = REDUCE[name]
    check_op(lambda m, x: fn(m, x, {} if name != "logsumexp" else {"dim": 0}), ())
    if name != "logsumexp":
        check_op(lambda m, x: fn(m, x, {"dim": 0}), ())
        check_op(lambda m, x: fn(m, x, {"dim": -1, "keepdim": True}), ())


EMPTY_OK = {"sum", "sum_method", "mean", "prod", "all", "any", "norm", "norm_1", "logsumexp", "var", "std"}


@pytest.mark.parametrize("name", sorted(EMPTY_OK | {"amax", "max_dim", "argmax"}))
def test_reduce_empty(name):
    fn, _ = REDUCE[name]
    if name in EMPTY_OK:
        if name != "logsumexp":
            check_op(lambda m, x: fn(m, x, {}), (0, 3))
        check_op(lambda m, x: fn(m, x, {"dim": 0}), (0, 3))
    check_op(lambda m, x: fn(m, x, {"dim": 1}), (0, 3))  # reduce a non-empty dim of an empty tensor
    if name in ("amax", "max_dim", "argmax"):
        check_op(lambda m, x: fn(m, x, {"dim": 0}), (0, 3), raises=IndexError)


def test_max_min_ties_and_full():
    t = Const(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]))
    check_op(lambda m, x: x.max(), t)
    check_op(lambda m, x: m.min(x), t)
    check_op(lambda m, x: m.amax(x, 1), t)
    check_op(lambda m, x: m.amin(x, 0), t)
    check_op(lambda m, x: m.max(x, 1), t)  # the gradient goes to the returned index
    check_op(lambda m, x: m.argmax(x, 1), t)
    check_op(lambda m, x: m.argmin(x), t)
    check_op(lambda m, x: x.max(dim=1).values * 2, t)
    check_op(lambda m, x: x.min(0).indices, t)
    check_op(lambda m, x: m.norm(x - x), t)  # the subgradient at 0


def test_prod_with_zeros():
    check_op(lambda m, x: x.prod(), Const(np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 5.0]])))
    check_op(lambda m, x: x.prod(1), Const(np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 5.0]])))
    check_op(lambda m, x: x.prod(0), Const(np.array([[0.0, 0.0, 3.0], [1.0, 0.0, 5.0]])))
    check_op(lambda m, x: x.prod(), Const(np.array([0.0, 2.0, 0.0])))
    check_op(lambda m, x: x.prod(0, keepdim=True), Const(np.array([[0.0, 2.0], [0.5, 0.0]])))


def test_int_and_bool_reductions():
    for fn in [lambda m, x: x.sum(), lambda m, x: x.sum(0), lambda m, x: x.prod(1), lambda m, x: x.max(),
               lambda m, x: x.max(1), lambda m, x: (x * 1).argmax(), lambda m, x: x.cumsum(0),
               lambda m, x: x.cumprod(1), lambda m, x: m.amin(x, 0), lambda m, x: x.all(),
               lambda m, x: x.any(1), lambda m, x: m.sum(x, dtype=m.float64), lambda m, x: x.float().mean(),
               lambda m, x: x.float().var()]:
        check_op(fn, I(3, 4, low=-3, high=4))
        check_op(fn, I(3, 4, low=-3, high=4, dtype="int32"))
        check_op(fn, B(3, 4))
    check_op(lambda m, x: x.mean(), I(3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.argmax(), B(3, 4), raises=RuntimeError)
    check_op(lambda m, x: m.argmin(x, 0), B(3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.sum(0), I(3, 4, dtype="uint8"))


def test_sum_mean_dtype_argument():
    check_op(lambda m, x: m.sum(x, dtype=m.float64), (3, 4))
    check_op(lambda m, x: x.sum(1, dtype=m.float64), (3, 4))
    check_op(lambda m, x: m.mean(x, 0, dtype=m.float64), (3, 4))
    check_op(lambda m, x: m.mean(x, dim=[0, 1]), (3, 4))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumulative(dim):
    for fn in [lambda m, x: m.cumsum(x, dim), lambda m, x: x.cumsum(dim=dim), lambda m, x: m.cumprod(x, dim),
               lambda m, x: m.logcumsumexp(x, dim)]:
        check_op(fn, (3, 4), dtypes=FLOATS)
        check_op(fn, F(3, 4, layout="T"))
        check_op(fn, (0, 4))
    check_op(lambda m, x: m.cumprod(x, dim), Const(np.array([[1.5, 0.0, 2.0, 3.0], [0.0, 2.0, 0.0, -1.0]])))
    check_op(lambda m, x: m.cummax(x, dim), (3, 4))
    check_op(lambda m, x: m.cummin(x, dim), (3, 4))


def test_cumulative_0d():
    check_op(lambda m, x: x.cumsum(0), ())
    check_op(lambda m, x: x.cumprod(0), ())


def test_var_std_edge_cases():
    check_op(lambda m, x: x.var(), (1,))  # one element, unbiased: nan (and a nan gradient)
    check_op(lambda m, x: x.var(0), (1, 3))
    check_op(lambda m, x: x.std(1, unbiased=False), (3, 1))
    check_op(lambda m, x: m.var_mean(x, 1), (3, 4))
    check_op(lambda m, x: m.std_mean(x, dim=0, correction=0), (3, 4))
    check_op(lambda m, x: x.std(), Const(np.ones((2, 3))))


def test_norm_variants():
    for fn in [lambda m, x: x.norm(), lambda m, x: m.norm(x, dim=1), lambda m, x: m.norm(x, 2, 1, True),
               lambda m, x: m.norm(x, p="fro"), lambda m, x: m.norm(x, p=0),
               lambda m, x: m.norm(x, p=-float("inf")),
               lambda m, x: m.norm(x, p=1.5, dim=0)]:
        check_op(fn, (3, 4), dtypes=FLOATS)


def test_logsumexp_stability():
    check_op(lambda m, x: m.logsumexp(x, 1), Const(np.array([[1000.0, 1000.0], [-1000.0, 0.0]])))
    check_op(lambda m, x: m.logsumexp(x, 0), Const(np.array([-np.inf, -np.inf])))
    check_op(lambda m, x: m.logsumexp(x, 1, keepdim=True), I(3, 4))


def test_softmax_family():
    for fn in [lambda m, x: m.softmax(x, 1), lambda m, x: x.log_softmax(-1), lambda m, x: x.softmax(0)]:
        check_op(fn, (3, 4), dtypes=FLOATS)
        check_op(fn, F(3, 4, layout="T"))
