"""Softmax, log-softmax and the softmax gradient along the last axis, with numba kernels where installed.

The reductions (the row maximum and sum) are NumPy's in both paths; where numba is installed the steps
that combine a row with its statistic (``x - max``, ``e / sum``, ``out * (g - sum)``) are one contiguous
loop each instead of a NumPy broadcast, which is about three times slower on rows of this size. Same
operations, same bits (tests/test_fast_paths.py compares both paths).
"""
from __future__ import annotations

from .. import _jit
from ..backend import xp

_nd = xp.ndarray
_MIN = 1 << 14  # elements below which NumPy's few calls cost less than the kernels' calls
_max, _sum = xp.maximum.reduce, xp.add.reduce


def _kernel_ok(*arrays) -> bool:
    for a in arrays:
        if type(a) is not _nd or a.dtype.kind != "f" or a.dtype.itemsize < 4 or not a.flags.c_contiguous:
            return False
    a = arrays[0]
    return a.size >= _MIN and a.shape[-1] > 0 and _jit.enabled()


def softmax_last(a):
    """exp(a - max) / sum(exp(a - max)) over the last axis (a new array)."""
    if _kernel_ok(a):
        e = xp.empty_like(a)
        _softmax_kernels(a, e)
        return e
    e = xp.exp(a - a.max(-1, keepdims=True))
    e /= e.sum(-1, keepdims=True)
    return e


def softmax_last_inplace(s):
    """The same, written into ``s`` (attention scores nobody else holds); returns the row maxima, shaped
    (..., 1), which tell a fully masked row (maximum -inf) from the rest."""
    if _kernel_ok(s):
        return _softmax_kernels(s, s)
    top = s.max(-1, keepdims=True)
    s -= top
    xp.exp(s, out=s)
    s /= s.sum(-1, keepdims=True)
    return top


def _softmax_kernels(a, e):
    n = a.shape[-1]
    a2, e2 = a.reshape(-1, n), e.reshape(-1, n)
    top = _max(a2, 1)
    _k_sub_rows(a2, top, e2)
    xp.exp(e, out=e)
    _k_div_rows(e2, _sum(e2, 1))
    return top.reshape(a.shape[:-1] + (1,))


def log_softmax_last(a):
    """(a - max) - log(sum(exp(a - max))) over the last axis."""
    if _kernel_ok(a):
        n = a.shape[-1]
        a2 = a.reshape(-1, n)
        s = xp.empty_like(a)
        s2 = s.reshape(-1, n)
        _k_sub_rows(a2, _max(a2, 1), s2)
        lse = xp.log(_sum(xp.exp(s2), 1))
        _k_sub_rows(s2, lse, s2)
        return s
    s = a - a.max(-1, keepdims=True)
    s -= xp.log(xp.exp(s).sum(-1, keepdims=True))
    return s


def softmax_grad_last(g, out):
    """out * (g - sum(g * out)) over the last axis: softmax's backward."""
    if _kernel_ok(g, out) and g.shape == out.shape and g.dtype == out.dtype:
        n = g.shape[-1]
        r = xp.multiply(g, out)
        r2 = r.reshape(-1, n)
        _k_grad_finish(g.reshape(-1, n), out.reshape(-1, n), _sum(r2, 1), r2)
        return r
    return out * (g - (g * out).sum(-1, keepdims=True))


# -- kernels: a row combined with its statistic -------------------------------------------------------------

@_jit.kernel
def _k_sub_rows(x, v, out):
    """out[i, j] = x[i, j] - v[i]."""
    for i in range(x.shape[0]):
        xi, oi, b = x[i], out[i], v[i]
        for j in range(xi.shape[0]):
            oi[j] = xi[j] - b


@_jit.kernel
def _k_div_rows(e, v):
    """e[i, j] /= v[i]."""
    for i in range(e.shape[0]):
        row, b = e[i], v[i]
        for j in range(row.shape[0]):
            row[j] = row[j] / b


@_jit.kernel
def _k_grad_finish(g, out, s, r):
    """r = out * (g - s) per row."""
    for i in range(g.shape[0]):
        gi, oi, ri, b = g[i], out[i], r[i], s[i]
        for j in range(gi.shape[0]):
            ri[j] = oi[j] * (gi[j] - b)
