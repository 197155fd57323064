"""Padding primitives: reflect, replicate and circular (``F.pad`` dispatches here; constant padding is
``nn._ops.ConstantPadNdBackward0``), and a zero-padding helper on arrays for convolution.

``pads`` is a tuple of ``(before, after)`` per trailing dim, outermost first. Forward copies the centre
once and each border as one slice; backward adds each border of the gradient back where it came from.
"""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor

_nd = xp.ndarray


def _pad_constant_array(a, pads, value=0.0):
    """``a`` padded over its trailing dims with ``value`` (negative widths crop)."""
    lead = a.ndim - len(pads)
    shape = a.shape[:lead] + tuple(s + lo + hi for s, (lo, hi) in zip(a.shape[lead:], pads))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"The input size {a.shape[lead:]}, plus negative padding {pads} resulted in a "
                           f"negative output size, which is invalid.")
    if all(lo >= 0 and hi >= 0 for lo, hi in pads):
        out = xp.full(shape, value, a.dtype) if value else xp.zeros(shape, a.dtype)
        out[(slice(None),) * lead + tuple(slice(lo, lo + s) for s, (lo, _) in zip(a.shape[lead:], pads))] = a
        return out
    src = (slice(None),) * lead + tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in
                                        zip(a.shape[lead:], pads))
    dst = (slice(None),) * lead + tuple(slice(max(lo, 0), n - max(hi, 0)) for n, (lo, hi) in
                                        zip(shape[lead:], pads))
    out = xp.full(shape, value, a.dtype) if value else xp.zeros(shape, a.dtype)
    out[dst] = a[src]
    return out


def _index(n: int, lo: int, hi: int, mode: str):
    j = xp.arange(-lo, n + hi)
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension of input of size {n}")
        j = xp.abs(j)
        return xp.where(j >= n, 2 * (n - 1) - j, j)
    if mode == "replicate":
        if n == 0:
            raise RuntimeError("padding size should be less than the corresponding input dimension")
        return xp.clip(j, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return j % n
    raise NotImplementedError(f"padding mode {mode}")


def _sl(a, ax, start, stop, step=None):
    idx = [slice(None)] * a.ndim
    idx[ax] = slice(start, stop, step)
    return tuple(idx)


def _pad_dim(a, ax, lo, hi, mode):
    """Pad one axis with slices: the centre is copied once, each border is one slice of the input."""
    n = a.shape[ax]
    shape = list(a.shape)
    shape[ax] = n + lo + hi
    out = xp.empty(shape, a.dtype)
    out[_sl(out, ax, lo, lo + n)] = a
    if mode == "reflect":
        out[_sl(out, ax, 0, lo)] = a[_sl(a, ax, lo, 0, -1)]
        out[_sl(out, ax, lo + n, None)] = a[_sl(a, ax, n - 2, (n - 2 - hi) if n - 2 - hi >= 0 else None, -1)]
    elif mode == "replicate":
        out[_sl(out, ax, 0, lo)] = a[_sl(a, ax, 0, 1)]
        out[_sl(out, ax, lo + n, None)] = a[_sl(a, ax, n - 1, n)]
    else:  # circular
        out[_sl(out, ax, 0, lo)] = a[_sl(a, ax, n - lo, n)]
        out[_sl(out, ax, lo + n, None)] = a[_sl(a, ax, 0, hi)]
    return out


def _unpad_dim(g, ax, lo, hi, mode):
    """Adjoint of :func:`_pad_dim`: the centre of ``g`` plus each border added back where it came from."""
    n = g.shape[ax] - lo - hi
    gx = g[_sl(g, ax, lo, lo + n)].copy()
    left, right = g[_sl(g, ax, 0, lo)], g[_sl(g, ax, lo + n, None)]
    if mode == "reflect":
        gx[_sl(gx, ax, lo, 0, -1)] += left
        gx[_sl(gx, ax, n - 2, (n - 2 - hi) if n - 2 - hi >= 0 else None, -1)] += right
    elif mode == "replicate":
        gx[_sl(gx, ax, 0, 1)] += left.sum(axis=ax, keepdims=True)
        gx[_sl(gx, ax, n - 1, n)] += right.sum(axis=ax, keepdims=True)
    else:
        gx[_sl(gx, ax, n - lo, n)] += left
        gx[_sl(gx, ax, 0, hi)] += right
    return gx


class _IndexPadBackward(Op):
    def name(self) -> str:
        nd = len(self.pads)
        return {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}.get(self.mode, "CircularPad") + \
            f"{nd}DBackward0"

    def forward(ctx, a, pads, mode):
        lead = a.ndim - len(pads)
        for i, (lo, hi) in enumerate(pads):
            _index(a.shape[lead + i], lo, hi, mode)  # validates the widths
            if lo or hi:
                a = _pad_dim(a, lead + i, lo, hi, mode)
        if ctx is not None:
            ctx.pads, ctx.mode, ctx.lead = pads, mode, lead
        return a

    def backward(self, g):
        for i in reversed(range(len(self.pads))):
            lo, hi = self.pads[i]
            if not (lo or hi):
                continue
            ax = self.lead + i
            if type(g) is _nd:
                g = _unpad_dim(g, ax, lo, hi, self.mode)
            else:
                n = g.shape[ax] - lo - hi
                idx = _index(n, lo, hi, self.mode)
                shape = list(g.shape)
                shape[ax] = n
                from ..creation import zeros
                g = zeros(*shape, dtype=g.dtype).index_add(ax, Tensor._wrap(idx), g)
        return (g,)


def pad_index(x: Tensor, pads, mode: str) -> Tensor:
    """Reflect, replicate or circular padding of the trailing dims by ``pads = ((before, after), ...)``
    (non-negative widths; ``F.pad`` crops negative ones first).

    >>> import dynagrad
    >>> pad_index(dynagrad.arange(3.0).reshape(1, 3), ((2, 1),), "reflect")
    tensor([[2., 1., 0., 1., 2., 1.]])
    """
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    return _IndexPadBackward.apply(x, pads=pads, mode=mode)
