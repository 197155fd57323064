"""The intra-op thread pool: ``torch.get_num_threads`` / ``set_num_threads`` over NumPy's BLAS.

dynagrad's only multithreaded kernels are BLAS calls (matmul, conv through im2col, RNN gates), so the
thread count PyTorch users set is the BLAS library's. threadpoolctl finds the library NumPy loaded
(OpenBLAS, MKL or BLIS) and calls its own thread-control symbol; it is looked up on first use, since
scanning the loaded libraries takes milliseconds. Process-wide, as in PyTorch.

Seeded reruns give identical bits by default, so the pool never changes size on its own: a pool that
followed the machine's load could not keep that promise, since OpenBLAS splits the inner dimension of a
product differently on 1 and 2 threads (measured: ``(64, 784) @ (784, 128)``, the MNIST MLP's first layer,
differs in the last bits of 80% of its outputs, in float32 and float64; ``(1000, 1000) @ (1000, 1000)`` too),
and no shape rule is safe across OpenBLAS versions and CPU kernels, so no adaptation is provably
result-neutral.

Which fixed size: with other processes keeping cores busy (another program, DataLoader workers, other
ranks), OpenBLAS's spinning workers make products 10-30x slower than one thread; on 2 CPUs one busy process
is enough (measured, load average 9: an MNIST MLP step 104-130 ms on 2 threads, 9-10 ms on 1; conformance
program c03 50 s on 2 threads, 7.8 s on 1), while a quiet 2-CPU machine gains at most 1.6x on the products
from the second thread. So where this process may run on at most two CPUs the pool is one thread; on larger
machines it is the count BLAS starts with. OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS, or
:func:`set_num_threads`, set it to anything else, and it stays there.

``DYNAGRAD_ADAPTIVE_THREADS=1`` opts in to a pool that follows the load instead: :func:`adapt`, called once
per backward and per DataLoader batch, at most every half second reads how much CPU other processes used
on the CPUs this process may run on (``/proc/stat`` minus this process's ``/proc/self/stat``) and shrinks
the pool from BLAS's count by the cores they keep busy, growing it back when they are done; results then
depend, in the last bits, on other programs' load. ``use_deterministic_algorithms(True)`` keeps even that
pool fixed; an explicit :func:`set_num_threads` turns it off.
"""
from __future__ import annotations

import builtins
import operator
import os
import threading
import time

_blas_controllers: list | None = None


def _controllers() -> list:
    global _blas_controllers
    if _blas_controllers is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
            _blas_controllers = []
        else:
            import numpy  # noqa: F401 - NumPy's BLAS must be loaded to be found
            _blas_controllers = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return _blas_controllers


def get_num_threads() -> int:
    """The number of threads BLAS calls use (see the module docstring for the default). While an opted-in
    pool follows the load this is the count it grows back to, so saving and restoring it keeps working.

    >>> import dynagrad
    >>> dynagrad.get_num_threads() >= 1
    True
    """
    g = _governor
    if g.enabled and g.ceiling:
        return g.ceiling
    return _blas_threads()


def _blas_threads() -> int:
    counts = [c.get_num_threads() for c in _controllers()]
    counts = [n for n in counts if n]
    return builtins.max(counts) if counts else 1


def set_num_threads(n: int) -> None:
    """Set the number of threads BLAS calls use, process-wide, as ``torch.set_num_threads``. An explicit
    count also stops the pool from following other processes' load.

    >>> import dynagrad
    >>> before = dynagrad.get_num_threads()
    >>> dynagrad.set_num_threads(1); dynagrad.get_num_threads()
    1
    >>> dynagrad.set_num_threads(before)
    """
    if isinstance(n, bool):
        raise RuntimeError("set_num_threads expects an int, but got bool")
    try:
        n = operator.index(n)  # Python and NumPy integers, as torch accepts
    except TypeError:
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}") from None
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _governor.enabled = False  # the user's count wins over the load-following one
    _set(n)


def _set(n: int) -> None:
    for c in _controllers():
        c.set_num_threads(n)


def set_deterministic(mode: bool, warn_only: bool = False) -> None:
    """``use_deterministic_algorithms``: OpenBLAS rounds differently on 1 and 2 threads, so a pool that
    follows the load (opted in with DYNAGRAD_ADAPTIVE_THREADS=1) would make bits depend on other programs;
    deterministic mode keeps it fixed."""
    g = _governor
    g.deterministic = bool(mode)
    g.warn_only = bool(warn_only) and bool(mode)
    if mode and g.ceiling and g.current != g.ceiling:
        _set(g.ceiling)
        g.current = g.ceiling


class _Governor:
    """Sizes the BLAS pool to the cores other processes leave free (see the module docstring)."""

    INTERVAL_S = 0.5
    # Other processes' load, in cores, that takes a core away. Below one full core on purpose: a worker
    # busy half the time already costs a spinning pool far more than one thread loses on a quiet core.
    TAKEN_AT = 0.4

    def __init__(self) -> None:
        # opt-in: a pool that follows other processes' load makes results depend on them (module docstring)
        self.enabled = os.environ.get("DYNAGRAD_ADAPTIVE_THREADS", "0") == "1" and os.path.exists("/proc/stat")
        self.deterministic = False
        self.warn_only = False
        self.next_check = 0.0
        self.ceiling = 0  # read on first use: BLAS's own count, which honours the *_NUM_THREADS variables
        self.current = 0
        self.last = None  # (wall seconds, busy ticks of the CPUs this process may use, this process's ticks)
        self.ticks_per_s = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.lock = threading.Lock()
        try:
            self.cpus = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            self.cpus = None

    def sample(self) -> tuple[float, int, int]:
        """Busy ticks (all but idle and iowait) summed over the CPUs this process may run on."""
        allowed = None if self.cpus is None else {b"cpu%d" % c for c in self.cpus}
        busy = 0
        with open("/proc/stat", "rb") as f:
            for line in f:
                if not line.startswith(b"cpu"):
                    break
                fields = line.split()
                if fields[0] == b"cpu" or (allowed is not None and fields[0] not in allowed):
                    continue
                # user nice system idle iowait irq softirq steal
                busy += sum(int(v) for i, v in enumerate(fields[1:9]) if i not in (3, 4))
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        own = stat[stat.rindex(b")") + 2:].split()
        return time.monotonic(), busy, int(own[11]) + int(own[12])  # utime + stime

    def check(self, now: float) -> None:
        if not self.lock.acquire(blocking=False):  # another thread is looking already
            return
        try:
            self._check(now)
        finally:
            self.lock.release()

    def _check(self, now: float) -> None:
        self.next_check = now + self.INTERVAL_S
        try:
            sample = self.sample()
        except (OSError, ValueError, IndexError):  # an odd /proc: stop following the load
            self.enabled = False
            return
        if not self.ceiling:
            self.ceiling = self.current = _blas_threads()
            if self.ceiling <= 1:
                self.enabled = False
        last, self.last = self.last, sample
        if last is None or self.deterministic:
            return
        wall = sample[0] - last[0]
        if wall <= 0:
            return
        others = builtins.max(0.0, ((sample[1] - last[1]) - (sample[2] - last[2])) / self.ticks_per_s / wall)
        free = (len(self.cpus) if self.cpus else self.ceiling) - int(others + (1 - self.TAKEN_AT))
        want = builtins.min(self.ceiling, builtins.max(1, free))
        if want != self.current:
            _set(want)
            self.current = want

    def after_fork(self) -> None:
        # the parent's last sample would read as a burst of load in the child
        self.last = None
        self.next_check = 0.0
        self.lock = threading.Lock()


_governor = _Governor()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_governor.after_fork)


def adapt() -> None:
    """Follow other processes' CPU load (at most every half second; otherwise a clock read)."""
    g = _governor
    if g.enabled:
        now = time.monotonic()
        if now >= g.next_check:
            g.check(now)



_COUNT_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "GOTO_NUM_THREADS")


def _default_pool() -> None:
    """One BLAS thread where this process may run on at most two CPUs, unless a *_NUM_THREADS variable or
    the opted-in load-following pool decides (module docstring). Run at import: every product of the
    program then uses the same count."""
    if _governor.enabled or any(os.environ.get(v) for v in _COUNT_VARIABLES):
        return
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    if cpus <= 2 and _blas_threads() > 1:
        _set(1)


_default_pool()
