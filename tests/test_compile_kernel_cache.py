"""The numba kernel cache runs only what dynagrad generated: a tampered kernel file or numba cache file is
detected and never imported, the cache directory is private (0700), and a world-writable one is refused.

Each case runs in a fresh process (the in-process kernel cache would hide the disk)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

pytest.importorskip("numba")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = r"""
import numpy as np, dynagrad as torch
a = torch.from_numpy(np.linspace(-1, 1, 300 * 300, dtype=np.float32).reshape(300, 300))
f = torch.compile(lambda a: ((a * 2 + a).relu() * 3 - 1).tanh(), backend="numba")
out = f(a)
assert "NK" in f.code, f.code
ref = np.tanh(np.maximum(a.numpy() * 2 + a.numpy(), 0) * 3 - 1)
np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6, atol=1e-6)
print("ran")
"""


def _run(cache, tmp_path):
    env = dict(os.environ, DYNAGRAD_CACHE=str(cache), PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", PROGRAM], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def _kernel_files(cache):
    d = cache / "kernels"
    py = [d / n for n in os.listdir(d) if n.startswith("k_") and n.endswith(".py")]
    nb = [d / "__pycache__" / n for n in os.listdir(d / "__pycache__") if n.endswith((".nbi", ".nbc"))]
    return py, nb


def test_cache_is_private_and_a_tampered_kernel_never_runs(tmp_path):
    cache = tmp_path / "cache"
    p = _run(cache, tmp_path)
    assert p.returncode == 0 and "ran" in p.stdout, p.stderr
    assert stat.S_IMODE(os.stat(cache / "kernels").st_mode) == 0o700
    (py,), nb = _kernel_files(cache)
    assert nb and (cache / "kernels" / "manifest.json").exists()
    assert stat.S_IMODE(os.stat(py).st_mode) == 0o600
    generated = py.read_text()
    marker = tmp_path / "pwned"
    with open(py, "a") as f:  # a line appended to the cached kernel file
        f.write(f"\nopen({str(marker)!r}, 'w').write('ran')\n")
    p = _run(cache, tmp_path)
    assert p.returncode == 0 and "ran" in p.stdout, p.stderr
    assert not marker.exists()  # never imported
    assert py.read_text() == generated  # regenerated
    assert "differs from the source dynagrad generates" in p.stderr


def test_a_tampered_numba_cache_file_is_deleted_before_numba_reads_it(tmp_path):
    cache = tmp_path / "cache"
    assert _run(cache, tmp_path).returncode == 0
    _, nb = _kernel_files(cache)
    for f in nb:
        with open(f, "ab") as fh:
            fh.write(b"\x80\x04tampered")
    p = _run(cache, tmp_path)
    assert p.returncode == 0 and "ran" in p.stdout, p.stderr
    assert "is not one dynagrad recorded; it is deleted" in p.stderr
    _, nb2 = _kernel_files(cache)
    assert nb2 and all(not f.read_bytes().endswith(b"tampered") for f in nb2)  # compiled again, recorded
    p = _run(cache, tmp_path)
    assert p.returncode == 0 and "deleted" not in p.stderr  # the new files are trusted


def test_a_world_writable_cache_directory_is_refused(tmp_path):
    cache = tmp_path / "shared"
    (cache / "kernels").mkdir(parents=True)
    os.chmod(cache / "kernels", 0o777)
    p = _run(cache, tmp_path)
    assert p.returncode == 0 and "ran" in p.stdout, p.stderr  # compiled in memory
    assert "not using the kernel cache" in p.stderr and "writable by others" in p.stderr
    assert os.listdir(cache / "kernels") == []
