"""Find the user's own source line: the first frame outside the dynagrad package.

Nodes record it when they are created, so errors raised later in backward (in-place modification, NaN in
anomaly mode, a freed graph) can point at the line of the user's program that ran the op.

Frames that are nobody's program are skipped too: the console-script wrapper pip writes for the
``dynagrad`` command (``bin/dynagrad``, which only calls ``dynagrad.cli.main``) and ``runpy``, which starts
``python -m`` modules and ``dynagrad run`` scripts. ``dynagrad/_train.py``, the program behind
``dynagrad train``, counts as the user's: its model code is what that command's user reads.
"""
from __future__ import annotations

import linecache
import os
import sys

_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PROGRAMS = frozenset({_PKG + "_train.py"})  # dynagrad's own example programs: their lines are the user's
_RUNPY = os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "runpy")  # the standard library's runpy
_inside: dict[str, bool] = {}  # filename -> skip its frames (decided once per file: the hot path only looks up)


def _skip(f) -> bool:
    """Whether frame ``f``'s file is dynagrad's own code or a launcher rather than the user's program."""
    fn = f.f_code.co_filename
    if fn.startswith("<frozen"):  # importlib, and runpy in interpreters that freeze it
        return True
    path = os.path.abspath(fn)
    if path in _PROGRAMS:
        return False
    if path.startswith(_PKG) or os.path.splitext(path)[0] == _RUNPY:
        return True
    # pip's console-script wrapper: a __main__ module whose `main` is the dynagrad command's
    g = f.f_globals
    return g.get("__name__") == "__main__" and getattr(g.get("main"), "__module__", None) == "dynagrad.cli"


def user_frame(depth: int = 2):
    """(filename, lineno) of the innermost frame outside dynagrad, or None."""
    f = sys._getframe(depth)
    inside = _inside
    while f is not None:
        fn = f.f_code.co_filename
        hit = inside.get(fn)
        if hit is None:
            hit = inside[fn] = _skip(f)
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
            hit = _inside[fn] = _skip(f)  # one rule for both walks: they share the cache
        if not hit:
            return name
        name = f.f_code.co_name
        f = f.f_back
    return name
