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


def _python(script: str, *, dynagrad: bool) -> list[str]:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, os.path.join(HERE, "scripts", script + ".py")]
    if dynagrad:
        env["PYTHONPATH"] = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])
        cmd[1:1] = ["-m", "dynagrad.cli", "run"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=HERE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_what_pytorch_prints(script):
    want = reference(lambda torch: _python(script, dynagrad=False))
    got = _python(script, dynagrad=True)
    assert len(got) == len(want), "\n".join(got)
    for g, w in zip(got, want):
        assert _NUM.sub("#", g) == _NUM.sub("#", w), f"{g!r} != {w!r}"
        for a, b in zip(_NUM.findall(g), _NUM.findall(w)):
            assert abs(float(a) - float(b)) <= 2e-4 * max(1.0, abs(float(b))), f"{g!r} != {w!r}"
