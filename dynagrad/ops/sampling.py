"""Spatial sampling: ``grid_sample`` (bilinear/trilinear, nearest, bicubic; zeros, border and reflection
padding; 4-D and 5-D input) and ``affine_grid``.

``grid_sample`` is one gather primitive plus ordinary differentiable ops. The source coordinate of every
output point (unnormalised, padded) is computed in NumPy as ATen's ``GridSampler.h`` does, and enters the
graph through ``_SourceCoord``, whose derivative is ATen's (the unnormalisation scale times the clip and
reflection signs; 0 on the border). The interpolation weights are polynomials of that coordinate built with
Tensor ops, so their gradients (and second derivatives) are automatic. ``_GatherTaps`` sums weighted input
values at integer tap positions; its backward is two sibling primitives (a scatter and a per-tap dot), and
the three are each other's derivatives, so gradients of gradients work to any order.

>>> import dynagrad as torch
>>> import dynagrad.nn.functional as F
>>> x = torch.arange(4.).reshape(1, 1, 2, 2)
>>> grid = F.affine_grid(torch.tensor([[[1., 0., 0.], [0., 1., 0.]]]), (1, 1, 2, 2), align_corners=True)
>>> F.grid_sample(x, grid, align_corners=True)
tensor([[[[0., 1.],
          [2., 3.]]]])
"""
from __future__ import annotations

import warnings

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D

__all__ = ["grid_sample", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "affine_grid",
           "affine_grid_generator"]

_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
_CUBIC_A = -0.75


# -- the gather primitives ---------------------------------------------------------------------------------------
# x: (N, C, L) values, w: (K, N, P) weights, idx: (K, N, P) tap positions in [0, L] (L: outside, reads 0).

def _padded(x):
    out = xp.zeros(x.shape[:2] + (x.shape[2] + 1,), x.dtype)
    out[:, :, :-1] = x
    return out


def _taps(x, w, idx):
    xz = _padded(x)
    out = None
    for k in range(idx.shape[0]):
        term = w[k][:, None, :] * xp.take_along_axis(xz, idx[k][:, None, :], 2)
        out = term if out is None else out + term
    return out


def _scatter(g, w, idx, L):
    N, C, P = g.shape
    base = ((xp.arange(N)[:, None] * C + xp.arange(C)[None, :]) * (L + 1))[:, :, None]
    acc = xp.zeros(N * C * (L + 1))
    for k in range(idx.shape[0]):
        lin = base + idx[k][:, None, :]
        vals = w[k][:, None, :] * g
        acc += xp.bincount(lin.ravel(), vals.ravel().astype(xp.float64), minlength=acc.size)
    return acc.reshape(N, C, L + 1)[:, :, :L].astype(g.dtype)


def _dot(g, x, idx):
    xz = _padded(x)
    return xp.stack([(g * xp.take_along_axis(xz, idx[k][:, None, :], 2)).sum(1) for k in range(idx.shape[0])])


def _apply(cls, a, b, **kw):
    if D.is_array(a) and D.is_array(b):
        return cls.forward(None, a, b, **kw)
    a = a if isinstance(a, Tensor) else Tensor._wrap(xp.asarray(a))
    b = b if isinstance(b, Tensor) else Tensor._wrap(xp.asarray(b))
    return cls.apply(a, b, **kw)


class _GatherTaps(Op):
    """out[n, c, p] = sum_k w[k, n, p] * x[n, c, idx[k, n, p]] (the sampled values)."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def name(self) -> str:
        return getattr(self, "grad_name", "GridSampler2DBackward0")

    def forward(ctx, x, w, idx, grad_name="GridSampler2DBackward0"):
        if ctx is not None:
            ctx.idx, ctx.L, ctx.grad_name = idx, x.shape[2], grad_name
        return _taps(x, w, idx)

    def backward(self, g, x, w):
        gx = _apply(_ScatterTaps, g, w, idx=self.idx, L=self.L) if self.edges[0][0] is not None else None
        gw = _apply(_DotTaps, g, x, idx=self.idx) if self.edges[1][0] is not None else None
        return gx, gw


class _ScatterTaps(Op):
    """The adjoint of ``_GatherTaps`` in ``x``: out[n, c, l] = sum over taps at l of w * g."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, g, w, idx, L):
        if ctx is not None:
            ctx.idx = idx
        return _scatter(g, w, idx, L)

    def backward(self, h, g, w):
        gg = _apply(_GatherTaps, h, w, idx=self.idx) if self.edges[0][0] is not None else None
        gw = _apply(_DotTaps, g, h, idx=self.idx) if self.edges[1][0] is not None else None
        return gg, gw


class _DotTaps(Op):
    """The derivative of ``_GatherTaps`` in ``w``: out[k, n, p] = sum_c g[n, c, p] * x[n, c, idx[k, n, p]]."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, g, x, idx):
        if ctx is not None:
            ctx.idx, ctx.L = idx, x.shape[2]
        return _dot(g, x, idx)

    def backward(self, u, g, x):
        gg = _apply(_GatherTaps, x, u, idx=self.idx) if self.edges[0][0] is not None else None
        gx = _apply(_ScatterTaps, g, u, idx=self.idx, L=self.L) if self.edges[1][0] is not None else None
        return gg, gx


class _SourceCoord(Op):
    """A grid coordinate mapped to the input's pixel space (a value computed in NumPy), with ATen's
    derivative ``mult`` (unnormalisation scale x clip and reflection signs)."""

    def forward(ctx, grid_c, value, mult):
        if ctx is not None:
            ctx.mult = mult
        return value

    def backward(self, g):
        return (g * self.mult,)


# -- coordinates, as ATen's GridSampler.h ------------------------------------------------------------------------

def _unnormalize(c, size, align_corners, nd):
    """Pixel coordinates and the scale factor. 2-D follows ATen's vectorised CPU kernel's arithmetic
    (GridSamplerKernel.cpp), 3-D the scalar one's (GridSampler.h): they round differently."""
    t = c.dtype.type
    if align_corners:
        scale = t(size - 1) / t(2)
        return ((c + 1) * scale if nd == 2 else ((c + 1) / 2) * t(size - 1)), scale
    scale = t(size) / t(2)
    return ((c + 1) * scale - t(0.5) if nd == 2 else ((c + 1) * t(size) - 1) / 2), scale


def _clip(c, size, nd):
    # the 2-D kernel's vector max sends NaN to 0, the 3-D kernel's std::min/max to size - 1
    hi = c.dtype.type(size - 1)
    if nd == 2:
        out = xp.minimum(xp.fmax(c, c.dtype.type(0)), hi)
    else:
        out = xp.fmin(xp.maximum(c, c.dtype.type(0)), hi)
    with xp.errstate(invalid="ignore"):
        grad = ((c > 0) & (c < hi)).astype(c.dtype)  # borders count as outside (ATen's note)
    return out, grad


def _reflect(c, size, align_corners, nd):
    """Reflect by the image borders (and the derivative's sign)."""
    t = c.dtype.type
    if align_corners and size <= 1:
        return xp.zeros_like(c), xp.zeros_like(c)
    low = t(0) if align_corners else t(-0.5)
    with xp.errstate(invalid="ignore", over="ignore"):
        d = c - low
        neg = d < 0
        a = xp.abs(d)
        if nd == 2:  # the vectorised kernel: trunc-based, periodic in twice the span
            twice = t(size - 1) * t(2) if align_corners else t(size) * t(2)
            extra = a - xp.trunc(a / twice) * twice
            refl = twice - extra
            more = extra > refl
            out = xp.where(more, refl, extra) + low
            sign = xp.where(more ^ neg, -1, 1)
        else:  # GridSampler.h's reflect_coordinates
            span = t(size - 1) if align_corners else t(size)
            extra = xp.fmod(a, span)
            even = xp.fmod(xp.floor(a / span), 2) == 0
            out = xp.where(even, extra + low, span - extra + low)
            sign = xp.where(neg, -1, 1) * xp.where(even, 1, -1)
    return out, sign.astype(c.dtype)


def _pad_coords(c, size, padding, align_corners, nd):
    """ATen's compute_coordinates: the padded coordinate and its derivative."""
    if padding == "border":
        return _clip(c, size, nd)
    if padding == "reflection":
        c, s = _reflect(c, size, align_corners, nd)
        c, g = _clip(c, size, nd)
        return c, s * g
    return c, xp.ones_like(c)


def _to_index(f, size):
    """Integer positions of float coordinates; outside (and non-finite or huge) ones read the zero pad."""
    with xp.errstate(invalid="ignore"):
        ok = xp.isfinite(f) & (f >= 0) & (f < size)
    i = xp.where(ok, f, 0).astype(xp.int64)
    return xp.where(ok, i, -1), ok


# -- grid_sample --------------------------------------------------------------------------------------------------

def _check(input, grid, mode):  # noqa: A002
    if not isinstance(input, Tensor) or not isinstance(grid, Tensor):
        raise TypeError("grid_sample(): expected input and grid to be Tensors")
    ish, gsh = list(input.shape), list(grid.shape)
    if not ish or not gsh or ish[0] != gsh[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {ish} and grid with sizes {gsh}")
    if gsh[-1] != len(ish) - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {len(ish) - 2} in last dimension, but got "
                           f"grid with sizes {gsh}")
    for i in range(2, len(ish)):
        if ish[i] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {ish} with dimension {i} being empty")
    nd = 2 if len(ish) == 4 else 3
    if len(ish) not in (4, 5) or len(gsh) != len(ish):
        raise RuntimeError(f"grid_sampler(): expected {nd + 2}D input and grid with same number of dimensions, but "
                           f"got input with sizes {ish} and grid with sizes {gsh}")
    if nd == 3 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {dtypes.scalar_name(input.dtype)} but found "
                           f"{dtypes.scalar_name(grid.dtype)}")
    if not input.dtype.is_floating_point:
        raise dtypes.not_implemented("grid_sampler_2d_cpu_kernel_impl" if nd == 2 else "grid_sampler3d_cpu",
                                     input.dtype)
    return nd


def _product(factors):
    """Weights of every tap from per-dim factors (listed x first): (K, N, P), the first dim's index fastest."""
    w = factors[0]
    for f in factors[1:]:  # as ATen: the later dim's factor on the left
        w = (f.unsqueeze(1) * w.unsqueeze(0)).reshape(-1, *f.shape[1:])
    return w


def _tap_index(positions, sizes):
    """Flat indices (K, N, P) of the taps from per-dim integer positions (listed x first), -1 if outside."""
    lin, ok = None, None
    stride = 1
    for pos, size in zip(positions, sizes):
        term = pos * stride
        o = pos >= 0
        if lin is None:
            lin, ok = term, o
        else:
            lin = (term[:, None] + lin[None, :]).reshape(-1, *term.shape[1:])
            ok = (o[:, None] & ok[None, :]).reshape(-1, *o.shape[1:])
        stride *= size
    return xp.where(ok, lin, -1), ok


def _sample(input, grid, mode, padding_mode, align_corners):  # noqa: A002
    nd = _check(input, grid, mode)
    N, C = input.shape[0], input.shape[1]
    in_sp = list(input.shape[2:])
    out_sp = list(grid.shape[1:-1])
    L = 1
    for s in in_sp:
        L *= s
    P = 1
    for s in out_sp:
        P *= s
    if N * C * P == 0:
        return (input.reshape(N, C, L)[:, :, :1] * 0).expand(N, C, P).reshape(N, C, *out_sp)
    x, g = input, grid
    gd = g._data.reshape(N, P, nd)
    sizes = in_sp[::-1]  # grid's last dim lists x (width) first
    factors, positions = [], []
    for d in range(nd):
        c_raw = gd[:, :, d]
        size = sizes[d]
        c, um = _unnormalize(c_raw, size, align_corners, nd)
        gc = g[..., d].reshape(N, P)  # always through _SourceCoord: a forward-AD tangent may ride on the grid
        if mode == "bicubic":
            ct = _SourceCoord.apply(gc, value=c, mult=um)
            with xp.errstate(invalid="ignore"):
                f = xp.floor(c)
            t = ct - f
            s = 1 - t
            A = _CUBIC_A
            tp, sp = t + 1, s + 1
            factors.append(_stack([((A * tp - 5 * A) * tp + 8 * A) * tp - 4 * A,
                                   ((A + 2) * t - (A + 3)) * t * t + 1,
                                   ((A + 2) * s - (A + 3)) * s * s + 1,
                                   ((A * sp - 5 * A) * sp + 8 * A) * sp - 4 * A]))
            taps = []
            for k in range(4):
                pc, _ = _pad_coords(f - 1 + k, size, padding_mode, align_corners, nd)
                taps.append(_to_index(pc, size)[0])
            positions.append(xp.stack(taps))
            continue
        c, pm = _pad_coords(c, size, padding_mode, align_corners, nd)
        if mode == "nearest":
            positions.append(_to_index(xp.rint(c), size)[0][None])
            continue
        ct = _SourceCoord.apply(gc, value=c, mult=pm * um)
        with xp.errstate(invalid="ignore"):
            f = xp.floor(c)
        hi = ct - f
        factors.append(_stack([1 - hi, hi] if nd == 2 else [(f + 1) - ct, hi]))
        positions.append(xp.stack([_to_index(f, size)[0], _to_index(f + 1, size)[0]]))
    idx, inside = _tap_index(positions, sizes)
    idx = xp.where(inside, idx, L)
    xf = x.reshape(N, C, L)
    if mode == "nearest":  # no gradient to the grid, but a zero one (as PyTorch)
        from .elementwise import _zero_grad_like
        w = _zero_grad_like(Tensor._wrap(xp.ones((1, N, P), x._data.dtype)), g)
    else:
        w = _product(factors)
        if nd == 3:  # the 3-D kernel skips taps outside the input, so their (maybe NaN) weights never count
            from .index import where
            w = where(Tensor._wrap(inside), w, 0.0)
    out = _GatherTaps.apply(xf, w, idx=idx, grad_name=f"GridSampler{nd}DBackward0")
    return out.reshape(N, C, *out_sp)


def _stack(ts):
    from .shape import stack
    return stack(ts)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) or (N, C, D, H, W) at the normalised positions of ``grid``
    (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3), last dim ordered x, y(, z); -1 and 1 are the edges
    of the input (the centres of its corner pixels with ``align_corners=True``).

    >>> import dynagrad as torch
    >>> import dynagrad.nn.functional as F
    >>> x = torch.tensor([[[[0., 10.], [20., 30.]]]])
    >>> F.grid_sample(x, torch.tensor([[[[0., 0.], [1., 1.]]]]), align_corners=True)
    tensor([[[[15., 30.]]]])
    """
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                      "documentation of grid_sample for details.", stacklevel=2)
        align_corners = False
    return _sample(input, grid, mode, padding_mode, bool(align_corners))


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,  # noqa: A002
                 align_corners: bool) -> Tensor:
    """``torch.grid_sampler``: ``grid_sample`` with the modes as integers (0 bilinear, 1 nearest, 2 bicubic;
    0 zeros, 1 border, 2 reflection)."""
    modes = {v: k for k, v in _MODES.items()}
    pads = {v: k for k, v in _PADDINGS.items()}
    if interpolation_mode not in modes or padding_mode not in pads:
        raise RuntimeError(f"grid_sampler(): unknown interpolation mode {interpolation_mode} or padding mode "
                           f"{padding_mode}")
    return _sample(input, grid, modes[interpolation_mode], pads[padding_mode], bool(align_corners))


def grid_sampler_2d(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):  # noqa: A002
    if input.ndim != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):  # noqa: A002
    if input.ndim != 5:
        raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


# -- affine_grid --------------------------------------------------------------------------------------------------

def _base_line(n, align_corners, dt):
    """ATen's linspace_from_neg_one: n points in [-1, 1], pulled in to the pixel centres unless aligned."""
    if n <= 1:
        return xp.zeros(1, dt)
    from ..creation import linspace
    r = linspace(-1, 1, n, dtype=dtypes.from_numpy(dt))._data
    if not align_corners:
        r = r * dt.type(n - 1) / dt.type(n)
    return r


def affine_grid_generator(theta: Tensor, size, align_corners: bool) -> Tensor:
    """``torch.affine_grid_generator``: the sampling grid of the affine maps ``theta`` (no argument checks)."""
    size = [int(s) for s in size]
    N = size[0]
    sp = size[2:]
    dt = theta._data.dtype
    calc = xp.dtype(xp.float32) if theta.dtype in (dtypes.float16, dtypes.bfloat16) else dt
    lines = [_base_line(n, align_corners, calc) for n in sp[::-1]]  # x first
    mesh = xp.meshgrid(*lines[::-1], indexing="ij")  # z, y, x order of the output dims
    base = xp.stack([m for m in mesh[::-1]] + [xp.ones_like(mesh[0])], axis=-1)  # (..., nd + 1): x, y(, z), 1
    nd = len(sp)
    P = base.size // (nd + 1)
    th = theta.to(dtypes.from_numpy(calc)) if calc is not dt else theta
    b = Tensor._wrap(xp.ascontiguousarray(xp.broadcast_to(base.reshape(1, P, nd + 1), (N, P, nd + 1))))
    from .linalg import bmm
    grid = bmm(b, th.transpose(1, 2))
    grid = grid.reshape(N, *sp, nd)
    return grid.to(theta.dtype) if calc is not dt else grid


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The grid (N, H, W, 2) or (N, D, H, W, 3) that ``grid_sample`` needs to apply the affine maps
    ``theta`` (N, 2, 3) or (N, 3, 4) to an image of ``size`` (N, C, H, W) or (N, C, D, H, W).

    >>> import dynagrad as torch
    >>> import dynagrad.nn.functional as F
    >>> F.affine_grid(torch.tensor([[[1., 0., 0.], [0., 1., 0.]]]), (1, 1, 1, 2), align_corners=False)
    tensor([[[[-0.5000,  0.0000],
              [ 0.5000,  0.0000]]]])
    """
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                      "documentation of grid_sample for details.", stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                             f"{theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                             f"{theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{size[0]}, "
                           f"{theta.shape[2]}] but got: [{theta.shape[0]}, {theta.shape[2]}].")
    return affine_grid_generator(theta, size, bool(align_corners))
