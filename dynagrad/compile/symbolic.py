"""Symbolic dimensions: one program for inputs whose sizes change between calls.

Tracing records concrete sizes (a reshape to ``(64, 784)``, a slice ``[:, :12]``). When a dimension of an
argument changed between two calls, the two traces are compared node by node: if they differ only in
integers that are the same function of the changed sizes (``n``, ``k*n``, ``n + c``, or a product of two
changed sizes times ``k``), those integers become expressions of the sizes read from the arguments when
the program runs, and the guards stop checking those dimensions. Anything else (a Python loop over a
length, a constant whose shape depends on it) gives a different trace: a separate, fully specialised
program.
"""
from __future__ import annotations

import numpy as np

from .ir import Graph, Value


class Sym:
    """An integer computed from argument sizes when the program runs: ``k * S_a [* S_b] + c``."""

    __slots__ = ("syms", "k", "c")

    def __init__(self, syms: tuple, k: int = 1, c: int = 0) -> None:
        self.syms = syms  # (flat index, dim) pairs
        self.k = k
        self.c = c

    def source(self, names: dict) -> str:
        terms = "*".join(names[s] for s in self.syms)
        e = terms if self.k == 1 else f"{self.k}*{terms}"
        if self.c:
            e = f"({e} + {self.c})" if self.c > 0 else f"({e} - {-self.c})"
        return e

    def __eq__(self, other) -> bool:
        return isinstance(other, Sym) and (self.syms, self.k, self.c) == (other.syms, other.k, other.c)

    def __hash__(self) -> int:
        return hash((self.syms, self.k, self.c))

    def __repr__(self) -> str:
        return self.source({s: f"s{s[0]}_{s[1]}" for s in self.syms})


def _template(x, index):
    """A node's arguments with values replaced by their position in the trace."""
    if isinstance(x, Value):
        return ("%", index.get(x.id, -1))
    if type(x) in (tuple, list):
        return (type(x).__name__,) + tuple(_template(y, index) for y in x)
    if isinstance(x, dict):
        return ("dict",) + tuple((k, _template(v, index)) for k, v in x.items())
    if isinstance(x, slice):
        return ("slice", _template(x.start, index), _template(x.stop, index), _template(x.step, index))
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes() if x.size <= 4096 else id(x))
    if hasattr(x, "value") and type(x).__name__ == "TensorArg":
        return ("T", _template(x.value, index))
    return x


def signature(g: Graph) -> list:
    index = {}
    k = 0
    for n in g.nodes:
        for v in n.outputs:
            index[v.id] = k
            k += 1
    sig = []
    for n in g.nodes:
        t = n.target
        if n.op in ("op", "backward"):
            tk = t
        elif n.op == "np":
            tk = (t[0], t[1], t[2], n.meta.get("method"))
        elif n.op == "const":
            tk = _template(t, index)
        elif n.op == "effect":
            leaf = n.meta.get("leaf")
            if isinstance(leaf, tuple):
                leaf = (leaf[0], leaf[1] if leaf[0] == "input" else id(leaf[1]))
            else:
                leaf = id(leaf)
            tk = (t, leaf, id(n.meta.get("opt")))
        elif n.op == "ext":
            tk = (id(t), n.meta.get("path"))
        elif n.op == "guard":
            tk = (n.meta["kind"], _template(n.meta["expected"], index))
        elif n.op == "input":
            tk = t
        else:
            tk = None
        extra = n.meta.get("of").id if n.op == "backward" else None
        sig.append((n.op, tk, _template(n.args, index), _template(n.kwargs, index), len(n.outputs), extra))
    return sig


def unify(old_sig, new_sig, symbols: dict):
    """Substitutions {(node index, 'args'|'kwargs', path): Sym} making ``new_sig`` general, or None.

    ``symbols``: {(flat index, dim): (old size, new size)}."""
    if len(old_sig) != len(new_sig):
        return None
    subs: dict = {}
    for i, (a, b) in enumerate(zip(old_sig, new_sig)):
        if a[0] != b[0] or a[4] != b[4] or a[1] != b[1] or a[5] != b[5]:
            if a[0] == "const" and b[0] == "const":
                return None
            return None
        for part, x, y in (("args", a[2], b[2]), ("kwargs", a[3], b[3])):
            if not _match(x, y, (i, part), subs, symbols):
                return None
    return subs


def _match(x, y, path, subs, symbols) -> bool:
    if type(x) is not type(y):
        if isinstance(x, int) and isinstance(y, int):
            pass
        else:
            return False
    if isinstance(x, tuple):
        if len(x) != len(y):
            return False
        if x and x[0] == "%":
            return x == y
        return all(_match(p, q, path + (k,), subs, symbols) for k, (p, q) in enumerate(zip(x, y)))
    if isinstance(x, bool) or not isinstance(x, int):
        return x == y
    if x == y:
        return True
    e = _solve(x, y, symbols)
    if e is None:
        return False
    subs[path] = e
    return True


def _solve(x: int, y: int, symbols: dict):
    for s, (a, b) in symbols.items():
        if a and b and x % a == 0 and y % b == 0 and x // a == y // b:
            return Sym((s,), x // a)
    for s, (a, b) in symbols.items():
        if x - a == y - b:
            return Sym((s,), 1, x - a)
    keys = list(symbols)
    for i, s in enumerate(keys):
        for t in keys[i + 1:]:
            a, b = symbols[s][0] * symbols[t][0], symbols[s][1] * symbols[t][1]
            if x % a == 0 and y % b == 0 and x // a == y // b:
                return Sym((s, t), x // a)
    return None


def apply(g: Graph, subs: dict) -> None:
    """Put the Syms into the new trace's nodes (by position)."""
    by_node: dict = {}
    for (i, part, *path), e in subs.items():
        by_node.setdefault((i, part), []).append((tuple(path), e))
    for (i, part), items in by_node.items():
        n = g.nodes[i]
        for path, e in items:
            if part == "args":
                n.args = _put(n.args, path, e)
            else:
                n.kwargs = _put_kw(n.kwargs, path, e)
        n.meta["symbolic"] = True


def _put(x, path, e):
    """Replace the leaf at ``path`` of a template-shaped structure (tuple/list/slice/dict)."""
    if not path:
        return e
    k, rest = path[0], path[1:]
    if isinstance(x, (tuple, list)):
        # template index 0 is the type tag
        items = list(x)
        items[k - 1] = _put(items[k - 1], rest, e)
        return type(x)(items)
    if isinstance(x, slice):
        parts = [x.start, x.stop, x.step]
        parts[k - 1] = _put(parts[k - 1], rest, e)
        return slice(*parts)
    if isinstance(x, dict):
        return x
    return e


def _put_kw(kw: dict, path, e):
    # kwargs template: ("dict", (key, template), ...)
    k, rest = path[0], path[1:]
    key = list(kw.keys())[k - 1]
    # each entry template is (key, value-template): index 1 selects the value
    sub = rest[1:] if rest and rest[0] == 1 else rest
    kw = dict(kw)
    kw[key] = _put(kw[key], sub, e)
    return kw
