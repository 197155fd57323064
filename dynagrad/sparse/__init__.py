"""``torch.sparse``: sparse COO tensors and the ops that take them, with gradients.

The official GCN example's ``torch.spmm(adj, features @ W)`` trains here: gradients reach the dense operand
and, when they require grad, the sparse tensor's values.

>>> import dynagrad as torch
>>> adj = torch.eye(3).to_sparse()
>>> w = torch.ones(3, 2, requires_grad=True)
>>> torch.sparse.mm(adj, w).sum().backward(); w.grad
tensor([[1., 1.],
        [1., 1.],
        [1., 1.]])
"""
from __future__ import annotations

import warnings
from typing import Any

from .. import _tensortype, dtypes
from ..backend import xp
from ..tensor import Tensor
from ._coo import SparseCooTensor, dense_to_sparse, matmul, sparse_coo_tensor, spmm

__all__ = ["addmm", "mm", "sum", "softmax", "log_softmax", "spmm", "sparse_coo_tensor", "SparseCooTensor",
           "check_sparse_tensor_invariants"]

globals().update(_tensortype.namespace("torch.sparse", _tensortype.SPARSE, sparse=True))


def _check_sparse(t: Any, op: str) -> SparseCooTensor:
    if not isinstance(t, SparseCooTensor):
        raise TypeError(f"torch.sparse.{op}: expected a sparse COO tensor, but got "
                        f"{'a dense tensor' if isinstance(t, Tensor) else type(t).__name__} (make one with "
                        f".to_sparse() or torch.sparse_coo_tensor)")
    return t


def mm(mat1: Tensor, mat2: Tensor, reduce: str = "sum") -> Tensor:
    """Sparse @ dense (or dense @ sparse) with gradients to the dense operand and to the sparse values."""
    if reduce != "sum":
        raise NotImplementedError(f"torch.sparse.mm(reduce={reduce!r}) is not implemented in dynagrad")
    if isinstance(mat1, SparseCooTensor):
        if mat2.ndim != 2:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{max(mat2.ndim, 1)}, "
                             f"{max(mat2.ndim, 1) - 1}], but got 1)")
        return spmm(mat1, mat2, "addmm")
    return matmul(mat1, mat2)


def addmm(mat: Tensor, mat1: SparseCooTensor, mat2: Tensor, *, beta: float = 1.0, alpha: float = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` for sparse ``mat1``."""
    prod = spmm(_check_sparse(mat1, "addmm"), mat2, "addmm")
    if alpha != 1:
        prod = prod * alpha
    return prod if beta == 0 else prod + (mat if beta == 1 else mat * beta)


def sum(input: Tensor, dim=None, dtype=None):  # noqa: A001, A002
    """Sum of a sparse tensor: over everything (a dense 0-d tensor) or over ``dim`` (sparse if sparse dims
    remain, as in PyTorch)."""
    s = _check_sparse(input, "sum")
    if dim is None:
        out = s._vals.sum()
        return out if dtype is None else out.to(dtype)
    dims = sorted({d % s.ndim for d in ((dim,) if isinstance(dim, int) else dim)})
    nsp = s.sparse_dim()
    sparse_dims = [d for d in dims if d < nsp]
    dense_dims = [d - nsp + 1 for d in dims if d >= nsp]
    vals = s._vals.sum(dim=dense_dims) if dense_dims else s._vals
    keep = [d for d in range(nsp) if d not in sparse_dims]
    shape = tuple(n for d, n in enumerate(s.shape) if d not in dims)
    if not keep:
        out = vals.sum(0)
    else:
        out = SparseCooTensor._make(s._indices_arr[keep], vals, shape, False).coalesce()
    return out if dtype is None else out.to(dtype)


def _grouped(s: SparseCooTensor, dim: int):
    """The coalesced tensor and, for each entry, the id of its slice along ``dim`` (entries sharing the other
    indices)."""
    c = s.coalesce()
    d = dim % c.ndim
    if d >= c.sparse_dim():
        raise NotImplementedError("torch.sparse.softmax over a dense dimension is not implemented in dynagrad")
    others = [k for k in range(c.sparse_dim()) if k != d]
    if others:
        key = xp.ravel_multi_index(tuple(c._indices_arr[others]), tuple(c.shape[k] for k in others))
        _, group = xp.unique(key, return_inverse=True)
    else:
        group = xp.zeros(c._nnz(), xp.int64)
    return c, group.reshape(-1)


def _log_softmax_values(s: SparseCooTensor, dim: int, dtype):
    from ._coo import _gather, _scatter_add
    c, group = _grouped(s, dim)
    v = c._vals if dtype is None else c._vals.to(dtype)
    n = int(group.max()) + 1 if group.size else 0
    if not v.dtype.is_floating_point:
        raise RuntimeError(f"softmax: expected a floating point tensor, got {v.dtype}")
    shift = xp.full((n,) + tuple(v.shape[1:]), -xp.inf, v._data.dtype)
    xp.maximum.at(shift, group, v._data)  # a constant shift per slice: exact, and keeps exp from overflowing
    z = v - Tensor._wrap(shift[group])
    total = _scatter_add(z.exp(), (group,), (n,) + tuple(v.shape[1:]))
    return c, z - _gather(total.log(), (group,))


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> SparseCooTensor:
    """Log-softmax over the specified entries along ``dim`` (unspecified entries count as -inf)."""
    c, out = _log_softmax_values(_check_sparse(input, "log_softmax"), dim, dtype)
    return c._with_values(out, True)


def softmax(input: Tensor, dim: int, *, dtype=None) -> SparseCooTensor:
    """Softmax over the specified entries along ``dim`` (unspecified entries count as -inf, so stay 0).

    >>> import dynagrad as torch
    >>> s = torch.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 1.0, 5.0], (2, 3))
    >>> torch.sparse.softmax(s, 1).to_dense()
    tensor([[0.5000, 0.0000, 0.5000],
            [0.0000, 1.0000, 0.0000]])
    """
    c, out = _log_softmax_values(_check_sparse(input, "softmax"), dim, dtype)
    return c._with_values(out.exp(), True)


class check_sparse_tensor_invariants:  # noqa: N801 - PyTorch's name
    """Accepted as a context manager and decorator: dynagrad always checks that indices fit the size."""

    @staticmethod
    def is_enabled() -> bool:
        return True

    @staticmethod
    def enable() -> None:
        pass

    @staticmethod
    def disable() -> None:
        pass

    def __init__(self, enable: bool = True) -> None:
        self.state = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def __call__(self, fn):
        return fn


def _legacy_constructor(dt: dtypes.dtype, args: tuple, full: str) -> SparseCooTensor:
    """``torch.sparse.FloatTensor(indices, values, size)`` or ``(*sizes)``, deprecated in PyTorch."""
    from ..tensor import Size
    if len(args) >= 2 and isinstance(args[0], Tensor):
        warnings.warn("torch.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please use "
                      "torch.sparse_coo_tensor(indices, values, shape, dtype=, device=).", UserWarning, stacklevel=3)
        indices, values = args[0], args[1]
        size = tuple(args[2]) if len(args) > 2 else None
        if values.dtype is not dt:
            raise TypeError(f"{full}(indices, values, size): expected values of dtype {dt}, but got {values.dtype}")
        return sparse_coo_tensor(indices, values, size)
    warnings.warn("torch.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
                  "torch.sparse_coo_tensor(shape, dtype=, device=).", UserWarning, stacklevel=3)
    shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (Size, tuple, list)) else tuple(args)
    vals = Tensor._wrap(xp.zeros((0,), dt.numpy))
    return SparseCooTensor._make(xp.zeros((len(shape), 0), xp.int64), vals, shape, True)


def to_sparse(x: Tensor, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None) -> SparseCooTensor:
    """``Tensor.to_sparse()`` for a dense tensor."""
    from .._device import sparse_coo
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"to_sparse(layout={layout}) is not implemented in dynagrad (only torch.sparse_coo)")
    if blocksize is not None or dense_dim is not None:
        raise NotImplementedError("to_sparse(blocksize=, dense_dim=) is not implemented in dynagrad")
    return dense_to_sparse(x, sparse_dim)
