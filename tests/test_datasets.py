"""dynagrad.vision.datasets: the bundled digits, MNIST-style IDX files, MNIST-1D. All offline."""
from __future__ import annotations

import gzip
import os
import random
import struct
import subprocess
import sys

import numpy as np
import pytest

import dynagrad
from dynagrad.utils.data import DataLoader
from dynagrad.vision import datasets
from dynagrad.vision.datasets import MNIST, MNIST1D, Digits, FashionMNIST, load_digits, read_idx

CONFORMANCE_DIGITS = "/work/shared/conformance/data/digits.npz"


# ---------------------------------------------------------------------------------------------------
# Bundled digits
# ---------------------------------------------------------------------------------------------------


def test_load_digits_arrays():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.max() == 16 and sorted(set(labels.tolist())) == list(range(10))


@pytest.mark.skipif(not os.path.exists(CONFORMANCE_DIGITS), reason="conformance data not present")
def test_bundled_digits_equal_conformance_copy():
    images, labels = load_digits()
    ref = np.load(CONFORMANCE_DIGITS)
    np.testing.assert_array_equal(images, ref["images"])
    np.testing.assert_array_equal(labels, ref["labels"])


def test_digits_split_and_items():
    images, labels = load_digits()
    train, test = Digits(), Digits(train=False)
    assert len(train) == 1500 and len(test) == 297
    img, label = test[3]
    assert tuple(img.shape) == (1, 8, 8) and img.dtype == dynagrad.float32
    np.testing.assert_allclose(img.numpy()[0], images[1503] / 16.0, rtol=0, atol=1e-7)
    assert isinstance(label, int) and label == labels[1503]
    assert train.data.dtype == dynagrad.uint8 and tuple(train.data.shape) == (1500, 8, 8)
    assert train.targets.dtype == dynagrad.int64 and len(Digits(split=1000, train=False)) == 797
    assert train.classes[3] == "3" and train.class_to_idx["3"] == 3
    assert "Number of datapoints: 1500" in repr(train)


def test_digits_match_conformance_helper_split():
    # /work/shared/conformance/programs/_common.py: x = images.reshape(N, 64) / 16, first 1500 for training.
    images, labels = load_digits()
    x = images.reshape(len(images), -1).astype(np.float32) / 16.0
    loader = DataLoader(Digits(train=False), batch_size=100)
    xs, ys = zip(*[(xb.numpy(), yb.numpy()) for xb, yb in loader])
    np.testing.assert_array_equal(np.concatenate(xs).reshape(-1, 64), x[1500:])
    np.testing.assert_array_equal(np.concatenate(ys), labels[1500:])
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (100, 1, 8, 8) and xb.dtype == dynagrad.float32 and yb.dtype == dynagrad.int64


def test_digits_transforms_receive_arrays():
    seen = []

    def transform(a):
        seen.append((a.shape, a.dtype, float(a.max())))
        a[:] = 0  # must not corrupt the dataset
        return "img"

    ds = Digits(transform=transform, target_transform=lambda y: y + 100)
    assert ds[0] == ("img", 100)
    assert len(seen) == 1 and seen[0][:2] == ((8, 8), np.float32) and 0 < seen[0][2] <= 1
    assert float(ds.data._data[0].max()) > 0


def test_package_has_no_sklearn_or_torch_dependency():
    code = (
        "import sys, dynagrad.vision.datasets as d; d.Digits(); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'torch', 'torchvision')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(__file__)))


def test_digits_license_file():
    path = os.path.join(os.path.dirname(os.path.dirname(datasets.__file__)), "data", "DIGITS_LICENSE.txt")
    text = open(path, encoding="utf-8").read()
    for needle in ("CC BY 4.0", "Alpaydin", "Kaynak", "UCI", "BSD 3-Clause", "scikit-learn"):
        assert needle in text


# ---------------------------------------------------------------------------------------------------
# MNIST-style IDX files
# ---------------------------------------------------------------------------------------------------

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
          np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path: str, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in .gz), the format MNIST ships in."""
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = bytes([0, 0, _CODES[big.dtype], array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + big.tobytes())


def make_mnist(root, name="MNIST", n_train=5, n_test=3, gz_train=True):
    rng = np.random.default_rng(0)
    raw = os.path.join(root, name, "raw")
    os.makedirs(raw, exist_ok=True)
    out = {}
    for split, n, gz in (("train", n_train, gz_train), ("t10k", n_test, False)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        ext = ".gz" if gz else ""
        write_idx(os.path.join(raw, f"{split}-images-idx3-ubyte{ext}"), images)
        write_idx(os.path.join(raw, f"{split}-labels-idx1-ubyte{ext}"), labels)
        out[split] = (images, labels)
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, dtype, gz):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = str(tmp_path / ("a.idx" + (".gz" if gz else "")))
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(a, b)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(RuntimeError, match="not an IDX file"):
        read_idx(str(bad))
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">i", 10) + b"\x00" * 3)
    with pytest.raises(RuntimeError, match="10 bytes|header says"):
        read_idx(str(short))


def test_mnist_reads_torchvision_layout(tmp_path):
    pytest.importorskip("PIL")
    from dynagrad.vision import transforms as T

    ref = make_mnist(str(tmp_path))
    train, test = MNIST(tmp_path), MNIST(str(tmp_path), train=False)
    assert len(train) == 5 and len(test) == 3
    img, label = train[2]
    # torchvision hands out PIL images of mode "L" (and int targets), so PIL transforms apply
    assert type(img).__module__.startswith("PIL") and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), ref["train"][0][2])
    assert isinstance(label, int) and label == ref["train"][1][2]
    assert train.data.dtype == dynagrad.uint8 and train.targets.dtype == dynagrad.int64
    np.testing.assert_array_equal(test.targets.numpy(), ref["t10k"][1])
    assert train.raw_folder == os.path.join(str(tmp_path), "MNIST", "raw")
    got = MNIST(tmp_path, transform=lambda a: (a.mode, a.size), target_transform=str)[0]
    assert got == (("L", (28, 28)), str(ref["train"][1][0]))
    # torchvision users subset by assigning to .data/.targets.
    train.data, train.targets = train.data[:2], train.targets[:2]
    assert len(train) == 2 and [y for _, y in train] == ref["train"][1][:2].tolist()
    xb, yb = next(iter(DataLoader(MNIST(tmp_path, transform=T.ToTensor()), batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.dtype == dynagrad.int64
    np.testing.assert_allclose(xb.numpy()[2, 0], ref["train"][0][2] / 255.0, rtol=1e-6)


def test_mnist_without_pillow_gives_arrays(tmp_path, monkeypatch):
    ref = make_mnist(str(tmp_path))
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    img, _ = MNIST(tmp_path)[1]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, ref["train"][0][1])


def test_fashion_mnist_folder_and_classes(tmp_path):
    make_mnist(str(tmp_path), name="FashionMNIST")
    ds = FashionMNIST(tmp_path, train=False)
    assert len(ds) == 3 and ds.classes[9] == "Ankle boot"
    with pytest.raises(RuntimeError, match="MNIST: Dataset not found"):
        MNIST(tmp_path)  # FashionMNIST files do not make an MNIST folder


def test_mnist_missing_files_message(tmp_path):
    with pytest.raises(RuntimeError) as err:
        MNIST(tmp_path)
    msg = str(err.value)
    raw = os.path.join(str(tmp_path), "MNIST", "raw")
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg and raw in msg
    assert "t10k-images-idx3-ubyte" in msg
    with pytest.raises(RuntimeError, match="never downloads"):
        MNIST(tmp_path, download=True)
    make_mnist(str(tmp_path))
    assert len(MNIST(tmp_path, download=True)) == 5  # files present: download=True is harmless


# ---------------------------------------------------------------------------------------------------
# MNIST-1D
# ---------------------------------------------------------------------------------------------------


def test_mnist1d_generated_locally():
    pytest.importorskip("mnist1d")
    from mnist1d.data import get_dataset_args, make_dataset

    py_state, np_state = random.getstate(), np.random.get_state()
    train, test = MNIST1D(num_samples=500, seed=3), MNIST1D(train=False, num_samples=500, seed=3)
    # Building the dataset leaves the caller's global random streams alone.
    assert random.getstate() == py_state
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), np_state))
    assert len(train) == 400 and len(test) == 100
    x, y = train[0]
    assert tuple(x.shape) == (40,) and x.dtype == dynagrad.float32 and isinstance(y, int)

    args = get_dataset_args()
    args.num_samples, args.seed = 500, 3
    ref = make_dataset(args)
    np.testing.assert_allclose(train.data.numpy(), ref["x"].astype(np.float32))
    np.testing.assert_array_equal(test.targets.numpy(), ref["y_test"])
    random.setstate(py_state)
    np.random.set_state(np_state)


def test_mnist1d_missing_package_message(monkeypatch):
    datasets._mnist1d_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match="pip install mnist1d"):
        MNIST1D(num_samples=100, seed=1)
    datasets._mnist1d_arrays.cache_clear()
