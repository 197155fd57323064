"""MNIST-1D (Greydanus, 2020), generated locally by the optional ``mnist1d`` package."""
from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

import numpy as np

import dynagrad
from dynagrad.utils.data import Dataset

__all__ = ["MNIST1D"]


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
