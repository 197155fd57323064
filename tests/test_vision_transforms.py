"""dynagrad.vision.transforms and ImageFolder: tensors, NumPy arrays and (when installed) PIL images."""

from __future__ import annotations

import builtins
import os

import numpy as np
import pytest

import dynagrad
from dynagrad.vision import datasets
from dynagrad.vision import transforms as T
from dynagrad.vision.transforms import functional as TF


def _img(h=10, w=12, c=3, seed=0):
    return (np.random.default_rng(seed).random((h, w, c)) * 255).astype(np.uint8)


def test_to_tensor_arrays():
    a = _img()
    t = T.ToTensor()(a)
    assert t.dtype == dynagrad.float32 and tuple(t.shape) == (3, 10, 12)
    np.testing.assert_allclose(t.numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    g = T.ToTensor()(a[:, :, 0])
    assert tuple(g.shape) == (1, 10, 12)
    f = np.random.default_rng(1).random((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(T.ToTensor()(f).numpy()[0], f)  # non-uint8 values are kept
    with pytest.raises(TypeError):
        T.ToTensor()(dynagrad.ones(3, 4, 4))


def test_normalize_and_dtype():
    x = dynagrad.from_numpy(np.random.default_rng(0).random((3, 4, 5)).astype(np.float32))
    y = T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))(x)
    ref = (x.numpy() - np.array([0.5, 0.4, 0.3])[:, None, None]) / np.array([0.2, 0.25, 0.5])[:, None, None]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5)
    batch = T.Normalize([0.5], [0.5])(dynagrad.ones(2, 1, 3, 3))
    assert float(batch.max()) == 1.0
    with pytest.raises(ValueError):
        T.Normalize([0.5], [0.0])(x)
    u8 = dynagrad.tensor([[[0, 128, 255]]], dtype=dynagrad.uint8)
    f = T.ConvertImageDtype(dynagrad.float32)(u8)
    np.testing.assert_allclose(f.numpy(), [[[0, 128 / 255, 1.0]]], rtol=1e-6)
    assert T.ConvertImageDtype(dynagrad.uint8)(f).tolist() == [[[0, 128, 255]]]


def test_resize_matches_antialiased_interpolate():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).random((2, 3, 12, 9)).astype(np.float32)
    for size, expect in ((6, (8, 6)), ((5, 7), (5, 7)), (18, (24, 18))):
        y = T.Resize(size)(dynagrad.from_numpy(a))
        assert tuple(y.shape[-2:]) == expect
        ref = torch.nn.functional.interpolate(
            torch.from_numpy(a), size=expect, mode="bilinear", align_corners=False, antialias=True
        )
        np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)
    near = T.Resize((4, 3), interpolation=T.InterpolationMode.NEAREST)(dynagrad.from_numpy(a[0]))
    np.testing.assert_array_equal(
        near.numpy(),
        torch.nn.functional.interpolate(torch.from_numpy(a[:1]), size=(4, 3), mode="nearest").numpy()[0],
    )
    u8 = dynagrad.from_numpy((a[0] * 255).astype(np.uint8))
    assert T.Resize(6)(u8).dtype == dynagrad.uint8
    assert tuple(T.Resize(4, max_size=5)(dynagrad.zeros(1, 10, 20)).shape) == (1, 2, 5)


def test_crops_flips_pad():
    x = dynagrad.arange(2 * 6 * 7, dtype=dynagrad.float32).reshape(2, 6, 7)
    c = T.CenterCrop(4)(x)
    np.testing.assert_array_equal(c.numpy(), x.numpy()[:, 1:5, 2:6])
    big = T.CenterCrop((8, 9))(x)
    assert tuple(big.shape) == (2, 8, 9) and float(big[:, 0].abs().sum()) == 0
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x).numpy(), x.numpy()[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x).numpy(), x.numpy()[:, ::-1])
    assert T.RandomHorizontalFlip(0.0)(x) is x
    padded = np.pad(x.numpy(), ((0, 0), (2, 2), (2, 2)))
    dynagrad.manual_seed(0)
    seen = set()
    for _ in range(30):
        r = T.RandomCrop(6, padding=2)(x).numpy()[:, :, :6]
        hits = [
            (i, j) for i in range(5) for j in range(6) if np.array_equal(padded[:, i : i + 6, j : j + 6], r)
        ]
        assert hits
        seen.add(hits[0])
    assert len(seen) > 5
    assert tuple(T.RandomCrop((8, 9), pad_if_needed=True)(x).shape) == (2, 8, 9)
    np.testing.assert_array_equal(
        T.Pad((1, 2), padding_mode="edge")(x).numpy(),
        np.pad(x.numpy(), ((0, 0), (2, 2), (1, 1)), mode="edge"),
    )
    np.testing.assert_array_equal(
        T.Pad(2, padding_mode="symmetric")(x).numpy(),
        np.pad(x.numpy(), ((0, 0), (2, 2), (2, 2)), mode="symmetric"),
    )
    np.testing.assert_array_equal(
        T.Pad([1, 0, 2, 3], fill=5)(x).numpy(), np.pad(x.numpy(), ((0, 0), (0, 3), (1, 2)), constant_values=5)
    )


def test_random_transforms_reproducible_and_compose():
    x = dynagrad.rand(3, 9, 9)
    t = T.Compose(
        [
            T.RandomCrop(7, padding=1),
            T.RandomHorizontalFlip(),
            T.RandomRotation(20),
            T.Lambda(lambda v: v * 2),
        ]
    )
    dynagrad.manual_seed(3)
    a = t(x)
    dynagrad.manual_seed(3)
    b = t(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "RandomRotation" in repr(t)
    with pytest.raises(TypeError):
        T.Lambda(3)


def test_rotate_tensor():
    x = dynagrad.arange(9, dtype=dynagrad.float32).reshape(1, 3, 3)
    np.testing.assert_array_equal(TF.rotate(x, 90).numpy()[0], np.rot90(x.numpy()[0]))
    np.testing.assert_array_equal(TF.rotate(x, 0).numpy(), x.numpy())
    y = TF.rotate(dynagrad.arange(25, dtype=dynagrad.float32).reshape(1, 5, 5), 45, fill=-1.0)
    assert float(y[0, 0, 0]) == -1.0 and float(y[0, 2, 2]) == 12.0
    assert tuple(TF.rotate(dynagrad.zeros(1, 4, 6), 90, expand=True).shape) == (1, 6, 4)
    xr = x.clone().requires_grad_()
    TF.rotate(xr, 30, T.InterpolationMode.BILINEAR).sum().backward()
    assert xr.grad is not None and tuple(xr.grad.shape) == (1, 3, 3)


def test_pil_images():
    Image = pytest.importorskip("PIL.Image")
    a = _img()
    img = Image.fromarray(a)
    np.testing.assert_allclose(T.ToTensor()(img).numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert T.ToTensor()(img.convert("L")).shape[0] == 1
    assert T.Resize(5)(img).size == (6, 5)
    assert T.CenterCrop(4)(img).size == (4, 4)
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(img)), a[:, ::-1])
    assert T.RandomCrop(8, padding=2)(img).size == (8, 8)
    assert T.Pad(1, fill=(255, 0, 0))(img).getpixel((0, 0)) == (255, 0, 0)
    t = T.ToTensor()(img)
    for angle in (30.0, -120.0, 17.5):  # tensors rotate as PIL does (nearest)
        for expand in (False, True):
            np.testing.assert_array_equal(
                T.ToTensor()(TF.rotate(img, angle, expand=expand)).numpy(),
                TF.rotate(t, angle, expand=expand).numpy(),
            )
    back = T.ToPILImage()(t)
    np.testing.assert_array_equal(np.asarray(back), a)
    pipe = T.Compose([T.Resize(8), T.RandomRotation(10), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    assert tuple(pipe(img).shape) == (3, 8, 9)


def _write_folder(root, Image):
    rng = np.random.default_rng(0)
    files = {"cat": ["a.png", "b.jpg", "sub/c.png", "notes.txt"], "dog": ["x.jpeg", "y.PNG"]}
    for cls, names in files.items():
        for name in names:
            path = os.path.join(root, cls, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if name.endswith(".txt"):
                with open(path, "w") as f:
                    f.write("not an image")
            else:
                Image.fromarray((rng.random((6, 5, 3)) * 255).astype(np.uint8)).save(
                    path, format="JPEG" if name.lower().endswith(("jpg", "jpeg")) else "PNG"
                )


def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    _write_folder(tmp_path, Image)
    ds = datasets.ImageFolder(str(tmp_path), transform=T.ToTensor(), target_transform=lambda t: t * 10)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 5 and ds.targets == [0, 0, 0, 1, 1]
    assert [os.path.relpath(p, tmp_path) for p, _ in ds.samples][:3] == [
        "cat/a.png",
        "cat/b.jpg",
        "cat/sub/c.png",
    ]
    x, y = ds[3]
    assert tuple(x.shape) == (3, 6, 5) and y == 10
    loader = dynagrad.utils.data.DataLoader(ds, batch_size=2)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (2, 3, 6, 5) and yb.tolist() == [0, 0]
    txt = datasets.DatasetFolder(
        str(tmp_path), loader=lambda p: open(p).read(), extensions=(".txt",), allow_empty=True
    )
    assert len(txt) == 1 and txt[0] == ("not an image", 0)
    with pytest.raises(FileNotFoundError, match="dog"):
        datasets.DatasetFolder(str(tmp_path), loader=open, extensions=".txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        datasets.ImageFolder(str(tmp_path))


def test_image_folder_without_pillow(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    (tmp_path / "a").mkdir()
    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install pillow"):
        datasets.ImageFolder(str(tmp_path))
    a = _img()
    assert tuple(T.ToTensor()(a).shape) == (3, 10, 12)  # arrays and tensors need no Pillow
    assert tuple(T.Resize(5)(T.ToTensor()(a)).shape) == (3, 5, 6)


def test_digits_with_transforms():
    ds = datasets.Digits(train=False, transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    x, _ = ds[0]
    assert tuple(x.shape) == (1, 8, 8) and float(x.min()) >= -1.0 and float(x.max()) <= 1.0


def test_models_resnet18():
    from dynagrad.vision import models

    net = models.resnet18(num_classes=5)
    assert len(net.state_dict()) == 122  # torchvision's resnet18 keys, so its checkpoints load
    x = dynagrad.randn(2, 3, 32, 32)
    loss = dynagrad.nn.functional.cross_entropy(net(x), dynagrad.tensor([1, 3]))
    loss.backward()
    assert net.conv1.weight.grad is not None and tuple(net.fc.weight.grad.shape) == (5, 512)
    with pytest.raises(RuntimeError, match="never downloads"):
        models.resnet34(weights="IMAGENET1K_V1")
