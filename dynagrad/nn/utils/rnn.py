"""Variable-length sequences: ``PackedSequence`` and the helpers that pack, pad and unpad them
(``torch.nn.utils.rnn``).

A ``PackedSequence`` holds the rows of a batch of sequences sorted by decreasing length, time step by time
step: ``data`` is (sum of lengths, *), ``batch_sizes[t]`` says how many sequences are still running at step
t. Every recurrent layer accepts one and returns one (with ``h_n`` in the caller's batch order).

Packing, padding and unpacking are each one gather of rows (``_RowGather``): every source row is used at most
once, so the backward is the same gather with the inverse index.

>>> import dynagrad
>>> from dynagrad.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
>>> x = dynagrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])
>>> p = pack_padded_sequence(x, [3, 2], batch_first=True)
>>> p.data, p.batch_sizes
(tensor([1., 4., 2., 5., 3.]), tensor([2, 2, 1]))
>>> pad_packed_sequence(p, batch_first=True)[0]
tensor([[1., 2., 3.],
        [4., 5., 0.]])
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

from ...autograd.function import Op
from ...backend import xp
from ...ops import _dual as D
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


# -- the gather primitive ------------------------------------------------------------------------------------

def _gather_rows(src, idx, fill):
    if idx.size and idx.min() >= 0:
        return src[idx]
    out = xp.full((idx.shape[0],) + src.shape[1:], fill, src.dtype)
    ok = idx >= 0
    out[ok] = src[idx[ok]]
    return out


class PackPaddedSequenceBackward0(Op):
    """``out[j] = src[idx[j]]`` along the first axis, ``fill`` where ``idx[j] < 0``; no source row is used
    twice, so the gradient is the same gather with the inverse index."""

    def forward(ctx, src, idx, fill=0.0):
        if ctx is not None:
            ctx.idx, ctx.n = idx, src.shape[0]
        return _gather_rows(src, idx, fill)

    def backward(self, g):
        inv = xp.full(self.n, -1, xp.intp)
        ok = self.idx >= 0
        inv[self.idx[ok]] = xp.nonzero(ok)[0]
        if D.is_array(g):
            return (_gather_rows(g, inv, 0),)
        return (type(self).apply(g, idx=inv, fill=0.0),)


class PadPackedSequenceBackward0(PackPaddedSequenceBackward0):
    pass


class PadSequenceBackward0(PackPaddedSequenceBackward0):
    pass


# -- PackedSequence ------------------------------------------------------------------------------------------

def _as_index(t) -> Any:
    return None if t is None else (t._data if isinstance(t, Tensor) else xp.asarray(t))


_Fields = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_Fields):
    """Sequences of different lengths packed time step by time step (see the module docstring). Build one with
    ``pack_padded_sequence`` or ``pack_sequence``; ``unsorted_indices`` is derived from ``sorted_indices``."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return type(self)(self.data.cuda(*args, **kwargs), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def cpu(self, *args, **kwargs) -> PackedSequence:
        return self

    def pin_memory(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(dtype=_dt("float64"))

    def float(self) -> PackedSequence:  # noqa: A003
        return self.to(dtype=_dt("float32"))

    def half(self) -> PackedSequence:
        return self.to(dtype=_dt("float16"))

    def long(self) -> PackedSequence:
        return self.to(dtype=_dt("int64"))

    def int(self) -> PackedSequence:  # noqa: A003
        return self.to(dtype=_dt("int32"))

    def short(self) -> PackedSequence:
        return self.to(dtype=_dt("int16"))

    def char(self) -> PackedSequence:
        return self.to(dtype=_dt("int8"))

    def byte(self) -> PackedSequence:
        return self.to(dtype=_dt("uint8"))

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _dt(name):
    from ... import dtypes
    return getattr(dtypes, name)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    p = _as_index(permutation)
    out = xp.empty_like(p)
    out[p] = xp.arange(p.size, dtype=p.dtype)
    return Tensor._wrap(out)


def _lengths_array(lengths) -> Any:
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point and lengths.ndim != 1:
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor")
        return lengths._data.astype(xp.int64).reshape(-1)
    return xp.asarray([int(v) for v in lengths], xp.int64)


def _long(arr) -> Tensor:
    return Tensor._wrap(xp.asarray(arr, xp.int64))


# -- packing and padding -------------------------------------------------------------------------------------

def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of the given lengths.

    With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is sorted here and
    ``sorted_indices`` records the order so the recurrent layers can hand results back in the original one.
    """
    lens = _lengths_array(lengths)
    sorted_indices = None
    if enforce_sorted:
        if lens.size > 1 and (xp.diff(lens) > 0).any():
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                               "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
        order = xp.arange(lens.size)
    else:
        order = xp.argsort(-lens, kind="stable")
        sorted_indices = _long(order)
        lens = lens[order]
    if lens.size == 0 or lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in "
                           "'lengths' that is <= 0")
    shape = input.shape
    t_in, b = (shape[1], shape[0]) if batch_first else (shape[0], shape[1])
    if b != lens.size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={b})")
    if lens[0] > t_in:
        raise RuntimeError(f"Expected sequence length to be larger than or equal to {int(lens[0])}, "
                           f"but got {t_in}")
    t_max = int(lens[0])
    tt, bb = xp.nonzero(xp.arange(t_max)[:, None] < lens[None, :])  # time-major: the packed order
    src_b = order[bb]
    idx = src_b * t_in + tt if batch_first else tt * b + src_b
    flat = input.reshape((t_in * b,) + tuple(shape[2:]))
    data = PackPaddedSequenceBackward0.apply(flat, idx=idx)
    batch_sizes = (xp.arange(t_max)[:, None] < lens[None, :]).sum(1)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def _pad_index(batch_sizes, lengths_sorted, t_total, batch_first, unsorted):
    """For every (t, b) of the padded output, the packed row it comes from (-1: padding)."""
    b = int(batch_sizes[0])
    starts = xp.concatenate(([0], xp.cumsum(batch_sizes)[:-1]))
    t = xp.arange(t_total)[:, None]
    col = xp.arange(b)[None, :] if unsorted is None else unsorted[None, :]
    tl = xp.minimum(t, len(batch_sizes) - 1)
    idx = xp.where(t < lengths_sorted[col], starts[tl] + col, -1)  # (T, B)
    return (idx.T if batch_first else idx).reshape(-1)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded batch (T, B, *) (or (B, T, *)) and the lengths (int64), both
    in the original batch order."""
    data, batch_sizes = sequence.data, _as_index(sequence.batch_sizes).astype(xp.int64)
    t_max = len(batch_sizes)
    if total_length is not None:
        if total_length < t_max:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being "
                             f"{t_max}")
        t_max = total_length
    b = int(batch_sizes[0])
    # sequence i (in sorted order) runs while batch_sizes > i
    lens_sorted = (batch_sizes[None, :] > xp.arange(b)[:, None]).sum(1)
    unsorted = _as_index(sequence.unsorted_indices)
    idx = _pad_index(batch_sizes, lens_sorted, t_max, batch_first, unsorted)
    out = PadPackedSequenceBackward0.apply(data, idx=idx, fill=padding_value)
    rest = tuple(data.shape[1:])
    out = out.reshape(((b, t_max) if batch_first else (t_max, b)) + rest)
    lengths = lens_sorted if unsorted is None else lens_sorted[unsorted]
    return out, _long(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shape (L_i, *) into (max L, B, *) (or (B, max L, *)), padded on
    ``padding_side``."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    from ...ops.shape import cat
    lens = xp.asarray([s.shape[0] for s in sequences], xp.int64)
    t_max, b = int(lens.max()), len(sequences)
    starts = xp.concatenate(([0], xp.cumsum(lens)[:-1]))
    t = xp.arange(t_max)[:, None]
    shift = (t_max - lens)[None, :] if padding_side == "left" else 0
    pos = t - shift
    idx = xp.where((pos >= 0) & (pos < lens[None, :]), starts[None, :] + pos, -1)
    idx = (idx.T if batch_first else idx).reshape(-1)
    data = cat(sequences) if len(sequences) > 1 else sequences[0]
    out = PadSequenceBackward0.apply(data, idx=idx, fill=padding_value)
    return out.reshape(((b, t_max) if batch_first else (t_max, b)) + tuple(sequences[0].shape[1:]))


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into a list of sequences of the given lengths."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _lengths_array(lengths)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shape (L_i, *)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo ``pack_sequence``: the list of sequences, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
