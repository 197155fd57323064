"""``torch.distributed.elastic.multiprocessing.errors``: ``@record`` on a rank's entry point writes the
exception that ends it to ``TORCHELASTIC_ERROR_FILE`` (as JSON, in torchelastic's format) when that variable
names a file, and re-raises it; ``SystemExit(0)`` becomes a normal return, as in PyTorch."""
from __future__ import annotations

import functools
import json
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["ErrorHandler", "get_error_handler", "record"]


class ErrorHandler:
    """Writes an exception, with its traceback, where the launcher asked for it (``TORCHELASTIC_ERROR_FILE``)."""

    def _get_error_file_path(self) -> str | None:
        return os.environ.get("TORCHELASTIC_ERROR_FILE")

    def initialize(self) -> None:
        """Nothing to set up: faulthandler output is left where Python sends it."""

    def record_exception(self, e: BaseException) -> None:
        path = self._get_error_file_path()
        if path:
            data = {"message": {"message": f"{type(e).__name__}: {e}",
                                "extraInfo": {"py_callstack": traceback.format_exc(),
                                              "timestamp": str(int(time.time()))}}}
            with open(path, "w") as f:
                json.dump(data, f)


def get_error_handler() -> ErrorHandler:
    return ErrorHandler()


def record(fn: Callable[..., Any], error_handler: ErrorHandler | None = None) -> Callable[..., Any]:
    """Decorate a rank's main function: its exception is recorded for the launcher, then re-raised.

    >>> from dynagrad.distributed.elastic.multiprocessing.errors import record
    >>> @record
    ... def main():
    ...     return 3
    >>> main()
    3
    """
    handler = error_handler or get_error_handler()

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        handler.initialize()
        try:
            return fn(*args, **kwargs)
        except SystemExit as e:
            if e.code == 0:
                return None
            raise
        except Exception as e:
            handler.record_exception(e)
            raise
    return wrapper
