"""The evaluation preprocessing published with each pretrained model (``weights.transforms()``)."""
from __future__ import annotations

import dynagrad
from dynagrad import nn
from dynagrad.tensor import Tensor

from . import functional as F
from .functional import InterpolationMode

__all__ = ["ImageClassification"]


class ImageClassification(nn.Module):
    """Resize the short side to ``resize_size``, centre-crop ``crop_size``, scale to [0, 1] and normalize.

    >>> import dynagrad
    >>> t = ImageClassification(crop_size=4, resize_size=6)
    >>> t(dynagrad.zeros(3, 8, 10, dtype=dynagrad.uint8)).shape
    torch.Size([3, 4, 4])
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), interpolation=InterpolationMode.BILINEAR, antialias=True) -> None:
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = F._mode(interpolation)
        self.antialias = antialias

    def forward(self, img):
        img = F.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if not isinstance(img, Tensor):
            img = F.pil_to_tensor(img)
        img = F.convert_image_dtype(img, dynagrad.float)
        return F.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n    crop_size={self.crop_size}\n    resize_size={self.resize_size}\n"
                f"    mean={self.mean}\n    std={self.std}\n    interpolation={self.interpolation}\n)")
