"""Sparse COO tensors: ``indices`` (sparse_dim x nnz, int64) and ``values`` (nnz x dense dims).

A sparse tensor is a ``Tensor`` whose data are its ``_indices`` array and its ``_values`` Tensor. Everything
differentiable is computed on ``_values`` with ordinary graph ops, so gradients reach whatever the values
came from (``sparse_coo_tensor(i, v)`` with ``v.requires_grad``, ``dense.to_sparse()``) and the engine never
sees a sparse tensor. Ops a sparse tensor does not support raise NotImplementedError naming the op, as in
PyTorch, instead of computing on the placeholder that stands in its ``_data`` slot.

Two primitives carry the gradient code: ``ToSparseBackward0`` (read values at index positions) and
``ToDenseBackward0`` (sum values into positions), each the other's transpose, plus the product
``SparseAddmmBackward0`` (sparse @ dense).
"""
from __future__ import annotations

from typing import Any

from .. import _source, dtypes
from .._device import _check_device, device
from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..tensor import Tensor

_new = object.__new__


def _unsupported(what: str | None = None) -> NotImplementedError:
    if what is None:  # raised from the placeholder: name the function the user called
        name = _source.entry_function()
        generic = name is None or name.startswith("_") or name in ("fn", "f", "op", "wrapper", "inner", "<lambda>")
        what = "This operation" if generic else f"torch.{name}"
    return NotImplementedError(f"{what} is not supported for sparse COO tensors (layout=torch.sparse_coo) in "
                               f"dynagrad; convert with .to_dense() first (at {_source.here()})")


# -- primitives ---------------------------------------------------------------------------------------------

class ToSparseBackward0(Op):
    """``x[idx]`` for a static tuple of index arrays (reading the values of a sparse tensor from a dense one)."""

    def forward(ctx, x, *, idx, shape):
        if ctx is not None:
            ctx.idx, ctx.shape = idx, shape
        return x[idx]

    def backward(self, g):
        if D.is_array(g):
            out = xp.zeros(self.shape, g.dtype)
            xp.add.at(out, self.idx, g)
            return (out,)
        return (ToDenseBackward0.apply(g, idx=self.idx, shape=self.shape),)


class ToDenseBackward0(Op):
    """A ``shape`` array of zeros with ``v`` summed in at ``idx`` (densifying, coalescing, sparse sums)."""

    def forward(ctx, v, *, idx, shape):
        if ctx is not None:
            ctx.idx, ctx.shape = idx, shape
        out = xp.zeros(shape, v.dtype)
        xp.add.at(out, idx, v)
        return out

    def backward(self, g):
        if D.is_array(g):
            return (g[self.idx],)
        return (ToSparseBackward0.apply(g, idx=self.idx, shape=tuple(g.shape)),)


def _gather(x: Tensor, idx: tuple) -> Tensor:
    return ToSparseBackward0.apply(x, idx=idx, shape=tuple(x.shape))


def _scatter_add(v: Tensor, idx: tuple, shape: tuple) -> Tensor:
    return ToDenseBackward0.apply(v, idx=idx, shape=shape)


class SparseAddmmBackward0(Op):
    """``S @ M`` for a 2-D sparse S given by ``rows``, ``cols`` and values ``v`` (nnz,), and dense M (m, k)."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, v, m, *, rows, cols, n):
        if ctx is not None:
            ctx.rows, ctx.cols, ctx.n, ctx.m = rows, cols, n, m.shape[0]
        out = xp.zeros((n,) + m.shape[1:], xp.result_type(v.dtype, m.dtype))
        contrib = m[cols] * (v.reshape((-1,) + (1,) * (m.ndim - 1)))
        xp.add.at(out, rows, contrib)
        return out

    def backward(self, g, v, m):
        rows, cols = self.rows, self.cols
        gv = gm = None
        if D.is_array(g):
            if self.edges[0][0] is not None:
                gv = (g[rows] * m[cols]).reshape(len(rows), -1).sum(axis=1)
            if self.edges[1][0] is not None:
                gm = xp.zeros((self.m,) + g.shape[1:], g.dtype)
                xp.add.at(gm, cols, g[rows] * v.reshape((-1,) + (1,) * (g.ndim - 1)))
            return gv, gm
        if self.edges[0][0] is not None:
            prod = _gather(g, (rows,)) * _gather(m, (cols,))
            gv = prod.reshape(len(rows), -1).sum(1)
        if self.edges[1][0] is not None:
            gm = SparseAddmmBackward0.apply(v, g, rows=cols, cols=rows, n=self.m)
        return gv, gm


# -- the tensor ----------------------------------------------------------------------------------------------

class _SparseDtype:
    """``_data.dtype`` of a sparse tensor: equal to no NumPy dtype, so dense fast paths step aside; any other
    use raises the clear NotImplementedError."""

    __slots__ = ()

    def __eq__(self, other) -> bool:
        return False

    def __ne__(self, other) -> bool:
        return True

    __hash__ = object.__hash__

    def __getattr__(self, name: str):
        if name.startswith("__"):  # protocol probes (copy, inspect, pickle) get the usual answer
            raise AttributeError(name)
        raise _unsupported()


_SPARSE_DTYPE = _SparseDtype()


class _SparsePlaceholder:
    """Stands in a sparse tensor's ``_data`` slot: shape and rank are real; reading data (NumPy ufuncs,
    functions, methods) raises NotImplementedError."""

    __slots__ = ("shape", "ndim", "size")
    dtype = _SPARSE_DTYPE

    def __init__(self, shape: tuple) -> None:
        self.shape = shape
        self.ndim = len(shape)
        n = 1
        for s in shape:
            n *= s
        self.size = n

    def __array__(self, *args, **kwargs):
        raise _unsupported()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise _unsupported()

    def __array_function__(self, func, types, args, kwargs):
        raise _unsupported()

    def __getattr__(self, name: str):
        if name.startswith("__"):  # protocol probes (copy, inspect, pickle) get the usual answer
            raise AttributeError(name)
        raise _unsupported()

    def _fail(self, *args, **kwargs):
        raise _unsupported()

    __getitem__ = __setitem__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __pow__ = __lt__ = __gt__ = _fail
    __le__ = __ge__ = __iter__ = __len__ = __float__ = __int__ = __bool__ = __abs__ = _fail


class SparseCooTensor(Tensor):
    """A sparse COO tensor (``layout=torch.sparse_coo``); build one with ``torch.sparse_coo_tensor`` or
    ``dense.to_sparse()``.

    >>> import dynagrad as torch
    >>> s = torch.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    >>> s.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 5.]])
    >>> (s @ torch.ones(3, 1)).flatten()
    tensor([3., 9.])
    """

    __slots__ = ("_indices_arr", "_vals", "_coalesced")

    # -- construction ------------------------------------------------------------------------------------
    @staticmethod
    def _make(indices, values: Tensor, shape: tuple, coalesced: bool = False) -> SparseCooTensor:
        """No checks: ``indices`` an int64 array (sparse_dim, nnz), ``values`` a Tensor (nnz, *dense)."""
        t = _new(SparseCooTensor)
        t._data = _SparsePlaceholder(tuple(int(s) for s in shape))
        t._requires_grad = False  # never an input the engine records; gradients go through _vals
        t._output_nr = 0
        t._vc = [0, None]
        t._base = None
        t._hooks = None
        t._post_hooks = None
        t._indices_arr = indices
        t._vals = values
        t._coalesced = coalesced
        return t

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("build sparse tensors with torch.sparse_coo_tensor(indices, values, size) or "
                        "tensor.to_sparse()")

    # -- metadata ---------------------------------------------------------------------------------------
    @property
    def dtype(self) -> dtypes.dtype:
        return self._vals.dtype

    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def is_sparse_csr(self) -> bool:
        return False

    @property
    def layout(self):
        from .._device import sparse_coo
        return sparse_coo

    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> SparseCooTensor:
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._vals.grad_fn

    @grad_fn.setter
    def grad_fn(self, value) -> None:
        pass  # the graph lives on the values

    @property
    def is_leaf(self) -> bool:
        return self._vals.is_leaf

    @property
    def grad(self):
        """For a sparse leaf: the gradient as a sparse tensor with this tensor's (coalesced) pattern."""
        g = self._vals.grad
        if g is None:
            return None
        # (marked uncoalesced, as PyTorch marks the gradient it accumulates, though its entries are unique)
        if self._coalesced:
            return SparseCooTensor._make(self._indices_arr, g, self.shape, False)
        # every duplicate of an entry has the entry's gradient: take one per coalesced position
        uniq, first = xp.unique(self._linear(), return_index=True)
        idx = xp.stack(xp.unravel_index(uniq, self.shape[:self.sparse_dim()])).astype(xp.int64)
        return SparseCooTensor._make(idx, Tensor._wrap(g._data[first]), self.shape, False)

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._vals.grad = None
        else:
            raise _unsupported("Assigning .grad")

    @property
    def data(self) -> SparseCooTensor:
        return self.detach()

    def sparse_dim(self) -> int:
        return self._indices_arr.shape[0]

    def dense_dim(self) -> int:
        return self._vals.ndim - 1

    def _nnz(self) -> int:
        return self._indices_arr.shape[1]

    def is_coalesced(self) -> bool:
        return self._coalesced

    def is_contiguous(self, memory_format=None) -> bool:
        return False

    def stride(self, dim=None):
        raise RuntimeError("Sparse CPU tensors do not have strides")

    def element_size(self) -> int:
        return self._vals.element_size()

    @property
    def itemsize(self) -> int:
        return self._vals.element_size()

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        from .._tensortype import resolve, type_name
        if dtype is None:
            return type_name(self)
        dt, cuda, sparse = resolve(dtype)
        if cuda:
            raise RuntimeError(f"Cannot initialize CUDA without ATen_cuda library: {dtype} needs a CUDA build")
        out = self.to(dt)
        return out if sparse else out.to_dense()

    # -- indices and values ----------------------------------------------------------------------------
    def _indices(self) -> Tensor:
        return Tensor._wrap(self._indices_arr)

    def _values(self) -> Tensor:
        return self._vals

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return Tensor._wrap(self._indices_arr)

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._vals

    def _linear(self):
        """Each entry's position as one integer (row-major over the sparse dims)."""
        sizes = self.shape[:self.sparse_dim()]
        return xp.ravel_multi_index(tuple(self._indices_arr), sizes) if len(sizes) else \
            xp.zeros(self._nnz(), xp.int64)

    def coalesce(self) -> SparseCooTensor:
        """Sort the entries and sum duplicates (differentiable in the values)."""
        if self._coalesced:
            return self
        sizes = self.shape[:self.sparse_dim()]
        lin = self._linear()
        uniq, inverse = xp.unique(lin, return_inverse=True)
        idx = xp.stack(xp.unravel_index(uniq, sizes)).astype(xp.int64) if len(sizes) else \
            xp.zeros((0, len(uniq)), xp.int64)
        vals = _scatter_add(self._vals, (inverse.reshape(-1),), (len(uniq),) + tuple(self._vals.shape[1:]))
        return SparseCooTensor._make(idx.reshape(len(sizes), -1), vals, self.shape, True)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (duplicates summed); gradients flow back to the values."""
        out = _scatter_add(self._vals, tuple(self._indices_arr), tuple(self.shape))
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None) -> SparseCooTensor:
        from .._device import sparse_coo
        if layout is not None and layout is not sparse_coo:
            raise _unsupported(f"to_sparse(layout={layout})")
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(f"to_sparse: conversion from Sparse to Sparse with sparse_dim argument != "
                               f"self.sparse_dim() is not supported (got {sparse_dim}, have {self.sparse_dim()})")
        return self

    to_sparse_coo = to_sparse

    # -- conversion ---------------------------------------------------------------------------------------
    def detach(self) -> SparseCooTensor:
        return SparseCooTensor._make(self._indices_arr, self._vals.detach(), self.shape, self._coalesced)

    def clone(self, *, memory_format=None) -> SparseCooTensor:
        return SparseCooTensor._make(self._indices_arr.copy(), self._vals.clone(), self.shape, self._coalesced)

    def to(self, *args, **kwargs) -> SparseCooTensor:
        dt = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, dtypes.dtype):
                dt = a
            elif isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, (str, device, int)) and not isinstance(a, bool):
                dev = a
        if dev is not None:
            _check_device(dev)
        vals = self._vals if dt is None else self._vals.to(dtypes.as_dtype(dt))
        if vals is self._vals and not copy:
            return self
        return SparseCooTensor._make(self._indices_arr, vals.clone() if copy and vals is self._vals else vals,
                                     self.shape, self._coalesced)

    def cpu(self) -> SparseCooTensor:
        return self

    def float(self) -> SparseCooTensor:  # noqa: A003
        return self.to(dtypes.float32)

    def double(self) -> SparseCooTensor:
        return self.to(dtypes.float64)

    def half(self) -> SparseCooTensor:
        return self.to(dtypes.float16)

    def long(self) -> SparseCooTensor:
        return self.to(dtypes.int64)

    def int(self) -> SparseCooTensor:  # noqa: A003
        return self.to(dtypes.int32)

    def bool(self) -> SparseCooTensor:  # noqa: A003
        return self.to(dtypes.bool)

    def numpy(self, *, force: bool = False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def tolist(self):
        raise _unsupported("tolist()")

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self.to_dense().item()

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __reduce_ex__(self, protocol):
        return (_rebuild_sparse, (self._indices_arr, self._vals, tuple(self.shape), self._coalesced))

    def __deepcopy__(self, memo):
        import copy
        new = SparseCooTensor._make(self._indices_arr.copy(), copy.deepcopy(self._vals, memo), self.shape,
                                    self._coalesced)
        memo[id(self)] = new
        return new

    def __repr__(self) -> str:
        from ._printing import sparse_repr
        return sparse_repr(self)

    __str__ = __repr__

    # -- arithmetic ---------------------------------------------------------------------------------------
    def _with_values(self, vals: Tensor, coalesced: bool | None = None) -> SparseCooTensor:
        return SparseCooTensor._make(self._indices_arr, vals, self.shape,
                                     self._coalesced if coalesced is None else coalesced)

    def _same_shape(self, other: Tensor, op: str) -> None:
        if tuple(other.shape) != tuple(self.shape):
            raise RuntimeError(f"{op}: expected sizes to match, but got {list(self.shape)} and {list(other.shape)} "
                               f"(at {_source.here()})")

    def add(self, other, *, alpha=1):
        if isinstance(other, SparseCooTensor):
            self._same_shape(other, "add")
            other_vals = other._vals if alpha == 1 else other._vals * alpha
            dt = dtypes.promote_types(self.dtype, other.dtype)
            if self._indices_arr is other._indices_arr:  # one pattern (as PyTorch: the same indices tensor)
                return self._with_values(self._vals.to(dt) + other_vals.to(dt))
            from ..ops.shape import cat
            vals = cat([self._vals.to(dt), other_vals.to(dt)])
            out = SparseCooTensor._make(xp.concatenate([self._indices_arr, other._indices_arr], axis=1), vals,
                                        self.shape, False)
            return out.coalesce() if self._coalesced and other._coalesced else out
        if isinstance(other, Tensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        raise _unsupported("Adding a number to a sparse tensor (it would be dense)")

    def __add__(self, other):
        return self.add(other)

    def __radd__(self, other):
        if isinstance(other, Tensor):  # dense + sparse is dense
            self._same_shape(other, "add")
            return other + self.to_dense()
        return self.add(other)

    def sub(self, other, *, alpha=1):
        return self.add(other, alpha=-alpha)

    def __sub__(self, other):
        return self.add(other, alpha=-1)

    def __rsub__(self, other):
        if isinstance(other, Tensor):
            self._same_shape(other, "sub")
            return other - self.to_dense()
        raise _unsupported("Subtracting a sparse tensor from a number")

    def mul(self, other):
        if isinstance(other, SparseCooTensor):
            return (self.to_dense() * other.to_dense()).to_sparse()
        if isinstance(other, Tensor) and other.ndim:
            from ..ops.elementwise import mul as dense_mul
            c = self.coalesce()
            picked = _gather(other.expand(*self.shape) if tuple(other.shape) != tuple(self.shape) else other,
                             tuple(c._indices_arr))
            return c._with_values(dense_mul(c._vals, picked))
        return self._with_values(self._vals * other)

    def __mul__(self, other):
        return self.mul(other)

    __rmul__ = __mul__

    def div(self, other, *, rounding_mode=None):
        if isinstance(other, Tensor) and other.ndim:
            raise _unsupported("Dividing a sparse tensor by a tensor")
        return self._with_values(self._vals / other if rounding_mode is None else
                                 self._vals.div(other, rounding_mode=rounding_mode))

    __truediv__ = div

    def neg(self) -> SparseCooTensor:
        return self._with_values(-self._vals)

    __neg__ = neg

    def abs(self) -> SparseCooTensor:
        c = self.coalesce()
        return c._with_values(c._vals.abs())

    __abs__ = abs

    def pow(self, exponent) -> SparseCooTensor:
        if isinstance(exponent, Tensor) or exponent <= 0:
            raise _unsupported(f"pow({exponent!r}) (zeros would not stay zero)")
        c = self.coalesce()
        return c._with_values(c._vals ** exponent)

    __pow__ = pow

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        from . import sum as sparse_sum
        if keepdim:
            raise _unsupported("sum(keepdim=True)")
        out = sparse_sum(self, dim)
        return out if dtype is None else out.to(dtype)

    # -- shape ----------------------------------------------------------------------------------------------
    def transpose(self, dim0: int, dim1: int) -> SparseCooTensor:
        n = self.sparse_dim()
        d0, d1 = dim0 % self.ndim, dim1 % self.ndim
        if d0 >= n or d1 >= n:
            raise _unsupported("transpose of a dense dimension")
        order = list(range(n))
        order[d0], order[d1] = order[d1], order[d0]
        shape = list(self.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        return SparseCooTensor._make(self._indices_arr[order], self._vals, tuple(shape), False)

    def t(self) -> SparseCooTensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> SparseCooTensor:  # noqa: N802
        return self.t()

    # -- products -----------------------------------------------------------------------------------------
    def mm(self, mat2: Tensor) -> Tensor:
        return spmm(self, mat2, "mm")

    def matmul(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def smm(self, mat2):
        return spmm(self, mat2, "smm").to_sparse()


def _rebuild_sparse(indices, values, shape, coalesced):
    return SparseCooTensor._make(indices, values, shape, coalesced)


# Methods that remain Tensor's dense methods would compute on the placeholder: refuse them by name instead.
_ALLOWED = set(vars(SparseCooTensor)) | {
    "__class__", "__init_subclass__", "__subclasshook__", "__getattribute__", "__setattr__", "__delattr__",
    "__dir__", "__sizeof__", "__reduce__", "__format__", "__hash__", "__eq__", "__ne__", "__new__", "__weakref__",
    "__array_priority__", "size", "shape", "dim", "ndim", "ndimension", "numel", "nelement", "device", "is_cuda",
    "is_cpu", "is_meta", "is_quantized", "get_device", "is_floating_point", "is_complex", "_version", "output_nr",
    "is_shared", "is_pinned", "is_inference"}


def _refuse(name: str):
    def method(self, *args, **kwargs):
        raise _unsupported(f"Tensor.{name}")
    method.__name__ = name
    return method


for _name, _attr in list(vars(Tensor).items()):
    if _name in _ALLOWED or _name.startswith("_") and not (_name.startswith("__") and _name.endswith("__")):
        continue
    if callable(_attr) or isinstance(_attr, (staticmethod, classmethod)):
        setattr(SparseCooTensor, _name, _refuse(_name))
    elif isinstance(_attr, property):
        setattr(SparseCooTensor, _name, property(_refuse(_name)))
del _name, _attr


def _refuse_data(self, *args, **kwargs):
    raise _unsupported("Reading a sparse tensor as dense data")


SparseCooTensor.__array__ = _refuse_data
SparseCooTensor.__float__ = SparseCooTensor.__int__ = SparseCooTensor.__index__ = SparseCooTensor.item
SparseCooTensor.__iter__ = _refuse_data


def __bool__(self) -> bool:
    return bool(self.item())


SparseCooTensor.__bool__ = __bool__


# -- products --------------------------------------------------------------------------------------------------

def spmm(s: SparseCooTensor, m: Tensor, op: str = "mm") -> Tensor:
    """2-D sparse @ 2-D dense (or sparse, densified) -> dense, with gradients to the values and to ``m``."""
    if isinstance(m, SparseCooTensor):
        m = m.to_dense()
    if not isinstance(m, Tensor):
        raise TypeError(f"{op}(): argument 'mat2' must be a Tensor, not {type(m).__name__}")
    if s.sparse_dim() != 2 or s.dense_dim() != 0:
        raise _unsupported(f"{op} of a sparse tensor with {s.sparse_dim()} sparse and {s.dense_dim()} dense dims")
    if m.ndim != 2:
        raise RuntimeError(f"{op}: expected a 2-D dense matrix, but got {m.ndim}-D of shape {list(m.shape)} "
                           f"(at {_source.here()})")
    if m.shape[0] != s.shape[1]:
        raise RuntimeError(f"{op}: Argument #3 (dense): Expected dim 0 size {s.shape[1]}, got {m.shape[0]} "
                           f"(sparse {list(s.shape)} @ dense {list(m.shape)}, at {_source.here()})")
    vals = s._vals
    if vals.dtype is not m.dtype:
        if vals.dtype.is_floating_point and m.dtype.is_floating_point or not vals.dtype.is_floating_point:
            dt = dtypes.promote_types(vals.dtype, m.dtype)
            vals, m = vals.to(dt), m.to(dt)
    rows, cols = s._indices_arr[0], s._indices_arr[1]
    return SparseAddmmBackward0.apply(vals, m, rows=rows, cols=cols, n=s.shape[0])


def matmul(a, b) -> Tensor:
    """``@`` with a sparse operand: sparse @ dense, dense @ sparse (as (S^T @ D^T)^T), sparse @ vector."""
    if isinstance(a, SparseCooTensor):
        if isinstance(b, Tensor) and not isinstance(b, SparseCooTensor) and b.ndim == 1:
            return spmm(a, b.unsqueeze(1), "matmul").squeeze(1)
        return spmm(a, b, "matmul")
    if not isinstance(a, Tensor):
        raise TypeError(f"matmul(): argument 'input' must be a Tensor, not {type(a).__name__}")
    if a.ndim == 1:
        return spmm(b.t(), a.unsqueeze(1), "matmul").squeeze(1)
    if a.ndim != 2:
        raise _unsupported(f"matmul of a {a.ndim}-D dense tensor with a sparse one")
    return spmm(b.t(), a.t(), "matmul").t()


# -- construction ---------------------------------------------------------------------------------------------

def _as_index_array(indices) -> Any:
    if isinstance(indices, SparseCooTensor):
        raise TypeError("sparse_coo_tensor(): indices must be a dense tensor")
    arr = indices._data if isinstance(indices, Tensor) else xp.asarray(indices)
    if arr.dtype.kind not in "iub" and arr.size:
        if arr.dtype.kind == "f" and (arr == xp.trunc(arr)).all():
            arr = arr.astype(xp.int64)  # PyTorch casts float indices that hold integers
        else:
            raise RuntimeError(f"indices must be an int64 tensor, but got {arr.dtype}")
    return xp.ascontiguousarray(arr, dtype=xp.int64)


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, pin_memory: bool = False,
                      requires_grad: bool = False, check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseCooTensor:
    """``torch.sparse_coo_tensor``: a sparse tensor with ``values[k]`` at ``indices[:, k]``.

    ``values`` keeps its graph (gradients reach it through every sparse op); lists are converted as
    ``torch.tensor`` converts them. Without ``size`` the smallest size holding every index is used.

    >>> import dynagrad as torch
    >>> torch.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0]).to_dense()
    tensor([[0., 1.],
            [2., 0.]])
    """
    from ..creation import tensor as make_tensor
    _check_device(device, True)
    if pin_memory:
        from .._device import _NO_ACCELERATOR
        raise RuntimeError(_NO_ACCELERATOR)
    idx = _as_index_array(indices)
    if idx.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    if isinstance(values, Tensor):
        vals = values if dtype is None else values.to(dtypes.as_dtype(dtype))
    else:
        vals = make_tensor(values, dtype=dtype)
    if vals.ndim == 0:
        raise RuntimeError("values must have at least one dimension (nnz) ")
    if idx.shape[1] != vals.shape[0]:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {idx.shape[1]}, nnz "
                           f"from values: {vals.shape[0]}")
    sparse_dim = idx.shape[0]
    if size is None:
        size = tuple(int(idx[d].max()) + 1 if idx.shape[1] else 0 for d in range(sparse_dim)) + \
            tuple(vals.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != sparse_dim + vals.ndim - 1:
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                           f"sparse_dim = {sparse_dim}, dense_dim = {vals.ndim - 1}")
    if tuple(vals.shape[1:]) != size[sparse_dim:]:
        raise RuntimeError(f"values has incorrect size, expected {[vals.shape[0], *size[sparse_dim:]]}, got "
                           f"{list(vals.shape)}")
    if idx.size:
        lo, hi = idx.min(axis=1), idx.max(axis=1)
        for d in range(sparse_dim):
            if lo[d] < 0:
                raise RuntimeError(f"found negative index {int(lo[d])} for dim {d}")
            if hi[d] >= size[d]:
                # PyTorch checks this only with check_invariants; an index past the size would make every
                # later op read out of bounds, so dynagrad always refuses it
                raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {size[d]} but found "
                                   f"index {int(hi[d])}")
    if requires_grad:
        if vals.requires_grad and not vals.is_leaf:
            raise RuntimeError("sparse_coo_tensor(requires_grad=True) needs values that are not the result of a "
                               "differentiable op; pass values.detach()")
        vals = vals.detach().requires_grad_(True) if vals.requires_grad or vals is values else \
            vals.requires_grad_(True)
    coalesced = bool(is_coalesced) if is_coalesced is not None else idx.shape[1] <= 1
    return SparseCooTensor._make(idx, vals, size, coalesced)


def dense_to_sparse(x: Tensor, sparse_dim: int | None = None) -> SparseCooTensor:
    """``x.to_sparse(sparse_dim)``: the nonzero entries (or rows of the first ``sparse_dim`` dims), coalesced,
    with gradients back to ``x``."""
    n = x.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 <= n <= x.ndim:
        raise RuntimeError(f"sparse_dim must be in [0, {x.ndim}], but got {n}")
    arr = x._data
    nz = arr != 0 if n == arr.ndim else (arr != 0).reshape(arr.shape[:n] + (-1,)).any(axis=-1)
    idx = xp.stack(xp.nonzero(nz)).astype(xp.int64) if n else xp.zeros((0, 1 if arr.size else 0), xp.int64)
    if n == 0:
        vals = x.unsqueeze(0)
    else:
        vals = _gather(x, tuple(idx))
    return SparseCooTensor._make(idx.reshape(n, -1), vals, tuple(x.shape), True)
