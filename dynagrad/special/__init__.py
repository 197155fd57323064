"""``torch.special``: special functions, differentiable.

The gamma-family functions, erfc, erfinv and the incomplete gamma functions are primitives defined in
``dynagrad.distributions._special`` (float64 series and recurrences, accurate to about 1e-14); the rest are
core ops or composites of them.

>>> import dynagrad
>>> x = dynagrad.tensor([0.5, 1.0, 3.0], requires_grad=True)
>>> dynagrad.special.gammaln(x)
tensor([0.5724, 0.0000, 0.6931], grad_fn=<LgammaBackward0>)
>>> dynagrad.special.gammaln(x).sum().backward()
>>> x.grad  # digamma
tensor([-1.9635, -0.5772,  0.9228])
>>> dynagrad.special.polygamma(1, dynagrad.tensor([1.0]))  # pi^2 / 6
tensor([1.6449])
"""
from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import xp
from ..distributions._special import (
    _f64,
    digamma,
    erfc,
    erfinv,
    gammainc,
    gammaincc,
    lgamma,
    polygamma,
)
from ..ops import _dual as D
from ..ops.elementwise import _float_input, _refuse, erf, exp2, expm1, log1p, sigmoid, xlog1py, xlogy
from ..ops.math import i0
from ..ops.reduce import log_softmax as _log_softmax
from ..ops.reduce import logsumexp as _logsumexp
from ..ops.reduce import softmax as _softmax
from ..tensor import Tensor
from . import _functions as _F
from ._functions import *  # noqa: F403 - the Bessel, Airy, zeta and polynomial functions

__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "erf", "erfc", "erfinv", "expit",
           "logit", "xlogy", "xlog1py", "entr", "log1p", "expm1", "exp2", "logsumexp", "softmax",
           "log_softmax", "sinc", "ndtr", "ndtri", "log_ndtr", "gammainc", "gammaincc", "round", "i0",
           *_F.__all__]

gammaln = lgamma
psi = digamma
expit = sigmoid


class LogitBackward0(Op):
    save = (0,)

    def forward(ctx, a, eps):
        if ctx is not None:
            ctx.eps = eps
        z = a if eps is None else xp.clip(a, eps, 1 - eps)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.asarray(xp.log(z / (1 - z)))

    def backward(self, g, x):
        # PyTorch: g / (x (1 - x)), NaN outside [0, 1] (eps=None) or 0 outside [eps, 1 - eps]
        xv = x if D.is_array(x) else x._data
        if self.eps is None:
            bad = (xv < 0) | (xv > 1)
            return (D.where(bad, xp.nan, g / (x * (1 - x))),)
        inside = (xv >= self.eps) & (xv <= 1 - self.eps)
        return (D.mask(g / (x * (1 - x)), inside),)


def logit(input, eps: float | None = None):  # noqa: A002
    """log(p / (1 - p)), with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    _refuse("logit_cpu", input, "c")
    return LogitBackward0.apply(_float_input(input), eps=eps)


class EntrBackward0(Op):
    """-x log x (0 at 0, -inf for x < 0); PyTorch's gradient -(1 + log x) everywhere (inf at 0, NaN below)."""

    save = (0,)

    def forward(ctx, a):
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = -a * xp.log(a)
        out = xp.where(a == 0, a.dtype.type(0), out)
        return xp.asarray(xp.where(a < 0, a.dtype.type(-xp.inf), out))

    def backward(self, g, x):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (g * -(1 + D.log(x)),)


def entr(x):
    """-x log x elementwise (0 at 0, -inf for x < 0)."""
    _refuse("entr_cpu", x, "c")
    return EntrBackward0.apply(_float_input(x))


def logsumexp(x, dim, keepdim: bool = False):
    return _logsumexp(x, dim, keepdim)


def softmax(x, dim, dtype=None):
    return _softmax(x, dim, dtype)


def log_softmax(x, dim, dtype=None):
    return _log_softmax(x, dim, dtype)


def sinc(x):
    """sin(pi x) / (pi x), 1 at 0."""
    from ..creation import ones_like
    from ..ops.index import where
    x = _float_input(x)
    zero = x == 0
    px = math.pi * where(zero, ones_like(x), x)
    return where(zero, ones_like(x), px.sin() / px)


def ndtr(x):
    """The standard normal CDF."""
    x = _float_input(x)
    return 0.5 * erfc(-x / math.sqrt(2))


def _ndtri_array(a):
    """x with ndtr(x) = p: Newton's method on log_ndtr (accurate in the far tails, where erfinv(2p - 1) loses
    p's precision), from erfinv's value or the tail's -sqrt(-2 log p), in float64."""
    p = _f64(a)
    out = xp.full(p.shape, xp.nan)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, out))
        inside = (p > 0) & (p < 1)
        upper = p > 0.5
        q = xp.where(upper, 1 - p, p)[inside]  # solve in the lower tail; ndtri(p) = -ndtri(1 - p)
        x = -xp.sqrt(-2 * xp.log(q))
        mid = q > 1e-3
        if mid.any():
            x[mid] = math.sqrt(2) * erfinv(Tensor._wrap(2 * q[mid] - 1))._data
        logq = xp.log(q)
        for _ in range(8):
            ln = _log_ndtr_array(x)
            step = (ln - logq) / (xp.exp(-0.5 * x * x - ln) / math.sqrt(2 * math.pi))
            x = x - step
        out[inside] = xp.where(upper[inside], -x, x)
    return out.astype(a.dtype, copy=False)


class NdtriBackward0(Op):
    save_output = True

    def forward(ctx, a):
        return _ndtri_array(a)

    def backward(self, g, out):  # PyTorch: g sqrt(2 pi) exp(ndtri(p)^2 / 2)
        with xp.errstate(over="ignore"):
            return (g * math.sqrt(2 * math.pi) * D.exp(out * out / 2),)


def ndtri(p):
    """The inverse of the standard normal CDF (float32 and float64; integers compute in the default dtype)."""
    _refuse("ndtri_cpu", p, "c")
    if p.dtype.name in ("float16", "bfloat16"):
        from .. import dtypes
        raise dtypes.not_implemented("ndtri_cpu", p.dtype)
    return NdtriBackward0.apply(_float_input(p))


def _log_ndtr_array(a):
    """log(ndtr(x)) in float64, as ATen's calc_log_ndtr arranges it: log(erfcx(-t) / 2) - t^2 with t = x/sqrt(2)
    below -1 (erfcx from the continued fraction in the far tail, so nothing underflows), log1p(-erfc(t) / 2)
    above."""
    from ..distributions._special import _erfc_array
    x = _f64(a)
    out = xp.empty_like(x)
    t = x * math.sqrt(0.5)  # ATen multiplies by the rounded 1/sqrt(2), 0.7071067811865476
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo = x < -1
        z = -t[lo]
        far = z > 3.5
        erfcx = xp.empty_like(z)
        cf = z[far].copy()  # erfc(z) = e^{-z^2} / (sqrt(pi) cf), cf = z + (1/2)/(z + 1/(z + ...))
        for k in range(120, 0, -1):
            cf = z[far] + (k / 2) / cf
        erfcx[far] = 1 / (math.sqrt(math.pi) * cf)
        erfcx[~far] = xp.exp(z[~far] * z[~far]) * _erfc_array(z[~far])
        out[lo] = xp.log(erfcx / 2) - z * z
        out[~lo] = xp.log1p(-_erfc_array(t[~lo]) / 2)
        out[xp.isneginf(x)] = -xp.inf
    dt = a.dtype if a.dtype.kind == "f" else xp.float64
    return out.astype(dt, copy=False)


class LogNdtrBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a):
        return _log_ndtr_array(a)

    def backward(self, g, x, out):  # PyTorch's formula: g / sqrt(2 pi) exp(-(log_ndtr(x) + x^2 / 2))
        with xp.errstate(over="ignore", invalid="ignore"):
            return (g / math.sqrt(2 * math.pi) * D.exp(-(out + x * x / 2)),)


def log_ndtr(x):
    """log of the standard normal CDF, accurate far into the left tail (float32 and float64)."""
    _refuse("log_ndtr_cpu", x, "c")
    if x.dtype.name in ("float16", "bfloat16"):
        from .. import dtypes
        raise dtypes.not_implemented("log_ndtr_cpu", x.dtype)
    return LogNdtrBackward0.apply(_float_input(x))


def multigammaln(x, p: int):
    """The log of the multivariate gamma function of dimension ``p``."""
    from ..creation import arange
    x = _float_input(x)
    c = 0.25 * p * (p - 1) * math.log(math.pi)
    offsets = arange(p, dtype=x.dtype) * -0.5
    return lgamma(x.unsqueeze(-1) + offsets).sum(-1) + c


def round(x, decimals: int = 0):  # noqa: A001 - torch.special.round
    """Round half to even (floating point only, unlike ``torch.round``)."""
    _refuse("round_vml_cpu", x, "biu")
    return x.round(decimals=decimals) if decimals else x.round()


def _as_tensors(x, y):
    from ..creation import as_tensor
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        x = as_tensor(x, dtype=y.dtype if isinstance(y, Tensor) else None)
    if not isinstance(y, Tensor):
        y = as_tensor(y, dtype=x.dtype)
    return _float_input(x), _float_input(y)


