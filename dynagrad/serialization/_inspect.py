"""``dynagrad inspect``: what a checkpoint holds -- tensors and every other entry -- read without loading
any tensor data and without creating any object the file names (classes are shown by name)."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from . import _dynagrad_format, _safetensors
from ._dtypes import numpy_dtype_from_name
from ._errors import CheckpointError
from ._io import FileLike, file_size, reading, sniff
from ._policy import Marker, NumpyArray, NumpyDtype, Opaque, OpaqueObject, StorageRef, TensorStub
from ._torch_read import open_checkpoint
from ._unpickler import MAX_DEPTH

FORMATS = {"torch-zip": "PyTorch zip, as torch.save writes it", "torch-legacy": "PyTorch legacy stream "
           "(torch.save with _use_new_zipfile_serialization=False)", "safetensors": "safetensors"}


@dataclasses.dataclass
class TensorInfo:
    """One entry of a checkpoint, as :func:`inspect_file` reports it: a tensor (or array), or a value."""

    name: str  # where it sits: "model.fc.weight", "optimizer.state.0.exp_avg", "epoch"
    dtype: str  # "float32", "bfloat16", ...; for a value, its Python type ("int", "str", "__main__.Net")
    shape: tuple[int, ...]
    nbytes: int  # bytes of its own elements
    kind: str = "tensor"  # "tensor", "parameter", "ndarray", or "value" (anything else) / "object"
    note: str = ""  # e.g. "same tensor as x", "view of x", "requires_grad"; a value's repr

    @property
    def numel(self) -> int:
        return math.prod(self.shape) if self.kind in ("tensor", "parameter", "ndarray") else 0

    @property
    def is_tensor(self) -> bool:
        return self.kind in ("tensor", "parameter", "ndarray")


class Inspection(list):
    """The :class:`TensorInfo` list of one file, with its ``path``, ``format`` and ``file_size``."""

    def __init__(self, entries: list[TensorInfo], path: str, format: str, file_size: int):
        super().__init__(entries)
        self.path, self.format, self.file_size = path, format, file_size

    @property
    def tensors(self) -> list[TensorInfo]:
        return [e for e in self if e.is_tensor]

    @property
    def values(self) -> list[TensorInfo]:
        return [e for e in self if not e.is_tensor]


def _value(name: str, v: Any) -> TensorInfo:
    if isinstance(v, Marker):
        typ, text = ("dtype", f"torch.{v.value.name}") if v.kind == "dtype" else (v.kind, repr(v))
    elif isinstance(v, Opaque):
        typ, text = "global", v.name
    elif isinstance(v, (NumpyDtype,)):
        typ, text = "numpy.dtype", str(v.spec)
    else:
        typ = type(v).__name__ if type(v).__module__ == "builtins" else f"{type(v).__module__}.{type(v).__name__}"
        text = repr(v)
    if len(text) > 80:
        text = text[:77] + "..."
    return TensorInfo(name or "(top level)", typ, (), 0, "value", text)


def inspect_file(path: FileLike) -> Inspection:
    """List what a dynagrad, safetensors or PyTorch checkpoint holds without reading its tensor data.

    >>> import dynagrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    >>> dynagrad.save({"fc": {"weight": dynagrad.zeros(4, 2)}, "epoch": 3}, path)
    >>> info = dynagrad.serialization.inspect_file(path)
    >>> info.format, [(e.name, e.dtype, e.shape) for e in info]
    ('torch-zip', [('fc.weight', 'float32', (4, 2)), ('epoch', 'int', ())])
    """
    with reading(path) as (fh, name):
        size, kind = file_size(fh), sniff(fh, name)
        if kind != "safetensors":
            return Inspection(_inspect_torch(fh, name, kind), name, kind, size)
        meta, entries, _ = _safetensors.read_header(fh, name)
        if meta.get("format") != _dynagrad_format.FORMAT_NAME:
            infos = [TensorInfo(k, e.dtype.name, e.shape, e.end - e.begin) for k, e in entries.items()]
            infos += [_value(f"__metadata__.{k}", v) for k, v in meta.items()]
            return Inspection(infos, name, "safetensors", size)
        structure, raw = _dynagrad_format.parse_meta(meta, name)
        infos: list[TensorInfo] = []
        try:
            _inspect_node(structure, [], entries, raw, infos, {}, 0)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            raise CheckpointError(f"{name}: corrupted dynagrad structure ({str(e)[:200]!r})") from None
        return Inspection(infos, name, f"dynagrad v{meta['format_version']}", size)


def _inspect_node(node: Any, path: list[str], entries, raw: dict[str, str], out: list[TensorInfo],
                  seen: dict[int, TensorInfo], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("structure nested too deeply")
    tag = node.get("$") if isinstance(node, dict) else None
    here = ".".join(path)
    if isinstance(node, list) or tag in ("tuple", "size", "set", "frozenset"):
        items = node if isinstance(node, list) else node["items"]
        if tag in (None, "tuple") and _short(items):
            out.append(_value(here, tuple(items) if tag else items))
            return
        if not items or tag == "size":
            out.append(TensorInfo(here or "(top level)", tag or "list", (), 0, "value",
                                  f"torch.Size({items})" if tag == "size" else "[]" if tag is None else "()"))
        for i, x in enumerate(items if tag != "size" else ()):
            _inspect_node(x, path + [str(i)], entries, raw, out, seen, depth + 1)
    elif tag in ("dict", "odict"):
        if not node["items"]:
            out.append(TensorInfo(here or "(top level)", "dict", (), 0, "value", "{}"))
        for k, v in node["items"]:
            _inspect_node(v, path + [str(k) if not isinstance(k, dict) else "?"], entries, raw, out, seen,
                          depth + 1)
    elif tag == "npscalar":
        _inspect_node(node["array"], path, entries, raw, out, seen, depth + 1)
    elif tag == "ref":
        first = seen[node["id"]]
        out.append(dataclasses.replace(first, name=here, note=f"same tensor as {first.name}"))
    elif tag in ("tensor", "ndarray"):
        e = entries[node["key"]]
        dtype = raw.get(e.name, e.dtype.name)
        view = node.get("view")
        shape = tuple(view["shape"]) if view is not None else e.shape[:-1] if e.name in raw else e.shape
        notes = [f"view of {e.name}"] * (view is not None)
        notes += ["requires_grad"] * bool(node.get("requires_grad"))
        info = TensorInfo(here or "tensor", dtype, shape,
                          math.prod(shape) * numpy_dtype_from_name(dtype).itemsize,
                          "parameter" if node.get("parameter") else tag, ", ".join(notes))
        seen[node.get("id")] = info
        out.append(info)
    elif tag in ("float", "complex", "bytes", "bytearray", "dtype", "device"):
        text = {"float": lambda: node["value"], "complex": lambda: f"complex({node['real']}, {node['imag']})",
                "dtype": lambda: f"torch.{node['name']}", "device": lambda: f"device({node['name']!r})"
                }.get(tag, lambda: f"{len(node['base64']) * 3 // 4} bytes")()
        out.append(TensorInfo(here or "(top level)", tag, (), 0, "value", str(text)[:80]))
    elif tag is None:
        out.append(_value(here, node))
    else:
        raise ValueError(f"unknown node type {str(tag)[:40]!r}")


def _inspect_torch(fh, name: str, kind: str) -> list[TensorInfo]:
    """A PyTorch checkpoint's entries from its pickle alone (no storage is read, no object created)."""
    ckpt = open_checkpoint(fh, name, kind, "inspect")
    out: list[TensorInfo] = []
    seen: dict[int, str] = {}  # id(stub) -> first name, id(storage) -> first name
    visited: set[int] = set()  # each container once: a pickle can share containers (a DAG, even a cycle)
    stack: list[tuple[Any, list[str]]] = [(ckpt.obj, [])]
    while stack:
        o, path = stack.pop()
        here = ".".join(path)
        if _short(o):  # (3, 3), [0, 1, 2]: one entry, not one per element
            out.append(_value(here, o))
        elif isinstance(o, (dict, list, tuple, set, frozenset, OpaqueObject)):
            if id(o) in visited:
                continue
            visited.add(id(o))
            kids = _kids(o, path, out)
            stack.extend(reversed(kids))
        elif isinstance(o, TensorStub):
            notes = []
            if id(o) in seen:
                notes.append(f"same tensor as {seen[id(o)]}")
            elif id(o.storage) in seen:
                notes.append(f"shares storage with {seen[id(o.storage)]}")
            seen.setdefault(id(o), here or "tensor")
            seen.setdefault(id(o.storage), here or "tensor")
            total = o.storage.numel(o.dt)
            if total != math.prod(o.size):
                notes.append(f"view into a storage of {total} elements")
            if o.requires_grad:
                notes.append("requires_grad")
            out.append(TensorInfo(here or "tensor", o.dt.name, o.size, math.prod(o.size) * o.dt.numpy.itemsize,
                                  "parameter" if o.parameter else "tensor", ", ".join(notes)))
        elif isinstance(o, NumpyArray) and o.array is not None:
            out.append(TensorInfo(here, str(o.array.dtype), o.array.shape, o.array.nbytes, "ndarray"))
        elif isinstance(o, StorageRef):
            out.append(TensorInfo(here, o.dt.name, (o.numel(o.dt),), o.nbytes, "tensor", "a bare storage"))
        else:
            out.append(_value(here, o))
    return out


def _short(o: Any) -> bool:
    return type(o) in (list, tuple) and 0 < len(o) <= 16 and all(
        x is None or type(x) in (int, float, bool, str) and len(str(x)) < 20 for x in o)


_MODULE_NOISE = {"training", "_non_persistent_buffers_set", "_is_full_backward_hook", "_flat_weights",
                 "_flat_weights_names", "_all_weights", "_flat_weight_refs"}


def _kids(o: Any, path: list[str], out: list[TensorInfo]) -> list[tuple[Any, list[str]]]:
    here = ".".join(path)
    if isinstance(o, OpaqueObject):
        out.append(TensorInfo(here or "(top level)", o.cls, (), 0, "object", "object"))
        st = o.state
        if isinstance(st, dict) and "_parameters" in st and "_modules" in st:  # an nn.Module, as torch keeps it
            kids = []
            for key in ("_parameters", "_buffers"):
                for k, v in (st.get(key) or {}).items() if isinstance(st.get(key), dict) else ():
                    if v is not None:
                        kids.append((v, path + [str(k)]))
            for k, v in st["_modules"].items() if isinstance(st["_modules"], dict) else ():
                kids.append((v, path + [str(k)]))
            for k, v in st.items():
                if isinstance(k, str) and not k.startswith("_") and k not in _MODULE_NOISE:
                    kids.append((v, path + [k]))
            return kids
        if st is not None:
            return [(st, path + ["__state__"])]
        return [(a, path + [f"arg{i}"]) for i, a in enumerate(o.args)]
    if not o:
        out.append(TensorInfo(here or "(top level)", type(o).__name__, (), 0, "value", repr(o)))
        return []
    if isinstance(o, dict):
        return [(v, path + [str(k) if isinstance(k, (str, int, float, bool)) else repr(k)[:40]])
                for k, v in o.items()]
    items = sorted(o, key=repr) if isinstance(o, (set, frozenset)) else o
    return [(v, path + [str(i)]) for i, v in enumerate(items)]


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover


def format_inspection(entries: list[TensorInfo], path: str | None = None) -> str:
    """A table of :func:`inspect_file`'s entries, as ``dynagrad inspect FILE`` prints it.

    >>> print(format_inspection([TensorInfo("fc.weight", "float32", (4, 2), 32),
    ...                          TensorInfo("epoch", "int", (), 0, "value", "3")], "m.pt"))
    m.pt
    name       dtype    shape   size
    fc.weight  float32  [4, 2]  32 B
    1 tensor, 8 elements
    <BLANKLINE>
    other entries:
    epoch  int  3
    """
    path = path if path is not None else getattr(entries, "path", None)
    tensors = [e for e in entries if e.is_tensor]
    values = [e for e in entries if not e.is_tensor]
    lines = []
    if path is not None:
        about = isinstance(entries, Inspection)
        if about:
            fmt = FORMATS.get(entries.format, entries.format + " (safetensors with the structure as JSON)"
                              if entries.format.startswith("dynagrad") else entries.format)
            lines.append(f"{path} (format: {fmt}; {_human(entries.file_size)})")
        else:
            lines.append(path)
    if tensors or not values:
        rows = [("name", "dtype", "shape", "size", "")] + [
            (e.name, e.dtype, str(list(e.shape)), _human(e.nbytes),
             ", ".join(x for x in ("" if e.kind == "tensor" else e.kind, e.note) if x)) for e in tensors]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for *cols, note in rows:
            line = "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()
            lines.append(line + (f"  ({note})" if note else ""))
        numel = sum(e.numel for e in tensors if not e.note.startswith("same tensor as"))
        lines.append(f"{len(tensors)} tensor{'s' * (len(tensors) != 1)}, {numel:,} elements")
    if values:
        lines += ["", "other entries:"]
        w0, w1 = max(len(e.name) for e in values), max(len(e.dtype) for e in values)
        lines += [f"{e.name.ljust(w0)}  {e.dtype.ljust(w1)}  {e.note}".rstrip() for e in values]
    return "\n".join(lines)


