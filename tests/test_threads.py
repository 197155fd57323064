"""dynagrad.get_num_threads / set_num_threads drive NumPy's BLAS pool, with PyTorch's errors; DataLoader
workers run single-threaded BLAS, as PyTorch's do."""
from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info

import dynagrad
from dynagrad import _threads
from dynagrad.utils.data import DataLoader, Dataset


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
            and "numpy" in lib["filepath"]}


@pytest.fixture
def restore_threads():
    before, adaptive = dynagrad.get_num_threads(), _threads._governor.enabled
    yield before
    dynagrad.set_num_threads(before)
    _threads._governor.enabled = adaptive


def test_get_reports_the_blas_pool(restore_threads):
    assert _blas_threads() == {_threads._blas_threads()}
    dynagrad.set_num_threads(restore_threads)  # an explicit count: get_num_threads is the pool itself
    assert _blas_threads() == {dynagrad.get_num_threads()}


def test_set_changes_the_blas_pool_and_matmul_still_agrees(restore_threads):
    a, b = dynagrad.randn(64, 200), dynagrad.randn(200, 300)
    full = (a @ b).numpy()
    dynagrad.set_num_threads(1)
    assert dynagrad.get_num_threads() == 1 and _blas_threads() == {1}
    assert abs((a @ b).numpy() - full).max() < 1e-4
    dynagrad.set_num_threads(restore_threads)
    assert _blas_threads() == {restore_threads}


@pytest.mark.parametrize("bad, message", [
    (0, "set_num_threads expects a positive integer"),
    (-1, "set_num_threads expects a positive integer"),
    (2.5, "set_num_threads expects an int, but got float"),
    (True, "set_num_threads expects an int, but got bool"),
])
def test_bad_counts_raise_as_torch(bad, message, restore_threads):
    with pytest.raises(RuntimeError, match=message):
        dynagrad.set_num_threads(bad)
    assert dynagrad.get_num_threads() == restore_threads
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=message):
        torch.set_num_threads(bad)


class _ThreadsSeen(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return dynagrad.tensor(dynagrad.get_num_threads())


def test_dataloader_workers_use_one_blas_thread(restore_threads):
    seen = [int(b) for batch in DataLoader(_ThreadsSeen(), batch_size=1, num_workers=1) for b in batch]
    assert seen == [1, 1]
    assert dynagrad.get_num_threads() == restore_threads  # the training process keeps its pool


class _FakeGovernor(_threads._Governor):
    """A governor fed (seconds, other processes' cores busy) samples instead of /proc."""

    def __init__(self, loads, cpus=None):
        super().__init__()
        self.enabled, self.ticks_per_s, self.cpus = True, 100, cpus
        self.loads, self.clock, self.busy, self.own = list(loads), 0.0, 0, 0

    def sample(self):
        others = self.loads.pop(0)
        self.clock += 0.5
        self.own += 50  # this process: one core for the half second, which must not count
        self.busy += 50 + int(others * 50)
        return self.clock, self.busy, self.own


@pytest.mark.parametrize("loads, ceiling, expected", [
    ([0.0, 0.0, 0.1], 2, [2, 2]),        # quiet: the full pool
    ([0.0, 1.0, 1.0, 0.0], 2, [1, 1, 2]),  # one core taken, then given back
    ([0.0, 0.5], 2, [1]),                # a worker busy half the time already takes the core
    ([0.0, 0.3], 2, [2]),                # background noise does not
    ([0.0, 2.0], 4, [2]),                # two of four cores busy elsewhere
    ([0.0, 8.0], 4, [1]),                # never below one thread
])
def test_governor_sizes_the_pool_to_the_free_cores(monkeypatch, loads, ceiling, expected):
    sets = []
    monkeypatch.setattr(_threads, "_set", sets.append)
    monkeypatch.setattr(_threads, "_blas_threads", lambda: ceiling)
    g = _FakeGovernor(loads, cpus=list(range(ceiling)))
    seen = []
    for i in range(len(loads)):
        g.check(float(i))
        if i:
            seen.append(g.current)
    assert seen == expected
    assert sets == [n for prev, n in zip([ceiling] + expected, expected) if n != prev]  # only changes call BLAS


def test_governor_looks_at_most_every_half_second(monkeypatch):
    calls = []
    g = _threads._Governor()
    g.enabled = True
    monkeypatch.setattr(g, "check", lambda now: (calls.append(now), setattr(g, "next_check", now + 0.5)))
    monkeypatch.setattr(_threads, "_governor", g)
    for _ in range(1000):
        _threads.adapt()
    assert len(calls) == 1


def test_adaptation_is_opt_in_and_an_explicit_count_turns_it_off(restore_threads, monkeypatch):
    monkeypatch.delenv("DYNAGRAD_ADAPTIVE_THREADS", raising=False)
    assert not _threads._Governor().enabled  # fixed by default: bits must not depend on other programs
    monkeypatch.setenv("DYNAGRAD_ADAPTIVE_THREADS", "0")
    assert not _threads._Governor().enabled
    monkeypatch.setenv("DYNAGRAD_ADAPTIVE_THREADS", "1")
    assert _threads._Governor().enabled == __import__("os").path.exists("/proc/stat")
    _threads._governor.enabled = True
    dynagrad.set_num_threads(restore_threads)
    assert not _threads._governor.enabled


BUSY_SCRIPT = """
import subprocess, sys, time
import dynagrad
start = dynagrad.get_num_threads()
busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(start)]
try:
    w = dynagrad.randn(256, 256, requires_grad=True)
    x = dynagrad.randn(64, 256)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.0:
        (x @ w).relu().sum().backward()
        time.sleep(0.01)
    print(start, dynagrad._threads._blas_threads())  # the pool itself (get_num_threads gives its ceiling)
finally:
    for p in busy:
        p.kill()
"""


def test_pool_shrinks_while_other_processes_keep_the_cores_busy():
    import subprocess
    import sys
    env = dict(__import__("os").environ, DYNAGRAD_ADAPTIVE_THREADS="1")  # opted in: BLAS's own count to start
    res = subprocess.run([sys.executable, "-c", BUSY_SCRIPT], capture_output=True, text=True, timeout=60,
                         env=env)
    assert res.returncode == 0, res.stderr
    start, end = map(int, res.stdout.split())
    if start < 2:
        pytest.skip("BLAS runs one thread here already")
    assert end < start


RERUN_SCRIPT = """
import hashlib, subprocess, sys
import dynagrad, dynagrad.nn as nn
busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])] if sys.argv[1] == "busy" else []
try:
    dynagrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    lstm = nn.LSTM(16, 64, num_layers=2, dropout=0.3)
    opt = dynagrad.optim.Adam(list(model.parameters()) + list(lstm.parameters()), lr=1e-3)
    x, y = dynagrad.randn(64, 784), dynagrad.randint(0, 10, (64,))
    seq = dynagrad.randn(12, 8, 16)
    for _ in range(15):
        opt.zero_grad()
        out, _ = lstm(seq)
        loss = nn.functional.cross_entropy(model(x), y) + out.pow(2).mean()
        loss.backward()
        opt.step()
    h = hashlib.sha256()
    for p in list(model.parameters()) + list(lstm.parameters()):
        h.update(p.detach().numpy().tobytes())
    print(h.hexdigest(), dynagrad.get_num_threads())
finally:
    for p in busy:
        p.kill()
"""


def test_seeded_training_gives_the_same_bits_on_a_busy_machine():
    # the reproduction: the same seeded training (dropout, an LSTM, Adam), once on a quiet machine and
    # once while another process keeps a core busy, must end with identical weights
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "DYNAGRAD_ADAPTIVE_THREADS"}
    outs = [subprocess.run([sys.executable, "-c", RERUN_SCRIPT, mode], capture_output=True, text=True,
                           timeout=300, env=env) for mode in ("quiet", "busy")]
    for res in outs:
        assert res.returncode == 0, res.stderr
    (quiet, n_quiet), (busy, n_busy) = (res.stdout.split() for res in outs)
    assert n_quiet == n_busy
    assert quiet == busy


def _fed(monkeypatch, ceiling, cpus, samples):
    """Run a governor's checks on given raw samples; the pool sizes it asked for."""
    sets = []
    monkeypatch.setattr(_threads, "_set", sets.append)
    monkeypatch.setattr(_threads, "_blas_threads", lambda: ceiling)
    g = _threads._Governor()
    g.enabled, g.ticks_per_s, g.cpus = True, 100, cpus
    feed = iter(samples)
    monkeypatch.setattr(g, "sample", lambda: next(feed))
    for i in range(len(samples)):
        g.check(float(i))
    return g, sets


def test_only_the_cpus_this_process_may_use_count(monkeypatch):
    # a 64-CPU host, this process pinned to 4 (busy ticks below are over those 4): 20 busy CPUs elsewhere
    # do not shrink the pool
    g, sets = _fed(monkeypatch, 4, list(range(4)), [(0.0, 0, 0), (0.5, 50, 50), (1.0, 100, 100)])
    assert g.current == 4 and sets == []
    sample = _threads._Governor().sample()  # and the real sampler reads only allowed CPUs' lines
    assert len(sample) == 3 and sample[1] >= 0


def test_odd_samples_never_exceed_the_ceiling_or_raise(monkeypatch):
    # samples out of order (a negative load), then two at the same instant
    g, sets = _fed(monkeypatch, 4, list(range(4)), [(1.0, 500, 0), (0.5, 0, 0), (0.5, 0, 0), (1.0, 0, 0)])
    assert g.current <= 4 and all(1 <= n <= 4 for n in sets)


def test_deterministic_mode_keeps_the_pool_fixed(monkeypatch):
    sets = []
    monkeypatch.setattr(_threads, "_set", sets.append)
    monkeypatch.setattr(_threads, "_blas_threads", lambda: 2)
    g = _FakeGovernor([0.0, 1.0, 1.0, 1.0], cpus=[0, 1])
    monkeypatch.setattr(_threads, "_governor", g)
    g.check(0.0)
    g.check(1.0)
    assert g.current == 1
    dynagrad.use_deterministic_algorithms(True)
    try:
        assert dynagrad.are_deterministic_algorithms_enabled()
        assert g.current == 2 and sets[-1] == 2  # back to the full pool at once
        g.check(2.0)
        g.check(3.0)
        assert g.current == 2  # and it stays there whatever the load
    finally:
        dynagrad.use_deterministic_algorithms(False)
    assert not dynagrad.are_deterministic_algorithms_enabled()


def test_get_reports_the_count_the_pool_grows_back_to(monkeypatch):
    monkeypatch.setattr(_threads, "_set", lambda n: None)
    monkeypatch.setattr(_threads, "_blas_threads", lambda: 2)
    g = _FakeGovernor([0.0, 1.0], cpus=[0, 1])
    monkeypatch.setattr(_threads, "_governor", g)
    g.check(0.0)
    g.check(1.0)
    assert g.current == 1 and _threads.get_num_threads() == 2  # save/restore keeps the full count


def test_numpy_integers_are_accepted(restore_threads):
    import numpy as np
    dynagrad.set_num_threads(np.int64(1))
    assert dynagrad.get_num_threads() == 1


def test_a_forked_child_starts_its_own_measurement():
    g = _threads._Governor()
    g.last, g.next_check = (1.0, 2, 3), 99.0
    g.after_fork()
    assert g.last is None and g.next_check == 0.0


@pytest.mark.parametrize("cpus, env, adaptive, expected", [
    (2, {}, False, [1]),                         # a small machine: one thread
    (1, {}, False, [1]),
    (4, {}, False, []),                          # larger: BLAS's own count
    (2, {"OMP_NUM_THREADS": "2"}, False, []),    # the user's variable decides
    (2, {"OPENBLAS_NUM_THREADS": "2"}, False, []),
    (2, {}, True, []),                           # the opted-in governor starts from BLAS's count
])
def test_default_pool_size(monkeypatch, cpus, env, adaptive, expected):
    sets = []
    monkeypatch.setattr(_threads, "_set", sets.append)
    monkeypatch.setattr(_threads, "_blas_threads", lambda: 2)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    for v in _threads._COUNT_VARIABLES:
        monkeypatch.delenv(v, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(_threads._governor, "enabled", adaptive)
    _threads._default_pool()
    assert sets == expected
