"""Find the user's own source line: the first frame outside the dynagrad package.

Nodes record it when they are created, so errors raised later in backward (in-place modification, NaN in
anomaly mode, a freed graph) can point at the line of the user's program that ran the op.
"""
from __future__ import annotations

import linecache
import os
import sys

_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep
_inside: dict[str, bool] = {}


def user_frame(depth: int = 2):
    """(filename, lineno) of the innermost frame outside dynagrad, or None."""
    f = sys._getframe(depth)
    inside = _inside
    while f is not None:
        fn = f.f_code.co_filename
        hit = inside.get(fn)
        if hit is None:
            hit = inside[fn] = os.path.abspath(fn).startswith(_PKG) or fn.startswith("<frozen")
        if not hit:
            return (fn, f.f_lineno)
        f = f.f_back
    return None


def format_where(where) -> str:
    """'file.py:12: y = x.log()' for a (filename, lineno) pair."""
    if not where:
        return "<unknown location>"
    fn, line = where
    code = linecache.getline(fn, line).strip()
    return f"{fn}:{line}: {code}" if code else f"{fn}:{line}"


def here() -> str:
    """The user's current line, formatted, for error messages raised during the forward pass."""
    return format_where(user_frame(2))


def entry_function() -> str | None:
    """The name of the dynagrad function the user's code called (the outermost frame inside dynagrad)."""
    f = sys._getframe(1)
    name = None
    while f is not None:
        fn = f.f_code.co_filename
        hit = _inside.get(fn)
        if hit is None:
            hit = _inside[fn] = os.path.abspath(fn).startswith(_PKG) or fn.startswith("<frozen")
        if not hit:
            return name
        name = f.f_code.co_name
        f = f.f_back
    return name
