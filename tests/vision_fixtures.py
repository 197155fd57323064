"""Small dataset files in the published formats, written on the spot (never downloaded): MNIST-style IDX
files and CIFAR "python version" batches, in torchvision's folder layout. Shared by the dynagrad tests and
by tests/golden/record_torchvision.py, so both read the same bytes. Needs only NumPy and the stdlib."""
from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np

_CODES = {np.dtype(np.uint8): 0x08}


def write_idx(path: str, array: np.ndarray) -> None:
    """``array`` (uint8) as an IDX file, gzipped when ``path`` ends in .gz."""
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def digit_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 images with a bright blob whose place depends on the label, and the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.empty((n, 28, 28), np.uint8)
    for i, y in enumerate(labels):
        cy, cx = 6 + 2 * int(y), 8 + int(y)
        blob = 255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)
        images[i] = np.clip(blob + rng.normal(0, 20, (28, 28)), 0, 255).astype(np.uint8)
    return images, labels


def make_mnist(root: str, name: str = "MNIST", n_train: int = 64, n_test: int = 16, gz: bool = False,
               prefix: str | None = None) -> dict:
    """IDX files under ``root/<name>/raw/``; ``prefix`` names EMNIST-style files (``emnist-<split>``)."""
    raw = os.path.join(root, name, "raw")
    os.makedirs(raw, exist_ok=True)
    out = {}
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = digit_images(n, seed)
        if prefix is None:
            stem = "train" if split == "train" else "t10k"
            names = (f"{stem}-images-idx3-ubyte", f"{stem}-labels-idx1-ubyte")
        else:
            names = (f"{prefix}-{split}-images-idx3-ubyte", f"{prefix}-{split}-labels-idx1-ubyte")
        ext = ".gz" if gz else ""
        write_idx(os.path.join(raw, names[0] + ext), images)
        write_idx(os.path.join(raw, names[1] + ext), labels)
        out[split] = (images, labels)
    return out


def make_cifar(root: str, hundred: bool = False, per_batch: int = 6) -> dict:
    """CIFAR-10 (five training batches, a test batch, batches.meta) or CIFAR-100 (train, test, meta)."""
    rng = np.random.default_rng(3)
    if hundred:
        folder = os.path.join(root, "cifar-100-python")
        files = {"train": per_batch * 2, "test": per_batch}
        meta = ("meta", {"fine_label_names": [f"fine{i}" for i in range(100)],
                         "coarse_label_names": [f"coarse{i}" for i in range(20)]})
    else:
        folder = os.path.join(root, "cifar-10-batches-py")
        files = {f"data_batch_{i}": per_batch for i in range(1, 6)}
        files["test_batch"] = per_batch
        meta = ("batches.meta", {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                 "horse", "ship", "truck"], "num_vis": 3072})
    os.makedirs(folder, exist_ok=True)
    out = {}
    for name, n in files.items():
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 100 if hundred else 10, size=n)]
        entry = {"batch_label": name, "data": data}
        if hundred:
            entry["fine_labels"] = labels
            entry["coarse_labels"] = [v // 5 for v in labels]
        else:
            entry["labels"] = labels
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(entry, f, protocol=2)
        out[name] = (data, labels)
    with open(os.path.join(folder, meta[0]), "wb") as f:
        pickle.dump(meta[1], f, protocol=2)
    return out
