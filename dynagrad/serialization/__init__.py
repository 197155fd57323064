"""Saving and loading: ``torch.save`` and ``torch.load``, file for file compatible with PyTorch.

``dynagrad.save(obj, f)`` writes PyTorch's own zip format by default, whatever the file's name, so
``torch.load(f, weights_only=True)`` in real PyTorch reads what dynagrad wrote: state_dicts, optimizer and
scheduler states, nested dicts/lists/tuples/OrderedDicts, numbers, strings, None, bytes, sets, dtypes,
``torch.Size``, every dtype, views that share storage (offsets, strides), ``nn.Parameter`` with its
``requires_grad``. ``torch.save(model)`` writes the whole model under PyTorch's class names
(``torch.nn.modules.linear.Linear``), as PyTorch does. ``_use_new_zipfile_serialization=False`` writes
PyTorch's older stream format.

dynagrad's own format -- a safetensors file with the structure around the tensors as JSON in its header,
readable by any safetensors reader -- is written for a path ending in ``.safetensors`` or with
``format="dynagrad"`` (``format="torch"`` forces the zip for any name).

``dynagrad.load(f)`` reads all of these, plain ``.safetensors`` files (as a dict of tensors), and files
PyTorch wrote, without torch. Loading never runs code from the file: a checkpoint's pickle is read by a
pure-Python unpickler (``_unpickler.py``) that bounds every length, index and nesting depth before
allocating anything, under rules (``_policy.py``) that allow only the globals tensors and containers are
rebuilt from -- and, with ``weights_only=False``, the ``nn.Module`` subclasses the program has already
imported, created with ``object.__new__`` and given their state by their own ``__setstate__``, never
importing a module or calling a function the file names. Every failure is a :class:`CheckpointError`
(:class:`UnsafeCheckpointError` for a refused global) naming the file and the problem.

>>> import io, dynagrad
>>> buf = io.BytesIO()
>>> w = dynagrad.ones(2, 3)
>>> dynagrad.save({"epoch": 3, "weights": [w, w]}, buf)
>>> _ = buf.seek(0)
>>> ckpt = dynagrad.load(buf)
>>> ckpt["epoch"], tuple(ckpt["weights"][0].shape), ckpt["weights"][0] is ckpt["weights"][1]
(3, (2, 3), True)

Layout: ``_io`` (files, crash-safe writes, format sniffing), ``_dtypes``, ``_tensors`` (the seam to the
core), ``_safetensors``, ``_dynagrad_format``, ``_unpickler``, ``_policy`` (safe globals), ``_torch_read``,
``_torch_write``, ``_inspect``; each imports only those before it.
"""
from __future__ import annotations

import os
import pickle
from typing import Any

from . import _dynagrad_format, _safetensors, _torch_write
from ._dynagrad_format import FORMAT_NAME, FORMAT_VERSION
from ._errors import CheckpointError, SourceChangeWarning, UnsafeCheckpointError
from ._inspect import Inspection, TensorInfo, format_inspection, inspect_file
from ._io import FileLike, is_path, reading, sniff, writing
from ._policy import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from ._tensors import array_of, is_tensor, make_tensor
from ._torch_read import _check_cpu, check_map_location, load_torch, open_checkpoint
from ._torch_write import DEFAULT_PROTOCOL

__all__ = ["save", "load", "save_file", "load_file", "inspect_file", "format_inspection", "TensorInfo",
           "Inspection", "CheckpointError", "UnsafeCheckpointError", "SourceChangeWarning", "FORMAT_NAME",
           "FORMAT_VERSION", "DEFAULT_PROTOCOL", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals", "get_unsafe_globals_in_checkpoint", "default_restore_location"]

_FORMATS = ("torch", "dynagrad", "safetensors")


def _format_for(f: FileLike, format: str | None) -> str:
    if format is None:
        return "dynagrad" if is_path(f) and os.fspath(f).endswith(".safetensors") else "torch"
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, _FORMATS))} or None (by the file "
                         f"name), got {format!r}")
    return "dynagrad" if format == "safetensors" else format


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False, *,
         format: str | None = None) -> None:
    """Save ``obj`` to a path or a binary file object, as ``torch.save`` does.

    By default the file is PyTorch's zip format (``_use_new_zipfile_serialization=False``: its legacy
    stream), which real ``torch.load`` reads; ``obj`` may be anything PyTorch's ``weights_only`` loader
    accepts, or a whole ``nn.Module``. ``format="dynagrad"`` (the default for a path ending in
    ``.safetensors``) writes dynagrad's safetensors + JSON format instead, for tensors, NumPy arrays,
    numbers, strings, bytes, None, dtypes and containers of them. A tensor that appears several times is
    stored once and is one object again after loading; views of one buffer stay views of one storage.

    A path is written crash-safely: to a temporary file in the same folder, fsync'ed, then renamed over
    the target and the folder fsync'ed; a save that is interrupted never leaves a torn file at ``f``, and
    the next save to ``f`` removes what an interrupted one left.

    >>> import io, dynagrad
    >>> buf = io.BytesIO()
    >>> dynagrad.save({"w": dynagrad.zeros(3)}, buf)
    >>> buf.getvalue()[:2]     # a zip archive, as torch.save writes
    b'PK'
    >>> _ = buf.seek(0); dynagrad.load(buf)["w"].shape
    torch.Size([3])
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("dynagrad.save writes its pickles itself: pickle_module must be None or pickle")
    fmt = _format_for(f, format)
    if fmt == "dynagrad":
        if not _use_new_zipfile_serialization:
            raise ValueError("_use_new_zipfile_serialization=False asks for PyTorch's legacy format; "
                             "format='dynagrad' is dynagrad's own")
        with writing(f) as fh:
            _dynagrad_format.save_dynagrad(obj, fh)
        return
    with writing(f) as fh:
        if _use_new_zipfile_serialization:
            _torch_write.write_torch_zip(obj, fh, pickle_protocol, byteorder_record=not _disable_byteorder_record)
        else:
            _torch_write.write_torch_legacy(obj, fh, pickle_protocol)


def _weights_only_default(weights_only: bool | None) -> bool:
    truthy = lambda k: os.environ.get(k, "0").lower() in ("1", "y", "yes", "true")
    if truthy("TORCH_FORCE_WEIGHTS_ONLY_LOAD"):
        return True
    if weights_only is None:
        return not truthy("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    return bool(weights_only)


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load what :func:`save` or ``torch.save`` wrote, or a plain ``.safetensors`` file (a dict of tensors),
    without torch and without running code from the file.

    ``weights_only`` (default True, as in PyTorch 2.6+) allows only tensors, containers, numbers,
    strings, dtypes and the like, plus what ``torch.serialization.add_safe_globals`` allowed; a file
    naming anything else raises :class:`UnsafeCheckpointError` saying which global and how to allow it.
    ``weights_only=False`` also rebuilds whole models (``torch.save(model)``) from ``nn.Module`` classes
    the program has already imported -- PyTorch's names map to dynagrad's -- still without importing a
    module or calling a function the file names. Everything lands on the CPU: ``map_location`` may be
    None, "cpu", a CPU ``torch.device``, a dict of locations or a callable ``(storage, location)`` that
    returns the storage. ``mmap=True`` maps the storages of a zip file from disk (copy-on-write).

    >>> import io, dynagrad
    >>> buf = io.BytesIO(); dynagrad.save([1, 2.5, "three", None], buf); _ = buf.seek(0)
    >>> dynagrad.load(buf)
    [1, 2.5, 'three', None]
    """
    weights_only = _weights_only_default(weights_only)
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    check_map_location(map_location)
    unknown = set(pickle_load_args) - {"encoding", "errors"}
    if unknown:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(unknown)}")
    if mmap and not is_path(f):
        raise ValueError("f must be a file path in order to use the mmap argument")
    with reading(f) as (fh, name):
        kind = sniff(fh, name)
        if kind != "safetensors":
            return load_torch(fh, name, kind, weights_only=weights_only,
                              encoding=pickle_load_args.get("encoding", "utf-8"),
                              mmap_path=os.fspath(f) if mmap else None, map_location=map_location)
        meta, entries, start = _safetensors.read_header(fh, name)
        if meta.get("format") != FORMAT_NAME:  # a plain safetensors file: a flat dict of tensors
            return {k: make_tensor(a) for k, a in _safetensors.read_arrays(fh, entries, start, name).items()}
        return _dynagrad_format.load_dynagrad(fh, name, meta, entries, start)


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
    import numpy as np

    if not isinstance(tensors, dict):
        raise TypeError(f"save_file expects a dict of name -> tensor, got {type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str -> str")
    for k, v in tensors.items():
        if not isinstance(k, str) or not (is_tensor(v) or isinstance(v, np.ndarray)):
            raise TypeError(f"save_file expects str names and tensors, got {k!r}: {type(v).__name__}")
    with writing(filename) as fh:
        _safetensors.write(fh, {k: array_of(v) for k, v in tensors.items()}, metadata)


def load_file(filename: FileLike, device: Any = "cpu") -> dict[str, Any]:
    """Read any safetensors file into a dict of name -> tensor, as ``safetensors.torch.load_file`` does
    (a file :func:`save` wrote in dynagrad's format gives its entries; :func:`load` gives its structure)."""
    check_map_location(device)
    with reading(filename) as (fh, name):
        if sniff(fh, name) != "safetensors":
            raise CheckpointError(f"{name}: not a safetensors file")
        _, entries, start = _safetensors.read_header(fh, name)
        return {k: make_tensor(a) for k, a in _safetensors.read_arrays(fh, entries, start, name).items()}


def get_unsafe_globals_in_checkpoint(f: FileLike) -> list[str]:
    """The globals a PyTorch checkpoint names that ``weights_only=True`` would refuse (reads no data).

    >>> import io, dynagrad
    >>> buf = io.BytesIO(); dynagrad.save(dynagrad.nn.Linear(2, 2), buf); _ = buf.seek(0)
    >>> dynagrad.serialization.get_unsafe_globals_in_checkpoint(buf)
    ['torch.nn.modules.linear.Linear']
    """
    from ._policy import _is_safe, resolve

    with reading(f) as (fh, name):
        kind = sniff(fh, name)
        if kind == "safetensors":
            return []
        ckpt = open_checkpoint(fh, name, kind, "inspect")
    out: list[str] = []
    for full in ckpt.policy.unresolved:
        module, _, qual = full.rpartition(".")
        if not _is_safe(resolve(module, qual), full) and full not in out:
            out.append(full)
    return out


def default_restore_location(storage: Any, location: str) -> Any:
    """``torch.serialization.default_restore_location``: the storage itself, for the CPU."""
    _check_cpu(location)
    return storage

