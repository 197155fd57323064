"""Helpers for backward formulas that run on arrays (plain backward) or Tensors (create_graph=True).

Operators (+ - * / ** @, comparisons) work on both already; these cover the rest. Each checks the type
once; on arrays it is a direct NumPy call, so the plain backward pays almost nothing for the generality.
"""
from __future__ import annotations

import math

from .. import _jit
from ..backend import xp

nd = xp.ndarray
gen = xp.generic  # NumPy returns scalars, not 0-d arrays, from ufuncs on 0-d arrays: same world as arrays


def is_array(x) -> bool:
    return type(x) is nd or isinstance(x, gen)


def exp(x):
    return xp.exp(x) if type(x) is nd or isinstance(x, gen) else x.exp()


def log(x):
    return xp.log(x) if type(x) is nd or isinstance(x, gen) else x.log()


def sqrt(x):
    return xp.sqrt(x) if type(x) is nd or isinstance(x, gen) else x.sqrt()


def sign(x):
    if type(x) is nd or isinstance(x, gen):  # sign(NaN) = 0, as PyTorch's sign
        out = xp.sign(x)
        return xp.where(out != out, 0, out) if out.dtype.kind == "f" else out
    return x.sign()


def cos(x):
    return xp.cos(x) if type(x) is nd or isinstance(x, gen) else x.cos()


def sin(x):
    return xp.sin(x) if type(x) is nd or isinstance(x, gen) else x.sin()


def tanh(x):
    return xp.tanh(x) if type(x) is nd or isinstance(x, gen) else x.tanh()


def abs(x):  # noqa: A001
    return xp.abs(x) if type(x) is nd or isinstance(x, gen) else x.abs()


def where(cond, a, b):
    """``cond`` is always a boolean array (masks are never differentiated)."""
    if hasattr(a, "_data") or hasattr(b, "_data"):
        from ..ops.index import where as t_where
        from ..tensor import Tensor
        return t_where(Tensor._wrap(xp.asarray(cond)), a, b)
    return xp.where(cond, a, b)


def mask(g, m):
    """``g`` where ``m`` (a boolean array) else 0, keeping ``g``'s dtype: a NaN or inf gradient where ``m``
    is False becomes 0, as PyTorch's threshold/masked backwards select. Computed as a product, with a
    selection only when the product is not finite: NumPy's ``where`` on a random mask costs 16x the product
    (2.9 ms against 0.18 ms on a conv-sized ReLU; branch mispredictions), the finiteness check 0.07 ms."""
    if type(g) is nd or isinstance(g, gen):
        r = g * m
        if r.dtype.kind in "fc" and not xp.isfinite(r).all():
            return xp.where(m, g, g.dtype.type(0))
        return r
    return where(m, g, 0.0)


def mask_positive(g, v):
    """``mask(g, ~(v <= 0))``: a ReLU's backward from its output ``v`` (a NaN output passes its gradient,
    as PyTorch's threshold_backward). Where numba is installed, one pass over large float arrays instead of
    four (compare, multiply, the finiteness check), the same bits."""
    if type(g) is nd and type(v) is nd and g.size >= _JIT_MIN and g.dtype == v.dtype and g.shape == v.shape \
            and g.dtype.kind == "f" and g.dtype.itemsize >= 4 and g.flags.c_contiguous and v.flags.c_contiguous \
            and _jit.enabled():
        r = xp.empty_like(g)
        if _k_mask_positive(g.reshape(-1), v.reshape(-1), r.reshape(-1)):
            return r
    return mask(g, ~(v <= 0) if type(v) is nd or isinstance(v, gen) else ~(v._data <= 0))


_JIT_MIN = 1 << 15
_ONE, _ZERO = xp.float32(1.0), xp.float32(0.0)


@_jit.kernel
def _k_mask_positive(g, v, out):
    """out = g * ~(v <= 0) as NumPy computes it (the mask cast to 1.0 / 0.0); False if a product is not
    finite (mask() then selects instead)."""
    finite = True
    for i in range(g.shape[0]):
        r = g[i] * (_ZERO if v[i] <= 0 else _ONE)
        out[i] = r
        if not math.isfinite(r):
            finite = False
    return finite


def const(arr, like):
    """A constant array in the same world as ``like`` (an array, or a Tensor without grad)."""
    if type(like) is nd or isinstance(like, gen):
        return arr
    from ..tensor import Tensor
    return Tensor._wrap(xp.asarray(arr))


def sum(x, axis=None, keepdims=False):  # noqa: A001
    if type(x) is nd or isinstance(x, gen):
        return x.sum(axis=axis, keepdims=keepdims)
    if axis is None:
        axis = tuple(range(x.ndim))
    return x.sum(dim=axis, keepdim=keepdims)


def reshape(x, shape):
    return x.reshape(shape)


def broadcast_to(x, shape):
    if type(x) is nd or isinstance(x, gen):
        if x.shape == shape:
            return x
        # materialised rather than a read-only broadcast view: np.broadcast_to costs ~2us of Python on
        # small arrays, and a gradient usually ends up copied into .grad or consumed by another op anyway
        out = xp.empty(shape, x.dtype)
        out[...] = x
        return out
    return x.expand(*shape)


def expand_dims(x, axes):
    """Re-insert reduced axes (sorted, non-negative) so ``x`` broadcasts against the input."""
    if type(x) is nd or isinstance(x, gen):
        shape = list(x.shape)
        for a in sorted(axes):
            shape.insert(a, 1)
        return x.reshape(shape)
    for a in sorted(axes):
        x = x.unsqueeze(a)
    return x


def transpose(x, axes):
    return xp.transpose(x, axes) if type(x) is nd or isinstance(x, gen) else x.permute(*axes)


def is_complex(x) -> bool:
    """Whether an array, Tensor or Python number is complex."""
    if type(x) is nd or isinstance(x, gen):
        return x.dtype.kind == "c"
    d = getattr(x, "_data", None)
    return d.dtype.kind == "c" if d is not None else type(x) is complex


def conj(x):
    """The complex conjugate (real values pass through): PyTorch's gradients of complex ops conjugate the
    other factors, so a real loss gets the gradient ``dL/dRe + i dL/dIm``."""
    if type(x) is nd or isinstance(x, gen):
        return xp.conj(x) if x.dtype.kind == "c" else x
    if type(x) is complex:
        return x.conjugate()
    d = getattr(x, "_data", None)
    if d is None or d.dtype.kind != "c":
        return x
    from .math import conj as t_conj
    return t_conj(x)


def mT(x):  # noqa: N802
    return xp.swapaxes(x, -1, -2) if type(x) is nd or isinstance(x, gen) else x.transpose(-1, -2)


def matmul(a, b):
    return a @ b


def astype(x, dt):
    """``x`` cast to the NumPy dtype ``dt``; complex to real keeps the real part (a gradient flowing back
    to a real input, as in PyTorch)."""
    if type(x) is nd or isinstance(x, gen):
        if x.dtype.kind == "c" and xp.dtype(dt).kind != "c":
            x = x.real
        return x.astype(dt, copy=False)
    from ..dtypes import from_numpy
    if x._data.dtype.kind == "c" and xp.dtype(dt).kind != "c":
        from .math import real
        x = real(x)
    return x.to(from_numpy(dt))


def zeros(shape, dt, like):
    z = xp.zeros(shape, getattr(dt, "numpy", dt))  # a NumPy dtype, or a Tensor's (create_graph)
    return z if type(like) is nd or isinstance(like, gen) else const(z, like)


def view_as_real(x):
    if type(x) is nd or isinstance(x, gen):
        return xp.stack([x.real, x.imag], axis=-1)
    from .math import view_as_real as f
    return f(x)


def view_as_complex(x):
    if type(x) is nd or isinstance(x, gen):
        return x[..., 0] + 1j * x[..., 1]
    from .math import view_as_complex as f
    return f(x)
