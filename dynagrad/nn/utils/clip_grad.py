"""Gradient clipping, as ``torch.nn.utils.clip_grad``: computed on the gradients' arrays, in place.

>>> import dynagrad
>>> p = dynagrad.nn.Parameter(dynagrad.zeros(2))
>>> p.grad = dynagrad.tensor([3.0, 4.0])
>>> dynagrad.nn.utils.clip_grad_norm_([p], max_norm=1.0)
tensor(5.)
>>> p.grad
tensor([0.6000, 0.8000])
"""
from __future__ import annotations

import warnings

from ...backend import xp
from ...tensor import Tensor, bump_version

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

_INF = float("inf")


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm(a, norm_type: float):
    a = a.astype(xp.float64, copy=False) if a.dtype == xp.float16 else a
    if norm_type == _INF:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if norm_type == -_INF:
        return xp.abs(a).min() if a.size else xp.zeros((), a.dtype)
    if norm_type == 2:
        flat = a.reshape(-1)
        return xp.sqrt(flat @ flat) if a.dtype.kind == "f" else xp.sqrt((xp.abs(a) ** 2).sum())
    if norm_type == 1:
        return xp.abs(a).sum()
    if norm_type == 0:
        return xp.asarray((a != 0).sum(), a.dtype)
    return (xp.abs(a) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type`` norm of all the tensors' values taken together (as one vector)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(xp.zeros((), xp.float32))
    dt = tensors[0]._data.dtype
    # stack and astype rather than asarray(list, dtype): NumPy functions a compiled step records (asarray
    # would read every norm into Python)
    norms = xp.stack([_norm(t._data, norm_type) for t in tensors]).astype(xp.float64)
    total = _norm(norms, norm_type)
    total = total.astype(dt) if isinstance(total, xp.ndarray) else xp.asarray(total, dtype=dt)
    if error_if_nonfinite and not xp.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           f"non-finite, "
                           f"so it cannot be clipped. To disable this error and scale the gradients by the "
                           f"non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    grads = _grads(parameters)
    if not grads:
        return
    # array arithmetic (in float64, as Python floats would be), not a Python number: a compiled training
    # step computes the factor in its program instead of reading the norm into Python
    coef = xp.minimum(xp.float64(max_norm) / (total_norm._data.astype(xp.float64) + 1e-6), 1.0)
    for g in grads:
        d = g._data
        d *= coef.astype(d.dtype)
        bump_version(g)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale the gradients so that their total ``norm_type`` norm (inf allowed) is at most ``max_norm``;
    return the total norm before clipping."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    grads = _grads(parameters)
    if not grads:
        return Tensor._wrap(xp.zeros((), xp.float32))
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        bump_version(g)



