"""Keep freed memory in the process: big NumPy temporaries then reuse pages instead of faulting in new ones.

glibc returns large freed blocks to the kernel (``munmap``, or trimming the heap top), so every large
temporary of a training step (im2col patches, activations, gradients) is a fresh mapping whose pages fault
in, zero-filled, on first touch. On this kind of machine those faults cost as much as the arithmetic of a
small ConvNet step. Raising glibc's mmap and trim thresholds makes such blocks come from, and go back to,
the heap, as a caching allocator would. Set ``DYNAGRAD_MALLOC_TUNING=0`` to leave malloc alone.
"""
from __future__ import annotations

import os
import sys

_done = False


def tune_malloc() -> bool:
    """Apply the thresholds once (glibc on Linux only); returns whether they are in force."""
    global _done
    if _done or os.environ.get("DYNAGRAD_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return _done
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20) == 1  # 32 MiB: glibc's largest allowed value
        ok &= libc.mallopt(m_trim_threshold, 1 << 30) == 1
        ok &= libc.mallopt(m_top_pad, 64 << 20) == 1
        _done = bool(ok)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        _done = False
    return _done
