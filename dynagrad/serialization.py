"""Saving and loading: safe by default, and able to read PyTorch checkpoints.

``dynagrad.save(obj, f)`` writes a `safetensors <https://github.com/huggingface/safetensors>`_ file: the
tensors as raw little-endian bytes, and the structure around them (nested dicts, lists, tuples, numbers,
strings, ...) as JSON in the header's ``__metadata__``. ``dynagrad.load(f)`` reads it back, and also reads
plain ``.safetensors`` files and PyTorch's own checkpoints (``torch.save`` zip files and the older pickle
format, see ``_torch_format.py``). Loading never runs code from the file, whatever it holds.

>>> import io, dynagrad
>>> buf = io.BytesIO()
>>> w = dynagrad.ones(2, 3)
>>> dynagrad.save({"epoch": 3, "weights": [w, w]}, buf)
>>> _ = buf.seek(0)
>>> ckpt = dynagrad.load(buf)
>>> ckpt["epoch"], tuple(ckpt["weights"][0].shape), ckpt["weights"][0] is ckpt["weights"][1]
(3, (2, 3), True)

The file is a valid safetensors file, so ``safetensors.torch.load_file`` reads the tensors of a saved
state_dict under their usual names::

    u64 header length | JSON {"__metadata__": {"format": "dynagrad", "format_version": "1",
                                               "structure": "<JSON>", ["raw_dtypes": "<JSON>"]},
                              "<name>": {"dtype", "shape", "data_offsets"}, ...} | raw bytes

The structure JSON: null, booleans, ints, strings and lists are themselves; anything else is an object
tagged ``"$"``: ``tuple``/``set``/``frozenset``/``size`` (``items``), ``dict``/``odict`` (``items`` as
``[key, value]`` pairs), ``float`` (non-finite ``value``), ``complex``, ``bytes``/``bytearray`` (base64),
``dtype``, ``device``, ``npscalar``, and the array leaves ``tensor``/``ndarray``: ``{"id", "key": entry name,
"requires_grad", "parameter", "view": {"offset", "shape", "stride"}}`` -- ``view`` (in elements) when the
leaf lies inside another saved array, so memory shared on save is shared again on load. A leaf seen
before is ``{"$": "ref", "id"}``. dtypes safetensors lacks (complex128) are stored as bytes with one extra
trailing axis, their dtype recorded in ``raw_dtypes``.
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

__all__ = ["save", "load", "save_file", "load_file", "inspect_file", "format_inspection", "TensorInfo",
           "CheckpointError", "UnsafeCheckpointError", "FORMAT_NAME", "FORMAT_VERSION"]

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

FORMAT_NAME = "dynagrad"
FORMAT_VERSION = 1  # bump when the structure JSON changes incompatibly; load refuses newer versions
_MAX_HEADER = 100_000_000  # the safetensors library's own limit on the JSON header


class CheckpointError(ValueError):
    """A file that cannot be read: truncated, corrupted, of an unknown or newer format.

    The message names the file and the problem; nothing half-loaded is ever returned."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A PyTorch checkpoint naming a Python global dynagrad will not rebuild (``os.system``, a model class).

    Also a ``pickle.UnpicklingError``, like the error of ``torch.load(weights_only=True)``."""


# ---------------------------------------------------------------------------------------------------
# dtypes: one table linking the safetensors code, NumPy dtype, PyTorch storage class and dtype name.
# ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _DT:
    code: str | None  # safetensors dtype code ("F32"); None when safetensors has no such dtype
    numpy: np.dtype
    storage: str | None  # legacy PyTorch storage class ("FloatStorage"); None for dtypes added later
    name: str  # PyTorch / dynagrad dtype name ("float32"), also the safetensors TensorSpec name


def _dtype_table() -> list[_DT]:
    rows = [("BOOL", np.bool_, "BoolStorage", "bool"), ("U8", np.uint8, "ByteStorage", "uint8"),
            ("I8", np.int8, "CharStorage", "int8"), ("I16", np.int16, "ShortStorage", "int16"),
            ("U16", np.uint16, None, "uint16"), ("I32", np.int32, "IntStorage", "int32"),
            ("U32", np.uint32, None, "uint32"), ("I64", np.int64, "LongStorage", "int64"),
            ("U64", np.uint64, None, "uint64"), ("F16", np.float16, "HalfStorage", "float16"),
            ("F32", np.float32, "FloatStorage", "float32"), ("F64", np.float64, "DoubleStorage", "float64"),
            ("C64", np.complex64, "ComplexFloatStorage", "complex64"),
            (None, np.complex128, "ComplexDoubleStorage", "complex128")]
    return [_DT(c, np.dtype(d), s, n) for c, d, s, n in rows]


_BY_CODE: dict[str, _DT] = {}
_BY_NUMPY: dict[np.dtype, _DT] = {}
_BY_NAME: dict[str, _DT] = {}
_BY_STORAGE: dict[str, _DT] = {}
# bfloat16 and float8 live in ml_dtypes, which is slow to import (half a second for 0.7): their rows are
# added when a file or a tensor first needs them.
_ML_CODES, _ML_NAMES, _ML_STORAGES = ("BF16", "F8_E4M3", "F8_E5M2"), ("bfloat16", "float8_e4m3fn", "float8_e5m2"), \
    ("BFloat16Storage",)
_ml_rows_added = False


def _register(rows: list[_DT]) -> None:
    for d in rows:
        _BY_NUMPY[d.numpy] = _BY_NAME[d.name] = d
        if d.code:
            _BY_CODE[d.code] = d
        if d.storage:
            _BY_STORAGE[d.storage] = d


_register(_dtype_table())


def _add_ml_rows() -> bool:
    """Register the ml_dtypes rows (once); False when there is nothing new to look up."""
    global _ml_rows_added
    if _ml_rows_added:
        return False
    _ml_rows_added = True
    try:
        import ml_dtypes as ml
    except ImportError:  # pragma: no cover - ml_dtypes is a core dependency
        return False
    _register([_DT("BF16", np.dtype(ml.bfloat16), "BFloat16Storage", "bfloat16"),
               _DT("F8_E4M3", np.dtype(ml.float8_e4m3fn), None, "float8_e4m3fn"),
               _DT("F8_E5M2", np.dtype(ml.float8_e5m2), None, "float8_e5m2")])
    return True


def _row(dt: np.dtype) -> _DT | None:
    """The table row of a NumPy dtype, whatever its byte order."""
    dt = dt.newbyteorder("=")
    got = _BY_NUMPY.get(dt)
    if got is None and dt.kind == "V" and "ml_dtypes" in sys.modules and _add_ml_rows():
        got = _BY_NUMPY.get(dt)
    return got


def _numpy_dtype_from_name(name: Any) -> np.dtype:
    """A NumPy dtype from a name read from a file, refusing object, structured and other exotic kinds."""
    if name in _ML_NAMES:
        _add_ml_rows()
    if name in _BY_NAME:
        return _BY_NAME[name].numpy
    try:
        dt = np.dtype(name)
    except Exception:  # np.dtype raises TypeError, ValueError, even SyntaxError on odd strings
        raise ValueError(f"unknown dtype {name!r}") from None
    if dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
        raise ValueError(f"dtype {name!r} cannot be loaded (only numeric dtypes are stored)")
    return dt.newbyteorder("=")


def _little_endian(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a C-contiguous array in little-endian byte order, the order of every format here."""
    dt = arr.dtype
    if dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(dt.newbyteorder("<"))
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


# ---------------------------------------------------------------------------------------------------
# The seam to dynagrad's core, imported lazily: this module is imported while dynagrad initialises.
# ---------------------------------------------------------------------------------------------------
def _core():
    from .dtypes import dtype
    from .tensor import Size, Tensor, device

    return Tensor, Size, dtype, device


def _is_tensor(obj: Any) -> bool:
    return isinstance(obj, _core()[0])


def _parameter_class():
    """``dynagrad.nn.Parameter`` if it exists, so checkpoints stay loadable without dynagrad.nn."""
    try:
        from .nn.parameter import Parameter
    except ImportError:
        return None
    return Parameter


def _is_parameter(obj: Any) -> bool:
    P = _parameter_class()
    return P is not None and isinstance(obj, P)


def _array_of(obj: Any) -> np.ndarray:
    """The NumPy array of a tensor or array leaf, without a copy (so views of one array are recognised)."""
    if isinstance(obj, np.ndarray):
        return obj
    arr = getattr(obj, "_data", None)
    return arr if isinstance(arr, np.ndarray) else np.asarray(obj.detach().numpy())


def _make_tensor(arr: np.ndarray, requires_grad: bool = False, parameter: bool = False):
    """A dynagrad tensor sharing ``arr``'s memory; an ``nn.Parameter`` when asked and available."""
    from .creation import from_numpy

    if requires_grad and arr.dtype.kind not in "fcV":  # a tampered file; torch refuses this too
        raise ValueError(f"a {arr.dtype} tensor cannot require gradients")
    t = from_numpy(arr)
    P = _parameter_class() if parameter else None
    if P is not None:
        return P(t, requires_grad=requires_grad)
    return t.requires_grad_(True) if requires_grad else t


# ---------------------------------------------------------------------------------------------------
# Files: a path or a file object in; a seekable binary stream and a name for messages out.
# ---------------------------------------------------------------------------------------------------
@contextmanager
def _reading(f: FileLike) -> Iterator[tuple[BinaryIO, str]]:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            yield fh, os.fspath(f)
        return
    if not hasattr(f, "read"):
        raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")
    name = getattr(f, "name", None)
    name = name if isinstance(name, str) else f"<{type(f).__name__}>"
    if not getattr(f, "seekable", lambda: False)():  # a pipe or socket: sizes must be known up front
        f = io.BytesIO(f.read())
    yield f, name


@contextmanager
def _writing(f: FileLike) -> Iterator[BinaryIO]:
    """Write a path through a temporary file renamed into place when complete, so a crash mid-save never
    leaves a truncated checkpoint where a good one used to be."""
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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint gets open()'s usual permissions
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
    """Fill the contiguous ``arr`` straight from the stream; a short read means a truncated file."""
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
    if head[257:262] == b"ustar":
        return "torch-tar"
    # safetensors before pickle: a header length whose low byte is 0x80 looks like pickle's PROTO
    if head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= _MAX_HEADER:
        return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "torch-legacy"
    if head[:1] in (b"(", b"c", b"]", b"}", b"L", b"I"):  # how protocol 0 and 1 pickles begin
        return "torch-legacy"
    if not head:
        raise CheckpointError(f"{name}: file is empty")
    if len(head) < 16:
        raise CheckpointError(f"{name}: file is truncated or not a checkpoint (only {len(head)} bytes)")
    raise CheckpointError(f"{name}: not a dynagrad, safetensors or PyTorch checkpoint "
                          f"(unrecognised leading bytes {head[:8]!r})")


# ---------------------------------------------------------------------------------------------------
# safetensors, read by hand: parsing the small JSON header ourselves lets inspect_file list a file
# without its data, lets each tensor be read straight into its own writable array, and checks every
# offset against the real file size before anything is allocated.
# ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Entry:
    name: str
    dtype: _DT
    shape: tuple[int, ...]
    begin: int
    end: int


def _no_constants(c: str):
    raise ValueError(f"invalid JSON constant {c}")


def _read_header(fh: BinaryIO, name: str) -> tuple[dict[str, str], dict[str, _Entry], int]:
    """Parse and check a safetensors header; returns (metadata, entries, offset of the data)."""
    size = _file_size(fh)
    (n,) = struct.unpack("<Q", _read_exact(fh, 8, name, "the safetensors header length"))
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
    entries: dict[str, _Entry] = {}
    for key, spec in header.items():
        try:
            entries[key] = _parse_entry(key, spec)
        except (TypeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{name}: corrupted safetensors header at tensor {key!r} ({e})") from None
    data_len, last_end = size - 8 - n, 0
    for e in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if e.begin < last_end:
            raise CheckpointError(f"{name}: corrupted safetensors header "
                                  f"(tensor {e.name!r} overlaps another)")
        if e.end > data_len:
            raise CheckpointError(f"{name}: file is truncated (tensor {e.name!r} needs bytes up to {e.end} "
                                  f"of the data section, which has {data_len})")
        last_end = e.end
    return meta, entries, 8 + n


def _parse_entry(key: str, spec: Any) -> _Entry:
    if not isinstance(spec, dict):
        raise TypeError("entry is not an object")
    code, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if code in _ML_CODES:
        _add_ml_rows()
    if code not in _BY_CODE:
        hint = " (install ml_dtypes)" if code in ("BF16", "F8_E4M3", "F8_E5M2") else ""
        raise ValueError(f"unsupported dtype {code!r}{hint}")
    if not (isinstance(shape, list) and all(type(s) is int and 0 <= s < 2 ** 62 for s in shape)):
        raise ValueError(f"bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise ValueError(f"bad data_offsets {offsets!r}")
    nbytes = math.prod(shape) * _BY_CODE[code].numpy.itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise ValueError(f"shape {shape} of {code} needs {nbytes} bytes, data_offsets give "
                         f"{offsets[1] - offsets[0]}")
    return _Entry(key, _BY_CODE[code], tuple(shape), offsets[0], offsets[1])


def _read_arrays(fh: BinaryIO, entries: dict[str, _Entry], data_start: int, name: str
                 ) -> dict[str, np.ndarray]:
    """Read every entry into its own writable array, in file order so the stream moves forward."""
    out: dict[str, np.ndarray] = {}
    for e in sorted(entries.values(), key=lambda e: e.begin):
        arr = np.empty(e.shape, e.dtype.numpy)
        fh.seek(data_start + e.begin)
        _read_into(fh, arr, name, f"tensor {e.name!r}")
        if sys.byteorder == "big":  # pragma: no cover - the data is little-endian
            arr.byteswap(inplace=True)
        if arr.dtype == np.bool_ and arr.size and arr.view(np.uint8).max() > 1:
            raise CheckpointError(f"{name}: corrupted data (bool tensor {e.name!r} holds bytes "
                                  "other than 0 and 1)")
        out[e.name] = arr
    return {k: out[k] for k in entries}  # in header order, as the user will iterate them


def _write_safetensors(fh: BinaryIO, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    """Serialise with the safetensors library, so files are exactly what its readers expect."""
    import safetensors

    for k, a in arrays.items():
        if _row(a.dtype) is None or _row(a.dtype).code is None:
            raise TypeError(f"safetensors cannot store dtype {a.dtype} (tensor {k!r})")
    keep = {k: _little_endian(a) for k, a in arrays.items()}  # alive until serialize() returns
    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.7 takes pointers: no copies
        specs = {k: safetensors.TensorSpec(dtype=_row(a.dtype).name, shape=list(a.shape),
                                           data_ptr=a.ctypes.data, data_len=a.nbytes)
                 for k, a in keep.items()}
    else:  # pragma: no cover - older safetensors takes bytes
        specs = {k: {"dtype": _row(a.dtype).code, "shape": list(a.shape), "data": a.tobytes()}
                 for k, a in keep.items()}
    fh.write(safetensors.serialize(specs, metadata=metadata))


# ---------------------------------------------------------------------------------------------------
# The dynagrad format: encoding
# ---------------------------------------------------------------------------------------------------
class _Encoder:
    """Turns ``obj`` into the structure JSON (``self.structure``) and named arrays (``self.arrays``)."""

    def __init__(self, obj: Any):
        self.Tensor, self.Size, self.dtype, self.device = _core()
        self.leaves: list[Any] = []  # every tensor / ndarray, in order of first appearance
        self.leaf_ids: dict[int, int] = {}  # id(leaf) -> index in self.leaves
        self.leaf_paths: list[list[str]] = []  # where each leaf first appears: names its entry
        self._collect(obj)
        self.plan = self._plan_views()
        self.arrays: dict[str, np.ndarray] = {}  # entry name -> array to write
        self.raw: dict[str, str] = {}  # entry name -> dtype, for entries stored as bytes
        self.keys: dict[int, str] = {}  # leaf -> entry holding its elements
        self.written: set[int] = set()  # leaves already encoded (later ones become refs)
        self.active: set[int] = set()  # containers being encoded, to catch cycles
        self.structure = self._encode(obj, [])

    def _is_leaf(self, o: Any) -> bool:
        return isinstance(o, (np.ndarray, self.Tensor))

    def _collect(self, obj: Any) -> None:
        """Find every array leaf first, so a view can be matched to a saved array it lies in."""
        stack, seen = [(obj, [])], set()
        while stack:
            o, path = stack.pop()
            if id(o) in seen:
                continue
            seen.add(id(o))
            if self._is_leaf(o):
                self.leaf_ids[id(o)] = len(self.leaves)
                self.leaves.append(o)
                self.leaf_paths.append(path)
            elif type(o) in (dict, OrderedDict):
                kids = [(x, path + [str(k)]) for k, v in o.items() for x in (k, v)]
                stack.extend(reversed(kids))
            elif type(o) in (list, tuple, set, frozenset) or isinstance(o, self.Size):
                stack.extend(reversed([(x, path + [str(i)]) for i, x in enumerate(o)]))

    def _plan_views(self) -> dict[int, tuple[int, int, tuple[int, ...], tuple[int, ...]]]:
        """leaf -> (the leaf it is a view of, element offset, shape, element strides).

        A leaf lying inside a larger C-contiguous leaf of the same dtype is stored as a view of it, so
        the memory they share stays shared after loading; any other leaf is stored compactly."""
        arrays = [_array_of(o) for o in self.leaves]
        bounds = [_byte_bounds(a) for a in arrays]
        bases = sorted((i for i, a in enumerate(arrays) if a.flags.c_contiguous and a.size),
                       key=lambda i: (-arrays[i].nbytes, i))
        plan = {}
        for i, a in enumerate(arrays):
            for j in bases if a.size else ():
                inside = bounds[j][0] <= bounds[i][0] <= bounds[i][1] <= bounds[j][1]
                if arrays[j].dtype != a.dtype or not inside:
                    continue
                if j == i:
                    break
                item, start = a.dtype.itemsize, a.__array_interface__["data"][0] - bounds[j][0]
                if start % item or any(s % item for s in a.strides):
                    continue
                plan[i] = (j, start // item, a.shape, tuple(s // item for s in a.strides))
                break
        return plan

    def _encode(self, obj: Any, path: list[str]) -> Any:
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else {"$": "float", "value": repr(obj)}
        if self._is_leaf(obj):
            return self._leaf(obj)
        if isinstance(obj, np.generic):  # a NumPy scalar: its exact dtype kept in a 0-d array
            return {"$": "npscalar", "array": self._leaf(np.asarray(obj), path)}
        if kind is complex:
            return {"$": "complex", "real": self._encode(obj.real, path),
                    "imag": self._encode(obj.imag, path)}
        if kind in (bytes, bytearray):
            return {"$": kind.__name__, "base64": base64.b64encode(obj).decode("ascii")}
        if kind is self.dtype:
            return {"$": "dtype", "name": obj.name}
        if kind is self.device:
            return {"$": "device", "name": str(obj)}
        if id(obj) in self.active:
            raise ValueError(f"cannot save a recursive structure (at {_show_path(path)})")
        self.active.add(id(obj))
        try:
            if kind is list:
                return [self._encode(x, path + [str(i)]) for i, x in enumerate(obj)]
            if kind in (tuple, set, frozenset, self.Size):
                tag = "size" if kind is self.Size else kind.__name__
                return {"$": tag, "items": [self._encode(x, path + [str(i)]) for i, x in enumerate(obj)]}
            if kind in (dict, OrderedDict):
                return {"$": "dict" if kind is dict else "odict",
                        "items": [[self._encode(k, path + [str(k)]), self._encode(v, path + [str(k)])]
                                  for k, v in obj.items()]}
        finally:
            self.active.discard(id(obj))
        raise TypeError(f"cannot save object of type {kind.__module__}.{kind.__qualname__} at "
                        f"{_show_path(path)}: "
                        "dynagrad.save stores tensors, NumPy arrays, numbers, strings, bytes, None, dtypes "
                        "and dicts/lists/tuples/sets of them, so that loading never runs code")

    def _leaf(self, obj: Any, path: list[str] | None = None) -> dict:
        node: dict[str, Any] = {"$": "ndarray"}
        if isinstance(obj, self.Tensor):
            node = {"$": "tensor", "requires_grad": bool(obj.requires_grad), "parameter": _is_parameter(obj)}
        if path is not None:  # a temporary (a NumPy scalar's array): stored on its own
            return dict(node, key=self._store(obj, path))
        i = self.leaf_ids[id(obj)]
        if i in self.written:
            return {"$": "ref", "id": i}
        self.written.add(i)
        node["id"] = i
        if i in self.plan:
            base, offset, shape, stride = self.plan[i]
            node["key"] = self._key(base)
            node["view"] = {"offset": offset, "shape": list(shape), "stride": list(stride)}
        else:
            node["key"] = self._key(i)
        return node

    def _key(self, i: int) -> str:
        """The entry holding leaf ``i``'s elements, named after where the leaf first appears."""
        if i not in self.keys:
            self.keys[i] = self._store(self.leaves[i], self.leaf_paths[i])
        return self.keys[i]

    def _store(self, obj: Any, path: list[str]) -> str:
        arr = _array_of(obj)
        if arr.dtype.hasobject or (_row(arr.dtype) is None and arr.dtype.kind not in "biufc"):
            raise TypeError(f"cannot save array of dtype {arr.dtype} at {_show_path(path)}")
        base = ".".join(path) or "tensor"
        name, n = base, 1
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        if _row(arr.dtype) is None or _row(arr.dtype).code is None:  # e.g. complex128: store the bytes
            self.raw[name] = arr.dtype.newbyteorder("=").name
            arr = _little_endian(arr)[..., None].view(np.uint8)
        self.arrays[name] = arr
        return name


def _byte_bounds(a: np.ndarray) -> tuple[int, int]:
    """The first byte and one past the last byte ``a`` can touch."""
    lo = hi = a.__array_interface__["data"][0]
    for n, s in zip(a.shape, a.strides):
        lo, hi = (lo + (n - 1) * s, hi) if s < 0 else (lo, hi + (n - 1) * s)
    return lo, hi + a.dtype.itemsize


def _show_path(path: list[str]) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


# ---------------------------------------------------------------------------------------------------
# The dynagrad format: decoding, with every node checked (the file may have been tampered with)
# ---------------------------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], raw: dict[str, str], name: str):
        self.arrays, self.raw, self.name = arrays, dict(raw), name
        self.leaves: dict[int, Any] = {}

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(x) for x in node]
        tag = node.get("$") if isinstance(node, dict) else None
        handler = getattr(self, "_" + tag, None) if isinstance(tag, str) else None
        if handler is None:
            raise CheckpointError(f"{self.name}: corrupted dynagrad structure (unknown node type "
                                  f"{str(tag if tag else node)[:60]!r})")
        try:
            return handler(node)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{self.name}: corrupted dynagrad structure "
                                  f"(bad {tag!r} node: {e})") from None

    def _items(self, node):
        if not isinstance(node["items"], list):
            raise TypeError("items must be a list")
        return [self.decode(x) for x in node["items"]]

    def _pairs(self, node):
        pairs = node["items"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise TypeError("items must be [key, value] pairs")
        return [(self.decode(k), self.decode(v)) for k, v in pairs]

    def _tuple(self, node):
        return tuple(self._items(node))

    def _size(self, node):
        return _core()[1](self._items(node))

    def _set(self, node):
        return set(self._items(node))

    def _frozenset(self, node):
        return frozenset(self._items(node))

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

    def _device(self, node):
        return _core()[3](node["name"])

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
        if key in self.raw:  # stored as bytes: reinterpret as the recorded dtype, once
            dt, base = _numpy_dtype_from_name(self.raw.pop(key)), self.arrays[key]
            if base.dtype != np.uint8 or base.ndim < 1 or base.shape[-1] != dt.itemsize:
                raise ValueError(f"raw entry {key!r} does not hold whole {dt} elements")
            base = base.view(dt.newbyteorder("<"))[..., 0]
            self.arrays[key] = base if base.dtype == dt else base.astype(dt)  # (astype on big-endian hosts)
        view = node.get("view")
        if view is None:
            return self.arrays[key]
        return _strided_view(self.arrays[key].reshape(-1), view["offset"], view["shape"], view["stride"])

    def _leaf(self, node, make):
        i = node.get("id")  # (a NumPy scalar's array has none: it is never shared)
        if i is None:
            return make(self._array(node))
        if i not in self.leaves:
            self.leaves[i] = make(self._array(node))
        return self.leaves[i]

    def _ndarray(self, node):
        return self._leaf(node, lambda a: a)

    def _tensor(self, node):
        rg, param = node.get("requires_grad", False), node.get("parameter", False)
        if type(rg) is not bool or type(param) is not bool:
            raise TypeError("requires_grad and parameter must be booleans")
        return self._leaf(node, lambda a: _make_tensor(a, rg, param))


def _check_view(numel: int, offset: Any, shape: Any, stride: Any) -> None:
    """Check ``offset + sum(i_k * stride_k)`` stays in ``[0, numel)`` for every index, raising ValueError
    otherwise: ``as_strided`` itself would read or write outside the buffer without a word."""
    ints = lambda xs: isinstance(xs, (list, tuple)) and all(type(x) is int and abs(x) < 2 ** 62 for x in xs)
    if type(offset) is not int or not ints(shape) or not ints(stride) or len(shape) != len(stride):
        raise ValueError("a view needs an int offset, and int sequences shape and stride of equal length")
    if offset < 0 or any(n < 0 for n in shape):
        raise ValueError(f"negative size or offset in view (offset {offset}, shape {list(shape)})")
    if math.prod(shape) == 0:
        return
    lo = offset + sum((n - 1) * s for n, s in zip(shape, stride) if s < 0)
    hi = offset + sum((n - 1) * s for n, s in zip(shape, stride) if s > 0)
    if lo < 0 or hi >= numel:
        raise ValueError(f"view (offset {offset}, shape {list(shape)}, stride {list(stride)}) reaches "
                         f"outside its storage of {numel} elements")


def _strided_view(flat: np.ndarray, offset: Any, shape: Any, stride: Any) -> np.ndarray:
    """``flat[offset + sum(i_k * stride_k)]`` as a view of the 1-d ``flat``, bounds checked first."""
    _check_view(flat.size, offset, shape, stride)
    if math.prod(shape) == 0:
        return np.empty(tuple(shape), flat.dtype)
    return np.lib.stride_tricks.as_strided(flat[offset:], shape=tuple(shape),
                                           strides=tuple(s * flat.dtype.itemsize for s in stride))


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
    except (KeyError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{name}: corrupted dynagrad header (structure: {e!r})") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CheckpointError(f"{name}: corrupted dynagrad header (raw_dtypes)")
    return structure, raw


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------
def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: Any = None,
         _use_new_zipfile_serialization: bool = True, *, format: str = "dynagrad") -> None:
    """Save ``obj`` -- tensors, NumPy arrays, numbers, strings, bytes, None, dtypes, and dicts /
    OrderedDicts / lists / tuples / sets of them -- to a path or a binary file object.

    ``format="dynagrad"`` (the default) writes a safetensors file with the structure in its header;
    ``format="torch"`` writes the zip that ``torch.save`` writes, which ``torch.load(weights_only=True)``
    reads. Views are stored compactly (only their own elements); a tensor that appears several times is
    stored once and is one object again after loading; ``requires_grad`` and ``nn.Parameter`` are kept.
    Writing to a path is atomic. ``pickle_module``, ``pickle_protocol`` and
    ``_use_new_zipfile_serialization`` exist for compatibility with ``torch.save`` and are ignored.

    >>> import io, dynagrad
    >>> buf = io.BytesIO()
    >>> dynagrad.save({"w": dynagrad.zeros(3)}, buf)
    >>> _ = buf.seek(0); dynagrad.load(buf)["w"].shape
    torch.Size([3])
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
    if enc.raw:
        meta["raw_dtypes"] = json.dumps(enc.raw, separators=(",", ":"))
    with _writing(f) as fh:
        _write_safetensors(fh, enc.arrays, meta)


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: bool = True,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load what :func:`save` wrote, a plain ``.safetensors`` file (as a dict of tensors), or a PyTorch
    checkpoint (``torch.save``'s zip or its older pickle format) -- without torch and without running code.

    A PyTorch checkpoint's pickle is read with an allow-list of the globals tensors and state_dicts are
    rebuilt from; any other global (``os.system``, ``builtins.eval``, a model class) raises
    :class:`UnsafeCheckpointError` naming it, before any tensor data is read. ``weights_only=False`` is
    accepted but changes nothing: dynagrad never unpickles arbitrary objects. Everything lands on the CPU:
    ``map_location`` may be None, "cpu", a CPU device, or a dict or callable (ignored). ``pickle_module``
    and ``mmap`` are accepted for compatibility and ignored.

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
        if kind != "safetensors":
            from ._torch_format import load_torch

            return load_torch(fh, name, kind, encoding=pickle_load_args.get("encoding", "utf-8"))
        meta, entries, start = _read_header(fh, name)
        if meta.get("format") != FORMAT_NAME:  # a plain safetensors file: a flat dict of tensors
            return {k: _make_tensor(a) for k, a in _read_arrays(fh, entries, start, name).items()}
        structure, raw = _parse_dynagrad_meta(meta, name)
        arrays = _read_arrays(fh, entries, start, name)
        try:
            return _Decoder(arrays, raw, name).decode(structure)
        except RecursionError:
            raise CheckpointError(f"{name}: structure is nested too deeply to load") from None


def _check_map_location(map_location: Any) -> None:
    if map_location is None or isinstance(map_location, dict) or callable(map_location):
        return
    if str(map_location).split(":")[0] != "cpu":
        raise ValueError(f"dynagrad runs on the CPU only; map_location={map_location!r} is not supported")


def save_file(tensors: dict[str, Any], filename: FileLike, metadata: dict[str, str] | None = None) -> None:
    """Write a plain safetensors file from a dict of name -> tensor (or NumPy array), as
    ``safetensors.torch.save_file`` does; any safetensors reader (PyTorch, JAX, NumPy, Rust) opens it.
    Each tensor is written as its own contiguous copy: memory sharing is not recorded.

    >>> import dynagrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> dynagrad.serialization.save_file({"w": dynagrad.ones(2)}, path, metadata={"format": "pt"})
    >>> dynagrad.serialization.load_file(path)["w"].tolist()
    [1.0, 1.0]
    """
    if not isinstance(tensors, dict):
        raise TypeError(f"save_file expects a dict of name -> tensor, got {type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str -> str")
    for k, v in tensors.items():
        if not isinstance(k, str) or not (_is_tensor(v) or isinstance(v, np.ndarray)):
            raise TypeError(f"save_file expects str names and tensors, got {k!r}: {type(v).__name__}")
    with _writing(filename) as fh:
        _write_safetensors(fh, {k: _array_of(v) for k, v in tensors.items()}, metadata)


def load_file(filename: FileLike, device: Any = "cpu") -> dict[str, Any]:
    """Read any safetensors file into a dict of name -> tensor, as ``safetensors.torch.load_file`` does
    (a file :func:`save` wrote gives its entries; :func:`load` gives back its saved structure)."""
    _check_map_location(device)
    with _reading(filename) as (fh, name):
        if _sniff(fh, name) != "safetensors":
            raise CheckpointError(f"{name}: not a safetensors file")
        _, entries, start = _read_header(fh, name)
        return {k: _make_tensor(a) for k, a in _read_arrays(fh, entries, start, name).items()}


# ---------------------------------------------------------------------------------------------------
# Inspection: a checkpoint's tensors from its header or pickle alone, reading no tensor data.
# ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class TensorInfo:
    """One tensor (or array) of a checkpoint, as :func:`inspect_file` reports it."""

    name: str  # where it sits: "model.fc.weight", "optimizer.state.0.exp_avg"
    dtype: str  # "float32", "bfloat16", ...
    shape: tuple[int, ...]
    nbytes: int  # bytes of its own elements
    kind: str = "tensor"  # "tensor", "parameter" or "ndarray"
    note: str = ""  # e.g. "same tensor as x", "view of x", "requires_grad"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


class Inspection(list):
    """The :class:`TensorInfo` list of one file, with its ``path``, ``format`` and ``file_size``."""

    def __init__(self, entries: list[TensorInfo], path: str, format: str, file_size: int):
        super().__init__(entries)
        self.path, self.format, self.file_size = path, format, file_size


def inspect_file(path: FileLike) -> Inspection:
    """List the tensors of a dynagrad, safetensors or PyTorch checkpoint without reading their data.

    >>> import dynagrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.dgt")
    >>> dynagrad.save({"fc": {"weight": dynagrad.zeros(4, 2)}}, path)
    >>> [(e.name, e.dtype, e.shape) for e in dynagrad.serialization.inspect_file(path)]
    [('fc.weight', 'float32', (4, 2))]
    """
    with _reading(path) as (fh, name):
        size, kind = _file_size(fh), _sniff(fh, name)
        if kind != "safetensors":
            from ._torch_format import inspect_torch

            return Inspection(inspect_torch(fh, name, kind), name, kind, size)
        meta, entries, _ = _read_header(fh, name)
        if meta.get("format") != FORMAT_NAME:
            infos = [TensorInfo(k, e.dtype.name, e.shape, e.end - e.begin) for k, e in entries.items()]
            return Inspection(infos, name, "safetensors", size)
        structure, raw = _parse_dynagrad_meta(meta, name)
        infos: list[TensorInfo] = []
        try:
            _inspect_node(structure, [], entries, raw, infos, {})
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            raise CheckpointError(f"{name}: corrupted dynagrad structure ({e!r})") from None
        return Inspection(infos, name, f"dynagrad v{meta['format_version']}", size)


def _inspect_node(node: Any, path: list[str], entries: dict[str, _Entry], raw: dict[str, str],
                  out: list[TensorInfo], seen: dict[int, TensorInfo]) -> None:
    tag = node.get("$") if isinstance(node, dict) else None
    if isinstance(node, list) or tag in ("tuple", "size", "set", "frozenset"):
        for i, x in enumerate(node if isinstance(node, list) else node["items"]):
            _inspect_node(x, path + [str(i)], entries, raw, out, seen)
    elif tag in ("dict", "odict"):
        for k, v in node["items"]:
            _inspect_node(v, path + [str(k) if not isinstance(k, dict) else "?"], entries, raw, out, seen)
    elif tag == "npscalar":
        _inspect_node(node["array"], path, entries, raw, out, seen)
    elif tag == "ref":
        first = seen[node["id"]]
        out.append(dataclasses.replace(first, name=".".join(path), note=f"same tensor as {first.name}"))
    elif tag in ("tensor", "ndarray"):
        e = entries[node["key"]]
        dtype = raw.get(e.name, e.dtype.name)
        view = node.get("view")
        shape = tuple(view["shape"]) if view is not None else e.shape[:-1] if e.name in raw else e.shape
        notes = [f"view of {e.name}"] * (view is not None)
        notes += ["requires_grad"] * bool(node.get("requires_grad"))
        info = TensorInfo(".".join(path) or "tensor", dtype, shape,
                          math.prod(shape) * _numpy_dtype_from_name(dtype).itemsize,
                          "parameter" if node.get("parameter") else tag, ", ".join(notes))
        seen[node.get("id")] = info
        out.append(info)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover


def format_inspection(entries: list[TensorInfo], path: str | None = None) -> str:
    """A table of :func:`inspect_file`'s entries, as ``dynagrad inspect FILE`` prints it.

    >>> print(format_inspection([TensorInfo("fc.weight", "float32", (4, 2), 32)], "m.dgt"))
    m.dgt
    name       dtype    shape   size
    fc.weight  float32  [4, 2]  32 B
    1 tensor, 8 elements
    """
    path = path if path is not None else getattr(entries, "path", None)
    lines = []
    if path is not None:
        about = isinstance(entries, Inspection)
        lines.append(path + (f" (format {entries.format}, {_human(entries.file_size)})" if about else ""))
    rows = [("name", "dtype", "shape", "size", "")] + [
        (e.name, e.dtype, str(list(e.shape)), _human(e.nbytes),
         ", ".join(x for x in ("" if e.kind == "tensor" else e.kind, e.note) if x)) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for *cols, note in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()
        lines.append(line + (f"  ({note})" if note else ""))
    numel = sum(e.numel for e in entries if not e.note.startswith("same tensor as"))
    lines.append(f"{len(entries)} tensor{'s' * (len(entries) != 1)}, {numel:,} elements")
    return "\n".join(lines)
