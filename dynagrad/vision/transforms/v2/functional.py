"""``torchvision.transforms.v2.functional``: the kernels of ``transforms.functional`` under their v2
names, plus ``to_image`` and ``to_dtype``.

>>> import dynagrad
>>> from dynagrad.vision.transforms.v2 import functional as F
>>> F.to_dtype(dynagrad.full((1, 2, 2), 255, dtype=dynagrad.uint8), dynagrad.float32, scale=True).max().item()
1.0
"""
from __future__ import annotations

from ..functional import *  # noqa: F401,F403
from ..functional import __all__ as _v1_all
from ..functional import pil_to_tensor, rgb_to_grayscale, to_pil_image  # noqa: F401

__all__ = list(_v1_all) + ["to_image", "to_dtype", "to_grayscale", "grayscale_to_rgb"]


def to_image(inpt):
    """A PIL image, ``H x W x C`` array or tensor as a ``tv_tensors.Image``."""
    from . import ToImage
    return ToImage().transform(inpt, {})


def to_dtype(inpt, dtype=None, scale: bool = False):
    """Cast an image tensor; with ``scale`` its value range follows (0..255 <-> [0, 1])."""
    import dynagrad

    from . import ToDtype
    return ToDtype(dtype if dtype is not None else dynagrad.float32, scale=scale).transform(inpt, {})


def to_grayscale(inpt, num_output_channels: int = 1):
    return rgb_to_grayscale(inpt, num_output_channels)


def grayscale_to_rgb(inpt):
    import dynagrad
    if isinstance(inpt, dynagrad.Tensor):
        return inpt.expand(*inpt.shape[:-3], 3, *inpt.shape[-2:]) if int(inpt.shape[-3]) == 1 else inpt
    return inpt.convert("RGB")
