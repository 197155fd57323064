"""``torch.utils.dlpack``: exchanging tensors with other array libraries (NumPy, JAX, CuPy, kornia's image
types, ...) without copying, through the DLPack protocol NumPy implements.

``from_dlpack`` takes an object with ``__dlpack__`` (or a legacy capsule from ``to_dlpack``) and returns a
tensor sharing its memory; ``Tensor.__dlpack__`` lets other libraries do the same with a tensor. Only CPU
memory exists here. bfloat16 and float8 tensors cannot be exported (NumPy's DLPack has no such types).

>>> import dynagrad as torch, numpy as np
>>> a = np.arange(3.0)
>>> t = torch.from_dlpack(a)
>>> a[0] = 9
>>> t, np.from_dlpack(torch.ones(2, dtype=torch.int32))
(tensor([9., 1., 2.], dtype=torch.float64), array([1, 1], dtype=int32))
"""
from __future__ import annotations

import enum
from typing import Any

from ..backend import xp

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack's device codes, as PyTorch numbers them."""
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


def _exportable(t):
    if t.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    a = t._data
    if a.dtype.kind == "V" or a.dtype.name.startswith("float8"):
        raise BufferError(f"DLPack export of {t.dtype} is not supported by dynagrad (NumPy's DLPack has no such "
                          f"type); convert it first, e.g. tensor.float()")
    return a


def tensor_dlpack(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                  dl_device: tuple | None = None, copy: bool | None = None):
    """``Tensor.__dlpack__``: a DLPack capsule of this tensor's memory (for ``np.from_dlpack`` and others)."""
    if dl_device is not None and int(dl_device[0]) != DLDeviceType.kDLCPU:
        raise BufferError(f"dynagrad tensors live on the CPU; cannot export to DLPack device {dl_device}")
    a = _exportable(self)
    kwargs = {"copy": copy}
    if max_version is not None:
        kwargs["max_version"] = max_version
    return a.__dlpack__(**kwargs)


def tensor_dlpack_device(self) -> tuple[DLDeviceType, int]:
    """``Tensor.__dlpack_device__``: (kDLCPU, 0)."""
    return DLDeviceType.kDLCPU, 0


def to_dlpack(tensor):
    """The legacy interface: a DLPack capsule of ``tensor``, to be consumed once by ``from_dlpack``."""
    return _exportable(tensor).__dlpack__()


class _Capsule:
    """A legacy capsule presented as a DLPack producer, so NumPy can consume it."""

    def __init__(self, capsule) -> None:
        self._capsule = capsule

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return DLDeviceType.kDLCPU, 0


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None):
    """A tensor sharing the memory of ``ext_tensor`` (an object with ``__dlpack__``, or a capsule from
    ``to_dlpack``); ``copy=True`` copies, ``copy=False`` refuses to."""
    from ..tensor import Tensor
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"dynagrad tensors live on the CPU; from_dlpack cannot place them on {device}")
    if isinstance(ext_tensor, Tensor):
        arr = ext_tensor._data.copy() if copy else ext_tensor._data
        return Tensor._wrap(arr)
    producer = ext_tensor
    if type(ext_tensor).__name__ == "PyCapsule":
        producer = _Capsule(ext_tensor)
    elif not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack(): expected an object with __dlpack__ or a DLPack capsule, got "
                        f"{type(ext_tensor).__name__}")
    try:
        arr = xp.from_dlpack(producer, copy=copy)
    except (ValueError, TypeError) as e:
        if producer is not ext_tensor:
            raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
                               "consumed only once, so you might have already constructed a tensor from it "
                               "once.") from None
        raise RuntimeError(f"from_dlpack(): {e}") from None
    if not arr.flags.writeable:  # a read-only producer: a tensor must be writable
        arr = arr.copy()
    return Tensor._wrap(arr)
