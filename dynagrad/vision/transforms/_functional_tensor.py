"""The tensor kernels of ``transforms.functional`` (torchvision's ``_functional_tensor``): the same
arithmetic, in the same order and dtypes, on dynagrad tensors ``(..., C, H, W)``. Geometric warps
(rotate, affine, perspective) sample a grid as ``grid_sample(align_corners=False, padding_mode="zeros")``
does; the weights come from the grid (no gradient), the gather is differentiable in the image."""
from __future__ import annotations

import numpy as np

import dynagrad
from dynagrad.nn import functional as NF
from dynagrad.tensor import Tensor

_INT_MAX = {"uint8": 255, "int8": 127, "int16": 32767, "uint16": 65535, "int32": 2147483647,
            "int64": 9223372036854775807}


def _dtname(dtype) -> str:
    return str(dtype).replace("torch.", "")


def max_value(dtype) -> int:
    """The largest value of an image of ``dtype``: 255 for uint8, ..., 1 for floats."""
    return _INT_MAX.get(_dtname(dtype), 1)


def assert_image_tensor(img) -> None:
    if not isinstance(img, Tensor) or img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(img: Tensor) -> list[int]:
    assert_image_tensor(img)
    return [1 if img.ndim == 2 else int(img.shape[-3]), int(img.shape[-2]), int(img.shape[-1])]


def assert_channels(img: Tensor, permitted: list[int]) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but found {c}")


def convert_image_dtype(image: Tensor, dtype=dynagrad.float32) -> Tensor:
    if image.dtype == dtype:
        return image
    if image.dtype.is_floating_point:
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == dynagrad.float32 and dtype in (dynagrad.int32, dynagrad.int64)) or \
                (image.dtype == dynagrad.float64 and dtype == dynagrad.int64):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed safely.")
        # (max + 1 - eps) spreads [0, 1] evenly over the integers; only exactly 1.0 maps to max
        return image.mul(float(max_value(dtype)) + 1.0 - 1e-3).to(dtype)
    input_max = float(max_value(image.dtype))
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = float(max_value(dtype))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return dynagrad.div(image, factor, rounding_mode="floor").to(dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return image.to(dtype) * factor


def hflip(img: Tensor) -> Tensor:
    assert_image_tensor(img)
    return img.flip(-1)


def vflip(img: Tensor) -> Tensor:
    assert_image_tensor(img)
    return img.flip(-2)


def crop(img: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def rgb_to_grayscale(img: Tensor, num_output_channels: int = 1) -> Tensor:
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")
    assert_channels(img, [1, 3])
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if int(img.shape[-3]) == 3:
        r, g, b = img.unbind(dim=-3)
        l_img = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)
    else:
        l_img = img.clone()
    return l_img.expand(img.shape) if num_output_channels == 3 else l_img


def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    ratio = float(ratio)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, max_value(img1.dtype)).to(img1.dtype)


def adjust_brightness(img: Tensor, brightness_factor: float) -> Tensor:
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    return _blend(img, dynagrad.zeros_like(img), brightness_factor)


def adjust_contrast(img: Tensor, contrast_factor: float) -> Tensor:
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    assert_image_tensor(img)
    assert_channels(img, [3, 1])
    dtype = img.dtype if img.dtype.is_floating_point else dynagrad.float32
    src = rgb_to_grayscale(img) if get_dimensions(img)[0] == 3 else img
    mean = dynagrad.mean(src.to(dtype), dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img: Tensor, saturation_factor: float) -> Tensor:
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:  # as PIL: a grey image has no saturation to change
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(img: Tensor) -> Tensor:
    r, g, b = img.unbind(dim=-3)
    maxc = dynagrad.max(img, dim=-3).values
    minc = dynagrad.min(img, dim=-3).values
    eqc = maxc == minc
    cr = maxc - minc
    ones = dynagrad.ones_like(maxc)
    s = cr / dynagrad.where(eqc, ones, maxc)
    cr_divisor = dynagrad.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = dynagrad.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return dynagrad.stack((h, s, maxc), dim=-3)


def _hsv2rgb(img: Tensor) -> Tensor:
    h, s, v = img.unbind(dim=-3)
    i = dynagrad.floor(h * 6.0)
    f = (h * 6.0) - i
    i = i.to(dtype=dynagrad.int32)
    p = dynagrad.clamp(v * (1.0 - s), 0.0, 1.0)
    q = dynagrad.clamp(v * (1.0 - s * f), 0.0, 1.0)
    t = dynagrad.clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    i = i % 6
    mask = i.unsqueeze(dim=-3) == dynagrad.arange(6).view(-1, 1, 1)
    a1 = dynagrad.stack((v, q, p, p, t, v), dim=-3)
    a2 = dynagrad.stack((t, v, v, q, p, p), dim=-3)
    a3 = dynagrad.stack((p, p, t, v, v, q), dim=-3)
    a4 = dynagrad.stack((a1, a2, a3), dim=-4)
    return dynagrad.einsum("...ijk, ...xijk -> ...xjk", mask.to(dtype=img.dtype), a4)


def adjust_hue(img: Tensor, hue_factor: float) -> Tensor:
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    orig = img.dtype
    h, s, v = _rgb2hsv(convert_image_dtype(img, dynagrad.float32)).unbind(dim=-3)
    h = (h + hue_factor) % 1.0
    return convert_image_dtype(_hsv2rgb(dynagrad.stack((h, s, v), dim=-3)), orig)


def adjust_gamma(img: Tensor, gamma: float, gain: float = 1) -> Tensor:
    assert_channels(img, [1, 3])
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    dtype = img.dtype
    result = img if dtype.is_floating_point else convert_image_dtype(img, dynagrad.float32)
    return convert_image_dtype((gain * result.pow(gamma)).clamp(0, 1), dtype)


def _parse_pad_padding(padding) -> list[int]:
    if isinstance(padding, int):
        return [padding] * 4
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    return [padding[0], padding[2], padding[1], padding[3]]  # left, right, top, bottom


def _pad_symmetric(img: Tensor, padding: list[int]) -> Tensor:
    if min(padding) < 0:
        cl, cr, ct, cb = [-min(x, 0) for x in padding]
        img = img[..., ct:int(img.shape[-2]) - cb, cl:int(img.shape[-1]) - cr]
        padding = [max(x, 0) for x in padding]
    h, w = int(img.shape[-2]), int(img.shape[-1])
    xs = list(range(padding[0] - 1, -1, -1)) + list(range(w)) + [w - 1 - i for i in range(padding[1])]
    ys = list(range(padding[2] - 1, -1, -1)) + list(range(h)) + [h - 1 - i for i in range(padding[3])]
    if img.ndim not in (3, 4):
        raise RuntimeError("Symmetric padding of N-D tensors are not supported yet")
    return img.index_select(-2, dynagrad.tensor(ys)).index_select(-1, dynagrad.tensor(xs))


def pad(img: Tensor, padding, fill=0, padding_mode: str = "constant") -> Tensor:
    assert_image_tensor(img)
    if fill is None:
        fill = 0
    if not isinstance(padding, (int, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if not isinstance(fill, (int, float)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    p = _parse_pad_padding(list(padding) if isinstance(padding, tuple) else padding)
    if padding_mode == "symmetric":
        return _pad_symmetric(img, p)
    mode = "replicate" if padding_mode == "edge" else padding_mode
    squeeze = img.ndim < 4
    if squeeze:
        img = img.unsqueeze(0)
    out_dtype = img.dtype
    cast = mode != "constant" and img.dtype not in (dynagrad.float32, dynagrad.float64)
    if cast:
        img = img.to(dynagrad.float32)
    img = NF.pad(img, p, mode=mode) if mode != "constant" else NF.pad(img, p, mode="constant", value=float(fill))
    if squeeze:
        img = img.squeeze(0)
    return img.to(out_dtype) if cast else img


def _cast_squeeze_in(img: Tensor, req_dtypes: list):
    squeeze = img.ndim < 4
    if squeeze:
        img = img.unsqueeze(0)
    out_dtype = img.dtype
    cast = out_dtype not in req_dtypes
    if cast:
        img = img.to(req_dtypes[0])
    return img, cast, squeeze, out_dtype


def _cast_squeeze_out(img: Tensor, cast: bool, squeeze: bool, out_dtype) -> Tensor:
    if squeeze:
        img = img.squeeze(0)
    if cast:
        if not out_dtype.is_floating_point:
            img = dynagrad.round(img)
        img = img.to(out_dtype)
    return img


def resize(img: Tensor, size: list[int], interpolation: str = "bilinear", antialias=True) -> Tensor:
    assert_image_tensor(img)
    if antialias is None or interpolation not in ("bilinear", "bicubic"):
        antialias = False
    lead = tuple(img.shape[:-3]) if img.ndim > 4 else None
    if lead is not None:  # interpolate takes (N, C, H, W): fold any further batch dimensions into N
        img = img.reshape(-1, *img.shape[-3:])
    x, cast, squeeze, out_dtype = _cast_squeeze_in(img, [dynagrad.float32, dynagrad.float64])
    kw = {"align_corners": False} if interpolation in ("bilinear", "bicubic") else {}
    if antialias:
        kw["antialias"] = True
    x = NF.interpolate(x, size=list(size), mode=interpolation, **kw)
    if interpolation == "bicubic" and out_dtype == dynagrad.uint8:
        x = x.clamp(min=0, max=255)
    out = _cast_squeeze_out(x, cast, squeeze, out_dtype)
    return out.reshape(*lead, *out.shape[-3:]) if lead is not None else out


# -- grid warps ---------------------------------------------------------------------------------------------

def _gen_affine_grid(theta: np.ndarray, w: int, h: int, ow: int, oh: int) -> np.ndarray:
    """Sampling positions in [-1, 1] for an output of ``oh x ow`` (torchvision's affine grid, normalised by
    the input size so that an expanded output still samples the input)."""
    dt = theta.dtype
    d = 0.5
    base = np.empty((1, oh, ow, 3), dtype=dt)
    base[..., 0] = dynagrad.linspace(-ow * 0.5 + d, ow * 0.5 + d - 1, steps=ow).numpy().astype(dt)
    base[..., 1] = dynagrad.linspace(-oh * 0.5 + d, oh * 0.5 + d - 1, steps=oh).numpy().astype(dt)[:, None]
    base[..., 2] = 1
    rescaled = theta.transpose(0, 2, 1) / np.array([0.5 * w, 0.5 * h], dtype=dt)
    return (base.reshape(1, oh * ow, 3) @ rescaled).reshape(1, oh, ow, 2)


def _grid_sample(img: Tensor, grid: np.ndarray, mode: str) -> Tensor:
    """``grid_sample(img, grid, mode, padding_mode="zeros", align_corners=False)`` for one grid shared by
    the batch (N, C, H, W)."""
    n, c, h, w = (int(s) for s in img.shape)
    dt = grid.dtype
    gx, gy = grid[0, ..., 0], grid[0, ..., 1]
    # unnormalise as ATen's CPU kernel does: (coord + 1) * (size / 2) - 0.5
    ix = (gx + dt.type(1)) * dt.type(w / 2) - dt.type(0.5)
    iy = (gy + dt.type(1)) * dt.type(h / 2) - dt.type(0.5)
    oh, ow = ix.shape
    flat = img.reshape(n, c, h * w)

    def tap(xi, yi, weight):
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        idx = (np.clip(yi, 0, h - 1) * w + np.clip(xi, 0, w - 1)).reshape(-1)
        vals = flat.index_select(2, dynagrad.from_numpy(idx.astype(np.int64))).reshape(n, c, oh, ow)
        wgt = dynagrad.from_numpy(np.where(ok, weight, 0).astype(dt)).to(img.dtype)
        return vals * wgt

    if mode == "nearest":
        xn, yn = np.rint(ix).astype(np.int64), np.rint(iy).astype(np.int64)
        return tap(xn, yn, np.ones_like(ix))
    x0, y0 = np.floor(ix), np.floor(iy)
    fx, fy = ix - x0, iy - y0
    ex, sy = dt.type(1) - fx, dt.type(1) - fy
    x0i, y0i = x0.astype(np.int64), y0.astype(np.int64)
    out = tap(x0i, y0i, sy * ex) + tap(x0i + 1, y0i, sy * fx)
    out = out + tap(x0i, y0i + 1, fy * ex)
    return out + tap(x0i + 1, y0i + 1, fy * fx)


def _apply_grid_transform(img: Tensor, grid: np.ndarray, mode: str, fill) -> Tensor:
    dt = {np.dtype(np.float32): dynagrad.float32, np.dtype(np.float64): dynagrad.float64}[grid.dtype]
    img, cast, squeeze, out_dtype = _cast_squeeze_in(img, [dt])
    if fill is not None:  # a ones channel tells, after sampling, how much of each pixel came from the image
        mask = dynagrad.ones((int(img.shape[0]), 1, int(img.shape[2]), int(img.shape[3])), dtype=img.dtype)
        img = dynagrad.cat((img, mask), dim=1)
    img = _grid_sample(img, grid, mode)
    if fill is not None:
        mask = img[:, -1:, :, :]
        img = img[:, :-1, :, :]
        mask = mask.expand_as(img)
        fill_list = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        fill_img = dynagrad.tensor(fill_list, dtype=img.dtype).view(1, len(fill_list), 1, 1).expand_as(img)
        if mode == "nearest":
            img = dynagrad.where(mask < 0.5, fill_img, img)
        else:
            img = img * mask + (1.0 - mask) * fill_img
    return _cast_squeeze_out(img, cast, squeeze, out_dtype)


def _check_grid_inputs(img, matrix, interpolation, fill) -> None:
    assert_image_tensor(img)
    if matrix is not None and (not isinstance(matrix, list) or len(matrix) != 6):
        raise ValueError("Argument matrix should have 6 float values")
    c = get_dimensions(img)[0]
    if fill is not None and isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != c:
        raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the number of channels of "
                         f"the image ({len(fill)} != {c})")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")


def _np_dtype(img: Tensor):
    return np.float64 if img.dtype == dynagrad.float64 else np.float32


def affine(img: Tensor, matrix: list[float], interpolation: str = "nearest", fill=None) -> Tensor:
    _check_grid_inputs(img, matrix, interpolation, fill)
    theta = np.asarray(matrix, dtype=_np_dtype(img)).reshape(1, 2, 3)
    h, w = int(img.shape[-2]), int(img.shape[-1])
    return _apply_grid_transform(img, _gen_affine_grid(theta, w, h, w, h), interpolation, fill)


def _compute_affine_output_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.asarray(matrix, dtype=np.float32).reshape(2, 3)
    new = pts @ theta.T
    mn = new.min(axis=0) + np.array((w * 0.5, h * 0.5), dtype=np.float32)
    mx = new.max(axis=0) + np.array((w * 0.5, h * 0.5), dtype=np.float32)
    tol = np.float32(1e-4)  # truncate to 1e-4 so that 1e-15 above an integer does not round up a pixel
    size = np.ceil(np.trunc(mx / tol) * tol) - np.floor(np.trunc(mn / tol) * tol)
    return int(size[0]), int(size[1])


def rotate(img: Tensor, matrix: list[float], interpolation: str = "nearest", expand: bool = False,
           fill=None) -> Tensor:
    _check_grid_inputs(img, matrix, interpolation, fill)
    w, h = int(img.shape[-1]), int(img.shape[-2])
    ow, oh = _compute_affine_output_size(matrix, w, h) if expand else (w, h)
    theta = np.asarray(matrix, dtype=_np_dtype(img)).reshape(1, 2, 3)
    return _apply_grid_transform(img, _gen_affine_grid(theta, w, h, ow, oh), interpolation, fill)


def perspective(img: Tensor, coeffs: list[float], interpolation: str = "bilinear", fill=None) -> Tensor:
    _check_grid_inputs(img, None, interpolation, fill)
    if len(coeffs) != 8:
        raise ValueError("Argument coeffs should have 8 float values")
    ow, oh = int(img.shape[-1]), int(img.shape[-2])
    dt = _np_dtype(img)
    theta1 = np.array([[[coeffs[0], coeffs[1], coeffs[2]], [coeffs[3], coeffs[4], coeffs[5]]]], dtype=dt)
    theta2 = np.array([[[coeffs[6], coeffs[7], 1.0], [coeffs[6], coeffs[7], 1.0]]], dtype=dt)
    base = np.empty((1, oh, ow, 3), dtype=dt)
    base[..., 0] = dynagrad.linspace(0.5, ow * 1.0 + 0.5 - 1.0, steps=ow).numpy().astype(dt)
    base[..., 1] = dynagrad.linspace(0.5, oh * 1.0 + 0.5 - 1.0, steps=oh).numpy().astype(dt)[:, None]
    base[..., 2] = 1
    flat = base.reshape(1, oh * ow, 3)
    g1 = flat @ (theta1.transpose(0, 2, 1) / np.array([0.5 * ow, 0.5 * oh], dtype=dt))
    g2 = flat @ theta2.transpose(0, 2, 1)
    grid = (g1 / g2 - dt(1.0)).reshape(1, oh, ow, 2)
    return _apply_grid_transform(img, grid, interpolation, fill)


# -- filters and point operations ------------------------------------------------------------------------------

def _gaussian_kernel1d(kernel_size: int, sigma: float, dtype) -> Tensor:
    half = (kernel_size - 1) * 0.5
    x = dynagrad.linspace(-half, half, steps=kernel_size, dtype=dtype)
    pdf = dynagrad.exp(-0.5 * (x / sigma).pow(2))
    return pdf / pdf.sum()


def gaussian_blur(img: Tensor, kernel_size: list[int], sigma: list[float]) -> Tensor:
    assert_image_tensor(img)
    dtype = img.dtype if img.dtype.is_floating_point else dynagrad.float32
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], dtype)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], dtype)
    kernel = dynagrad.mm(ky[:, None], kx[None, :])
    c = int(img.shape[-3])
    kernel = kernel.expand(c, 1, kernel.shape[0], kernel.shape[1])
    x, cast, squeeze, out_dtype = _cast_squeeze_in(img, [kernel.dtype])
    x = NF.pad(x, [kernel_size[0] // 2, kernel_size[0] // 2, kernel_size[1] // 2, kernel_size[1] // 2],
               mode="reflect")
    x = NF.conv2d(x, kernel, groups=c)
    return _cast_squeeze_out(x, cast, squeeze, out_dtype)


def _assert_3d(img: Tensor) -> None:
    assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")


def invert(img: Tensor) -> Tensor:
    _assert_3d(img)
    assert_channels(img, [1, 3])
    return max_value(img.dtype) - img


def posterize(img: Tensor, bits: int) -> Tensor:
    _assert_3d(img)
    if img.dtype != dynagrad.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    assert_channels(img, [1, 3])
    mask = np.uint8((-int(2 ** (8 - bits))) & 0xFF)
    return dynagrad.from_numpy(np.bitwise_and(img.detach().numpy(), mask))


def solarize(img: Tensor, threshold: float) -> Tensor:
    _assert_3d(img)
    assert_channels(img, [1, 3])
    if threshold > max_value(img.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    return dynagrad.where(img >= threshold, invert(img), img)


def _blurred_degenerate_image(img: Tensor) -> Tensor:
    dtype = img.dtype if img.dtype.is_floating_point else dynagrad.float32
    kernel = dynagrad.ones((3, 3), dtype=dtype)
    kernel[1, 1] = 5.0
    kernel = kernel / kernel.sum()
    c = int(img.shape[-3])
    kernel = kernel.expand(c, 1, 3, 3)
    x, cast, squeeze, out_dtype = _cast_squeeze_in(img, [kernel.dtype])
    x = _cast_squeeze_out(NF.conv2d(x, kernel, groups=c), cast, squeeze, out_dtype)
    result = img.clone()
    result[..., 1:-1, 1:-1] = x
    return result


def adjust_sharpness(img: Tensor, sharpness_factor: float) -> Tensor:
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    assert_image_tensor(img)
    assert_channels(img, [1, 3])
    if int(img.shape[-1]) <= 2 or int(img.shape[-2]) <= 2:
        return img
    return _blend(img, _blurred_degenerate_image(img), sharpness_factor)


def autocontrast(img: Tensor) -> Tensor:
    _assert_3d(img)
    assert_channels(img, [1, 3])
    bound = max_value(img.dtype)
    dtype = img.dtype if img.dtype.is_floating_point else dynagrad.float32
    minimum = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    maximum = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    scale = bound / (maximum - minimum)
    eq = dynagrad.isfinite(scale).logical_not()
    minimum = dynagrad.where(eq, dynagrad.zeros_like(minimum), minimum)
    scale = dynagrad.where(eq, dynagrad.ones_like(scale), scale)
    return ((img - minimum) * scale).clamp(0, bound).to(img.dtype)


def _scale_channel(chan: np.ndarray) -> np.ndarray:
    hist = np.bincount(chan.reshape(-1), minlength=256).astype(np.int64)
    nonzero = hist[hist != 0]
    step = nonzero[:-1].sum() // 255
    if step == 0:
        return chan
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut])[:-1], 0, 255)
    return lut[chan.astype(np.int64)].astype(np.uint8)


def equalize(img: Tensor) -> Tensor:
    assert_image_tensor(img)
    if not 3 <= img.ndim <= 4:
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {img.ndim}")
    if img.dtype != dynagrad.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    assert_channels(img, [1, 3])
    a = img.detach().numpy()
    flat = a.reshape(-1, *a.shape[-3:])
    out = np.stack([np.stack([_scale_channel(ch) for ch in im]) for im in flat]).reshape(a.shape)
    return dynagrad.from_numpy(np.ascontiguousarray(out))


def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    assert_image_tensor(tensor)
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                         f"{tensor.size()}")
    if not inplace:
        tensor = tensor.clone()
    mean = dynagrad.as_tensor(mean, dtype=tensor.dtype)
    std = dynagrad.as_tensor(std, dtype=tensor.dtype)
    if bool((std == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    return tensor.sub_(mean).div_(std)


def erase(img: Tensor, i: int, j: int, h: int, w: int, v: Tensor, inplace: bool = False) -> Tensor:
    assert_image_tensor(img)
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img
