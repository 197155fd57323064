"""Image files as tensors (``torchvision.io``), through Pillow: ``read_image`` / ``decode_image`` give
``C x H x W`` uint8 tensors; ``write_png`` / ``write_jpeg`` / ``encode_*`` write them. Video I/O is not
provided.

>>> import os, tempfile, dynagrad
>>> from dynagrad.vision import io
>>> path = os.path.join(tempfile.mkdtemp(), "a.png")
>>> img = dynagrad.arange(24, dtype=dynagrad.uint8).reshape(2, 3, 4) * 10
>>> io.write_png(img[:1], path)
>>> bool((io.read_image(path) == img[:1]).all())
True
"""
from __future__ import annotations

import io as _io
import os
from enum import Enum

import numpy as np

import dynagrad
from dynagrad.tensor import Tensor

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "decode_png", "decode_jpeg", "read_image",
           "encode_png", "encode_jpeg", "write_png", "write_jpeg"]


class ImageReadMode(Enum):
    """Colour conversion on reading: as stored, grey, grey + alpha, RGB, RGB + alpha."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
              ImageReadMode.RGB_ALPHA: "RGBA"}


def _pil():
    from ..datasets.utils import pil_image_module
    Image = pil_image_module()
    if Image is None:
        raise ImportError("dynagrad.vision.io reads and writes images with Pillow, an optional dependency: "
                          "pip install pillow")
    return Image


def read_file(path) -> Tensor:
    """The bytes of a file as a 1-D uint8 tensor."""
    with open(os.fspath(path), "rb") as f:
        return dynagrad.from_numpy(np.frombuffer(f.read(), dtype=np.uint8).copy())


def write_file(filename, data: Tensor) -> None:
    """Write a 1-D uint8 tensor's bytes to ``filename``."""
    if not isinstance(data, Tensor) or data.dtype != dynagrad.uint8 or data.ndim != 1:
        raise RuntimeError("write_file: data must be a 1-D uint8 tensor")
    with open(os.fspath(filename), "wb") as f:
        f.write(data.numpy().tobytes())


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        return ImageReadMode[mode.upper()]
    return ImageReadMode(mode) if not isinstance(mode, ImageReadMode) else mode


def _to_tensor(img, mode: ImageReadMode) -> Tensor:
    if img.format == "JPEG":
        if mode in (ImageReadMode.GRAY_ALPHA, ImageReadMode.RGB_ALPHA):
            raise RuntimeError("decode_jpeg: The provided mode is not supported for JPEG files")
        if mode == ImageReadMode.GRAY and img.mode != "L":
            img.draft("L", img.size)  # libjpeg's own grey output (the luma plane), as torchvision decodes it
    if mode != ImageReadMode.UNCHANGED:
        img = img.convert(_PIL_MODES[mode])
    elif img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I"):
        img = img.convert("RGB")
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    return dynagrad.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) -> Tensor:
    """Decode PNG/JPEG/GIF/BMP/WEBP bytes (a 1-D uint8 tensor) or a file path into a ``C x H x W`` tensor."""
    Image = _pil()
    if isinstance(input, (str, os.PathLike)):
        input = read_file(input)
    if not isinstance(input, Tensor) or input.dtype != dynagrad.uint8 or input.ndim != 1:
        raise RuntimeError("decode_image: input must be a 1-D uint8 tensor of encoded bytes or a path")
    img = Image.open(_io.BytesIO(input.numpy().tobytes()))
    if apply_exif_orientation:
        from PIL import ImageOps
        img = ImageOps.exif_transpose(img)
    return _to_tensor(img, _mode(mode))


decode_png = decode_image
decode_jpeg = decode_image


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) -> Tensor:
    """Read an image file into a ``C x H x W`` uint8 tensor."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def _encode(input: Tensor, fmt: str, **kw) -> Tensor:
    Image = _pil()
    if not isinstance(input, Tensor) or input.dtype != dynagrad.uint8 or input.ndim != 3 or \
            int(input.shape[0]) not in (1, 3) + ((2, 4) if fmt == "PNG" else ()):
        raise RuntimeError(f"encode_{fmt.lower()}: input must be a uint8 tensor C x H x W with C in "
                           f"{'1, 2, 3 or 4' if fmt == 'PNG' else '1 or 3'}, got "
                           f"{getattr(input, 'dtype', type(input))} {tuple(getattr(input, 'shape', ()))}")
    a = np.ascontiguousarray(input.detach().numpy().transpose(1, 2, 0))
    img = Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)
    buf = _io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return dynagrad.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def encode_png(input: Tensor, compression_level: int = 6) -> Tensor:
    if not 0 <= compression_level <= 9:
        raise ValueError("Compression level should be between 0 and 9")
    return _encode(input, "PNG", compress_level=compression_level)


def encode_jpeg(input: Tensor, quality: int = 75) -> Tensor:
    if not 1 <= quality <= 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    return _encode(input, "JPEG", quality=quality)


def write_png(input: Tensor, filename, compression_level: int = 6) -> None:
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input: Tensor, filename, quality: int = 75) -> None:
    write_file(filename, encode_jpeg(input, quality))


def __getattr__(name: str):
    raise AttributeError(f"module 'torchvision.io' has no attribute '{name}' (dynagrad.vision does not provide it)")
