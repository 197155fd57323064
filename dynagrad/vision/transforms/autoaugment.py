"""Learned and random augmentation policies (``AutoAugment``, ``RandAugment``, ``TrivialAugmentWide``),
drawing their choices from the global generator as torchvision does."""
from __future__ import annotations

import math
from enum import Enum

import numpy as np

import dynagrad
from dynagrad import nn
from dynagrad.tensor import Tensor

from . import functional as F
from .functional import InterpolationMode

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide"]


def _apply_op(img, op_name: str, magnitude: float, interpolation: InterpolationMode, fill):
    if op_name == "ShearX":  # torchvision shears by atan(magnitude) degrees about the corner
        return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=[math.degrees(math.atan(magnitude)), 0.0],
                        interpolation=interpolation, fill=fill, center=[0, 0])
    if op_name == "ShearY":
        return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, math.degrees(math.atan(magnitude))],
                        interpolation=interpolation, fill=fill, center=[0, 0])
    if op_name == "TranslateX":
        return F.affine(img, angle=0.0, translate=[int(magnitude), 0], scale=1.0, interpolation=interpolation,
                        shear=[0.0, 0.0], fill=fill)
    if op_name == "TranslateY":
        return F.affine(img, angle=0.0, translate=[0, int(magnitude)], scale=1.0, interpolation=interpolation,
                        shear=[0.0, 0.0], fill=fill)
    if op_name == "Rotate":
        return F.rotate(img, magnitude, interpolation=interpolation, fill=fill)
    if op_name == "Brightness":
        return F.adjust_brightness(img, 1.0 + magnitude)
    if op_name == "Color":
        return F.adjust_saturation(img, 1.0 + magnitude)
    if op_name == "Contrast":
        return F.adjust_contrast(img, 1.0 + magnitude)
    if op_name == "Sharpness":
        return F.adjust_sharpness(img, 1.0 + magnitude)
    if op_name == "Posterize":
        return F.posterize(img, int(magnitude))
    if op_name == "Solarize":
        return F.solarize(img, magnitude)
    if op_name == "AutoContrast":
        return F.autocontrast(img)
    if op_name == "Equalize":
        return F.equalize(img)
    if op_name == "Invert":
        return F.invert(img)
    if op_name == "Identity":
        return img
    raise ValueError(f"The provided operator {op_name} is not recognized.")


def _fill_for(img, fill):
    if isinstance(img, Tensor):
        c = F.get_dimensions(img)[0]
        if isinstance(fill, (int, float)):
            return [float(fill)] * c
        if fill is not None:
            return [float(f) for f in fill]
    return fill


def _posterize_bits(num_bins: int, top: int, div: float) -> Tensor:
    return (top - (dynagrad.arange(num_bins) / ((num_bins - 1) / div)).round().int())


def _space(num_bins: int, shear: float, tx: float, ty: float, rot: float, enh: float, post_top: int,
           post_div: float, identity: bool, invert: bool) -> dict:
    lin = dynagrad.linspace
    space = {"Identity": (dynagrad.tensor(0.0), False)} if identity else {}
    space.update({
        "ShearX": (lin(0.0, shear, num_bins), True), "ShearY": (lin(0.0, shear, num_bins), True),
        "TranslateX": (lin(0.0, tx, num_bins), True), "TranslateY": (lin(0.0, ty, num_bins), True),
        "Rotate": (lin(0.0, rot, num_bins), True),
        "Brightness": (lin(0.0, enh, num_bins), True), "Color": (lin(0.0, enh, num_bins), True),
        "Contrast": (lin(0.0, enh, num_bins), True), "Sharpness": (lin(0.0, enh, num_bins), True),
        "Posterize": (_posterize_bits(num_bins, post_top, post_div), False),
        "Solarize": (lin(255.0, 0.0, num_bins), False),
        "AutoContrast": (dynagrad.tensor(0.0), False), "Equalize": (dynagrad.tensor(0.0), False),
    })
    if invert:
        space["Invert"] = (dynagrad.tensor(0.0), False)
    return space


class AutoAugmentPolicy(Enum):
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


# The published sub-policies: ((op, probability, magnitude bin), (op, probability, magnitude bin)).
_P = {
    "imagenet": "Posterize .4 8 Rotate .6 9|Solarize .6 5 AutoContrast .6 -|Equalize .8 - Equalize .6 -|"
                "Posterize .6 7 Posterize .6 6|Equalize .4 - Solarize .2 4|Equalize .4 - Rotate .8 8|"
                "Solarize .6 3 Equalize .6 -|Posterize .8 5 Equalize 1 -|Rotate .2 3 Solarize .6 8|"
                "Equalize .6 - Posterize .4 6|Rotate .8 8 Color .4 0|Rotate .4 9 Equalize .6 -|"
                "Equalize 0 - Equalize .8 -|Invert .6 - Equalize 1 -|Color .6 4 Contrast 1 8|"
                "Rotate .8 8 Color 1 2|Color .8 8 Solarize .8 7|Sharpness .4 7 Invert .6 -|"
                "ShearX .6 5 Equalize 1 -|Color .4 0 Equalize .6 -|Equalize .4 - Solarize .2 4|"
                "Solarize .6 5 AutoContrast .6 -|Invert .6 - Equalize 1 -|Color .6 4 Contrast 1 8|"
                "Equalize .8 - Equalize .6 -",
    "cifar10": "Invert .1 - Contrast .2 6|Rotate .7 2 TranslateX .3 9|Sharpness .8 1 Sharpness .9 3|"
               "ShearY .5 8 TranslateY .7 9|AutoContrast .5 - Equalize .9 -|ShearY .2 7 Posterize .3 7|"
               "Color .4 3 Brightness .6 7|Sharpness .3 9 Brightness .7 9|Equalize .6 - Equalize .5 -|"
               "Contrast .6 7 Sharpness .6 5|Color .7 7 TranslateX .5 8|Equalize .3 - AutoContrast .4 -|"
               "TranslateY .4 3 Sharpness .2 6|Brightness .9 6 Color .2 8|Solarize .5 2 Invert 0 -|"
               "Equalize .2 - AutoContrast .6 -|Equalize .2 - Equalize .6 -|Color .9 9 Equalize .6 -|"
               "AutoContrast .8 - Solarize .2 8|Brightness .1 3 Color .7 0|Solarize .4 5 AutoContrast .9 -|"
               "TranslateY .9 9 TranslateY .7 9|AutoContrast .9 - Solarize .8 3|Equalize .8 - Invert .1 -|"
               "TranslateY .7 9 AutoContrast .9 -",
    "svhn": "ShearX .9 4 Invert .2 -|ShearY .9 8 Invert .7 -|Equalize .6 - Solarize .6 6|"
            "Invert .9 - Equalize .6 -|Equalize .6 - Rotate .9 3|ShearX .9 4 AutoContrast .8 -|"
            "ShearY .9 8 Invert .4 -|ShearY .9 5 Solarize .2 6|Invert .9 - AutoContrast .8 -|"
            "Equalize .6 - Rotate .9 3|ShearX .9 4 Solarize .3 3|ShearY .8 8 Invert .7 -|"
            "Equalize .9 - TranslateY .6 6|Invert .9 - Equalize .6 -|Contrast .3 3 Rotate .8 4|"
            "Invert .8 - TranslateY 0 2|ShearY .7 6 Solarize .4 8|Invert .6 - Rotate .8 4|"
            "ShearY .3 7 TranslateX .9 3|ShearX .1 6 Invert .6 -|Solarize .7 2 TranslateY .6 7|"
            "ShearY .8 4 Invert .8 -|ShearX .7 9 TranslateY .8 3|ShearY .8 5 AutoContrast .7 -|"
            "ShearX .7 2 Invert .1 -",
}


def _policies(policy: AutoAugmentPolicy) -> list:
    if not isinstance(policy, AutoAugmentPolicy) or policy.value not in _P:
        raise ValueError(f"The provided policy {policy} is not recognized.")
    out = []
    for sub in _P[policy.value].split("|"):
        w = sub.split()
        out.append(tuple((w[k], float(w[k + 1]), None if w[k + 2] == "-" else int(w[k + 2])) for k in (0, 3)))
    return out


class AutoAugment(nn.Module):
    """AutoAugment (Cubuk et al.): one of the policy's sub-policies, each op applied with its probability."""

    def __init__(self, policy: AutoAugmentPolicy = AutoAugmentPolicy.IMAGENET,
                 interpolation: InterpolationMode = InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__()
        self.policy, self.interpolation, self.fill = policy, interpolation, fill
        self.policies = _policies(policy)

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict:
        return _space(num_bins, 0.3, 150.0 / 331.0 * image_size[1], 150.0 / 331.0 * image_size[0], 30.0, 0.9,
                      8, 4, identity=False, invert=True)

    @staticmethod
    def get_params(transform_num: int):
        policy_id = int(dynagrad.randint(0, transform_num, (1,)).item())
        probs = dynagrad.rand((2,))
        signs = dynagrad.randint(0, 2, (2,))
        return policy_id, probs, signs

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        _, height, width = F.get_dimensions(img)
        transform_id, probs, signs = self.get_params(len(self.policies))
        op_meta = self._augmentation_space(10, (height, width))
        probs_np, signs_np = probs.numpy(), signs.numpy()
        for i, (op_name, p, magnitude_id) in enumerate(self.policies[transform_id]):
            if probs_np[i] <= np.float32(p):  # a float32 draw against the probability in float32, as torch compares
                magnitudes, signed = op_meta[op_name]
                magnitude = float(magnitudes[magnitude_id].item()) if magnitude_id is not None else 0.0
                if signed and signs_np[i] == 0:
                    magnitude *= -1.0
                img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(policy={self.policy}, fill={self.fill})"


class RandAugment(nn.Module):
    """RandAugment (Cubuk et al.): ``num_ops`` ops drawn uniformly, each at the fixed ``magnitude`` bin."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation: InterpolationMode = InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__()
        self.num_ops, self.magnitude, self.num_magnitude_bins = num_ops, magnitude, num_magnitude_bins
        self.interpolation, self.fill = interpolation, fill

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict:
        return _space(num_bins, 0.3, 150.0 / 331.0 * image_size[1], 150.0 / 331.0 * image_size[0], 30.0, 0.9,
                      8, 4, identity=True, invert=False)

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        _, height, width = F.get_dimensions(img)
        op_meta = self._augmentation_space(self.num_magnitude_bins, (height, width))
        names = list(op_meta)
        for _ in range(self.num_ops):
            op_name = names[int(dynagrad.randint(0, len(op_meta), (1,)).item())]
            magnitudes, signed = op_meta[op_name]
            magnitude = float(magnitudes[self.magnitude].item()) if magnitudes.ndim > 0 else 0.0
            if signed and int(dynagrad.randint(0, 2, (1,)).item()):
                magnitude *= -1.0
            img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, interpolation={self.interpolation}, "
                f"fill={self.fill})")


class TrivialAugmentWide(nn.Module):
    """TrivialAugment (Müller & Hutter): one op and one magnitude bin drawn uniformly per image."""

    def __init__(self, num_magnitude_bins: int = 31, interpolation: InterpolationMode = InterpolationMode.NEAREST,
                 fill=None) -> None:
        super().__init__()
        self.num_magnitude_bins, self.interpolation, self.fill = num_magnitude_bins, interpolation, fill

    def _augmentation_space(self, num_bins: int) -> dict:
        return _space(num_bins, 0.99, 32.0, 32.0, 135.0, 0.99, 8, 6, identity=True, invert=False)

    def forward(self, img):
        fill = _fill_for(img, self.fill)
        op_meta = self._augmentation_space(self.num_magnitude_bins)
        op_name = list(op_meta)[int(dynagrad.randint(0, len(op_meta), (1,)).item())]
        magnitudes, signed = op_meta[op_name]
        magnitude = (float(magnitudes[dynagrad.randint(0, len(magnitudes), (1,), dtype=dynagrad.long)].item())
                     if magnitudes.ndim > 0 else 0.0)
        if signed and int(dynagrad.randint(0, 2, (1,)).item()):
            magnitude *= -1.0
        return _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")
