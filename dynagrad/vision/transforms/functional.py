"""Image transforms as functions (``torchvision.transforms.functional``), on dynagrad tensors
``(..., C, H, W)`` and, when Pillow is installed, on PIL images (which stay PIL images until ``to_tensor``).
"""
from __future__ import annotations

import math
import numbers
from enum import Enum

import numpy as np

import dynagrad
from dynagrad.tensor import Tensor

__all__ = ["InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "convert_image_dtype",
           "normalize", "resize", "crop", "center_crop", "pad", "hflip", "vflip", "rotate", "get_dimensions"]


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _pil():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _is_pil(img) -> bool:
    Image = _pil()
    return Image is not None and isinstance(img, Image.Image)


def _check_tensor(img, name):
    if not isinstance(img, Tensor):
        raise TypeError(f"{name}: img should be a dynagrad Tensor or a PIL Image. Got {type(img).__name__}")
    if img.ndim < 2:
        raise TypeError(f"{name}: tensor is not an image (expected (..., C, H, W) or (H, W), got {img.ndim} "
                        f"dims)")


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a tensor or PIL image."""
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    _check_tensor(img, "get_dimensions")
    c = 1 if img.ndim == 2 else int(img.shape[-3])
    return [c, int(img.shape[-2]), int(img.shape[-1])]


# -- conversion ----------------------------------------------------------------------------------------------

def to_tensor(pic) -> Tensor:
    """A PIL image or an ``H x W [x C]`` NumPy array as a ``C x H x W`` tensor; uint8 values are scaled to
    [0, 1] float32, other dtypes keep their values (as torchvision's ``ToTensor``)."""
    if _is_pil(pic):
        arr = np.array(pic, copy=True)
        if pic.mode == "1":
            arr = arr.astype(np.uint8) * 255
        if arr.ndim == 2:
            arr = arr[:, :, None]
        t = dynagrad.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
        return t.to(dynagrad.get_default_dtype()).div(255) if arr.dtype == np.uint8 else t
    if not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    t = dynagrad.from_numpy(np.ascontiguousarray(pic.transpose(2, 0, 1)))
    if pic.dtype == np.uint8:
        return t.to(dynagrad.get_default_dtype()).div(255)
    return t


def pil_to_tensor(pic) -> Tensor:
    """A PIL image as a ``C x H x W`` tensor of its own dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return dynagrad.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def to_pil_image(pic, mode=None):
    """A ``C x H x W`` tensor (floats in [0, 1] are scaled by 255) or ``H x W x C`` array as a PIL image."""
    Image = _pil()
    if Image is None:
        raise ImportError("to_pil_image needs Pillow: pip install pillow")
    if isinstance(pic, Tensor):
        arr = pic.detach().numpy()
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
        if arr.dtype.kind == "f":
            arr = (arr * 255).astype(np.uint8)
    else:
        arr = np.asarray(pic)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(arr, mode=mode) if mode else Image.fromarray(arr)


def convert_image_dtype(image: Tensor, dtype=dynagrad.float32) -> Tensor:
    """Convert between integer images (0..max) and float images ([0, 1]), as torchvision does."""
    src = image.dtype
    if src == dtype:
        return image
    if src.is_floating_point:
        if dtype.is_floating_point:
            return image.to(dtype)
        if (src == dynagrad.float32 and dtype in (dynagrad.int32, dynagrad.int64)) or \
                (src == dynagrad.float64 and dtype == dynagrad.int64):
            raise RuntimeError(f"The cast from {src} to {dtype} cannot be performed safely.")
        eps = 1e-3
        max_val = float(np.iinfo(dtype.numpy).max)
        return image.mul(max_val + 1.0 - eps).to(dtype)
    max_in = float(np.iinfo(src.numpy).max)
    if dtype.is_floating_point:
        return image.to(dtype).div(max_in)
    max_out = float(np.iinfo(dtype.numpy).max)
    if max_in > max_out:
        factor = int((max_in + 1) // (max_out + 1))
        return dynagrad.div(image, factor, rounding_mode="floor").to(dtype)
    factor = int((max_out + 1) // (max_in + 1))
    return image.to(dtype).mul(factor)


def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float ``(..., C, H, W)`` tensor."""
    _check_tensor(tensor, "normalize")
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                         f"{tuple(tensor.shape)}")
    m = dynagrad.as_tensor(mean, dtype=tensor.dtype).reshape(-1, 1, 1)
    s = dynagrad.as_tensor(std, dtype=tensor.dtype).reshape(-1, 1, 1)
    if bool((s == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by "
                         f"zero.")
    if inplace:
        return tensor.sub_(m).div_(s)
    return (tensor - m) / s


# -- geometry ------------------------------------------------------------------------------------------------

_PIL_MODES = {InterpolationMode.NEAREST: 0, InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
              InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5, InterpolationMode.LANCZOS: 1}


def _mode(interpolation) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int):  # PIL constants
        return {v: k for k, v in _PIL_MODES.items()}[interpolation]
    return InterpolationMode(interpolation)


def _output_size(h: int, w: int, size, max_size):
    if isinstance(size, numbers.Number) or (isinstance(size, (list, tuple)) and len(size) == 1):
        s = int(size if isinstance(size, numbers.Number) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size "
                                 f"for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)  # (h, w)
    if max_size is not None:
        raise ValueError("max_size should only be passed if size specifies the length of the smaller edge")
    return int(size[0]), int(size[1])


def _as_batch(img: Tensor):
    """(N, C, H, W) float view of an image tensor, and how to undo it."""
    shape = tuple(img.shape)
    x = img.reshape(-1, *shape[-3:]) if img.ndim >= 3 else img.reshape(1, 1, *shape)
    dt = img.dtype
    if not dt.is_floating_point:
        x = x.to(dynagrad.float32)

    def back(y):
        if not dt.is_floating_point:
            info = np.iinfo(dt.numpy)
            y = y.round().clamp(info.min, info.max).to(dt)
        return y.reshape(*shape[:-2], *y.shape[-2:])
    return x, back


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size`` (h, w), or scale the smaller edge to ``size`` keeping the aspect ratio."""
    mode = _mode(interpolation)
    c, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if _is_pil(img):
        if (oh, ow) == (h, w):
            return img
        return img.resize((ow, oh), _PIL_MODES.get(mode, 2))
    if (oh, ow) == (h, w):
        return img
    x, back = _as_batch(img)
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        y = dynagrad.nn.functional.interpolate(x, size=(oh, ow), mode=mode.value)
    elif mode in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        y = dynagrad.nn.functional.interpolate(x, size=(oh, ow), mode=mode.value, align_corners=False,
                                               antialias=bool(antialias))
    else:
        raise ValueError(f"Interpolation mode {mode} is unsupported with Tensor input")
    return back(y)


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` region at (top, left); parts outside the image are zero."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    _check_tensor(img, "crop")
    h, w = int(img.shape[-2]), int(img.shape[-1])
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        pads = [max(-left, 0), max(right - w, 0), max(-top, 0), max(bottom - h, 0)]
        sub = img[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
        return dynagrad.nn.functional.pad(sub, pads, value=0)
    return img[..., top:bottom, left:right]


def _pair(size, name="size"):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (list, tuple)) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")


def center_crop(img, output_size):
    """The central ``output_size`` region (zero-padded when the image is smaller)."""
    th, tw = _pair(output_size)
    _, h, w = get_dimensions(img)
    if tw > w or th > h:
        img = pad(img, [(tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                        (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0])
        _, h, w = get_dimensions(img)
        if tw == w and th == h:
            return img
    top = int(round((h - th) / 2.0))
    left = int(round((w - tw) / 2.0))
    return crop(img, top, left, th, tw)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: ``padding`` is one int (all sides), (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` constant, edge, reflect or symmetric."""
    if isinstance(padding, numbers.Number):
        padding = [int(padding)] * 4
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        padding = padding * 4
    elif len(padding) == 2:
        padding = [padding[0], padding[1], padding[0], padding[1]]
    elif len(padding) != 4:
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} "
                         f"element tuple")
    left, top, right, bottom = padding
    if _is_pil(img):
        arr = np.asarray(img)
        widths = [(top, bottom), (left, right)] + ([(0, 0)] if arr.ndim == 3 else [])
        np_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[
            padding_mode]
        scalar_fill = padding_mode == "constant" and not isinstance(fill, (tuple, list))
        kw = {"constant_values": fill} if scalar_fill else {}
        out = np.pad(arr, widths, mode=np_mode, **kw)
        if padding_mode == "constant" and isinstance(fill, (tuple, list)):
            mask = np.ones(arr.shape[:2], bool)
            mask = np.pad(mask, widths[:2], constant_values=False)
            out[~mask] = np.asarray(fill, dtype=out.dtype)
        Image = _pil()
        return Image.fromarray(out)
    _check_tensor(img, "pad")
    flat = [left, right, top, bottom]
    if padding_mode == "constant":
        return dynagrad.nn.functional.pad(img, flat, value=float(fill))
    if padding_mode == "symmetric":
        h, w = int(img.shape[-2]), int(img.shape[-1])
        rows = np.r_[np.arange(top)[::-1], np.arange(h), np.arange(h - 1, h - 1 - bottom, -1)]
        cols = np.r_[np.arange(left)[::-1], np.arange(w), np.arange(w - 1, w - 1 - right, -1)]
        rows, cols = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
        return img[..., dynagrad.from_numpy(rows), :][..., dynagrad.from_numpy(cols)]
    mode = {"edge": "replicate", "reflect": "reflect"}[padding_mode]
    x = img if img.ndim >= 3 else img.unsqueeze(0)
    xf = x if x.dtype.is_floating_point else x.to(dynagrad.float32)
    out = dynagrad.nn.functional.pad(xf, flat, mode=mode)
    out = out.to(img.dtype)
    return out if img.ndim >= 3 else out.squeeze(0)


def hflip(img):
    if _is_pil(img):
        return img.transpose(0)  # FLIP_LEFT_RIGHT
    _check_tensor(img, "hflip")
    return img.flip(-1)


def vflip(img):
    if _is_pil(img):
        return img.transpose(1)  # FLIP_TOP_BOTTOM
    _check_tensor(img, "vflip")
    return img.flip(-2)


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
           fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (the image centre by default); pixels
    from outside the image take ``fill`` (0)."""
    mode = _mode(interpolation)
    if _is_pil(img):
        kw = {}
        if fill is not None:
            kw["fillcolor"] = tuple(fill) if isinstance(fill, (list, tuple)) else fill
        return img.rotate(angle, _PIL_MODES.get(mode, 0), expand, center, **kw)
    _check_tensor(img, "rotate")
    h, w = int(img.shape[-2]), int(img.shape[-1])
    # PIL's inverse affine matrix (Image.rotate), so tensors and PIL images rotate alike
    cx, cy = (w / 2, h / 2) if center is None else (float(center[0]), float(center[1]))
    a = -math.radians(angle % 360.0)
    c, s = round(math.cos(a), 15), round(math.sin(a), 15)
    m = [c, s, 0.0, -s, c, 0.0]

    def tr(x, y):
        return m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]
    m[2], m[5] = tr(-cx, -cy)
    m[2] += cx
    m[5] += cy
    oh, ow = h, w
    if expand:
        xx, yy = zip(*(tr(x, y) for x, y in ((0, 0), (w, 0), (w, h), (0, h))))
        ow = math.ceil(max(xx)) - math.floor(min(xx))
        oh = math.ceil(max(yy)) - math.floor(min(yy))
        m[2], m[5] = tr(-(ow - w) / 2.0, -(oh - h) / 2.0)
    ys, xs = np.mgrid[0:oh, 0:ow].astype(np.float64) + 0.5
    sx, sy = tr(xs, ys)  # source positions, in pixel-edge coordinates
    sx, sy = sx - 0.5, sy - 0.5  # ... and in pixel-centre coordinates
    x, back = _as_batch(img)
    xa = x.detach().numpy() if not x.requires_grad else None
    if mode == InterpolationMode.NEAREST and xa is not None:
        ix, iy = np.floor(sx + 0.5).astype(np.int64), np.floor(sy + 0.5).astype(np.int64)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out = xa[:, :, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
        fv = _fill_values(fill, out.shape[1], out.dtype)
        out = np.where(inside, out, fv)
        return back(dynagrad.from_numpy(np.ascontiguousarray(out)))
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode {mode} is unsupported with Tensor input")
    # bilinear (or nearest on a tensor that requires grad): a weighted gather, differentiable
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    if mode == InterpolationMode.NEAREST:
        taps = [(np.floor(sx + 0.5).astype(np.int64), np.floor(sy + 0.5).astype(np.int64), np.ones_like(sx))]
    else:
        fx, fy = sx - x0, sy - y0
        taps = [(x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)), (x0, y0 + 1, (1 - fx) * fy),
                (x0 + 1, y0 + 1, fx * fy)]
    flat = x.reshape(x.shape[0], x.shape[1], h * w)
    out, cover = None, np.zeros((oh, ow))
    for ix, iy, wt in taps:
        ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        idx = dynagrad.from_numpy((np.clip(iy, 0, h - 1) * w + np.clip(ix, 0, w - 1)).reshape(-1))
        wgt = dynagrad.from_numpy((wt * ok).astype(np.float32)).to(x.dtype)
        term = flat.index_select(2, idx).reshape(x.shape[0], x.shape[1], oh, ow) * wgt
        out = term if out is None else out + term
        cover += wt * ok
    fv = _fill_values(fill, x.shape[1], np.float32).reshape(1, -1, 1, 1)
    out = out + dynagrad.from_numpy((fv * (1 - cover)).astype(np.float32)).to(x.dtype)
    return back(out)


def _fill_values(fill, channels, dtype):
    if fill is None:
        fill = 0
    f = np.asarray(fill, dtype=np.float64).reshape(-1)
    if f.size == 1:
        f = np.repeat(f, channels)
    return f.astype(dtype).reshape(-1, 1, 1)
