"""Small third-party-style PyTorch programs (tests/scripts/, written with ``import torch``) run unmodified
through ``dynagrad run``: device selection as the official examples and nanoGPT do it, a GCN trained on a
sparse adjacency, and legacy tensor constructors. Their printed lines are compared with the same programs
run by python on PyTorch (live, or recorded in tests/golden/)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.helpers import reference

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
_NUM = re.compile(r"-?\d+\.\d+")
SCRIPTS = ["device_preambles", "gcn_sparse", "legacy_tensors"]


def _start(script: str, *, dynagrad: bool) -> subprocess.Popen:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, os.path.join(HERE, "scripts", script + ".py")]
    if dynagrad:
        env["PYTHONPATH"] = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])
        cmd[1:1] = ["-m", "dynagrad.cli", "run"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=HERE)


def _lines(proc: subprocess.Popen) -> list[str]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return out.splitlines()


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_what_pytorch_prints(script):
    ours = _start(script, dynagrad=True)  # runs while PyTorch's run (or the golden lookup) proceeds
    want = reference(lambda torch: _lines(_start(script, dynagrad=False)))
    got = _lines(ours)
    assert len(got) == len(want), "\n".join(got)
    for g, w in zip(got, want):
        assert _NUM.sub("#", g) == _NUM.sub("#", w), f"{g!r} != {w!r}"
        for a, b in zip(_NUM.findall(g), _NUM.findall(w)):
            assert abs(float(a) - float(b)) <= 2e-4 * max(1.0, abs(float(b))), f"{g!r} != {w!r}"
