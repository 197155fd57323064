"""Tensor factories: tensor, as_tensor, from_numpy, zeros/ones/full/empty (and _like), arange, linspace, eye."""
from __future__ import annotations

import math

from . import dtypes
from .backend import xp
from .tensor import Size, Tensor, _check_device


def _infer_array(data, dtype):
    """A NumPy array for ``data`` with PyTorch's inference: Python floats -> default dtype, ints -> int64."""
    if isinstance(data, Tensor):
        arr = data._data
        return arr.astype(dtype.numpy) if dtype is not None and arr.dtype != dtype.numpy else arr
    if isinstance(data, xp.ndarray):
        if dtype is not None:
            return data.astype(dtype.numpy)
        dtypes.from_numpy(data.dtype)  # raise for object / string arrays
        return data
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
        data = _untensor(data)
    if dtype is not None:
        try:
            return xp.array(data, dtype=dtype.numpy)
        except (TypeError, ValueError) as e:
            raise TypeError(f"tensor(): could not convert the data to {dtype}: {e}") from None
    try:
        arr = xp.array(data)
    except ValueError as e:
        raise ValueError(f"tensor(): expected a sequence of equal-length sequences of numbers ({e})") from None
    kind = arr.dtype.kind
    if kind == "f":
        if _has_numpy_scalar(data, arr.dtype):
            return arr
        return arr.astype(_float_list_dtype(data).numpy)
    if kind in "iu":
        return arr.astype(xp.int64) if arr.dtype != xp.int64 and not isinstance(data, xp.generic) else arr
    if kind == "c":
        return arr.astype(dtypes.get_default_dtype().to_complex().numpy) if not isinstance(data, xp.generic) else arr
    if kind == "b":
        return arr
    if arr.size == 0:
        return arr.astype(dtypes.get_default_dtype().numpy)
    raise TypeError(f"tensor(): can't build a tensor from data of type {type(data).__name__} "
                    f"(NumPy inferred {arr.dtype})")


def _has_numpy_scalar(data, dt) -> bool:
    # torch.tensor(np.float64(1.0)) keeps float64; a list of Python floats takes the default dtype
    return isinstance(data, xp.generic) and data.dtype == dt


def _float_list_dtype(data):
    """PyTorch's dtype for a (nested) list of floats: the default dtype, unless NumPy floats in the list
    say otherwise (``[np.float64(1), 2.0]`` is float64; ``[np.float16(1), 2]`` is float16)."""
    found = None
    py_float = False
    for v in _flat(data) if isinstance(data, (list, tuple)) else ():
        if type(v) is float:
            py_float = True
        elif isinstance(v, (xp.floating, xp.ndarray)) and v.dtype.kind == "f":
            d = dtypes.from_numpy(v.dtype)
            found = d if found is None else dtypes.promote_types(found, d)
    default = dtypes.get_default_dtype()
    if found is None:
        return default
    return dtypes.promote_types(found, default) if py_float else found


def _flat(data):
    for v in data:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _untensor(data):
    out = []
    for v in data:
        if isinstance(v, (list, tuple)):
            out.append(_untensor(v))
        elif isinstance(v, Tensor):
            out.append(v._data if v._data.ndim else v._data[()])
        else:
            out.append(v)
    return out


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays or tensors).

    >>> import dynagrad
    >>> dynagrad.tensor([[1, 2], [3, 4]]).dtype
    torch.int64
    """
    _check_device(device, True, pin_memory)
    d = dtypes.as_dtype(dtype) if dtype is not None else None
    arr = _infer_array(data, d)
    if isinstance(data, (Tensor, xp.ndarray)) or arr.base is not None:
        arr = arr.copy()
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """A tensor sharing memory with ``data`` when it is already a tensor or array of that dtype."""
    _check_device(device, True)
    d = dtypes.as_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        return data if d is None or data.dtype is d else data.to(d)
    return Tensor._wrap(_infer_array(data, d))


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None, requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor, sharing its memory when it can: a tensor, a NumPy array, a storage (its bytes seen
    as ``dtype``), or an object with the buffer protocol; other data (lists, numbers) is copied. ``copy=True``
    always copies, ``copy=False`` raises ValueError when sharing is impossible.

    >>> import dynagrad as torch, numpy as np
    >>> a = np.zeros(2, np.float32)
    >>> t = torch.asarray(a)
    >>> a[0] = 7
    >>> t, torch.asarray(t.untyped_storage(), dtype=torch.uint8).shape
    (tensor([7., 0.]), torch.Size([8]))
    """
    _check_device(device, True)
    d = dtypes.as_dtype(dtype) if dtype is not None else None
    from .storage import TypedStorage, UntypedStorage
    if isinstance(obj, TypedStorage):
        d = d or obj.dtype
        obj = obj.untyped()
    if isinstance(obj, UntypedStorage):
        d = d or dtypes.int64  # PyTorch's default for a storage without a dtype
        raw = obj._bytes
        arr = raw[:raw.size - raw.size % d.itemsize].view(d.numpy)
        if not raw.flags.writeable:
            arr = arr.copy()
    elif isinstance(obj, Tensor):
        arr = obj._data
        if d is not None and arr.dtype != d.numpy:
            if copy is False:
                raise ValueError(f"can't alias tensor with dtype '{dtypes.scalar_name(obj.dtype)}' into dtype "
                                 f"'{dtypes.scalar_name(d)}'.")
            out = obj.to(d)
        elif copy:
            out = obj.clone()
        else:
            out = obj
        return out.requires_grad_(requires_grad) if requires_grad and not out.requires_grad else out
    elif isinstance(obj, xp.ndarray) or _has_buffer(obj):
        src = obj if isinstance(obj, xp.ndarray) else xp.frombuffer(obj, (d or dtypes.get_default_dtype()).numpy)
        if isinstance(obj, xp.ndarray) and d is not None and src.dtype != d.numpy:
            if copy is False:
                raise ValueError(f"can't alias tensor with dtype '{dtypes.scalar_name(dtypes.from_numpy(src.dtype))}'"
                                 f" into dtype '{dtypes.scalar_name(d)}'.")
            arr = src.astype(d.numpy)
        else:
            dtypes.from_numpy(src.dtype)  # refuse object / string arrays
            arr = src.copy() if copy or not src.flags.writeable else src
    else:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        return tensor(obj, dtype=d, requires_grad=requires_grad)
    if copy and arr.base is not None:
        arr = arr.copy()
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def _has_buffer(obj) -> bool:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return True
    if isinstance(obj, (list, tuple, int, float, complex, bool, str)) or isinstance(obj, xp.generic):
        return False
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def from_numpy(arr) -> Tensor:
    """A tensor sharing memory with the NumPy array ``arr``.

    >>> import numpy as np, dynagrad
    >>> a = np.zeros(2, np.float32); t = dynagrad.from_numpy(a); a[0] = 5; t
    tensor([5., 0.])
    """
    if not isinstance(arr, xp.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    dtypes.from_numpy(arr.dtype)
    return Tensor._wrap(arr)


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = size[0]
    try:
        shape = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be a sequence of ints, got {size!r}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


def _make(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _dt(dtype, default=None):
    if dtype is None:
        return (default or dtypes.get_default_dtype()).numpy
    return dtypes.as_dtype(dtype).numpy


def zeros(*shape, size=None, dtype=None, device=None, requires_grad: bool = False, out=None,
          layout=None, pin_memory: bool = False) -> Tensor:
    """A tensor of zeros; ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    _check_device(device, True, pin_memory)
    return _make(xp.zeros(_shape(shape if size is None else (size,)), _dt(dtype)), requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad: bool = False, out=None,
         layout=None, pin_memory: bool = False) -> Tensor:
    _check_device(device, True, pin_memory)
    return _make(xp.ones(_shape(shape if size is None else (size,)), _dt(dtype)), requires_grad)


def empty(*shape, size=None, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None,
          memory_format=None, pin_memory=False) -> Tensor:
    """An uninitialised tensor (here: zero-filled, so reading it is never undefined)."""
    _check_device(device, True, pin_memory)
    return _make(xp.zeros(_shape(shape if size is None else (size,)), _dt(dtype)), requires_grad)


def _fill_dtype(value):
    if isinstance(value, bool):
        return dtypes.bool
    if isinstance(value, int):
        return dtypes.int64
    if isinstance(value, _builtin_complex):  # this module defines complex(); the type is the builtin
        return dtypes.get_default_dtype().to_complex()
    if isinstance(value, Tensor):
        return value.dtype
    return dtypes.get_default_dtype()


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None,
         pin_memory: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype inferred from the value, as in PyTorch)."""
    _check_device(device, True, pin_memory)
    d = dtypes.as_dtype(dtype) if dtype is not None else _fill_dtype(fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _make(xp.full(_shape((size,) if isinstance(size, int) else (size,)), fill_value, d.numpy), requires_grad)


def zeros_like(x, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None, layout=None):
    return _make(xp.zeros(x._data.shape, _dt(dtype, x.dtype)), requires_grad)


def ones_like(x, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None, layout=None):
    return _make(xp.ones(x._data.shape, _dt(dtype, x.dtype)), requires_grad)


def empty_like(x, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None, layout=None):
    return _make(xp.zeros(x._data.shape, _dt(dtype, x.dtype)), requires_grad)


def full_like(x, fill_value, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None,
              layout=None):
    return _make(xp.full(x._data.shape, fill_value, _dt(dtype, x.dtype)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False, out=None,
           layout=None, pin_memory: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float.

    >>> import dynagrad
    >>> dynagrad.arange(5)
    tensor([0, 1, 2, 3, 4])
    """
    _check_device(device, True, pin_memory)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        d = dtypes.get_default_dtype() if any(isinstance(v, float) for v in vals) else dtypes.int64
    else:
        d = dtypes.as_dtype(dtype)
    n = int(math.ceil((end - start) / step))
    if d.is_floating_point:
        arr = (start + xp.arange(n, dtype=xp.float64) * step).astype(d.numpy)
    else:
        arr = (start + xp.arange(n, dtype=xp.int64) * step).astype(d.numpy)
    return _make(arr, requires_grad)


def range_(start, end, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The deprecated inclusive ``torch.range``."""
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    n = int(math.floor((end - start) / step)) + 1
    return _make((start + xp.arange(n, dtype=xp.float64) * step).astype(d.numpy), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False, out=None,
             layout=None, pin_memory: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (filled from both ends, as
    PyTorch does, so the endpoint is exact)."""
    _check_device(device, True, pin_memory)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    if steps == 1:
        return _make(xp.array([start], d.numpy), requires_grad)
    ct = xp.float64 if d.numpy == xp.float64 or not d.is_floating_point else d.numpy.type
    i = xp.arange(steps)
    step = (ct(end) - ct(start)) / ct(steps - 1) if steps > 1 else ct(0)
    half = steps // 2
    arr = xp.where(i < half, ct(start) + step * i.astype(ct), ct(end) - step * (steps - i - 1).astype(ct))
    if not d.is_floating_point:
        arr = xp.trunc(arr)
    return _make(arr.astype(d.numpy), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype=dtypes.float64)
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    return _make((base ** lin._data).astype(d.numpy), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """The identity matrix (``n`` x ``m``)."""
    _check_device(device, True)
    return _make(xp.eye(n, m if m is not None else n, dtype=_dt(dtype)), requires_grad)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False):
    return _make(xp.array(value, _dt(dtype)), requires_grad)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = xp.tril_indices(row, offset, col)
    return Tensor._wrap(xp.stack([r, c]).astype(_dt(dtype, dtypes.int64)))


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = xp.triu_indices(row, offset, col)
    return Tensor._wrap(xp.stack([r, c]).astype(_dt(dtype, dtypes.int64)))


def meshgrid(*tensors, indexing: str | None = None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    from .ops.shape import expand, reshape
    ij = (indexing or "ij") == "ij"
    n = len(tensors)
    shape = [t._data.shape[0] if t._data.ndim else 1 for t in tensors]
    if not ij and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        pos = i
        if not ij and n >= 2 and i < 2:
            pos = 1 - i
        view = [1] * n
        view[pos] = -1
        out.append(expand(reshape(t, view), shape))
    return tuple(out)


def cartesian_prod(*tensors):
    from .ops.shape import reshape, stack
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1) if len(tensors) > 1 else tensors[0]


_builtin_complex = complex


def _complex_args(a, b) -> None:
    from .dtypes import scalar_name
    da, db = a._data.dtype, b._data.dtype
    if da.kind != "f" or db.kind != "f" or da.name == "bfloat16" or db.name == "bfloat16":
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got {scalar_name(a.dtype)} "
                           f"and {scalar_name(b.dtype)}")
    if da != db:
        raise RuntimeError(f"Expected object of scalar type {scalar_name(a.dtype)} but got scalar type "
                           f"{scalar_name(b.dtype)} for second argument")


def complex(real, imag, *, out=None):  # noqa: A001
    """``real + i imag`` (differentiable: each part receives the matching part of the gradient)."""
    _complex_args(real, imag)
    cdt = {"float16": "complex32", "float32": "complex64"}.get(real._data.dtype.name, "complex128")
    from . import dtypes
    if cdt == "complex32":
        raise RuntimeError("complex32 (ComplexHalf) is not supported by dynagrad")
    c = getattr(dtypes, cdt)
    r = real.to(c) + imag.to(c) * 1j
    if out is not None:
        out.copy_(r) if tuple(out.shape) == tuple(r.shape) else out.set_(r.detach())
        return out
    return r


def polar(abs, angle, *, out=None):  # noqa: A002
    """``abs * (cos(angle) + i sin(angle))``, differentiable."""
    _complex_args(abs, angle)
    return complex(abs * angle.cos(), abs * angle.sin(), out=out)
