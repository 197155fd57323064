"""The legacy tensor types: ``torch.FloatTensor``, ``torch.LongTensor``, ... and their ``torch.cuda`` and
``torch.sparse`` namesakes.

They are not classes of tensors (every tensor is a ``torch.Tensor``) but constructors that also answer
``isinstance``: ``isinstance(x, torch.FloatTensor)`` is True for a dense float32 tensor, and
``x.type(torch.DoubleTensor)`` casts. ``torch.cuda.*Tensor`` exist and match no tensor; calling one raises
PyTorch's TypeError.

>>> import dynagrad as torch
>>> torch.FloatTensor(2, 3).shape, torch.LongTensor([1.7, 2])
(torch.Size([2, 3]), tensor([1, 2]))
>>> x = torch.zeros(2)
>>> isinstance(x, torch.FloatTensor), isinstance(x, torch.DoubleTensor), x.type()
(True, False, 'torch.FloatTensor')
"""
from __future__ import annotations

from typing import Any

from . import dtypes
from .backend import xp
from .tensor import Size, Tensor

# name stem -> dtype name, in PyTorch's order
_STEMS = {"Double": "float64", "Float": "float32", "Half": "float16", "BFloat16": "bfloat16", "Long": "int64",
          "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8", "Bool": "bool",
          "ComplexFloat": "complex64", "ComplexDouble": "complex128", "UInt16": "uint16", "UInt32": "uint32",
          "UInt64": "uint64"}
# the stems PyTorch exposes as legacy constructors in each namespace
DENSE = ("Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool")
SPARSE = ("Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte")


def type_name(t: Tensor) -> str:
    """``t.type()``: 'torch.FloatTensor', 'torch.sparse.LongTensor', ..."""
    name = t.dtype.name
    stem = next((s for s, d in _STEMS.items() if d == name), None)
    if stem is None:
        return f"torch.{name}"
    return ("torch.sparse." if t.is_sparse else "torch.") + stem + "Tensor"


class tensortype(type):  # noqa: N801 - PyTorch's name for the type of torch.FloatTensor
    """The metaclass of the legacy tensor types: ``isinstance`` checks dtype and layout, calling constructs."""

    dtype: dtypes.dtype
    is_cuda: bool
    is_sparse: bool

    def __instancecheck__(cls, obj: Any) -> bool:
        return (not cls.is_cuda and isinstance(obj, Tensor) and obj.dtype is cls.dtype
                and bool(obj.is_sparse) == cls.is_sparse)

    def __subclasscheck__(cls, sub: type) -> bool:
        return type.__subclasscheck__(cls, sub)

    def __call__(cls, *args: Any, device: Any = None, **kwargs: Any) -> Tensor:
        full = f"{cls.__module__}.{cls.__name__}"
        if cls.is_cuda:
            raise TypeError(f"type {full} not available. Torch not compiled with CUDA enabled. (dynagrad computes "
                            f"on the CPU only)")
        if kwargs:
            raise TypeError(f"{full}() got unexpected keyword arguments {sorted(kwargs)}; the legacy constructors "
                            f"take only sizes or data (and device=); use torch.tensor(data, dtype=..., "
                            f"requires_grad=...) instead")
        if device is not None:
            from ._device import device as device_cls
            kind = (device if isinstance(device, device_cls) else device_cls(device)).type if not isinstance(
                device, int) else "cuda"
            if kind != "cpu":
                raise RuntimeError(f"legacy constructor expects device type: cpu but device type: {kind} was passed "
                                   f"(dynagrad computes on the CPU only)")
        if cls.is_sparse:
            from .sparse import _legacy_constructor
            return _legacy_constructor(cls.dtype, args, full)
        return _construct(cls.dtype, args, full)


def _construct(dt: dtypes.dtype, args: tuple, full: str) -> Tensor:
    from .creation import tensor
    if len(args) == 1 and not isinstance(args[0], (int, Size)) and not _is_int(args[0]):
        data = args[0]
        if isinstance(data, Tensor):
            if data.dtype is not dt:
                raise TypeError(f"{full}(tensor): expected a tensor of dtype {dt}, but got one of dtype "
                                f"{data.dtype}; convert it with tensor.to({dt})")
            return data.view(data.shape)  # shares memory, as in PyTorch
        if isinstance(data, (float, complex, bool)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        if isinstance(data, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
        if isinstance(data, range):
            data = list(data)
        return tensor(data, dtype=dt)
    shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
    for s in shape:
        if not _is_int(s):
            raise TypeError(f"new(): argument 'size' must be a tuple of ints, but got {type(s).__name__} "
                            f"(in {full}{args})")
    if any(int(s) < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(int(s) for s in shape)}: "
                           f"{[int(s) for s in shape]}")
    if not shape:
        shape = (0,)
    # "uninitialised" memory is zeros here, as in dynagrad.empty: reruns give the same bits
    return Tensor._wrap(xp.zeros(tuple(int(s) for s in shape), dtype=dt.numpy))


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, xp.integer)) and not isinstance(v, bool)


def make(stem: str, module: str, *, cuda: bool = False, sparse: bool = False) -> tensortype:
    name = stem + "Tensor"
    cls = tensortype(name, (), {"__module__": module, "__qualname__": name,
                                "__doc__": f"Legacy constructor of {_STEMS[stem]} tensors "
                                           f"(``{module}.{name}(sizes...)`` or ``({module}.{name}(data)``)."})
    cls.dtype = dtypes.as_dtype(_STEMS[stem])
    cls.is_cuda = cuda
    cls.is_sparse = sparse
    cls.layout = "torch.sparse_coo" if sparse else "torch.strided"
    return cls


def namespace(module: str, stems, **flags) -> dict[str, tensortype]:
    return {s + "Tensor": make(s, module, **flags) for s in stems}


_TOP = None


def top_level() -> dict[str, tensortype]:
    """``torch.FloatTensor`` & co., built once."""
    global _TOP
    if _TOP is None:
        _TOP = namespace("torch", DENSE)
    return _TOP


def resolve(spec: Any):
    """The (dtype, is_cuda, is_sparse) a ``Tensor.type(spec)`` argument names; ValueError when it names none."""
    if isinstance(spec, tensortype):
        return spec.dtype, spec.is_cuda, spec.is_sparse
    if isinstance(spec, str):
        parts = spec.split(".")
        if len(parts) >= 2 and parts[0] == "torch" and parts[-1].endswith("Tensor"):
            stem = parts[-1][:-len("Tensor")]
            middle = parts[1:-1]
            if stem in _STEMS and middle in ([], ["cuda"], ["sparse"], ["cuda", "sparse"]):
                return dtypes.as_dtype(_STEMS[stem]), "cuda" in middle, "sparse" in middle
        try:
            return dtypes.as_dtype(spec), False, False
        except (TypeError, ValueError, KeyError, AttributeError):
            raise ValueError(f"invalid type: '{spec}'") from None
    return dtypes.as_dtype(spec), False, False
