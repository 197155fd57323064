"""Saving and loading: safe by default, and able to read PyTorch checkpoints.

``dynagrad.save(obj, f)`` writes a `safetensors <https://github.com/huggingface/safetensors>`_ file: the
tensors as raw little-endian bytes, and the structure around them (nested dicts, lists, tuples, numbers,
strings, ...) as JSON in the header's ``__metadata__``. ``dynagrad.load(f)`` reads it back, and also
reads plain ``.safetensors`` files and PyTorch's own checkpoints (``torch.save`` zip files and the older
pickle format) through an unpickler that rebuilds only tensors and plain containers. Loading never runs
code from the file, whatever it holds.

>>> import io, dynagrad
>>> buf = io.BytesIO()
>>> w = dynagrad.ones(2, 3)
>>> dynagrad.save({"epoch": 3, "weights": [w, w]}, buf)
>>> _ = buf.seek(0)
>>> ckpt = dynagrad.load(buf)
>>> ckpt["epoch"], tuple(ckpt["weights"][0].shape), ckpt["weights"][0] is ckpt["weights"][1]
(3, (2, 3), True)

File layout of the dynagrad format (a valid safetensors file, so ``safetensors.torch.load_file`` reads
the tensors of a saved state_dict under their usual names)::

    u64 header length | JSON header {"__metadata__": {"format": "dynagrad", "format_version": "1",
                                                      "structure": "<JSON>"},
                                     "<name>": {"dtype", "shape", "data_offsets"}, ...} | raw bytes
"""
from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import os
import pickle
import struct
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO, Union

import numpy as np

try:  # bfloat16 and float8 live in ml_dtypes; without it those dtypes are simply unavailable
    import ml_dtypes as _ml
except ImportError:  # pragma: no cover
    _ml = None

__all__ = [
    "save", "load", "save_file", "load_file", "inspect_file", "format_inspection",
    "TensorInfo", "CheckpointError", "UnsafeCheckpointError", "FORMAT_NAME", "FORMAT_VERSION",
]

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

FORMAT_NAME = "dynagrad"
FORMAT_VERSION = 1  # bump when the structure JSON changes incompatibly; load refuses newer versions
_MAX_HEADER = 100_000_000  # the safetensors library's own limit on the JSON header


class CheckpointError(ValueError):
    """A file that cannot be read: truncated, corrupted, of an unknown or newer format.

    The message names the file and the problem; nothing half-loaded is ever returned."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A PyTorch checkpoint that asks for a Python global dynagrad will not rebuild (``os.system``...).

    Subclasses ``pickle.UnpicklingError`` as ``torch.load(weights_only=True)``'s error does."""


# ---------------------------------------------------------------------------------------------------
# dtypes: one table linking the safetensors code, NumPy dtype, PyTorch storage class and dtype name.
# ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _DT:
    code: str | None  # safetensors dtype code ("F32"); None when safetensors has no such dtype
    numpy: np.dtype
    storage: str | None  # legacy PyTorch storage class name ("FloatStorage"), None for newer dtypes
    name: str  # PyTorch / dynagrad dtype name ("float32"); also the TensorSpec dtype string


def _dtype_table() -> list[_DT]:
    rows = [("BOOL", np.bool_, "BoolStorage", "bool"), ("U8", np.uint8, "ByteStorage", "uint8"),
            ("I8", np.int8, "CharStorage", "int8"), ("I16", np.int16, "ShortStorage", "int16"),
            ("U16", np.uint16, None, "uint16"), ("I32", np.int32, "IntStorage", "int32"),
            ("U32", np.uint32, None, "uint32"), ("I64", np.int64, "LongStorage", "int64"),
            ("U64", np.uint64, None, "uint64"), ("F16", np.float16, "HalfStorage", "float16"),
            ("F32", np.float32, "FloatStorage", "float32"), ("F64", np.float64, "DoubleStorage", "float64"),
            ("C64", np.complex64, "ComplexFloatStorage", "complex64"),
            (None, np.complex128, "ComplexDoubleStorage", "complex128")]
    if _ml is not None:
        rows += [("BF16", _ml.bfloat16, "BFloat16Storage", "bfloat16"),
                 ("F8_E4M3", _ml.float8_e4m3fn, None, "float8_e4m3fn"),
                 ("F8_E5M2", _ml.float8_e5m2, None, "float8_e5m2")]
    return [_DT(c, np.dtype(d), s, n) for c, d, s, n in rows]


_DTYPES = _dtype_table()
_BY_CODE = {d.code: d for d in _DTYPES if d.code}
_BY_NUMPY = {d.numpy: d for d in _DTYPES}
_BY_NAME = {d.name: d for d in _DTYPES}
_BY_STORAGE = {d.storage: d for d in _DTYPES if d.storage}


def _numpy_dtype_from_name(name: str) -> np.dtype:
    """A NumPy dtype from a name stored in a file, refusing object, structured and other exotic kinds."""
    if name in _BY_NAME:
        return _BY_NAME[name].numpy
    try:
        dt = np.dtype(name)
    except TypeError:
        raise ValueError(f"unknown dtype {name!r}") from None
    if dt.kind not in "biufc" or dt.hasobject or dt.fields is not None or dt.subdtype is not None:
        raise ValueError(f"dtype {name!r} cannot be loaded (only numeric dtypes are stored)")
    return dt.newbyteorder("=")


def _dtype_name(dt: np.dtype) -> str:
    row = _BY_NUMPY.get(dt.newbyteorder("=")) if dt.byteorder not in "|=" else _BY_NUMPY.get(dt)
    return row.name if row else dt.newbyteorder("=").name


def _little_endian(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a C-contiguous array in little-endian byte order (the order of every format here)."""
    dt = arr.dtype
    if dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(dt.newbyteorder("<"))
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def _to_native(arr: np.ndarray) -> np.ndarray:
    """Convert an array read as little-endian bytes to the machine's byte order (a no-op on x86/ARM)."""
    if sys.byteorder == "big" and arr.dtype.itemsize > 1:  # pragma: no cover - no big-endian CI
        return arr.view(arr.dtype.newbyteorder("<")).astype(arr.dtype)
    return arr


# ---------------------------------------------------------------------------------------------------
# The seam to dynagrad's Tensor (imported lazily: this module is imported while dynagrad initialises).
# ---------------------------------------------------------------------------------------------------
def _tensor_class():
    from .tensor import Tensor

    return Tensor


def _parameter_class():
    """``dynagrad.nn.Parameter`` if it exists (a checkpoint stays loadable without dynagrad.nn)."""
    try:
        from .nn import Parameter
    except ImportError:
        return None
    return Parameter


def _is_tensor(obj: Any) -> bool:
    try:
        return isinstance(obj, _tensor_class())
    except ImportError:  # core not importable: nothing can be a dynagrad tensor
        return False


def _is_parameter(obj: Any) -> bool:
    P = _parameter_class()
    return P is not None and isinstance(obj, P)


def _array_of(t) -> np.ndarray:
    """The NumPy array under a tensor, without a copy (so views of one array can be recognised)."""
    arr = getattr(t, "_data", None)
    return arr if isinstance(arr, np.ndarray) else np.asarray(t.detach().numpy())


def _make_tensor(arr: np.ndarray, requires_grad: bool = False, parameter: bool = False):
    """A dynagrad tensor sharing ``arr``'s memory; an ``nn.Parameter`` when asked and available."""
    from . import from_numpy

    t = from_numpy(arr)
    if parameter:
        P = _parameter_class()
        if P is not None:
            return P(t, requires_grad=requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------------------------------------------
# Files: paths or file objects in, always a seekable binary stream plus a name for error messages.
# ---------------------------------------------------------------------------------------------------
def _describe(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"<{type(f).__name__}>"


@contextmanager
def _reading(f: FileLike) -> Iterator[tuple[BinaryIO, str]]:
    name = _describe(f)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            yield fh, name
        return
    if not hasattr(f, "read"):
        raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")
    seekable = getattr(f, "seekable", lambda: False)()
    if not seekable:  # sockets, pipes: read it all, so sizes can be checked before anything is allocated
        f = io.BytesIO(f.read())
    yield f, name


@contextmanager
def _writing(f: FileLike) -> Iterator[BinaryIO]:
    """Write to a temporary file next to the target and rename it into place only once complete,
    so a crash mid-save never leaves a truncated checkpoint where a good one used to be."""
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")
        yield f
        return
    path = os.fspath(f)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _file_size(fh: BinaryIO) -> int:
    pos = fh.tell()
    end = fh.seek(0, io.SEEK_END)
    fh.seek(pos)
    return end


def _read_exact(fh: BinaryIO, n: int, name: str, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise CheckpointError(f"{name}: file is truncated (ended while reading {what})")
    return data


def _read_into(fh: BinaryIO, arr: np.ndarray, name: str, what: str) -> None:
    """Fill ``arr`` from the stream without an intermediate copy; short reads mean truncation."""
    view = memoryview(arr.reshape(-1).view(np.uint8))
    got = 0
    while got < len(view):
        n = fh.readinto(view[got:])
        if not n:
            raise CheckpointError(f"{name}: file is truncated (ended while reading {what})")
        got += n


def _sniff(fh: BinaryIO, name: str) -> str:
    """Which format a stream holds: 'safetensors', 'torch-zip', 'torch-legacy' or 'torch-tar'."""
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "torch-zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "torch-tar"
    # safetensors before pickle: a header length ending in 0x80 makes the first byte look like PROTO
    if len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= _MAX_HEADER:
        return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "torch-legacy"
    if not head:
        raise CheckpointError(f"{name}: file is empty")
    raise CheckpointError(f"{name}: not a dynagrad, safetensors or PyTorch checkpoint "
                          f"(unrecognised leading bytes {head[:8]!r})")


# ---------------------------------------------------------------------------------------------------
# safetensors, read by hand: the header is tiny JSON, and parsing it ourselves lets inspect_file list a
# file without touching the data, read each tensor straight into its own writable array, and check
# every offset against the real file size before allocating anything.
# ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Entry:
    name: str
    dtype: _DT
    shape: tuple[int, ...]
    begin: int
    end: int


def _read_header(fh: BinaryIO, name: str) -> tuple[dict[str, str], dict[str, _Entry], int]:
    """Parse and validate a safetensors header; returns (metadata, entries, data start offset)."""
    size = _file_size(fh)
    raw = _read_exact(fh, 8, name, "the safetensors header length")
    (n,) = struct.unpack("<Q", raw)
    if n > _MAX_HEADER:
        raise CheckpointError(f"{name}: corrupted safetensors header (claims {n} bytes of JSON)")
    if 8 + n > size:
        raise CheckpointError(f"{name}: file is truncated (header says {n} bytes of JSON, "
                              f"file has {size - 8})")
    try:
        header = json.loads(_read_exact(fh, n, name, "the safetensors header").decode("utf-8"),
                            parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{name}: corrupted safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: corrupted safetensors header (not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{name}: corrupted safetensors header (__metadata__ must map str to str)")
    data_len = size - 8 - n
    entries: dict[str, _Entry] = {}
    for key, spec in header.items():
        try:
            entries[key] = _parse_entry(key, spec)
        except (TypeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{name}: corrupted safetensors header at tensor {key!r} ({e})") from None
    last_end = 0
    for e in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if e.begin < last_end:
            raise CheckpointError(f"{name}: corrupted safetensors header (tensor {e.name!r} overlaps another)")
        if e.end > data_len:
            raise CheckpointError(f"{name}: file is truncated (tensor {e.name!r} needs bytes up to "
                                  f"{e.end} of the data section, which has {data_len})")
        last_end = e.end
    return meta, entries, 8 + n


def _no_constants(c: str):
    raise ValueError(f"invalid JSON constant {c}")


def _parse_entry(key: str, spec: Any) -> _Entry:
    if not isinstance(spec, dict):
        raise TypeError("entry is not an object")
    code = spec["dtype"]
    if code not in _BY_CODE:
        raise ValueError(f"unsupported dtype {code!r}" + (" (install ml_dtypes)" if code in
                                                           ("BF16", "F8_E4M3", "F8_E5M2") else ""))
    shape, offsets = spec["shape"], spec["data_offsets"]
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise ValueError(f"bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise ValueError(f"bad data_offsets {offsets!r}")
    dt = _BY_CODE[code]
    nbytes = math.prod(shape) * dt.numpy.itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise ValueError(f"shape {shape} of {code} needs {nbytes} bytes, data_offsets give "
                         f"{offsets[1] - offsets[0]}")
    return _Entry(key, dt, tuple(shape), offsets[0], offsets[1])


def _read_arrays(fh: BinaryIO, entries: dict[str, _Entry], data_start: int, name: str
                 ) -> dict[str, np.ndarray]:
    """Read every entry into its own writable array (in file order, so streams are read forward)."""
    out: dict[str, np.ndarray] = {}
    for e in sorted(entries.values(), key=lambda e: e.begin):
        arr = np.empty(e.shape, e.dtype.numpy)
        fh.seek(data_start + e.begin)
        _read_into(fh, arr, name, f"tensor {e.name!r}")
        if arr.dtype == np.bool_ and arr.size and arr.view(np.uint8).max() > 1:
            raise CheckpointError(f"{name}: corrupted data (bool tensor {e.name!r} holds bytes other than 0/1)")
        out[e.name] = _to_native(arr)
    return {k: out[k] for k in entries}  # header order, which is what users see when they iterate


def _write_safetensors(fh: BinaryIO, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    """Serialise with the safetensors library (so the files are exactly what its readers expect)."""
    try:
        import safetensors
    except ImportError:  # pragma: no cover
        raise ImportError("saving needs the 'safetensors' package: pip install safetensors") from None
    for k, a in arrays.items():
        if _safetensors_row(a.dtype) is None:
            raise TypeError(f"safetensors cannot store dtype {a.dtype} (tensor {k!r})")
    keep = {k: _little_endian(a) for k, a in arrays.items()}  # must outlive serialize(): raw pointers
    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.7: pointer-based specs, no copies
        specs = {k: safetensors.TensorSpec(dtype=_safetensors_row(a.dtype).name, shape=list(a.shape),
                                           data_ptr=a.ctypes.data, data_len=a.nbytes)
                 for k, a in keep.items()}
    else:  # pragma: no cover - older safetensors takes bytes
        specs = {k: {"dtype": _safetensors_row(a.dtype).code, "shape": list(a.shape), "data": a.tobytes()}
                 for k, a in keep.items()}
    data = safetensors.serialize(specs, metadata=metadata)
    fh.write(data)
    del keep


# ---------------------------------------------------------------------------------------------------
# The dynagrad format: structure as tagged JSON, leaves that hold arrays as references to entries.
# ---------------------------------------------------------------------------------------------------
# JSON null/bool/int/str/list are themselves; everything else is an object {"$": tag, ...}:
#   tuple, dict, odict, set, frozenset (items), float (non-finite: "value"), complex, bytes (base64),
#   size (torch.Size-like), dtype, tensor / ndarray / npscalar (an array leaf), ref (a repeat of one).
# Array leaf: {"$": "tensor", "id": n, "key": entry name, "requires_grad", "parameter",
#              "view": {"offset", "shape", "stride"} (in elements, into the entry) when it is a view of
#              another saved array, "dtype": numpy name when stored as raw bytes (e.g. complex128)}.
class _Encoder:
    def __init__(self, obj: Any):
        self.arrays: dict[str, np.ndarray] = {}  # entry name -> array to write
        self.leaf_ids: dict[int, int] = {}  # id(tensor or ndarray) -> leaf id
        self.leaves: list[Any] = []  # keeps saved objects alive so ids stay unique
        self.paths: list[str] = []
        self.used_names: set[str] = {"__metadata__"}
        self._collect(obj)
        self.plan = self._plan_views()
        self.active: set[int] = set()  # containers being encoded, to catch cycles
        self.nodes: dict[int, dict] = {}  # leaf id -> its node, once written
        self.keys: dict[int, str] = {}  # leaf id -> entry holding its elements
        self.structure = self._encode(obj, [])

    # -- pass 1: find every array leaf, so views can be matched to the array they view --
    def _collect(self, obj: Any) -> None:
        stack = [obj]
        seen: set[int] = set()
        while stack:
            o = stack.pop()
            if id(o) in seen:
                continue
            seen.add(id(o))
            if _is_tensor(o) or isinstance(o, np.ndarray):
                if id(o) not in self.leaf_ids:
                    self.leaf_ids[id(o)] = len(self.leaves)
                    self.leaves.append(o)
            elif isinstance(o, dict):
                stack.extend(reversed([x for kv in o.items() for x in kv]))
            elif isinstance(o, (list, tuple, set, frozenset)):
                stack.extend(reversed(list(o)))

    def _plan_views(self) -> dict[int, tuple[int, int, tuple[int, ...], tuple[int, ...]]]:
        """Leaf id -> (id of the leaf it views, element offset, shape, element strides).

        A leaf lying inside a C-contiguous saved leaf of the same dtype is stored as a view of it (the
        memory sharing survives loading); any other leaf is stored compactly, only its own elements."""
        arrays = [_leaf_array(o) for o in self.leaves]
        bounds = [_byte_bounds(a) for a in arrays]
        order = sorted(range(len(arrays)), key=lambda i: (-arrays[i].nbytes, i))
        bases = [i for i in order if arrays[i].flags.c_contiguous and arrays[i].size]
        plan = {}
        for i, a in enumerate(arrays):
            if not a.size:
                continue
            lo, hi = bounds[i]
            for j in bases:
                b = arrays[j]
                if b.dtype != a.dtype or not (bounds[j][0] <= lo and hi <= bounds[j][1]):
                    continue
                if j == i:
                    break
                item = a.dtype.itemsize
                start = a.__array_interface__["data"][0] - bounds[j][0]
                if start % item or any(s % item for s in a.strides):
                    continue
                plan[i] = (j, start // item, a.shape, tuple(s // item for s in a.strides))
                break
        return plan

    def _name(self, path: list[str]) -> str:
        base = ".".join(path) or "tensor"
        name, n = base, 1
        while name in self.used_names:
            n += 1
            name = f"{base}#{n}"
        self.used_names.add(name)
        return name

    # -- pass 2: encode, writing each array leaf once --
    def _encode(self, obj: Any, path: list[str]) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if type(obj) is int:
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"$": "float", "value": repr(obj)}
        if _is_tensor(obj) or isinstance(obj, np.ndarray):
            return self._leaf(obj, path)
        if isinstance(obj, np.generic):  # NumPy scalar: keep its exact dtype as a 0-d array
            return {"$": "npscalar", "array": self._leaf(np.asarray(obj), path, fresh=True)}
        if type(obj) is complex:
            return {"$": "complex", "real": self._encode(obj.real, path), "imag": self._encode(obj.imag, path)}
        if type(obj) in (bytes, bytearray):
            return {"$": type(obj).__name__, "base64": base64.b64encode(obj).decode("ascii")}
        dt = _as_dynagrad_dtype(obj)
        if dt is not None:
            return {"$": "dtype", "name": dt}
        if id(obj) in self.active:
            raise ValueError(f"cannot save a recursive structure (at {_show_path(path)})")
        self.active.add(id(obj))
        try:
            if type(obj) is list:
                return [self._encode(x, path + [str(i)]) for i, x in enumerate(obj)]
            if type(obj) is tuple or _is_size(obj):
                return {"$": "size" if _is_size(obj) else "tuple",
                        "items": [self._encode(x, path + [str(i)]) for i, x in enumerate(obj)]}
            if type(obj) in (set, frozenset):
                return {"$": type(obj).__name__, "items": [self._encode(x, path + ["?"]) for x in obj]}
            if type(obj) in (dict, OrderedDict):
                return {"$": "dict" if type(obj) is dict else "odict",
                        "items": [[self._encode(k, path + ["key"]), self._encode(v, path + [str(k)])]
                                  for k, v in obj.items()]}
        finally:
            self.active.discard(id(obj))
        raise TypeError(f"cannot save object of type {type(obj).__module__}.{type(obj).__qualname__} at "
                        f"{_show_path(path)}: dynagrad.save stores tensors, NumPy arrays, numbers, strings, "
                        "bytes, None and dicts/lists/tuples/sets of them (loading must never run code)")

    def _leaf(self, obj: Any, path: list[str], fresh: bool = False) -> dict:
        tensor = _is_tensor(obj)
        head = {"$": "tensor" if tensor else "ndarray"}
        if tensor:
            head.update(requires_grad=bool(obj.requires_grad), parameter=_is_parameter(obj))
        if fresh:  # a temporary (NumPy scalar): always stored on its own
            return dict(head, key=self._store(obj, path))
        lid = self.leaf_ids[id(obj)]
        if lid in self.nodes:
            return {"$": "ref", "id": lid}
        node = dict(head, id=lid)
        if lid in self.plan:
            base, offset, shape, stride = self.plan[lid]
            node["key"] = self._base_key(base, path)
            node["view"] = {"offset": offset, "shape": list(shape), "stride": list(stride)}
        else:
            node["key"] = self._base_key(lid, path)
        self.nodes[lid] = node
        return node

    def _base_key(self, lid: int, path: list[str]) -> str:
        """The entry holding leaf ``lid``'s elements, written the first time it is needed."""
        if lid not in self.keys:
            self.keys[lid] = self._store(self.leaves[lid], path)
        return self.keys[lid]

    def _store(self, obj: Any, path: list[str]) -> str:
        arr = _leaf_array(obj)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufcV" or (
                arr.dtype.kind == "V" and _BY_NUMPY.get(arr.dtype) is None):
            raise TypeError(f"cannot save array of dtype {arr.dtype} at {_show_path(path)}")
        name = self._name(path)
        self.arrays[name] = arr
        return name


def _leaf_array(obj: Any) -> np.ndarray:
    return obj if isinstance(obj, np.ndarray) else _array_of(obj)


def _byte_bounds(a: np.ndarray) -> tuple[int, int]:
    lo = hi = a.__array_interface__["data"][0]
    for n, s in zip(a.shape, a.strides):
        if n:
            (lo, hi) = (lo + (n - 1) * s, hi) if s < 0 else (lo, hi + (n - 1) * s)
    return lo, hi + a.dtype.itemsize


def _is_size(obj: Any) -> bool:
    return type(obj).__name__ == "Size" and type(obj).__module__.startswith("dynagrad") and isinstance(obj, tuple)


def _as_dynagrad_dtype(obj: Any) -> str | None:
    if type(obj).__name__ == "dtype" and type(obj).__module__ == "dynagrad.dtypes":
        return obj.name
    return None


def _show_path(path: list[str]) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _safetensors_row(dt: np.dtype) -> _DT | None:
    """The table row of a NumPy dtype if safetensors can store it natively (any byte order)."""
    row = _BY_NUMPY.get(dt if dt.byteorder in "|=" else dt.newbyteorder("="))
    return row if row is not None and row.code is not None else None


def _entries_for_storage(enc: _Encoder) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays ready for safetensors, and the true dtypes of those stored as raw bytes (complex128...)."""
    out, raw = {}, {}
    for k, a in enc.arrays.items():
        if _safetensors_row(a.dtype) is not None:
            out[k] = a
        else:
            out[k] = _little_endian(a).reshape(-1).view(np.uint8)
            raw[k] = _dtype_name(a.dtype)
    return out, raw


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], entries: dict[str, _Entry], raw: dict[str, str], name: str):
        self.arrays, self.entries, self.raw, self.name = arrays, entries, raw, name
        self.leaves: dict[int, Any] = {}

    def fail(self, msg: str):
        raise CheckpointError(f"{self.name}: corrupted dynagrad structure ({msg})")

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(x) for x in node]
        if not isinstance(node, dict) or not isinstance(node.get("$"), str):
            self.fail(f"unexpected node {str(node)[:60]}")
        tag = node["$"]
        handler = getattr(self, "_" + tag, None)
        if handler is None:
            self.fail(f"unknown node type {tag!r}")
        try:
            return handler(node)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            self.fail(f"bad {tag!r} node: {e!r}")

    def _items(self, node):
        items = node["items"]
        if not isinstance(items, list):
            raise TypeError("items must be a list")
        return [self.decode(x) for x in items]

    def _tuple(self, node):
        return tuple(self._items(node))

    def _size(self, node):
        try:
            from . import Size
        except ImportError:
            return self._tuple(node)
        return Size(self._items(node))

    def _set(self, node):
        return set(self._items(node))

    def _frozenset(self, node):
        return frozenset(self._items(node))

    def _pairs(self, node):
        pairs = node["items"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise TypeError("items must be [key, value] pairs")
        return [(self.decode(k), self.decode(v)) for k, v in pairs]

    def _dict(self, node):
        return dict(self._pairs(node))

    def _odict(self, node):
        return OrderedDict(self._pairs(node))

    def _float(self, node):
        if node["value"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {node['value']!r}")
        return float(node["value"])

    def _complex(self, node):
        real, imag = self.decode(node["real"]), self.decode(node["imag"])
        if type(real) is not float or type(imag) is not float:
            raise TypeError("complex parts must be floats")
        return complex(real, imag)

    def _bytes(self, node):
        return base64.b64decode(node["base64"], validate=True)

    def _bytearray(self, node):
        return bytearray(self._bytes(node))

    def _dtype(self, node):
        from . import dtypes

        got = getattr(dtypes, node["name"], None)
        if not isinstance(got, dtypes.dtype):
            raise ValueError(f"unknown dtype {node['name']!r}")
        return got

    def _ref(self, node):
        if node["id"] not in self.leaves:
            raise ValueError(f"reference to tensor {node['id']} before its definition")
        return self.leaves[node["id"]]

    def _npscalar(self, node):
        arr = self.decode(node["array"])
        if not isinstance(arr, np.ndarray) or arr.ndim:
            raise TypeError("npscalar must hold a 0-d array")
        return arr[()]

    def _array(self, node) -> np.ndarray:
        key = node["key"]
        if key not in self.arrays:
            raise KeyError(f"no tensor named {key!r} in the file")
        base = self.arrays[key]
        if key in self.raw:  # stored as raw bytes: reinterpret as the recorded dtype
            dt = _numpy_dtype_from_name(self.raw[key])
            if base.dtype != np.uint8 or base.nbytes % dt.itemsize:
                raise ValueError(f"raw entry {key!r} does not hold whole {dt} elements")
            base = _to_native(base.view(dt.newbyteorder("<")).astype(dt)) if sys.byteorder == "big" else base.view(dt)
            self.arrays[key] = base  # later views of the entry must share this array
        view = node.get("view")
        if view is None:
            return base
        return _strided_view(base.reshape(-1), view["offset"], view["shape"], view["stride"])

    def _leaf(self, node, make):
        lid = node.get("id")
        if lid is not None and lid in self.leaves:
            return self.leaves[lid]
        out = make(self._array(node))
        if lid is not None:
            self.leaves[lid] = out
        return out

    def _ndarray(self, node):
        return self._leaf(node, lambda a: a)

    def _tensor(self, node):
        rg, param = node.get("requires_grad", False), node.get("parameter", False)
        if type(rg) is not bool or type(param) is not bool:
            raise TypeError("requires_grad and parameter must be booleans")
        return self._leaf(node, lambda a: _make_tensor(a, rg, param))


def _check_view(numel: int, offset: Any, shape: Any, stride: Any) -> None:
    """Check that ``offset + sum(i_k * stride_k)`` stays inside ``[0, numel)`` for every index; raises
    ValueError otherwise (``as_strided`` itself would happily read or write outside the buffer)."""
    ints = lambda xs: isinstance(xs, (list, tuple)) and all(type(x) is int for x in xs)
    if type(offset) is not int or not ints(shape) or not ints(stride) or len(shape) != len(stride):
        raise ValueError("a view needs an int offset, and int sequences shape and stride of equal length")
    if any(n < 0 for n in shape) or offset < 0:
        raise ValueError(f"negative size or offset in view (offset {offset}, shape {list(shape)})")
    if math.prod(shape) == 0:
        return
    lo = offset + sum((n - 1) * s for n, s in zip(shape, stride) if s < 0)
    hi = offset + sum((n - 1) * s for n, s in zip(shape, stride) if s > 0)
    if lo < 0 or hi >= numel:
        raise ValueError(f"view (offset {offset}, shape {list(shape)}, stride {list(stride)}) reaches outside "
                         f"its storage of {numel} elements")


def _strided_view(flat: np.ndarray, offset: Any, shape: Any, stride: Any) -> np.ndarray:
    """``flat[offset + sum(i_k * stride_k)]`` as a view of the 1-d ``flat``, bounds checked first."""
    _check_view(flat.size, offset, shape, stride)
    if math.prod(shape) == 0:
        return np.empty(tuple(shape), flat.dtype)
    item = flat.dtype.itemsize
    return np.lib.stride_tricks.as_strided(flat[offset:], shape=tuple(shape),
                                           strides=tuple(s * item for s in stride))


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------
def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: Any = None,
         _use_new_zipfile_serialization: bool = True, *, format: str = "dynagrad") -> None:
    """Save ``obj`` (tensors, NumPy arrays, numbers, strings, bytes, None, and dicts / OrderedDicts /
    lists / tuples / sets of them) to a path or binary file object.

    ``format="dynagrad"`` (the default) writes a safetensors file with the structure in its header;
    ``format="torch"`` writes a ``torch.save``-style zip that ``torch.load(weights_only=True)`` reads.
    Views are stored compactly (only their elements); a tensor that appears several times is stored
    once and is one object again after loading; ``requires_grad`` and ``nn.Parameter`` are kept.
    ``pickle_module``, ``pickle_protocol`` and ``_use_new_zipfile_serialization`` exist for
    compatibility with ``torch.save`` and are ignored. Writing to a path is atomic.

    >>> import io, dynagrad
    >>> buf = io.BytesIO()
    >>> dynagrad.save({"w": dynagrad.zeros(3)}, buf)
    >>> _ = buf.seek(0); dynagrad.load(buf)["w"].shape
    dynagrad.Size([3])
    """
    if format == "torch":
        from ._torch_format import write_torch_zip

        with _writing(f) as fh:
            write_torch_zip(obj, fh)
        return
    if format != "dynagrad":
        raise ValueError(f"format must be 'dynagrad' or 'torch', got {format!r}")
    enc = _Encoder(obj)
    meta = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION),
            "structure": json.dumps(enc.structure, separators=(",", ":"), allow_nan=False)}
    arrays, raw = _entries_for_storage(enc)
    if raw:
        meta["raw_dtypes"] = json.dumps(raw, separators=(",", ":"))
    with _writing(f) as fh:
        _write_safetensors(fh, arrays, meta)


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: bool = True,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load what :func:`save` wrote, a plain ``.safetensors`` file (as a dict of tensors), or a PyTorch
    checkpoint (``torch.save`` zip, or the legacy pickle format) -- without torch and without running code.

    PyTorch checkpoints are unpickled with an allow-list of the globals tensors and state_dicts are rebuilt
    from; any other global (``os.system``, ``builtins.eval``, a model class...) raises
    :class:`UnsafeCheckpointError` naming it, before any tensor data is read. ``weights_only=False`` is
    accepted for compatibility but loads the same way: dynagrad never unpickles arbitrary objects.
    Everything lands on the CPU; ``map_location`` may be None, "cpu", a device, or a dict/callable
    (ignored). ``mmap`` is accepted and ignored.

    >>> import io, dynagrad
    >>> buf = io.BytesIO(); dynagrad.save([1, 2.5, "three", None], buf); _ = buf.seek(0)
    >>> dynagrad.load(buf)
    [1, 2.5, 'three', None]
    """
    _check_map_location(map_location)
    unknown = set(pickle_load_args) - {"encoding"}
    if unknown:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(unknown)}")
    with _reading(f) as (fh, name):
        kind = _sniff(fh, name)
        if kind == "safetensors":
            return _load_safetensors(fh, name)
        from ._torch_format import load_torch

        return load_torch(fh, name, kind, encoding=pickle_load_args.get("encoding", "utf-8"))


def _check_map_location(map_location: Any) -> None:
    if map_location is None or isinstance(map_location, dict) or callable(map_location):
        return
    if str(map_location).split(":")[0] not in ("cpu",):
        raise ValueError(f"dynagrad runs on the CPU only; map_location={map_location!r} is not supported")


def _load_safetensors(fh: BinaryIO, name: str) -> Any:
    meta, entries, start = _read_header(fh, name)
    if meta.get("format") != FORMAT_NAME:  # a plain safetensors file: a flat dict of tensors
        return {k: _make_tensor(a) for k, a in _read_arrays(fh, entries, start, name).items()}
    structure, raw = _parse_dynagrad_meta(meta, name)
    arrays = _read_arrays(fh, entries, start, name)
    try:
        return _Decoder(arrays, entries, raw, name).decode(structure)
    except RecursionError:
        raise CheckpointError(f"{name}: structure is nested too deeply to load") from None


def _parse_dynagrad_meta(meta: dict[str, str], name: str) -> tuple[Any, dict[str, str]]:
    version = meta.get("format_version", "")
    if not version.isdigit():
        raise CheckpointError(f"{name}: corrupted dynagrad header (format_version {version!r})")
    if int(version) > FORMAT_VERSION:
        raise CheckpointError(f"{name}: written in dynagrad format version {version}, but this dynagrad "
                              f"reads versions up to {FORMAT_VERSION}; upgrade dynagrad to load it")
    try:
        structure = json.loads(meta["structure"], parse_constant=_no_constants)
        raw = json.loads(meta.get("raw_dtypes", "{}"))
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{name}: corrupted dynagrad header (structure: {e})") from None
    except RecursionError:
        raise CheckpointError(f"{name}: structure is nested too deeply to load") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CheckpointError(f"{name}: corrupted dynagrad header (raw_dtypes)")
    return structure, raw


def save_file(tensors: dict[str, Any], filename: FileLike, metadata: dict[str, str] | None = None) -> None:
    """Write a plain safetensors file from a dict of name -> tensor (or NumPy array), like
    ``safetensors.torch.save_file``; any safetensors reader (PyTorch, JAX, NumPy, Rust) can open it.
    Each tensor is written as its own contiguous copy (memory sharing is not recorded).

    >>> import dynagrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> dynagrad.serialization.save_file({"w": dynagrad.ones(2)}, path, metadata={"format": "pt"})
    >>> dynagrad.serialization.load_file(path)["w"].tolist()
    [1.0, 1.0]
    """
    if not isinstance(tensors, dict):
        raise TypeError(f"save_file expects a dict of name -> tensor, got {type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and
                                     all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str -> str")
    arrays = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"tensor names must be strings, got {k!r}")
        if not (_is_tensor(v) or isinstance(v, np.ndarray)):
            raise TypeError(f"{k!r}: expected a tensor, got {type(v).__name__}")
        arrays[k] = _leaf_array(v)
    with _writing(filename) as fh:
        _write_safetensors(fh, arrays, metadata)


def load_file(filename: FileLike, device: Any = "cpu") -> dict[str, Any]:
    """Read a safetensors file into a dict of name -> tensor, like ``safetensors.torch.load_file``.

    Works on any safetensors file, including the ones :func:`save` writes (their tensors are listed
    under their entry names; use :func:`load` to get the saved structure back)."""
    _check_map_location(device)
    with _reading(filename) as (fh, name):
        if _sniff(fh, name) != "safetensors":
            raise CheckpointError(f"{name}: not a safetensors file")
        _, entries, start = _read_header(fh, name)
        return {k: _make_tensor(a) for k, a in _read_arrays(fh, entries, start, name).items()}


# ---------------------------------------------------------------------------------------------------
# Inspection: list a checkpoint's tensors from its header / pickle alone, reading no tensor data.
# ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class TensorInfo:
    """One tensor (or array) of a checkpoint, as :func:`inspect_file` reports it."""

    name: str  # where it sits: "model.fc.weight", "state.0.exp_avg"
    dtype: str  # "float32", "bfloat16", ...
    shape: tuple[int, ...]
    nbytes: int  # bytes of its own elements
    kind: str = "tensor"  # "tensor", "parameter" or "ndarray"
    note: str = ""  # e.g. "same tensor as x", "view of x", "requires_grad"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


class Inspection(list):
    """The list of :class:`TensorInfo` of one file, plus ``path``, ``format`` and ``file_size``."""

    def __init__(self, entries: list[TensorInfo], path: str, format: str, file_size: int):
        super().__init__(entries)
        self.path, self.format, self.file_size = path, format, file_size


def inspect_file(path: FileLike) -> Inspection:
    """List the tensors of a dynagrad, safetensors or PyTorch checkpoint without loading their data.

    >>> import dynagrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.dgt")
    >>> dynagrad.save({"fc": {"weight": dynagrad.zeros(4, 2)}}, path)
    >>> [(e.name, e.dtype, e.shape) for e in dynagrad.serialization.inspect_file(path)]
    [('fc.weight', 'float32', (4, 2))]
    """
    with _reading(path) as (fh, name):
        size = _file_size(fh)
        kind = _sniff(fh, name)
        if kind == "safetensors":
            meta, entries, _ = _read_header(fh, name)
            if meta.get("format") != FORMAT_NAME:
                infos = [TensorInfo(k, e.dtype.name, e.shape, e.end - e.begin) for k, e in entries.items()]
                return Inspection(infos, name, "safetensors", size)
            structure, raw = _parse_dynagrad_meta(meta, name)
            infos = []
            _inspect_structure(structure, [], entries, raw, infos, {}, name)
            return Inspection(infos, name, f"dynagrad v{meta['format_version']}", size)
        from ._torch_format import inspect_torch

        return Inspection(inspect_torch(fh, name, kind), name, kind, size)


def _inspect_structure(node: Any, path: list[str], entries: dict[str, _Entry], raw: dict[str, str],
                       out: list[TensorInfo], seen: dict[int, str], name: str) -> None:
    if isinstance(node, list):
        for i, x in enumerate(node):
            _inspect_structure(x, path + [str(i)], entries, raw, out, seen, name)
        return
    if not isinstance(node, dict):
        return
    tag = node.get("$")
    if tag in ("tuple", "size", "set", "frozenset") and isinstance(node.get("items"), list):
        for i, x in enumerate(node["items"]):
            _inspect_structure(x, path + [str(i)], entries, raw, out, seen, name)
    elif tag in ("dict", "odict") and isinstance(node.get("items"), list):
        for pair in node["items"]:
            if isinstance(pair, list) and len(pair) == 2:
                k = pair[0]
                _inspect_structure(pair[1], path + [str(k if not isinstance(k, dict) else "?")], entries,
                                   raw, out, seen, name)
    elif tag == "npscalar":
        _inspect_structure(node.get("array"), path, entries, raw, out, seen, name)
    elif tag == "ref":
        first = seen.get(node.get("id"), "?")
        src = next((e for e in out if e.name == first), None)
        if src is not None:
            out.append(dataclasses.replace(src, name=".".join(path), note=f"same tensor as {first}"))
    elif tag in ("tensor", "ndarray"):
        e = entries.get(node.get("key"))
        if e is None:
            raise CheckpointError(f"{name}: corrupted dynagrad structure (no tensor named {node.get('key')!r})")
        dtype = raw.get(e.name, e.dtype.name)
        itemsize = _numpy_dtype_from_name(dtype).itemsize
        view = node.get("view")
        shape = tuple(view["shape"]) if isinstance(view, dict) else (
            e.shape if e.name not in raw else ((e.end - e.begin) // itemsize,))
        notes = []
        if isinstance(view, dict):
            notes.append(f"view of {e.name}")
        if node.get("requires_grad"):
            notes.append("requires_grad")
        kind = "parameter" if node.get("parameter") else tag
        full = ".".join(path) or "tensor"
        seen[node.get("id")] = full
        out.append(TensorInfo(full, dtype, shape, math.prod(shape) * itemsize, kind, ", ".join(notes)))


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def format_inspection(entries: list[TensorInfo], path: str | None = None) -> str:
    """A table of :func:`inspect_file`'s entries, as ``dynagrad inspect FILE`` prints it.

    >>> print(format_inspection([TensorInfo("fc.weight", "float32", (4, 2), 32)], "m.dgt"))  # doctest: +NORMALIZE_WHITESPACE
    m.dgt
    name       dtype    shape   size
    fc.weight  float32  [4, 2]  32 B
    1 tensor, 8 elements, 32 B of tensor data
    """
    path = path if path is not None else getattr(entries, "path", None)
    lines = []
    if path is not None:
        fmt, size = getattr(entries, "format", None), getattr(entries, "file_size", None)
        extra = ", ".join(x for x in (fmt and f"format {fmt}", size is not None and f"{_human(size)}") if x)
        lines.append(f"{path}" + (f" ({extra})" if extra else ""))
    rows = [("name", "dtype", "shape", "size", "")] + [
        (e.name, e.dtype, str(list(e.shape)), _human(e.nbytes),
         ", ".join(x for x in (e.kind if e.kind != "tensor" else "", e.note) if x)) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)).rstrip() + (f"  ({r[4]})" if r[4] else ""))
    unique = [e for e in entries if not e.note.startswith("same tensor as")]
    numel = sum(e.numel for e in unique)
    nbytes = sum(e.nbytes for e in unique if not e.note.startswith("view of"))
    lines.append(f"{len(entries)} tensor{'s' * (len(entries) != 1)}, {numel:,} elements, "
                 f"{_human(nbytes)} of tensor data")
    return "\n".join(lines)
