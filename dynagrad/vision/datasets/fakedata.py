"""``FakeData``: random images that are the same for an index on every run, drawn as torchvision draws them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dynagrad

from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` items of ``(PIL image from randn(*image_size), int target)``; item ``i`` is drawn from a
    generator seeded with ``i + random_offset`` (the global generator's state is restored afterwards), so
    the images equal torchvision's FakeData pixel for pixel.

    >>> ds = FakeData(size=4, image_size=(3, 8, 8), num_classes=3)
    >>> img, y = ds[1]
    >>> img.size, img.mode, 0 <= y < 3
    ((8, 8), 'RGB', True)
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 random_offset: int = 0) -> None:
        super().__init__(transform=transform, target_transform=target_transform)
        self.size, self.num_classes, self.image_size = size, num_classes, image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if index >= len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        state = dynagrad.get_rng_state()
        dynagrad.manual_seed(index + self.random_offset)
        img = dynagrad.randn(*self.image_size)
        target = dynagrad.randint(0, self.num_classes, size=(1,), dtype=dynagrad.long)[0]
        dynagrad.set_rng_state(state)
        from ..transforms import functional as F
        img = F.to_pil_image(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, int(target.item()) if isinstance(target, dynagrad.Tensor) else target

    def __len__(self) -> int:
        return self.size
