"""PNG files from NumPy arrays, with no imaging library: the training curves of ``dynagrad train`` and the
images TensorBoard logs (``SummaryWriter.add_image``) are written with this when Pillow is not installed.

>>> import numpy as np
>>> data = encode_png(np.zeros((2, 3, 3), np.uint8))
>>> data[:8] == PNG_SIGNATURE, png_size(data)
(True, (3, 2))
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """The PNG bytes of a ``uint8`` image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"encode_png needs a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in _COLOR_TYPE or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"encode_png needs an (H, W) or (H, W, C) image with C in 1..4, got shape {img.shape}")
    h, w, c = img.shape
    rows = np.ascontiguousarray(img).reshape(h, w * c)
    # filter "Sub" on every row: each byte minus the same channel of the pixel to its left (mod 256), which
    # turns the flat areas of plots and digits into runs of zeros that deflate well
    filtered = np.empty((h, 1 + w * c), np.uint8)
    filtered[:, 0] = 1
    filtered[:, 1:1 + c] = rows[:, :c]
    filtered[:, 1 + c:] = rows[:, c:] - rows[:, :-c]
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(filtered.tobytes(), level))
            + _chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes; ValueError when they are not a PNG."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def write_png(path: str, image: np.ndarray) -> str:
    """Write ``image`` (see ``encode_png``) to ``path``; returns the path."""
    with open(path, "wb") as f:
        f.write(encode_png(image))
    return path
