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

from .autograd.function import Op
from .backend import xp
from .distributions._special import (
    _erfc_large,
    _f64,
    digamma,
    erfc,
    erfinv,
    gammainc,
    gammaincc,
    lgamma,
    polygamma,
)
from .ops import _dual as D
from .ops.elementwise import _float_input, _refuse, erf, exp2, expm1, log1p, sigmoid, xlog1py, xlogy
from .ops.reduce import log_softmax as _log_softmax
from .ops.reduce import logsumexp as _logsumexp
from .ops.reduce import softmax as _softmax

__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "erf", "erfc", "erfinv", "expit",
           "logit", "xlogy", "xlog1py", "entr", "log1p", "expm1", "exp2", "logsumexp", "softmax",
           "log_softmax", "sinc", "ndtr", "ndtri", "log_ndtr", "gammainc", "gammaincc", "round"]

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


def entr(x):
    """-x log x elementwise (0 at 0, -inf for x < 0)."""
    from .creation import full_like
    from .ops.index import where
    x = _float_input(x)
    r = -xlogy(x, x)
    return where(x < 0, full_like(x, -math.inf), r)


def logsumexp(x, dim, keepdim: bool = False):
    return _logsumexp(x, dim, keepdim)


def softmax(x, dim, dtype=None):
    return _softmax(x, dim, dtype)


def log_softmax(x, dim, dtype=None):
    return _log_softmax(x, dim, dtype)


def sinc(x):
    """sin(pi x) / (pi x), 1 at 0."""
    from .creation import ones_like
    from .ops.index import where
    x = _float_input(x)
    zero = x == 0
    px = math.pi * where(zero, ones_like(x), x)
    return where(zero, ones_like(x), px.sin() / px)


def ndtr(x):
    """The standard normal CDF."""
    x = _float_input(x)
    return 0.5 * erfc(-x / math.sqrt(2))


def ndtri(p):
    """The inverse of the standard normal CDF."""
    return math.sqrt(2) * erfinv(2 * _float_input(p) - 1)


def _log_ndtr_array(a):
    x = _f64(a)
    out = xp.empty_like(x)
    lo = x < -5
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = -x[lo] / math.sqrt(2)
        # log(erfc(z) / 2) with erfc(z) = e^{-z^2} / (sqrt(pi) t), t the continued fraction: no underflow
        t = xp.exp(-z * z) / math.sqrt(math.pi) / _erfc_large(z)
        out[lo] = -z * z - 0.5 * math.log(math.pi) - xp.log(t) - math.log(2.0)
        hi = ~lo
        from .distributions._special import _erfc_array
        out[hi] = xp.log(0.5 * _erfc_array(-x[hi] / math.sqrt(2)))
    dt = a.dtype if a.dtype.kind == "f" else xp.float64
    return out.astype(dt, copy=False)


class LogNdtrBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a):
        return _log_ndtr_array(a)

    def backward(self, g, x, out):
        return (g * D.exp(-(x * x) / 2 - out) / math.sqrt(2 * math.pi),)


def log_ndtr(x):
    """log of the standard normal CDF, accurate far into the left tail."""
    return LogNdtrBackward0.apply(_float_input(x))


def multigammaln(x, p: int):
    """The log of the multivariate gamma function of dimension ``p``."""
    from .creation import arange
    x = _float_input(x)
    c = 0.25 * p * (p - 1) * math.log(math.pi)
    offsets = arange(p, dtype=x.dtype) * -0.5
    return lgamma(x.unsqueeze(-1) + offsets).sum(-1) + c


def round(x, decimals: int = 0):  # noqa: A001 - torch.special.round
    return x.round(decimals=decimals) if decimals else x.round()


def _as_tensors(x, y):
    from .creation import as_tensor
    from .tensor import Tensor
    if not isinstance(x, Tensor):
        x = as_tensor(x, dtype=y.dtype if isinstance(y, Tensor) else None)
    if not isinstance(y, Tensor):
        y = as_tensor(y, dtype=x.dtype)
    return _float_input(x), _float_input(y)


