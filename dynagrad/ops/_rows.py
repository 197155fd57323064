"""Softmax, log-softmax and the softmax gradient along the last axis, with numba kernels where installed.

The reductions (the row maximum and sum) are NumPy's in both paths; where numba is installed the steps
that combine a row with its statistic (``x - max``, ``e / sum``, ``out * (g - sum)``) are one contiguous
loop each instead of a NumPy broadcast, which is about three times slower on rows of this size. The
kernel paths go through the rows in chunks of about 128 KiB, so that the several passes of each chunk
read it from cache instead of memory (a word model's 700 x 10,000 log-softmax ran at half PyTorch's speed
whole-array). Same operations, same bits (tests/test_fast_paths.py compares both paths).
"""
from __future__ import annotations

from .. import _jit
from ..backend import xp

_nd = xp.ndarray
_MIN = 1 << 14  # elements below which NumPy's few calls cost less than the kernels' calls
_CHUNK = 1 << 15  # elements per chunk of rows (128 KiB of float32: the passes over a chunk stay in L2)
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


def _chunks(n_rows: int, n: int):
    """Row ranges of about _CHUNK elements: each step's passes then run over data still in cache."""
    step = max(1, _CHUNK // n)
    for i in range(0, n_rows, step):
        yield i, min(i + step, n_rows)


def _softmax_kernels(a, e):
    n = a.shape[-1]
    a2, e2 = a.reshape(-1, n), e.reshape(-1, n)
    top = xp.empty(a2.shape[0], a.dtype)
    for i, j in _chunks(a2.shape[0], n):
        ac, ec = a2[i:j], e2[i:j]
        _max(ac, 1, out=top[i:j])
        _k_sub_rows(ac, top[i:j], ec)
        xp.exp(ec, out=ec)
        _k_div_rows(ec, _sum(ec, 1))
    return top.reshape(a.shape[:-1] + (1,))


def log_softmax_last(a):
    """(a - max) - log(sum(exp(a - max))) over the last axis."""
    if _kernel_ok(a):
        n = a.shape[-1]
        a2 = a.reshape(-1, n)
        s = xp.empty_like(a)
        s2 = s.reshape(-1, n)
        scratch = xp.empty(min(a.size, max(n, _CHUNK // n * n)), a.dtype)
        for i, j in _chunks(a2.shape[0], n):
            ac, sc = a2[i:j], s2[i:j]
            ex = scratch[:sc.size].reshape(sc.shape)
            _k_sub_rows(ac, _max(ac, 1), sc)
            xp.exp(sc, out=ex)
            _k_sub_rows(sc, xp.log(_sum(ex, 1)), sc)
        return s
    s = a - a.max(-1, keepdims=True)
    s -= xp.log(xp.exp(s).sum(-1, keepdims=True))
    return s


def softmax_grad_last(g, out):
    """out * (g - sum(g * out)) over the last axis: softmax's backward."""
    if _kernel_ok(g, out) and g.shape == out.shape and g.dtype == out.dtype:
        n = g.shape[-1]
        r = xp.empty_like(g)
        g2, o2, r2 = g.reshape(-1, n), out.reshape(-1, n), r.reshape(-1, n)
        for i, j in _chunks(g2.shape[0], n):
            rc = r2[i:j]
            xp.multiply(g2[i:j], o2[i:j], out=rc)
            _k_grad_finish(g2[i:j], o2[i:j], _sum(rc, 1), rc)
        return r
    return out * (g - (g * out).sum(-1, keepdims=True))


def log_softmax_grad_last(g, out):
    """g - exp(out) * sum(g) over the last axis: log-softmax's backward from its output."""
    if _kernel_ok(g, out) and g.shape == out.shape and g.dtype == out.dtype:
        n = g.shape[-1]
        r = xp.empty_like(g)
        g2, o2, r2 = g.reshape(-1, n), out.reshape(-1, n), r.reshape(-1, n)
        for i, j in _chunks(g2.shape[0], n):
            rc = r2[i:j]
            xp.exp(o2[i:j], out=rc)
            _k_sub_scaled_rows(g2[i:j], rc, _sum(g2[i:j], 1), rc)
        return r
    return g - xp.exp(out) * g.sum(-1, keepdims=True)


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


@_jit.kernel
def _k_sub_scaled_rows(g, e, s, r):
    """r = g - e * s[i] per row (r may be e)."""
    for i in range(g.shape[0]):
        gi, ei, ri, b = g[i], e[i], r[i], s[i]
        for j in range(gi.shape[0]):
            ri[j] = gi[j] - ei[j] * b
