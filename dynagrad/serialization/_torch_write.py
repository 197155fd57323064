"""Writing what ``torch.save`` writes: its zip format (or, on request, its legacy stream), from dynagrad
objects -- state_dicts, optimizer states, nested containers and whole models.

The pickle is written by the standard library's pure-Python pickler with three changes: tensors become
``torch._utils._rebuild_tensor_v2`` / ``_v3`` / ``_rebuild_parameter`` calls on persistent storage ids,
as PyTorch writes them; globals are written under PyTorch's names (``dynagrad.nn.modules.linear.Linear``
is ``torch.nn.modules.linear.Linear``, ``dynagrad.float16`` is ``torch.float16``) without importing them
(torch is not installed); and an nn.Module's state gets the entries PyTorch's module of the same class
keeps that dynagrad's does not (an RNN's ``_flat_weights``, a convolution's ``transposed``).

Tensors that view one NumPy buffer share one storage (with their offsets and strides) so views stay
views after loading, unless that storage would be mostly bytes no saved tensor uses (a column of a large
matrix saved alone): then each is stored compactly.
"""
from __future__ import annotations

import copyreg
import io
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict
from types import FunctionType
from typing import Any, BinaryIO

import numpy as np

from . import _dtypes
from ._tensors import array_of, core, is_parameter, is_tensor

DEFAULT_PROTOCOL = 2
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
# dynagrad classes kept in another file than PyTorch's (the loader maps the other way by class name)
_TORCH_MODULE_OF = {"MultiheadAttention": "torch.nn.modules.activation",
                    "ChannelShuffle": "torch.nn.modules.channelshuffle",
                    "Fold": "torch.nn.modules.fold", "Unfold": "torch.nn.modules.fold"}


class GlobalName:
    """A global written by name only (``torch._utils._rebuild_tensor_v2``): nothing to import."""

    __slots__ = ("module", "name")
    _cache: dict[tuple[str, str], GlobalName] = {}

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # (the pickler insists a reduce function be callable)
        raise TypeError(f"{self.module}.{self.name} exists only in PyTorch")

    @classmethod
    def of(cls, module: str, name: str) -> GlobalName:
        key = (module, name)
        got = cls._cache.get(key)
        if got is None:
            got = cls._cache[key] = cls(module, name)
        return got


def torch_name(obj: Any) -> tuple[str, str]:
    """The (module, qualname) PyTorch knows ``obj`` by; other objects keep their own."""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    if module is None or qualname is None:
        raise pickle.PicklingError(f"Can't pickle {obj!r}: it has no module and name")
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise pickle.PicklingError(f"Can't pickle local object {qualname!r} ({module}): define it at the top "
                                   "level of a module")
    if module == "dynagrad" or module.startswith("dynagrad."):
        if isinstance(obj, type):
            if qualname in _TORCH_MODULE_OF and module.startswith("dynagrad.nn.modules"):
                return _TORCH_MODULE_OF[qualname], qualname
            return "torch" + module[len("dynagrad"):], qualname
        for home, torch_home in (("dynagrad.nn.functional", "torch.nn.functional"), ("dynagrad", "torch")):
            if vars(sys.modules[home]).get(qualname) is obj if home in sys.modules else False:
                return torch_home, qualname
        return "torch" + module[len("dynagrad"):], qualname
    if module == "__mp_main__":  # a class of the main script, pickled from a worker process
        module = "__main__"
    return module, qualname


class StorageToken:
    """One storage to write: its bytes and how its persistent id names it."""

    __slots__ = ("key", "row", "data")

    def __init__(self, key: str, row: _dtypes.DT | None, data: np.ndarray):
        self.key, self.row, self.data = key, row, data  # row None: UntypedStorage (bytes)

    def pid(self, legacy: bool) -> tuple:
        typ = GlobalName.of("torch.storage", "UntypedStorage") if self.row is None else \
            GlobalName.of("torch", self.row.storage)
        numel = self.data.nbytes if self.row is None else self.data.nbytes // self.row.numpy.itemsize
        return ("storage", typ, self.key, "cpu", numel) + ((None,) if legacy else ())


class _Plan:
    """Which storage each tensor goes to, decided from all the tensors at once."""

    def __init__(self):
        self.storages: list[StorageToken] = []
        self.place: dict[int, tuple[StorageToken, int, tuple[int, ...], tuple[int, ...]]] = {}
        self.keep: list[Any] = []

    def new_storage(self, row: _dtypes.DT, data: np.ndarray) -> StorageToken:
        tok = StorageToken(str(len(self.storages)), None if row.storage is None else row, data)
        self.storages.append(tok)
        return tok

    def compact(self, t: Any, arr: np.ndarray, row: _dtypes.DT) -> None:
        flat = _dtypes.little_endian(arr)
        tok = self.new_storage(row, flat.reshape(-1).view(np.uint8))
        self.place[id(t)] = (tok, 0, arr.shape, _contiguous_strides(arr.shape))

    def add_group(self, tensors: list[Any]) -> None:
        """Tensors of one dtype on one NumPy buffer: one storage when that wastes little, else one each
        (a negative stride, which PyTorch cannot express, always gets a compact copy)."""
        arrays = [array_of(t) for t in tensors]
        row = _dtypes.row(arrays[0].dtype)
        if row is None:
            _unsaveable(arrays[0])
        item = arrays[0].dtype.itemsize
        fits = [a.dtype.isnative and all(s >= 0 and s % item == 0 for s in a.strides) for a in arrays]
        shared = [(t, a) for t, a, ok in zip(tensors, arrays, fits) if ok]
        root = _root(arrays[0])
        if shared and root.flags.c_contiguous and sys.byteorder == "little":
            bounds = [_byte_bounds(a) for _, a in shared]
            lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
            used = sum(a.nbytes for _, a in shared)
            base = root.__array_interface__["data"][0]
            if (lo - base) % item == 0 and hi - lo <= 2 * used + 4096:
                tok = self.new_storage(row, root.reshape(-1).view(np.uint8)[lo - base: hi - base])
                for t, a in shared:
                    self.place[id(t)] = (tok, (a.__array_interface__["data"][0] - lo) // item, a.shape,
                                         tuple(s // item for s in a.strides))
                shared = []
        done = {id(t) for t, _ in shared} if shared else set()
        for t, a, ok in zip(tensors, arrays, fits):
            if not ok or id(t) in done:
                self.compact(t, a, row)


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _byte_bounds(a: np.ndarray) -> tuple[int, int]:
    """The first byte and one past the last byte ``a`` can touch."""
    lo = hi = a.__array_interface__["data"][0]
    for n, s in zip(a.shape, a.strides):
        lo, hi = (lo + (n - 1) * s, hi) if s < 0 else (lo, hi + (n - 1) * s)
    return lo, hi + a.dtype.itemsize


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def _collect_tensors(obj: Any) -> list[Any]:
    """Every tensor reachable through containers and objects' ``__dict__``, without recursion."""
    Tensor = core()[0]
    out, seen, stack = [], set(), [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, (str, bytes, int, float, type, FunctionType)) or o is None:
            continue
        seen.add(id(o))
        if isinstance(o, Tensor):
            out.append(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
            stack.extend(o.keys())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif isinstance(getattr(o, "__dict__", None), dict) and not isinstance(o, np.ndarray):
            stack.extend(o.__dict__.values())
    return out


def plan_storages(obj: Any) -> _Plan:
    plan = _Plan()
    groups: dict[tuple[int, str], list[Any]] = {}
    for t in _collect_tensors(obj):
        a = array_of(t)
        plan.keep.append(a)
        if a.size == 0:
            plan.compact(t, a, _dtypes.row(a.dtype) or _unsaveable(a))
        else:
            groups.setdefault((id(_root(a)), a.dtype.str), []).append(t)
    for tensors in groups.values():
        plan.add_group(tensors)
    return plan


def _unsaveable(a: np.ndarray):
    raise TypeError(f"cannot save a tensor of dtype {a.dtype} in PyTorch's format")


class _PlainTensor:
    """A Parameter's data as ``_rebuild_parameter`` takes it: the tensor without requires_grad."""

    __slots__ = ("t",)

    def __init__(self, t: Any):
        self.t = t


def _module_state(m: Any) -> dict:
    """An nn.Module's ``__dict__`` as PyTorch's module of the same class keeps it."""
    getstate = getattr(type(m), "__getstate__", None)
    state = getstate(m) if getstate is not None and getstate is not object.__getstate__ else m.__dict__
    if not isinstance(state, dict):
        return state
    state = dict(state)
    if "_flat_weights_names" in state and "_flat_weights" not in state:  # RNN, LSTM, GRU
        state["_flat_weights"] = [getattr(m, n, None) for n in state["_flat_weights_names"]]
    if "padding_mode" in state and "transposed" not in state and hasattr(type(m), "transposed"):  # convs
        state["transposed"] = type(m).transposed
    return state


class TorchPickler(pickle._Pickler):
    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file: BinaryIO, protocol: int, plan: _Plan, legacy: bool):
        super().__init__(file, protocol)
        self.plan, self.legacy = plan, legacy
        Tensor, self.Size, self.dtype, self.device = core()
        from ..nn.modules.module import Module

        self.Tensor, self.Module = Tensor, Module

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is StorageToken:
            return obj.pid(self.legacy)
        return None

    def _tensor_args(self, t: Any, requires_grad: bool) -> tuple[GlobalName, tuple]:
        placed = self.plan.place.get(id(t))
        if placed is None:  # reached some way the plan's walk did not see: stored on its own
            a = array_of(t)
            self.plan.keep.append(a)
            self.plan.compact(t, a, _dtypes.row(a.dtype) or _unsaveable(a))
            placed = self.plan.place[id(t)]
        tok, offset, shape, strides = placed
        hooks = OrderedDict()
        if tok.row is None:
            dtype = GlobalName.of("torch", _dtypes.row(array_of(t).dtype).name)
            return (GlobalName.of("torch._utils", "_rebuild_tensor_v3"),
                    (tok, offset, tuple(shape), strides, requires_grad, hooks, dtype))
        return (GlobalName.of("torch._utils", "_rebuild_tensor_v2"),
                (tok, offset, tuple(shape), strides, requires_grad, hooks))

    def reducer_override(self, obj: Any) -> Any:
        t = type(obj)
        if t is _PlainTensor:
            return self._tensor_args(obj.t, False)
        if isinstance(obj, self.Tensor):
            if is_parameter(obj):
                return (GlobalName.of("torch._utils", "_rebuild_parameter"),
                        (_PlainTensor(obj), bool(obj.requires_grad), OrderedDict()))
            return self._tensor_args(obj, bool(obj.requires_grad))
        if isinstance(obj, self.dtype):
            return obj.name  # -> save_global(obj, name): the global torch.<name>
        if t is self.Size:
            return (GlobalName.of("torch", "Size"), (tuple(obj),))
        if t is self.device:
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return (GlobalName.of("torch", "device"), args)
        if isinstance(obj, self.Module):
            return (copyreg.__newobj__, (t,), _module_state(obj))
        return NotImplemented

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if isinstance(obj, self.dtype):
            module, qualname = "torch", obj.name
        else:
            module, qualname = torch_name(obj) if name is None else (torch_name(obj)[0], name)
        self._write_global(module, qualname)
        self.memoize(obj)

    def _write_global(self, module: str, name: str) -> None:
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
            return
        if self.proto < 3 and self.fix_imports:
            import _compat_pickle

            if (module, name) in _compat_pickle.REVERSE_NAME_MAPPING:
                module, name = _compat_pickle.REVERSE_NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.REVERSE_IMPORT_MAPPING:
                module = _compat_pickle.REVERSE_IMPORT_MAPPING[module]
        self.write(pickle.GLOBAL + module.encode("utf-8") + b"\n" + name.encode("utf-8") + b"\n")

    def _save_global_name(self, obj: GlobalName) -> None:
        self._write_global(obj.module, obj.name)
        self.memoize(obj)

    dispatch[FunctionType] = save_global
    dispatch[GlobalName] = _save_global_name


def _check_protocol(protocol: Any) -> int:
    if type(protocol) is not int or not 1 <= protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be an int from 1 to {pickle.HIGHEST_PROTOCOL} (PyTorch "
                         f"writes 2), got {protocol!r}")
    return protocol


def _pickle(obj: Any, protocol: int, legacy: bool) -> tuple[bytes, _Plan]:
    plan = plan_storages(obj)
    buf = io.BytesIO()
    TorchPickler(buf, protocol, plan, legacy).dump(obj)
    return buf.getvalue(), plan


def write_torch_zip(obj: Any, fh: BinaryIO, protocol: int = DEFAULT_PROTOCOL, prefix: str = "archive",
                    byteorder_record: bool = True) -> None:
    """Write ``obj`` as ``torch.save`` does (zip, pickle, 64-byte-aligned storages)."""
    data, plan = _pickle(obj, _check_protocol(protocol), legacy=False)
    records = [("data.pkl", data), (".format_version", b"1"), (".storage_alignment", b"64")]
    if byteorder_record:
        records.append(("byteorder", b"little"))
    records += [(f"data/{tok.key}", memoryview(np.ascontiguousarray(tok.data))) for tok in plan.storages]
    records += [("version", b"3\n")]
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for rec, payload in records:
            info = zipfile.ZipInfo(f"{prefix}/{rec}", date_time=(1980, 1, 1, 0, 0, 0))
            if rec.startswith("data/") and fh.seekable():
                # pad the local header's extra field so the bytes start on a 64-byte boundary, as torch's
                # writer does (its mmap loader relies on it)
                here = fh.tell() + 30 + len(info.filename.encode())
                pad = (-(here + 4)) % 64
                info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # 'FB' id, as PyTorch uses
            info.file_size = len(payload)
            with zf.open(info, "w", force_zip64=len(payload) >= 1 << 31) as dst:  # streams the bytes
                dst.write(payload)


def write_torch_legacy(obj: Any, fh: BinaryIO, protocol: int = DEFAULT_PROTOCOL) -> None:
    """The pre-1.6 stream ``torch.save(..., _use_new_zipfile_serialization=False)`` writes."""
    protocol = _check_protocol(protocol)
    info = {"protocol_version": _LEGACY_PROTOCOL, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4}}
    for head in (_LEGACY_MAGIC, _LEGACY_PROTOCOL, info):
        fh.write(pickle.dumps(head, protocol=protocol))
    data, plan = _pickle(obj, protocol, legacy=True)
    fh.write(data)
    fh.write(pickle.dumps([tok.key for tok in plan.storages], protocol=protocol))
    for tok in plan.storages:
        item = 1 if tok.row is None else tok.row.numpy.itemsize
        fh.write(struct.pack("<q", tok.data.nbytes // item))
        fh.write(memoryview(np.ascontiguousarray(tok.data)))


def is_module(obj: Any) -> bool:
    try:
        from ..nn.modules.module import Module
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, Module)


__all__ = ["write_torch_zip", "write_torch_legacy", "torch_name", "DEFAULT_PROTOCOL", "is_tensor", "is_module"]
