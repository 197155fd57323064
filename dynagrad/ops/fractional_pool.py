"""Fractional max pooling (Graham, 2014): max over k x k windows placed at pseudo-random, increasing
offsets, as ATen's FractionalMaxPool2d/3d.cpp. Each (batch, plane) draws one number per spatial dim
(``_random_samples``, uniform in [0, 1), from the global generator as PyTorch draws them); the window
starts of a dim are ``int((i + u) * alpha) - int(u * alpha)`` with ``alpha = (in - k) / (out - 1)``,
computed in the input's dtype, and the last window ends at the border.

The window maxima are found in NumPy (NaN wins, the first maximum otherwise) and the output is a gather of
the input at those indices, so the gradient (and its gradient) is the gather's.

>>> import dynagrad as torch
>>> import dynagrad.nn.functional as F
>>> x = torch.arange(25.).reshape(1, 1, 5, 5)
>>> F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=torch.tensor([[[0.5, 0.5]]]))
tensor([[[[ 6.,  9.],
          [21., 24.]]]])
"""
from __future__ import annotations

from .. import dtypes
from ..backend import xp
from ..tensor import Tensor

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]


def _tuple(v, n, what, name):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = tuple(v) * n
        if len(v) != n:
            raise RuntimeError(f"{name}: {what} must either be a single Int or tuple of Ints")
        return tuple(int(x) for x in v)
    return (int(v),) * n


def _starts(u, n_in, n_out, k):
    """Window starts (..., n_out) for samples u (...), in u's dtype as ATen computes them."""
    t = u.dtype.type
    if n_out > 1:
        alpha = t(n_in - k) / t(n_out - 1)
        i = xp.arange(n_out - 1).astype(u.dtype)
        with xp.errstate(invalid="ignore", over="ignore"):
            seq = ((i + u[..., None]) * alpha).astype(xp.int64) - (u * alpha).astype(xp.int64)[..., None]
        last = xp.full(u.shape + (1,), n_in - k, xp.int64)
        return xp.concatenate([seq, last], -1)
    return xp.full(u.shape + (1,), n_in - k, xp.int64)


def _pool(input, kernel_size, output_size, output_ratio, _random_samples, nd):  # noqa: A002
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if nd == 2 and len(output_ratio) > 2:  # PyTorch takes len() of the ratio (a bare float is a TypeError)
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = tuple(output_ratio) if isinstance(output_ratio, (list, tuple)) else (output_ratio,) * nd
        if len(ratio) == 1:
            ratio = ratio * nd
        output_size = [int(input.size(-nd + d) * ratio[d]) for d in range(nd)]
    if _random_samples is None:
        n_batch = 1 if input.ndim == nd + 1 else input.size(0)
        from ..random import rand
        _random_samples = rand(n_batch, input.size(-nd - 1), nd, dtype=input.dtype)
    ks = _tuple(kernel_size, nd, "kernel_size", name)
    os_ = _tuple(output_size, nd, "output_size", name)
    shape = list(input.shape)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {shape}")
    for i in range(1, input.ndim):
        if shape[i] <= 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but got"
                               f"{shape} with dimension {i} being empty.")
    x = input if input.ndim == nd + 2 else input.unsqueeze(0)
    N, C = x.shape[0], x.shape[1]
    in_sp = list(x.shape[2:])
    for d, what in enumerate(("time", "height", "width")[3 - nd:]):
        # ATen's checks: 2-D allows the last window to touch the border, 3-D does not
        if os_[d] + ks[d] - 1 > in_sp[d] - (nd == 3):
            raise RuntimeError(f"{name}{'_out' if nd == 3 else ''}(): pool {what} {ks[d]} too large relative to "
                               f"input {what} {in_sp[d]}")
    rs = _random_samples
    from ..autograd.function import check_no_requires_grad
    check_no_requires_grad(rs, "random_samples", name)
    if not isinstance(rs, Tensor) or rs.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {getattr(rs, 'ndim', 0)}")
    if rs.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if not input.dtype.is_floating_point:
        raise dtypes.not_implemented(f"{name}_out_frame", input.dtype)
    if rs.shape[0] < N:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if rs.shape[1] != C:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if rs.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {rs.shape[2]}.")
    u = rs._data[:N]
    # ATen's sample order: 2-D (W, H), 3-D (T, H, W)
    order = (1, 0) if nd == 2 else (0, 1, 2)
    starts = [_starts(u[:, :, order[d]], in_sp[d], os_[d], ks[d]) for d in range(nd)]  # each (N, C, out_d)
    # every window's flat input positions, scanned as ATen does (earlier dims outer)
    lin = xp.zeros((N, C) + tuple(os_) + tuple(ks), xp.int64)
    stride = 1
    for d in range(nd - 1, -1, -1):
        pos = starts[d][..., :, None] + xp.arange(ks[d])  # (N, C, out_d, k_d)
        shp = [N, C] + [1] * nd + [1] * nd
        shp[2 + d], shp[2 + nd + d] = os_[d], ks[d]
        lin = lin + pos.reshape(shp) * stride
        stride *= in_sp[d]
    K = 1
    for k in ks:
        K *= k
    lin = lin.reshape((N, C) + tuple(os_) + (K,))
    flat = x._data.reshape(N, C, -1)
    P = 1
    for o in os_:
        P *= o
    if K == 0 or P == 0:  # empty windows: -inf at each window's start, as ATen's initial maximum
        idx = xp.zeros((N, C) + tuple(os_), xp.int64)
        for d, s_ in enumerate(starts):
            shp = [N, C] + [1] * nd
            shp[2 + d] = os_[d]
            idx = idx + s_.reshape(shp) * _stride(in_sp, d)
        out = Tensor._wrap(xp.full((N, C) + tuple(os_), -xp.inf, x._data.dtype))
        from .elementwise import _zero_grad_like
        out = _zero_grad_like(out, x)
    else:
        vals = xp.take_along_axis(flat, lin.reshape(N, C, -1), 2).reshape(lin.shape)
        nan = xp.isnan(vals)
        first_max = xp.argmax(xp.where(nan, -xp.inf, vals), -1)
        # a window holding NaN reports its last NaN (ATen's `val > max || isnan(val)` scan); -inf everywhere: the first
        last_nan = K - 1 - xp.argmax(nan[..., ::-1], -1)
        pick = xp.where(nan.any(-1), last_nan, first_max)
        idx = xp.take_along_axis(lin, pick[..., None], -1)[..., 0]
        from .index import gather
        out = gather(x.reshape(N, C, -1), 2, Tensor._wrap(idx.reshape(N, C, -1))).reshape(N, C, *os_)
    ind = Tensor._wrap(idx.astype(xp.int64))
    if input.ndim == nd + 1:
        out, ind = out.squeeze(0), ind.squeeze(0)
    return out, ind


def _stride(sizes, d):
    s = 1
    for v in sizes[d + 1:]:
        s *= v
    return s


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                                       return_indices: bool = False, _random_samples=None):
    """``fractional_max_pool2d`` returning ``(output, indices)``."""
    return _pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                                       return_indices: bool = False, _random_samples=None):
    """``fractional_max_pool3d`` returning ``(output, indices)``."""
    return _pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling over (N, C, H, W) or (C, H, W): ``kernel_size`` windows at pseudo-random
    offsets, to ``output_size`` (or ``output_ratio`` of the input size); ``(output, indices)`` with
    ``return_indices``. ``_random_samples`` (N, C, 2) fixes the offsets (drawn with ``torch.rand`` otherwise)."""
    out, ind = _pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)
    return (out, ind) if return_indices else out


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling over (N, C, T, H, W) or (C, T, H, W); see ``fractional_max_pool2d``
    (``_random_samples`` is (N, C, 3))."""
    out, ind = _pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)
    return (out, ind) if return_indices else out
