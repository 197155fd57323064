"""The PIL kernels of ``transforms.functional``: Pillow's own operations, called as torchvision calls them,
so PIL-image results are torchvision's pixel for pixel."""
from __future__ import annotations

import numbers

import numpy as np

from ..datasets.utils import image_from_array, pil_image_module


def _pil():
    Image = pil_image_module()
    if Image is None:
        raise ImportError("PIL image transforms need Pillow, an optional dependency of dynagrad: pip install pillow")
    return Image


def is_pil_image(img) -> bool:
    Image = pil_image_module()
    return Image is not None and isinstance(img, Image.Image)


def _check(img) -> None:
    if not is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def get_dimensions(img) -> list[int]:
    _check(img)
    w, h = img.size
    return [len(img.getbands()), h, w]


def get_image_num_channels(img) -> int:
    _check(img)
    return len(img.getbands())


def hflip(img):
    _check(img)
    return img.transpose(_pil().FLIP_LEFT_RIGHT)


def vflip(img):
    _check(img)
    return img.transpose(_pil().FLIP_TOP_BOTTOM)


def _enhance(kind: str, img, factor: float):
    _check(img)
    from PIL import ImageEnhance
    return getattr(ImageEnhance, kind)(img).enhance(factor)


def adjust_brightness(img, factor: float):
    return _enhance("Brightness", img, factor)


def adjust_contrast(img, factor: float):
    return _enhance("Contrast", img, factor)


def adjust_saturation(img, factor: float):
    return _enhance("Color", img, factor)


def adjust_sharpness(img, factor: float):
    return _enhance("Sharpness", img, factor)


def adjust_hue(img, hue_factor: float):
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check(img)
    Image = _pil()
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    np_h += np.int32(hue_factor * 255).astype(np.uint8)  # wraps around, as hue is circular
    return Image.merge("HSV", (image_from_array(np_h, "L"), s, v)).convert(mode)


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    _check(img)
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    mode = img.mode
    img = img.convert("RGB")
    table = [int((255 + 1 - 1e-3) * gain * pow(e / 255.0, gamma)) for e in range(256)] * 3
    return img.point(table).convert(mode)


def parse_fill(fill, img, name: str = "fillcolor") -> dict:
    c = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and c > 1:
        fill = tuple([fill] * c)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill * c
        elif len(fill) != c:
            raise ValueError(f"The number of elements in 'fill' does not match the number of channels of the image "
                             f"({len(fill)} != {c})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, (list, tuple)) else int(fill)
    return {name: fill}


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    _check(img)
    from PIL import ImageOps
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, list):
        padding = tuple(padding)
    if isinstance(padding, tuple) and len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if isinstance(padding, tuple) and len(padding) == 1:
        padding = padding[0]
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if padding_mode == "constant":
        opts = parse_fill(fill, img, name="fill")
        if img.mode == "P":
            palette = img.getpalette()
            out = ImageOps.expand(img, border=padding, **opts)
            out.putpalette(palette)
            return out
        return ImageOps.expand(img, border=padding, **opts)
    if isinstance(padding, int):
        p = [padding] * 4
    elif len(padding) == 2:
        p = [padding[0], padding[1], padding[0], padding[1]]
    else:
        p = list(padding)
    crop = -np.minimum(p, 0)
    if crop.any():
        cl, ct, cr, cb = (int(v) for v in crop)
        img = img.crop((cl, ct, img.width - cr, img.height - cb))
    left, top, right, bottom = (int(v) for v in np.maximum(p, 0))
    palette = img.getpalette() if img.mode == "P" else None
    a = np.asarray(img)
    widths = ((top, bottom), (left, right)) + (((0, 0),) if a.ndim == 3 else ())
    out = _pil().fromarray(np.pad(a, widths, padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def crop(img, top: int, left: int, height: int, width: int):
    _check(img)
    return img.crop((left, top, left + width, top + height))


def resize(img, size: list[int], interpolation: int = 2):
    _check(img)
    if not (isinstance(size, list) and len(size) == 2):
        raise TypeError(f"Got inappropriate size arg: {size}")
    return img.resize(tuple(size[::-1]), interpolation)


def affine(img, matrix: list[float], interpolation: int = 0, fill=None):
    _check(img)
    return img.transform(img.size, _pil().AFFINE, matrix, interpolation, **parse_fill(fill, img))


def rotate(img, angle: float, interpolation: int = 0, expand: bool = False, center=None, fill=None):
    _check(img)
    return img.rotate(angle, interpolation, expand, center, **parse_fill(fill, img))


def perspective(img, coeffs: list[float], interpolation: int = 3, fill=None):
    _check(img)
    return img.transform(img.size, _pil().PERSPECTIVE, coeffs, interpolation, **parse_fill(fill, img))


def to_grayscale(img, num_output_channels: int):
    _check(img)
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        g = np.array(img.convert("L"), dtype=np.uint8)
        return image_from_array(np.dstack([g, g, g]), "RGB")
    raise ValueError("num_output_channels should be either 1 or 3")


def _ops(name: str, img, *args):
    _check(img)
    from PIL import ImageOps
    return getattr(ImageOps, name)(img, *args)


def invert(img):
    return _ops("invert", img)


def posterize(img, bits: int):
    return _ops("posterize", img, bits)


def solarize(img, threshold: int):
    return _ops("solarize", img, threshold)


def autocontrast(img):
    return _ops("autocontrast", img)


def equalize(img):
    return _ops("equalize", img)
