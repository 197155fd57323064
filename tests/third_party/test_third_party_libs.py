"""The libraries PyTorch users combine with it, under ``dynagrad run``: each smoke script here is written as
a user would (``import torch``); run through ``dynagrad run``, it must print exactly what it prints under
PyTorch. With torch installed the scripts also run under torch (all in one process) and the outputs are
compared; without it (or with ``DYNAGRAD_USE_GOLDEN=1``), the output is compared with the one recorded from
torch in ``golden/<lib>.txt`` (written with ``DYNAGRAD_RECORD_GOLDEN=1``; its first line names the library
version it was recorded with, and another version skips). A library that is not installed skips its test."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# library -> (distribution whose version the golden names, the smoke script)
LIBS = {
    "einops": "einops",
    "safetensors": "safetensors",
    "torchinfo": "torchinfo",
    "tqdm": "tqdm",
    "torchmetrics": "torchmetrics",
    "torchsummary": "torchsummary",
    "kornia": "kornia",
}
# the suite's switches (tests/helpers.py): record goldens from torch, or use them even where torch is installed
RECORD = os.environ.get("DYNAGRAD_RECORD_GOLDEN") == "1"
HAVE_TORCH = importlib.util.find_spec("torch") is not None and (
    RECORD or os.environ.get("DYNAGRAD_USE_GOLDEN") != "1")


def _env(alias: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DYNAGRAD_RUN_TRACEBACK", "DYNAGRAD_RUN")}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and "_shim" not in p]
    env["PYTHONPATH"] = os.pathsep.join(([ROOT] if alias else []) + paths)
    env["PYTHONHASHSEED"] = "0"
    return env


def _start(script: str, alias: bool, cwd) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dynagrad.cli", "run", script] if alias else [sys.executable, script]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(alias), cwd=cwd)


def _finish(proc: subprocess.Popen, what: str) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"{what} failed (status {proc.returncode}):\n{err.decode()[-3000:]}"
    return out.decode()


@pytest.fixture(scope="module")
def torch_outputs(tmp_path_factory):
    """Every installed library's smoke script run under PyTorch, all in one process (``import torch`` once)."""
    if not HAVE_TORCH:
        return {}
    scripts = [os.path.join(HERE, f"{lib}_smoke.py") for lib in LIBS if importlib.util.find_spec(lib) is not None]
    proc = subprocess.run([sys.executable, os.path.join(HERE, "_run_many.py"), *scripts], capture_output=True,
                          env=_env(False), cwd=tmp_path_factory.mktemp("torch_side"), timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    outputs = json.loads(proc.stdout)
    return {os.path.basename(k)[:-len("_smoke.py")]: (v, proc.stderr.decode()) for k, v in outputs.items()}


def _golden_path(lib: str) -> str:
    return os.path.join(HERE, "golden", f"{lib}.txt")


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_smoke_script_prints_what_torch_prints(lib, tmp_path, torch_outputs):
    if importlib.util.find_spec(lib) is None:
        pytest.skip(f"{lib} is not installed")
    script = os.path.join(HERE, f"{lib}_smoke.py")
    version = importlib.metadata.version(LIBS[lib])
    mine_proc = _start(script, True, tmp_path)
    if HAVE_TORCH:
        expected, err = torch_outputs[lib]
        assert expected is not None, f"{lib}_smoke.py failed under torch:\n{err[-3000:]}"
        if RECORD:
            with open(_golden_path(lib), "w", newline="") as f:
                f.write(f"# {LIBS[lib]} {version}\n{expected}")
    else:
        with open(_golden_path(lib), newline="") as f:
            header, expected = f.read().split("\n", 1)
        if header != f"# {LIBS[lib]} {version}":
            mine_proc.kill()
            mine_proc.communicate()
            pytest.skip(f"golden output recorded with {header[2:]}, {LIBS[lib]} {version} is installed")
    mine = _finish(mine_proc, f"dynagrad run {lib}_smoke.py")
    assert mine.splitlines() == expected.splitlines()


def test_goldens_exist_for_every_library():
    for lib in LIBS:
        with open(_golden_path(lib), newline="") as f:
            header = f.readline()
        assert header.startswith(f"# {LIBS[lib]} ") and len(f.name) > 0


# timm imports torchvision, which does not import beside the torch 2.13 CPU wheel, so its script cannot run
# under torch; its output is checked against published facts: the parameter counts on torchvision's and
# timm's model cards, a ViT's count worked out by hand, timm's default data config for ResNets.
TIMM_EXPECTED = """\
resnet18 11689512
efficientnet_b0 5288548
mobilenetv3_small_100 2542856
state dict keys equal True
same outputs as torchvision True
vit 32389 (2, 5)
optimizer AdamW [41, 21] [0.0, 0.05]
loss decreases True
data config (3, 224, 224) bicubic 0.95
Compose(
    Resize(size=235, interpolation=bicubic, max_size=None, antialias=True)
    CenterCrop(size=(224, 224))
    MaybeToTensor()
    Normalize(mean=tensor([0.4850, 0.4560, 0.4060]), std=tensor([0.2290, 0.2240, 0.2250]))
)
"""


def test_timm_smoke_script(tmp_path):
    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed")
    mine = _finish(_start(os.path.join(HERE, "timm_smoke.py"), True, tmp_path), "dynagrad run timm_smoke.py")
    assert mine.splitlines() == TIMM_EXPECTED.splitlines()
