"""dynagrad.distributed, DistributedDataParallel and DistributedSampler.

The MPI tests start real jobs (``dynagrad launch -n 2`` over the mpich wheel's mpiexec) running the worker
scripts in tests/distributed/; they are skipped only where MPI is not installed.
"""
import importlib.util
import os
import subprocess
import sys
import time

import pytest
from helpers import reference

import dynagrad
import dynagrad.distributed as dist
from dynagrad.distributed import launch
from dynagrad.utils.data import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or launch.find_mpiexec() is None,
    reason='MPI is not installed: pip install "dynagrad[distributed]" (mpi4py and the mpich wheel)')


def run_job(script, *args, n=2, env=None, timeout=90):
    cmd = [sys.executable, "-m", "dynagrad.distributed.launch", "-n", str(n), script, *map(str, args)]
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    return p, time.monotonic() - start


def worker(name):
    return os.path.join(HERE, "distributed", name)


@needs_mpi
def test_collectives_give_the_right_values():
    p, _ = run_job(worker("collectives.py"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank 0: collectives OK" in p.stdout and "rank 1: collectives OK" in p.stdout


@needs_mpi
def test_ddp_equals_single_process_training():
    p, _ = run_job(worker("ddp_train.py"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank 0: ddp OK" in p.stdout and "rank 1: ddp OK" in p.stdout


@needs_mpi
def test_a_rank_that_raises_ends_the_job_naming_it():
    p, took = run_job(worker("fail.py"), "raise", 30)
    assert p.returncode != 0
    assert "rank 1 (of 2) failed: ValueError: rank 1 broke on purpose" in p.stderr, p.stderr
    assert "unreachable" not in p.stdout
    assert took < 20


@needs_mpi
def test_a_rank_that_leaves_makes_the_others_time_out():
    p, took = run_job(worker("fail.py"), "exit", 2)
    assert p.returncode != 0
    assert "all_reduce timed out after 2 s on rank 0 of 2" in p.stderr, p.stderr
    assert took < 20


@needs_mpi
def test_timeout_from_the_environment_and_a_rank_late_for_init():
    p, took = run_job(worker("fail.py"), "late", env={"DYNAGRAD_DIST_TIMEOUT": "1.5"})
    assert p.returncode != 0
    assert "init_process_group timed out after 1.5 s on rank 0 of 2" in p.stderr, p.stderr
    assert took < 20


@needs_mpi
def test_ddp_digits_example_runs_on_two_ranks():
    p, _ = run_job(os.path.join(ROOT, "examples", "ddp_digits.py"), "--epochs", 2)
    assert p.returncode == 0, p.stdout + p.stderr
    acc = float(p.stdout.split("final test accuracy:")[1].split("%")[0])
    assert acc > 80, p.stdout


def test_launch_without_mpi_names_the_extra(monkeypatch, capsys):
    monkeypatch.setattr(launch, "find_mpiexec", lambda: None)
    assert launch.main(["-n", "2", "script.py"]) == 1
    assert 'pip install "dynagrad[distributed]"' in capsys.readouterr().err


def test_launch_command_line():
    args = launch.argparse.ArgumentParser()
    launch.add_arguments(args)
    cmd = launch.build_command(args.parse_args(["-n", "8", "--hostfile", "hosts", "train.py", "--lr", "0.1"]),
                               "mpiexec")
    assert cmd == ["mpiexec", "-n", "8", "-f", "hosts", sys.executable, "-m", "dynagrad.distributed._worker",
                   "train.py", "--lr", "0.1"]


def test_not_initialized(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(dynagrad.ones(2))
    assert dist.ReduceOp.SUM != dist.ReduceOp.AVG

    def surface(d):  # what a nanoGPT-style trainer asks before and after its DDP branch
        out = [d.is_available(), d.is_initialized(), d.is_gloo_available(), d.is_nccl_available(),
               d.is_torchelastic_launched(), str(d.ReduceOp.AVG), f"{d.ReduceOp.SUM}", repr(d.ReduceOp.MAX),
               d.ReduceOp.AVG == d.ReduceOp.RedOpType.AVG, d.Backend.NCCL, d.Backend.GLOO,
               d.is_backend_available("gloo"), d.is_backend_available("nccl"), d.get_node_local_rank(3),
               [issubclass(getattr(d, e), d.DistError) for e in ("DistStoreError", "DistNetworkError")]]
        try:
            d.get_node_local_rank()
        except RuntimeError as e:
            out.append(str(e))
        try:
            d.destroy_process_group()
        except AssertionError as e:
            out.append(["AssertionError", str(e)])
        return out
    assert surface(dist) == reference(lambda torch: surface(torch.distributed))


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_distributed_sampler_matches_torch(shuffle, drop_last):
    pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in (1, 5, 10, 11, 17):
        for world in (1, 2, 3, 4, 8):
            if drop_last and n < world:
                continue
            ours = [list(DistributedSampler(range(n), world, r, shuffle=shuffle, drop_last=drop_last))
                    for r in range(world)]
            theirs = [list(TorchSampler(range(n), world, r, shuffle=shuffle, drop_last=drop_last))
                      for r in range(world)]
            assert [len(x) for x in ours] == [len(x) for x in theirs]
            if not shuffle:
                assert ours == theirs
            else:  # a different permutation, split the same way: the same padding and striding
                perm = dynagrad.randperm(n, generator=dynagrad.Generator().manual_seed(0)).tolist()
                total = len(ours[0]) * world
                padded = (perm * (total // max(n, 1) + 1))[:total]
                assert ours == [padded[r:total:world] for r in range(world)]
    a, b = DistributedSampler(range(10), 2, 0, seed=3), DistributedSampler(range(10), 2, 1, seed=3)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first and sorted(list(a) + list(b)) == list(range(10))
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), 2, 2)


def test_bucket_assignment_matches_torch():
    torch = pytest.importorskip("torch")
    from dynagrad.nn.parallel.distributed import _assign_buckets
    shapes = [(32, 20), (32,), (16, 32), (16,), (5, 16), (5,), (300, 300), (7,)]
    for cap in (104, 1048, 4000, 10**6):
        theirs, _ = torch.distributed._compute_bucket_assignment_by_size(
            [torch.zeros(s) for s in shapes][::-1], [cap], [False] * len(shapes))
        ours = _assign_buckets([dynagrad.zeros(s) for s in shapes], cap, cap)
        assert ours == [[len(shapes) - 1 - i for i in b] for b in theirs]


@needs_mpi
def test_torchrun_command_line_runs_an_unmodified_script():
    p = subprocess.run([sys.executable, "-m", "dynagrad.cli", "run", "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node=2", "--master_port=29517", worker("torchrun_script.py")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    flat = "".join(p.stdout.split())  # the two ranks share stdout: a print's text and newline may interleave
    for r in (0, 1):
        assert f"torchrunrank{r}{r}22True1.029517" in flat, p.stdout


def test_torchrun_options_without_a_counterpart_are_refused(monkeypatch, capsys):
    from dynagrad.distributed import run
    started = []
    monkeypatch.setattr(launch, "run", lambda ns: started.append(ns) or 0)
    for k in ("TORCHELASTIC_RUN_ID", "MASTER_PORT", "MASTER_ADDR", "GROUP_RANK", "GROUP_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    assert run.main(["--nnodes=2", "train.py"]) == 2
    assert run.main(["--max-restarts", "3", "train.py"]) == 2
    assert run.main(["--nproc-per-node", "gpu", "train.py"]) == 2
    assert "--nnodes 2: this launcher starts the ranks of one machine" in capsys.readouterr().err
    assert not started and not dist.is_torchelastic_launched()
    assert run.main(["--nnodes", "1:1", "--nproc_per_node", "3", "--rdzv-backend", "c10d", "--rdzv_endpoint",
                     "localhost:0", "train.py", "--lr", "0.1"]) == 0
    ns = started[0]
    assert (ns.nproc, ns.torch, ns.script, ns.args, ns.hostfile) == (3, True, "train.py", ["--lr", "0.1"], None)
    assert os.environ["MASTER_PORT"] == "29500" and dist.is_torchelastic_launched()


def test_record_writes_torchelastic_error_file(tmp_path, monkeypatch):
    from dynagrad.distributed.elastic.multiprocessing.errors import record
    path = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(path))

    @record
    def fails():
        raise KeyError("oops")
    with pytest.raises(KeyError):
        fails()
    import json
    msg = json.loads(path.read_text())["message"]
    assert msg["message"] == "KeyError: 'oops'" and "raise KeyError" in msg["extraInfo"]["py_callstack"]
    assert record(lambda: exit(0))() is None  # SystemExit(0) is a return, as in PyTorch
    with pytest.raises(SystemExit):
        record(lambda: exit(3))()
