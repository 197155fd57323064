"""dynagrad.multiprocessing: shared-memory tensors, tensors through queues, spawn, Hogwild training.

In-process tests compare with PyTorch (live, or its recorded values); the multi-process ones run the
scripts in tests/multiprocessing/ as programs (spawned children re-import their main module), each of
which checks its own results and prints OK.
"""
import copy
import glob
import os
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import reference

import dynagrad
import dynagrad.multiprocessing as mp

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = pytest.mark.skipif(os.environ.get("DYNAGRAD_LONG_TESTS") != "1",
                          reason="a variant of a faster test; DYNAGRAD_LONG_TESTS=1 runs it")
ROOT = os.path.dirname(HERE)


def run(script, *args, timeout=180):
    p = subprocess.run([sys.executable, os.path.join(HERE, "multiprocessing", script), *map(str, args)],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p


def segments_of(pids):
    """/dev/shm files that processes ``pids`` created (file_system strategy names hold the creator's pid)."""
    return [f for f in glob.glob("/dev/shm/dynagrad_*") if int(f.split("_")[1]) in pids]


# -- in this process ---------------------------------------------------------------------------------------

def test_module_has_torch_multiprocessing_names():
    names = reference(lambda torch: sorted(n for n in torch.multiprocessing.__all__)
                      + ["spawn", "start_processes", "ProcessContext", "ProcessRaisedException",
                         "ProcessExitedException", "SpawnContext"])
    missing = [n for n in names if not hasattr(mp, n)]
    assert not missing, missing
    assert mp.get_sharing_strategy() == "file_descriptor"
    assert mp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    want = reference(lambda torch: _error(lambda: torch.multiprocessing.set_sharing_strategy("shm")))
    assert _error(lambda: mp.set_sharing_strategy("shm"))[0] == want[0]
    assert mp.cpu_count() == os.cpu_count() and mp.get_context("spawn").get_start_method() == "spawn"
    assert dynagrad.multiprocessing is mp


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return [type(e).__name__, str(e)]
    return None


def _sharing(m):
    """is_shared() along the ways a tensor gets into shared memory, and what stays as it was."""
    t = m.arange(10.0)
    out = [t.is_shared()]
    assert t.share_memory_() is t
    out += [t.is_shared(), t.tolist()]
    e = m.zeros(0, 3).share_memory_()
    out += [e.is_shared(), list(e.shape)]
    base = m.arange(12.0).reshape(3, 4)
    v = base[1:, 2:]
    v.share_memory_()
    out += [v.is_shared(), base.is_shared(), v.storage_offset(), list(v.stride())]
    v.fill_(-1)
    out += [base.tolist()]
    lin = m.nn.Linear(3, 2)
    lin.weight.grad = m.ones(2, 3)
    bn = m.nn.BatchNorm1d(2)
    seq = m.nn.Sequential(lin, bn)
    assert seq.share_memory() is seq
    out += [[p.is_shared() for p in seq.parameters()], lin.weight.grad.is_shared(),
            [b.is_shared() for b in seq.buffers()], type(lin.weight).__name__, lin.weight.requires_grad]
    i = m.tensor([1, 2], dtype=m.int64).share_memory_()
    out += [i.is_shared(), str(i.dtype).replace("torch.", "")]
    return out


def test_share_memory_and_is_shared_as_torch():
    assert _sharing(dynagrad) == reference(_sharing)


def test_pickle_and_copy_still_copy_values():
    t = dynagrad.arange(4.0).share_memory_()
    for other in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t), t.clone()):
        assert other.tolist() == t.tolist() and not other.is_shared()
    assert t.detach().is_shared() and t.data.is_shared() and t[1:].is_shared()


def test_a_queue_in_one_process_shares_the_memory():
    q = mp.Queue()
    t = dynagrad.zeros(3)
    q.put(t)
    back = q.get(timeout=30)
    assert t.is_shared() and back.is_shared() and back is not t
    back[0] = 5
    assert t.tolist() == [5.0, 0.0, 0.0]
    q.close()
    q.join_thread()


def test_optimizer_state_that_processes_share_stays_shared():
    """The SharedAdam pattern (A3C): state made by hand and shared; steps must update it in place."""
    def run(m):
        m.manual_seed(0)
        lin = m.nn.Linear(3, 2)
        lin.share_memory()
        opt = m.optim.Adam(lin.parameters(), lr=0.1)
        for group in opt.param_groups:
            for p in group["params"]:
                st = opt.state[p]
                st["step"] = m.tensor(0.0)
                st["exp_avg"] = m.zeros_like(p).share_memory_()
                st["exp_avg_sq"] = m.zeros_like(p).share_memory_()
        x = m.arange(12.0).reshape(4, 3) / 10
        for _ in range(3):
            opt.zero_grad()
            (lin(x) ** 2).sum().backward()
            opt.step()
        shared = [p.is_shared() for p in lin.parameters()] + [
            opt.state[p][k].is_shared() for p in lin.parameters() for k in ("exp_avg", "exp_avg_sq")]
        return [p.detach().numpy().tolist() for p in lin.parameters()], shared
    got, shared = run(dynagrad)
    want, want_shared = reference(run)
    np.testing.assert_allclose(np.concatenate([np.ravel(a) for a in got]),
                               np.concatenate([np.ravel(a) for a in want]), rtol=1e-5, atol=1e-6)
    assert shared == want_shared == [True] * 6


def test_spawn_exceptions_as_torch():
    e = mp.ProcessExitedException("process 1 terminated with exit code 3", error_index=1, error_pid=42, exit_code=3)
    back = pickle.loads(pickle.dumps(e))
    assert (back.msg, back.error_index, back.error_pid, back.exit_code, back.signal_name) == \
        ("process 1 terminated with exit code 3", 1, 42, 3, None)
    r = pickle.loads(pickle.dumps(mp.ProcessRaisedException("trace", 0, 7)))
    assert (str(r), r.error_index, r.error_pid) == ("trace", 0, 7)
    assert issubclass(mp.ProcessRaisedException, mp.ProcessException)
    with pytest.warns(UserWarning, match="SpawnContext is renamed to ProcessContext"):
        mp.SpawnContext([], [])


def test_file_system_segments_are_named_and_released():
    mp.set_sharing_strategy("file_system")
    try:
        t = dynagrad.ones(4).share_memory_()
        names = segments_of({os.getpid()})
        assert len(names) >= 1 and t.is_shared()
        del t
        import gc
        gc.collect()
        assert not [n for n in segments_of({os.getpid()}) if n in names]
    finally:
        mp.set_sharing_strategy("file_descriptor")


# -- several processes -------------------------------------------------------------------------------------

def _pids(p):
    return {int(x) for line in p.stdout.splitlines() if line.startswith("pids:") for x in line.split()[1:]}


def test_tensors_through_queues_spawn():
    p = run("queues.py", "spawn", "file_descriptor")
    assert "queues OK" in p.stdout
    assert not glob.glob("/dev/shm/dynagrad_*" + str(min(_pids(p))) + "_*")


@pytest.mark.parametrize("method", ["fork", pytest.param("forkserver", marks=LONG)])
def test_tensors_through_queues_file_system(method):
    p = run("queues.py", method, "file_system")
    assert "queues OK" in p.stdout
    pids = _pids(p)
    assert len(pids) == 3
    assert not segments_of(pids), "shared memory left in /dev/shm after the program ended"
    assert "leaked" not in p.stderr, p.stderr


def test_file_system_segments_of_killed_processes_are_cleaned_up():
    p = run("crash.py")
    assert "crash OK" in p.stdout
    pids = _pids(p)
    deadline = time.monotonic() + 10  # the resource tracker cleans up once the program's last process ends
    while segments_of(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not segments_of(pids)


def test_spawn_runs_and_reports_errors_as_torch():
    p = run("spawn_errors.py")
    assert "spawn OK" in p.stdout, p.stdout


@pytest.mark.parametrize("method", ["fork", pytest.param("spawn", marks=LONG)])  # spawn: test_torch_programs
def test_hogwild_two_processes_train_one_shared_model(method):
    p = run("hogwild.py", method)
    assert "exact shared steps: [-5.0, -10.0, -15.0]" in p.stdout, p.stdout
