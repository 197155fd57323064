"""CIFAR-10 and CIFAR-100 from the published "python version" batches, in torchvision's layout
(``root/cifar-10-batches-py/data_batch_1`` ... ``test_batch``, ``batches.meta``;
``root/cifar-100-python/train``, ``test``, ``meta``). dynagrad never downloads.

Items are ``(PIL RGB image, int target)`` as in torchvision (an ``H x W x 3`` uint8 array without
Pillow); ``.data`` is the ``(N, 32, 32, 3)`` uint8 NumPy array and ``.targets`` a list of ints.
The batch files are read with an unpickler that accepts only lists, dicts, bytes and NumPy arrays.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .utils import image_from_array, missing_files_error, pil_image_module, safe_unpickle
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


def _extract_tar(archive: str, dest: str) -> None:
    import tarfile
    with tarfile.open(archive, "r:*") as tar:
        try:
            tar.extractall(dest, filter="data")  # no absolute paths, links out of dest or device files
        except TypeError:  # Python < 3.11.4 has no filter argument
            for m in tar.getmembers():
                target = os.path.realpath(os.path.join(dest, m.name))
                if not target.startswith(os.path.realpath(dest) + os.sep) or not (m.isfile() or m.isdir()):
                    raise RuntimeError(f"{archive}: refusing to extract {m.name!r}") from None
            tar.extractall(dest)


class CIFAR10(VisionDataset):
    """CIFAR-10: 32x32 colour images in 10 classes.

    >>> CIFAR10("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: CIFAR10: Dataset not found (dynagrad never downloads data): place these files, ...
    """

    base_folder = "cifar-10-batches-py"
    filename = "cifar-10-python.tar.gz"
    train_list = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    test_list = ["test_batch"]
    meta = {"filename": "batches.meta", "key": "label_names"}

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        folder = os.path.join(self.root, self.base_folder)
        wanted = self.train_list + self.test_list + [self.meta["filename"]]
        archive = os.path.join(self.root, self.filename)
        present = lambda: all(os.path.isfile(os.path.join(folder, f)) for f in wanted)  # noqa: E731
        if download and not present() and os.path.isfile(archive):
            _extract_tar(archive, self.root)  # as torchvision's download() does with an archive already there
        if not present():
            raise missing_files_error(type(self).__name__, folder, wanted, download,
                                      note=f"(unpacked from the published python-version archive; with "
                                           f"download=True an archive at {archive} is unpacked)")
        data, self.targets = [], []
        for name in self.train_list if train else self.test_list:
            entry = safe_unpickle(os.path.join(folder, name))
            data.append(np.asarray(entry["data"], dtype=np.uint8))
            labels = entry["labels"] if "labels" in entry else entry["fine_labels"]
            self.targets.extend(int(y) for y in labels)
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        self._load_meta(folder)

    def _load_meta(self, folder: str) -> None:
        meta = safe_unpickle(os.path.join(folder, self.meta["filename"]))
        self.classes = list(meta[self.meta["key"]])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self.data[index], self.targets[index]
        img = image_from_array(img) if pil_image_module() is not None else img.copy()
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: as CIFAR-10 with 100 fine classes (targets are the fine labels)."""

    base_folder = "cifar-100-python"
    filename = "cifar-100-python.tar.gz"
    train_list = ["train"]
    test_list = ["test"]
    meta = {"filename": "meta", "key": "fine_label_names"}
