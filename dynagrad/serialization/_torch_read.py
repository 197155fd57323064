"""Reading PyTorch's checkpoints without torch: ``torch.save`` zip files and the older stream format.

A ``torch.save`` file is a pickle whose globals name PyTorch functions (``torch._utils._rebuild_tensor_v2``)
and whose tensor bytes sit outside the pickle: in ``<archive>/data/<key>`` records of a zip (the format
since PyTorch 1.6), or after the pickle in the same stream (the older format). The pickle is read by
``_unpickler.py`` under the rules of ``_policy.py``; tensors come back as stubs, so a bad file fails before
any tensor memory is allocated. Then the storages are read (each size checked against the zip directory
or the stream), the stubs become tensors, and the objects of a whole model get their state.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from . import _dtypes
from ._dtypes import DT, UINT8
from ._errors import CheckpointError, UnsafeCheckpointError
from ._io import file_size, read_exact, read_into
from ._policy import (
    ClassRef,
    Global,
    LoadPolicy,
    Marker,
    NumpyArray,
    NumpyDtype,
    OpaqueObject,
    StorageRef,
    TensorStub,
    apply_builds,
)
from ._tensors import make_tensor, strided_view
from ._unpickler import MAX_DEPTH, Unpickler

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL = 1001
MAX_PICKLE = 1 << 30  # data.pkl holds no tensor data: a larger one is not a checkpoint
MAX_PICKLE_RATIO = 16  # a compressed data.pkl may inflate at most this much (torch never compresses it)


def unpickle(stream: BinaryIO, remaining: int, name: str, policy: LoadPolicy, encoding: str = "utf-8") -> Any:
    return Unpickler(stream, remaining, name, policy, encoding=encoding).load()


def _storage_pid(pid: Any, legacy: bool) -> tuple[DT | None, str, int, str, Any]:
    """Validate a persistent id ``('storage', type, key, location, numel[, view])``."""
    n = 6 if legacy else 5
    if not (isinstance(pid, tuple) and len(pid) == n and pid[0] in ("storage", b"storage")):
        if isinstance(pid, tuple) and pid and pid[0] in ("module", b"module"):
            raise UnsafeCheckpointError("the file holds the source code of a module (saved by a PyTorch "
                                        "older than 1.0), which dynagrad never runs")
        raise pickle.UnpicklingError(f"unsupported persistent id {str(pid)[:80]}")
    from ._policy import _dtype_of

    dt = _dtype_of(pid[1], "storage")
    key = pid[2].decode("ascii") if isinstance(pid[2], bytes) else pid[2]
    location = pid[3].decode("ascii") if isinstance(pid[3], bytes) else pid[3]
    numel = pid[4]
    if not isinstance(key, str) or len(key) > 256 or type(numel) is not int or numel < 0 \
            or not isinstance(location, str):
        raise pickle.UnpicklingError(f"bad storage id {str(pid)[:80]}")
    return dt, key, numel, location, pid[5] if legacy else None


# ---------------------------------------------------------------------------------------------------
# The two container formats.
# ---------------------------------------------------------------------------------------------------
class ZipCheckpoint:
    """A ``torch.save`` zip: ``<prefix>/data.pkl``, ``<prefix>/byteorder``, ``<prefix>/data/<key>``."""

    def __init__(self, fh: BinaryIO, name: str, mode: str, encoding: str = "utf-8"):
        self.fh, self.name = fh, name
        try:
            self.zf = zipfile.ZipFile(fh)
            names = self.zf.namelist()
        except Exception as e:  # BadZipFile, but also struct/unicode/NotImplemented errors on damaged input
            raise CheckpointError(f"{name}: corrupted zip archive ({str(e)[:200]})") from None
        pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise CheckpointError(f"{name}: zip archive is not a torch.save checkpoint (no single data.pkl)")
        self.prefix = pkls[0][: -len("data.pkl")]
        if self.prefix + "constants.pkl" in names:
            raise CheckpointError(f"{name}: this is a TorchScript archive (torch.jit.save); dynagrad cannot "
                                  "run TorchScript -- save the model's state_dict with torch.save instead")
        order = self._record("byteorder", b"little", 16).strip()
        if order not in (b"little", b"big"):
            raise CheckpointError(f"{name}: unknown byteorder {order[:16]!r}")
        self.big_endian = order == b"big"
        self.storages: dict[str, StorageRef] = {}
        self.size = file_size(fh)
        self.policy = LoadPolicy(name, mode, self._persistent_load)
        data = self._pickle_bytes()
        self.obj = unpickle(io.BytesIO(data), len(data), name, self.policy, encoding)

    def _pickle_bytes(self) -> bytes:
        """data.pkl, its size bounded before it is inflated (a 1 MB zip could hold a 1 GB data.pkl)."""
        info = self.zf.getinfo(self.prefix + "data.pkl")
        limit = MAX_PICKLE if info.compress_type == zipfile.ZIP_STORED else \
            min(MAX_PICKLE, MAX_PICKLE_RATIO * max(info.compress_size, 64))
        if info.file_size > limit or info.compress_size > self.size:
            raise CheckpointError(f"{self.name}: data.pkl claims {info.file_size} bytes "
                                  f"({info.compress_size} compressed), more than a checkpoint's pickle "
                                  f"may hold (at most {limit})")
        try:
            with self.zf.open(info) as src:
                data = src.read(info.file_size + 1)  # never more than the directory promised, plus one
        except Exception as e:
            raise CheckpointError(f"{self.name}: corrupted zip record data.pkl ({str(e)[:200]})") from None
        if len(data) != info.file_size:
            raise CheckpointError(f"{self.name}: corrupted zip record data.pkl (size does not match the "
                                  "zip directory)")
        return data

    def _record(self, rec: str, default: bytes | None = None, limit: int | None = None) -> bytes:
        try:
            info = self.zf.getinfo(self.prefix + rec)
        except KeyError:
            if default is not None:
                return default
            raise CheckpointError(f"{self.name}: zip archive has no record {self.prefix + rec}") from None
        if limit is not None and (info.file_size > limit or info.compress_size > limit):
            raise CheckpointError(f"{self.name}: record {rec} is implausibly large")
        try:
            return self.zf.read(info)
        except Exception as e:  # a bad CRC, an unknown compression method, a damaged local header...
            raise CheckpointError(f"{self.name}: corrupted zip record {rec} ({str(e)[:200]})") from None

    def _persistent_load(self, pid: Any) -> StorageRef:
        dt, key, numel, location, _ = _storage_pid(pid, legacy=False)
        dt = dt or UINT8  # an UntypedStorage: numel counts bytes; the tensor says the dtype (v3)
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
        ref = self.storages[key] = StorageRef(key, dt, nbytes, location=location)
        return ref

    def data_offset(self, key: str) -> int:
        """Where record data/<key>'s bytes start in the file (after its local header)."""
        info = self.zf.getinfo(f"{self.prefix}data/{key}")
        self.fh.seek(info.header_offset)
        head = read_exact(self.fh, 30, self.name, f"the zip header of data/{key}")
        if head[:4] != b"PK\x03\x04":
            raise CheckpointError(f"{self.name}: corrupted zip record data/{key} (bad local header)")
        n, m = struct.unpack("<HH", head[26:30])
        start = info.header_offset + 30 + n + m
        if start + info.file_size > self.size:
            raise CheckpointError(f"{self.name}: record data/{key} runs past the end of the file")
        return start

    def read_storage(self, ref: StorageRef, mmap_path: str | None = None) -> np.ndarray:
        if mmap_path is not None and ref.nbytes:
            return np.memmap(mmap_path, np.uint8, mode="c", offset=self.data_offset(ref.key),
                             shape=(ref.nbytes,))
        buf = np.empty(ref.nbytes, np.uint8)
        try:
            with self.zf.open(f"{self.prefix}data/{ref.key}") as src:
                read_into(src, buf, self.name, f"data/{ref.key}")
                src.read(1)  # reaching the end makes zipfile verify the CRC
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"{self.name}: corrupted zip record data/{ref.key} ({str(e)[:200]})") from None
        return buf


class LegacyCheckpoint:
    """The pre-1.6 stream: pickles of magic, protocol, sys_info, the object, the storage keys; then each
    storage as an int64 element count and its raw bytes."""

    def __init__(self, fh: BinaryIO, name: str, mode: str, encoding: str = "utf-8"):
        self.fh, self.name = fh, name
        self.size = file_size(fh)
        plain = LoadPolicy(name, "weights", None)
        magic = self._unpickle(plain)
        if magic != LEGACY_MAGIC:
            raise CheckpointError(f"{name}: not a PyTorch checkpoint (bad magic number)")
        version = self._unpickle(plain)
        if version != LEGACY_PROTOCOL:
            raise CheckpointError(f"{name}: unsupported legacy PyTorch protocol version {str(version)[:20]}")
        info = self._unpickle(plain)
        if not isinstance(info, dict):
            raise CheckpointError(f"{name}: corrupted legacy header")
        self.big_endian = not info.get("little_endian", True)
        self.storages: dict[str, StorageRef] = {}
        self.policy = LoadPolicy(name, mode, self._persistent_load)
        self.obj = self._unpickle(self.policy, encoding)
        keys = self._unpickle(plain)
        if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
            raise CheckpointError(f"{name}: corrupted legacy storage list")
        missing = set(self.storages) - set(keys)
        if missing:
            raise CheckpointError(f"{name}: storages {sorted(missing)[:3]} are used but not stored")
        self.keys, self.data_start = keys, fh.tell()

    def _unpickle(self, policy: LoadPolicy, encoding: str = "utf-8") -> Any:
        return unpickle(self.fh, self.size - self.fh.tell(), self.name, policy, encoding)

    def _persistent_load(self, pid: Any) -> StorageRef:
        dt, key, numel, location, view = _storage_pid(pid, legacy=True)
        dt = dt or UINT8
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = StorageRef(key, dt, numel * dt.numpy.itemsize, location=location)
        elif ref.dt is not dt or ref.nbytes != numel * dt.numpy.itemsize:
            raise pickle.UnpicklingError(f"storage {key} referenced with two types or sizes")
        if view is None:
            return ref
        if not (isinstance(view, tuple) and len(view) == 3 and all(type(v) is int for v in view[1:])):
            raise pickle.UnpicklingError(f"bad storage view {str(view)[:80]}")
        _, offset, size = view
        if offset < 0 or size < 0 or offset + size > numel:
            raise pickle.UnpicklingError(f"storage view {view!r} is out of bounds")
        return StorageRef(f"{key}[{offset}:{offset + size}]", dt, size * dt.numpy.itemsize, ref, offset,
                          location)

    def read_all(self) -> None:
        """Read every storage, in file order, checking its recorded size first."""
        fh, remaining = self.fh, self.size - self.data_start
        fh.seek(self.data_start)
        for key in self.keys:
            (count,) = struct.unpack("<q" if not self.big_endian else ">q",
                                     read_exact(fh, 8, self.name, f"storage {key}"))
            ref = self.storages.get(key)
            item = ref.dt.numpy.itemsize if ref else 1
            if count < 0 or count * item > remaining:
                raise CheckpointError(f"{self.name}: file is truncated (storage {key} needs {count * item} "
                                      f"bytes, {remaining} left)")
            if ref is None or count * item != ref.nbytes:
                raise CheckpointError(f"{self.name}: storage {key} size does not match the pickle")
            buf = np.empty(ref.nbytes, np.uint8)
            read_into(fh, buf, self.name, f"storage {key}")
            ref.array = _dtypes.typed(buf, ref.dt, self.big_endian)
            remaining -= 8 + ref.nbytes


def open_checkpoint(fh: BinaryIO, name: str, kind: str, mode: str, encoding: str = "utf-8"):
    if kind == "torch-zip":
        return ZipCheckpoint(fh, name, mode, encoding)
    if kind == "torch-legacy":
        return LegacyCheckpoint(fh, name, mode, encoding)
    raise CheckpointError(f"{name}: PyTorch's pre-0.4 tar checkpoint format is not supported; load and "
                          "re-save it with a recent PyTorch")


# ---------------------------------------------------------------------------------------------------
# From stubs to tensors.
# ---------------------------------------------------------------------------------------------------
def load_torch(fh: BinaryIO, name: str, kind: str, *, weights_only: bool = True, encoding: str = "utf-8",
               mmap_path: str | None = None, map_location: Any = None) -> Any:
    """Load a PyTorch checkpoint already sniffed as ``kind`` ('torch-zip' / 'torch-legacy')."""
    ckpt = open_checkpoint(fh, name, kind, "weights" if weights_only else "full", encoding)
    if isinstance(ckpt, LegacyCheckpoint):
        if mmap_path is not None:
            raise CheckpointError(f"{name}: mmap can only be used with files saved with "
                                  "`torch.save(_use_new_zipfile_serialization=True)`, please torch.save "
                                  "your checkpoint with this option in order to use mmap.")
        ckpt.read_all()
    for ref in ckpt.storages.values():
        _place(ref, map_location)
    retyped: dict[tuple[int, str], np.ndarray] = {}  # (id(untyped storage), dtype) -> its typed view

    def storage_array(ref: StorageRef, dt: DT) -> np.ndarray:
        if ref.root is not None:  # a legacy storage view
            return storage_array(ref.root, dt)[ref.offset: ref.offset + ref.numel(dt)]
        if ref.array is None:
            ref.array = _dtypes.typed(ckpt.read_storage(ref, mmap_path), ref.dt, ckpt.big_endian)
        if ref.array.dtype != dt.numpy:  # an UntypedStorage (bytes) seen through the tensor's dtype
            key = id(ref), dt.name
            if key not in retyped:
                retyped[key] = ref.array.view(np.uint8).view(dt.numpy)
            return retyped[key]
        return ref.array

    def make(stub: TensorStub):
        arr = strided_view(storage_array(stub.storage, stub.dt), stub.offset, stub.size, stub.stride)
        if stub.dt.numpy == np.bool_ and arr.size and arr.view(np.uint8).max() > 1:
            raise CheckpointError(f"{name}: corrupted data (a bool tensor holds bytes other than 0 and 1)")
        if stub.conj:
            arr = np.conj(arr)
        if stub.neg:
            arr = np.negative(arr)
        return make_tensor(arr, stub.requires_grad, stub.parameter)

    def convert(o: Any) -> Any:
        if isinstance(o, TensorStub):
            return make(o)
        if isinstance(o, StorageRef):  # a bare storage: its elements as a 1-d tensor
            dt = o.dt or UINT8
            return make_tensor(storage_array(o, dt)[: o.numel(dt)])
        return finish_value(o)

    try:
        root = [ckpt.obj, [state for _, state in ckpt.policy.builds]]
        root = walk(root, convert, name)
        ckpt.policy.builds[:] = [(obj, st) for (obj, _), st in zip(ckpt.policy.builds, root[1])]
        apply_builds(ckpt.policy)
        return root[0]
    except CheckpointError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, pickle.UnpicklingError) as e:
        raise CheckpointError(f"{name}: corrupted checkpoint ({type(e).__name__}: {str(e)[:200]})") from None
    except RecursionError:
        raise CheckpointError(f"{name}: structure is nested too deeply") from None


def finish_value(o: Any) -> Any:
    """The final value of a stand-in that is not a tensor."""
    if isinstance(o, NumpyArray):
        if o.array is None:
            raise CheckpointError("a NumPy array without its data")
        return o.array
    if isinstance(o, NumpyDtype):
        return o.resolve(native=True)
    if isinstance(o, ClassRef):
        return o.cls
    if isinstance(o, Global):
        return o.fn
    if isinstance(o, Marker):
        if o.kind == "dtype":
            from .. import dtypes

            return getattr(dtypes, o.value.name)
        if o.kind == "layout":
            return "torch." + str(o.value)
        if o.kind == "class":
            from ..nn.parameter import Parameter
            from ..tensor import Tensor

            return {"torch.Tensor": Tensor, "torch.nn.Parameter": Parameter, "numpy.ndarray": np.ndarray}.get(
                o.value, o)
    return o


_CONTAINERS = (dict, list, tuple, set, frozenset)


def walk(obj: Any, convert: Callable[[Any], Any], name: str, limit: int = MAX_DEPTH) -> Any:
    """Replace every leaf by ``convert(leaf)`` inside dicts, lists, tuples and sets, without recursion.

    Shared objects stay shared (one stub -> one tensor), mutable containers are updated in place, and a
    structure nested deeper than ``limit`` along any path is refused (heights are computed bottom-up, so
    a deep chain reached through a shallow shared entry is measured too)."""
    done: dict[int, Any] = {}
    height: dict[int, int] = {}
    keep: list[Any] = []  # every visited object stays alive, so no id in `done` is ever reused
    stack: list[tuple[Any, bool]] = [(obj, False)]
    while stack:
        o, expanded = stack.pop()
        oid = id(o)
        if not isinstance(o, _CONTAINERS) and type(o) is not OpaqueObject:
            if oid not in done:
                keep.append(o)
                done[oid] = convert(o)
                height[oid] = 0
            continue
        if not expanded:
            if oid in height or oid in done:
                continue
            keep.append(o)
            height[oid] = 0  # (a cycle back to o counts as flat)
            stack.append((o, True))
            stack.extend((c, False) for c in _children(o))
            continue
        kids = _children(o)
        h = 1 + max((height.get(id(c), 0) for c in kids), default=0)
        if h > limit:
            raise CheckpointError(f"{name}: structure is nested too deeply (more than {limit} levels)")
        height[oid] = h
        new = lambda c: done.get(id(c), c)
        if isinstance(o, dict):
            items = [(new(k), new(v)) for k, v in o.items()]
            if any(k is not k0 or v is not v0 for (k, v), (k0, v0) in zip(items, o.items())):
                o.clear()
                o.update(items)
            done[oid] = o
        elif isinstance(o, list):
            o[:] = [new(c) for c in o]
            done[oid] = o
        elif type(o) is OpaqueObject:
            o.args, o.state = new(o.args), new(o.state)
            done[oid] = o
        elif isinstance(o, tuple):
            items = [new(c) for c in o]
            if all(a is b for a, b in zip(items, o)):
                done[oid] = o
            elif type(o) is tuple:
                done[oid] = tuple(items)
            else:
                done[oid] = tuple.__new__(type(o), items)
        else:  # set, frozenset
            done[oid] = type(o)(new(c) for c in o)
    return done.get(id(obj), obj)


def _children(o: Any) -> list[Any]:
    if isinstance(o, dict):
        return [x for kv in o.items() for x in kv]
    if type(o) is OpaqueObject:
        return [o.args, o.state]
    return list(o)


# ---------------------------------------------------------------------------------------------------
# map_location: where each storage goes (always the CPU here).
# ---------------------------------------------------------------------------------------------------
class UntypedStorage:
    """What a ``map_location`` callable receives: a CPU storage it may return as is (or ``.cpu()``)."""

    def __init__(self, ref: StorageRef):
        self._ref = ref
        self.device = "cpu"

    def nbytes(self) -> int:
        return self._ref.nbytes

    def cpu(self) -> UntypedStorage:
        return self

    def cuda(self, *args: Any, **kwargs: Any):
        raise RuntimeError("map_location moved a storage to CUDA: dynagrad runs on the CPU only")

    def to(self, device: Any = "cpu", *args: Any, **kwargs: Any) -> UntypedStorage:
        _check_cpu(device)
        return self


def _check_cpu(loc: Any) -> None:
    text = str(loc)
    if text.split(":")[0] not in ("cpu",):
        raise RuntimeError(f"Attempting to deserialize object on device '{text}', but dynagrad runs on the "
                           "CPU only. Use torch.load with map_location=torch.device('cpu') (or leave it out) "
                           "to map your storages to the CPU.")


def check_map_location(map_location: Any) -> None:
    """Refuse a map_location that names a device other than the CPU, before the file is read."""
    if map_location is None or callable(map_location) and not isinstance(map_location, (str, dict)):
        return
    if isinstance(map_location, dict):
        for k, _v in map_location.items():
            if not isinstance(k, str):
                raise TypeError(f"map_location keys must be location strings, got {k!r}")
        return
    from ..tensor import device

    if not isinstance(map_location, (str, device)):
        raise TypeError(f"map_location must be None, a string, a torch.device, a dict or a callable, "
                        f"got {type(map_location).__name__}")
    _check_cpu(map_location)


def _place(ref: StorageRef, map_location: Any) -> None:
    """Apply ``map_location`` to one storage, as torch.load does: a dict renames its location, a callable
    is called with the storage and its location; the result must be the CPU."""
    if map_location is None:
        return  # tensors saved on a GPU load onto the CPU: dynagrad has nothing else
    if isinstance(map_location, dict):
        target = map_location.get(ref.location, ref.location)
        if target != ref.location or not ref.location.startswith("cuda"):
            _check_cpu(target)
        return
    if callable(map_location) and not isinstance(map_location, str):
        storage = UntypedStorage(ref)
        got = map_location(storage, ref.location)
        if got is not None and got is not storage:
            raise RuntimeError(f"map_location returned {type(got).__name__}; dynagrad keeps every storage on "
                               "the CPU, so it must return the storage it was given (or None)")
