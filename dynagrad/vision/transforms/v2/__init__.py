"""``torchvision.transforms.v2`` basics: transforms that take a whole sample (an image with its label, a
tuple, a dict), transform its images and pass everything else through, with parameters drawn once per
call as v2 draws them (v2's draws differ from v1's in places, e.g. ``RandomCrop`` and ``RandomChoice``).

Images are PIL images, ``tv_tensors.Image``, or, when a sample has neither, its first plain tensor (v2's
rule). Pixel kernels are those of ``transforms.functional`` (v1); torchvision's v2 has separate uint8
tensor kernels whose rounding can differ by one level on tensor inputs. Bounding boxes, masks and
videos are not supported.

>>> import dynagrad
>>> from dynagrad.vision.transforms import v2
>>> t = v2.Compose([v2.ToImage(), v2.ToDtype(dynagrad.float32, scale=True)])
>>> x, label = t((dynagrad.full((3, 2, 2), 255, dtype=dynagrad.uint8), 7))
>>> float(x.max()), label
(1.0, 7)
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

import dynagrad
from dynagrad import nn
from dynagrad.tensor import Tensor

from ... import tv_tensors
from .. import functional as F
from .. import transforms as _v1
from ..autoaugment import AutoAugment as _AutoAugment
from ..autoaugment import AutoAugmentPolicy  # noqa: F401
from ..autoaugment import RandAugment as _RandAugment
from ..autoaugment import TrivialAugmentWide as _TrivialAugmentWide
from ..functional import InterpolationMode  # noqa: F401
from . import functional  # noqa: E402,F401

__all__ = ["functional", "Transform", "Compose", "RandomApply", "RandomChoice", "RandomOrder", "ToImage", "ToDtype",
           "ToPureTensor", "PILToTensor", "ToPILImage", "ToTensor", "ConvertImageDtype", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomRotation", "RandomAffine", "ColorJitter", "Grayscale", "RandomGrayscale", "RandomErasing",
           "GaussianBlur", "Pad", "Lambda", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AutoAugmentPolicy",
           "InterpolationMode", "Identity"]


# -- samples: flatten, find the images, rebuild -----------------------------------------------------------------

def _flatten(x, out: list):
    if isinstance(x, (tuple, list)):
        return type(x), [_flatten(v, out) for v in x]
    if isinstance(x, dict):
        return dict, {k: _flatten(v, out) for k, v in x.items()}
    out.append(x)
    return None


def _unflatten(spec, it):
    if spec is None:
        return next(it)
    kind, sub = spec
    if kind is dict:
        return {k: _unflatten(v, it) for k, v in sub.items()}
    vals = [_unflatten(v, it) for v in sub]
    return kind(vals) if kind is not list else vals


def _is_image(x) -> bool:
    return isinstance(x, tv_tensors.Image) or F._is_pil_image(x)


def _needs(flat: list) -> list[bool]:
    plain_ok = not any(_is_image(x) for x in flat)
    needs = []
    for x in flat:
        if _is_image(x):
            needs.append(True)
        elif isinstance(x, Tensor) and not isinstance(x, tv_tensors.TVTensor) and plain_ok:
            plain_ok = False
            needs.append(True)
        else:
            needs.append(False)
    return needs


def _size(images: list) -> tuple[int, int]:
    sizes = {tuple(F.get_dimensions(x)[1:]) for x in images}
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {sorted(sizes)}")
    if not sizes:
        raise TypeError("No image, video, mask or bounding box was found in the sample")
    return next(iter(sizes))


class Transform(nn.Module):
    """Base of the v2 transforms: ``make_params`` draws once per sample, ``transform`` maps each image."""

    def make_params(self, flat_inputs: list) -> dict:
        return {}

    def transform(self, inpt, params: dict):
        raise NotImplementedError

    def _rewrap(self, inpt, out):
        return tv_tensors.Image(out) if isinstance(inpt, tv_tensors.Image) and isinstance(out, Tensor) and \
            not isinstance(out, tv_tensors.Image) else out

    def _apply(self, sample, gate: bool = False):
        flat: list = []
        spec = _flatten(sample, flat)
        if gate and float(dynagrad.rand(1).item()) >= self.p:
            return sample
        needs = _needs(flat)
        params = self.make_params([x for x, n in zip(flat, needs) if n])
        out = [self._rewrap(x, self.transform(x, params)) if n else x for x, n in zip(flat, needs)]
        return _unflatten(spec, iter(out))

    def forward(self, *inputs):
        return self._apply(inputs if len(inputs) > 1 else inputs[0])


class _RandomApplyTransform(Transform):
    def __init__(self, p: float = 0.5) -> None:
        if not (0.0 <= p <= 1.0):
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs):
        return self._apply(inputs if len(inputs) > 1 else inputs[0], gate=True)


class _Wrap(Transform):
    """A v1 transform applied to each image of the sample (for transforms whose draws v2 makes alike)."""

    _v1cls = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        self._t = self._v1cls(*args, **kwargs)

    def transform(self, inpt, params):
        return self._t(inpt)

    def __repr__(self) -> str:
        return repr(self._t)


# -- containers -------------------------------------------------------------------------------------------

class Compose(Transform):
    def __init__(self, transforms: Sequence) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if not transforms:
            raise ValueError("Pass at least one transform")
        self.transforms = transforms

    def forward(self, *inputs):
        needs_unpack = len(inputs) > 1
        for t in self.transforms:
            outputs = t(*inputs)
            inputs = outputs if needs_unpack else (outputs,)
        return outputs

    def __repr__(self) -> str:
        return self.__class__.__name__ + "(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class RandomApply(Transform):
    def __init__(self, transforms, p: float = 0.5) -> None:
        super().__init__()
        if not (0.0 <= p <= 1.0):
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        self.transforms, self.p = transforms, p

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        if float(dynagrad.rand(1).item()) >= self.p:
            return sample
        for t in self.transforms:
            sample = t(sample)
        return sample


class RandomChoice(Transform):
    """One of ``transforms``, drawn as ``torch.multinomial(p, 1)`` draws (one exponential per choice)."""

    def __init__(self, transforms, p=None) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        if p is None:
            p = [1] * len(transforms)
        elif len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != {len(transforms)}")
        total = sum(p)
        self.transforms, self.p = transforms, [w / total for w in p]

    def forward(self, *inputs):
        idx = int(dynagrad.multinomial(dynagrad.tensor(self.p), 1))
        return self.transforms[idx](*inputs)


class RandomOrder(Transform):
    """``transforms`` in the order of a ``randperm`` draw."""

    def __init__(self, transforms) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        self.transforms = transforms

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        needs_unpack = len(inputs) > 1
        for idx in dynagrad.randperm(len(self.transforms)).tolist():
            out = self.transforms[idx](*sample) if needs_unpack else self.transforms[idx](sample)
            sample = out
        return sample


class Lambda(Transform):
    def __init__(self, lambd, *types) -> None:
        super().__init__()
        self.lambd, self.types = lambd, types or (object,)

    def forward(self, *inputs):
        flat: list = []
        spec = _flatten(inputs if len(inputs) > 1 else inputs[0], flat)
        return _unflatten(spec, iter([self.lambd(x) if isinstance(x, self.types) else x for x in flat]))


class Identity(Transform):
    def forward(self, *inputs):
        return inputs if len(inputs) > 1 else inputs[0]


# -- conversion -------------------------------------------------------------------------------------------

class ToImage(Transform):
    """PIL image, NumPy ``H x W x C`` array or tensor -> ``tv_tensors.Image`` (``C x H x W``, dtype kept)."""

    def _apply(self, sample, gate: bool = False):
        flat: list = []
        spec = _flatten(sample, flat)
        needs = [F._is_pil_image(x) or isinstance(x, np.ndarray) or n for x, n in zip(flat, _needs(flat))]
        out = [self.transform(x, {}) if n else x for x, n in zip(flat, needs)]
        return _unflatten(spec, iter(out))

    def transform(self, inpt, params):
        if isinstance(inpt, np.ndarray):
            a = inpt[:, :, None] if inpt.ndim == 2 else inpt
            return tv_tensors.Image(dynagrad.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))))
        return tv_tensors.Image(inpt)


class PILToTensor(Transform):
    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt) if F._is_pil_image(inpt) else inpt


class ToPureTensor(Transform):
    def _apply(self, sample, gate: bool = False):
        flat: list = []
        spec = _flatten(sample, flat)
        out = [Tensor._wrap(x._data) if isinstance(x, tv_tensors.TVTensor) else x for x in flat]
        return _unflatten(spec, iter(out))


class ToPILImage(Transform):
    def __init__(self, mode=None) -> None:
        super().__init__()
        self.mode = mode

    def transform(self, inpt, params):
        return F.to_pil_image(inpt, mode=self.mode) if isinstance(inpt, Tensor) else inpt


class ToTensor(Transform):
    """Deprecated in torchvision (use ``ToImage`` + ``ToDtype(float32, scale=True)``), kept for old code."""

    def transform(self, inpt, params):
        return F.to_tensor(inpt) if not isinstance(inpt, Tensor) else inpt


class ToDtype(Transform):
    """Cast images (and with a dict, other types) to ``dtype``; ``scale=True`` rescales value ranges."""

    def __init__(self, dtype, scale: bool = False) -> None:
        super().__init__()
        if not isinstance(dtype, (dict, dynagrad.dtype)):
            raise ValueError(f"dtype must be a dict or a torch.dtype, got {type(dtype)} instead")
        self.dtype, self.scale = dtype, scale

    def transform(self, inpt, params):
        if not isinstance(inpt, Tensor):
            return inpt
        dtype = self.dtype
        if isinstance(dtype, dict):
            dtype = dtype.get(type(inpt), dtype.get(tv_tensors.Image if isinstance(inpt, tv_tensors.Image) else
                                                    Tensor, dtype.get("others")))
            if dtype is None:
                return inpt
        if inpt.dtype == dtype:
            return inpt
        if not self.scale:
            return inpt.to(dtype)
        if inpt.dtype.is_floating_point:
            return F.convert_image_dtype(inpt, dtype)
        if dtype.is_floating_point:  # v2 multiplies by 1/max where v1 divides by max
            return inpt.to(dtype).mul_(1.0 / F.F_t.max_value(inpt.dtype))
        return F.convert_image_dtype(inpt, dtype)


class ConvertImageDtype(ToDtype):
    def __init__(self, dtype=dynagrad.float32) -> None:
        super().__init__(dtype, scale=True)


class Normalize(Transform):
    def __init__(self, mean, std, inplace: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def transform(self, inpt, params):
        if F._is_pil_image(inpt):
            raise TypeError("Normalize does not support PIL images.")
        return F.normalize(inpt, self.mean, self.std, self.inplace)


# -- geometry ---------------------------------------------------------------------------------------------

class Resize(_Wrap):
    _v1cls = _v1.Resize


class CenterCrop(_Wrap):
    _v1cls = _v1.CenterCrop


class Pad(_Wrap):
    _v1cls = _v1.Pad


class Grayscale(_Wrap):
    _v1cls = _v1.Grayscale


class RandomHorizontalFlip(_RandomApplyTransform):
    def transform(self, inpt, params):
        return F.hflip(inpt)


class RandomVerticalFlip(_RandomApplyTransform):
    def transform(self, inpt, params):
        return F.vflip(inpt)


class RandomGrayscale(_RandomApplyTransform):
    def __init__(self, p: float = 0.1) -> None:
        super().__init__(p)

    def make_params(self, flat_inputs):
        return {"c": F.get_dimensions(flat_inputs[0])[0]}

    def transform(self, inpt, params):
        return F.rgb_to_grayscale(inpt, num_output_channels=params["c"])


def _parse_pad(padding) -> list[int]:
    if isinstance(padding, int):
        return [padding] * 4
    padding = list(padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    return [padding[0], padding[2], padding[1], padding[3]]  # left, right, top, bottom


class RandomCrop(Transform):
    """v2's RandomCrop: pads (``padding``, ``pad_if_needed`` on both sides), then draws the top and left
    offsets only along the dimensions that are larger than the crop."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0, padding_mode: str = "constant"):
        super().__init__()
        self.size = _v1._setup_size(size, error_msg="Please provide only two dimensions (h, w) for size.")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding = _parse_pad(padding) if padding else None
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def make_params(self, flat_inputs):
        ph, pw = _size(flat_inputs)
        if self.padding is not None:
            pl, pr, pt, pb = self.padding
            ph += pt + pb
            pw += pl + pr
        else:
            pl = pr = pt = pb = 0
        ch, cw = self.size
        if self.pad_if_needed:
            if ph < ch:
                d = ch - ph
                pt, pb, ph = pt + d, pb + d, ph + 2 * d
            if pw < cw:
                d = cw - pw
                pl, pr, pw = pl + d, pr + d, pw + 2 * d
        if ph < ch or pw < cw:
            raise ValueError(f"Required crop size {(ch, cw)} is larger than "
                             f"{'padded ' if self.padding is not None else ''}input image size {(ph, pw)}.")
        top = int(dynagrad.randint(0, ph - ch + 1, size=()).item()) if ph > ch else 0
        left = int(dynagrad.randint(0, pw - cw + 1, size=()).item()) if pw > cw else 0
        return {"top": top, "left": left, "padding": [pl, pt, pr, pb], "crop": ph > ch or pw > cw}

    def transform(self, inpt, params):
        if any(params["padding"]):
            inpt = F.pad(inpt, params["padding"], self.fill, self.padding_mode)
        if params["crop"]:
            inpt = F.crop(inpt, params["top"], params["left"], self.size[0], self.size[1])
        return inpt


class RandomResizedCrop(Transform):
    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=InterpolationMode.BILINEAR,
                 antialias=True) -> None:
        super().__init__()
        self._t = _v1.RandomResizedCrop(size, scale, ratio, interpolation, antialias)

    def make_params(self, flat_inputs):
        h, w = _size(flat_inputs)
        probe = dynagrad.empty(1, h, w)  # get_params reads only the size
        i, j, hh, ww = _v1.RandomResizedCrop.get_params(probe, self._t.scale, self._t.ratio)
        return {"top": i, "left": j, "height": hh, "width": ww}

    def transform(self, inpt, params):
        return F.resized_crop(inpt, params["top"], params["left"], params["height"], params["width"], self._t.size,
                              self._t.interpolation, antialias=self._t.antialias)

    def __repr__(self) -> str:
        return repr(self._t)


class RandomRotation(Transform):
    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
                 fill=0) -> None:
        super().__init__()
        self._t = _v1.RandomRotation(degrees, interpolation, expand, center, fill)

    def make_params(self, flat_inputs):
        return {"angle": _v1._uniform(self._t.degrees[0], self._t.degrees[1])}

    def transform(self, inpt, params):
        t = self._t
        return F.rotate(inpt, params["angle"], t.interpolation, t.expand, t.center, _v1._tensor_fill(t.fill, inpt))

    def __repr__(self) -> str:
        return repr(self._t)


class RandomAffine(Transform):
    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None) -> None:
        super().__init__()
        self._t = _v1.RandomAffine(degrees, translate, scale, shear, interpolation, fill, center)

    def make_params(self, flat_inputs):
        h, w = _size(flat_inputs)
        t = self._t
        angle, translations, scale, shear = _v1.RandomAffine.get_params(t.degrees, t.translate, t.scale, t.shear,
                                                                         [w, h])
        return {"angle": angle, "translate": translations, "scale": scale, "shear": shear}

    def transform(self, inpt, params):
        t = self._t
        return F.affine(inpt, params["angle"], list(params["translate"]), params["scale"], list(params["shear"]),
                        interpolation=t.interpolation, fill=_v1._tensor_fill(t.fill, inpt), center=t.center)

    def __repr__(self) -> str:
        return repr(self._t)


class ColorJitter(Transform):
    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None) -> None:
        super().__init__()
        self._t = _v1.ColorJitter(brightness or 0, contrast or 0, saturation or 0, hue or 0)

    def make_params(self, flat_inputs):
        t = self._t
        return dict(zip(("fn_idx", "b", "c", "s", "h"),
                        _v1.ColorJitter.get_params(t.brightness, t.contrast, t.saturation, t.hue)))

    def transform(self, inpt, params):
        for fn_id in params["fn_idx"].tolist():
            key, fn = [("b", F.adjust_brightness), ("c", F.adjust_contrast), ("s", F.adjust_saturation),
                       ("h", F.adjust_hue)][fn_id]
            if params[key] is not None:
                inpt = fn(inpt, params[key])
        return inpt

    def __repr__(self) -> str:
        return repr(self._t)


class GaussianBlur(Transform):
    def __init__(self, kernel_size, sigma=(0.1, 2.0)) -> None:
        super().__init__()
        self._t = _v1.GaussianBlur(kernel_size, sigma)

    def make_params(self, flat_inputs):
        s = _v1._uniform(self._t.sigma[0], self._t.sigma[1])
        return {"sigma": [s, s]}

    def transform(self, inpt, params):
        return F.gaussian_blur(inpt, list(self._t.kernel_size), params["sigma"])

    def __repr__(self) -> str:
        return repr(self._t)


class RandomErasing(_RandomApplyTransform):
    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace: bool = False) -> None:
        super().__init__(p)
        self._t = _v1.RandomErasing(p, scale, ratio, value, inplace)
        v = value
        self.value = None if isinstance(v, str) else ([float(v)] if isinstance(v, numbers.Number) else
                                                     [float(x) for x in v])

    def make_params(self, flat_inputs):
        c, h, w = F.get_dimensions(flat_inputs[0])
        if self.value is not None and len(self.value) not in (1, c):
            raise ValueError(f"If value is a sequence, it should have either a single value or {c} (number of inpt "
                             f"channels)")
        probe = dynagrad.empty(c, h, w)
        i, j, hh, ww, v = _v1.RandomErasing.get_params(probe, self._t.scale, self._t.ratio, self.value)
        return {"i": i, "j": j, "h": hh, "w": ww, "v": None if v is probe else v}

    def transform(self, inpt, params):
        if params["v"] is None:
            return inpt
        if F._is_pil_image(inpt):
            raise TypeError("RandomErasing does not support PIL images.")
        return F.erase(inpt, params["i"], params["j"], params["h"], params["w"], params["v"], self._t.inplace)


class AutoAugment(_Wrap):
    _v1cls = _AutoAugment


class RandAugment(_Wrap):
    _v1cls = _RandAugment


class TrivialAugmentWide(_Wrap):
    _v1cls = _TrivialAugmentWide

