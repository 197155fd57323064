"""Pairwise distances: ``cdist`` as ATen's Distance.cpp computes it.

Two paths, as in PyTorch: the direct one (``|x1_i - x2_j|_p`` for any p >= 0, with ATen's subgradients, 0 at
zero distance; its gradient has no derivative of its own, as PyTorch's ``_cdist_backward``), and for p = 2
with more than 25 rows (or ``compute_mode='use_mm_for_euclid_dist'``) the matrix-product form
``sqrt(clamp(|a|^2 - 2 a.b + |b|^2, 0))``, faster and twice differentiable.

>>> import dynagrad as torch
>>> torch.cdist(torch.tensor([[0., 0.], [3., 4.]]), torch.tensor([[0., 0.]]))
tensor([[0.],
        [5.]])
"""
from __future__ import annotations

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D

__all__ = ["cdist"]

_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1, "donot_use_mm_for_euclid_dist": 2}


def _direct(a, b, p):
    diff = xp.abs(a[..., :, None, :] - b[..., None, :, :])  # (B, P, R, M)
    if p == 0:
        return (diff != 0).sum(-1).astype(a.dtype)
    if p == 1:
        return diff.sum(-1)
    if p == 2:
        return xp.sqrt((diff * diff).sum(-1))
    if p == float("inf"):
        return diff.max(-1) if diff.shape[-1] else xp.zeros(diff.shape[:-1], a.dtype)
    return xp.power(xp.power(diff, a.dtype.type(p)).sum(-1), a.dtype.type(1 / p))


def _direct_grad(g, a, b, dist, p):
    """ATen's _cdist_backward for the first argument: sum over the other rows of the per-pair subgradient."""
    diff = a[..., :, None, :] - b[..., None, :, :]
    gg = g[..., None]
    dd = dist[..., None]
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 0:
            return xp.zeros_like(a)
        if p == 1:
            term = gg * xp.sign(diff)
        elif p == 2:
            term = xp.where(dd == 0, 0, gg * diff / dd)
        elif p == float("inf"):
            term = gg * xp.sign(diff) * (xp.abs(diff) == dd)
        elif p < 2:
            pa = a.dtype.type(p - 1)
            term = xp.where((dd == 0) | ((diff == 0) & (p < 1)), 0,
                            xp.sign(diff) * xp.power(xp.abs(diff), pa) * gg / xp.power(dd, pa))
        else:
            term = xp.where(dd == 0, 0, diff * xp.power(xp.abs(diff), a.dtype.type(p - 2)) * gg /
                            xp.power(dd, a.dtype.type(p - 1)))
    return term.sum(-2).astype(a.dtype)


class CdistBackward0(Op):
    save = (0, 1)
    save_output = True

    def forward(ctx, a, b, p):
        if ctx is not None:
            ctx.p = p
        return _direct(a, b, p)

    def backward(self, g, a, b, out):
        arr = [v if D.is_array(v) else v._data for v in (g, a, b, out)]
        gv, av, bv, ov = arr
        ga = _direct_grad(gv, av, bv, ov, self.p)
        gb = _direct_grad(xp.swapaxes(gv, -1, -2), bv, av, xp.swapaxes(ov, -1, -2), self.p)
        if not D.is_array(g):  # create_graph: PyTorch's _cdist_backward has no derivative either
            return Tensor._wrap(ga), Tensor._wrap(gb)
        return ga, gb


class EuclideanDistBackward0(Op):
    """ATen's _euclidean_dist: the matrix-product form, with its own (differentiable) backward."""

    save = (0, 1)
    save_output = True

    def forward(ctx, a, b):
        an = (a * a).sum(-1, keepdims=True)
        bn = (b * b).sum(-1, keepdims=True)
        a_ = xp.concatenate([a * a.dtype.type(-2), an, xp.ones_like(an)], -1)
        b_ = xp.concatenate([b, xp.ones_like(bn), bn], -1)
        return xp.sqrt(xp.maximum(a_ @ xp.swapaxes(b_, -1, -2), 0))

    def backward(self, g, a, b, out):
        ov = out if D.is_array(out) else out._data
        with xp.errstate(divide="ignore", invalid="ignore"):
            ratio = D.mask(g / out, ov != 0)
        ga = a * D.sum(ratio, -1, True) - ratio @ b
        gb = b * D.expand_dims(D.sum(ratio, -2), (ratio.ndim - 1,)) - D.mT(ratio) @ a
        return ga, gb


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M): (..., P, R), batch
    dims broadcast. p = 0 counts the differing coordinates, p = inf takes the largest difference."""
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    mode = _MODES[compute_mode]
    for nm, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {nm} got: {t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    for nm, t in (("X1", x1), ("X2", x2)):
        if t.dtype in (dtypes.float16, dtypes.bfloat16):
            raise dtypes.not_implemented("cdist", t.dtype)
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {nm} got: {dtypes.scalar_name(t.dtype)}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {dtypes.scalar_name(x1.dtype)} but found "
                           f"{dtypes.scalar_name(x2.dtype)}")
    p = float(p)
    if p < 0 or p != p:
        raise RuntimeError("cdist only supports non-negative p values")
    from .shape import broadcast_shapes
    batch = tuple(broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2])))
    P, R, M = x1.shape[-2], x2.shape[-2], x1.shape[-1]
    a = x1.expand(*batch, P, M) if tuple(x1.shape[:-2]) != batch else x1
    b = x2.expand(*batch, R, M) if tuple(x2.shape[:-2]) != batch else x2
    if a.numel() and b.numel() and p == 2 and (mode == 1 or (mode == 0 and (P > 25 or R > 25))):
        return EuclideanDistBackward0.apply(a, b)
    return CdistBackward0.apply(a, b, p=p)
