"""Image transforms with torchvision's names (``torchvision.transforms``), on PIL images (Pillow's own
operations, so results are torchvision's pixel for pixel) and on dynagrad tensors ``(..., C, H, W)``
(torchvision's tensor arithmetic). ``ToTensor`` also takes ``H x W [x C]`` NumPy arrays. Random
transforms draw from dynagrad's global generator exactly as torchvision draws from torch's, so
``dynagrad.manual_seed(s)`` reproduces torchvision's crops, flips and angles. ``transforms.v2`` has the
v2 API basics.

>>> import numpy as np
>>> from dynagrad.vision import transforms
>>> t = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
>>> t(np.full((4, 4), 255, dtype=np.uint8)).shape
torch.Size([1, 4, 4])
"""
from . import functional  # noqa: F401
from .autoaugment import AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _t_all


def __getattr__(name: str):
    if name == "v2":  # loads on first use, as it is bigger
        import importlib
        return importlib.import_module(".v2", __name__)
    raise AttributeError(f"module 'torchvision.transforms' has no attribute '{name}' (dynagrad.vision.transforms "
                         f"does not provide it)")


__all__ = list(_t_all) + ["AutoAugment", "AutoAugmentPolicy", "RandAugment", "TrivialAugmentWide", "functional"]
