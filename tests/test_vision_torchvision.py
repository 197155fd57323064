"""dynagrad.vision against torchvision: transforms (pixels and random parameters for fixed seeds),
make_grid/save_image, io, FakeData, datasets read from fixture files, and the models' state_dict keys,
shapes, seeded initial weights and forward outputs.

The reference is live torchvision when it imports (it does not beside the torch 2.13 wheel of the test
venv), else the golden files recorded by tests/golden/record_torchvision.py from torch 2.14.1 +
torchvision 0.29.1 (their versions are in torchvision_models.json).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from unittest import mock

import numpy as np
import pytest

import dynagrad
import dynagrad.vision as tv

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vision_cases as C  # noqa: E402
import vision_fixtures as FX  # noqa: E402

pytest.importorskip("PIL")
GOLDEN = os.path.join(HERE, "golden")

try:  # pragma: no cover - only where torchvision imports
    if os.environ.get("DYNAGRAD_USE_GOLDEN") == "1":
        raise ImportError
    import torch as _torch
    import torchvision as _torchvision
except Exception:  # torchvision missing or broken beside this torch
    _torch = _torchvision = None


def _golden(name: str, prefix: str | None = None) -> dict:
    with np.load(os.path.join(GOLDEN, name)) as z:
        items = {k: z[k] for k in z.files}
    if prefix is None:
        return items
    return {k[len(prefix) + 1:]: v for k, v in items.items() if k.startswith(prefix + "/")}


_TRANSFORMS = None


def _reference_case(name: str) -> dict:
    global _TRANSFORMS
    if _torchvision is not None:  # pragma: no cover
        return C.flatten(C.CASES[name](_torch, _torchvision))
    if _TRANSFORMS is None:
        _TRANSFORMS = _golden("torchvision_transforms.npz")
    return {k[len(name) + 1:]: v for k, v in _TRANSFORMS.items() if k.startswith(name + "/")}


def assert_same(got: dict, ref: dict, tol=(1e-5, 1e-6), int_tol: int = 0, where: str = "") -> None:
    assert sorted(got) == sorted(ref), f"{where}: entries differ: {sorted(set(got) ^ set(ref))}"
    for k in sorted(ref):
        g, r = np.asarray(got[k]), np.asarray(ref[k])
        msg = f"{where} entry {k}"
        if r.dtype.kind == "U" or g.dtype.kind == "U":
            assert str(g) == str(r), f"{msg}: {g} != {r}"
            continue
        assert g.shape == r.shape, f"{msg}: shape {g.shape} != {r.shape}"
        if r.dtype.kind in "iub" and g.dtype.kind in "iub":
            diff = np.abs(g.astype(np.int64) - r.astype(np.int64))
            assert diff.size == 0 or diff.max() <= int_tol, f"{msg}: max |diff| {diff.max()} (allowed {int_tol})"
        else:
            np.testing.assert_allclose(g.astype(np.float64), r.astype(np.float64), rtol=tol[0], atol=tol[1],
                                       err_msg=msg)


@pytest.mark.parametrize("name", list(C.CASES))
def test_transforms_match_torchvision(name):
    got = C.flatten(C.CASES[name](dynagrad, tv))
    assert_same(got, _reference_case(name), C.TOL[name], C.LOOSE_INT[name], where=name)


# -- models -----------------------------------------------------------------------------------------------------

def _fast_init():
    """Skip drawing initial values (the key/shape check does not need them and drawing 138M numbers for
    vgg16 takes seconds)."""
    import contextlib

    import dynagrad.nn.init as I
    import dynagrad.random as R

    def zeros(shape, *a, **k):
        return np.zeros(shape, dtype=np.float32)
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.multiple(R, normal_array=zeros, uniform_array=zeros))
    stack.enter_context(mock.patch.object(I, "trunc_normal_", lambda t, *a, **k: t))
    return stack


def _model_keys_reference() -> dict:
    with open(os.path.join(GOLDEN, "torchvision_models.json")) as f:
        return json.load(f)["keys"]


@pytest.mark.parametrize("name", C.MODEL_NAMES)
def test_model_state_dict_keys_and_shapes(name):
    ref = C.model_keys(_torchvision, name) if _torchvision is not None else _model_keys_reference()[name]
    with _fast_init():
        got = C.model_keys(tv, name)
    assert [k for k, _, _ in got] == [k for k, _, _ in ref]  # names, in state_dict order
    assert got == ref


@pytest.mark.parametrize("name,kwargs", C.SEEDED, ids=[n for n, _ in C.SEEDED])
def test_seeded_models_match_torchvision_init_and_forward(name, kwargs):
    ref = (C.seeded_model(_torch, _torchvision, name, kwargs) if _torchvision is not None
           else _golden("torchvision_models.npz", prefix=name))
    got = C.seeded_model(dynagrad, tv, name, kwargs)
    assert sorted(got) == sorted(ref)
    bad = [k for k in ref if k != "__forward__" and not np.allclose(got[k], ref[k], rtol=1e-5, atol=1e-5)]
    assert not bad, f"initial weights differ from torchvision's for {bad[:5]}"
    np.testing.assert_allclose(got["__forward__"], ref["__forward__"], rtol=1e-4, atol=1e-5)


def test_models_api():
    M = tv.models
    assert M.ResNet50_Weights.DEFAULT is M.ResNet50_Weights.IMAGENET1K_V2
    assert M.get_model_weights("resnet18") is M.ResNet18_Weights
    assert M.get_weight("ResNet18_Weights.IMAGENET1K_V1") is M.ResNet18_Weights.IMAGENET1K_V1
    assert len(M.ResNet18_Weights.DEFAULT.meta["categories"]) == 1000
    assert M.ResNet18_Weights.DEFAULT.meta["categories"][0] == "tench"
    assert M.list_models(include="resnet*")[:3] == ["resnet101", "resnet152", "resnet18"]
    with pytest.raises(ValueError, match="Unknown model"):
        M.get_model("resnet19")
    with pytest.raises(ValueError, match="Failed to find Weights"):
        M.resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(TypeError, match="Invalid Weight class"):
        M.resnet18(weights=M.ResNet34_Weights.DEFAULT)
    with pytest.raises(ValueError, match="expected value 1000 but got 10"):
        M.resnet18(weights="DEFAULT", num_classes=10)
    preset = M.ResNet50_Weights.DEFAULT.transforms()
    assert preset.resize_size == [232] and preset.crop_size == [224]
    out = preset(dynagrad.zeros(3, 300, 260, dtype=dynagrad.uint8))
    assert tuple(out.shape) == (3, 224, 224) and abs(float(out[0, 0, 0]) + 0.485 / 0.229) < 1e-5


def test_pretrained_weights_never_download(tmp_path, monkeypatch):
    M = tv.models
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = os.path.join(str(tmp_path), "hub", "checkpoints")
    with pytest.raises(RuntimeError) as err:
        M.resnet18(weights=M.ResNet18_Weights.DEFAULT)
    msg = str(err.value)
    assert "resnet18-f37072fd.pth" in msg and folder in msg and "never downloads" in msg
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"), pytest.raises(RuntimeError,
                                                                                    match="never downloads"):
        M.squeezenet1_1(pretrained=True)
    # with the file in the cache (or given as a path) the checkpoint loads
    dynagrad.manual_seed(3)
    src = M.squeezenet1_1()
    os.makedirs(folder)
    dynagrad.save(src.state_dict(), os.path.join(folder, "squeezenet1_1-b8a52dc0.pth"))
    net = M.squeezenet1_1(weights="DEFAULT")
    assert all(bool((a == b).all()) for a, b in zip(net.state_dict().values(), src.state_dict().values()))
    dynagrad.save(src.state_dict(), str(tmp_path / "mine.pth"))
    net = M.squeezenet1_1(weights=str(tmp_path / "mine.pth"))
    assert bool((net.features[0].weight == src.features[0].weight).all())
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        M.squeezenet1_1(weights=str(tmp_path / "missing.pth"))


def test_densenet_loads_old_checkpoint_names():
    M = tv.models
    with _fast_init():
        net = M.densenet121(num_classes=3)
    state = {(k.replace("denselayer1.norm1.", "denselayer1.norm.1.") if "num_batches" not in k else k): v
             for k, v in net.state_dict().items()}
    assert any("norm.1." in k for k in state)
    from dynagrad.vision.models.densenet import _load_state_dict
    _load_state_dict(net, state)  # would raise on unexpected keys


def test_resnet18_trains_one_step():
    dynagrad.manual_seed(0)
    net = tv.models.resnet18(num_classes=4)
    opt = dynagrad.optim.SGD(net.parameters(), lr=0.1)
    x, y = dynagrad.randn(2, 3, 32, 32), dynagrad.tensor([1, 3])
    loss = dynagrad.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    assert net.conv1.weight.grad is not None and net.fc.bias.grad.shape == (4,)
    opt.step()


# -- datasets ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_root():
    with tempfile.TemporaryDirectory() as root:
        for name in ("MNIST", "FashionMNIST", "KMNIST"):
            FX.make_mnist(root, name)
        FX.make_mnist(root, "EMNIST", prefix="emnist-balanced")
        FX.make_cifar(root)
        FX.make_cifar(root, hundred=True)
        C.make_folder(root)
        yield root


def test_datasets_match_torchvision(data_root):
    got = C.flatten(C.dataset_facts(dynagrad, tv, data_root))
    if _torchvision is not None:  # pragma: no cover
        pytest.skip("live torchvision CIFAR refuses fixture files (no published checksum); golden covers it")
    ref = _golden("torchvision_datasets.npz")
    # torch names a DataLoader-visible type "Tensor" in both; NumPy arrays are "ndarray" in both
    assert_same(got, ref, where="datasets")


def test_dataset_errors_name_folder_and_files(tmp_path):
    D = tv.datasets
    for cls, kw, folder, files in [
        (D.MNIST, {}, os.path.join(str(tmp_path), "MNIST", "raw"),
         ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
        (D.EMNIST, {"split": "letters"}, os.path.join(str(tmp_path), "EMNIST", "raw"),
         ["emnist-letters-train-images-idx3-ubyte"]),
        (D.CIFAR10, {}, os.path.join(str(tmp_path), "cifar-10-batches-py"), ["data_batch_1", "batches.meta"]),
        (D.CIFAR100, {}, os.path.join(str(tmp_path), "cifar-100-python"), ["train", "meta"]),
    ]:
        for download in (False, True):
            with pytest.raises(RuntimeError) as err:
                cls(tmp_path, download=download, **kw)
            msg = str(err.value)
            assert folder in msg and all(f in msg for f in files) and "never downloads" in msg, msg
    with pytest.raises(ValueError, match="Unknown value 'bogus' for argument split"):
        D.EMNIST(tmp_path, split="bogus")
    FX.make_mnist(str(tmp_path), n_train=3, n_test=2, gz=True)
    assert len(D.MNIST(tmp_path, download=True)) == 3  # files present (gzipped): download=True is harmless
    with pytest.raises(IndexError, match="FakeData index out of range"):
        D.FakeData(size=2)[2]


def test_cifar_refuses_pickled_code(tmp_path):
    import pickle
    FX.make_cifar(str(tmp_path))

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    with open(os.path.join(str(tmp_path), "cifar-10-batches-py", "data_batch_1"), "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        tv.datasets.CIFAR10(tmp_path)


def test_mnist_dataloader_pipeline_with_workers(data_root):
    T = tv.transforms
    ds = tv.datasets.MNIST(data_root, transform=T.Compose([T.RandomRotation(10), T.RandomCrop(28, padding=2),
                                                          T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    loader = dynagrad.utils.data.DataLoader(ds, batch_size=8, num_workers=2)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (8, 1, 28, 28) and yb.dtype == dynagrad.int64


# -- the package surface ------------------------------------------------------------------------------------------

def test_import_torchvision_surface():
    import subprocess
    code = ("import sys, dynagrad.vision as tv; assert 'dynagrad.vision.models' not in sys.modules; "
            "tv.models.resnet18; tv.utils.make_grid; tv.io.read_image; tv.ops.nms; tv.transforms.v2.ToImage; "
            "tv.datasets.CIFAR10; print(tv.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == tv.__version__
    with pytest.raises(AttributeError, match="torchvision"):
        _ = tv.bogus


def test_ops_boxes():
    ops = tv.ops
    b = dynagrad.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0],
                         [0.0, 0.0, 10.0, 9.0]])
    s = dynagrad.tensor([0.9, 0.95, 0.5, 0.3])
    iou = ops.box_iou(b, b)
    np.testing.assert_allclose(iou.numpy()[0, 1], 81 / 119, rtol=1e-6)
    assert ops.nms(b, s, 0.5).tolist() == [1, 2, 3] or ops.nms(b, s, 0.5).tolist() == [1, 2]
    assert ops.nms(b, s, 0.5).tolist() == [1, 2]  # box 3 overlaps box 1 by 0.74 (> 0.5): suppressed
    assert ops.batched_nms(b, s, dynagrad.tensor([0, 0, 0, 1]), 0.5).tolist() == [1, 2, 3]
    cx = ops.box_convert(b, "xyxy", "cxcywh")
    np.testing.assert_allclose(ops.box_convert(cx, "cxcywh", "xyxy").numpy(), b.numpy())
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        ops.box_area(dynagrad.zeros(3))


def test_cifar_archive_unpacked_with_download_true(tmp_path):
    import tarfile
    src = tmp_path / "src"
    ref = FX.make_cifar(str(src))
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(str(src / "cifar-10-batches-py"), arcname="cifar-10-batches-py")
    with pytest.raises(RuntimeError, match="cifar-10-python.tar.gz is unpacked"):
        tv.datasets.CIFAR10(tmp_path)  # torchvision unpacks only in download()
    ds = tv.datasets.CIFAR10(tmp_path, train=False, download=True)
    assert len(ds) == 6 and ds.targets == ref["test_batch"][1]


def test_mnist_legacy_processed_files(tmp_path):
    images, labels = FX.digit_images(5, 0)
    proc = tmp_path / "MNIST" / "processed"
    proc.mkdir(parents=True)
    for name, n in (("training.pt", 5), ("test.pt", 3)):
        dynagrad.save((dynagrad.from_numpy(images[:n].copy()), dynagrad.from_numpy(labels[:n].astype(np.int64))),
                      str(proc / name))
    ds = tv.datasets.MNIST(tmp_path, train=False)
    assert len(ds) == 3 and ds[2][1] == int(labels[2]) and ds[0][0].mode == "L"
