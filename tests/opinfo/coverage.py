"""Which public names are ops, and which op has an entry in the database (tests/opinfo/test_coverage.py)."""
from __future__ import annotations

import inspect
import types

import dynagrad
import dynagrad.nn.functional as DF
import dynagrad.special as DS

from .exclusions import EXCLUDED


def public_ops() -> dict[str, str]:
    """'torch.x' / 'Tensor.x' / 'nn.functional.x' / 'special.x' -> the entry name that would cover it."""
    out = {}
    for n in dir(dynagrad):
        obj = getattr(dynagrad, n)
        if n.startswith("_") or inspect.isclass(obj) or isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        out["torch." + n] = n
    for n in dir(dynagrad.Tensor):
        if n.startswith("_"):
            continue
        attr = inspect.getattr_static(dynagrad.Tensor, n)
        if isinstance(attr, property) or not callable(getattr(dynagrad.Tensor, n)):
            continue
        out["Tensor." + n] = n
    for mod, prefix in ((DF, "nn.functional."), (DS, "special.")):
        for n in dir(mod):
            obj = getattr(mod, n)
            if n.startswith("_") or inspect.isclass(obj) or isinstance(obj, types.ModuleType) or not callable(obj):
                continue
            if getattr(obj, "__module__", "").startswith("dynagrad") or isinstance(obj, types.BuiltinFunctionType):
                out[prefix + n] = prefix + n
    return out


def uncovered(ops) -> list[str]:
    """Public ops with neither an entry nor a reasoned exclusion."""
    names = {i.name for i in ops}
    methods = {m for i in ops for m in (i.method, i.inplace) if m}
    missing = []
    for public, entry in sorted(public_ops().items()):
        if public in EXCLUDED:
            continue
        if public.startswith("Tensor."):
            base = entry[:-1] if entry.endswith("_") and not entry.endswith("__") else entry
            if entry in methods or entry in names or base in names:
                continue
        elif entry in names:
            continue
        missing.append(public)
    return missing
