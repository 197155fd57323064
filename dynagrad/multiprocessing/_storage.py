"""Shared memory for tensors: the segments ``Tensor.share_memory_()`` moves a tensor's memory into, and how
another process attaches to the same segment.

A segment is one ``mmap`` (MAP_SHARED) that tensors' NumPy arrays are built on (``np.ndarray(buffer=mm)``),
so a tensor is shared exactly when its array's base chain ends in a registered ``mmap``. Two strategies, as
``torch.multiprocessing`` has them:

* ``file_descriptor`` (the default on Linux): an anonymous ``memfd`` (or a POSIX shm object unlinked at
  once). It has no name, so nothing can leak: the memory goes when the last process holding the fd or a
  mapping lets go. Other processes receive the fd itself (multiprocessing's ``DupFd``: passed to a spawned
  child at start, or over a Unix socket by its resource sharer), and every process keeps one fd per segment.
* ``file_system``: a named POSIX shm object (``/dev/shm/dynagrad_<pid>_<hex>``), opened by name. A header
  page lists the processes mapping it and counts the transfers under way (updated under ``flock``); the
  last process to let go, when nothing is in transit, unlinks it. Processes that died without letting go
  (killed) are dropped from the list by the next one that checks; if the last one dies that way,
  multiprocessing's resource tracker (told of every name) unlinks it when the program ends.

Moving a tensor into shared memory copies its whole storage (the outermost NumPy array its array views) and
re-points the tensor, and its ``_base``, at the copy; other tensors viewing the old memory keep it (PyTorch
moves the storage itself, so there every view follows).
"""
from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import struct
import sys
import threading
import weakref
from multiprocessing import util

import numpy as np

_STRATEGIES = ("file_descriptor", "file_system")
strategy = "file_descriptor"

_HEADER = 4096  # file_system segments: transfers in transit, number of holders, holders' pids (int64s)
_MAX_HOLDERS = _HEADER // 8 - 2
_lock = threading.Lock()
_segments: dict[int, _Segment] = {}  # id(mmap) -> its segment, for every segment this process maps
_by_key: dict = {}  # (st_ino, st_dev) or name -> weakref to the mmap, so a segment is mapped once
_forward: dict = {}  # id(array whose memory was moved) -> (weakref to it, weakref to the mmap it moved to)


class _Segment:
    __slots__ = ("fd", "name", "size", "key", "addr", "start")

    def __init__(self, fd, name, size, key, start):
        self.fd, self.name, self.size, self.key, self.start = fd, name, size, key, start
        self.addr = 0


try:
    import _posixshmem
except ImportError:  # pragma: no cover - not CPython on a POSIX system
    _posixshmem = None


def _shm_open(name: str, flags: int) -> int:
    if _posixshmem is not None:
        return _posixshmem.shm_open(name, flags, 0o600)
    return os.open("/dev/shm" + name, flags, 0o600)


def _shm_unlink(name: str) -> None:
    try:
        if _posixshmem is not None:
            _posixshmem.shm_unlink(name)
        else:
            os.unlink("/dev/shm" + name)
    except FileNotFoundError:
        pass


def _anonymous_fd(size: int) -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("dynagrad", os.MFD_CLOEXEC)
    else:  # pragma: no cover - macOS and others: a POSIX shm object, unlinked while open
        name = f"/dynagrad_{os.getpid()}_{secrets.token_hex(8)}"
        fd = _shm_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        _posixshmem.shm_unlink(name) if _posixshmem is not None else os.unlink("/dev/shm" + name)
    os.ftruncate(fd, size)
    return fd


def _fd_key(fd: int):
    st = os.fstat(fd)
    return (st.st_ino, st.st_dev)


def _register(mm: mmap.mmap, seg: _Segment) -> None:
    seg.addr = np.ndarray((1,), np.uint8, buffer=mm).__array_interface__["data"][0]
    with _lock:
        _segments[id(mm)] = seg
        _by_key[seg.key] = weakref.ref(mm)
    # multiprocessing's Finalize also runs in child processes, which leave through os._exit
    util.Finalize(mm, _release, args=(id(mm), seg), exitpriority=-100)


def _release(mid: int, seg: _Segment) -> None:
    with _lock:
        if _segments.get(mid) is seg:
            del _segments[mid]
        ref = _by_key.get(seg.key)
        if ref is not None and (ref() is None or id(ref()) == mid):
            del _by_key[seg.key]
    if seg.fd is not None:
        try:
            os.close(seg.fd)
        except OSError:
            pass
    else:
        _update(seg.name, holder=-1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _update(name: str, holder: int = 0, pending: int = 0) -> bool:
    """Under the segment's lock: add (+1) or remove (-1) this process as a holder, change the count of
    transfers in transit; unlink the segment when no live holder and no transfer remain.
    False when it no longer exists."""
    try:
        fd = _shm_open(name, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        head = np.frombuffer(os.pread(fd, _HEADER, 0), np.int64).copy()
        count = int(head[1])
        pids = [int(x) for x in head[2:2 + count]]
        me = os.getpid()
        if holder > 0 and me not in pids and len(pids) < _MAX_HOLDERS:
            pids.append(me)
        elif holder < 0:
            pids = [q for q in pids if q != me and _alive(q)]  # also forget holders that were killed
        head[0] += pending
        head[1] = len(pids)
        head[2:2 + len(pids)] = pids
        os.pwrite(fd, head[:2 + max(len(pids), count)].tobytes(), 0)
        if not pids and head[0] <= 0:
            _shm_unlink(name)
            from multiprocessing import resource_tracker
            try:
                resource_tracker.unregister(name, "shared_memory")
            except Exception:  # noqa: BLE001 - the tracker may be gone at interpreter exit
                pass
    finally:
        os.close(fd)  # also drops the lock
    return True


def start_tracker() -> None:
    """Start multiprocessing's resource tracker now, so that processes forked later share it (one that
    starts after a fork is the parent's alone, and the children would each start their own)."""
    from multiprocessing import resource_tracker
    resource_tracker.ensure_running()


def _track(name: str) -> None:
    """Tell multiprocessing's resource tracker: it unlinks the name at the end if nobody else did."""
    from multiprocessing import resource_tracker
    resource_tracker.register(name, "shared_memory")


def new_segment(nbytes: int) -> tuple[mmap.mmap, int]:
    """A new segment of at least ``nbytes`` (of the current strategy); the mmap and where data starts."""
    size = max(int(nbytes), 1)  # mmap cannot map 0 bytes; an empty tensor is still "shared", as in PyTorch
    if strategy == "file_descriptor":
        fd = _anonymous_fd(size)
        mm = mmap.mmap(fd, size)
        seg = _Segment(fd, None, size, _fd_key(fd), 0)
    else:
        name = f"/dynagrad_{os.getpid()}_{secrets.token_hex(8)}"
        fd = _shm_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        try:
            os.ftruncate(fd, _HEADER + size)
            os.pwrite(fd, struct.pack("qqq", 0, 1, os.getpid()), 0)
            mm = mmap.mmap(fd, _HEADER + size)
        finally:
            os.close(fd)
        _track(name)
        seg = _Segment(None, name, size, name, _HEADER)
    _register(mm, seg)
    return mm, seg.start


def segment_of(arr) -> tuple[mmap.mmap, _Segment] | None:
    """The segment ``arr`` lies in, or None when its memory is not shared."""
    b = arr
    while isinstance(b, np.ndarray):
        if b.base is None:
            return None
        b = b.base
    if type(b) is not mmap.mmap:
        return None
    seg = _segments.get(id(b))
    return None if seg is None else (b, seg)


def is_shared(arr) -> bool:
    return segment_of(arr) is not None


def byte_offset(arr, seg: _Segment) -> int:
    return arr.__array_interface__["data"][0] - seg.addr


def _bytes(mm: mmap.mmap, seg: _Segment) -> np.ndarray:
    """The segment's data as one uint8 array: the root of every array on it (so ``storage_offset`` works)."""
    return np.ndarray((seg.size,), np.uint8, buffer=mm, offset=seg.start)


def view(mm: mmap.mmap, seg: _Segment, dtype, shape, strides, offset: int) -> np.ndarray:
    """An array on the segment, ``offset`` bytes into it (counted from the start of the mmap)."""
    return np.ndarray(shape, dtype, buffer=_bytes(mm, seg), offset=offset - seg.start, strides=strides)


def share(t) -> None:
    """Move tensor ``t``'s memory into shared memory (a no-op when it is shared already).

    The whole storage (the outermost array ``t``'s array views) moves to a new segment, and every tensor on
    it is re-pointed there: ``t`` and its ``_base``, and, when something else holds the storage (found by
    its reference count), every other tensor viewing it (found by a scan of the garbage collector's
    objects). A storage moves once: arrays viewing it that were not tensors then, shared later, land in
    the same segment."""
    arr = t._data
    if segment_of(arr) is not None:
        return
    crowded = _viewed_elsewhere(t)
    root = _root_of(arr)
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        root = arr = np.ascontiguousarray(arr)  # memory we cannot describe: share this array's values alone
        crowded = False
    lo = root.__array_interface__["data"][0]
    with _lock:
        fw = _forward.get(id(root))
    mm = None
    if fw is not None and fw[0]() is root:
        mm = fw[1]()
    if mm is None:
        mm, _ = new_segment(root.nbytes)
        data = _bytes(mm, _segments[id(mm)])
        np.ndarray(root.shape, root.dtype, buffer=data, strides=root.strides)[...] = root
        rid = id(root)
        with _lock:
            _forward[rid] = (weakref.ref(root, lambda _, rid=rid: _forward.pop(rid, None)), weakref.ref(mm))
    else:
        data = _bytes(mm, _segments[id(mm)])

    def moved(a):
        return np.ndarray(a.shape, a.dtype, buffer=data, offset=a.__array_interface__["data"][0] - lo,
                          strides=a.strides)

    if crowded:
        import gc

        from ..tensor import Tensor
        for o in gc.get_objects():
            if isinstance(o, Tensor) and o is not t:
                a = getattr(o, "_data", None)
                if a is root or (isinstance(a, np.ndarray) and a.base is root):
                    o._data = moved(a)
    else:
        base = getattr(t, "_base", None)
        if base is not None and base._data is not arr and _root_of(base._data) is root:
            base._data = moved(base._data)
    t._data = moved(arr)


def _viewed_elsewhere(t) -> bool:
    """Whether anything but ``t`` and its ``_base`` holds ``t``'s storage (other tensors or arrays on it)."""
    base = getattr(t, "_base", None)
    mine = [t._data] if base is None or base._data is t._data else [t._data, base._data]
    root = _root_of(mine[0])
    if base is not None and _root_of(mine[-1]) is not root:
        mine = mine[:1]
    # `root` here and getrefcount's argument; for root itself its slot and this list, for a view its .base
    expected = 2 + sum(2 if a is root else int(a.base is root) for a in mine)
    return sys.getrefcount(root) > expected


def _root_of(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


# -- handles: how a segment travels to another process --------------------------------------------------------

def handle(seg: _Segment):
    """What a pickle carries to name ``seg`` in another process."""
    if seg.fd is not None:
        from multiprocessing.reduction import DupFd
        return ("fd", DupFd(seg.fd), seg.size)
    if not _update(seg.name, pending=1):
        raise RuntimeError(f"shared memory segment {seg.name} no longer exists")
    return ("fs", seg.name, seg.size)


def attach(h) -> tuple[mmap.mmap, _Segment]:
    """The mmap of the segment named by handle ``h`` (mapped once per process) and its segment."""
    kind, what, size = h
    if kind == "fd":
        fd = what.detach()
        key = _fd_key(fd)
        with _lock:
            ref = _by_key.get(key)
            mm = ref() if ref is not None else None
        if mm is not None:
            os.close(fd)
            return mm, _segments[id(mm)]
        mm = mmap.mmap(fd, size)
        seg = _Segment(fd, None, size, key, 0)
        _register(mm, seg)
        return mm, seg
    name = what
    with _lock:
        ref = _by_key.get(name)
        mm = ref() if ref is not None else None
    if mm is not None:
        _update(name, pending=-1)
        return mm, _segments[id(mm)]
    try:
        fd = _shm_open(name, os.O_RDWR)
    except FileNotFoundError:
        raise RuntimeError(f"shared memory {name} was released before this process received it; keep the "
                           "tensor alive in the sending process until it has been received") from None
    try:
        mm = mmap.mmap(fd, _HEADER + size)
    finally:
        os.close(fd)
    _update(name, holder=1, pending=-1)
    _track(name)
    seg = _Segment(None, name, size, name, _HEADER)
    _register(mm, seg)
    return mm, seg
