"""Helpers shared by the distributions (``torch.distributions.utils``).

>>> import dynagrad
>>> from dynagrad.distributions.utils import broadcast_all, clamp_probs, logits_to_probs, probs_to_logits
>>> loc, scale = broadcast_all(dynagrad.zeros(2), 1.0)
>>> scale
tensor([1., 1.])
>>> clamp_probs(dynagrad.tensor([0.0, 0.5, 1.0]))
tensor([1.1921e-07, 5.0000e-01, 1.0000e+00])
>>> logits_to_probs(probs_to_logits(dynagrad.tensor([0.25, 0.75])))
tensor([0.2500, 0.7500])
"""
from __future__ import annotations

import numbers
from functools import update_wrapper

from ..backend import xp
from ..tensor import Size, Tensor

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]


def _is_number(v) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, Tensor)


def broadcast_all(*values):
    """Broadcast tensors and numbers together; numbers take the dtype of the first tensor (or the default)."""
    from .. import dtypes
    from ..creation import tensor
    from ..ops.shape import broadcast_tensors
    if not all(isinstance(v, Tensor) or _is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or objects "
                         "implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        dtype = dtypes.get_default_dtype()
        for v in values:
            if isinstance(v, Tensor):
                dtype = v.dtype
                break
        values = [v if isinstance(v, Tensor) else tensor(v, dtype=dtype) for v in values]
    return broadcast_tensors(*values)


def _standard_normal(shape, dtype=None, device=None) -> Tensor:
    from ..random import randn
    return randn(tuple(shape), dtype=dtype)


def _sum_rightmost(value, dim: int):
    """Sum out the ``dim`` rightmost dims of ``value``."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def _size(shape) -> Size:
    return shape if isinstance(shape, Size) else Size(tuple(shape))


def logits_to_probs(logits, is_binary: bool = False):
    """Logits to probabilities: sigmoid for the binary case, softmax over the last dim otherwise."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def clamp_probs(probs):
    """Clamp probabilities into the open interval ``(eps, 1 - eps)`` of the dtype."""
    from ..dtypes import finfo
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):
    """Probabilities to logits (log-odds for the binary case, log-probabilities otherwise)."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


class lazy_property:  # noqa: N801 - PyTorch's name
    """A property computed on first access (with grad enabled) and then stored on the instance."""

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        from ..autograd import enable_grad
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):  # noqa: N801
    """What a lazy property looks like on the class: a property for docs, a lazy_property for validation."""

    def __init__(self, wrapped) -> None:
        property.__init__(self, wrapped)


def _tril_index(n: int, diag: int):
    arange = xp.arange(n)
    mask = arange[None, :] < arange[:, None] + (diag + 1)
    return xp.nonzero(mask)


def tril_matrix_to_vec(mat, diag: int = 0):
    """The lower-triangular elements (on and below the ``diag``-th diagonal) of a (batch of) matrices,
    in row order."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    rows, cols = _tril_index(n, diag)
    return mat[..., Tensor._wrap(rows), Tensor._wrap(cols)]


def vec_to_tril_matrix(vec, diag: int = 0):
    """The inverse of ``tril_matrix_to_vec``: a (batch of) D x D lower-triangular matrices."""
    from ..ops.index import index_put
    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > 1e-7:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    rows, cols = _tril_index(n, diag)
    return index_put(mat, (Ellipsis, Tensor._wrap(rows), Tensor._wrap(cols)), vec)
