"""``torch._C``: PyTorch's compiled core. dynagrad has none; this private module holds only the few names of it
that libraries call, each doing what PyTorch's CPU build does.

- ``_log_api_usage_once(event)``: PyTorch's API-usage log, which torchmetrics calls from every metric's
  ``__init__``. PyTorch writes ``PYTORCH_API_USAGE <event>`` to stderr once per event name when the
  environment variable ``PYTORCH_API_USAGE_STDERR`` is set, and nothing otherwise; so does this.

>>> import dynagrad as torch
>>> torch._C._log_api_usage_once("my.library.event")
"""
from __future__ import annotations

import os
import sys

_logged: set[str] = set()


def _log_api_usage_once(event: str) -> None:
    if not isinstance(event, str):
        raise TypeError(f"_log_api_usage_once(): argument 'event' must be str, not {type(event).__name__}")
    if event in _logged:
        return
    _logged.add(event)
    if os.environ.get("PYTORCH_API_USAGE_STDERR"):
        print(f"PYTORCH_API_USAGE {event}", file=sys.stderr)
