"""PyTorch checkpoints without torch and without running code: read ``torch.save`` files, write zip ones.

A ``torch.save`` file is a pickle whose globals name PyTorch functions (``torch._utils._rebuild_tensor_v2``)
and whose tensor bytes sit outside the pickle: in ``<archive>/data/<key>`` records of a zip (the format
since PyTorch 1.6), or after the pickle in the same stream (the older format). A pickle can name *any*
global, ``os.system`` included, so :class:`_SafeUnpickler` resolves a fixed allow-list of names to
dynagrad's own stand-ins and refuses every other one. The stand-ins only record what was asked for
(``_TensorStub``); once the whole pickle has been read and checked, the storages are read and the stubs
become tensors -- so a bad file fails before any tensor memory is allocated.

>>> import io, dynagrad
>>> buf = io.BytesIO()
>>> dynagrad.save({"w": dynagrad.ones(2)}, buf, format="torch")   # torch.load(buf) reads this
>>> _ = buf.seek(0); dynagrad.load(buf)["w"].tolist()
[1.0, 1.0]
"""
from __future__ import annotations

import _compat_pickle
import io
import math
import pickle
import struct
import sys
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from .serialization import (
    _BY_NAME,
    _BY_STORAGE,
    _DT,
    _ML_NAMES,
    _ML_STORAGES,
    CheckpointError,
    TensorInfo,
    UnsafeCheckpointError,
    _add_ml_rows,
    _array_of,
    _check_view,
    _file_size,
    _is_parameter,
    _is_tensor,
    _little_endian,
    _make_tensor,
    _numpy_dtype_from_name,
    _read_exact,
    _read_into,
    _row,
    _strided_view,
)

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_LEGACY_PROTOCOL = 1001
_UINT8 = _BY_NAME["uint8"]


# ---------------------------------------------------------------------------------------------------
# Stand-ins for the PyTorch objects a checkpoint's pickle refers to.
# ---------------------------------------------------------------------------------------------------
class _Marker:
    """A named, inert stand-in (a dtype, a storage class, ``torch.Tensor``): not callable, no state."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any):
        self.kind, self.value = kind, value

    def __repr__(self) -> str:
        return f"<torch {self.kind} {self.value}>"

    def __setstate__(self, state):
        raise pickle.UnpicklingError(f"unexpected BUILD on {self!r}")


class _StorageRef:
    """One storage named by a persistent id: its key and size, and its array once read."""

    __slots__ = ("key", "dt", "nbytes", "root", "offset", "array")

    def __init__(self, key: str, dt: _DT, nbytes: int, root: _StorageRef | None = None, offset: int = 0):
        self.key, self.dt, self.nbytes, self.root, self.offset = key, dt, nbytes, root, offset
        self.array: np.ndarray | None = None

    def numel(self, dt: _DT) -> int:
        return self.nbytes // dt.numpy.itemsize

    def __setstate__(self, state):
        raise pickle.UnpicklingError("unexpected BUILD on a storage")


class _TensorStub:
    """What a ``_rebuild_tensor*`` call asked for; becomes a dynagrad tensor once storages are read."""

    __slots__ = ("storage", "dt", "offset", "size", "stride", "requires_grad", "parameter", "conj", "neg")

    def __init__(self, storage, dt, offset, size, stride, requires_grad=False, parameter=False):
        self.storage, self.dt, self.offset, self.size, self.stride = storage, dt, offset, size, stride
        self.requires_grad, self.parameter, self.conj, self.neg = requires_grad, parameter, False, False

    def copy(self) -> _TensorStub:
        out = _TensorStub(self.storage, self.dt, self.offset, self.size, self.stride, self.requires_grad,
                          self.parameter)
        out.conj, out.neg = self.conj, self.neg
        return out

    def __setstate__(self, state):
        pass  # Python attributes set on a tensor (t.foo = 1): PyTorch restores them, dynagrad drops them


class _NumpyDtype:
    """``numpy.dtype(spec, align, copy)`` followed by BUILD(state): resolved to a real dtype only after
    checking it is a plain numeric one (letting the file call dtype.__setstate__ could corrupt NumPy)."""

    __slots__ = ("spec", "byteorder")

    def __init__(self, spec: Any, align: Any = False, copy: Any = False):
        try:
            _numpy_dtype_from_name(spec if isinstance(spec, str) else "")
        except ValueError as e:
            raise UnsafeCheckpointError(f"numpy.dtype({spec!r}) is not allowed: {e}") from None
        self.spec, self.byteorder = spec, "="

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) >= 2 and state[1] in ("<", ">", "|", "=")):
            raise pickle.UnpicklingError("unsupported numpy dtype state")
        if len(state) >= 5 and (state[2] is not None or state[3] is not None or state[4] is not None):
            raise pickle.UnpicklingError("structured numpy dtypes are not allowed")
        self.byteorder = state[1]

    def resolve(self) -> np.dtype:
        dt = _numpy_dtype_from_name(self.spec)
        return dt.newbyteorder(self.byteorder) if self.byteorder in "<>" else dt


class _NumpyArray:
    """``numpy.core.multiarray._reconstruct(ndarray, ...)`` followed by BUILD(state): becomes a real array
    in the final pass, from raw bytes only (object arrays would need arbitrary unpickling)."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("unsupported numpy array state")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _NumpyDtype) or not isinstance(raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("only numeric numpy arrays stored as raw bytes can be loaded")
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"bad numpy array shape {shape!r}")
        dt = dtype.resolve()
        if len(raw) != math.prod(shape) * dt.itemsize:
            raise pickle.UnpicklingError("numpy array data does not match its shape")
        self.array = np.frombuffer(bytearray(raw), dt).reshape(shape, order="F" if fortran else "C")


class _Global:
    """An allow-listed global as the pickle sees it: callable, but immune to BUILD. Handing out the real
    class or function would let a pickle set attributes on it for the whole process
    (``Counter.most_common = 5``, a rebuild function's ``__defaults__``)."""

    __slots__ = ("fn", "name")

    def __init__(self, fn: Callable, name: str):
        self.fn, self.name = fn, name

    def __call__(self, *args):
        return self.fn(*args)

    def __setstate__(self, state):
        raise UnsafeCheckpointError(f"refusing to modify global '{self.name}' (BUILD on a class or function)")


_TENSOR_TYPE = _Marker("class", "torch.Tensor")
_PARAMETER_TYPE = _Marker("class", "torch.nn.Parameter")
_NDARRAY_TYPE = _Marker("class", "numpy.ndarray")


# ---------------------------------------------------------------------------------------------------
# The allow-listed globals, each a small validating function.
# ---------------------------------------------------------------------------------------------------
def _dtype_of(storage_type: Any, what: str) -> _DT | None:
    if not (isinstance(storage_type, _Marker) and storage_type.kind in ("storage", "dtype")):
        raise pickle.UnpicklingError(f"{what}: expected a storage type or dtype, got {storage_type!r}")
    return storage_type.value


def _ints(xs: Any, what: str) -> tuple[int, ...]:
    if not (isinstance(xs, (tuple, list)) and all(type(x) is int for x in xs)):
        raise pickle.UnpicklingError(f"{what} must be a tuple of ints, got {xs!r}")
    return tuple(xs)


def _rebuild_tensor(storage, storage_offset, size, stride, *, dtype: _DT | None = None):
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError(f"tensor storage must come from the file, got {type(storage).__name__}")
    dt = dtype or storage.dt
    if storage.dt is not dt and storage.dt is not _UINT8:  # (an untyped storage holds uint8)
        raise pickle.UnpicklingError(f"storage {storage.key} read as both {storage.dt.name} and {dt.name}")
    if storage.nbytes % dt.numpy.itemsize:
        raise pickle.UnpicklingError(f"storage {storage.key} of {storage.nbytes} bytes holds no whole "
                                     f"{dt.name} elements")
    size, stride = _ints(size, "tensor size"), _ints(stride, "tensor stride")
    try:
        _check_view(storage.numel(dt), storage_offset, size, stride)
    except ValueError as e:
        raise pickle.UnpicklingError(f"tensor in storage {storage.key}: {e}") from None
    return _TensorStub(storage, dt, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    return _finish(_rebuild_tensor(storage, storage_offset, size, stride), requires_grad, metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    dt = _dtype_of(dtype, "_rebuild_tensor_v3")
    return _finish(_rebuild_tensor(storage, storage_offset, size, stride, dtype=dt), requires_grad, metadata)


def _finish(stub: _TensorStub, requires_grad: Any, metadata: Any) -> _TensorStub:
    if type(requires_grad) is not bool:
        raise pickle.UnpicklingError(f"requires_grad must be a bool, got {requires_grad!r}")
    stub.requires_grad = requires_grad
    if metadata:  # the conj / neg bits of lazily conjugated or negated views
        if not isinstance(metadata, dict) or set(metadata) - {"conj", "neg"}:
            raise pickle.UnpicklingError(f"unsupported tensor metadata {metadata!r}")
        stub.conj, stub.neg = bool(metadata.get("conj")), bool(metadata.get("neg"))
    return stub


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, _TensorStub):
        raise pickle.UnpicklingError(f"Parameter data must be a tensor, got {type(data).__name__}")
    if type(requires_grad) is not bool:
        raise pickle.UnpicklingError(f"requires_grad must be a bool, got {requires_grad!r}")
    out = data.copy()
    out.parameter, out.requires_grad = True, requires_grad
    return out


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad, backward_hooks)


_REBUILDERS = {_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
               _rebuild_parameter_with_state}


def _rebuild_from_type_v2(func, new_type, args, state):
    """Tensors carrying Python attributes: rebuilt through one of the functions above, attributes dropped."""
    ok = isinstance(func, _Global) and func.fn in _REBUILDERS and isinstance(args, tuple)
    if not ok or new_type not in (_TENSOR_TYPE, _PARAMETER_TYPE):
        raise UnsafeCheckpointError(f"_rebuild_from_type_v2 of {getattr(func, 'name', func)!r} as "
                                    f"{new_type!r} is not allowed")
    out = func(*args)
    if new_type is _PARAMETER_TYPE and not out.parameter:
        out = out.copy()
        out.parameter = True
    return out


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    """How protocol-2 pickles spell ``bytes``: ``_codecs.encode('\\x00\\x01', 'latin1')``."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii") \
            or errors != "strict":
        raise pickle.UnpicklingError("_codecs.encode is only allowed on a str with latin1/utf-8")
    return obj.encode(encoding)


def _builtin(cls: type, allowed: tuple[type, ...]) -> Callable:
    def make(*args):
        if not all(isinstance(a, allowed) for a in args) or len(args) > 2:
            raise pickle.UnpicklingError(f"{cls.__name__}{args!r} is not allowed")
        return cls(*args)

    return make


def _torch_size(seq=()):
    size = _ints(seq, "torch.Size")
    try:
        from . import Size
    except ImportError:
        return size
    return Size(size)


def _torch_device(kind, index=None):
    if not isinstance(kind, str) or not (index is None or type(index) is int):
        raise pickle.UnpicklingError(f"bad torch.device({kind!r}, {index!r})")
    name = kind if index is None else f"{kind}:{index}"
    try:
        from . import device

        return device(name)
    except Exception:  # no dynagrad.device, or a device dynagrad lacks ("cuda:0"): keep the name
        return name


def _np_scalar(dtype, data=None):
    if not isinstance(dtype, _NumpyDtype) or not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("only numeric numpy scalars stored as raw bytes can be loaded")
    dt = dtype.resolve()
    if len(data) != dt.itemsize:
        raise pickle.UnpicklingError("numpy scalar data does not match its dtype")
    return np.frombuffer(data, dt)[0]


def _np_reconstruct(cls, shape, typecode):
    if cls is not _NDARRAY_TYPE:
        raise pickle.UnpicklingError(f"numpy _reconstruct of {cls!r} is not allowed")
    return _NumpyArray()


def _allowed_globals() -> dict[tuple[str, str], Any]:
    g: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("collections", "Counter"): Counter,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch", "Tensor"): _TENSOR_TYPE,
        ("torch._tensor", "Tensor"): _TENSOR_TYPE,
        ("torch.nn.parameter", "Parameter"): _PARAMETER_TYPE,
        ("torch", "Size"): _torch_size,
        ("torch", "device"): _torch_device,
        ("torch.storage", "UntypedStorage"): _Marker("storage", None),
        ("torch", "UntypedStorage"): _Marker("storage", None),
        ("torch.serialization", "_get_layout"): lambda name: _Marker("layout", str(name)),
        ("_codecs", "encode"): _codecs_encode,
        ("builtins", "set"): _builtin(set, (list, tuple, set, frozenset)),
        ("builtins", "frozenset"): _builtin(frozenset, (list, tuple, set, frozenset)),
        ("builtins", "complex"): _builtin(complex, (int, float)),
        ("builtins", "bytearray"): _builtin(bytearray, (bytes, bytearray, list, str)),
        ("numpy", "ndarray"): _NDARRAY_TYPE,
        ("numpy", "dtype"): _NumpyDtype,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        g[(mod, "scalar")] = _np_scalar
        g[(mod, "_reconstruct")] = _np_reconstruct
    for storage, dt in _BY_STORAGE.items():
        g[("torch", storage)] = g[("torch.cuda", storage)] = _Marker("storage", dt)
    for name, dt in _BY_NAME.items():
        g[("torch", name)] = _Marker("dtype", dt)
    for alias, name in (("half", "float16"), ("float", "float32"), ("double", "float64"),
                        ("long", "int64"), ("int", "int32"), ("short", "int16"), ("cfloat", "complex64"),
                        ("cdouble", "complex128")):
        g[("torch", alias)] = g[("torch", name)]
    return {k: v if isinstance(v, _Marker) else _Global(v, ".".join(k)) for k, v in g.items()}


_ALLOWED = _allowed_globals()
# Known PyTorch globals dynagrad has no equivalent for: refused with a clearer reason than "unsafe".
_UNSUPPORTED = {
    "_rebuild_sparse_tensor": "sparse tensors", "_rebuild_qtensor": "quantized tensors",
    "_rebuild_nested_tensor": "nested tensors", "_rebuild_meta_tensor_no_storage": "meta tensors (no data)",
    "_rebuild_wrapper_subclass": "tensor subclasses",
    "_rebuild_device_tensor_from_numpy": "XLA/device tensors",
    "_rebuild_device_tensor_from_cpu_tensor": "device tensors",
}


class _SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` hands out only the allow-listed stand-ins.

    Every way a pickle reaches a global (GLOBAL, STACK_GLOBAL, INST, OBJ, EXT*) goes through
    ``find_class``; REDUCE, NEWOBJ and BUILD can then only act on what it returned."""

    def __init__(self, file: BinaryIO, name: str, persistent_load: Callable | None = None,
                 encoding: str = "utf-8"):
        super().__init__(file, encoding=encoding)
        self._name, self._persistent = name, persistent_load

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in _compat_pickle.NAME_MAPPING:  # protocol-2 pickles spell builtins as __builtin__.set
            key = _compat_pickle.NAME_MAPPING[key]
        elif module in _compat_pickle.IMPORT_MAPPING:
            key = (_compat_pickle.IMPORT_MAPPING[module], name)
        if key in _ALLOWED:
            return _ALLOWED[key]
        if key[0] in ("torch", "torch.cuda") and key[1] in _ML_NAMES + _ML_STORAGES:
            _add_ml_rows()  # bfloat16 rows, added on first need (maybe after this table was built)
            _ALLOWED.update(_allowed_globals())
            if key in _ALLOWED:
                return _ALLOWED[key]
        if key[0] == "torch._utils" and key[1] in _UNSUPPORTED:
            raise UnsafeCheckpointError(f"{self._name}: holds {_UNSUPPORTED[key[1]]} "
                                        f"('{module}.{name}'), which dynagrad does not support")
        raise UnsafeCheckpointError(
            f"{self._name}: refusing to load global '{module}.{name}': dynagrad rebuilds only tensors, "
            "storages, dtypes, NumPy arrays and plain containers from PyTorch checkpoints, and never runs "
            "code from a file (save a state_dict rather than a whole model, or convert the file with "
            "dynagrad.save)")

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise pickle.UnpicklingError("unexpected persistent id")
        return self._persistent(pid)


def _unpickle(data: BinaryIO, name: str, persistent_load: Callable | None = None,
              encoding: str = "utf-8") -> Any:
    """Run the safe unpickler; every failure becomes a CheckpointError naming the file."""
    try:
        return _SafeUnpickler(data, name, persistent_load, encoding).load()
    except UnsafeCheckpointError:
        raise
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"{name}: pickle is nested too deeply") from None
    except EOFError:
        raise CheckpointError(f"{name}: file is truncated (pickle data ended early)") from None
    except Exception as e:  # the C unpickler raises many types on malformed input
        raise CheckpointError(f"{name}: corrupted pickle data ({type(e).__name__}: {e})") from None


def _storage_pid(pid: Any, legacy: bool) -> tuple[_DT | None, str, int, Any]:
    """Validate a persistent id ``('storage', type, key, location, numel[, view])``."""
    n = 6 if legacy else 5
    if not (isinstance(pid, tuple) and len(pid) == n and pid[0] in ("storage", b"storage")):
        if isinstance(pid, tuple) and pid and pid[0] in ("module", b"module"):
            raise UnsafeCheckpointError("the file holds a pickled nn.Module; dynagrad loads state_dicts only")
        raise pickle.UnpicklingError(f"unsupported persistent id {str(pid)[:80]}")
    dt = _dtype_of(pid[1], "storage")
    key = pid[2].decode("ascii") if isinstance(pid[2], bytes) else pid[2]
    numel = pid[4]
    if not isinstance(key, str) or type(numel) is not int or numel < 0:
        raise pickle.UnpicklingError(f"bad storage id {str(pid)[:80]}")
    return dt, key, numel, pid[5] if legacy else None


# ---------------------------------------------------------------------------------------------------
# The two container formats.
# ---------------------------------------------------------------------------------------------------
class _ZipCheckpoint:
    """A ``torch.save`` zip: ``<prefix>/data.pkl``, ``<prefix>/byteorder``, ``<prefix>/data/<key>``."""

    def __init__(self, fh: BinaryIO, name: str, encoding: str):
        self.name = name
        try:
            self.zf = zipfile.ZipFile(fh)
            names = self.zf.namelist()
        except Exception as e:  # BadZipFile, but also struct/unicode/NotImplemented errors on damaged input
            raise CheckpointError(f"{name}: corrupted zip archive ({e})") from None
        pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise CheckpointError(f"{name}: zip archive is not a torch.save checkpoint (no single data.pkl)")
        self.prefix = pkls[0][: -len("data.pkl")]
        if self.prefix + "constants.pkl" in names:
            raise CheckpointError(f"{name}: this is a TorchScript archive (torch.jit.save); dynagrad cannot "
                                  "run TorchScript -- save the model's state_dict with torch.save instead")
        order = self._record("byteorder", b"little", 16).strip()
        if order not in (b"little", b"big"):
            raise CheckpointError(f"{name}: unknown byteorder {order!r}")
        self.big_endian = order == b"big"
        self.storages: dict[str, _StorageRef] = {}
        self.size = _file_size(fh)
        with self._open_record("data.pkl") as data:  # streamed: a deflated data.pkl could claim any size
            self.obj = _unpickle(data, name, self._persistent_load, encoding)

    def _open_record(self, rec: str):
        try:
            return self.zf.open(self.prefix + rec)
        except Exception as e:  # a damaged local header: bad name, bad signature, unknown compression
            raise CheckpointError(f"{self.name}: corrupted zip record {rec} ({e!r})") from None

    def _record(self, rec: str, default: bytes | None = None, limit: int | None = None) -> bytes:
        try:
            info = self.zf.getinfo(self.prefix + rec)
        except KeyError:
            if default is not None:
                return default
            raise CheckpointError(f"{self.name}: zip archive has no record {self.prefix + rec}") from None
        if limit is not None and info.file_size > limit:
            raise CheckpointError(f"{self.name}: record {rec} is implausibly large")
        try:
            return self.zf.read(info)
        except Exception as e:  # a bad CRC, an unknown compression method, a damaged local header...
            raise CheckpointError(f"{self.name}: corrupted zip record {rec} ({e})") from None

    def _persistent_load(self, pid: Any) -> _StorageRef:
        dt, key, numel, _ = _storage_pid(pid, legacy=False)
        dt = dt or _UINT8  # an UntypedStorage: numel counts bytes; the tensor says the dtype (v3)
        nbytes = numel * dt.numpy.itemsize
        if key in self.storages:
            ref = self.storages[key]
            if ref.nbytes != nbytes:
                raise pickle.UnpicklingError(f"storage {key} referenced with two sizes")
            return ref
        try:
            info = self.zf.getinfo(f"{self.prefix}data/{key}")
        except KeyError:
            raise CheckpointError(f"{self.name}: zip archive has no record data/{key}") from None
        if info.file_size != nbytes:  # checked against the zip directory now; data is read only later
            raise CheckpointError(f"{self.name}: record data/{key} holds {info.file_size} bytes, the pickle "
                                  f"says {nbytes}: file is corrupted")
        if info.compress_size != nbytes or info.header_offset + nbytes > self.size:
            # torch stores storages uncompressed; a compressed one could claim any size (a zip bomb)
            raise CheckpointError(f"{self.name}: record data/{key} is compressed or runs past the end "
                                  "of the file")
        ref = self.storages[key] = _StorageRef(key, dt, nbytes)
        return ref

    def read_storage(self, ref: _StorageRef) -> np.ndarray:
        buf = np.empty(ref.nbytes, np.uint8)
        try:
            with self._open_record(f"data/{ref.key}") as src:
                _read_into(src, buf, self.name, f"data/{ref.key}")
                src.read(1)  # reaching the end makes zipfile verify the CRC
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"{self.name}: corrupted zip record data/{ref.key} ({e})") from None
        return buf


class _LegacyCheckpoint:
    """The pre-1.6 stream: pickles of magic, protocol, sys_info, the object, the storage keys; then each
    storage as an int64 element count and its raw bytes."""

    def __init__(self, fh: BinaryIO, name: str, encoding: str):
        self.fh, self.name = fh, name
        magic = _unpickle(fh, name)
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{name}: not a PyTorch checkpoint (bad magic number)")
        version = _unpickle(fh, name)
        if version != _LEGACY_PROTOCOL:
            raise CheckpointError(f"{name}: unsupported legacy PyTorch protocol version {version!r}")
        info = _unpickle(fh, name)
        if not isinstance(info, dict):
            raise CheckpointError(f"{name}: corrupted legacy header")
        self.endian = "<" if info.get("little_endian", True) else ">"
        self.storages: dict[str, _StorageRef] = {}
        self.obj = _unpickle(fh, name, self._persistent_load, encoding)
        keys = _unpickle(fh, name)
        if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
            raise CheckpointError(f"{name}: corrupted legacy storage list")
        missing = set(self.storages) - set(keys)
        if missing:
            raise CheckpointError(f"{name}: storages {sorted(missing)[:3]} are used but not stored")
        self.keys, self.data_start = keys, fh.tell()

    def _persistent_load(self, pid: Any) -> _StorageRef:
        dt, key, numel, view = _storage_pid(pid, legacy=True)
        dt = dt or _UINT8
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(key, dt, numel * dt.numpy.itemsize)
        elif ref.dt is not dt or ref.nbytes != numel * dt.numpy.itemsize:
            raise pickle.UnpicklingError(f"storage {key} referenced with two types or sizes")
        if view is None:
            return ref
        if not (isinstance(view, tuple) and len(view) == 3 and all(type(v) is int for v in view[1:])):
            raise pickle.UnpicklingError(f"bad storage view {view!r}")
        _, offset, size = view
        if offset < 0 or size < 0 or offset + size > numel:
            raise pickle.UnpicklingError(f"storage view {view!r} is out of bounds")
        return _StorageRef(f"{key}[{offset}:{offset + size}]", dt, size * dt.numpy.itemsize, ref, offset)

    def read_all(self) -> None:
        """Read every storage, in file order, checking its recorded size first."""
        fh, remaining = self.fh, _file_size(self.fh) - self.data_start
        fh.seek(self.data_start)
        for key in self.keys:
            (count,) = struct.unpack(self.endian + "q", _read_exact(fh, 8, self.name, f"storage {key}"))
            ref = self.storages.get(key)
            item = ref.dt.numpy.itemsize if ref else 1
            if count < 0 or count * item > remaining:
                raise CheckpointError(f"{self.name}: file is truncated (storage {key} needs {count * item} "
                                      f"bytes, {remaining} left)")
            if ref is None or count * item != ref.nbytes:
                raise CheckpointError(f"{self.name}: storage {key} size does not match the pickle")
            buf = np.empty(ref.nbytes, np.uint8)
            _read_into(fh, buf, self.name, f"storage {key}")
            ref.array = _typed(buf, ref.dt, self.endian == ">")
            remaining -= 8 + ref.nbytes

    def read_storage(self, ref: _StorageRef) -> np.ndarray:
        raise AssertionError("legacy storages are read by read_all")  # pragma: no cover


def _typed(buf: np.ndarray, dt: _DT, big_endian: bool) -> np.ndarray:
    """Raw bytes as a native-endian 1-d array of ``dt``."""
    if big_endian and dt.numpy.itemsize > 1:
        return buf.view(dt.numpy.newbyteorder(">")).astype(dt.numpy)
    if sys.byteorder == "big" and dt.numpy.itemsize > 1:  # pragma: no cover
        return buf.view(dt.numpy.newbyteorder("<")).astype(dt.numpy)
    return buf.view(dt.numpy)


def _open(fh: BinaryIO, name: str, kind: str, encoding: str = "utf-8"):
    if kind == "torch-zip":
        return _ZipCheckpoint(fh, name, encoding)
    if kind == "torch-legacy":
        return _LegacyCheckpoint(fh, name, encoding)
    raise CheckpointError(f"{name}: PyTorch's pre-0.4 tar checkpoint format is not supported; load and "
                          "re-save it with a recent PyTorch")


# ---------------------------------------------------------------------------------------------------
# From stubs to tensors, and to listings.
# ---------------------------------------------------------------------------------------------------
def load_torch(fh: BinaryIO, name: str, kind: str, encoding: str = "utf-8") -> Any:
    """Load a PyTorch checkpoint already sniffed as ``kind`` ('torch-zip' / 'torch-legacy')."""
    ckpt = _open(fh, name, kind, encoding)
    if isinstance(ckpt, _LegacyCheckpoint):
        ckpt.read_all()
    retyped: dict[tuple[int, str], np.ndarray] = {}  # (id(untyped storage), dtype) -> its typed view

    def storage_array(ref: _StorageRef, dt: _DT) -> np.ndarray:
        if ref.root is not None:  # a legacy storage view
            return storage_array(ref.root, dt)[ref.offset: ref.offset + ref.numel(dt)]
        if ref.array is None:
            ref.array = _typed(ckpt.read_storage(ref), ref.dt, getattr(ckpt, "big_endian", False))
        if ref.array.dtype != dt.numpy:  # an UntypedStorage (bytes) seen through the tensor's dtype
            key = id(ref), dt.name
            if key not in retyped:
                retyped[key] = ref.array.view(np.uint8).view(dt.numpy)
            return retyped[key]
        return ref.array

    def make(stub: _TensorStub):
        arr = _strided_view(storage_array(stub.storage, stub.dt), stub.offset, stub.size, stub.stride)
        if stub.conj:
            arr = np.conj(arr)
        if stub.neg:
            arr = np.negative(arr)
        return _make_tensor(arr, stub.requires_grad, stub.parameter)

    def convert(o: Any) -> Any:
        if isinstance(o, _TensorStub):
            return make(o)
        if isinstance(o, _StorageRef):  # a bare storage: its elements as a 1-d tensor
            dt = o.dt or _UINT8
            return _make_tensor(storage_array(o, dt)[: o.numel(dt)])
        if isinstance(o, _NumpyArray):
            return o.array
        if isinstance(o, _NumpyDtype):
            return o.resolve()
        if isinstance(o, _Marker) and o.kind == "dtype":
            from . import dtypes

            return dtypes.as_dtype(o.value.name) if hasattr(dtypes, o.value.name) else o
        return o

    try:
        return _walk(ckpt.obj, convert)
    except RecursionError:
        raise CheckpointError(f"{name}: structure is nested too deeply") from None
    except ValueError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{name}: corrupted tensor ({e})") from None


def _walk(obj: Any, convert: Callable[[Any], Any]) -> Any:
    """Replace every leaf by ``convert(leaf)`` inside dicts, lists, tuples and sets, keeping the identity
    of shared objects (one stub -> one tensor) and of mutable containers (updated in place)."""
    done: dict[int, Any] = {}
    originals: list[Any] = []  # keeps every visited object alive, so no id in `done` is ever reused

    def go(o: Any) -> Any:
        if id(o) in done:
            return done[id(o)]
        originals.append(o)
        if isinstance(o, dict):
            done[id(o)] = o
            items = [(go(k), go(v)) for k, v in o.items()]
            o.clear()
            o.update(items)
            return o
        if isinstance(o, list):
            done[id(o)] = o
            o[:] = [go(x) for x in o]
            return o
        if isinstance(o, tuple):
            out = tuple(go(x) for x in o)
            out = out if type(o) is tuple else type(o)(out)
        elif isinstance(o, (set, frozenset)):
            out = type(o)(go(x) for x in o)
        else:
            out = convert(o)
        done[id(o)] = out
        return out

    return go(obj)


def inspect_torch(fh: BinaryIO, name: str, kind: str) -> list[TensorInfo]:
    """List a PyTorch checkpoint's tensors from its pickle alone (no storage is read)."""
    ckpt = _open(fh, name, kind)
    out: list[TensorInfo] = []
    seen: dict[int, str] = {}  # id(stub) -> first name, id(storage) -> first name

    containers: set[int] = set()  # each visited once: a pickle can share containers (a DAG, even a cycle)

    def visit(o: Any, path: list[str]) -> None:
        if isinstance(o, (dict, list, tuple)):
            if id(o) in containers:
                return
            containers.add(id(o))
            for k, v in o.items() if isinstance(o, dict) else enumerate(o):
                visit(v, path + [str(k)])
        elif isinstance(o, _TensorStub):
            full = ".".join(path) or "tensor"
            notes = []
            if id(o) in seen:
                notes.append(f"same tensor as {seen[id(o)]}")
            elif id(o.storage) in seen:
                notes.append(f"shares storage with {seen[id(o.storage)]}")
            seen.setdefault(id(o), full)
            seen.setdefault(id(o.storage), full)
            total = o.storage.numel(o.dt)
            if total != math.prod(o.size):
                notes.append(f"view into a storage of {total} elements")
            if o.requires_grad:
                notes.append("requires_grad")
            out.append(TensorInfo(full, o.dt.name, o.size, math.prod(o.size) * o.dt.numpy.itemsize,
                                  "parameter" if o.parameter else "tensor", ", ".join(notes)))
        elif isinstance(o, _NumpyArray) and o.array is not None:
            out.append(TensorInfo(".".join(path), str(o.array.dtype), o.array.shape, o.array.nbytes,
                                  "ndarray"))

    try:
        visit(ckpt.obj, [])
    except RecursionError:
        raise CheckpointError(f"{name}: structure is nested too deeply") from None
    return out


# ---------------------------------------------------------------------------------------------------
# Writing torch.save's zip format. pickle.Pickler can't be used: it verifies every global it writes by
# importing it, and torch is not installed. The few opcodes a state_dict needs are written by hand.
# ---------------------------------------------------------------------------------------------------
class _TorchPickler:
    def __init__(self):
        self.out = io.BytesIO()
        self.memo: dict[int, int] = {}  # id(tensor) -> memo slot, so a shared tensor is written once
        self.storages: list[np.ndarray] = []
        self.keep: list[Any] = []
        self.active: set[int] = set()  # containers being written, to catch cycles
        from .dtypes import dtype
        from .tensor import Size

        self.Size, self.dtype = Size, dtype

    def w(self, b: bytes) -> None:
        self.out.write(b)

    def glob(self, module: str, name: str) -> None:
        self.w(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def put(self, obj: Any) -> None:
        """Memoize the object just written (BINPUT), so later occurrences are one BINGET."""
        slot = len(self.memo)
        self.memo[id(obj)] = slot
        self.keep.append(obj)
        self.w(b"q" + bytes([slot]) if slot < 256 else b"r" + struct.pack("<I", slot))

    def get(self, obj: Any) -> None:
        slot = self.memo[id(obj)]
        self.w(b"h" + bytes([slot]) if slot < 256 else b"j" + struct.pack("<I", slot))

    def dump(self, obj: Any) -> bytes:
        self.w(b"\x80\x02")
        self.save(obj, "obj")
        self.w(b".")
        return self.out.getvalue()

    def save(self, obj: Any, path: str) -> None:
        if obj is None:
            self.w(b"N")
        elif obj is True or obj is False:
            self.w(b"\x88" if obj else b"\x89")
        elif type(obj) is int:
            if 0 <= obj < 256:
                self.w(b"K" + bytes([obj]))
            elif 0 <= obj < 65536:
                self.w(b"M" + struct.pack("<H", obj))
            elif -(2 ** 31) <= obj < 2 ** 31:
                self.w(b"J" + struct.pack("<i", obj))
            else:
                enc = pickle.encode_long(obj)
                self.w(b"\x8a" + bytes([len(enc)]) + enc)
        elif type(obj) is float:
            self.w(b"G" + struct.pack(">d", obj))
        elif type(obj) is str:
            enc = obj.encode("utf-8", "surrogatepass")
            self.w(b"X" + struct.pack("<I", len(enc)) + enc)
        elif _is_tensor(obj):
            self.tensor(obj, path)
        elif type(obj) is self.dtype:
            self.glob("torch", obj.name)
        elif type(obj) is self.Size:
            self.glob("torch", "Size")
            self.save(tuple(obj), path)
            self.w(b"\x85R")  # TUPLE1, REDUCE: torch.Size((2, 3))
        elif id(obj) in self.active:
            raise ValueError(f"cannot save a recursive structure (at {path})")
        elif id(obj) in self.memo:  # a container seen before: shared again on load, as with torch.save
            self.get(obj)
        elif type(obj) in (tuple, list, dict, OrderedDict):
            self.active.add(id(obj))
            self.container(obj, path)
            self.active.discard(id(obj))
            self.put(obj)
        else:
            raise TypeError(f"cannot save object of type {type(obj).__name__} at {path} in torch format: "
                            "only tensors, numbers, strings, None, dtypes, lists, tuples and dicts")

    def container(self, obj: Any, path: str) -> None:
        if type(obj) in (tuple, list):
            self.w(b"(" if type(obj) is tuple else b"](")
            for i, x in enumerate(obj):
                self.save(x, f"{path}[{i}]")
            self.w(b"t" if type(obj) is tuple else b"e")
        else:
            if type(obj) is dict:
                self.w(b"}(")
            else:
                self.glob("collections", "OrderedDict")
                self.w(b")R(")
            for k, v in obj.items():
                self.save(k, f"{path}[{k!r}]")
                self.save(v, f"{path}[{k!r}]")
            self.w(b"u")
            attrs = getattr(obj, "__dict__", None)
            if type(obj) is OrderedDict and attrs:  # e.g. a state_dict's _metadata, as torch writes it
                self.save(dict(attrs), f"{path}.__dict__")
                self.w(b"b")

    def tensor(self, t: Any, path: str) -> None:
        if id(t) in self.memo:
            return self.get(t)
        arr = _little_endian(_array_of(t))  # each tensor gets a compact storage of its own elements
        row = _row(arr.dtype)
        if row is None:
            raise TypeError(f"cannot save dtype {arr.dtype} at {path} in torch format")
        param = _is_parameter(t)
        if param:
            self.glob("torch._utils", "_rebuild_parameter")
            self.w(b"(")
        v3 = row.storage is None  # uint16/32/64, float8: UntypedStorage + dtype, as torch >= 2.3 writes
        self.glob("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")
        self.w(b"((")  # args tuple, then the persistent id tuple
        self.save("storage", path)
        if v3:
            self.glob("torch.storage", "UntypedStorage")
        else:
            self.glob("torch", row.storage)
        self.save(str(len(self.storages)), path)
        self.save("cpu", path)
        self.save(arr.nbytes if v3 else arr.size, path)
        self.w(b"tQ")
        self.storages.append(arr)
        self.save(0, path)
        self.save(tuple(arr.shape), path)
        self.save(_contiguous_strides(arr.shape), path)
        self.save(bool(t.requires_grad) and not param, path)
        self.glob("collections", "OrderedDict")
        self.w(b")R")
        if v3:
            self.glob("torch", row.name)
        self.w(b"tR")
        if param:
            self.save(bool(t.requires_grad), path)
            self.glob("collections", "OrderedDict")
            self.w(b")RtR")
        self.put(t)


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def write_torch_zip(obj: Any, fh: BinaryIO, prefix: str = "archive") -> None:
    """Write ``obj`` as ``torch.save`` does (zip, protocol-2 pickle, 64-byte-aligned storages)."""
    pickler = _TorchPickler()
    data = pickler.dump(obj)
    records = [("data.pkl", data), (".format_version", b"1"), (".storage_alignment", b"64"),
               ("byteorder", b"little")]
    records += [(f"data/{i}", memoryview(a.reshape(-1).view(np.uint8)))
                for i, a in enumerate(pickler.storages)]
    records += [("version", b"3\n")]
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for rec, payload in records:
            info = zipfile.ZipInfo(f"{prefix}/{rec}", date_time=(1980, 1, 1, 0, 0, 0))
            if rec.startswith("data/") and fh.seekable():
                # pad the local header's extra field so the bytes start on a 64-byte boundary, as torch's
                # writer does (its mmap loader relies on it)
                here = fh.tell() + 30 + len(info.filename.encode())
                pad = (-(here + 4)) % 64
                info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # 'FB' id, as PyTorch uses
            info.file_size = len(payload)
            with zf.open(info, "w") as dst:  # streams the array's bytes: no extra copy
                dst.write(payload)
