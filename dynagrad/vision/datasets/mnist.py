"""MNIST, Fashion-MNIST, KMNIST and EMNIST from their IDX files in torchvision's folder layout
(``root/<Name>/raw/...``), gzipped or not. dynagrad never downloads.

Items are ``(PIL image of mode "L", int target)`` as in torchvision, so PIL transforms (RandomRotation,
RandomCrop with padding, Resize) apply. Without Pillow, the image is its ``H x W`` uint8 NumPy array
(what ``np.asarray(pil_image)`` gives), which ``ToTensor`` also accepts. ``.data`` (uint8 tensor, N x H x
W) and ``.targets`` (int64 tensor) are public and items are read from them.
"""
from __future__ import annotations

import gzip
import os
import string
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import dynagrad

from .utils import image_from_array, missing_files_error, pil_image_module, verify_str_arg
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_idx", "read_image_file", "read_label_file"]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, into a native-endian NumPy array.

    Layout: two zero bytes, a type code, the number of dimensions ``n``, then ``n`` big-endian int32
    sizes, then the values row-major.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise RuntimeError(
            f"{path}: the header says shape {shape} ({expected} bytes) but the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def read_image_file(path: str):
    """An IDX image file as a uint8 tensor ``(N, H, W)``."""
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise RuntimeError(f"{path}: expected uint8 images (N, H, W), got {x.dtype} {x.shape}")
    return dynagrad.from_numpy(np.ascontiguousarray(x))


def read_label_file(path: str):
    """An IDX label file as an int64 tensor ``(N,)``."""
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 1:
        raise RuntimeError(f"{path}: expected uint8 labels (N,), got {x.dtype} {x.shape}")
    return dynagrad.from_numpy(x.astype(np.int64))


class MNIST(VisionDataset):
    """MNIST from IDX files laid out as torchvision lays them out::

        root/MNIST/raw/train-images-idx3-ubyte   (or .gz)
        root/MNIST/raw/train-labels-idx1-ubyte
        root/MNIST/raw/t10k-images-idx3-ubyte
        root/MNIST/raw/t10k-labels-idx1-ubyte

    ``download=True`` is accepted when the files are there and raises otherwise, naming the folder and
    files (dynagrad never downloads).

    >>> MNIST("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: MNIST: Dataset not found (dynagrad never downloads data): place these files, ...
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    training_file = "training.pt"
    test_file = "test.pt"

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        legacy = [os.path.join(self.processed_folder, f) for f in (self.training_file, self.test_file)]
        if all(os.path.isfile(p) for p in legacy):  # the processed/*.pt files of torchvision < 0.9
            self.data, self.targets = dynagrad.load(legacy[0] if train else legacy[1], weights_only=True)
            return
        paths = [self._find(f) for f in self._split_files(bool(train))]
        if None in paths:
            wanted = [f for t in (True, False) for f in self._split_files(t)]
            raise missing_files_error(type(self).__name__, self.raw_folder, wanted, download,
                                      note="(each may also be gzipped, with .gz appended)")
        self.data, self.targets = read_image_file(paths[0]), read_label_file(paths[1])
        if len(self.data) != len(self.targets):
            raise RuntimeError(f"{type(self).__name__}: {len(self.data)} images but {len(self.targets)} labels "
                               f"in {self.raw_folder}")

    def _split_files(self, train: bool) -> tuple[str, str]:
        s = "train" if train else "t10k"
        return f"{s}-images-idx3-ubyte", f"{s}-labels-idx1-ubyte"

    def _find(self, name: str) -> str | None:
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data", stacklevel=2)
        return self.data

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        i = int(index)
        pixels, target = self.data._data[i], int(self.targets._data[i])
        img = image_from_array(pixels, "L") if pil_image_module() is not None else pixels.copy()
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando) under ``root/FashionMNIST/raw/`` with MNIST's file names.

    >>> FashionMNIST.classes[:3]
    ['T-shirt/top', 'Trouser', 'Pullover']
    """

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST under ``root/KMNIST/raw/`` with MNIST's file names.

    >>> KMNIST.classes[:4]
    ['o', 'ki', 'su', 'tsu']
    """

    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """EMNIST: ``split`` one of byclass, bymerge, balanced, letters, digits, mnist; files
    ``root/EMNIST/raw/emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte`` (from the published
    ``gzip.zip``). Images are stored transposed in these files and, as in torchvision, returned as stored.

    >>> EMNIST.classes_split_dict["letters"][:3]
    ['N/A', 'a', 'b']
    """

    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike, split: str, **kwargs: Any) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.training_file = f"training_{split}.pt"
        self.test_file = f"test_{split}.pt"
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    def _split_files(self, train: bool) -> tuple[str, str]:
        prefix = f"emnist-{self.split}-{'train' if train else 'test'}"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
