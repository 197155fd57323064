"""The 8x8 handwritten digits bundled with dynagrad (1,797 images, UCI "optdigits"; licence in
``dynagrad/vision/data/DIGITS_LICENSE.txt``): :class:`Digits` and :func:`load_digits`.

Without a ``transform`` an item's image is a float32 tensor ``(1, 8, 8)`` in [0, 1]; with one, the
transform receives the ``8 x 8`` float32 NumPy array in [0, 1] (the 0..16 counts have no 8-bit form).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

import dynagrad
from dynagrad.utils.data import Dataset

__all__ = ["Digits", "load_digits"]

_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


class _ImageDataset(Dataset):
    """Images in ``self.data`` (uint8 tensor, N x H x W) and labels in ``self.targets``; pixels / ``_scale``
    lie in [0, 1]."""

    _scale = 255.0
    classes: list[str] = []

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, train: bool, transform: Any, target_transform: Any
    ) -> None:
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.data = dynagrad.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = dynagrad.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _raw(self, pixels: np.ndarray) -> np.ndarray:
        """What a user transform receives (see the module docstring); a copy, so it may be modified."""
        return pixels.copy()

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        pixels = self.data._data[index]  # NumPy directly: one sample needs no autograd machinery
        target = int(self.targets._data[index])
        if self.transform is None:
            img = dynagrad.from_numpy((pixels[None] / np.float32(self._scale)).astype(np.float32))
        else:
            img = self.transform(self._raw(pixels))
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if getattr(self, "root", None) is not None:
            lines.append(f"    Root location: {self.root}")
        lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                lines.append(f"    {name}: {getattr(self, name)!r}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# The bundled 8x8 digits
# ----------------------------------------------------------------------------------------------------


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled 8x8 digits as NumPy arrays: images uint8 ``(1797, 8, 8)`` with values 0..16, labels
    int64 ``(1797,)``. Fresh arrays on every call.

    >>> images, labels = load_digits()
    >>> images.shape, images.dtype, int(images.max()), labels[:5].tolist()
    ((1797, 8, 8), dtype('uint8'), 16, [0, 1, 2, 3, 4])
    """
    with np.load(os.path.join(_DATA_DIR, "digits.npz")) as f:
        return f["images"], f["labels"]


class Digits(_ImageDataset):
    """The 8x8 handwritten digits bundled with dynagrad: the first ``split`` images (default 1500) are
    the training set, the remaining 297 the test set. Items are ``(float32 tensor (1, 8, 8) in [0, 1],
    int label)``; pixel counts 0..16 are divided by 16.

    ``root`` is accepted for torchvision-style call sites and ignored: the data ship with the package.
    Licence and citation: ``dynagrad/vision/data/DIGITS_LICENSE.txt`` (UCI, CC BY 4.0).

    >>> train, test = Digits(train=True), Digits(train=False)
    >>> len(train), len(test)
    (1500, 297)
    >>> img, label = train[0]
    >>> tuple(img.shape), str(img.dtype), label
    ((1, 8, 8), 'torch.float32', 0)
    """

    _scale = 16.0
    classes = [str(i) for i in range(10)]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        split: int = 1500,
    ) -> None:
        images, labels = load_digits()
        part = slice(None, split) if train else slice(split, None)
        self.root = None if root is None else os.fspath(root)
        super().__init__(images[part], labels[part], train, transform, target_transform)

    def _raw(self, pixels: np.ndarray) -> np.ndarray:
        return (pixels / np.float32(self._scale)).astype(np.float32)
