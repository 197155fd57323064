"""``dynagrad.multiprocessing``: Python's ``multiprocessing`` with tensors shared between processes, as
``torch.multiprocessing``.

Everything of ``multiprocessing`` is here (``Process``, ``Pool``, ``Queue``, ``SimpleQueue``,
``JoinableQueue``, ``Pipe``, ``get_context``, ``set_start_method``, ``cpu_count``, ...). Importing this module
registers the tensor reducers (``reductions.py``): a tensor put on a queue or passed to a spawned process is
moved into shared memory and arrives on the same memory. ``Tensor.share_memory_()`` and
``Module.share_memory()`` move tensors there ahead of time (Hogwild training: every process updates one
model). ``spawn(fn, args, nprocs)`` runs ``fn(i, *args)`` in ``nprocs`` processes with PyTorch's error
propagation.

>>> import dynagrad, dynagrad.multiprocessing as mp
>>> t = dynagrad.zeros(3).share_memory_()
>>> t.is_shared(), mp.get_sharing_strategy()
(True, 'file_descriptor')
"""
from __future__ import annotations

import multiprocessing
import sys
from multiprocessing import *  # noqa: F403

from . import _storage
from .reductions import init_reductions
from .spawn import (
    ENV_VAR_PARALLEL_START,
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

try:  # loaded now so that a child forked while a queue's feeder thread pickles does not inherit it half-made
    import multiprocessing.resource_sharer  # noqa: F401
except ImportError:  # pragma: no cover
    pass

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"] + list(
    multiprocessing.__all__)

if sys.platform in ("darwin", "win32"):
    _all_sharing_strategies = {"file_system"}
    _storage.strategy = "file_system"
    _storage.start_tracker()
else:
    _all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy: str) -> None:
    """How tensors are shared from now on: ``'file_descriptor'`` (Linux's default: anonymous memory whose
    file descriptor is passed on; nothing can leak) or ``'file_system'`` (named shared-memory files)."""
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{_all_sharing_strategies}")
    _storage.strategy = new_strategy
    if new_strategy == "file_system":
        _storage.start_tracker()


def get_sharing_strategy() -> str:
    """The current strategy for sharing tensors."""
    return _storage.strategy


def get_all_sharing_strategies() -> set[str]:
    """The strategies this system supports."""
    return set(_all_sharing_strategies)


init_reductions()
