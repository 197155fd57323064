"""``torch.fx.experimental.proxy_tensor.get_proxy_mode``: the active ``make_fx`` tracing mode, or None.

dynagrad has no ``make_fx`` (its fx traces Modules with Proxies, and ``dynagrad.compile`` traces on its own),
so no such mode is ever active. Libraries (kornia) call this to decide whether they may read tensor values.

>>> from dynagrad.fx.experimental.proxy_tensor import get_proxy_mode
>>> get_proxy_mode() is None
True
"""
from __future__ import annotations

__all__ = ["get_proxy_mode"]


def get_proxy_mode():
    """None: no ``make_fx`` trace is running (dynagrad has none)."""
    return None
