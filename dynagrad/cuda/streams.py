"""``torch.cuda.Stream`` and ``torch.cuda.Event``: PyTorch's CPU build defines them and refuses to create them.

>>> import dynagrad
>>> try:
...     dynagrad.cuda.Event(enable_timing=True)
... except RuntimeError as e:
...     print(str(e).split(" (")[0])
Tried to instantiate dummy base class Event
"""
from __future__ import annotations

from typing import Any

from ._errors import dummy_class

__all__ = ["Stream", "ExternalStream", "Event"]


class Stream:
    """A CUDA stream; there are none here."""

    def __new__(cls, device: Any = None, priority: int = 0, **kwargs: Any):
        raise RuntimeError("torch.cuda.Stream requires CUDA support (dynagrad computes on the CPU only, so "
                           "torch.cuda.is_available() is False)")


class ExternalStream(Stream):
    def __new__(cls, stream_ptr: int, device: Any = None, **kwargs: Any):
        return super().__new__(cls, device)


class Event:
    """A CUDA event (timing, synchronisation); there are none here."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                 external: bool = False) -> None:
        raise dummy_class("Event")
