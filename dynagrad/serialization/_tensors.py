"""The seam to dynagrad's core (imported lazily: serialization loads while dynagrad initialises), and
the bounds-checked strided views every reader builds tensors through."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

_MAX_DIM = 2 ** 62  # any size or stride beyond this is a corrupted file, not a tensor


def core():
    from ..dtypes import dtype
    from ..tensor import Size, Tensor, device

    return Tensor, Size, dtype, device


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, core()[0])


def parameter_class():
    """``dynagrad.nn.Parameter`` if it exists, so checkpoints stay loadable without dynagrad.nn."""
    try:
        from ..nn.parameter import Parameter
    except ImportError:  # pragma: no cover
        return None
    return Parameter


def is_parameter(obj: Any) -> bool:
    P = parameter_class()
    return P is not None and isinstance(obj, P)


def array_of(obj: Any) -> np.ndarray:
    """The NumPy array of a tensor or array leaf, without a copy (so views of one array are recognised)."""
    if isinstance(obj, np.ndarray):
        return obj
    arr = getattr(obj, "_data", None)
    return arr if isinstance(arr, np.ndarray) else np.asarray(obj.detach().numpy())


def make_tensor(arr: np.ndarray, requires_grad: bool = False, parameter: bool = False):
    """A dynagrad tensor sharing ``arr``'s memory; an ``nn.Parameter`` when asked and available."""
    from ..creation import from_numpy

    if requires_grad and arr.dtype.kind not in "fcV":  # a tampered file; torch refuses this too
        raise ValueError(f"a {arr.dtype} tensor cannot require gradients")
    t = from_numpy(arr)
    P = parameter_class() if parameter else None
    if P is not None:
        return P(t, requires_grad=requires_grad)
    return t.requires_grad_(True) if requires_grad else t


def check_view(numel: int, offset: Any, shape: Any, stride: Any) -> None:
    """Check ``offset + sum(i_k * stride_k)`` stays in ``[0, numel)`` for every index, raising ValueError
    otherwise: ``as_strided`` itself would read or write outside the buffer without a word."""
    ints = lambda xs: isinstance(xs, (list, tuple)) and all(type(x) is int and abs(x) < _MAX_DIM for x in xs)
    if type(offset) is not int or not ints(shape) or not ints(stride) or len(shape) != len(stride):
        raise ValueError("a view needs an int offset, and int sequences shape and stride of equal length "
                         f"with entries below 2**62 (got offset {str(offset)[:30]}, shape {str(shape)[:60]}, "
                         f"stride {str(stride)[:60]})")
    if len(shape) > 64:
        raise ValueError(f"a tensor of {len(shape)} dimensions (at most 64 are supported)")
    if offset < 0 or any(n < 0 for n in shape):
        raise ValueError(f"negative size or offset in view (offset {offset}, shape {list(shape)})")
    if math.prod(n for n in shape if n) >= _MAX_DIM // 16:
        raise ValueError(f"view of shape {list(shape)} is too large")
    if 0 in shape:
        return
    if offset >= _MAX_DIM or math.prod(shape) >= _MAX_DIM:
        raise ValueError(f"view of shape {list(shape)} is too large")
    lo = offset + sum((n - 1) * s for n, s in zip(shape, stride) if s < 0)
    hi = offset + sum((n - 1) * s for n, s in zip(shape, stride) if s > 0)
    if lo < 0 or hi >= numel:
        raise ValueError(f"view (offset {offset}, shape {list(shape)}, stride {list(stride)}) reaches "
                         f"outside its storage of {numel} elements")


def strided_view(flat: np.ndarray, offset: Any, shape: Any, stride: Any) -> np.ndarray:
    """``flat[offset + sum(i_k * stride_k)]`` as a view of the 1-d ``flat``, bounds checked first.

    A size-1 dimension's stride never moves the pointer, so an absurd one (2**61 would overflow NumPy's
    byte strides) becomes 0; sensible ones are kept, so strides read back as written."""
    check_view(flat.size, offset, shape, stride)
    if 0 in shape:
        return np.empty(tuple(shape), flat.dtype)
    item = flat.dtype.itemsize
    strides = tuple(0 if n == 1 and abs(s) > flat.size else s * item for n, s in zip(shape, stride))
    base = flat[offset:]
    if flat.dtype.kind not in "biufc" or flat.dtype.type.__module__ != "numpy":
        # as_strided goes through __array_interface__, whose typestr ('<f1') names no ml_dtypes type:
        # stride a same-sized unsigned view, then reinterpret (allowed for any strides at equal itemsize)
        return np.lib.stride_tricks.as_strided(base.view(f"u{item}"), shape=tuple(shape),
                                               strides=strides).view(flat.dtype)
    return np.lib.stride_tricks.as_strided(base, shape=tuple(shape), strides=strides)
