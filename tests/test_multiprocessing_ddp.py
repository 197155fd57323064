"""DDP and ZeroRedundancyOptimizer in processes that mp.spawn started (no MPI launcher): they meet at the
init_method address and become one MPI job (dynagrad/distributed/_rendezvous.py).

The 2-rank jobs run tests/distributed/spawn_ddp.py, which compares with single-process training; the
rendezvous errors are checked here, in this process (they happen before MPI starts), against PyTorch's.
"""
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from helpers import reference

import dynagrad.distributed as dist
from dynagrad.distributed import _rendezvous, launch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or launch.find_mpiexec() is None,
    reason='MPI is not installed: pip install "dynagrad[distributed]" (mpi4py and the mpich wheel)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


@needs_mpi
@pytest.mark.parametrize("method", ["env", "file"])
def test_spawned_ddp_and_zero_equal_single_process_training(method, tmp_path):
    p = subprocess.run([sys.executable, os.path.join(HERE, "distributed", "spawn_ddp.py"), method, str(tmp_path),
                        str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=240,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for what in ("ddp", "zero_adam", "zero_adam_opt", "zero_sgd_bucket", "zero_sgd_bucket_opt"):
        assert f"ok: {what} equals single-process training" in p.stdout
    assert "spawn ddp OK" in p.stdout


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return [type(e).__name__, str(e)]
    return None


def test_init_errors_as_torch(monkeypatch):
    """Without an MPI launcher: what is missing is named as PyTorch names it (nothing starts)."""
    for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)

    port = str(free_port())

    def cases(d):
        os.environ.update(MASTER_ADDR="localhost", MASTER_PORT=port)
        out = [_error(lambda: d.init_process_group("nccl", rank=0, world_size=1))]
        os.environ.pop("MASTER_ADDR")
        os.environ.pop("MASTER_PORT")
        out.append(_error(lambda: d.init_process_group("gloo", rank=0, world_size=2)))
        os.environ["MASTER_ADDR"] = "localhost"
        out.append(_error(lambda: d.init_process_group("gloo", rank=0, world_size=2)))
        out.append(_error(lambda: d.init_process_group("gloo", init_method="tcp://localhost", rank=0,
                                                       world_size=2)))
        os.environ.pop("MASTER_ADDR")
        return out
    assert cases(dist) == reference(lambda torch: cases(torch.distributed))
    assert _error(lambda: dist.init_process_group("gloo", world_size=2))[1].endswith(
        "environment variable RANK expected, but not set")
    assert _error(lambda: dist.init_process_group("foo"))[0] == "AssertionError"
    assert not dist.is_initialized()


def test_rendezvous_timeout_names_the_missing_ranks():
    port = free_port()
    start = time.monotonic()
    with pytest.raises(_rendezvous.DistStoreError, match=r"1/2 joined, missing rank\(s\) \[1\]"):
        _rendezvous.join(0, 2, f"tcp://127.0.0.1:{port}", timeout=1.0)
    with pytest.raises(_rendezvous.DistStoreError, match="rank 1 timed out after 0.5 s"):
        _rendezvous.join(1, 2, f"tcp://127.0.0.1:{free_port()}", timeout=0.5)
    assert time.monotonic() - start < 15
    assert "PMI_PORT" not in os.environ  # a failed rendezvous leaves MPI's start-up alone


def test_rendezvous_refuses_mismatched_ranks(tmp_path):
    """Two processes claiming rank 0 of different world sizes: both are told, neither starts MPI."""
    path = f"file://{tmp_path}/rdzv"
    errors = []

    def rank(r, size):
        try:
            _rendezvous.join(r, size, path, timeout=20)
        except _rendezvous.DistStoreError as e:
            errors.append(str(e))
    t = threading.Thread(target=rank, args=(1, 3))
    t.start()
    rank(0, 2)
    t.join(30)
    assert len(errors) == 2 and all("rank 1 was started with world_size=3 but rank 0 with world_size=2" in e
                                    for e in errors), errors
    deadline = time.monotonic() + 10
    while os.path.exists(f"{tmp_path}/rdzv") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"{tmp_path}/rdzv")  # the server removes its file when it ends


def test_master_port_in_use_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(_rendezvous.DistNetworkError, match=f"port: {port}.*EADDRINUSE"):
            _rendezvous.join(0, 2, f"tcp://127.0.0.1:{port}", timeout=1.0)
