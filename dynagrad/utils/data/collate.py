"""Turning a list of samples into a batch: ``default_collate`` and ``default_convert``.

Mirrors ``torch.utils.data._utils.collate``, rule for rule, so a batch has the same structure and dtypes
as in PyTorch: tensors are stacked, NumPy arrays and scalars become tensors, Python floats become float64,
ints int64, bools bool, strings and bytes stay as they are, and mappings, namedtuples and sequences are
collated field by field. ``collate`` with a ``collate_fn_map`` is the extension point, as in PyTorch.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import dynagrad
from dynagrad.tensor import Tensor

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

# NumPy dtype strings of byte strings, unicode, and objects: arrays of these cannot become tensors.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)

CollateMap = dict[type | tuple[type, ...], Callable]


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays and scalars inside ``data`` to tensors, leaving everything else as it is.

    This is the DataLoader's ``collate_fn`` when automatic batching is off (``batch_size=None``).

    >>> import numpy as np
    >>> default_convert([np.array([0, 1]), "a", 3])
    [tensor([0, 1]), 'a', 3]
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_"):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data  # strings and objects have no tensor type
        return dynagrad.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:  # the mapping type cannot be copied/updated or built from a dict
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, for backward compatibility with PyTorch
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:  # e.g. range cannot be built from a list
            return [default_convert(d) for d in data]
    return data


def collate(batch: list, *, collate_fn_map: CollateMap | None = None) -> Any:
    """Collate ``batch`` (a list of samples), dispatching leaf types through ``collate_fn_map``.

    The map is looked up by the first element's exact type, then by ``isinstance`` in insertion order;
    containers (mappings, namedtuples, sequences) are handled here, recursively.

    >>> def as_list(batch, *, collate_fn_map=None):
    ...     return list(batch)
    >>> collate([(1, "a"), (2, "b")], collate_fn_map={int: as_list, str: as_list})
    [[1, 2], ['a', 'b']]
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)  # keeps a subclass's extra attributes
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        # Columns stay tuples, as in PyTorch: a column of strings comes back as a tuple of strings.
        columns = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # a list, for backward compatibility with PyTorch
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, column in enumerate(columns):
                    clone[i] = column
                return clone
            return elem_type(columns)
        except TypeError:
            return columns
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch: list, *, collate_fn_map: CollateMap | None = None) -> Tensor:
    return dynagrad.stack(batch, 0)


def collate_numpy_array_fn(batch: list, *, collate_fn_map: CollateMap | None = None) -> Any:
    if np_str_obj_array_pattern.search(batch[0].dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([dynagrad.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: list, *, collate_fn_map: CollateMap | None = None) -> Tensor:
    # Through one NumPy array, so the tensor keeps the scalars' NumPy dtype (float32 stays float32).
    return dynagrad.as_tensor(np.asarray(batch))


def collate_float_fn(batch: list, *, collate_fn_map: CollateMap | None = None) -> Tensor:
    return dynagrad.tensor(batch, dtype=dynagrad.float64)


def collate_int_fn(batch: list, *, collate_fn_map: CollateMap | None = None) -> Tensor:
    return dynagrad.tensor(batch)  # int64, or bool for a batch of bools


def collate_str_fn(batch: list, *, collate_fn_map: CollateMap | None = None) -> list:
    return batch


# Insertion order matters: bool is matched by isinstance(int) after the exact-type lookup fails.
default_collate_fn_map: CollateMap = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,  # also np.memmap, a subclass
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into tuples, lists, dicts and namedtuples.

    The DataLoader's ``collate_fn`` when batching automatically. Output types follow PyTorch:
    Tensor -> stacked Tensor, NumPy array/scalar -> Tensor, float -> float64 Tensor,
    int -> int64 Tensor, bool -> bool Tensor, str/bytes -> unchanged (the batch's list, or a tuple
    when they sit inside samples),
    ``[(a1, b1), (a2, b2)]`` -> ``[collate([a1, a2]), collate([b1, b2])]``,
    ``[{"k": v1}, {"k": v2}]`` -> ``{"k": collate([v1, v2])}``.

    >>> default_collate([(0, "a"), (1, "b")])
    [tensor([0, 1]), ('a', 'b')]
    >>> default_collate([{"x": 0.5}, {"x": 1.5}])["x"].dtype
    torch.float64
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
