"""dynagrad's own format: safetensors with the structure around the tensors as JSON in the header.

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
trailing axis, their dtype recorded in ``raw_dtypes``. Any other tag is refused.

Since the file is a valid safetensors file, ``safetensors.torch.load_file`` reads the tensors of a saved
state_dict under their usual names.
"""
from __future__ import annotations

import base64
import json
import math
import re
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from . import _safetensors
from ._dtypes import little_endian, numpy_dtype_from_name, row
from ._errors import CheckpointError
from ._tensors import array_of, core, is_parameter, make_tensor, strided_view

FORMAT_NAME = "dynagrad"
FORMAT_VERSION = 1  # bump when the structure JSON changes incompatibly; load refuses newer versions
_TAGS = ("tuple", "size", "set", "frozenset", "dict", "odict", "float", "complex", "bytes", "bytearray",
         "dtype", "device", "ref", "npscalar", "ndarray", "tensor")


def save_dynagrad(obj: Any, fh: BinaryIO) -> None:
    enc = _Encoder(obj)
    meta = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION),
            "structure": json.dumps(enc.structure, separators=(",", ":"), allow_nan=False)}
    if enc.raw:
        meta["raw_dtypes"] = json.dumps(enc.raw, separators=(",", ":"))
    _safetensors.write(fh, enc.arrays, meta)


def load_dynagrad(fh: BinaryIO, name: str, meta: dict[str, str], entries, start: int) -> Any:
    structure, raw = parse_meta(meta, name)
    arrays = _safetensors.read_arrays(fh, entries, start, name)
    try:
        return _Decoder(arrays, raw, name).decode(structure)
    except RecursionError:
        raise CheckpointError(f"{name}: structure is nested too deeply to load") from None


def parse_meta(meta: dict[str, str], name: str) -> tuple[Any, dict[str, str]]:
    version = meta.get("format_version", "")
    if not re.fullmatch(r"[0-9]{1,9}", version):
        raise CheckpointError(f"{name}: corrupted dynagrad header (format_version {version[:20]!r})")
    if int(version) > FORMAT_VERSION:
        raise CheckpointError(f"{name}: written in dynagrad format version {version}, but this dynagrad "
                              f"reads versions up to {FORMAT_VERSION}; upgrade dynagrad to load it")
    if "structure" not in meta:
        raise CheckpointError(f"{name}: corrupted dynagrad header (no structure)")
    structure = _safetensors.parse_json(meta["structure"], name, "dynagrad header (structure)")
    raw = _safetensors.parse_json(meta.get("raw_dtypes", "{}"), name, "dynagrad header (raw_dtypes)")
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CheckpointError(f"{name}: corrupted dynagrad header (raw_dtypes)")
    return structure, raw


# ---------------------------------------------------------------------------------------------------
# The dynagrad format: encoding
# ---------------------------------------------------------------------------------------------------
class _Encoder:
    """Turns ``obj`` into the structure JSON (``self.structure``) and named arrays (``self.arrays``)."""

    def __init__(self, obj: Any):
        self.Tensor, self.Size, self.dtype, self.device = core()
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
        arrays = [array_of(o) for o in self.leaves]
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
            node = {"$": "tensor", "requires_grad": bool(obj.requires_grad), "parameter": is_parameter(obj)}
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
        arr = array_of(obj)
        if arr.dtype.hasobject or (row(arr.dtype) is None and arr.dtype.kind not in "biufc"):
            raise TypeError(f"cannot save array of dtype {arr.dtype} at {_show_path(path)}")
        base = ".".join(path) or "tensor"
        name, n = base, 1
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        if row(arr.dtype) is None or row(arr.dtype).code is None:  # e.g. complex128: store the bytes
            self.raw[name] = arr.dtype.newbyteorder("=").name
            arr = little_endian(arr)[..., None].view(np.uint8)
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
        handler = getattr(self, "_" + tag) if tag in _TAGS else None
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
        return core()[1](self._items(node))

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
        from .. import dtypes

        got = getattr(dtypes, node["name"], None)
        if not isinstance(got, dtypes.dtype):
            raise ValueError(f"unknown dtype {node['name']!r}")
        return got

    def _device(self, node):
        return core()[3](node["name"])

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
            dt, base = numpy_dtype_from_name(self.raw.pop(key)), self.arrays[key]
            if base.dtype != np.uint8 or base.ndim < 1 or base.shape[-1] != dt.itemsize:
                raise ValueError(f"raw entry {key!r} does not hold whole {dt} elements")
            base = base.view(dt.newbyteorder("<"))[..., 0]
            self.arrays[key] = base if base.dtype == dt else base.astype(dt)  # (astype on big-endian hosts)
        view = node.get("view")
        if view is None:
            return self.arrays[key]
        return strided_view(self.arrays[key].reshape(-1), view["offset"], view["shape"], view["stride"])

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
        return self._leaf(node, lambda a: make_tensor(a, rg, param))
