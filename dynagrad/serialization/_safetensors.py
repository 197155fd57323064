"""safetensors files, read by hand and written by the safetensors library.

Parsing the small JSON header here lets ``inspect_file`` list a file without its data, lets each tensor
be read straight into its own writable array, and checks every offset against the real file size before
anything is allocated. Writing goes through the library, so files are exactly what its readers expect.
"""
from __future__ import annotations

import dataclasses
import json
import math
import struct
import sys
from typing import Any, BinaryIO

import numpy as np

from . import _dtypes
from ._dtypes import DT
from ._errors import CheckpointError
from ._io import MAX_HEADER, file_size, read_exact, read_into


@dataclasses.dataclass
class Entry:
    name: str
    dtype: DT
    shape: tuple[int, ...]
    begin: int
    end: int


def no_constants(c: str):
    raise ValueError(f"invalid JSON constant {c}")


def parse_json(text: bytes | str, name: str, what: str) -> Any:
    """``json.loads`` with NaN/Infinity refused and every failure (deep nesting included) a CheckpointError."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_constant=no_constants)
    except RecursionError:
        raise CheckpointError(f"{name}: corrupted {what} (JSON nested too deeply)") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{name}: corrupted {what} ({str(e)[:200]})") from None


def read_header(fh: BinaryIO, name: str) -> tuple[dict[str, str], dict[str, Entry], int]:
    """Parse and check a safetensors header; returns (metadata, entries, offset of the data)."""
    size = file_size(fh)
    (n,) = struct.unpack("<Q", read_exact(fh, 8, name, "the safetensors header length"))
    if n > MAX_HEADER:
        raise CheckpointError(f"{name}: corrupted safetensors header (claims {n} bytes of JSON)")
    if 8 + n > size:
        raise CheckpointError(f"{name}: file is truncated (header says {n} bytes of JSON, "
                              f"file has {size - 8})")
    header = parse_json(read_exact(fh, n, name, "the safetensors header"), name, "safetensors header")
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: corrupted safetensors header (not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{name}: corrupted safetensors header (__metadata__ must map str to str)")
    entries: dict[str, Entry] = {}
    for key, spec in header.items():
        try:
            entries[key] = _parse_entry(key, spec)
        except (TypeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{name}: corrupted safetensors header at tensor {key[:80]!r} "
                                  f"({str(e)[:200]})") from None
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


def _parse_entry(key: str, spec: Any) -> Entry:
    if not isinstance(spec, dict):
        raise TypeError("entry is not an object")
    code, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if isinstance(code, str) and code in _dtypes.ML_CODES:
        _dtypes.add_ml_rows()
    if not isinstance(code, str) or code not in _dtypes.BY_CODE:
        hint = " (install ml_dtypes)" if code in _dtypes.ML_CODES else ""
        raise ValueError(f"unsupported dtype {str(code)[:20]!r}{hint}")
    dt = _dtypes.BY_CODE[code]
    if not (isinstance(shape, list) and len(shape) <= 64 and all(type(s) is int and s >= 0 for s in shape)
            and math.prod(s for s in shape if s) * dt.numpy.itemsize < 2 ** 62):
        raise ValueError(f"bad shape {str(shape)[:80]}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise ValueError(f"bad data_offsets {str(offsets)[:80]}")
    nbytes = math.prod(shape) * dt.numpy.itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise ValueError(f"shape {shape} of {code} needs {nbytes} bytes, data_offsets give "
                         f"{offsets[1] - offsets[0]}")
    return Entry(key, dt, tuple(shape), offsets[0], offsets[1])


def read_arrays(fh: BinaryIO, entries: dict[str, Entry], data_start: int, name: str) -> dict[str, np.ndarray]:
    """Read every entry into its own writable array, in file order so the stream moves forward."""
    out: dict[str, np.ndarray] = {}
    for e in sorted(entries.values(), key=lambda e: e.begin):
        arr = np.empty(e.shape, e.dtype.numpy)
        fh.seek(data_start + e.begin)
        read_into(fh, arr, name, f"tensor {e.name!r}")
        if sys.byteorder == "big":  # pragma: no cover - the data is little-endian
            arr.byteswap(inplace=True)
        if arr.dtype == np.bool_ and arr.size and arr.view(np.uint8).max() > 1:
            raise CheckpointError(f"{name}: corrupted data (bool tensor {e.name!r} holds bytes "
                                  "other than 0 and 1)")
        out[e.name] = arr
    return {k: out[k] for k in entries}  # in header order, as the user will iterate them


def write(fh: BinaryIO, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    """Serialise with the safetensors library, so files are exactly what its readers expect."""
    import safetensors

    for k, a in arrays.items():
        r = _dtypes.row(a.dtype)
        if r is None or r.code is None:
            raise TypeError(f"safetensors cannot store dtype {a.dtype} (tensor {k!r})")
    keep = {k: _dtypes.little_endian(a) for k, a in arrays.items()}  # alive until serialize() returns
    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.7 takes pointers: no copies
        specs = {k: safetensors.TensorSpec(dtype=_dtypes.row(a.dtype).name, shape=list(a.shape),
                                           data_ptr=a.ctypes.data, data_len=a.nbytes)
                 for k, a in keep.items()}
    else:  # pragma: no cover - older safetensors takes bytes
        specs = {k: {"dtype": _dtypes.row(a.dtype).code, "shape": list(a.shape), "data": a.tobytes()}
                 for k, a in keep.items()}
    fh.write(safetensors.serialize(specs, metadata=metadata))

