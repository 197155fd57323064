"""Pooling: max (with indices), average, adaptive average/max, LP, max-unpool, for 1-D to 3-D inputs.

Max and average pooling loop over the kernel positions (``prod(kernel)`` vectorised passes over strided
views), never over batch items or pixels. Max pooling returns PyTorch's indices (flat positions in each
input plane); its backward scatters the gradient there with one ``bincount`` (or one assignment when
windows do not overlap). Average pooling and its adjoint are a pair of linear primitives, each the other's
backward, so gradients of any order work. Adaptive average pooling is a product with small averaging
matrices (or a plain average pool when the sizes divide).
"""
from __future__ import annotations

import itertools
import math

from .. import _source
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from .conv import _ntuple

_nd = xp.ndarray


def _pool_out(size, k, s, p, d, ceil_mode):
    """Output length and the padding after the input (PyTorch's pooling_output_shape)."""
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    hi = (out - 1) * s + d * (k - 1) + 1 - size - p
    return out, max(hi, 0)


def _slices(k, stride, dil, out):
    return tuple(slice(k[i] * dil[i], k[i] * dil[i] + stride[i] * (out[i] - 1) + 1, stride[i])
                 for i in range(len(k)))


def _geometry(shape, nd, K, stride, pad, dil, ceil_mode, name):
    S = shape[-nd:]
    for k, p, d in zip(K, pad, dil):
        if p * 2 > k if d == 1 else p * 2 > d * (k - 1) + 1:
            raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    outs, pads = [], []
    for i in range(nd):
        o, hi = _pool_out(S[i], K[i], stride[i], pad[i], dil[i], ceil_mode)
        if o <= 0:
            raise RuntimeError(f"{name}: Given input size: {tuple(shape[-nd - 1:])}. Calculated output size: "
                               f"{tuple(shape[-nd - 1:-nd])}x{o}. Output size is too small "
                               f"(at {_source.here()})")
        outs.append(o)
        pads.append((pad[i], hi))
    return tuple(outs), tuple(pads)


def _padded(a, pads, value):
    if not any(lo or hi for lo, hi in pads):
        return a
    lead = a.ndim - len(pads)
    shape = a.shape[:lead] + tuple(s + lo + hi for s, (lo, hi) in zip(a.shape[lead:], pads))
    out = xp.full(shape, value, a.dtype)
    out[(slice(None),) * lead + tuple(slice(lo, lo + s) for s, (lo, _) in zip(a.shape[lead:], pads))] = a
    return out


# -- max pooling ---------------------------------------------------------------------------------------------

def _scatter_flat(g, idx, in_shape, nd, overlap):
    """Sum ``g`` into a zero array of ``in_shape`` at flat per-plane positions ``idx`` (same shape as g)."""
    lead = in_shape[:-nd]
    plane = math.prod(in_shape[-nd:])
    nplanes = math.prod(lead)
    flat = (idx.reshape(nplanes, -1) + (xp.arange(nplanes) * plane)[:, None]).reshape(-1)
    if not overlap:
        out = xp.zeros(nplanes * plane, g.dtype)
        out[flat] = g.reshape(-1)
        return out.reshape(in_shape)
    out = xp.bincount(flat, weights=g.reshape(-1), minlength=nplanes * plane)
    return out.astype(g.dtype).reshape(in_shape)


class _MaxIndexBackward(Op):
    """Base of ops whose output gathers input elements at returned flat indices (max pooling)."""

    overlap = True

    def backward(self, grads):
        g = grads[0] if isinstance(grads, list) else grads
        if g is None:
            return (None,)
        if type(g) is _nd:
            return (_scatter_flat(g, self.idx, self.in_shape, self.nd, self.overlap),)
        from ..creation import zeros
        lead = self.in_shape[:-self.nd]
        z = zeros(*lead, math.prod(self.in_shape[-self.nd:]), dtype=g.dtype)
        i = Tensor._wrap(self.idx.reshape(lead + (-1,)))
        return (z.scatter_add(-1, i, g.reshape(lead + (-1,))).reshape(self.in_shape),)


class MaxPoolWithIndicesBackward(_MaxIndexBackward):
    def name(self) -> str:
        return f"MaxPool{self.nd}DWithIndicesBackward0"

    def forward(ctx, a, K, stride, pad, dil, ceil_mode):
        nd = len(K)
        out, pads = _geometry(a.shape, nd, K, stride, pad, dil, ceil_mode, "max_pool")
        fill = -xp.inf if a.dtype.kind == "f" else xp.iinfo(a.dtype).min
        ap = _padded(a, pads, fill)
        lead = (slice(None),) * (a.ndim - nd)
        positions = list(itertools.product(*map(range, K)))
        best = ap[lead + _slices(positions[0], stride, dil, out)].copy()
        win = xp.zeros(best.shape, xp.int16 if len(positions) < 32000 else xp.int64)
        nan = a.dtype.kind == "f" and bool(xp.isnan(a).any())  # NaN wins, as in PyTorch
        m = xp.empty(best.shape, bool)
        tmp = xp.empty_like(win)
        for j, k in enumerate(positions[1:], 1):
            v = ap[lead + _slices(k, stride, dil, out)]
            xp.greater(v, best, out=m)
            if nan:
                m |= v != v
                xp.copyto(best, v, where=m)
            else:
                xp.maximum(best, v, out=best)
            # win = where(m, j, win) without branches (a masked copy mispredicts on random data)
            xp.subtract(win.dtype.type(j), win, out=tmp)
            xp.multiply(tmp, m, out=tmp)
            win += tmp
        # flat index into the unpadded input plane
        S = a.shape[-nd:]
        kidx = [(win // math.prod(K[i + 1:])) % K[i] for i in range(nd)]
        flat = None
        for i in range(nd):
            shp = [1] * win.ndim
            shp[win.ndim - nd + i] = out[i]
            pos = (xp.arange(out[i]) * stride[i] - pad[i]).reshape(shp) + kidx[i].astype(xp.int64) * dil[i]
            flat = pos if flat is None else flat * S[i] + pos
        flat = xp.ascontiguousarray(xp.broadcast_to(flat, best.shape), dtype=xp.int64)
        if ctx is not None:
            ctx.idx, ctx.in_shape, ctx.nd = flat, a.shape, nd
            ctx.overlap = any(s < d * (k - 1) + 1 for s, k, d in zip(stride, K, dil))
        return best, flat


def _indices_tensor(t):
    t._requires_grad = False
    t.grad_fn = None
    return t


def _pool_args(nd, kernel_size, stride, padding, dilation):
    K = _ntuple(kernel_size, nd, "kernel_size")
    stride = K if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else \
        _ntuple(stride, nd, "stride")
    return K, stride, _ntuple(padding, nd, "padding"), _ntuple(dilation, nd, "dilation")


def _check_dims(x, nd, name):
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D input tensor, but got {list(x.shape)}")


def _max_poolnd(nd, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                return_indices=False):
    _check_dims(input, nd, f"max_pool{nd}d")
    K, stride, pad, dil = _pool_args(nd, kernel_size, stride, padding, dilation)
    vals, idx = MaxPoolWithIndicesBackward.apply(input, K=K, stride=stride, pad=pad, dil=dil,
                                                 ceil_mode=ceil_mode)
    return (vals, _indices_tensor(idx)) if return_indices else vals


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L)."""
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """2-D max pooling; with ``return_indices`` also the flat index of each maximum in its input plane.

    >>> import dynagrad
    >>> from dynagrad.nn import functional as F
    >>> F.max_pool2d(dynagrad.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    return _max_poolnd(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


max_pool1d_with_indices = max_pool1d
max_pool2d_with_indices = max_pool2d


def _max_unpoolnd(nd, input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    K, stride, pad, _ = _pool_args(nd, kernel_size, stride, padding, 1)
    S = input.shape[-nd:]
    if output_size is not None:
        out = tuple(int(s) for s in tuple(output_size)[-nd:])
    else:
        out = tuple((S[i] - 1) * stride[i] - 2 * pad[i] + K[i] for i in range(nd))
    lead = tuple(input.shape[:-nd])
    from ..creation import zeros
    z = zeros(*lead, math.prod(out), dtype=input.dtype)
    idx = indices._data.reshape(lead + (-1,))
    if idx.size and (idx.min() < 0 or idx.max() >= math.prod(out)):
        raise RuntimeError(f"Found an invalid max index: {int(idx.max())} (output volumes are of size "
                           f"{'x'.join(map(str, out))})")
    return z.scatter(-1, Tensor._wrap(idx), input.reshape(lead + (-1,))).reshape(lead + out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _max_unpoolnd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Partial inverse of max_pool2d: put each value back at its index, zeros elsewhere."""
    return _max_unpoolnd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _max_unpoolnd(3, input, indices, kernel_size, stride, padding, output_size)


# -- average pooling -----------------------------------------------------------------------------------------

def _window_sum(a, K, stride, pads, out):
    ap = _padded(a, pads, 0)
    lead = (slice(None),) * (a.ndim - len(K))
    positions = itertools.product(*map(range, K))
    acc = ap[lead + _slices(next(positions), stride, (1,) * len(K), out)].copy()
    for k in positions:
        acc += ap[lead + _slices(k, stride, (1,) * len(K), out)]
    return acc


def _window_sum_adjoint(g, K, stride, pads, in_shape):
    nd = len(K)
    out = g.shape[-nd:]
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(in_shape[-nd:], pads))
    acc = xp.zeros(tuple(in_shape[:-nd]) + padded, g.dtype)
    lead = (slice(None),) * (g.ndim - nd)
    for k in itertools.product(*map(range, K)):
        acc[lead + _slices(k, stride, (1,) * nd, out)] += g
    return acc[lead + tuple(slice(lo, lo + s) for (lo, _), s in zip(pads, in_shape[-nd:]))]


class AvgPoolBackward(Op):
    """Sum over windows times ``scale`` (the reciprocal divisor, a number or an array per output)."""

    def name(self) -> str:
        return f"AvgPool{len(self.K)}DBackward0"

    def forward(ctx, a, K, stride, pads, out, scale):
        if ctx is not None:
            ctx.K, ctx.stride, ctx.pads, ctx.scale, ctx.in_shape = K, stride, pads, scale, a.shape
        r = _window_sum(a, K, stride, pads, out)
        r *= scale
        return r

    def backward(self, g):
        if type(g) is _nd:
            return (_window_sum_adjoint(g * self.scale, self.K, self.stride, self.pads, self.in_shape),)
        return (_AvgPoolAdjoint.apply(g, K=self.K, stride=self.stride, pads=self.pads, in_shape=self.in_shape,
                                      scale=self.scale),)


class _AvgPoolAdjoint(Op):
    def name(self) -> str:
        return f"AvgPool{len(self.K)}DBackwardBackward0"

    def forward(ctx, g, K, stride, pads, in_shape, scale):
        if ctx is not None:
            ctx.K, ctx.stride, ctx.pads, ctx.scale, ctx.out = K, stride, pads, scale, g.shape[-len(K):]
        return xp.ascontiguousarray(_window_sum_adjoint(g * scale, K, stride, pads, in_shape))

    def backward(self, h):
        if type(h) is _nd:
            return (AvgPoolBackward.forward(None, h, self.K, self.stride, self.pads, self.out, self.scale),)
        return (AvgPoolBackward.apply(h, K=self.K, stride=self.stride, pads=self.pads, out=self.out,
                                      scale=self.scale),)


def _avg_poolnd(nd, input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
                count_include_pad=True, divisor_override=None):
    _check_dims(input, nd, f"avg_pool{nd}d")
    K, stride, pad, _ = _pool_args(nd, kernel_size, stride, padding, 1)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"\"avg_pool{nd}d\" not implemented for '{input.dtype.name.capitalize()}'")
    out, pads = _geometry(input.shape, nd, K, stride, pad, (1,) * nd, ceil_mode, f"avg_pool{nd}d")
    S = tuple(input.shape[-nd:])
    dt = input._data.dtype
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        scale = dt.type(1.0 / divisor_override)
    elif not ceil_mode and (count_include_pad or not any(pad)):
        scale = dt.type(1.0 / math.prod(K))
    else:
        # per-output divisor: windows clipped to the padded input (count_include_pad) or to the input
        region = xp.ones(S, dt)
        if count_include_pad:
            region = _padded(region, tuple((p, p) for p in pad), 1)
            cpads = tuple((0, hi - p) for (p, hi) in pads)
        else:
            cpads = pads
        count = _window_sum(region, K, stride, cpads, out)
        scale = (1.0 / count).astype(dt)
    return AvgPoolBackward.apply(input, K=K, stride=stride, pads=pads, out=out, scale=scale)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    return _avg_poolnd(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W)."""
    return _avg_poolnd(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    return _avg_poolnd(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _lp_poolnd(nd, input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    from .elementwise import abs as _abs
    from .elementwise import sign
    K = _ntuple(kernel_size, nd, "kernel_size")
    if stride is not None:
        out = _avg_poolnd(nd, input.pow(norm_type), K, stride, 0, ceil_mode)
    else:
        out = _avg_poolnd(nd, input.pow(norm_type), K, None, 0, ceil_mode)
    return (sign(out) * _abs(out).relu()).mul(math.prod(K)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _lp_poolnd(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """Power-average pooling: (sum over the window of x**p) ** (1/p)."""
    return _lp_poolnd(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _lp_poolnd(3, input, norm_type, kernel_size, stride, ceil_mode)


# -- adaptive pooling ----------------------------------------------------------------------------------------

def _adaptive_bounds(n_in, n_out):
    o = xp.arange(n_out)
    return (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)


def _adaptive_sizes(x, nd, output_size, name):
    _check_dims(x, nd, name)
    out = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * nd
    if len(out) != nd:
        raise RuntimeError(f"{name}: output_size must be {nd}")
    return tuple(int(s) if s is not None else int(x.shape[-nd + i]) for i, s in enumerate(out))


def _adaptive_avg_poolnd(nd, input, output_size):  # noqa: A002
    out = _adaptive_sizes(input, nd, output_size, f"adaptive_avg_pool{nd}d")
    S = tuple(input.shape[-nd:])
    if all(s % o == 0 for s, o in zip(S, out)):
        K = tuple(s // o for s, o in zip(S, out))
        if all(o == 1 for o in out):
            return input.mean(dim=tuple(range(-nd, 0)), keepdim=True)
        return _avg_poolnd(nd, input, K, K)
    y = input
    for i in range(nd):  # one averaging matrix per dim
        lo, hi = _adaptive_bounds(S[i], out[i])
        j = xp.arange(S[i])
        A = ((j >= lo[:, None]) & (j < hi[:, None])).astype(input._data.dtype)
        A /= A.sum(1, keepdims=True)
        At = Tensor._wrap(xp.ascontiguousarray(A.T))
        y = (y.movedim(-nd + i, -1) @ At).movedim(-1, -nd + i)
    return y


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    return _adaptive_avg_poolnd(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average pooling to a fixed output size (``None`` keeps that dim).

    >>> import dynagrad
    >>> from dynagrad.nn import functional as F
    >>> F.adaptive_avg_pool2d(dynagrad.ones(1, 2, 5, 7), (2, 3)).shape
    torch.Size([1, 2, 2, 3])
    """
    return _adaptive_avg_poolnd(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    return _adaptive_avg_poolnd(3, input, output_size)


class AdaptiveMaxPoolBackward(_MaxIndexBackward):
    def name(self) -> str:
        return f"AdaptiveMaxPool{self.nd}DBackward0"

    def forward(ctx, a, out):
        nd = len(out)
        S = a.shape[-nd:]
        lead = a.ndim - nd
        index, Ls = [], []
        for i in range(nd):
            lo, hi = _adaptive_bounds(S[i], out[i])
            L = int((hi - lo).max())
            idx = xp.minimum(lo[:, None] + xp.arange(L), hi[:, None] - 1)  # repeats the last: max unchanged
            shp = [1] * (2 * nd)
            shp[2 * i], shp[2 * i + 1] = out[i], L
            index.append(idx.reshape(shp))
            Ls.append(L)
        g = a[(Ellipsis,) + tuple(index)]  # (..., O1, L1, O2, L2, ...)
        perm = tuple(range(lead)) + tuple(lead + 2 * i for i in range(nd)) + \
            tuple(lead + 2 * i + 1 for i in range(nd))
        g = g.transpose(perm).reshape(a.shape[:lead] + tuple(out) + (-1,))
        if a.dtype.kind == "f" and xp.isnan(g).any():
            arg = xp.where(xp.isnan(g).any(-1), xp.isnan(g).argmax(-1), g.argmax(-1))
        else:
            arg = g.argmax(-1)
        vals = xp.take_along_axis(g, arg[..., None], -1)[..., 0]
        kidx = xp.unravel_index(arg, Ls) if nd > 1 else (arg,)
        flat = None
        for i in range(nd):
            shp = [1] * arg.ndim
            shp[arg.ndim - nd + i] = out[i]
            lo, hi = _adaptive_bounds(S[i], out[i])
            pos = xp.minimum(lo.reshape(shp) + kidx[i], hi.reshape(shp) - 1)
            flat = pos if flat is None else flat * S[i] + pos
        flat = xp.ascontiguousarray(flat, dtype=xp.int64)
        if ctx is not None:
            ctx.idx, ctx.in_shape, ctx.nd = flat, a.shape, nd
        return vals, flat


def _adaptive_max_poolnd(nd, input, output_size, return_indices=False):  # noqa: A002
    out = _adaptive_sizes(input, nd, output_size, f"adaptive_max_pool{nd}d")
    vals, idx = AdaptiveMaxPoolBackward.apply(input, out=out)
    return (vals, _indices_tensor(idx)) if return_indices else vals


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    return _adaptive_max_poolnd(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max pooling to a fixed output size; with ``return_indices`` also the flat argmax per plane."""
    return _adaptive_max_poolnd(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    return _adaptive_max_poolnd(3, input, output_size, return_indices)
