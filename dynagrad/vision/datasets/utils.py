"""Helpers shared by the datasets: the never-download error, Pillow access, a restricted unpickler for the
CIFAR batches, and ``verify_str_arg``."""
from __future__ import annotations

import os
import pickle
from collections.abc import Iterable

import numpy as np

__all__ = ["verify_str_arg", "missing_files_error", "pil_image_module", "image_from_array", "safe_unpickle"]


def verify_str_arg(value: str, arg: str | None = None, valid_values: Iterable[str] | None = None,
                   custom_msg: str | None = None) -> str:
    if not isinstance(value, str):
        msg = "Expected type str" + (f" for argument {arg}" if arg else "") + f", but got type {type(value)}."
        raise ValueError(msg)
    if valid_values is None:
        return value
    if value not in valid_values:
        msg = custom_msg or (f"Unknown value '{value}' for argument {arg}. Valid values are "
                             f"{{{', '.join(repr(v) for v in valid_values)}}}.")
        raise ValueError(msg)
    return value


def missing_files_error(name: str, folder: str, files: Iterable[str], download: bool, note: str = "") -> RuntimeError:
    """The error every dataset raises when its files are absent: which folder, which files, and that dynagrad
    never downloads."""
    listing = "\n".join(f"    {os.path.join(folder, f)}" for f in files)
    why = ("download=True was given, but dynagrad never downloads data: " if download else
           "Dataset not found (dynagrad never downloads data): ")
    return RuntimeError(f"{name}: {why}place these files, as published, in {folder}:\n{listing}"
                        + (f"\n{note}" if note else ""))


def pil_image_module():
    """``PIL.Image``, or None when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def image_from_array(arr: np.ndarray, mode: str | None = None):
    """A PIL image holding ``arr``'s bytes read as ``mode`` (Pillow's classic ``fromarray(arr, mode)``, which
    newer Pillow deprecates); without ``mode`` Pillow infers it from the array."""
    Image = pil_image_module()
    arr = np.ascontiguousarray(arr)
    if mode is None:
        return Image.fromarray(arr)
    inferred = Image.fromarray(arr)
    if inferred.mode == mode:
        return inferred
    h, w = arr.shape[:2]
    return Image.frombuffer(mode, (w, h), arr.tobytes(), "raw", mode, 0, 1)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays only (the CIFAR batch files), never arbitrary classes."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file: only plain "
                                     f"lists, dicts, bytes and NumPy arrays are expected")


def safe_unpickle(path: str):
    with open(path, "rb") as f:
        return _ArrayUnpickler(f, encoding="latin1").load()
