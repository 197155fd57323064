"""Resizing: ``interpolate`` (nearest, nearest-exact, linear/bilinear/trilinear, bicubic, area; antialias).
All composites of differentiable ops, so they need no gradient code of their own.

Nearest modes select rows with ``index_select``; the linear and cubic modes are separable, so each resized
dim is one product with a small interpolation matrix (out x in) whose rows hold PyTorch's weights
(source index, clamping and cubic coefficient as in ATen's ``UpSample.h``).
"""
from __future__ import annotations

import math

from ..backend import xp
from ..tensor import Tensor

_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _scale(n_in, n_out, align_corners, scale_factor):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if scale_factor is not None and scale_factor > 0:
        return 1.0 / scale_factor
    return n_in / n_out


def _nearest_index(n_in, n_out, scale_factor, exact):
    scale = xp.float32(_scale(n_in, n_out, False, scale_factor))
    dst = xp.arange(n_out, dtype=xp.float32)
    src = xp.floor((dst + xp.float32(0.5)) * scale) if exact else xp.floor(dst * scale)
    return xp.minimum(src.astype(xp.int64), n_in - 1)


def _cubic_weights(t, A):
    def c1(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def c2(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]


def _matrix(n_in, n_out, mode, align_corners, scale_factor, antialias):
    """(n_out, n_in) float64 interpolation weights along one dim."""
    scale = _scale(n_in, n_out, align_corners, scale_factor)
    M = xp.zeros((n_out, n_in))
    rows = xp.arange(n_out)
    if antialias:  # PyTorch's separable anti-aliasing filter (as PIL's); widened when downsampling
        interp = 2 if mode in ("linear", "bilinear", "trilinear") else 4
        support = interp / 2 * scale if scale >= 1 else interp / 2
        inv = 1 / scale if scale >= 1 else 1.0
        for i in range(n_out):  # n_out rows of a small matrix: built once per call
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), n_in)
            x = (xp.arange(lo, hi) - center + 0.5) * inv
            if interp == 2:
                w = xp.clip(1 - xp.abs(x), 0, None)
            else:
                a = -0.5
                ax = xp.abs(x)
                w = xp.where(ax < 1, ((a + 2) * ax - (a + 3)) * ax * ax + 1,
                             xp.where(ax < 2, ((ax - 5) * ax + 8) * ax * a - 4 * a, 0.0))
            total = w.sum()
            M[i, lo:hi] = w / total if total else w
        return M
    dst = rows.astype(xp.float32)
    s32 = xp.float32(scale)
    src = dst * s32 if align_corners else s32 * (dst + xp.float32(0.5)) - xp.float32(0.5)
    if mode == "bicubic":
        i0 = xp.floor(src).astype(xp.int64)
        t = (src - i0).astype(xp.float64)
        for k, w in enumerate(_cubic_weights(t, -0.75)):
            xp.add.at(M, (rows, xp.clip(i0 - 1 + k, 0, n_in - 1)), w)
        return M
    src = xp.maximum(src, 0)
    i0 = xp.minimum(src.astype(xp.int64), n_in - 1)
    i1 = xp.minimum(i0 + 1, n_in - 1)
    lam = (src - i0).astype(xp.float64)
    xp.add.at(M, (rows, i0), 1 - lam)
    xp.add.at(M, (rows, i1), lam)
    return M


def _apply_matrix(y, axis, M):
    At = Tensor._wrap(xp.ascontiguousarray(M.T.astype(y._data.dtype)))
    if axis == y.ndim - 1:
        return y @ At
    return (y.movedim(axis, -1) @ At).movedim(-1, axis)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *S) to ``size`` or by ``scale_factor`` (PyTorch's semantics).

    >>> import dynagrad
    >>> from dynagrad.nn import functional as F
    >>> F.interpolate(dynagrad.tensor([[[1.0, 2.0]]]), scale_factor=2, mode="linear")
    tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    nd = input.ndim - 2
    if nd < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                         f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                         f"nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    else:
        align_corners = bool(align_corners)
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D "
                         "tensor as input")
    S = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out = tuple(int(s) for s in size) if isinstance(size, (list, tuple)) else (int(size),) * nd
        if len(out) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {list(S)} and output size of {list(out)}. "
                             f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                             f"in (o1, o2, ...,oK) format.")
        scales = (None,) * nd
    elif scale_factor is not None:
        sf = tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (list, tuple)) else \
            (float(scale_factor),) * nd
        if len(sf) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {list(S)} and scale_factor of shape "
                             f"{list(sf)}.")
        out = tuple(int(math.floor(s * f)) for s, f in zip(S, sf))
        scales = (None,) * nd if recompute_scale_factor else sf
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input {list(S)} and "
                           f"output {list(out)}")
    if mode not in ("nearest", "nearest-exact", "area") and _DIMS.get(mode) != nd:
        need = f"{_DIMS[mode] + 2}D" if mode in _DIMS else "a supported mode and"
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {need} input")
    y = input
    if mode in ("nearest", "nearest-exact"):
        for i in range(nd):
            if out[i] != S[i] or scales[i] not in (None, 1.0):
                idx = _nearest_index(S[i], out[i], scales[i], mode == "nearest-exact")
                y = y.index_select(2 + i, Tensor._wrap(idx))
        return y
    if mode == "area":
        from .pool import _adaptive_avg_poolnd
        return _adaptive_avg_poolnd(nd, input, out)
    for i in range(nd):
        M = _matrix(S[i], out[i], mode, align_corners, scales[i], antialias)
        y = _apply_matrix(y, 2 + i, M)
    return y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
