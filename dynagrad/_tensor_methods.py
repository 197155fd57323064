"""Attach the op functions to Tensor as methods and operators, and define the in-place forms.

Kept apart from tensor.py so each op is written once, in its family's module, and the method is just
that function.
"""
from __future__ import annotations

from . import dtypes
from . import random as _random
from .autograd import state
from .backend import xp
from .ops import combine as CB
from .ops import elementwise as E
from .ops import index as I
from .ops import linalg as L
from .ops import math as M
from .ops import reduce as R
from .ops import shape as S
from .ops import sorting as SO
from .ops import stats as ST
from .ops.elementwise import *  # noqa: F403 - re-exported for getattr by name
from .ops.index import *  # noqa: F403
from .ops.inplace import _overlap_error, apply_inplace, leaf_inplace_error
from .ops.linalg import *  # noqa: F403
from .ops.reduce import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .tensor import Tensor, bump_version

_T = Tensor


def _rev(fn):
    def r(self, other):
        return fn(other, self)
    r.__name__ = "__r" + fn.__name__ + "__"
    return r


_NO = object()


def _deprecated_overload(name: str, old: str, new: str) -> None:
    import warnings
    warnings.warn(f"This overload of {name} is deprecated:\n\t{name}({old})\nConsider using one of the following "
                  f"signatures instead:\n\t{name}({new})", UserWarning, stacklevel=3)


def _binary_inplace(ufunc, outofplace, guard=None):
    """``x.add_(y)``: straight into memory when no graph is recorded (optimizer updates), else via the graph."""
    def method(self, other, legacy_other=_NO, *, alpha=1):
        if legacy_other is not _NO:  # PyTorch's deprecated add_(Number alpha, Tensor other), in old optimizers
            _deprecated_overload(method.__name__, "Number alpha, Tensor other", "Tensor other, *, Number alpha = 1")
            other, alpha = legacy_other, other
        if guard is not None:
            guard(self, other)
        if not state.grad_enabled or not (self._requires_grad or (isinstance(other, _T) and other._requires_grad)):
            o = other._data if isinstance(other, _T) else other
            if alpha != 1:
                o = o * alpha
            d = self._data
            try:
                ufunc(d, o, out=d, casting="same_kind")
            except TypeError:
                from .dtypes import result_type
                raise RuntimeError(f"result type {result_type(self, other).name.capitalize()} can't be cast to "
                                   f"the desired output type {self.dtype.name.capitalize()}") from None
            except ValueError as e:
                if "read-only" in str(e):
                    raise _overlap_error() from None
                raise _inplace_shape_error(method.__name__, d.shape, xp.shape(o)) from None
            bump_version(self)
            return self
        if alpha != 1:
            return apply_inplace(self, outofplace, other, alpha=alpha)
        return apply_inplace(self, outofplace, other)
    method.__name__ = outofplace.__name__ + "_"
    return method


def _inplace_shape_error(name, shape, other_shape):
    try:
        msg = f"doesn't match the broadcast shape {list(xp.broadcast_shapes(shape, other_shape))}"
    except ValueError:
        msg = f"can't be broadcast together with the other operand's shape {list(other_shape)}"
    from ._source import here
    return RuntimeError(f"{name}: output with shape {list(shape)} {msg} (at {here()})")


def _div_inplace(self, other, *, rounding_mode=None):
    if rounding_mode is None and self._data.dtype.kind in "fc":
        return _binary_inplace(xp.true_divide, E.div)(self, other)
    return apply_inplace(self, E.div, other, rounding_mode=rounding_mode)


def _unary_inplace(fn):
    def method(self, *args, **kw):
        return apply_inplace(self, fn, *args, **kw)
    method.__name__ = fn.__name__ + "_"
    return method


def zero_(self):
    """Fill with zeros in place."""
    return fill_(self, 0)


def fill_(self, value):
    if isinstance(value, _T) and value._requires_grad and state.grad_enabled:
        return apply_inplace(self, lambda t, v: S.expand(v.to(t.dtype), t.shape), value)
    if self._requires_grad and self.grad_fn is None and state.grad_enabled:
        raise leaf_inplace_error("fill_", self)
    if state.grad_enabled and self._requires_grad:
        return apply_inplace(self, lambda t, v: _full_like_graph(t, v), value)
    if not self._data.flags.writeable:
        raise _overlap_error()
    self._data[...] = value._data if isinstance(value, _T) else value
    bump_version(self)
    return self


def _full_like_graph(t, v):
    # the new value does not depend on the old one: multiply by zero keeps the graph well formed
    return t * 0 + (v._data.item() if isinstance(v, _T) else v)


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast, cast) into this tensor in place; differentiable w.r.t. ``src``."""
    if not isinstance(src, _T):
        from .creation import as_tensor
        src = as_tensor(src)
    if state.grad_enabled and (self._requires_grad or src._requires_grad):
        return apply_inplace(self, _copy_value, src)
    d = self._data
    if not d.flags.writeable:
        raise _overlap_error()
    try:
        d[...] = src._data
    except ValueError:
        raise _inplace_shape_error("copy_", d.shape, src._data.shape) from None
    bump_version(self)
    return self


def _copy_value(t, src):
    out = src.to(t.dtype) if src._data.dtype != t._data.dtype else src
    if out._data.shape != t._data.shape:
        out = S.expand(out, t._data.shape)
    elif out is src:  # the result needs its own node, or t would look like a leaf
        out = S.view_as(out, out)
    if t._requires_grad:  # keep the old history connected with a zero gradient (PyTorch's CopyBackwards)
        return out + t * 0
    return out


def set_(self, source):
    """Make this tensor share ``source``'s data (no graph)."""
    self._data = source._data
    bump_version(self)
    return self


def _random_fill(draw):
    """An in-place sampler: the values go in PyTorch's TensorIterator order (memory order for a permuted
    view), from ``draw(shape, dtype, generator, contiguous, *args)``."""
    def method(self, *args, generator=None, **kw):
        if self._requires_grad and self.grad_fn is None and state.grad_enabled:
            raise leaf_inplace_error(method.__name__, self)
        arr = self._data
        if arr.size:
            view = _random.iteration_view(arr)
            vals = draw(view.shape, arr.dtype, generator, view is arr or arr.flags.c_contiguous, *args, **kw)
            if view is arr:
                arr[...] = vals
            else:
                view[...] = vals
        bump_version(self)
        return self
    method.__name__ = {"_random_int": "random_"}.get(draw.__name__, draw.__name__[1:] + "_")
    return method


def _float_only(dt, op: str) -> None:
    if dt.kind not in "fV":
        from .dtypes import as_dtype
        raise NotImplementedError(f"\"{op}\" not implemented for '{as_dtype(dt).name.capitalize()}'")


def _uniform(shape, dt, gen, contiguous, a=0.0, b=1.0, **kw):
    a, b = kw.pop("from", a), kw.pop("to", b)
    _float_only(dt, "check_uniform_bounds")
    lo, hi = _random._float_limits(dt)
    from .dtypes import as_dtype
    name = as_dtype(dt).name if dt.kind != "V" else "bfloat16"
    for v, what in ((a, "from"), (b, "to")):
        if not lo <= v <= hi:
            raise RuntimeError(f"{what} is out of bounds for {name}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    if b - a > hi:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{name}>::max(), but found to={b} and "
                           f"from={a} which result in to-from to exceed the limit")
    return _random.uniform_array(shape, a, b, dt, gen)


def _normal(shape, dt, gen, contiguous, mean=0.0, std=1.0):
    _float_only(dt, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _random.normal_array(shape, mean, std, dt, gen, contiguous)


def _random_int(shape, dt, gen, contiguous, *args, **kw):
    """``random_()``, ``random_(to)``, ``random_(from, to)``, ``random_(from=f)`` (up to the dtype's max)."""
    if len(args) > 2:
        raise TypeError(f"random_() takes at most 2 positional arguments ({len(args)} given)")
    low, high = kw.pop("from", None), kw.pop("to", None)
    if kw:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kw))}'")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if low is None:
            low, high = 0, args[0]
        else:
            high = args[0]
    if low is None and high is None:
        return _random.random_full(shape, dt, gen)
    if low is None:
        low = 0
    return _random.random_integers(shape, low, high, dt, gen)


def _bernoulli(shape, dt, gen, contiguous, p=0.5):
    if isinstance(p, _T):
        probs = xp.broadcast_to(p._data, shape)
        if probs.size and not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        return _random.bernoulli_probs(xp.ascontiguousarray(probs), dt, gen)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _random.bernoulli_array(shape, p, dt, gen)


def _exponential(shape, dt, gen, contiguous, lambd=1.0):
    _float_only(dt, "exponential_cpu")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _random.exponential_array(shape, lambd, dt, gen)


def _geometric(shape, dt, gen, contiguous, p):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _random.geometric_array(shape, p, dt, gen)


def _log_normal(shape, dt, gen, contiguous, mean=1.0, std=2.0):
    _float_only(dt, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _random.log_normal_array(shape, mean, std, dt, gen)


def _cauchy(shape, dt, gen, contiguous, median=0.0, sigma=1.0):
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    if dt.kind not in "fV":
        from .dtypes import as_dtype
        raise RuntimeError(f"Cauchy distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {as_dtype(dt)}")
    return _random.cauchy_array(shape, median, sigma, dt, gen)


def bernoulli(self, p=None, *, generator=None):
    return _random.bernoulli(self, p, generator=generator)


def _apply_py(self, fn):
    self._data[...] = xp.vectorize(fn, otypes=[self._data.dtype])(self._data)
    bump_version(self)
    return self


def _squeeze_(self, dim=None):
    self._data = S.squeeze(self.detach(), dim)._data
    return self


def _unsqueeze_(self, dim):
    self._data = S.unsqueeze(self.detach(), dim)._data
    return self


def _cum_inplace(fn):
    def method(self, dim, *, dtype=None):
        """In place, accumulating in this tensor's dtype (PyTorch's cumsum_/cumprod_)."""
        if dtype is not None and dtypes.as_dtype(dtype) != self.dtype:
            raise RuntimeError(f"Bad in-place call: input tensor dtype {dtypes.scalar_name(self.dtype).lower()} and "
                               f"output tensor dtype {dtypes.scalar_name(dtypes.as_dtype(dtype)).lower()} should "
                               f"match")
        return apply_inplace(self, lambda t: fn(t, dim, dtype=self.dtype))
    method.__name__ = fn.__name__ + "_"
    return method


def _t_(self):
    self._data = self._data.T
    return self


def _transpose_(self, dim0, dim1):
    """In place: this tensor becomes its ``transpose(dim0, dim1)`` (a metadata change, as PyTorch's)."""
    if self._requires_grad and self.grad_fn is None and state.grad_enabled:
        raise leaf_inplace_error("transpose_", self)
    nd = self._data.ndim
    a, b = S.normalize_dim(dim0, nd), S.normalize_dim(dim1, nd)
    if self._requires_grad and state.grad_enabled:  # the history continues through a transpose
        alias = Tensor._wrap(self._data)
        alias.grad_fn, alias._output_nr, alias._requires_grad = self.grad_fn, self._output_nr, True
        out = S.transpose(alias, a, b)
        self._data, self.grad_fn, self._output_nr = out._data, out.grad_fn, out._output_nr
        bump_version(self)
        return self
    if nd:
        self._data = xp.swapaxes(self._data, a, b)
    return self


def _resize_(self, *size):
    shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    n = 1
    for s in shape:
        n *= s
    flat = self._data.reshape(-1)
    if flat.size >= n:
        self._data = flat[:n].reshape(shape)
    else:
        self._data = xp.concatenate([flat, xp.zeros(n - flat.size, flat.dtype)]).reshape(shape)
    return self


def _getitem(self, idx):
    return I.getitem(self, idx)


def _setitem(self, idx, value):
    I.setitem(self, idx, value)


def _iop(fast):
    def iop(self, other):
        return fast(self, other)
    return iop


add_ = _binary_inplace(xp.add, E.add)
sub_ = _binary_inplace(xp.subtract, E.sub, E.bool_sub_guard)
mul_ = _binary_inplace(xp.multiply, E.mul)
div_ = _div_inplace

_METHODS = {
    # operators
    "__add__": E.add_, "__radd__": _rev(E.add_), "__iadd__": _iop(add_),
    "__sub__": E.sub_, "__rsub__": _rev(E.sub_), "__isub__": _iop(sub_),
    "__mul__": E.mul, "__rmul__": _rev(E.mul), "__imul__": _iop(mul_),
    "__truediv__": E.div, "__rtruediv__": _rev(E.div), "__itruediv__": _iop(div_),
    "__floordiv__": E.floor_divide, "__rfloordiv__": _rev(E.floor_divide),
    "__mod__": E.remainder, "__rmod__": _rev(E.remainder),
    "__pow__": E.pow, "__rpow__": _rev(E.pow), "__ipow__": _unary_inplace(E.pow),
    "__matmul__": L.matmul, "__rmatmul__": _rev(L.matmul),
    "__neg__": E.neg, "__pos__": lambda self: self, "__abs__": E.abs,
    "__invert__": lambda self: E.logical_not(self) if self._data.dtype == bool else E.bitwise_not(self),
    "__and__": lambda a, b: E.bitwise_and(a, b), "__or__": lambda a, b: E.bitwise_or(a, b),
    "__xor__": lambda a, b: E.bitwise_xor(a, b),
    "__lshift__": M.bitwise_left_shift, "__rshift__": M.bitwise_right_shift,
    "__rlshift__": _rev(M.bitwise_left_shift), "__rrshift__": _rev(M.bitwise_right_shift),
    "__ilshift__": _unary_inplace(M.bitwise_left_shift), "__irshift__": _unary_inplace(M.bitwise_right_shift),
    "__rand__": lambda a, b: E.bitwise_and(b, a), "__ror__": lambda a, b: E.bitwise_or(b, a),
    "__rxor__": lambda a, b: E.bitwise_xor(b, a),
    "__iand__": _unary_inplace(E.bitwise_and), "__ior__": _unary_inplace(E.bitwise_or),
    "__ixor__": _unary_inplace(E.bitwise_xor),
    "__eq__": E.eq, "__ne__": E.ne, "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt, "__ge__": E.ge,
    "__getitem__": _getitem, "__setitem__": _setitem,
    # in-place
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "subtract_": sub_, "multiply_": mul_,
    "divide_": div_, "true_divide_": div_,
    "zero_": zero_, "fill_": fill_, "copy_": copy_, "set_": set_,
    "uniform_": _random_fill(_uniform), "normal_": _random_fill(_normal), "random_": _random_fill(_random_int),
    "bernoulli_": _random_fill(_bernoulli), "exponential_": _random_fill(_exponential),
    "geometric_": _random_fill(_geometric), "log_normal_": _random_fill(_log_normal),
    "cauchy_": _random_fill(_cauchy),
    "apply_": _apply_py, "map_": lambda self, other, fn: _apply_py(self, fn),
    "squeeze_": _squeeze_, "unsqueeze_": _unsqueeze_, "t_": _t_, "resize_": _resize_,
    "transpose_": _transpose_, "swapaxes_": _transpose_, "swapdims_": _transpose_,
    "cumsum_": _cum_inplace(R.cumsum), "cumprod_": _cum_inplace(R.cumprod),
    "index_put_": I.index_put_,
    # not straightforward names
    "bernoulli": bernoulli, "multinomial": _random.multinomial,
    "view_as": S.view_as, "reshape_as": S.reshape_as,
    "T": property(S.T), "mT": property(S.mT), "H": property(lambda self: _conj(S.T(self))),
    "mH": property(lambda self: _conj(S.mT(self))), "adjoint": lambda self: _conj(S.mT(self)),
}

def _conj(t):
    """Conjugate for the Hermitian transposes (``.H``, ``.mH``); real tensors pass as they are."""
    if t._data.dtype.kind != "c":
        return t
    from .ops.math import conj
    return conj(t)


_INPLACE_FROM = ["pow", "neg", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin",
                 "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "reciprocal", "abs",
                 "relu", "sign", "floor", "ceil", "trunc", "frac", "round", "clamp", "clip", "clamp_min",
                 "clamp_max", "masked_fill", "masked_scatter", "index_fill", "index_copy", "index_add", "scatter",
                 "scatter_add", "scatter_reduce", "lerp", "addcmul", "addcdiv", "fmod", "remainder",
                 "floor_divide", "square", "maximum", "minimum", "erf", "nan_to_num", "tril", "triu", "atan2",
                 "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "bitwise_not", "asinh", "acosh", "atanh", "eq", "ne", "lt", "le", "gt", "ge",
                 "xlogy", "sgn", "addr", "renorm", "index_reduce", "addmm", "addmv", "baddbmm", "addbmm", "put"]

_PLAIN = [
    # elementwise
    "add", "sub", "mul", "div", "true_divide", "divide", "floor_divide", "remainder", "fmod", "pow", "neg",
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos",
    "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf", "reciprocal", "abs", "relu",
    "sign", "sgn", "floor", "ceil", "trunc", "frac", "round", "clamp", "clip", "clamp_min", "clamp_max", "square",
    "maximum", "minimum", "atan2", "lerp", "addcmul", "addcdiv", "xlogy", "nan_to_num", "rsub",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "isclose", "allclose",
    "equal", "subtract", "multiply",
    # reductions
    "sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
    "var", "std", "var_mean", "std_mean", "norm", "logsumexp", "all", "any", "count_nonzero", "cumsum",
    "cumprod", "cummax", "cummin", "logcumsumexp", "softmax", "log_softmax",
    # shape
    "reshape", "view", "flatten", "unflatten", "ravel", "permute", "transpose", "swapaxes", "swapdims", "t",
    "movedim", "moveaxis", "squeeze", "unsqueeze", "expand", "expand_as", "broadcast_to", "repeat", "tile",
    "repeat_interleave", "flip", "fliplr", "flipud", "roll", "rot90", "split", "chunk", "tensor_split", "unbind",
    "narrow", "select", "tril", "triu", "contiguous", "clone", "diagonal", "diag", "diag_embed", "trace",
    "unfold",
    # index
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy", "index_reduce",
    "put",
    "index_fill", "index_put", "masked_fill", "masked_select", "masked_scatter", "take", "take_along_dim",
    "nonzero", "argwhere", "sort", "argsort", "msort", "topk", "kthvalue", "median", "unique", "bincount",
    "where", "nanmedian", "mode", "quantile", "nanquantile", "unique_consecutive", "histc", "histogram",
    # combine, stats (ops/combine.py, ops/stats.py)
    "diff", "cov", "corrcoef", "kron", "hsplit", "vsplit", "dsplit", "diagflat", "adjoint",
    # linalg
    "matmul", "mm", "bmm", "mv", "dot", "inner", "vdot", "outer", "ger", "addmm", "addmv", "baddbmm", "addbmm",
    "inverse", "det", "logdet", "slogdet", "pinverse", "cholesky", "cholesky_solve", "cholesky_inverse", "qr",
    "svd", "lu", "lu_solve", "matrix_power", "matrix_exp", "triangular_solve", "geqrf", "ormqr", "orgqr", "cross",
    "addr", "dist", "renorm", "eig", "symeig", "lstsq",
    # more math
    "hypot", "copysign", "logaddexp", "logaddexp2", "fmax", "fmin", "gcd", "lcm", "bitwise_left_shift",
    "bitwise_right_shift", "ldexp", "float_power", "nextafter", "heaviside", "i0", "deg2rad", "rad2deg", "conj",
    "conj_physical", "resolve_conj", "resolve_neg", "angle", "isreal", "positive", "arccosh", "arcsinh",
    "arctanh", "arctan2", "igamma", "igammac", "is_conj", "is_neg", "frexp", "is_signed",
]

_INPLACE_MORE = ["hypot", "copysign", "gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift", "ldexp",
                 "float_power", "nextafter", "heaviside", "i0", "deg2rad", "rad2deg", "conj_physical", "arccosh",
                 "arcsinh", "arctanh", "arctan2", "igamma", "igammac", "absolute", "negative", "fix", "arccos",
                 "arcsin", "arctan", "greater", "greater_equal", "less", "less_equal", "not_equal"]

_MODULES = (E, R, S, I, L, M, SO, CB, ST)


def _lookup(name):
    for m in _MODULES:
        f = getattr(m, name, None)
        if f is not None and callable(f):
            return f
    raise AttributeError(name)


def _special():
    from . import special  # imported on first use: it pulls in the distributions' special functions
    return special


def _special_method(name):
    def method(self, *args, **kw):
        return getattr(_special(), name)(self, *args, **kw)
    method.__name__ = name
    return method


def _set_part(which):
    def setter(self, value):
        part = getattr(M, which)(self)
        part.copy_(value) if which == "real" and self._data.dtype.kind != "c" else None
        if self._data.dtype.kind == "c":
            v = value._data if isinstance(value, _T) else value
            setattr(self._data, which, v)
            bump_version(self)
    return setter


def install() -> None:
    for name in _PLAIN:
        setattr(Tensor, name, _lookup(name))
    Tensor.where = lambda self, condition, other: I.where(condition, self, other)
    from . import _toplevel as TL
    for name in ("is_same_size", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk",
                 "nonzero_static", "hardshrink", "prelu", "diagonal_scatter", "select_scatter", "slice_scatter",
                 "hash_tensor"):
        setattr(Tensor, name, getattr(TL, name))
    from ._tensor_extras import METHODS as _EXTRAS
    for name, fn in _EXTRAS.items():
        setattr(Tensor, name, fn)
    Tensor.resize_as_ = lambda self, the_template, *, memory_format=None: _resize_(self, *the_template.shape)
    Tensor.repeat_interleave = lambda self, repeats, dim=None, *, output_size=None: S.repeat_interleave(
        self, repeats, dim, output_size=output_size)
    for name in _INPLACE_FROM:
        setattr(Tensor, name + "_", _unary_inplace(_lookup(name)))
    for name, fn in _METHODS.items():
        setattr(Tensor, name, fn)
    Tensor.absolute = Tensor.abs
    Tensor.arccos, Tensor.arcsin, Tensor.arctan = Tensor.acos, Tensor.asin, Tensor.atan
    Tensor.negative = Tensor.neg
    Tensor.fix = Tensor.trunc
    Tensor.concat = None
    del Tensor.concat
    for name, target in (("lgamma", "gammaln"), ("digamma", "digamma"), ("erfinv", "erfinv"), ("erfc", "erfc"),
                         ("logit", "logit"), ("sinc", "sinc")):
        setattr(Tensor, name, _special_method(target))
    Tensor.polygamma = lambda self, n: _special().polygamma(n, self)
    Tensor.polygamma_ = lambda self, n: apply_inplace(self, lambda t: _special().polygamma(n, t))
    Tensor.mvlgamma = lambda self, p: _special().multigammaln(self, p)
    Tensor.mvlgamma_ = lambda self, p: apply_inplace(self, lambda t: _special().multigammaln(t, p))
    for name in ("lgamma", "digamma", "erfinv", "erfc", "logit", "sinc"):
        setattr(Tensor, name + "_", _unary_inplace(getattr(Tensor, name)))
    for name in _INPLACE_MORE:
        setattr(Tensor, name + "_", _unary_inplace(getattr(Tensor, name)))
    Tensor.float_power_ = M.float_power_
    Tensor.real = property(M.real, _set_part("real"))
    Tensor.imag = property(M.imag, _set_part("imag"))
    _install_deprecated_overloads()
    # __eq__ is defined, so hashing must be restated: tensors hash by identity, as in PyTorch
    Tensor.__hash__ = object.__hash__


def _install_deprecated_overloads() -> None:
    """PyTorch still accepts the pre-1.5 forms ``x.add(alpha, other)``, ``x.addcmul_(value, t1, t2)`` (with a
    deprecation warning); optimizers copied from old code use them."""
    def scaled(fn, name):
        def method(self, other, *args, **kw):
            if args and not isinstance(other, _T) and isinstance(args[0], _T):
                _deprecated_overload(name, "Number alpha, Tensor other", "Tensor other, *, Number alpha = 1")
                return fn(self, args[0], alpha=other, **kw)
            return fn(self, other, *args, **kw)
        method.__name__ = name
        return method

    def valued(fn, name):
        def method(self, *args, **kw):
            if len(args) == 3 and not isinstance(args[0], _T):
                _deprecated_overload(name, "Number value, Tensor tensor1, Tensor tensor2",
                                     "Tensor tensor1, Tensor tensor2, *, Number value = 1")
                return fn(self, args[1], args[2], value=args[0], **kw)
            return fn(self, *args, **kw)
        method.__name__ = name
        return method

    for name in ("add", "sub"):
        setattr(Tensor, name, scaled(getattr(Tensor, name), name))
    for name in ("addcmul", "addcdiv", "addcmul_", "addcdiv_"):
        setattr(Tensor, name, valued(getattr(Tensor, name), name))


install()
