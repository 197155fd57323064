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




def _result_type(name: str, fields: list):
    """A named tuple printed as PyTorch prints torch.return_types (a printed result reads the same)."""
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"
    # found by pickle as dynagrad.ops.reduce.return_types.<name>
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__,
                                "__qualname__": f"return_types.{name}"})


class return_types:  # noqa: N801 - mirrors torch.return_types
    max = _result_type("max", ["values", "indices"])
    min = _result_type("min", ["values", "indices"])
    sort = _result_type("sort", ["values", "indices"])
    topk = _result_type("topk", ["values", "indices"])
    kthvalue = _result_type("kthvalue", ["values", "indices"])
    median = _result_type("median", ["values", "indices"])
    nanmedian = _result_type("nanmedian", ["values", "indices"])
    mode = _result_type("mode", ["values", "indices"])
    var_mean = _result_type("var_mean", ["var", "mean"])
    std_mean = _result_type("std_mean", ["std", "mean"])
    aminmax = _result_type("aminmax", ["min", "max"])
    cummax = _result_type("cummax", ["values", "indices"])
    cummin = _result_type("cummin", ["values", "indices"])
    frexp = _result_type("frexp", ["mantissa", "exponent"])
    histogram = _result_type("histogram", ["hist", "bin_edges"])
    histogramdd = _result_type("histogramdd", ["hist", "bin_edges"])
    unique_consecutive = _result_type("unique_consecutive", ["output", "inverse_indices", "counts"])


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


def nanmean(x, dim=None, keepdim=False, *, dtype=None):
    """The mean of the non-NaN elements (NaN where there are none)."""
    from .index import where
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind in "biu":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{dtypes.scalar_name(x.dtype)}")
    if x._data.dtype.kind == "c":
        raise RuntimeError("nansum on CPU does not support complex inputs")
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
        # PyTorch's prod_backward: out / a without zeros; else the products of the other elements (exclusive
        # cumulative products from both sides), except that a whole-tensor product with several zeros has a zero
        # gradient outright when no graph is built (even beside NaN)
        av = a if type(a) is _nd else a._data
        axes = None if self.axis is None else (self.axis,)
        g = _regrow(g, av.shape, axes, self.keepdims)
        zeros = (av == 0)
        if not zeros.any():
            return (g * (_regrow(out, av.shape, axes, self.keepdims) / a),)
        if self.axis is None and D.is_array(g) and zeros.sum() > 1:
            return (xp.zeros(av.shape, g.dtype),)
        if D.is_array(g):
            return (g * _prod_of_others(av, self.axis),)
        if self.axis is None:
            return (g * _prod_of_others_t(a.reshape(-1), 0).reshape(av.shape),)
        return (g * _prod_of_others_t(a, self.axis),)


def _prod_of_others(a, axis):
    if axis is None:
        flat = a.reshape(-1)
        return _prod_of_others(flat, 0).reshape(a.shape)
    m = xp.moveaxis(a, axis, -1)
    ones = xp.ones(m.shape[:-1] + (1,), a.dtype)
    left = xp.cumprod(xp.concatenate([ones, m[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(m, -1)[..., :-1]], -1), -1), -1)
    return xp.moveaxis(left * right, -1, axis)


def _prod_of_others_t(a, axis):
    """``_prod_of_others`` with Tensor ops, so a gradient built with create_graph stays differentiable."""
    from .shape import cat, narrow
    n = a.shape[axis]
    if n == 0:
        return a
    ones_shape = list(a.shape)
    ones_shape[axis] = 1
    ones = Tensor._wrap(xp.ones(ones_shape, a._data.dtype))
    left = cumprod(cat([ones, narrow(a, axis, 0, n - 1)], axis), axis)
    right = cumprod(cat([ones, narrow(a, axis, 1, n - 1).flip(axis)], axis), axis).flip(axis)
    return left * right


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
    nan_aware = False

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
        if self.nan_aware and av.dtype.kind in "fV":  # max(): a NaN maximum is the NaN elements' (grad [0, 1, 0]
            hit |= (av != av) & (o != o)              # for [3, nan, -1]); amax/amin's equality mask misses NaN
        count = hit.sum(axis=self.axes, keepdims=True)
        gg = _regrow(g, av.shape, self.axes, self.keepdims)
        return (D.mask(gg, hit) / D.const(_regrow(count, av.shape, None, True).astype(av.dtype), g),)


class MaxBackward1(AmaxBackward0):  # PyTorch's grad_fn names: max(), min(), amin()
    nan_aware = True  # evenly_distribute_backward


class MinBackward1(AmaxBackward0):
    nan_aware = True


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


def _no_complex(x, name, kernel=None):
    """PyTorch's refusal of complex input by ordering reductions (RuntimeError, or the kernel's
    NotImplementedError when ``kernel`` is given)."""
    if x._data.dtype.kind == "c":
        if kernel:
            raise dtypes.not_implemented(kernel, x.dtype)
        raise RuntimeError(f"{name}(): does not support complex input")


def _max_min(x, dim, keepdim, is_max, other=None):
    from .elementwise import maximum, minimum
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return (maximum if is_max else minimum)(x, dim)
    name = "max" if is_max else "min"
    if dim is None:
        _no_complex(x, name, f"{name}_all")
        if x._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               f"the reduction dim with the 'dim' argument.")
        return (MaxBackward1 if is_max else MinBackward1).apply(x, axes=None, keepdims=False, is_max=is_max)
    _no_complex(x, name)
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


def _amax_checks(x, dim, name):
    axes = axes_of(dim, x._data.ndim)
    if x._data.size == 0:
        if axes is None:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               f"the reduction dim with the 'dim' argument")
        for ax in axes:
            if x._data.shape[ax] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {ax} to have non-zero size.")
    return axes


def amax(x, dim=(), keepdim: bool = False):
    """The maximum over ``dim`` (all dims by default); ties share the gradient."""
    _no_complex(x, "amax", "max_values_cpu")
    return AmaxBackward0.apply(x, axes=_amax_checks(x, dim, "amax"), keepdims=keepdim, is_max=True)


def amin(x, dim=(), keepdim: bool = False):
    """The minimum over ``dim`` (all dims by default); ties share the gradient."""
    _no_complex(x, "amin", "min_values_cpu")
    return AminBackward0.apply(x, axes=_amax_checks(x, dim, "amin"), keepdims=keepdim, is_max=False)


def aminmax(x, *, dim=None, keepdim=False):
    """(min, max) over ``dim`` (or everything)."""
    _no_complex(x, "aminmax", "aminmax_cpu")
    if x._data.size == 0:
        if dim is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        ax = normalize_dim(dim, x._data.ndim)
        if x._data.shape[ax] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {ax} to have non-zero size.")
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
    _no_complex(x, name)
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
    if x.dtype in (dtypes.float16, dtypes.bfloat16):  # PyTorch accumulates half precision in float32
        return var(x.float(), dim, keepdim=keepdim, correction=correction, _op=_op).to(x.dtype)
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
                sq = (centred * centred.conj()).real if a.dtype.kind == "c" else centred * centred
                return xp.asarray(xp.divide(sq.sum(axis=axes, keepdims=keepdims), 0.0))
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
    """Whether every element (along ``dim``) is nonzero; bool, or uint8 for a uint8 input (as PyTorch)."""
    axes = axes_of(dim, x._data.ndim)
    out = xp.asarray(x._data.all(axis=axes, keepdims=keepdim))
    return Tensor._wrap(out.astype(xp.uint8) if x._data.dtype == xp.uint8 else out)


def any(x, dim=None, keepdim: bool = False):  # noqa: A001
    """Whether some element (along ``dim``) is nonzero; bool, or uint8 for a uint8 input."""
    axes = axes_of(dim, x._data.ndim)
    out = xp.asarray(x._data.any(axis=axes, keepdims=keepdim))
    return Tensor._wrap(out.astype(xp.uint8) if x._data.dtype == xp.uint8 else out)


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


def _cum_dtype(name, x, dtype):
    if dtype is not None and dtypes.as_dtype(dtype) == dtypes.bool and x._data.size:
        raise dtypes.not_implemented(f"{name}_out_cpu", dtypes.bool)


def cumsum(x, dim, *, dtype=None):
    """Cumulative sum along ``dim`` (integers and bools accumulate as int64)."""
    axis = normalize_dim(dim, x._data.ndim)
    _cum_dtype("cumsum", x, dtype)
    if x._data.ndim == 0:
        dt = _sum_dtype(x, dtype)
        return x.to(dtypes.from_numpy(dt)) if dt is not None and x._data.dtype != dt else x.clone()
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
        if av.size <= 1 or av.shape[ax] == 1:
            return (g,)
        if not (av == 0).any():
            return (_flip_cumsum(g * out, ax) / a,)
        if D.is_array(g):
            return (_cumprod_grad_zeros(g, av, out, ax),)
        return (_cumprod_grad_graph(g, a, ax),)


def _cumprod_grad_zeros(g, a, out, ax):
    """PyTorch's O(n) cumprod gradient with zeros: before the first zero of a slice (reversed cumulative sums
    of g*out over the input), at the first zero (the products up to the second zero), 0 after."""
    with xp.errstate(divide="ignore", invalid="ignore"):
        w = out * g
        cs = xp.cumsum(a == 0, axis=ax)
        grad = xp.zeros(a.shape, g.dtype)
        before = cs == 0
        part = _flip_cumsum(xp.where(before, w, 0), ax) / a
        grad[before] = part[before]
        upto_second = cs == 1
        first = xp.argmax(upto_second, axis=ax)
        first_k = xp.expand_dims(first, ax)
        first_mask = xp.zeros(a.shape, bool)
        xp.put_along_axis(first_mask, first_k, True, ax)
        first_mask &= upto_second
        between = upto_second & ~first_mask
        prods = xp.cumprod(xp.where(between, a, 1), axis=ax)
        total = (prods * xp.where(upto_second, g, 0)).sum(ax, keepdims=True)
        prev = xp.take_along_axis(out, xp.maximum(first_k - 1, 0), ax)
        val = total * xp.where(first_k == 0, 1, prev)
        grad[first_mask] = xp.broadcast_to(val, a.shape)[first_mask]
    return grad


def _cumprod_grad_graph(g, a, ax):
    """PyTorch's O(n^2) cumprod gradient with zeros when building a graph (create_graph): for each k, the
    products that omit x_k, with Tensor ops."""
    from .shape import cat, narrow, stack
    n = a.shape[ax]
    ones_shape = list(a.shape)
    ones_shape[ax] = 1
    ones = Tensor._wrap(xp.ones(ones_shape, a._data.dtype))
    cols = []
    for k in range(n):
        if k == 0:
            omitted = cat([ones, cumprod(narrow(a, ax, 1, n - 1), ax)], ax)
        else:
            until = prod(narrow(a, ax, 0, k), ax, keepdim=True)
            if k == n - 1:
                omitted = until
            else:
                omitted = cat([until, until * cumprod(narrow(a, ax, k + 1, n - k - 1), ax)], ax)
        cols.append(sum(narrow(g, ax, k, n - k) * omitted, ax))
    return stack(cols, ax)


def cumprod(x, dim, *, dtype=None):
    """Cumulative product along ``dim`` (integers and bools accumulate as int64)."""
    axis = normalize_dim(dim, x._data.ndim)
    _cum_dtype("cumprod", x, dtype)
    if x._data.ndim == 0:
        dt = _sum_dtype(x, dtype)
        return x.to(dtypes.from_numpy(dt)) if dt is not None and x._data.dtype != dt else x.clone()
    return CumprodBackward0.apply(x, axis=axis, dtype=_sum_dtype(x, dtype))


def _cum_extreme(x, dim, is_max):
    _no_complex(x, "", "cummax_cpu" if is_max else "cummin_cpu")
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
        if a.dtype.kind == "c":
            return _complex_logcumsumexp(a, axis)
        return xp.logaddexp.accumulate(a, axis=axis)

    def backward(self, g, x, out):
        # PyTorch's log-space formula (from TensorFlow): the positive and negative parts of g go through a
        # reversed logcumsumexp separately (complex g in one piece), which fixes where inf and NaN appear
        if self.edges[0][0] is None:
            return (None,)
        if g.ndim == 0 or (g.size if D.is_array(g) else g.numel()) == 0:
            return (g,)
        arrays = D.is_array(g)
        gt, xt, ot = (Tensor._wrap(xp.asarray(v)) if D.is_array(v) else v for v in (g, x, out))
        res = _logcumsumexp_grad(gt, xt, ot, self.axis)
        return (res._data if arrays else res,)


def _complex_logcumsumexp(a, axis):
    m = xp.moveaxis(a, axis, 0)
    out = xp.empty_like(m)
    acc = m[0]
    out[0] = acc
    with xp.errstate(invalid="ignore", over="ignore"):
        for i in range(1, m.shape[0]):
            b = m[i]
            big = xp.where(acc.real >= b.real, acc, b)
            small = xp.where(acc.real >= b.real, b, acc)
            acc = big + xp.log1p(xp.exp(small - big))
            acc = xp.where(xp.isneginf(big.real), small, acc)
            out[i] = acc
    return xp.moveaxis(out, 0, axis)


def _logcumsumexp_grad(g, x, out, axis):
    from .elementwise import exp, log
    from .index import where

    def reverse(v):
        return logcumsumexp(v.flip(axis), axis).flip(axis)
    if g._data.dtype.kind == "c":
        from .math import conj
        return conj(exp(reverse(log(conj(g)) - out) + x))
    lowest = Tensor._wrap(xp.asarray(xp.finfo(g._data.dtype).min, g._data.dtype))
    with xp.errstate(divide="ignore", invalid="ignore"):
        log_abs = log(g.abs())
        pos = where(g > 0, log_abs, lowest)
        neg = where(g < 0, log_abs, lowest)
        return exp(reverse(pos - out) + x) - exp(reverse(neg - out) + x)


def _flip_cumsum(w, axis):
    if D.is_array(w):
        return xp.flip(xp.cumsum(xp.flip(w, axis), axis=axis), axis)
    return w.flip(axis).cumsum(axis).flip(axis)


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along ``dim``, stable for large and infinite values (floating point and complex)."""
    axis = normalize_dim(dim, x._data.ndim) if x._data.ndim else normalize_dim(dim, 1)
    if x._data.dtype.kind not in "fcV" and x.dtype != dtypes.bfloat16:
        raise dtypes.not_implemented("logcumsumexp_out_cpu", x.dtype)
    return LogcumsumexpBackward0.apply(x, axis=axis)


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
    axis = _softmax_dim(x, dim, "softmax")
    if x._data.size == 0:
        return x.clone()
    if x._data.dtype.kind in "biuc":
        raise dtypes.not_implemented("softmax_lastdim_kernel_impl", x.dtype)
    if x._data.ndim == 0:
        return x / x
    return SoftmaxBackward0.apply(x, axis=axis)


def log_softmax(x, dim=None, dtype=None, *, _stacklevel=3):
    """log(softmax(x)) along ``dim``, computed stably."""
    if dtype is not None:
        x = x.to(dtype)
    axis = _softmax_dim(x, dim, "log_softmax")
    if x._data.size == 0:
        return x.clone()
    if x._data.dtype.kind in "biuc":
        raise dtypes.not_implemented("log_softmax_lastdim_kernel_impl", x.dtype)
    if x._data.ndim == 0:
        return x - x
    return LogSoftmaxBackward0.apply(x, axis=axis)

