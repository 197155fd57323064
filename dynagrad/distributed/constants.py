"""``torch.distributed.constants``: the default timeouts of process groups, as ``datetime.timedelta``.

>>> from dynagrad.distributed.constants import default_pg_timeout
>>> default_pg_timeout
datetime.timedelta(seconds=1800)
"""
from datetime import timedelta

from .distributed_c10d import _DEFAULT_TIMEOUT

__all__ = ["default_pg_nccl_timeout", "default_pg_timeout"]

default_pg_timeout = timedelta(seconds=_DEFAULT_TIMEOUT)  # what init_process_group waits by default
default_pg_nccl_timeout = None  # no NCCL in a CPU build, as in PyTorch's CPU wheel
