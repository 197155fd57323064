"""A third-party-style torchvision script (tests/scripts/torchvision_mnist_resnet.py: augmentation on
MNIST-format files, DataLoader with 2 workers, a ResNet-18 training step on 32x32 input) run unmodified
through ``dynagrad run``, its printed numbers compared with the same script under torch + torchvision
(recorded into tests/golden/torchvision_script.json by tests/golden/record_torchvision.py).

Batches (augmented pixels, worker seeding, shuffle order) agree exactly; losses agree to float32 drift
(in float64 both print the same 10 decimals)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vision_fixtures as FX  # noqa: E402

pytest.importorskip("PIL")
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _compare_lines(got: list[str], ref: list[str], rtol: float = 1e-3) -> None:
    assert len(got) == len(ref), f"printed {len(got)} lines, torchvision's run printed {len(ref)}:\n" + \
        "\n".join(got)
    for g, r in zip(got, ref):
        assert _NUM.sub("#", g) == _NUM.sub("#", r), f"{g!r} != {r!r}"
        for a, b in zip(_NUM.findall(g), _NUM.findall(r)):
            if "." in b:
                assert abs(float(a) - float(b)) <= rtol * max(1.0, abs(float(b))), f"{g!r} != {r!r}"
            else:
                assert a == b, f"{g!r} != {r!r}"  # labels, shapes, counts: exact


def test_torchvision_script_under_dynagrad_run(tmp_path):
    FX.make_mnist(str(tmp_path), "MNIST", n_train=64, n_test=16)
    script = os.path.join(HERE, "scripts", "torchvision_mnist_resnet.py")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", script, str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    with open(os.path.join(HERE, "golden", "torchvision_script.json")) as f:
        ref = json.load(f)["stdout"]
    _compare_lines(res.stdout.splitlines(), ref)
