"""Flatten nested tuples, lists, dicts and namedtuples of values into a list of leaves, and back."""
from __future__ import annotations


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def tree_flatten(tree):
    """``(leaves, spec)``; ``tree_unflatten(leaves, spec)`` rebuilds the structure. None is a leaf."""
    leaves: list = []
    spec = _flatten(tree, leaves)
    return leaves, spec


def _flatten(x, leaves):
    if _is_namedtuple(x):
        return ("namedtuple", type(x), [_flatten(v, leaves) for v in x])
    if type(x) is tuple or type(x) is list:
        return (type(x).__name__, None, [_flatten(v, leaves) for v in x])
    if type(x) is dict:
        return ("dict", list(x.keys()), [_flatten(v, leaves) for v in x.values()])
    leaves.append(x)
    return None


def tree_unflatten(leaves, spec):
    it = iter(leaves)
    return _unflatten(spec, it)


def _unflatten(spec, it):
    if spec is None:
        return next(it)
    kind, meta, children = spec
    vals = [_unflatten(c, it) for c in children]
    if kind == "namedtuple":
        return meta(*vals)
    if kind == "tuple":
        return tuple(vals)
    if kind == "list":
        return vals
    return dict(zip(meta, vals))


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)
