"""Anomaly detection: find the op whose backward produced NaN/inf and name where it ran forward.

In anomaly mode every node records the forward traceback (extra cost, hence a mode); the first backward
output with a NaN or inf raises a RuntimeError naming the op, the user's line, and carrying that trace.
"""
from __future__ import annotations

import traceback

from .. import _source
from ..backend import xp
from . import state


def capture_trace() -> list:
    """The forward stack, innermost last, without dynagrad's own frames."""
    frames = traceback.extract_stack()[:-1]
    return [f for f in frames if not _source._inside.get(f.filename, False)
            and not f.filename.startswith(_source._PKG)]


def check_grads(node, grads) -> None:
    if not state.anomaly_check_nan:
        return
    for i, (g, (target, _)) in enumerate(zip(grads, node.edges)):
        if g is None or target is None:  # a gradient nobody receives cannot spread
            continue
        arr = g if isinstance(g, xp.ndarray) else g._data
        if arr.dtype.kind in "fc" and not xp.isfinite(arr).all():
            bad = "nan" if xp.isnan(arr).any() else "inf"
            where = _source.format_where(node.source)
            trace = "".join(traceback.format_list(node.anomaly_trace or []))
            raise RuntimeError(f"Function '{node.name()}' returned {bad} values in its {i}th output. The op ran "
                               f"at {where}.\nTraceback of forward call that caused the error:\n{trace}")


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) turning anomaly detection on.

    >>> import dynagrad
    >>> with dynagrad.autograd.detect_anomaly():
    ...     pass
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self.prev = (state.anomaly_enabled, state.anomaly_check_nan)
        state.anomaly_enabled, state.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc) -> None:
        state.anomaly_enabled, state.anomaly_check_nan = self.prev

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)
        return wrapper


class set_detect_anomaly:  # noqa: N801
    """Turn anomaly detection on or off (also usable as a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (state.anomaly_enabled, state.anomaly_check_nan)
        state.anomaly_enabled, state.anomaly_check_nan = bool(mode), check_nan

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        state.anomaly_enabled, state.anomaly_check_nan = self.prev


def is_anomaly_enabled() -> bool:
    return state.anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    return state.anomaly_check_nan
