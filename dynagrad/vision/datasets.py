"""Image datasets, offline only: dynagrad never downloads anything.

* :class:`Digits` - the 8x8 handwritten digits (1,797 images, UCI "optdigits"), bundled with the package
  (see ``dynagrad/vision/data/DIGITS_LICENSE.txt``); :func:`load_digits` gives the raw arrays.
* :class:`MNIST` and :class:`FashionMNIST` - read from IDX files you place where torchvision keeps them,
  ``root/MNIST/raw/train-images-idx3-ubyte[.gz]`` and so on.
* :class:`MNIST1D` - generated locally by the optional ``mnist1d`` package.

Items are ``(image, label)`` with ``label`` a Python int. Without a ``transform`` the image is a float32
tensor in [0, 1] with a channel dimension, ``(1, H, W)``. With one, the transform receives the image as
an ``H x W`` NumPy array instead of torchvision's PIL image (Pillow is not a dependency): uint8 0..255 for
MNIST-style files, which is what ``np.asarray(pil_image)`` would give, and float32 in [0, 1] for Digits,
whose 0..16 counts have no 8-bit form. Either way a ``ToTensor()`` transform gives the same tensor as no
transform. ``.data`` (uint8 tensor) and ``.targets`` (int64 tensor) are public, as in torchvision, and
items are read from them, so ``ds.data = ds.data[:100]; ds.targets = ds.targets[:100]`` subsets.
"""
from __future__ import annotations

import functools
import gzip
import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np

import dynagrad
from dynagrad.utils.data import Dataset

from .folder import DatasetFolder, ImageFolder  # noqa: F401 - images in one folder per class (Pillow)

__all__ = ["DatasetFolder", "Digits", "FashionMNIST", "ImageFolder", "MNIST", "MNIST1D", "load_digits"]

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


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


# ----------------------------------------------------------------------------------------------------
# MNIST-style IDX files
# ----------------------------------------------------------------------------------------------------

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
            f"{path}: the header says shape {shape} ({expected} bytes) but the file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(_ImageDataset):
    """MNIST from IDX files on disk, laid out as torchvision lays them out::

        root/MNIST/raw/train-images-idx3-ubyte   (or train-images-idx3-ubyte.gz)
        root/MNIST/raw/train-labels-idx1-ubyte
        root/MNIST/raw/t10k-images-idx3-ubyte
        root/MNIST/raw/t10k-labels-idx1-ubyte

    Items are ``(float32 tensor (1, 28, 28) in [0, 1], int label)`` without a transform; a transform
    receives the uint8 ``28 x 28`` NumPy array (see the module docstring). dynagrad never downloads:
    ``download=True`` is accepted when the files are already there and raises otherwise, saying where to
    put them.

    >>> MNIST("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: MNIST data not found: no train-images-idx3-ubyte or train-labels-idx1-ubyte in ...
    """

    _files = {
        True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        paths = [self._find(name) for name in self._files[bool(train)]]
        if None in paths:
            raise RuntimeError(self._not_found_message(bool(train), download))
        images, labels = (read_idx(p) for p in paths)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(
                f"{type(self).__name__}: expected images (N, H, W) and labels (N,), got {images.shape} and "
                f"{labels.shape} from {paths}"
            )
        super().__init__(images, labels, bool(train), transform, target_transform)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _find(self, name: str) -> str | None:
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _not_found_message(self, train: bool, download: bool) -> str:
        missing = [f for f in self._files[train] if self._find(f) is None]
        wanted = "\n".join(
            f"    {os.path.join(self.raw_folder, f)}[.gz]" for pair in self._files.values() for f in pair
        )
        why = "download=True was given, but dynagrad never downloads data. " if download else ""
        return (
            f"{type(self).__name__} data not found: no {' or '.join(missing)} in {self.raw_folder}. {why}"
            f"Place the four IDX files (as published, gzipped or not) at:\n{wanted}"
        )


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando) from IDX files under ``root/FashionMNIST/raw/`` with MNIST's file names.

    Same items and rules as :class:`MNIST`.

    >>> FashionMNIST.classes[:3]
    ['T-shirt/top', 'Trouser', 'Pullover']
    """

    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]


# ----------------------------------------------------------------------------------------------------
# MNIST-1D
# ----------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(num_samples: int, seed: int) -> dict[str, np.ndarray]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:
        raise ImportError(
            "MNIST1D needs the optional 'mnist1d' package, which generates the data locally: "
            "pip install mnist1d"
        ) from e
    args = get_dataset_args()  # the package's defaults (40-point signals, 80/20 split)
    args.num_samples = num_samples
    args.seed = seed
    # make_dataset reseeds Python's and NumPy's global generators; a dataset must not change the
    # caller's random streams, so they are put back afterwards.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}


class MNIST1D(Dataset):
    """MNIST-1D (Greydanus, 2020): 40-point 1D signals of the ten digits, generated on the spot by the
    optional ``mnist1d`` package with its default settings (never its download path). ``num_samples``
    are generated from ``seed``; 80% form the training set, the rest the test set.

    Items are ``(float32 tensor (40,), int label)``; a transform receives the float32 NumPy signal.

    >>> ds = MNIST1D(train=False)  # doctest: +SKIP
    >>> len(ds), tuple(ds[0][0].shape)  # doctest: +SKIP
    (1000, (40,))
    """

    def __init__(
        self,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        num_samples: int = 5000,
        seed: int = 42,
    ) -> None:
        arrays = _mnist1d_arrays(int(num_samples), int(seed))
        x, y = (arrays["x"], arrays["y"]) if train else (arrays["x_test"], arrays["y_test"])
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.data = dynagrad.from_numpy(x.astype(np.float32))
        self.targets = dynagrad.from_numpy(y.astype(np.int64))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        signal = self.data._data[index].copy()  # a copy: the item must not alias the dataset
        target = int(self.targets._data[index])
        img = dynagrad.from_numpy(signal) if self.transform is None else self.transform(signal)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return int(self.data.shape[0])
