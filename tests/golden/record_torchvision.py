"""Record torchvision's behaviour into tests/golden/torchvision_*.npz / .json, for tests/test_vision_*.py.

Needs torch, torchvision and Pillow. torchvision from PyPI does not import beside the torch 2.13 CPU wheel
of the project's test venv, so use a separate venv, e.g.:

    python -m venv /work/tvenv && /work/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 pillow
    /work/tvenv/bin/python tests/golden/record_torchvision.py

It runs the cases of tests/vision_cases.py with (torch, torchvision), builds the models, reads the dataset
fixtures of tests/vision_fixtures.py, and runs tests/scripts/torchvision_mnist_resnet.py under plain python.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)

import torch  # noqa: E402
import torchvision  # noqa: E402
import torchvision.datasets.cifar as _cifar  # noqa: E402
import vision_cases as C  # noqa: E402
import vision_fixtures as FX  # noqa: E402


def main() -> None:
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    import PIL
    meta["pillow"] = PIL.__version__

    arrays = {}
    for name, fn in C.CASES.items():
        for k, v in C.flatten(fn(torch, torchvision)).items():
            arrays[f"{name}/{k}"] = v
    np.savez_compressed(os.path.join(HERE, "torchvision_transforms.npz"), **arrays)

    keys = {name: C.model_keys(torchvision, name) for name in C.MODEL_NAMES}
    seeded = {}
    for name, kw in C.SEEDED:
        for k, v in C.seeded_model(torch, torchvision, name, kw).items():
            seeded[f"{name}/{k}"] = v
    np.savez_compressed(os.path.join(HERE, "torchvision_models.npz"), **seeded)
    with open(os.path.join(HERE, "torchvision_models.json"), "w") as f:
        json.dump({"meta": meta, "keys": keys}, f, indent=0)

    # The fixtures carry no published checksums; torchvision's CIFAR would refuse them without this.
    _cifar.check_integrity = lambda *a, **k: True
    torchvision.datasets.CIFAR10._check_integrity = lambda self: True
    with tempfile.TemporaryDirectory() as root:
        for name in ("MNIST", "FashionMNIST", "KMNIST"):
            FX.make_mnist(root, name)
        FX.make_mnist(root, "EMNIST", prefix="emnist-balanced")
        FX.make_cifar(root)
        FX.make_cifar(root, hundred=True)
        C.make_folder(root)
        facts = C.flatten(C.dataset_facts(torch, torchvision, root))
    np.savez_compressed(os.path.join(HERE, "torchvision_datasets.npz"), **facts)

    with tempfile.TemporaryDirectory() as root:
        FX.make_mnist(root, "MNIST", n_train=64, n_test=16)
        script = os.path.join(TESTS, "scripts", "torchvision_mnist_resnet.py")
        res = subprocess.run([sys.executable, script, root], capture_output=True, text=True, check=True)
    with open(os.path.join(HERE, "torchvision_script.json"), "w") as f:
        json.dump({"meta": meta, "stdout": res.stdout.splitlines()}, f, indent=0)
    print("recorded with", meta)


if __name__ == "__main__":
    main()
