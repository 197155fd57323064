"""Composites that reshape, split, stack and combine tensors: atleast_1d/2d/3d, hsplit/vsplit/dsplit,
row_stack/column_stack, block_diag, kron, combinations, diagflat, adjoint. Each is written with
differentiable primitives, so gradients (and their gradients) need no code here.

>>> import dynagrad as torch
>>> torch.kron(torch.tensor([[1, 2]]), torch.tensor([[1], [10]]))
tensor([[ 1,  2],
        [10, 20]])
>>> torch.block_diag(torch.tensor([[1]]), torch.tensor([[2, 3]]))
tensor([[1, 0, 0],
        [0, 2, 3]])
"""
from __future__ import annotations

import itertools

from .. import dtypes
from ..backend import xp
from ..tensor import Tensor
from . import shape as S

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "hsplit", "vsplit", "dsplit", "row_stack", "column_stack",
           "block_diag", "kron", "combinations", "diagflat", "adjoint"]


def _atleast(tensors, fn):
    if len(tensors) == 1:
        tensors = tensors[0]
    if isinstance(tensors, Tensor):
        return fn(tensors)
    return tuple(fn(t) for t in tensors)


def atleast_1d(*tensors):
    """Each tensor as at least 1-D (a 0-d one becomes shape (1,)); one tensor in, one out, else a tuple."""
    return _atleast(tensors, lambda t: S.reshape(t, 1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    """Each tensor as at least 2-D: (n,) becomes (1, n)."""
    return _atleast(tensors, lambda t: S.reshape(t, 1, 1) if t.ndim == 0 else S.unsqueeze(t, 0) if t.ndim == 1
                    else t)


def atleast_3d(*tensors):
    """Each tensor as at least 3-D: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    def f(t):
        if t.ndim == 0:
            return S.reshape(t, 1, 1, 1)
        if t.ndim == 1:
            return S.reshape(t, 1, -1, 1)
        return S.unsqueeze(t, 2) if t.ndim == 2 else t
    return _atleast(tensors, f)


def _split_along(name, input, sections, dim, min_dim):  # noqa: A002
    if input.ndim < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    if isinstance(sections, int):
        n = input.shape[dim]
        if sections == 0 or n % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{n} is not divisible by the split_size {sections}!")
    return S.tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):  # noqa: A002
    """Split along the columns (dim 1; dim 0 of a 1-D tensor) into equal sections or at indices."""
    if input.ndim == 0:
        raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 "
                           "dimensions!")
    return _split_along("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input, indices_or_sections):  # noqa: A002
    """Split along the rows (dim 0) of a tensor of at least 2 dims."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):  # noqa: A002
    """Split along the depth (dim 2) of a tensor of at least 3 dims."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def row_stack(tensors):
    """``vstack``: the tensors (1-D ones as rows) stacked along dim 0."""
    return S.vstack(tensors)


def column_stack(tensors):
    """The tensors side by side as columns: 0-d and 1-D ones become (n, 1) columns, then ``hstack``."""
    tensors = list(tensors)
    return S.hstack([S.reshape(t, t.numel(), 1) if t.ndim <= 1 else t for t in tensors])


def block_diag(*tensors):
    """The block-diagonal matrix of the given (at most 2-D) tensors, dtypes promoted.

    >>> import dynagrad as torch
    >>> torch.block_diag(torch.tensor([1., 2.]), torch.tensor(3.)).shape
    torch.Size([2, 3])
    """
    from ..creation import zeros
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        mats.append(S.reshape(t, 1, 1) if t.ndim == 0 else S.unsqueeze(t, 0) if t.ndim == 1 else t)
    if not mats:
        return zeros(1, 0)
    rt = dtypes.result_type(*mats)
    mats = [m if m.dtype == rt else m.to(rt) for m in mats]
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        parts = [p for p in (zeros(r, left, dtype=rt), m, zeros(r, width - left - c, dtype=rt))]
        rows.append(S.cat(parts, 1))
        left += c
    return S.cat(rows, 0)


def kron(input, other):  # noqa: A002
    """The Kronecker product: ``out[i*B + k] = input[i] * other[k]`` in every dim (dims aligned from the right)."""
    nd = max(input.ndim, other.ndim)
    a_sh = (1,) * (nd - input.ndim) + tuple(input.shape)
    b_sh = (1,) * (nd - other.ndim) + tuple(other.shape)
    a_view, b_view = [], []
    for u, v in zip(a_sh, b_sh):
        a_view += [u, 1]
        b_view += [1, v]
    out = S.reshape(input, *a_view) * S.reshape(other, *b_view)
    return S.reshape(out, *[u * v for u, v in zip(a_sh, b_sh)])


def combinations(input, r: int = 2, with_replacement: bool = False):  # noqa: A002
    """The length-``r`` combinations of the elements of the 1-D ``input``, as rows (``itertools.combinations``,
    or ``combinations_with_replacement``)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        from ..creation import empty
        return empty(0, dtype=input.dtype)
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = xp.array(list(gen(range(input.shape[0]), r)), xp.int64).reshape(-1, r)
    from .index import index_select
    flat = index_select(input, 0, Tensor._wrap(idx.reshape(-1)))
    return S.reshape(flat, idx.shape[0], r)


def diagflat(input, offset: int = 0):  # noqa: A002
    """The square matrix with the flattened ``input`` on its ``offset``-th diagonal."""
    return S.diag(S.reshape(input, -1), offset)


def adjoint(input):  # noqa: A002
    """The conjugate transpose of the last two dims (a view for real tensors)."""
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.ndim}-D tensor.")
    out = S.transpose(input, -2, -1)
    if input._data.dtype.kind == "c":
        from .math import conj
        out = conj(out)
    return out
