"""The published ImageNet checkpoints of each architecture: file names, sizes and preprocessing (facts
taken from torchvision's model cards), as ``WeightsEnum`` classes. Loading reads the hub cache only."""
from __future__ import annotations

import functools
import os

from ._api import Weights, WeightsEnum

_URL = "https://download.pytorch.org/models/"


@functools.lru_cache(maxsize=1)
def _imagenet_categories() -> tuple[str, ...]:
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                        "imagenet_categories.txt")
    with open(path, encoding="utf-8") as f:
        return tuple(line.rstrip("\n") for line in f)


class _Categories(list):
    """ImageNet's 1000 class names, read from the data file on first use."""

    def _load(self):
        if not super().__len__():
            super().extend(_imagenet_categories())
        return self

    def __len__(self):
        return super(_Categories, self._load()).__len__()

    def __getitem__(self, i):
        return super(_Categories, self._load()).__getitem__(i)

    def __iter__(self):
        return super(_Categories, self._load()).__iter__()

    def __repr__(self):
        return super(_Categories, self._load()).__repr__()

    def __eq__(self, other):
        return list(self._load()) == list(other)

    __hash__ = None


_CATEGORIES = _Categories()


def make_weights(name: str, module: str, default: str, entries: list[tuple]) -> type:
    """A ``WeightsEnum`` subclass ``name`` with one member per ``(member, file, num_params, min_size,
    preset_kwargs)`` and ``DEFAULT`` aliasing ``default``."""
    from ..transforms._presets import ImageClassification

    members = {}
    for member, fname, num_params, min_size, preset in entries:
        members[member] = Weights(
            url=_URL + fname,
            transforms=functools.partial(ImageClassification, **preset),
            meta={"num_params": num_params, "min_size": min_size, "categories": _CATEGORIES,
                  "file_name": fname},
        )
    members["DEFAULT"] = members[default]
    cls = WeightsEnum(name, members, module=module, qualname=name)
    return cls
