"""Reductions: sum, mean, prod, max/min, var/std, norm, logsumexp, cumulative ops, softmax.

Each primitive's backward re-inserts the reduced axes and broadcasts the gradient back; ties in
max/min/amax/amin share the gradient evenly (full reductions) or go to the returned index (``dim=``), as
in PyTorch.
"""
from __future__ import annotations

import collections
import math

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D
from . import _rows

_nd = xp.ndarray


def normalize_dim(dim: int, ndim: int) -> int:
    """A non-negative axis, with PyTorch's IndexError for out-of-range dims (0-d tensors accept 0/-1)."""
    n = ndim if ndim > 1 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n if ndim else 0


def axes_of(dim, ndim: int):
    """None (all axes) or a sorted tuple of non-negative axes."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        axes = tuple(sorted({normalize_dim(d, ndim) for d in dim}))
        if len(axes) != len(dim):
            raise RuntimeError(f"dim {dim} appears multiple times in the list of dims")
        return axes if ndim else None
    return (normalize_dim(dim, ndim),) if ndim else None


def _regrow(g, shape, axes, keepdims):
    """Broadcast a reduced gradient back to ``shape``."""
    if not keepdims and axes is not None:
        g = D.expand_dims(g, axes)
    elif not keepdims:
        g = D.reshape(g, (1,) * len(shape))
    return D.broadcast_to(g, shape)




class return_types:  # noqa: N801 - mirrors torch.return_types
    max = collections.namedtuple("max", ["values", "indices"])
    min = collections.namedtuple("min", ["values", "indices"])
    sort = collections.namedtuple("sort", ["values", "indices"])
    topk = collections.namedtuple("topk", ["values", "indices"])
    kthvalue = collections.namedtuple("kthvalue", ["values", "indices"])
    median = collections.namedtuple("median", ["values", "indices"])
    mode = collections.namedtuple("mode", ["values", "indices"])
    var_mean = collections.namedtuple("var_mean", ["var", "mean"])
    std_mean = collections.namedtuple("std_mean", ["std", "mean"])
    aminmax = collections.namedtuple("aminmax", ["min", "max"])
    cummax = collections.namedtuple("cummax", ["values", "indices"])
    cummin = collections.namedtuple("cummin", ["values", "indices"])
    frexp = collections.namedtuple("frexp", ["mantissa", "exponent"])
    nanmedian = collections.namedtuple("nanmedian", ["values", "indices"])
    histogram = collections.namedtuple("histogram", ["hist", "bin_edges"])
    unique_consecutive = collections.namedtuple("unique_consecutive", ["output", "inverse_indices", "counts"])


# -- sum / mean / prod -----------------------------------------------------------------------------------

_add_reduce = xp.add.reduce  # what ndarray.sum calls, without its Python-level wrapper
_true_divide = xp.true_divide
_intp = xp.intp


class SumBackward0(Op):
    def forward(ctx, a, axes, keepdims, dtype):
        if ctx is not None:
            ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        return _add_reduce(a, axes, dtype, None, keepdims)  # a NumPy scalar for a full sum: Op wraps it

    def backward(self, g):
        return (_regrow(g, self.shape, self.axes, self.keepdims),)


class MeanBackward0(Op):
    def forward(ctx, a, axes, keepdims, dtype):
        n = a.size if axes is None else math.prod([a.shape[i] for i in axes])
        if ctx is not None:
            ctx.shape, ctx.axes, ctx.keepdims, ctx.n = a.shape, axes, keepdims, n
        if a.size == 0:  # nan where nothing was averaged, without NumPy's warning (PyTorch gives none)
            with xp.errstate(invalid="ignore"):
                return xp.asarray(a.sum(axis=axes, keepdims=keepdims, dtype=dtype) / a.dtype.type(0))
        if dtype is None and a.dtype.kind == "f" and a.dtype.itemsize >= 4:
            # ndarray.mean's own steps (a sum, then a division by the count as an intp), minus its wrapper
            s = _add_reduce(a, axes, None, None, keepdims)
            if type(s) is _nd:
                return _true_divide(s, _intp(n), out=s, casting="unsafe")
            return s.dtype.type(s / _intp(n))
        return xp.asarray(a.mean(axis=axes, keepdims=keepdims, dtype=dtype))

    def backward(self, g):
        return (_regrow(g / self.n, self.shape, self.axes, self.keepdims),)


def _sum_dtype(t, dtype):
    if dtype is not None:
        return dtypes.to_numpy(dtype)
    return xp.int64 if t._data.dtype.kind in "biu" else None


def sum(x, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001
    """Sum over all elements or the given dims (integers and bools sum as int64, as in PyTorch)."""
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    axes = None if dim is None else axes_of(dim, x._data.ndim)
    dt = None if dtype is None and x._data.dtype.kind in "fc" else _sum_dtype(x, dtype)
    if dt is not None and x._requires_grad and dtypes.from_numpy(dt).is_floating_point:
        x = x.to(dtypes.from_numpy(dt))
        dt = None
    return SumBackward0.apply(x, axes=axes, keepdims=keepdim, dtype=dt)


def nansum(x, dim=None, keepdim=False, *, dtype=None):
    from .index import where
    if x._data.dtype.kind in "biu":  # no NaN to drop: the sum's dtype rules (int64 for integers)
        return sum(x, dim, keepdim, dtype=dtype)
    return sum(where(x != x, 0.0, x), dim, keepdim, dtype=dtype)


def mean(x, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """Mean over all elements or the given dims; floating point inputs only, as in PyTorch."""
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind in "biu":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.dtype.name.capitalize()}")
    return MeanBackward0.apply(x, axes=axes_of(dim, x._data.ndim), keepdims=keepdim, dtype=None)


def nanmean(x, dim=None, keepdim=False):
    from .index import where
    notnan = (x == x)
    return sum(where(notnan, x, 0.0), dim, keepdim) / sum(notnan, dim, keepdim)


class ProdBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, axis, keepdims, dtype):
        if ctx is not None:
            ctx.axis, ctx.keepdims = axis, keepdims
        return xp.asarray(a.prod(axis=axis, keepdims=keepdims, dtype=dtype))

    def backward(self, g, a, out):
        av = a if type(a) is _nd else a._data
        axes = None if self.axis is None else (self.axis,)
        g = _regrow(g, av.shape, axes, self.keepdims)
        out = _regrow(out, av.shape, axes, self.keepdims)
        if not (av == 0).any():
            return (g * out / a,)
        # with zeros, the product of the *other* elements: exclusive cumulative products from both sides
        others = _prod_of_others(av, self.axis)
        return (g * D.const(others, g),)


def _prod_of_others(a, axis):
    if axis is None:
        flat = a.reshape(-1)
        return _prod_of_others(flat, 0).reshape(a.shape)
    m = xp.moveaxis(a, axis, -1)
    ones = xp.ones(m.shape[:-1] + (1,), a.dtype)
    left = xp.cumprod(xp.concatenate([ones, m[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(m, -1)[..., :-1]], -1), -1), -1)
    return xp.moveaxis(left * right, -1, axis)


def prod(x, dim=None, keepdim: bool = False, *, dtype=None):
    """Product of all elements or along one dim."""
    axis = None if dim is None else normalize_dim(dim, x._data.ndim)
    if x._data.ndim == 0:
        axis = None
    dt = _sum_dtype(x, dtype)
    return ProdBackward0.apply(x, axis=axis, keepdims=keepdim, dtype=dt)


# -- max / min ---------------------------------------------------------------------------------------------

class AmaxBackward0(Op):
    """max/min over all elements or several dims; ties share the gradient evenly."""

    save = (0,)
    save_output = True

    def forward(ctx, a, axes, keepdims, is_max):
        if a.size == 0:
            _check_nonempty("max" if is_max else "min", a.shape, axes)
        if ctx is not None:
            ctx.axes, ctx.keepdims = axes, keepdims
        return xp.asarray(a.max(axis=axes, keepdims=keepdims) if is_max else a.min(axis=axes, keepdims=keepdims))

    def backward(self, g, a, out):
        av = a if type(a) is _nd else a._data
        ov = out if type(out) is _nd else out._data
        o = _regrow(ov, av.shape, self.axes, self.keepdims)
        hit = (av == o)
        if av.dtype.kind in "fV":  # a NaN maximum is the NaN elements' (PyTorch: grad [0, 1, 0] for [3, nan, -1])
            hit |= (av != av) & (o != o)
        count = hit.sum(axis=self.axes, keepdims=True)
        gg = _regrow(g, av.shape, self.axes, self.keepdims)
        return (D.mask(gg, hit) / D.const(_regrow(count, av.shape, None, True).astype(av.dtype), g),)


class MaxBackward1(AmaxBackward0):  # PyTorch's grad_fn names: max(), min(), amin()
    pass


class MinBackward1(AmaxBackward0):
    pass


class AminBackward0(AmaxBackward0):
    pass


class MaxBackward0(Op):
    """max/min along one dim: the gradient goes to the returned index."""

    def forward(ctx, a, axis, keepdims, is_max):
        idx = xp.argmax(a, axis=axis, keepdims=True) if is_max else xp.argmin(a, axis=axis, keepdims=True)
        vals = xp.take_along_axis(a, idx, axis)
        if not keepdims:
            vals, idx = vals.squeeze(axis), idx.squeeze(axis)
        if ctx is not None:
            ctx.shape, ctx.axis, ctx.keepdims, ctx.idx = a.shape, axis, keepdims, idx
        return vals, idx

    def backward(self, grads):
        g = grads[0] if isinstance(grads, list) else grads
        idx = self.idx if self.keepdims else xp.expand_dims(self.idx, self.axis)
        if not self.keepdims:
            g = D.expand_dims(g, (self.axis,))
        if D.is_array(g):
            out = xp.zeros(self.shape, g.dtype)
            xp.put_along_axis(out, idx, g, self.axis)
            return (out,)
        from ..creation import zeros
        from .index import scatter
        return (scatter(zeros(self.shape, dtype=g.dtype), self.axis, Tensor._wrap(idx), g),)


class MinBackward0(MaxBackward0):
    pass


def _max_min(x, dim, keepdim, is_max, other=None):
    from .elementwise import maximum, minimum
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return (maximum if is_max else minimum)(x, dim)
    if dim is None:
        return (MaxBackward1 if is_max else MinBackward1).apply(x, axes=None, keepdims=False, is_max=is_max)
    axis = normalize_dim(dim, x._data.ndim)
    if x._data.ndim == 0:
        return (return_types.max if is_max else return_types.min)(x.clone(), Tensor._wrap(xp.zeros((), xp.int64)))
    if x._data.shape[axis] == 0:
        raise IndexError(f"{'max' if is_max else 'min'}(): Expected reduction dim {dim} to have non-zero size.")
    vals, idx = (MaxBackward0 if is_max else MinBackward0).apply(x, axis=axis, keepdims=keepdim, is_max=is_max)
    idx = Tensor._wrap(idx._data.astype(xp.int64))
    idx._requires_grad = False
    idx.grad_fn = None
    return (return_types.max if is_max else return_types.min)(vals, idx)


def max(x, dim=None, keepdim: bool = False):  # noqa: A001
    """Maximum of all elements, or (values, indices) along ``dim``, or elementwise with a Tensor."""
    return _max_min(x, dim, keepdim, True)


def min(x, dim=None, keepdim: bool = False):  # noqa: A001
    return _max_min(x, dim, keepdim, False)


def amax(x, dim=(), keepdim: bool = False):
    return AmaxBackward0.apply(x, axes=axes_of(dim, x._data.ndim), keepdims=keepdim, is_max=True)


def amin(x, dim=(), keepdim: bool = False):
    return AminBackward0.apply(x, axes=axes_of(dim, x._data.ndim), keepdims=keepdim, is_max=False)


def aminmax(x, *, dim=None, keepdim=False):
    return return_types.aminmax(amin(x, dim if dim is not None else (), keepdim),
                                amax(x, dim if dim is not None else (), keepdim))


def _check_nonempty(name, shape, axes):
    """PyTorch's IndexError for max/min-like reductions that would reduce over nothing."""
    if axes is None or not shape:
        if 0 in shape:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                             f"reduction dim with the 'dim' argument.")
        return
    for ax in axes:
        if shape[ax] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {ax} to have non-zero size.")


def _arg_extreme(x, dim, keepdim, is_max):
    a = x._data
    name = "argmax" if is_max else "argmin"
    if a.dtype == xp.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    fn = xp.argmax if is_max else xp.argmin
    if dim is None:
        _check_nonempty(name, a.shape, None)
        r = xp.asarray(fn(a), dtype=xp.int64)
        return Tensor._wrap(r.reshape((1,) * a.ndim) if keepdim else r)
    axis = normalize_dim(dim, a.ndim)
    if a.size == 0:
        _check_nonempty(name, a.shape, (axis,))
        shape = tuple(1 if i == axis else n for i, n in enumerate(a.shape) if keepdim or i != axis)
        return Tensor._wrap(xp.zeros(shape, xp.int64))
    return Tensor._wrap(xp.asarray(fn(a, axis=axis, keepdims=keepdim)).astype(xp.int64))


def argmax(x, dim=None, keepdim: bool = False):
    """The flat index of the largest element, or the indices of the largest along ``dim``."""
    return _arg_extreme(x, dim, keepdim, True)


def argmin(x, dim=None, keepdim: bool = False):
    return _arg_extreme(x, dim, keepdim, False)


# -- statistics ------------------------------------------------------------------------------------------------

def var(x, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, _op=None):
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
    if isinstance(dim, bool) and unbiased is None:  # var(x, False): the old positional unbiased
        dim, unbiased = None, dim
    if x._data.dtype.kind in "biu":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = axes_of(dim, x._data.ndim)
    n = x._data.size if axes is None else int(xp.prod([x._data.shape[i] for i in axes]))
    return (_op or VarBackward0).apply(x, axes=axes, keepdims=keepdim, correction=correction, n=n)


class VarBackward0(Op):
    save = (0,)

    def forward(ctx, a, axes, keepdims, correction, n):
        if ctx is not None:
            ctx.axes, ctx.keepdims, ctx.denom = axes, keepdims, n - correction
        if n - correction <= 0:  # PyTorch divides by max(0, n - correction): inf or nan, without a warning
            with xp.errstate(divide="ignore", invalid="ignore"):
                centred = a - a.mean(axis=axes, keepdims=True) if a.size else a
                return xp.asarray(xp.divide((centred * centred).sum(axis=axes, keepdims=keepdims), 0.0))
        return xp.asarray(a.var(axis=axes, keepdims=keepdims, ddof=correction))

    def backward(self, g, a):
        centred = a - D.sum(a, self.axes, True) * (1.0 / (_size(a, self.axes) or 1))
        gg = _regrow(g, tuple(a.shape), self.axes, self.keepdims)
        return (gg * centred * (2.0 / self.denom if self.denom > 0 else math.inf),)


class StdBackward0(VarBackward0):
    """sqrt(var); PyTorch takes the gradient as 0 where the std is 0 (not the nan of sqrt's 1 / 0)."""

    save_output = True

    def forward(ctx, a, axes, keepdims, correction, n):
        return xp.asarray(xp.sqrt(VarBackward0.forward(ctx, a, axes, keepdims, correction, n)))

    def backward(self, g, a, out):
        ov = out._data if isinstance(out, Tensor) else out
        zero = ov == 0
        gv = D.mask(g / (D.where(zero, 1.0, out) * 2), ~zero)
        return VarBackward0.backward(self, gv, a)


def _size(a, axes):
    shape = a.shape
    if axes is None:
        n = 1
        for s in shape:
            n *= s
        return n
    n = 1
    for i in axes:
        n *= shape[i]
    return n


def std(x, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation with Bessel's correction by default, as in PyTorch."""
    return var(x, dim, unbiased, keepdim, correction=correction, _op=StdBackward0)


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.var_mean(var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim))


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.std_mean(std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim))


class NormBackward1(Op):
    """The 2-norm; its gradient x / norm is taken as 0 where the norm is 0 (PyTorch's subgradient)."""

    save = (0,)
    save_output = True

    def forward(ctx, a, axes, keepdims):
        if ctx is not None:
            ctx.axes, ctx.keepdims = axes, keepdims
        aa = xp.abs(a) if a.dtype.kind == "c" else a
        return xp.asarray(xp.sqrt((aa * aa).sum(axis=axes, keepdims=keepdims)))

    def backward(self, g, a, out):
        ov = out if type(out) is _nd else out._data
        safe = D.where(ov == 0, 1.0, out)
        gg = _regrow(g / safe, tuple(a.shape), self.axes, self.keepdims)
        zero = _regrow(ov == 0, tuple(a.shape), self.axes, self.keepdims)
        return (D.mask(gg * a, ~zero),)


def norm(x, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector p-norm (2 by default; 'fro', 'nuc' for matrices, inf, -inf, 0, any real p)."""
    from .elementwise import abs as _abs
    from .elementwise import pow as _pow
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind in "biu":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{x.dtype.name.capitalize()}")
    axes = axes_of(dim, x._data.ndim)
    if p in ("fro", 2, 2.0, None):
        return NormBackward1.apply(x, axes=axes, keepdims=keepdim)
    if p == "nuc":
        from .linalg import svdvals
        return sum(svdvals(x), -1, keepdim)
    if p in (float("inf"), "inf"):
        return amax(_abs(x), dim if dim is not None else (), keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(_abs(x), dim if dim is not None else (), keepdim)
    if p == 0:
        from .elementwise import _zero_grad_like
        return _zero_grad_like(sum((x != 0).to(x.dtype), dim, keepdim), x)
    if p == 1:
        return sum(_abs(x), dim, keepdim)
    return _pow(sum(_pow(_abs(x), p), dim, keepdim), 1.0 / p)


class LogsumexpBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, axes, keepdims):
        if ctx is not None:
            ctx.axes, ctx.keepdims = axes, keepdims
        m = a.max(axis=axes, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, a.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m
        if not keepdims:
            out = out.squeeze(axis=axes) if axes is not None else out.reshape(())
        return xp.asarray(out)

    def backward(self, g, a, out):
        shape = tuple(a.shape)
        return (_regrow(g, shape, self.axes, self.keepdims) * D.exp(a - _regrow(out, shape, self.axes,
                                                                                 self.keepdims)),)


def logsumexp(x, dim, keepdim: bool = False):
    """log(sum(exp(x))) along dims, computed stably."""
    if x._data.dtype.kind in "biu":
        x = x.to(dtypes.get_default_dtype())
    return LogsumexpBackward0.apply(x, axes=axes_of(dim, x._data.ndim), keepdims=keepdim)


def all(x, dim=None, keepdim: bool = False):  # noqa: A001
    axes = axes_of(dim, x._data.ndim)
    return Tensor._wrap(xp.asarray(x._data.all(axis=axes, keepdims=keepdim)))


def any(x, dim=None, keepdim: bool = False):  # noqa: A001
    axes = axes_of(dim, x._data.ndim)
    return Tensor._wrap(xp.asarray(x._data.any(axis=axes, keepdims=keepdim)))


def count_nonzero(x, dim=None):
    return Tensor._wrap(xp.asarray(xp.count_nonzero(x._data, axis=axes_of(dim, x._data.ndim)), dtype=xp.int64))


# -- cumulative ---------------------------------------------------------------------------------------------

class CumsumBackward0(Op):
    def forward(ctx, a, axis, dtype):
        if ctx is not None:
            ctx.axis = axis
        return xp.cumsum(a, axis=axis, dtype=dtype)

    def backward(self, g):
        if D.is_array(g):
            return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)
        return (g.flip(self.axis).cumsum(self.axis).flip(self.axis),)


def cumsum(x, dim, *, dtype=None):
    """Cumulative sum along ``dim``."""
    axis = normalize_dim(dim, x._data.ndim)
    if x._data.ndim == 0:
        return x.clone()
    return CumsumBackward0.apply(x, axis=axis, dtype=_sum_dtype(x, dtype))


class CumprodBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, axis, dtype):
        if ctx is not None:
            ctx.axis = axis
        return xp.cumprod(a, axis=axis, dtype=dtype)

    def backward(self, g, a, out):
        ax = self.axis
        av = a if type(a) is _nd else a._data
        if not (av == 0).any():
            s = g * out
            s = s.flip(ax).cumsum(ax).flip(ax) if not D.is_array(s) else xp.flip(xp.cumsum(xp.flip(s, ax), ax), ax)
            return (s / a,)
        # with zeros: grad_i = sum_{j>=i} g_j * prod_{k<=j, k!=i} a_k, computed slice by slice
        gv = g if D.is_array(g) else g._data
        m = xp.moveaxis(av, ax, -1)
        gm = xp.moveaxis(gv, ax, -1)
        n = m.shape[-1]
        res = xp.zeros_like(m)
        for i in range(n):
            left = xp.prod(m[..., :i], axis=-1, keepdims=True)
            rest = xp.cumprod(m[..., i + 1:], axis=-1)
            terms = xp.concatenate([left, left * rest], -1)
            res[..., i] = (terms * gm[..., i:]).sum(-1)
        return (D.const(xp.moveaxis(res, -1, ax), g),)


def cumprod(x, dim, *, dtype=None):
    axis = normalize_dim(dim, x._data.ndim)
    if x._data.ndim == 0:
        return x.clone()
    return CumprodBackward0.apply(x, axis=axis, dtype=_sum_dtype(x, dtype))


def _cum_extreme(x, dim, is_max):
    if x._data.ndim == 0:  # a 0-d input is its own running extreme, at index 0
        normalize_dim(dim, 1)
        rt = return_types.cummax if is_max else return_types.cummin
        return rt(x.clone(), Tensor._wrap(xp.zeros((), xp.int64)))
    axis = normalize_dim(dim, x._data.ndim)
    a = x._data
    fn = xp.maximum if is_max else xp.minimum
    vals = fn.accumulate(a, axis=axis)
    n = a.shape[axis]
    ar = xp.arange(n).reshape([-1 if i == axis else 1 for i in range(a.ndim)])
    hit = a == vals
    idx = xp.maximum.accumulate(xp.where(hit, ar, 0), axis=axis).astype(xp.int64)
    from .index import gather
    values = gather(x, axis, Tensor._wrap(idx))
    cls = return_types.cummax if is_max else return_types.cummin
    return cls(values, Tensor._wrap(idx))


def cummax(x, dim):
    return _cum_extreme(x, dim, True)


def cummin(x, dim):
    return _cum_extreme(x, dim, False)


class LogcumsumexpBackward0(Op):
    """log(cumsum(exp(x))) by running logaddexp, so an inf keeps the sum inf (PyTorch: [inf, 1] -> [inf, inf])."""

    save = (0,)
    save_output = True

    def forward(ctx, a, axis):
        if ctx is not None:
            ctx.axis = axis
        if a.ndim == 0:
            return a.copy()
        return xp.logaddexp.accumulate(a, axis=axis)

    def backward(self, g, x, out):
        # d out_j / d x_i = exp(x_i - out_j) for j >= i: a reversed cumulative sum of g exp(-out), times exp(x)
        from .elementwise import exp
        if self.edges[0][0] is None:
            return (None,)
        axis = self.axis
        if g.ndim == 0:
            return (g,)
        w = g * (D.exp(-out) if D.is_array(out) else exp(-out))
        rev = _flip_cumsum(w, axis)
        return (rev * (D.exp(x) if D.is_array(x) else exp(x)),)


def _flip_cumsum(w, axis):
    if D.is_array(w):
        return xp.flip(xp.cumsum(xp.flip(w, axis), axis=axis), axis)
    return w.flip(axis).cumsum(axis).flip(axis)


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along ``dim``, stable for large and infinite values."""
    if x._data.dtype.kind not in "fcV":
        x = x.to(dtypes.get_default_dtype())
    return LogcumsumexpBackward0.apply(x, axis=normalize_dim(dim, x._data.ndim) if x._data.ndim else normalize_dim(dim, 1))


# -- softmax family (primitives for speed and stability) ----------------------------------------------------

class SoftmaxBackward0(Op):
    save_output = True

    def forward(ctx, a, axis):
        if ctx is not None:
            ctx.axis = axis
        if axis == a.ndim - 1:
            return _rows.softmax_last(a)
        e = xp.exp(a - a.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e

    def backward(self, g, out):
        if type(g) is _nd and self.axis == g.ndim - 1:
            return (_rows.softmax_grad_last(g, out),)
        return (out * (g - D.sum(g * out, (self.axis,), True)),)


class LogSoftmaxBackward0(Op):
    save_output = True

    def forward(ctx, a, axis):
        if ctx is not None:
            ctx.axis = axis
        if axis == a.ndim - 1:
            return _rows.log_softmax_last(a)
        s = a - a.max(axis=axis, keepdims=True)
        s -= xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
        return s

    def backward(self, g, out):
        if type(g) is _nd and self.axis == g.ndim - 1:
            return (_rows.log_softmax_grad_last(g, out),)
        return (g - D.exp(out) * D.sum(g, (self.axis,), True),)


def _softmax_dim(x, dim, name):
    if dim is None:
        import warnings
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      f"dim=X as an argument.", stacklevel=3)
        dim = 0 if x._data.ndim in (0, 1, 3) else 1
    return normalize_dim(dim, x._data.ndim)


def softmax(x, dim=None, dtype=None, *, _stacklevel=3):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind in "biu":
        raise RuntimeError(f"\"softmax_lastdim_kernel_impl\" not implemented for '{x.dtype.name.capitalize()}'")
    axis = _softmax_dim(x, dim, "softmax")
    if x._data.ndim == 0:
        return x / x
    return SoftmaxBackward0.apply(x, axis=axis)


def log_softmax(x, dim=None, dtype=None, *, _stacklevel=3):
    """log(softmax(x)) along ``dim``, computed stably."""
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind in "biu":
        raise RuntimeError(f"\"log_softmax_lastdim_kernel_impl\" not implemented for '{x.dtype.name.capitalize()}'")
    axis = _softmax_dim(x, dim, "log_softmax")
    if x._data.ndim == 0:
        return x - x
    return LogSoftmaxBackward0.apply(x, axis=axis)

