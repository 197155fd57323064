"""Process groups and collectives over MPI (mpi4py), with ``torch.distributed``'s names.

Every collective runs as a nonblocking MPI request (``Iallreduce``, ``Ibcast``, ...) polled with ``Test``
until it completes or the group's timeout passes, so a rank that died or never arrives ends the others
with an error instead of a hang. Tensors are written in place (``t._data``, then the version counter is
bumped). Before a collective, ranks compare (op, shape, dtype, root) with a small allgather so a mismatch
is an error naming each rank's tensor rather than garbage or a deadlock; ``DYNAGRAD_DIST_CHECK=0`` skips
that check.
"""
from __future__ import annotations

import datetime
import enum
import os
import pickle
import sys
import time
import zlib

import numpy as np

from ..tensor import Tensor

_MPI = None
_world: ProcessGroup | None = None
_backend_name = "mpi"
_groups: list = []
_DEFAULT_TIMEOUT = 1800.0  # seconds, as torch.distributed's default_pg_timeout


def _mpi():
    global _MPI
    if _MPI is None:
        if _inherited_launch():  # a launcher's variables from our parent would make MPI join its job
            from ._rendezvous import singleton
            singleton()
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError('dynagrad.distributed runs over MPI, which is not installed: '
                               'pip install "dynagrad[distributed]" (mpi4py and the mpich wheel)') from e
        _MPI = MPI
        _unlink_mpich_shm()
        if _launched_size() is not None:
            os.environ["DYNAGRAD_MPI_PID"] = str(os.getpid())  # so that our child processes know it is not theirs
    return _MPI


def _unlink_mpich_shm() -> None:
    """Unlink the shared-memory files MPICH mapped while starting: they stay mapped, and nothing is left in
    /dev/shm when a job ends by MPI_Abort or a kill (MPICH removes them only in MPI_Finalize).

    When MPI's start-up returns in one process, every process of the machine has mapped them (start-up ends
    with a barrier over them), so none still needs to open them by name."""
    try:
        with open("/proc/self/maps") as f:
            names = {line.rsplit(None, 1)[-1] for line in f if "/dev/shm/mpich_shm_" in line}
    except OSError:
        return
    for name in names:
        if name.startswith("/dev/shm/mpich_shm_"):
            try:
                os.unlink(name)
            except OSError:
                pass


_LAUNCHER_VARS = ("PMI_FD", "PMI_PORT", "PMI_RANK", "PMIX_RANK")


def _inherited_launch() -> bool:
    """True when MPI launcher variables are in the environment but belong to a parent process."""
    pid = os.environ.get("DYNAGRAD_MPI_PID")
    return pid is not None and pid != str(os.getpid()) and any(k in os.environ for k in _LAUNCHER_VARS)


def _launched_size() -> int | None:
    """The job size when an MPI launcher (mpiexec, or our rendezvous) started this process's MPI, else None."""
    env = os.environ
    if _inherited_launch() or not any(k in env for k in _LAUNCHER_VARS):
        return None
    for k in ("PMI_SIZE", "PMIX_SIZE", "OMPI_COMM_WORLD_SIZE"):
        if k in env:
            return int(env[k])
    if _MPI is not None and _MPI.Is_initialized():
        return _MPI.COMM_WORLD.Get_size()
    return None if "PMI_ID" in env else 1


class DistError(RuntimeError):
    """Base of the errors raised by dynagrad.distributed (as ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A collective failed or timed out."""


class DistStoreError(DistError):
    """The rendezvous failed: a rank did not arrive in time, or the ranks disagree."""


class DistNetworkError(DistError):
    """The rendezvous address could not be used (the port is taken, the host unreachable)."""


class ReduceOp:
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine the ranks' values."""

    class RedOpType(enum.IntEnum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8
        UNUSED = 9

        def __str__(self) -> str:  # PyTorch prints RedOpType.SUM (Python 3.11's IntEnum would print 0)
            return f"RedOpType.{self.name}"

        def __format__(self, spec: str) -> str:  # f"{op}" as str(op)
            return format(str(self), spec)

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM


reduce_op = ReduceOp  # the deprecated spelling


class Backend(str):
    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    UNDEFINED = "undefined"


class ProcessGroup:
    """A set of ranks sharing an MPI communicator; ``ranks`` are their global ranks in group-rank order."""

    def __init__(self, comm, ranks: list[int], timeout: float) -> None:
        self._comm = comm
        self._ranks = ranks
        self._timeout = timeout
        self._check = os.environ.get("DYNAGRAD_DIST_CHECK", "1") != "0"

    def rank(self) -> int:
        return self._comm.Get_rank()

    def size(self) -> int:
        return self._comm.Get_size()

    def name(self) -> str:
        return _backend_name

    def __repr__(self) -> str:
        return f"ProcessGroup(backend=mpi, ranks={self._ranks})"


class _WorldMeta(type):
    @property
    def WORLD(cls) -> ProcessGroup | None:  # noqa: N802
        return _world


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` is the default group; ``new_group`` gives non-members ``NON_GROUP_MEMBER``."""

    NON_GROUP_MEMBER = -100


class group(metaclass=_WorldMeta):  # noqa: N801 - torch.distributed.group.WORLD
    pass


# -- set-up and tear-down ------------------------------------------------------------------------------------

def is_available() -> bool:
    """True when MPI (mpi4py) is installed: ``pip install "dynagrad[distributed]"``."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_gloo_available() -> bool:
    """True when ``init_process_group("gloo")`` works: dynagrad serves the gloo backend's name over MPI."""
    return is_available()


def is_nccl_available() -> bool:
    return False


def is_backend_available(backend: str) -> bool:
    """Whether ``init_process_group(backend)`` can work here: "gloo" (and "mpi", which dynagrad runs on)."""
    return str(backend).lower() in ("gloo", "mpi") and is_available()


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine: ``LOCAL_RANK`` (set by ``dynagrad launch`` and torchrun), else
    ``fallback_rank``."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
                       "and want the code to run locally instead.")


def is_torchelastic_launched() -> bool:
    """True in ranks started by torchrun's command line (``dynagrad.distributed.run``)."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    return _world is not None


def _seconds(timeout) -> float:
    if timeout is None:
        return float(os.environ.get("DYNAGRAD_DIST_TIMEOUT", _DEFAULT_TIMEOUT))
    return timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)


def _check_backend(backend) -> str:
    """The backend name ``get_backend`` reports; PyTorch's CPU build errors for the others."""
    if backend is None:
        return Backend.GLOO
    spec = str(backend).lower()
    names = [part.split(":")[-1] for part in spec.split(",")]
    cpu = next((part.split(":")[-1] for part in spec.split(",") if part.startswith("cpu:")), names[0])
    for n in names:
        if n not in ("mpi", "gloo", "nccl", "ucc", "xccl"):
            raise AssertionError(f"Unknown backend type {n}")
    if cpu == "nccl" or (len(names) == 1 and names[0] == "nccl"):
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    if cpu in ("ucc", "xccl"):
        raise RuntimeError(f"Distributed package doesn't have {cpu.upper()} built in")
    return cpu


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    return None if v in (None, "") else int(v)


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the job's other processes; every collective then runs over MPI. ``backend`` 'gloo' and 'mpi' both
    mean MPI ('nccl' raises as on PyTorch's CPU build).

    Started by an MPI launcher (``dynagrad launch -n N script.py``, ``mpiexec``), rank and world size come
    from it. Otherwise (``mp.spawn``, ``multiprocessing.Process``, separate shells) the processes meet at
    ``init_method`` (``env://`` = ``MASTER_ADDR``/``MASTER_PORT``, the default; ``tcp://host:port``;
    ``file:///path``) with ``rank`` and ``world_size`` given or from ``RANK``/``WORLD_SIZE``, and become
    one MPI job (``_rendezvous.py``). ``timeout`` bounds the rendezvous and every collective (default
    30 min, or ``DYNAGRAD_DIST_TIMEOUT`` seconds).

    >>> import dynagrad.distributed as dist
    >>> dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29500", rank=r, world_size=2)  # doctest: +SKIP
    >>> dist.get_rank(), dist.get_world_size()      # doctest: +SKIP
    (0, 2)
    """
    global _world, _backend_name
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = _check_backend(backend)
    if store is not None:
        raise ValueError("dynagrad.distributed meets the other ranks through init_method (env://, tcp://, "
                         "file://), not a Store object")
    limit = _seconds(timeout)
    asked = world_size if world_size not in (None, -1) else _env_int("WORLD_SIZE")
    me_asked = rank if rank not in (None, -1) else _env_int("RANK")
    launched = _launched_size()
    if launched is None and _MPI is None:
        if asked not in (None, 1):
            if me_asked is None:
                how = "env://" if init_method is None or init_method.startswith("env://") else \
                    init_method.split("://")[0] + "://"
                raise ValueError(f"Error initializing torch.distributed using {how} rendezvous: environment "
                                 "variable RANK expected, but not set")
            from . import _rendezvous
            _rendezvous.join(me_asked, asked, init_method, limit)
        else:
            from . import _rendezvous
            _rendezvous.singleton()
    MPI = _mpi()
    comm, req = MPI.COMM_WORLD.Idup()  # nonblocking, so a rank that never arrives is a timeout, not a hang
    _poll([req], None, "init_process_group", limit)
    size, me = comm.Get_size(), comm.Get_rank()
    asked = size if asked is None else asked
    if asked != size:
        comm.Free()
        if launched is None:
            raise ValueError(f"init_process_group: world size {asked} was asked for, but MPI was already started "
                             f"in this process as a job of {size}")
        raise ValueError(f"init_process_group: world size {asked} was asked for, but the MPI launcher "
                         f"started {size} process(es); start the job with "
                         f"`dynagrad launch -n {asked} script.py`")
    if rank not in (None, -1) and rank != me:
        comm.Free()
        raise ValueError(f"init_process_group(rank={rank}) but MPI gave this process rank {me}; dynagrad "
                         "takes ranks from the MPI launcher")
    _world = ProcessGroup(comm, list(range(size)), limit)
    _backend_name = name if backend is not None else Backend.MPI if launched else Backend.GLOO
    if size > 1:
        _install_excepthook()


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free ``group`` (every group, and the default one, when None). MPI itself stays up until exit."""
    global _world
    if group is None and _world is None:
        raise AssertionError("Process group cannot be None")  # PyTorch's message, for a group never made
    targets = list(_groups) + ([_world] if _world is not None else []) if group is None else [group]
    for g in targets:
        if isinstance(g, ProcessGroup) and g._comm is not None:
            g._comm.Free()
            g._comm = None
        if g in _groups:
            _groups.remove(g)
    if group is None or group is _world:
        _world = None


def new_group(ranks=None, timeout: datetime.timedelta | None = None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None):
    """A group of some ranks (sorted global ranks); non-members get ``GroupMember.NON_GROUP_MEMBER``."""
    w = _group(None)
    ranks = sorted(int(r) for r in ranks) if ranks is not None else list(range(w.size()))
    if any(r < 0 or r >= w.size() for r in ranks):
        raise ValueError(f"new_group: ranks {ranks} must lie in [0, {w.size() - 1}]")
    if w.rank() not in ranks:
        return GroupMember.NON_GROUP_MEMBER
    comm = w._comm.Create_group(w._comm.Get_group().Incl(ranks))
    g = ProcessGroup(comm, ranks, w._timeout if timeout is None else _seconds(timeout))
    _groups.append(g)
    return g


def _group(group) -> ProcessGroup | None:
    """The ProcessGroup to use, or None when this rank is not a member (the call is then a no-op)."""
    if group is None:
        if _world is None:
            raise ValueError("Default process group has not been initialized, please make sure to call "
                             "init_process_group.")
        return _world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if group._comm is None:
        raise ValueError("this process group has been destroyed")
    return group


def get_rank(group=None) -> int:
    g = _group(group)
    return -1 if g is None else g.rank()


def get_world_size(group=None) -> int:
    g = _group(group)
    return -1 if g is None else g.size()


def get_backend(group=None) -> str:
    """The backend ``init_process_group`` was given ('gloo' or 'mpi'; every one runs over MPI here)."""
    _group(group)
    return _backend_name


def get_process_group_ranks(group) -> list[int]:
    return list(_group(group)._ranks)


def get_global_rank(group, group_rank: int) -> int:
    return _group(group)._ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    ranks = _group(group)._ranks
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return ranks.index(global_rank)


def _root(g: ProcessGroup, src, group_src, what: str) -> int:
    if group_src is not None:
        return int(group_src)
    if src is None:
        raise ValueError(f"{what}: pass the source/destination rank")
    return get_group_rank(g, int(src))


# -- waiting with a deadline ---------------------------------------------------------------------------------

def _poll(reqs, g: ProcessGroup, what: str, timeout=None) -> None:
    """Wait for MPI requests by testing them until done or until the group's timeout passes.

    Testing is what moves MPI's shared-memory transfers on, so the loop polls without sleeping (yielding the
    CPU to other processes after 2 ms); only after a second of waiting does it nap 1 ms between 1 ms bursts
    of polling, so a rank waiting on a slow peer does not burn a core yet a transfer still proceeds.
    """
    testall = _MPI.Request.Testall
    if testall(reqs):
        return
    limit = g._timeout if timeout is None else _seconds(timeout)
    start = time.monotonic()
    nap_at = start + 1.0
    while not testall(reqs):
        now = time.monotonic()
        if now - start > limit:
            raise DistBackendError(
                f"dynagrad.distributed.{what} timed out after {limit:g} s on rank {_global_rank()} of "
                f"{_MPI.COMM_WORLD.Get_size()}: another rank has probably failed, exited or not reached this "
                "call (set the limit with init_process_group(timeout=datetime.timedelta(...)) or "
                "DYNAGRAD_DIST_TIMEOUT=seconds)")
        if now >= nap_at:
            time.sleep(1e-3)
            nap_at = time.monotonic() + 1e-3
        elif now - start > 0.002:
            os.sched_yield()


class Work:
    """The handle an ``async_op=True`` collective returns: ``wait()``, ``is_completed()``, ``result()``.

    The output tensors hold the result once ``wait()`` returns or ``is_completed()`` says True.
    """

    def __init__(self, g: ProcessGroup, what: str, reqs: list, finish=None, result=()) -> None:
        self._g, self._what, self._reqs, self._finish, self._result = g, what, reqs, finish, result
        self._done = False

    def _complete(self) -> None:
        self._done = True
        self._reqs = []
        if self._finish is not None:
            self._finish()
            self._finish = None

    def is_completed(self) -> bool:
        if not self._done and _MPI.Request.Testall(self._reqs):
            self._complete()
        return self._done

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        if not self._done:
            _poll(self._reqs, self._g, self._what, timeout)
            self._complete()
        return True

    synchronize = wait

    def is_success(self) -> bool:
        return self._done

    def exception(self):
        return None

    def result(self) -> list[Tensor]:
        self.wait()
        return list(self._result)

    def get_future(self) -> _Future:
        return _Future(self)

    def __repr__(self) -> str:
        return f"<Work {self._what} {'completed' if self._done else 'pending'}>"


class _Future:
    """A small ``torch.futures.Future`` over a Work: ``wait()`` / ``value()`` / ``done()`` / ``then()``."""

    def __init__(self, work: Work) -> None:
        self._work = work

    def done(self) -> bool:
        return self._work.is_completed()

    def wait(self):
        return self._work.result()

    value = wait

    def then(self, fn):
        fut = self

        class _Then(_Future):
            def wait(self):
                return fn(fut)
            value = wait
        return _Then(self._work)


def _run(g, what, reqs, finish=None, async_op=False, result=()):
    w = Work(g, what, reqs, finish, result)
    if async_op:
        return w
    w.wait()
    return None


# -- buffers -------------------------------------------------------------------------------------------------

def _contig(t: Tensor) -> np.ndarray:
    """``t``'s array when MPI can use it in place, else a contiguous copy (written back by ``_store``)."""
    a = t._data
    return a if a.flags.c_contiguous and a.flags.writeable else np.ascontiguousarray(a)


def _store(t: Tensor, a: np.ndarray) -> None:
    if a is not t._data:
        np.copyto(t._data, a.reshape(t._data.shape), casting="unsafe")
    t._vc[0] += 1


def _bytes(a: np.ndarray):
    """A contiguous array as raw bytes, for the collectives that only move data (any dtype)."""
    return [a.reshape(-1).view(np.uint8), _MPI.BYTE]


def _for_reduce(t: Tensor, op) -> np.ndarray:
    a = t._data
    if a.dtype.itemsize == 2 and a.dtype.kind not in "iu":  # float16, bfloat16: MPI has no such types
        return a.astype(np.float32)
    if op == ReduceOp.AVG and a.dtype.kind not in "fc":
        raise ValueError(f"ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
    return _contig(t)


def _mpi_op(op, dtype):
    MPI = _MPI
    if dtype == np.bool_:
        table = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                 ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                 ReduceOp.BXOR: MPI.LXOR}
    else:
        table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                 ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR,
                 ReduceOp.BXOR: MPI.BXOR}
    if op not in table:
        raise ValueError(f"dynagrad.distributed does not support {op!r}")
    return table[op]


def _avg(a: np.ndarray, op, n: int) -> None:
    if op == ReduceOp.AVG:
        a /= n


# -- the cross-rank check of shapes and dtypes ---------------------------------------------------------------

_WHAT = {}


def _code(s: str) -> int:
    c = zlib.crc32(s.encode())
    _WHAT[c] = s
    return c


def _check(g: ProcessGroup, what: str, t: Tensor | None, root: int = -1, op=-1, n: int = -1,
           shapes: bool = True) -> None:
    """Raise the same clear error on every rank when the ranks' calls do not match."""
    if not g._check or g.size() == 1:
        return
    meta = np.full(16, -1, np.int64)
    meta[0], meta[1], meta[2], meta[3] = _code(what), root, int(op), n
    if t is not None:
        a = t._data
        meta[4] = _code(str(t.dtype).replace("torch.", ""))
        if shapes:
            meta[5] = a.ndim
            meta[6:6 + min(a.ndim, 10)] = a.shape[:10]
    allm = np.empty((g.size(), 16), np.int64)
    _poll([g._comm.Iallgather(meta, allm)], g, what)
    if (allm == meta).all():
        return

    def desc(m):
        s = _WHAT.get(int(m[0]), "another collective")
        if m[4] != -1:
            shape = f" {m[6:6 + int(m[5])].tolist()}" if m[5] >= 0 else ""
            s += f"({_WHAT.get(int(m[4]), '?')}{shape})"
        if m[1] != -1:
            s += f" root {g._ranks[int(m[1])] if 0 <= m[1] < g.size() else int(m[1])}"
        if m[2] != -1:
            s += f" op {ReduceOp.RedOpType(int(m[2])).name}"
        if m[3] != -1:
            s += f" with {int(m[3])} tensors"
        return s
    calls = "; ".join(f"rank {g._ranks[i]}: {desc(m)}" for i, m in enumerate(allm))
    if len(set(allm[:, 0].tolist())) > 1:
        raise DistError(f"dynagrad.distributed.{what}: the ranks called different collectives ({calls})")
    raise DistError(f"dynagrad.distributed.{what}: the ranks' arguments do not match ({calls}); every rank "
                    "must pass tensors of the same shape and dtype and the same src/dst and op")


# -- collectives ---------------------------------------------------------------------------------------------

def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across ranks with ``op``, in place on every rank.

    >>> t = dynagrad.ones(3) * (dist.get_rank() + 1)    # doctest: +SKIP
    >>> dist.all_reduce(t); t                            # doctest: +SKIP
    tensor([3., 3., 3.])
    """
    g = _group(group)
    if g is None:
        return None
    _check(g, "all_reduce", tensor, op=op)
    a = _for_reduce(tensor, op)
    req = g._comm.Iallreduce(_MPI.IN_PLACE, a, _mpi_op(op, a.dtype))

    def finish():
        _avg(a, op, g.size())
        _store(tensor, a)
    return _run(g, "all_reduce", [req], finish, async_op, [tensor])


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy ``tensor`` from rank ``src`` to every rank, in place."""
    g = _group(group)
    if g is None:
        return None
    root = _root(g, src, group_src, "broadcast")
    _check(g, "broadcast", tensor, root=root)
    a = _contig(tensor)
    req = g._comm.Ibcast(_bytes(a), root=root)
    finish = (lambda: _store(tensor, a)) if g.rank() != root else None
    return _run(g, "broadcast", [req], finish, async_op, [tensor])


def reduce(tensor: Tensor, dst: int | None = None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """Combine ``tensor`` across ranks into rank ``dst``'s tensor (the others' are left as they were)."""
    g = _group(group)
    if g is None:
        return None
    root = _root(g, dst, group_dst, "reduce")
    _check(g, "reduce", tensor, root=root, op=op)
    a = _for_reduce(tensor, op)
    mine = g.rank() == root
    req = g._comm.Ireduce(_MPI.IN_PLACE if mine else a, a if mine else None, _mpi_op(op, a.dtype), root=root)

    def finish():
        if mine:
            _avg(a, op, g.size())
            _store(tensor, a)
    return _run(g, "reduce", [req], finish, async_op, [tensor])


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None, async_op: bool = False):
    """``tensor_list[i]`` becomes rank i's ``tensor``, on every rank."""
    g = _group(group)
    if g is None:
        return None
    _check(g, "all_gather", tensor, n=len(tensor_list))
    _same_shapes("all_gather", tensor_list, tensor, g.size())
    send = np.ascontiguousarray(tensor._data)
    recv = np.empty((g.size(),) + send.shape, send.dtype)
    req = g._comm.Iallgather(_bytes(send), _bytes(recv))

    def finish():
        for i, t in enumerate(tensor_list):
            _store_copy(t, recv[i])
    return _run(g, "all_gather", [req], finish, async_op, tensor_list)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None, async_op: bool = False):
    """Concatenate (along dim 0, or stacked) every rank's ``input_tensor`` into ``output_tensor``."""
    g = _group(group)
    if g is None:
        return None
    _check(g, "all_gather_into_tensor", input_tensor)
    _sizes("all_gather_into_tensor", output_tensor, input_tensor, g.size())
    send = np.ascontiguousarray(input_tensor._data)
    out = _contig(output_tensor)
    req = g._comm.Iallgather(_bytes(send), _bytes(out))
    return _run(g, "all_gather_into_tensor", [req], lambda: _store(output_tensor, out), async_op,
                [output_tensor])


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None,  # noqa: A002
                          async_op: bool = False):
    """Reduce ``input`` across ranks and give rank i the i-th of ``size`` equal chunks of it."""
    g = _group(group)
    if g is None:
        return None
    _check(g, "reduce_scatter_tensor", input, op=op)
    _sizes("reduce_scatter_tensor", input, output, g.size())
    return _reduce_scatter(g, "reduce_scatter_tensor", output, _for_reduce(input, op), op, async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op=ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """Reduce ``input_list[i]`` across ranks into rank i's ``output``."""
    g = _group(group)
    if g is None:
        return None
    _check(g, "reduce_scatter", output, op=op, n=len(input_list))
    _same_shapes("reduce_scatter", input_list, output, g.size())
    flat = np.stack([t._data for t in input_list])
    if flat.dtype.itemsize == 2 and flat.dtype.kind not in "iu":
        flat = flat.astype(np.float32)
    return _reduce_scatter(g, "reduce_scatter", output, flat, op, async_op)


def _reduce_scatter(g, what, output, send, op, async_op):
    recv = np.empty(output._data.shape, send.dtype)
    req = g._comm.Ireduce_scatter_block(send, recv, _mpi_op(op, send.dtype))

    def finish():
        _avg(recv, op, g.size())
        _store_copy(output, recv)
    return _run(g, what, [req], finish, async_op, [output])


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Rank ``dst`` receives every rank's ``tensor`` into ``gather_list``."""
    g = _group(group)
    if g is None:
        return None
    root = _root(g, dst if dst is not None or group_dst is not None else 0, group_dst, "gather")
    _check(g, "gather", tensor, root=root)
    mine = g.rank() == root
    if mine:
        _same_shapes("gather", gather_list or [], tensor, g.size())
    send = np.ascontiguousarray(tensor._data)
    recv = np.empty((g.size(),) + send.shape, send.dtype) if mine else None
    req = g._comm.Igather(_bytes(send), _bytes(recv) if mine else None, root=root)

    def finish():
        if mine:
            for i, t in enumerate(gather_list):
                _store_copy(t, recv[i])
    return _run(g, "gather", [req], finish, async_op, gather_list or [])


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None, group=None,
            async_op: bool = False, group_src: int | None = None):
    """Rank ``src`` sends ``scatter_list[i]`` to rank i, which receives it into ``tensor``."""
    g = _group(group)
    if g is None:
        return None
    root = _root(g, src if src is not None or group_src is not None else 0, group_src, "scatter")
    _check(g, "scatter", tensor, root=root)
    mine = g.rank() == root
    if mine:
        _same_shapes("scatter", scatter_list or [], tensor, g.size())
        send = np.stack([t._data for t in scatter_list])
    out = _contig(tensor)
    req = g._comm.Iscatter(_bytes(send) if mine else None, _bytes(out), root=root)
    return _run(g, "scatter", [req], lambda: _store(tensor, out), async_op, [tensor])


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes=None,  # noqa: A002
                      input_split_sizes=None, group=None, async_op: bool = False):
    """Split ``input`` along dim 0 and send piece i to rank i; ``output`` gathers what each rank sent."""
    g = _group(group)
    if g is None:
        return None
    _check(g, "all_to_all_single", input, shapes=False)
    n = g.size()
    send = np.ascontiguousarray(input._data)
    out = _contig(output)
    row_in = send[0].nbytes if send.ndim and len(send) else 0
    row_out = out[0].nbytes if out.ndim and len(out) else 0
    ins = list(input_split_sizes) if input_split_sizes else [len(send) // n] * n
    outs = list(output_split_sizes) if output_split_sizes else [len(out) // n] * n
    if sum(ins) != len(send) or sum(outs) != len(out):
        raise ValueError("all_to_all_single: the split sizes must add up to the tensors' first dimension")
    sc, rc = [s * row_in for s in ins], [s * row_out for s in outs]
    req = g._comm.Ialltoallv([send.reshape(-1).view(np.uint8), (sc, _displs(sc)), _MPI.BYTE],
                             [out.reshape(-1).view(np.uint8), (rc, _displs(rc)), _MPI.BYTE])
    return _run(g, "all_to_all_single", [req], lambda: _store(output, out), async_op, [output])


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor], group=None,
               async_op: bool = False):
    """Send ``input_tensor_list[i]`` to rank i; receive rank i's into ``output_tensor_list[i]``."""
    g = _group(group)
    if g is None:
        return None
    _check(g, "all_to_all", None, n=len(input_tensor_list))
    send = np.concatenate([np.ascontiguousarray(t._data).reshape(-1).view(np.uint8)
                           for t in input_tensor_list])
    rc = [t._data.nbytes for t in output_tensor_list]
    sc = [t._data.nbytes for t in input_tensor_list]
    recv = np.empty(sum(rc), np.uint8)
    req = g._comm.Ialltoallv([send, (sc, _displs(sc)), _MPI.BYTE], [recv, (rc, _displs(rc)), _MPI.BYTE])

    def finish():
        for t, off, c in zip(output_tensor_list, _displs(rc), rc):
            _store_copy(t, recv[off:off + c].view(t._data.dtype).reshape(t._data.shape))
    return _run(g, "all_to_all", [req], finish, async_op, output_tensor_list)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group has reached this call."""
    g = _group(group)
    if g is None:
        return None
    return _run(g, "barrier", [g._comm.Ibarrier()], None, async_op)


def monitored_barrier(group=None, timeout: datetime.timedelta | None = None, wait_all_ranks: bool = False):
    g = _group(group)
    if g is not None:
        _poll([g._comm.Ibarrier()], g, "monitored_barrier", timeout)


# -- point to point ------------------------------------------------------------------------------------------

def isend(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    g = _group(group)
    if g is None:
        return None
    a = np.ascontiguousarray(tensor._data)
    return Work(g, "send", [g._comm.Isend(_bytes(a), dest=_root(g, dst, group_dst, "send"), tag=tag)])


def send(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    w = isend(tensor, dst, group, tag, group_dst)
    if w is not None:
        w.wait()


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a Work."""
    g = _group(group)
    if g is None:
        return None
    source = _MPI.ANY_SOURCE if src is None and group_src is None else _root(g, src, group_src, "recv")
    out = _contig(tensor)
    return Work(g, "recv", [g._comm.Irecv(_bytes(out), source=source, tag=tag)], lambda: _store(tensor, out))


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's rank. A message
    whose size differs from ``tensor``'s is an error naming both."""
    g = _group(group)
    if g is None:
        return -1
    MPI = _MPI
    source = MPI.ANY_SOURCE if src is None and group_src is None else _root(g, src, group_src, "recv")
    status = MPI.Status()
    start = time.monotonic()
    while not g._comm.Iprobe(source=source, tag=tag, status=status):
        if time.monotonic() - start > g._timeout:
            raise DistBackendError(f"dynagrad.distributed.recv timed out after {g._timeout:g} s on rank "
                                   f"{_global_rank()}: no message from rank {src} arrived")
        time.sleep(1e-4)
    sender = status.Get_source()
    out = _contig(tensor)
    got = status.Get_count(MPI.BYTE)
    if got != out.nbytes:
        raise DistError(f"dynagrad.distributed.recv: rank {g._ranks[sender]} sent {got} bytes but the "
                        f"receiving tensor ({tensor.dtype}, {list(tensor.shape)}) holds {out.nbytes}")
    _poll([g._comm.Irecv(_bytes(out), source=sender, tag=tag)], g, "recv")
    _store(tensor, out)
    return g._ranks[sender]


# -- Python objects (pickled: only for the job's own ranks, which trust each other) -------------------------

def _gather_bytes(g: ProcessGroup, data: bytes, what: str) -> list[bytes]:
    mine = np.frombuffer(data, np.uint8)
    sizes = np.empty(g.size(), np.int64)
    _poll([g._comm.Iallgather(np.array([mine.size], np.int64), sizes)], g, what)
    counts = sizes.tolist()
    recv = np.empty(sum(counts), np.uint8)
    _poll([g._comm.Iallgatherv(mine, [recv, (counts, _displs(counts)), _MPI.BYTE])], g, what)
    return [recv[o:o + c].tobytes() for o, c in zip(_displs(counts), counts)]


def all_gather_object(object_list: list, obj, group=None) -> None:
    """``object_list[i]`` becomes rank i's ``obj`` (pickled)."""
    g = _group(group)
    if g is None:
        return
    for i, b in enumerate(_gather_bytes(g, pickle.dumps(obj), "all_gather_object")):
        object_list[i] = pickle.loads(b)  # noqa: S301 - from this job's own ranks


def broadcast_object_list(object_list: list, src: int | None = None, group=None, device=None,
                          group_src: int | None = None) -> None:
    """Rank ``src``'s ``object_list`` replaces every rank's (pickled)."""
    g = _group(group)
    if g is None:
        return
    root = _root(g, 0 if src is None and group_src is None else src, group_src, "broadcast_object_list")
    data = pickle.dumps(list(object_list)) if g.rank() == root else b""
    n = np.array([len(data)], np.int64)
    _poll([g._comm.Ibcast(n, root=root)], g, "broadcast_object_list")
    buf = np.frombuffer(data, np.uint8).copy() if g.rank() == root else np.empty(int(n[0]), np.uint8)
    _poll([g._comm.Ibcast(buf, root=root)], g, "broadcast_object_list")
    object_list[:] = pickle.loads(buf.tobytes())  # noqa: S301 - from this job's own ranks


def gather_object(obj, object_gather_list: list | None = None, dst: int | None = None, group=None,
                  group_dst: int | None = None) -> None:
    """On rank ``dst``, ``object_gather_list[i]`` becomes rank i's ``obj`` (pickled); other ranks pass None."""
    g = _group(group)
    if g is None:
        return
    root = _root(g, 0 if dst is None and group_dst is None else dst, group_dst, "gather_object")
    parts = _gather_bytes(g, pickle.dumps(obj), "gather_object")  # the objects are small: one allgatherv
    if g.rank() == root:
        # checked after the collective, so that the other ranks are not left waiting for this one
        if not isinstance(object_gather_list, list) or len(object_gather_list) < g.size():
            raise ValueError(f"gather_object: on the destination rank, object_gather_list must be a list of "
                             f"{g.size()} (the group's size) to receive the objects")
        for i, b in enumerate(parts):
            object_gather_list[i] = pickle.loads(b)  # noqa: S301 - from this job's own ranks


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list: list | None = None,
                        src: int | None = None, group=None, group_src: int | None = None) -> None:
    """Rank i's ``scatter_object_output_list[0]`` becomes rank ``src``'s ``scatter_object_input_list[i]``."""
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    g = _group(group)
    if g is None:
        return
    root = _root(g, 0 if src is None and group_src is None else src, group_src, "scatter_object_list")
    bad = g.rank() == root and (not isinstance(scatter_object_input_list, (list, tuple))
                                or len(scatter_object_input_list) != g.size())
    if g.rank() == root and not bad:
        parts = [pickle.dumps(o) for o in scatter_object_input_list]
        counts = [len(b) for b in parts]
        send = [np.frombuffer(b"".join(parts), np.uint8), (counts, _displs(counts)), _MPI.BYTE]
    else:
        counts, send = [-1 if bad else 0] * g.size(), None  # -1: the source's input was wrong
    n = np.empty(1, np.int64)
    _poll([g._comm.Iscatter(np.array(counts, np.int64) if g.rank() == root else None, n, root=root)], g,
          "scatter_object_list")
    if n[0] < 0:  # every rank raises, rather than the others waiting for the source
        raise ValueError(f"scatter_object_list: on the source rank (group rank {root}), "
                         f"scatter_object_input_list must hold {g.size()} objects (one per rank of the group)")
    buf = np.empty(int(n[0]), np.uint8)
    _poll([g._comm.Iscatterv(send, buf, root=root)], g, "scatter_object_list")
    scatter_object_output_list[0] = pickle.loads(buf.tobytes())  # noqa: S301 - from this job's own ranks


# -- helpers -------------------------------------------------------------------------------------------------

def _displs(counts) -> list[int]:
    out, s = [], 0
    for c in counts:
        out.append(s)
        s += c
    return out


def _store_copy(t: Tensor, a: np.ndarray) -> None:
    np.copyto(t._data, a.reshape(t._data.shape), casting="unsafe")
    t._vc[0] += 1


def _same_shapes(what: str, tensors: list, like: Tensor, n: int) -> None:
    if len(tensors) != n:
        raise ValueError(f"{what}: the list must hold one tensor per rank ({n}), got {len(tensors)}")
    for i, t in enumerate(tensors):
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{what}: tensor {i} of the list is {t.dtype} {list(t.shape)}, but the tensor "
                             f"is {like.dtype} {list(like.shape)}; they must match")


def _sizes(what: str, big: Tensor, small: Tensor, n: int) -> None:
    if big.numel() != n * small.numel() or big.dtype != small.dtype:
        raise ValueError(f"{what}: the large tensor ({big.dtype} {list(big.shape)}) must hold world size "
                         f"({n}) times the small one ({small.dtype} {list(small.shape)})")


def _broadcast_coalesced(tensors: list[Tensor], g: ProcessGroup, root: int = 0,
                         what: str = "broadcast") -> None:
    """Broadcast many tensors from group rank ``root`` as one flat message per dtype."""
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for ts in by_dtype.values():
        flat = np.concatenate([t._data.reshape(-1) for t in ts]) if g.rank() == root else \
            np.empty(sum(t._data.size for t in ts), ts[0]._data.dtype)
        _poll([g._comm.Ibcast(_bytes(flat), root=root)], g, what)
        if g.rank() != root:
            off = 0
            for t in ts:
                _store_copy(t, flat[off:off + t._data.size])
                off += t._data.size


# -- a failed rank ends the job ------------------------------------------------------------------------------

def _global_rank() -> int:
    if _MPI is not None and _MPI.Is_initialized() and not _MPI.Is_finalized():
        return _MPI.COMM_WORLD.Get_rank()
    return int(os.environ.get("PMI_RANK", os.environ.get("RANK", 0)))


def _abort_job(reason: str, code: int = 1) -> None:
    """Say which rank failed, then end every rank of the job (MPI_Abort) with exit code ``code``.

    A job of one process is left to exit as usual."""
    size = int(os.environ.get("PMI_SIZE", os.environ.get("WORLD_SIZE", 1)))
    if _MPI is not None and _MPI.Is_initialized() and not _MPI.Is_finalized():
        size = _MPI.COMM_WORLD.Get_size()
    if size <= 1:
        return
    reason = reason.strip().splitlines()[0][:300] if reason.strip() else reason
    sys.stderr.write(f"dynagrad.distributed: rank {_global_rank()} (of {size}) failed: {reason}; "
                     "aborting all ranks\n")
    sys.stderr.flush()
    sys.stdout.flush()
    time.sleep(0.3)  # let the launcher forward this output before MPI_Abort tears the job down
    MPI = _mpi()
    if not MPI.Is_finalized():
        MPI.COMM_WORLD.Abort(code)
    os._exit(code)


_prev_hook = None


def _install_excepthook() -> None:
    global _prev_hook
    if _prev_hook is not None:
        return
    _prev_hook = sys.excepthook

    def hook(tp, value, tb):
        _prev_hook(tp, value, tb)
        if issubclass(tp, KeyboardInterrupt):
            _abort_job("interrupted", 130)
        _abort_job(f"{tp.__name__}: {value}")
    sys.excepthook = hook
