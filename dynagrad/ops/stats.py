"""Differences, integration and covariance: diff, trapezoid/trapz, cumulative_trapezoid, cov, corrcoef, as
composites of differentiable ops following PyTorch's formulas (ATen's TensorShape/Integration/Correlation.cpp).

>>> import dynagrad as torch
>>> torch.diff(torch.tensor([1, 4, 9, 16]))
tensor([3, 5, 7])
>>> torch.trapezoid(torch.tensor([1., 2., 3.]))
tensor(4.)
"""
from __future__ import annotations

import warnings

from .. import dtypes
from ..tensor import Tensor
from . import shape as S
from .reduce import normalize_dim

__all__ = ["diff", "trapezoid", "trapz", "cumulative_trapezoid", "cov", "corrcoef"]


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):  # noqa: A002
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first); for bools, whether
    neighbours differ."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = normalize_dim(dim, input.ndim)
    x = input
    if prepend is not None or append is not None:
        parts = []
        for t in (prepend, x, append):
            if t is None:
                continue
            if not isinstance(t, Tensor):
                from ..creation import tensor
                t = tensor(t)
            if t.ndim != x.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as input")
            parts.append(t)
        x = S.cat(parts, axis)
    for _ in range(n):
        m = x.shape[axis]
        if m == 0:
            break
        hi, lo = S.narrow(x, axis, 1, m - 1), S.narrow(x, axis, 0, m - 1)
        if x.dtype == dtypes.bool:
            from .elementwise import logical_xor
            x = logical_xor(hi, lo)
        else:
            x = hi - lo
    return x


def _float(y):
    return y if y.dtype.is_floating_point or y.dtype.is_complex else y.to(dtypes.get_default_dtype())


def _trapezoid_x(name, y, x, axis):
    """The spacings of the sample points ``x``: 1-D along ``dim``, or broadcast against ``y``."""
    n = y.shape[axis]
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        dx = diff(x)
        shape = [1] * y.ndim
        shape[axis] = max(n - 1, 0)
        return S.reshape(dx, *shape)
    return diff(x, dim=axis)


def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The trapezoidal rule along ``dim``: with sample points ``x``, or a constant spacing ``dx`` (1 by default)."""
    if x is not None and dx is not None:
        raise RuntimeError("trapezoid: received both x and dx (only one of them may be given)")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    axis = normalize_dim(dim, y.ndim)
    n = y.shape[axis]
    from .reduce import sum as _sum
    if n == 0:  # PyTorch: new zeros (no graph)
        from ..creation import zeros
        shape = [s for i, s in enumerate(y.shape) if i != axis]
        return zeros(*shape, dtype=_float(y).dtype)
    if isinstance(x, Tensor):
        d = _trapezoid_x("trapezoid", y, x, axis)
        return _sum(d * (S.narrow(y, axis, 1, n - 1) + S.narrow(y, axis, 0, n - 1)), axis) / 2.0
    step = 1.0 if dx is None else (x if x is not None else dx)
    return (_sum(y, axis) - (S.select(y, axis, 0) + S.select(y, axis, -1)) * 0.5) * step


def trapz(y, x=None, *, dx=None, dim: int = -1):
    """``trapezoid`` (the older name)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The running trapezoidal integral along ``dim`` (one element fewer than ``y``)."""
    if x is not None and dx is not None:
        raise RuntimeError("cumulative_trapezoid: received both x and dx (only one of them may be given)")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    axis = normalize_dim(dim, y.ndim)
    n = y.shape[axis]
    from .reduce import cumsum
    if n == 0:
        return _float(S.narrow(y, axis, 0, 0)) * 1.0
    left, right = S.narrow(y, axis, 0, n - 1), S.narrow(y, axis, 1, n - 1)
    if isinstance(x, Tensor):
        d = _trapezoid_x("cumulative_trapezoid", y, x, axis)
        return cumsum(d * (left + right), axis) / 2.0
    step = 1.0 if dx is None else (x if x is not None else dx)
    return cumsum(step / 2.0 * (left + right), axis)


def cov(input, *, correction: int = 1, fweights=None, aweights=None):  # noqa: A002
    """The covariance matrix of the variables in the rows of ``input`` (observations in the columns), with
    integer frequency weights ``fweights`` and float observation weights ``aweights``, as numpy.cov.

    >>> import dynagrad as torch
    >>> torch.cov(torch.tensor([[0., 1., 2.], [2., 1., 0.]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
    """
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = S.reshape(input, 1, -1) if input.ndim < 2 else input
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.ndim > 1:
            raise RuntimeError(f"cov(): expected fweights to have one or fewer dimensions but got fweights with "
                               f"{fweights.ndim} dimensions")
        if not (fweights.dtype.is_floating_point is False and not fweights.dtype.is_complex and
                fweights.dtype != dtypes.bool):
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{dtypes.scalar_name(fweights.dtype)} dtype")
        if fweights.numel() != n_obs:
            raise RuntimeError(f"cov(): expected fweights to have the same numel as there are observations in the "
                               f"input but got {fweights.numel()} != {n_obs}")
        if fweights.numel() and bool((fweights < 0).any()):
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if aweights.ndim > 1:
            raise RuntimeError(f"cov(): expected aweights to have one or fewer dimensions but got aweights with "
                               f"{aweights.ndim} dimensions")
        if not aweights.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{dtypes.scalar_name(aweights.dtype)} dtype")
        if aweights.numel() != n_obs:
            raise RuntimeError(f"cov(): expected aweights to have the same numel as there are observations in the "
                               f"input but got {aweights.numel()} != {n_obs}")
        if aweights.numel() and bool((aweights < 0).any()):
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights if w is None else w * aweights
    from .reduce import sum as _sum
    w_sum = _sum(w) if w is not None else n_obs
    avg = _sum(x * w if w is not None else x, 1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * _sum(w * aweights) / w_sum
    else:
        norm = w_sum - correction
    if bool(norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    xc = x - S.unsqueeze(avg, 1)
    other = xc * w if w is not None else xc
    if other.dtype.is_complex:
        from .math import conj
        other = conj(other)
    from .linalg import mm
    c = mm(xc, S.t(other))
    return S.squeeze(c / norm)


def corrcoef(input):  # noqa: A002
    """The Pearson correlation coefficients of the variables in the rows of ``input``, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    from .elementwise import clamp, sqrt
    d = S.diagonal(c)
    if d.dtype.is_complex:
        from .math import real
        d = real(d)
    std = sqrt(d)
    c = c / S.unsqueeze(std, 1)
    c = c / S.unsqueeze(std, 0)
    if c.dtype.is_complex:
        return c
    return clamp(c, -1, 1)
