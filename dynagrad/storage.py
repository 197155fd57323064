"""``torch.storage``: the memory tensors view, as ``Tensor.untyped_storage()`` and ``Tensor.storage()`` give it.

A dynagrad tensor holds a NumPy array; its storage is the whole buffer that array views (the root of its
``.base`` chain), seen as bytes. Views share their base tensor's storage, so ``data_ptr()`` and ``nbytes()``
tell tensors that share memory apart from those that do not (what safetensors and weight-tying code check).
Storages live on the CPU; writing into one writes into every tensor viewing it.

>>> import dynagrad as torch
>>> x = torch.arange(6.0)
>>> s = x[2:].untyped_storage()
>>> s.nbytes(), s.data_ptr() == x.data_ptr(), s[4:8].tolist()
(24, True, [0, 0, 128, 63])
>>> x.storage().dtype, x.storage().size()
(torch.float32, 6)
"""
from __future__ import annotations

import ctypes
import warnings
from typing import Any

from . import dtypes
from .backend import xp

__all__ = ["TypedStorage", "UntypedStorage"]


def _root(a):
    """The array that owns (or first wraps) the memory ``a`` views."""
    while True:
        b = a.base
        if isinstance(b, xp.ndarray):
            a = b
        elif isinstance(getattr(b, "base", None), xp.ndarray):  # as_strided's DummyArray holder
            a = b.base
        else:
            return a


def _bytes_of(root):
    """A 1-D uint8 array over every byte ``root`` spans (keeping ``root`` alive)."""
    if root.flags.c_contiguous or root.flags.f_contiguous:
        return root.reshape(-1, order="A").view(xp.uint8)
    lo, hi = xp.lib.array_utils.byte_bounds(root)  # a strided root (broadcast_to, as_strided of a buffer)
    raw = xp.frombuffer((ctypes.c_ubyte * (hi - lo)).from_address(lo), xp.uint8)
    raw.flags.writeable = root.flags.writeable
    return raw


class UntypedStorage:
    """A contiguous run of bytes on the CPU.

    ``UntypedStorage(n)`` holds ``n`` bytes (zeros; PyTorch leaves them uninitialised), ``UntypedStorage(seq)``
    the given byte values; ``tensor.untyped_storage()`` the memory a tensor views.

    >>> import dynagrad as torch
    >>> s = torch.UntypedStorage([1, 2, 3])
    >>> len(s), s[1], s.device
    (3, 2, device(type='cpu'))
    """

    def __init__(self, *args: Any, device: Any = None) -> None:
        _check_cpu(device)
        if not args:
            arr = xp.zeros(0, xp.uint8)
        elif len(args) == 1 and isinstance(args[0], int):
            if args[0] < 0:
                raise RuntimeError(f"Storage size must be non-negative, got {args[0]}")
            arr = xp.zeros(args[0], xp.uint8)
        elif len(args) == 1 and isinstance(args[0], (list, tuple)):
            vals = list(args[0])
            if any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 255 for v in vals):
                raise TypeError("UntypedStorage(sequence): every element must be an int in [0, 255]")
            arr = xp.array(vals, xp.uint8)
        else:
            raise TypeError(f"UntypedStorage(): expected a size or a sequence of bytes, got "
                            f"{', '.join(type(a).__name__ for a in args)}")
        self._bytes = arr
        self._owner = arr

    @classmethod
    def _wrap(cls, raw, owner) -> UntypedStorage:
        s = cls.__new__(cls)
        s._bytes, s._owner = raw, owner
        return s

    @classmethod
    def _of_array(cls, a) -> UntypedStorage:
        root = _root(a)
        return cls._wrap(_bytes_of(root), root)

    # -- what callers ask -------------------------------------------------------------------------------
    @property
    def device(self):
        from ._device import device
        return device("cpu")

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_sparse_csr(self) -> bool:
        return False

    @property
    def filename(self) -> str | None:
        return getattr(self._owner, "filename", None)

    def data_ptr(self) -> int:
        return self._bytes.__array_interface__["data"][0]

    def nbytes(self) -> int:
        return int(self._bytes.size)

    def size(self) -> int:
        return int(self._bytes.size)

    def __len__(self) -> int:
        return int(self._bytes.size)

    def element_size(self) -> int:
        return 1

    def get_device(self) -> int:
        return -1

    def is_shared(self) -> bool:
        return isinstance(self._owner, xp.memmap)

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def resizable(self) -> bool:
        return False

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            if idx.step not in (None, 1):
                raise RuntimeError("slices with steps are not supported by storages")
            return UntypedStorage._wrap(self._bytes[idx], self._owner)
        if not isinstance(idx, int):
            raise TypeError(f"can't index a torch.UntypedStorage with {type(idx).__name__}")
        n = self._bytes.size
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return int(self._bytes[idx])

    def __setitem__(self, idx, value) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise RuntimeError(f"can only set storage content with a int types, but got "
                               f"{_type_name(value)} instead")
        if not self._bytes.flags.writeable:
            raise RuntimeError("this storage is read-only (it views a read-only buffer)")
        self._bytes[idx] = value & 0xFF  # PyTorch keeps the low byte

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list[int]:
        return self._bytes.tolist()

    def __repr__(self) -> str:
        body = "".join(f" {v}\n" for v in self._bytes.tolist())
        return f"{body}[torch.storage.UntypedStorage(device=cpu) of size {self._bytes.size}]"

    __str__ = __repr__

    def __copy__(self) -> UntypedStorage:
        return self.clone()

    def __deepcopy__(self, memo) -> UntypedStorage:
        return self.clone()

    def __sizeof__(self) -> int:
        return super().__sizeof__() + self.nbytes()

    # -- making and changing -------------------------------------------------------------------------------
    def clone(self) -> UntypedStorage:
        arr = self._bytes.copy()
        return UntypedStorage._wrap(arr, arr)

    def copy_(self, source: UntypedStorage, non_blocking: bool = False) -> UntypedStorage:
        src = source._bytes if isinstance(source, UntypedStorage) else source.untyped()._bytes
        if src.size != self._bytes.size:
            raise RuntimeError(f"size mismatch, {self._bytes.size} vs {src.size}")
        if not self._bytes.flags.writeable:
            raise RuntimeError("this storage is read-only (it views a read-only buffer)")
        self._bytes[:] = src
        return self

    def fill_(self, value: int) -> UntypedStorage:
        self[:] = value
        return self

    def cpu(self) -> UntypedStorage:
        return self

    def to(self, *, device: Any = None, non_blocking: bool = False) -> UntypedStorage:
        _check_cpu(device)
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False):
        raise RuntimeError("Torch not compiled with CUDA enabled")

    def pin_memory(self, device: Any = "cuda"):
        raise RuntimeError("Cannot access accelerator device when none is available.")

    def share_memory_(self) -> UntypedStorage:
        return self  # one process's memory; multiprocessing shares tensors by pickling them

    def untyped(self) -> UntypedStorage:
        return self

    def byteswap(self, dtype) -> None:
        """Reverse the byte order of each ``dtype``-sized element in place."""
        size = dtypes.as_dtype(dtype).itemsize
        if size > 1:
            self._bytes.reshape(-1, size)[:] = self._bytes.reshape(-1, size)[:, ::-1].copy()

    @classmethod
    def from_buffer(cls, buffer, byte_order: str = "native", count: int = -1, offset: int = 0, *,
                    dtype=None) -> UntypedStorage:
        """A storage holding a copy of ``buffer``'s bytes (``count`` elements of ``dtype`` from byte ``offset``)."""
        itemsize = dtypes.as_dtype(dtype).itemsize if dtype is not None else 1
        raw = xp.frombuffer(buffer, xp.uint8, offset=offset,
                            count=-1 if count < 0 else count * itemsize).copy()
        if byte_order not in ("native", "little", "big"):
            raise ValueError(f"byte_order must be 'native', 'little' or 'big', got {byte_order!r}")
        out = cls._wrap(raw, raw)
        import sys
        if byte_order not in ("native", sys.byteorder) and dtype is not None:
            out.byteswap(dtype)
        return out

    @classmethod
    def from_file(cls, filename: str, shared: bool = False, nbytes: int = 0) -> UntypedStorage:
        """``nbytes`` bytes of a file: memory-mapped (writes reach the file) when ``shared``, else read."""
        import os
        have = os.path.getsize(filename)
        if nbytes > have:
            raise RuntimeError(f"unexpected EOF, expected {nbytes} bytes, got {have}")
        if shared:
            arr = xp.memmap(filename, dtype=xp.uint8, mode="r+", shape=(nbytes,)) if nbytes else \
                xp.zeros(0, xp.uint8)
        else:
            with open(filename, "rb") as f:
                arr = xp.frombuffer(bytearray(f.read(nbytes)), xp.uint8)
        return cls._wrap(arr, arr)

    def _view_as(self, dtype):
        """This storage's bytes as a 1-D NumPy array of ``dtype`` (shares memory)."""
        d = dtypes.as_dtype(dtype)
        if self._bytes.size % d.itemsize:
            raise RuntimeError(f"the storage's {self._bytes.size} bytes are not a whole number of "
                               f"{d.name} elements ({d.itemsize} bytes each)")
        return self._bytes.view(d.numpy)

    def __reduce__(self):
        return (UntypedStorage._from_bytes, (self._bytes.tobytes(),))

    @staticmethod
    def _from_bytes(data: bytes) -> UntypedStorage:
        arr = xp.frombuffer(bytearray(data), xp.uint8)
        return UntypedStorage._wrap(arr, arr)


class TypedStorage:
    """The deprecated storage of one dtype (``tensor.storage()``): an UntypedStorage counted in elements.

    >>> import dynagrad as torch, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     s = torch.tensor([1.5, 2.5]).storage()
    >>> s.dtype, len(s), s[1], s.nbytes()
    (torch.float32, 2, 2.5, 8)
    """

    is_sparse = False

    def __init__(self, *args: Any, dtype=None, device: Any = None, wrap_storage: UntypedStorage | None = None,
                 _internal: bool = False) -> None:
        if not _internal:
            _warn_typed_storage_removal()
        _check_cpu(device)
        self.dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
        if wrap_storage is not None:
            if args:
                raise RuntimeError("TypedStorage(): no positional arguments are allowed with wrap_storage")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(f"expected wrap_storage to be an UntypedStorage, got {type(wrap_storage).__name__}")
            self._untyped_storage = wrap_storage
            return
        if len(args) == 1 and isinstance(args[0], int):
            arr = xp.zeros(args[0], self.dtype.numpy)
        elif len(args) == 1 and isinstance(args[0], (list, tuple)):
            arr = xp.array(args[0], self.dtype.numpy)
        elif not args:
            arr = xp.zeros(0, self.dtype.numpy)
        else:
            raise TypeError("TypedStorage(): expected a size or a sequence")
        self._untyped_storage = UntypedStorage._of_array(arr)

    @property
    def device(self):
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def filename(self) -> str | None:
        return self._untyped_storage.filename

    def _values(self):
        return self._untyped_storage._view_as(self.dtype)

    def untyped(self) -> UntypedStorage:
        return self._untyped_storage

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def size(self) -> int:
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def get_device(self) -> int:
        return -1

    def is_shared(self) -> bool:
        return self._untyped_storage.is_shared()

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def pickle_storage_type(self) -> str:
        from ._tensortype import _STEMS
        stem = next((s for s, n in _STEMS.items() if n == self.dtype.name), self.dtype.name)
        return stem + "Storage"

    def __getitem__(self, idx):
        vals = self._values()
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        n = vals.size
        if not isinstance(idx, int) or not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return vals[idx].item()

    def __setitem__(self, idx, value) -> None:
        if not self._untyped_storage._bytes.flags.writeable:
            raise RuntimeError("this storage is read-only (it views a read-only buffer)")
        self._values()[idx] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list:
        return self._values().tolist()

    def __repr__(self) -> str:
        from .tensor import Tensor
        body = "".join(f" {v}\n" for v in (Tensor._wrap(self._values().copy()).tolist()))
        return f"{body}[torch.storage.TypedStorage(dtype={self.dtype}, device=cpu) of size {self.size()}]"

    __str__ = __repr__

    def clone(self) -> TypedStorage:
        return TypedStorage(wrap_storage=self._untyped_storage.clone(), dtype=self.dtype, _internal=True)

    def copy_(self, source, non_blocking: bool = False) -> TypedStorage:
        self._untyped_storage.copy_(source.untyped() if isinstance(source, TypedStorage) else source)
        return self

    def fill_(self, value) -> TypedStorage:
        self._values()[:] = value
        return self

    def cpu(self) -> TypedStorage:
        return self

    def to(self, *, device: Any = None, non_blocking: bool = False) -> TypedStorage:
        _check_cpu(device)
        return self

    def share_memory_(self) -> TypedStorage:
        return self

    def __reduce__(self):
        return (_typed_from_bytes, (self._untyped_storage._bytes.tobytes(), self.dtype.name))


def _typed_from_bytes(data: bytes, dtype_name: str) -> TypedStorage:
    return TypedStorage(wrap_storage=UntypedStorage._from_bytes(data), dtype=getattr(dtypes, dtype_name),
                        _internal=True)


_WARNED = [False]


def _warn_typed_storage_removal() -> None:
    """PyTorch's deprecation warning for TypedStorage, given once per process as PyTorch gives it."""
    if _WARNED[0]:
        return
    _WARNED[0] = True
    warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
                  "only storage class. This should only matter to you if you are using storages directly.  To "
                  "access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()",
                  UserWarning, stacklevel=3)


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else "torch.storage." + cls.__name__ \
        if isinstance(value, (UntypedStorage, TypedStorage)) else f"{cls.__module__}.{cls.__name__}"


def _check_cpu(device: Any) -> None:
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"dynagrad storages live on the CPU only, got device={device!r}")


def untyped_storage(self) -> UntypedStorage:
    """The bytes the tensor's data lives in (shared with every view of the same memory)."""
    return UntypedStorage._of_array(self._data)


def storage(self) -> TypedStorage:
    """The deprecated TypedStorage of the tensor's memory (warns once, as PyTorch does)."""
    _warn_typed_storage_removal()
    return TypedStorage(wrap_storage=untyped_storage(self), dtype=self.dtype, _internal=True)
