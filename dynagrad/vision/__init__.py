"""torchvision's API on dynagrad: ``models``, ``datasets``, ``transforms``, ``utils``, ``io`` and ``ops``.

Under ``dynagrad run`` a script's ``import torchvision`` resolves to this package. The submodules load on
first use, so ``import dynagrad.vision`` is cheap. Nothing here downloads: datasets read local files in
torchvision's folder layout, and pretrained weights load from a local file or the ``TORCH_HOME`` cache.

>>> from dynagrad.vision import datasets
>>> len(datasets.Digits(train=False))
297
>>> import dynagrad.vision as torchvision
>>> torchvision.models.resnet18(num_classes=3).fc.out_features
3
"""
from __future__ import annotations

import importlib

# The torchvision release whose API this package follows (the one paired with PyTorch 2.13).
__version__ = "0.28.0"

_SUBMODULES = ("models", "datasets", "transforms", "utils", "io", "ops", "tv_tensors")

__all__ = list(_SUBMODULES) + ["__version__", "get_image_backend", "set_image_backend"]

_image_backend = "PIL"


def get_image_backend() -> str:
    """The image loader datasets use: always ``'PIL'`` (Pillow)."""
    return _image_backend


def set_image_backend(backend: str) -> None:
    """Choose the image loader; only ``'PIL'`` exists here (torchvision's ``accimage`` does not)."""
    if backend != "PIL":
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' and 'accimage'; dynagrad has only "
                         f"'PIL'")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'torchvision' has no attribute '{name}' (dynagrad.vision does not provide it)")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
