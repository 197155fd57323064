"""One table linking each dtype's safetensors code, NumPy dtype, PyTorch storage class and name."""
from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class DT:
    code: str | None  # safetensors dtype code ("F32"); None when safetensors has no such dtype
    numpy: np.dtype
    storage: str | None  # legacy PyTorch storage class ("FloatStorage"); None for dtypes added later
    name: str  # PyTorch / dynagrad dtype name ("float32"), also the safetensors TensorSpec name


_ROWS = [("BOOL", np.bool_, "BoolStorage", "bool"), ("U8", np.uint8, "ByteStorage", "uint8"),
         ("I8", np.int8, "CharStorage", "int8"), ("I16", np.int16, "ShortStorage", "int16"),
         ("U16", np.uint16, None, "uint16"), ("I32", np.int32, "IntStorage", "int32"),
         ("U32", np.uint32, None, "uint32"), ("I64", np.int64, "LongStorage", "int64"),
         ("U64", np.uint64, None, "uint64"), ("F16", np.float16, "HalfStorage", "float16"),
         ("F32", np.float32, "FloatStorage", "float32"), ("F64", np.float64, "DoubleStorage", "float64"),
         ("C64", np.complex64, "ComplexFloatStorage", "complex64"),
         (None, np.complex128, "ComplexDoubleStorage", "complex128")]

BY_CODE: dict[str, DT] = {}
BY_NUMPY: dict[np.dtype, DT] = {}
BY_NAME: dict[str, DT] = {}
BY_STORAGE: dict[str, DT] = {}
# bfloat16 and float8 live in ml_dtypes, which is slow to import (half a second for 0.7): their rows are
# added when a file or a tensor first needs them.
ML_CODES = ("BF16", "F8_E4M3", "F8_E5M2")
ML_NAMES = ("bfloat16", "float8_e4m3fn", "float8_e5m2")
ML_STORAGES = ("BFloat16Storage",)
_ml_rows_added = False


def _register(rows: list[DT]) -> None:
    for d in rows:
        BY_NUMPY[d.numpy] = BY_NAME[d.name] = d
        if d.code:
            BY_CODE[d.code] = d
        if d.storage:
            BY_STORAGE[d.storage] = d


_register([DT(c, np.dtype(d), s, n) for c, d, s, n in _ROWS])
UINT8 = BY_NAME["uint8"]


def add_ml_rows() -> bool:
    """Register the ml_dtypes rows (once); False when there is nothing new to look up."""
    global _ml_rows_added
    if _ml_rows_added:
        return False
    _ml_rows_added = True
    try:
        import ml_dtypes as ml
    except ImportError:  # pragma: no cover - ml_dtypes is a core dependency
        return False
    _register([DT("BF16", np.dtype(ml.bfloat16), "BFloat16Storage", "bfloat16"),
               DT("F8_E4M3", np.dtype(ml.float8_e4m3fn), None, "float8_e4m3fn"),
               DT("F8_E5M2", np.dtype(ml.float8_e5m2), None, "float8_e5m2")])
    return True


def row(dt: np.dtype) -> DT | None:
    """The table row of a NumPy dtype, whatever its byte order."""
    dt = dt.newbyteorder("=")
    got = BY_NUMPY.get(dt)
    if got is None and dt.kind in "Vf" and "ml_dtypes" in sys.modules and add_ml_rows():
        got = BY_NUMPY.get(dt)
    return got


def by_name(name: str) -> DT | None:
    if name in ML_NAMES:
        add_ml_rows()
    return BY_NAME.get(name)


def numpy_dtype_from_name(name: Any) -> np.dtype:
    """A NumPy dtype from a name read from a file, refusing object, structured and other exotic kinds."""
    if isinstance(name, str) and by_name(name) is not None:
        return BY_NAME[name].numpy
    if not isinstance(name, str) or len(name) > 32:
        raise ValueError(f"unknown dtype {str(name)[:40]!r}")
    try:
        dt = np.dtype(name)
    except Exception:  # np.dtype raises TypeError, ValueError, even SyntaxError on odd strings
        raise ValueError(f"unknown dtype {name!r}") from None
    if dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
        raise ValueError(f"dtype {name!r} cannot be loaded (only numeric dtypes are stored)")
    return dt.newbyteorder("=")


def little_endian(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a C-contiguous array in little-endian byte order, the order of every format here."""
    dt = arr.dtype
    if dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(dt.newbyteorder("<"))
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def typed(buf: np.ndarray, dt: DT, big_endian: bool = False) -> np.ndarray:
    """Raw bytes as a native-endian 1-d array of ``dt``."""
    if big_endian and dt.numpy.itemsize > 1:
        return buf.view(dt.numpy.newbyteorder(">")).astype(dt.numpy)
    if sys.byteorder == "big" and dt.numpy.itemsize > 1:  # pragma: no cover
        return buf.view(dt.numpy.newbyteorder("<")).astype(dt.numpy)
    return buf.view(dt.numpy)
