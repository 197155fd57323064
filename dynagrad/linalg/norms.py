"""Norms: ``vector_norm`` (a primitive with PyTorch's subgradients: 0 where the 2-norm is 0, the sign for
the 1-norm, the gradient shared among the maxima for the inf-norm), ``matrix_norm``, ``norm`` and ``cond``.
"""
from __future__ import annotations

import math
import numbers

from ..backend import xp
from ..tensor import Tensor
from ._common import LinalgOp, check_float, check_matrix, check_tensor, scalar_name, write_out


def _axes(dim, ndim):
    """None (every axis) or a sorted tuple of non-negative axes; PyTorch's errors for bad dims."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) == 0:
        return None
    nd = max(ndim, 1)
    out = []
    for d in dims:
        if not -nd <= d < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})")
        out.append(d % nd)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else None


def _regrow(x: Tensor, ndim: int, axes, keepdim: bool) -> Tensor:
    if keepdim or ndim == 0:
        return x
    if axes is None:
        return x.reshape((1,) * ndim)
    for a in axes:
        x = x.unsqueeze(a)
    return x


def _vector_norm_array(a, ord_, axes, keepdim):
    x = xp.abs(a)
    rt = x.dtype
    with xp.errstate(all="ignore"):
        if ord_ == 2:
            r = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
        elif ord_ == 1:
            r = x.sum(axis=axes, keepdims=keepdim)
        elif ord_ == math.inf:
            r = x.max(axis=axes, keepdims=keepdim)
        elif ord_ == -math.inf:
            r = x.min(axis=axes, keepdims=keepdim)
        elif ord_ == 0:
            r = (x != 0).sum(axis=axes, keepdims=keepdim)
        else:
            r = (x ** rt.type(ord_)).sum(axis=axes, keepdims=keepdim) ** rt.type(1.0 / ord_)
    return xp.asarray(r, dtype=rt)


class LinalgVectorNormBackward0(LinalgOp):
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, a, ord, axes, keepdim):  # noqa: A002
        if ctx is not None:
            ctx.ord, ctx.axes, ctx.keepdim, ctx.ndim = ord, axes, keepdim, a.ndim
        return _vector_norm_array(a, ord, axes, keepdim)

    def vjp(self, g, x, norm):
        p, nd = self.ord, self.ndim
        if p == 0:
            return (None,)
        g = _regrow(g, nd, self.axes, self.keepdim)
        norm = _regrow(norm, nd, self.axes, self.keepdim)
        sgn = x.sgn()
        ax = self.axes if self.axes is not None else tuple(range(nd))
        if p == 1:
            return (sgn * g,)
        if p == 2:
            ratio = (x / norm).masked_fill(norm == 0, 0)
            return (g * ratio,)
        if math.isinf(p):
            xa = x.abs()
            mask = (xa == norm).logical_or(xa.isnan())
            mf = mask.to(g.dtype)
            count = mf.sum(ax, keepdim=True) if nd else mf
            return (sgn * ((g / count) * mf),)
        xa = x.abs()
        if p < 1:
            scaled = sgn * (xa ** (p - 1)).masked_fill(x == 0, 0)
            return (scaled * g * norm ** (1 - p),)
        if p < 2:
            scaled = sgn * xa ** (p - 1)
        else:
            scaled = x * xa ** (p - 2)
        scale = (g / norm ** (p - 1)).masked_fill(norm == 0, 0)
        return (scaled * scale,)


def _ord_value(ord, fn):  # noqa: A002
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"{fn}(): argument 'ord' must be Number, not {type(ord).__name__}")
    return float(ord)


def _cast(x: Tensor, dtype, fn):
    if dtype is None:
        return x
    from ..dtypes import as_dtype
    dt = as_dtype(dtype)
    if x.is_complex() and not dt.is_complex:
        raise RuntimeError(f"{fn}: dtype should be complex for complex inputs, but got {_dt_name(dt)}")
    if not x.is_complex() and dt.is_complex:
        raise RuntimeError(f"{fn}: dtype should be real for real inputs, but got {_dt_name(dt)}")
    return x.to(dt)


def _dt_name(dt):
    from ._common import _SCALAR_NAMES
    return _SCALAR_NAMES.get(dt.name, dt.name)


def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *, dtype=None,  # noqa: A002
                out=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements by default): ``sum(|x|^ord)^(1/ord)``, with inf,
    -inf (max, min of ``|x|``) and 0 (the number of nonzeros). The result is real.

    >>> import dynagrad
    >>> dynagrad.linalg.vector_norm(dynagrad.tensor([3., -4.]))
    tensor(5.)
    >>> dynagrad.linalg.vector_norm(dynagrad.tensor([3., -4.]), ord=float('inf'))
    tensor(4.)
    """
    fn = "linalg.vector_norm"
    check_tensor(x, "linalg_vector_norm", "input")
    p = _ord_value(ord, "linalg_vector_norm")
    if x._data.dtype.kind not in "fcV":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {scalar_name(x)}")
    x = _cast(x, dtype, fn)
    axes = _axes(dim, x._data.ndim)
    if (p < 0 or math.isinf(p)) and x._data.size == 0:
        sizes = x._data.shape if axes is None else [x._data.shape[a] for a in axes]
        if axes is None or 0 in sizes:
            shown = "inf" if p == math.inf else ("-inf" if p == -math.inf else f"{p:g}")
            raise RuntimeError(f"{fn} cannot compute the {shown} norm on an empty tensor because the operation "
                               f"does not have an identity")
    half = x._data.dtype.kind == "V" or x._data.dtype.itemsize == 2
    y = x.float() if half else x
    res = LinalgVectorNormBackward0.apply(y, ord=p, axes=axes, keepdim=bool(keepdim))
    if half:
        res = res.to(x.dtype)
    return write_out(res, out)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def _matrix_dims(dim, ndim, fn):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (_axes(d, ndim)[0] for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,  # noqa: A002
                out=None) -> Tensor:
    """A matrix norm over the two dims ``dim``: 'fro' (Frobenius), 'nuc' (nuclear), 2 / -2 (largest /
    smallest singular value), 1 / -1 (max / min column sum of ``|A|``), inf / -inf (row sums).

    >>> import dynagrad
    >>> A = dynagrad.tensor([[1., -2.], [3., 4.]])
    >>> dynagrad.linalg.matrix_norm(A, ord=1), dynagrad.linalg.matrix_norm(A, ord=float('inf'))
    (tensor(6.), tensor(7.))
    """
    fn = "linalg.matrix_norm"
    check_tensor(A, "linalg_matrix_norm", "input")
    check_matrix(A, fn)
    ord_ = ord if isinstance(ord, str) else _ord_value(ord, "linalg_matrix_norm")
    if ord_ not in _MATRIX_ORDS:
        shown = ord if isinstance(ord, str) else (f"{ord_:g}" if not ord_.is_integer() else str(int(ord_)))
        raise RuntimeError(f"{fn}: Order {shown} not supported.")
    if A._data.dtype.kind not in "fcV":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {scalar_name(A)}")
    A = _cast(A, dtype, fn)
    nd = A._data.ndim
    d0, d1 = _matrix_dims(dim, nd, fn)
    if ord_ != "fro" and A._data.size == 0:  # PyTorch gives 0 for the norms of empty matrices
        shape = [s for i, s in enumerate(A._data.shape) if i not in (d0, d1) or keepdim]
        if keepdim:
            shape = [1 if i in (d0, d1) else s for i, s in enumerate(A._data.shape)]
        rt = xp.finfo(A._data.dtype).dtype
        from ..ops.elementwise import _zero_grad_like
        return write_out(_zero_grad_like(Tensor._wrap(xp.zeros(shape, rt)), A), out)
    if ord_ == "fro":
        return write_out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if ord_ in ("nuc", 2, -2):
        from .decompositions import svdvals
        check_float(A, fn)
        rest = [d for d in range(nd) if d not in (d0, d1)]
        s = svdvals(A.permute(*(rest + [d0, d1])))
        res = s.sum(-1) if ord_ == "nuc" else (s.amax(-1) if ord_ == 2 else s.amin(-1))
        if keepdim:
            for d in sorted((d0, d1)):
                res = res.unsqueeze(d)
        return write_out(res, out)
    # 1 / -1: max / min over columns of the sums down the rows (inf / -inf: the other way around)
    sum_dim, red_dim = (d0, d1) if abs(ord_) == 1 else (d1, d0)
    s = A.abs().sum(sum_dim, keepdim=True)
    res = s.amax(red_dim, keepdim=True) if ord_ > 0 else s.amin(red_dim, keepdim=True)
    if not keepdim:
        res = res.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    return write_out(res, out)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, out=None, dtype=None) -> Tensor:  # noqa: A002
    """A vector norm (``dim`` an int, or ``A`` 1-D) or a matrix norm (``dim`` a pair, or ``A`` 2-D); with
    neither ``ord`` nor ``dim``, the 2-norm of all elements.

    >>> import dynagrad
    >>> dynagrad.linalg.norm(dynagrad.tensor([[1., 2.], [2., 4.]]))
    tensor(5.)
    >>> dynagrad.linalg.norm(dynagrad.tensor([[1., 2.], [2., 4.]]), ord=2)
    tensor(5.)
    """
    check_tensor(A, "linalg_norm", "input")
    if dim is not None and not isinstance(dim, int) and len(dim) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
        if A._data.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {A._data.ndim}D.")
        dim = (0,) if A._data.ndim == 1 else (0, 1)
    if isinstance(dim, int) or len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim, dtype=dtype, out=out)


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """The condition number of ``A`` in the norm ``p``: the ratio of the extreme singular values for None, 2,
    -2 (any matrix); ``norm(A) * norm(inv(A))`` otherwise (square ``A``; inf when it is singular).

    >>> import dynagrad
    >>> dynagrad.linalg.cond(dynagrad.tensor([[2., 0.], [0., 0.5]]))
    tensor(4.)
    """
    fn = "linalg.cond"
    check_tensor(A, "linalg_cond", "input")
    check_matrix(A, fn)
    check_float(A, fn)
    if p in (None, 2, -2):
        from .decompositions import svdvals
        s = svdvals(A)
        if A._data.shape[-1] == 0 or A._data.shape[-2] == 0:
            return write_out(Tensor._wrap(xp.zeros(A._data.shape[:-2], s._data.dtype)), out)
        res = s[..., 0] / s[..., -1] if p in (None, 2) else s[..., -1] / s[..., 0]
        return write_out(res, out)
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are {m} by {n} "
                           f"matrices")
    from .solvers import inv_ex
    inverse, info = inv_ex(A)
    res = matrix_norm(A, p) * matrix_norm(inverse, p)
    singular = xp.asarray(info._data) > 0
    if singular.any():
        inf = Tensor._wrap(xp.asarray(xp.inf, res._data.dtype))
        from ..ops.index import where
        res = where(Tensor._wrap(singular), inf, res)
    return write_out(res, out)
