"""``make_grid`` and ``save_image`` (``torchvision.utils``): tile a batch of images into one with padding,
and write it as a PNG/JPEG with Pillow, with torchvision's arithmetic (so the pixels are the same).

>>> import dynagrad
>>> from dynagrad.vision.utils import make_grid
>>> make_grid(dynagrad.zeros(5, 3, 4, 4), nrow=4, padding=1).shape
torch.Size([3, 11, 21])
"""
from __future__ import annotations

import math
import os

import numpy as np

import dynagrad
from dynagrad.tensor import Tensor

__all__ = ["make_grid", "save_image"]


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False, value_range=None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """A ``C x H' x W'`` grid of the images in a ``B x C x H x W`` tensor (or a list of ``C x H x W``
    tensors), ``nrow`` per row; single-channel images become 3-channel; ``normalize`` rescales to [0, 1]
    by ``value_range`` (or the min and max, per image with ``scale_each``)."""
    if not isinstance(tensor, Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, Tensor):
                    raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if isinstance(tensor, list):
        tensor = dynagrad.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = dynagrad.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = dynagrad.cat((tensor, tensor, tensor), 1)
    if normalize is True:
        tensor = tensor.clone()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")

        def norm_ip(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t, rng):
            if rng is not None:
                norm_ip(t, rng[0], rng[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each is True:
            for i in range(int(tensor.size(0))):
                norm_range(tensor[i], value_range)
        else:
            norm_range(tensor, value_range)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = int(tensor.size(0))
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    c = int(tensor.size(1))
    grid = tensor.new_full((c, height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k += 1
    return grid


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """``make_grid(tensor, **kwargs)`` scaled to 0..255 (rounded), written by Pillow to ``fp`` (a path or a
    binary file; ``format`` from the file name unless given)."""
    from .datasets.utils import pil_image_module
    Image = pil_image_module()
    if Image is None:
        raise ImportError("save_image writes images with Pillow, an optional dependency of dynagrad: "
                          "pip install pillow")
    with dynagrad.no_grad():
        grid = make_grid(tensor, **kwargs)
        # + 0.5 so that the cast to uint8 rounds to the nearest integer
        nd = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(dynagrad.uint8).numpy()
    im = Image.fromarray(np.ascontiguousarray(nd))
    im.save(os.fspath(fp) if isinstance(fp, os.PathLike) else fp, format=format)


def __getattr__(name: str):
    raise AttributeError(f"module 'torchvision.utils' has no attribute '{name}' (dynagrad.vision does not provide it)")
