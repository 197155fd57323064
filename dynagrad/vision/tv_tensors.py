"""``tv_tensors.Image``: a tensor marked as an image, so ``transforms.v2`` knows to transform it (and pass
other tensors in a sample through). Bounding boxes, masks and videos are not provided.

>>> import dynagrad
>>> from dynagrad.vision import tv_tensors
>>> img = tv_tensors.Image(dynagrad.zeros(4, 5))
>>> type(img).__name__, tuple(img.shape)
('Image', (1, 4, 5))
"""
from __future__ import annotations

import numpy as np

import dynagrad
from dynagrad.tensor import Tensor, _init

__all__ = ["Image", "TVTensor"]


class TVTensor(Tensor):
    """Base of the marked tensor types; operations on them give plain tensors, as in torchvision."""

    @classmethod
    def wrap_like(cls, other, tensor: Tensor):
        return cls(tensor)


class Image(TVTensor):
    """An image tensor ``(..., C, H, W)``; from a tensor, an array, or a PIL image (as ``pil_to_tensor``)."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad: bool | None = None):
        from .transforms import functional as F
        if F._is_pil_image(data):
            data = F.pil_to_tensor(data)
        t = data if isinstance(data, Tensor) else dynagrad.as_tensor(np.asarray(data))
        if dtype is not None:
            t = t.to(dtype)
        if t.ndim < 2:
            raise ValueError(f"tv_tensors.Image needs at least 2 dimensions, got {tuple(t.shape)}")
        if t.ndim == 2:
            t = t.unsqueeze(0)
        out = object.__new__(cls)
        _init(out, t._data)
        if requires_grad:
            out.requires_grad_(True)
        return out

    def __init__(self, *args, **kwargs) -> None:  # all done in __new__
        pass

    def __repr__(self) -> str:
        return super().__repr__().replace("tensor(", "Image(", 1)
