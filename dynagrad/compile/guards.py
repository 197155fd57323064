"""Guards: what must hold for a compiled program to be reused, generated as one Python function.

A program is specialised on what its trace saw: the structure of the arguments; each tensor argument's
shape (or, once a dimension changed between calls, its rank with that dimension left symbolic), dtype and
requires_grad; Python argument values; grad mode; every outside tensor's shape and dtype and that the
modules still hold the same parameter objects; the modules' training flags and that no hooks were added;
whether each ``.grad`` the program reads or writes was None. ``check(args, kwargs)`` returns the flattened
arguments when everything holds and otherwise ``(position, reason)`` for the first failed guard (the reason
of the entry that got furthest is what a retrace is logged with). Values the program read (``bool(t)``,
``t.item()``) are checked inside the program, where they are computed.
"""
from __future__ import annotations

import numpy as np

from ..autograd import state
from ..tensor import Tensor


def flatten(args, kwargs):
    """The leaves of a call (tensors and other objects) and a description of its structure."""
    flat: list = []

    def walk(x):
        if isinstance(x, Tensor):
            flat.append(x)
            return ("T",)
        if type(x) is tuple or type(x) is list:
            return (type(x).__name__, len(x), tuple(walk(y) for y in x))
        if type(x) is dict:
            return ("dict", tuple(x.keys()), tuple(walk(y) for y in x.values()))
        flat.append(x)
        return ("V",)
    spec = (walk(tuple(args)), walk(dict(kwargs)) if kwargs else None)
    return flat, spec


class GuardBuilder:
    """Python source of ``check(args, kwargs)`` for one trace."""

    def __init__(self) -> None:
        self.lines: list = []
        self.ns: dict = {"_state": state, "_Tensor": Tensor, "_MISS": _MISS, "_why": _why}
        self.k = 0
        self.flat_exprs: list = []

    def obj(self, o, hint="G") -> str:
        name = f"{hint}{self.k}"
        self.k += 1
        self.ns[name] = o
        return name

    def fail(self, cond: str, reason: str) -> None:
        self.lines.append(f"    if {cond}:")
        self.lines.append(f"        return ({len(self.lines)}, {reason!r})")

    def structure(self, spec, expr: str, where: str) -> None:
        kind = spec[0]
        if kind == "T":
            self.flat_exprs.append(expr)
            return
        if kind == "V":
            self.flat_exprs.append(expr)
            return
        if kind in ("tuple", "list"):
            self.fail(f"type({expr}) is not {kind} or len({expr}) != {spec[1]}",
                      f"{where}: expected a {kind} of length {spec[1]}")
            for i, s in enumerate(spec[2]):
                self.structure(s, f"{expr}[{i}]", f"{where}[{i}]")
            return
        if kind == "dict":
            keys = spec[1]
            self.fail(f"type({expr}) is not dict or tuple({expr}) != {keys!r}", f"{where}: expected keys {keys!r}")
            for k, s in zip(keys, spec[2]):
                self.structure(s, f"{expr}[{k!r}]", f"{where}[{k!r}]")
            return
        raise NotImplementedError(kind)


def build_check(trace, flat, spec, dynamic_dims: dict, eager: bool = False):
    """The guard function of a trace (``dynamic_dims``: {flat index: set of symbolic dims}). For an eager
    entry (a function that runs uncompiled) only the arguments are checked."""
    gb = GuardBuilder()
    args_spec, kw_spec = spec
    nargs = args_spec[1]
    gb.fail(f"len(args) != {nargs}", f"expected {nargs} positional arguments")
    if kw_spec is None:
        gb.fail("kwargs", "unexpected keyword arguments")
    else:
        gb.fail(f"tuple(kwargs) != {kw_spec[1]!r}", f"keyword arguments: expected {kw_spec[1]!r}")
    for i, s in enumerate(args_spec[2]):
        gb.structure(s, f"args[{i}]", f"args[{i}]")
    if kw_spec is not None:
        for k, s in zip(kw_spec[1], kw_spec[2]):
            gb.structure(s, f"kwargs[{k!r}]", f"kwargs[{k!r}]")
    exprs = gb.flat_exprs
    gb.lines.append("    flat = [" + ", ".join(exprs) + "]")
    tensors = []
    for i, x in enumerate(flat):
        e = f"flat[{i}]"
        name = f"argument {i}"
        if isinstance(x, Tensor):
            tensors.append(i)
            d = x._data
            gb.fail(f"not isinstance({e}, _Tensor)", f"{name}: expected a tensor")
            gb.lines.append(f"    d = {e}._data")
            dyn = dynamic_dims.get(i, ())
            if dyn:
                gb.fail(f"len(d.shape) != {d.ndim}", f"{name}: expected {d.ndim} dimensions")
                for j, n in enumerate(d.shape):
                    if j in dyn:
                        gb.fail(f"d.shape[{j}] < 2", f"{name}: dimension {j} is 0 or 1 (specialised)")
                    else:
                        gb.fail(f"d.shape[{j}] != {n}", f"{name}: size of dimension {j} changed from {n}")
            else:
                gb.fail(f"d.shape != {tuple(d.shape)!r}", f"{name}: shape changed from {list(d.shape)}")
            gb.fail(f"d.dtype is not {gb.obj(d.dtype)}", f"{name}: dtype changed from {d.dtype.name}")
            gb.fail(f"{e}._requires_grad is not {x._requires_grad!r}",
                    f"{name}: requires_grad changed from {x._requires_grad}")
            if x._requires_grad and trace.tracer.grad_state:
                gb.fail(f"({e}.grad_fn is None) is not {x.grad_fn is None!r}", f"{name}: is_leaf changed")
        elif isinstance(x, (bool, int, float, str, type(None))):
            gb.fail(f"type({e}) is not {type(x).__name__} or {e} != {x!r}",
                    f"{name}: Python value changed from {x!r}")
        else:
            gb.fail(f"{e} is not {gb.obj(x)}", f"{name}: a different object")
    if len(tensors) > 1:
        alias = {i: j for i, j in trace.aliases}
        distinct = [i for i in tensors if i not in alias]
        gb.fail("len({" + ", ".join(f"id(flat[{i}])" for i in distinct) + "}) != " + str(len(distinct)),
                "two tensor arguments are now the same tensor")
        for i, j in trace.aliases:
            gb.fail(f"flat[{i}] is not flat[{j}]", f"arguments {i} and {j} are no longer the same tensor")
    gb.fail(f"_state.grad_enabled is not {trace.grad_mode!r}", f"grad mode changed from {trace.grad_mode}")
    autocast = getattr(trace, "autocast", None)
    gb.fail(f"_state.autocast_dtype != {gb.obj(autocast)}",
            f"autocast changed (it was {'off' if autocast is None else 'on, ' + str(autocast)})")
    inference = bool(getattr(trace, "inference", False))
    gb.fail(f"_state.transform_hook is not None or _state.anomaly_enabled or _state.inference_mode is not "
            f"{inference!r}", "forward AD, vmap, the profiler or anomaly mode is active, or inference mode changed")
    if eager:  # the modules' training flags still pick the path (the other mode may compile)
        seen = set()
        for m in trace.mods:
            for name, sm in m.named_modules():
                if id(sm) not in seen:
                    seen.add(id(sm))
                    gb.fail(f"{gb.obj(sm, 'M')}.training is not {sm.training!r}",
                            f"{name or type(sm).__name__}.training changed from {sm.training}")
        gb.lines.append("    return flat")
        return _finish(gb)
    tr = trace.tracer
    # outside tensors the program reads
    owners = _owners(trace.mods)
    for n in trace.graph.nodes:
        if n.op != "ext" or n.meta["path"] != ("data",):
            continue
        t = n.target
        d = tr.tensors[id(t)][1] if id(t) in tr.tensors else t._data
        te = gb.obj(t, "T")
        label = n.meta.get("label", "tensor")
        gb.lines.append(f"    d = {te}._data")
        gb.fail(f"d.shape != {tuple(d.shape)!r} or d.dtype is not {gb.obj(d.dtype)}",
                f"{label}: shape or dtype changed")
        gb.fail(f"{te}._requires_grad is not {t._requires_grad!r}", f"{label}: requires_grad changed")
        if id(t) not in owners:  # a tensor outside the modules (their dicts are checked below)
            continue
    for key, (leaf, was_none) in tr.grad_state.items():
        if key in tr.input_ids:
            e = f"flat[{tr.input_ids[key]}]"
        else:
            e = gb.obj(leaf, "T")
        label = tr.labels.get(key, "a tensor")
        gb.fail(f"({e}.grad is None) is not {was_none!r}",
                f"{label}.grad was {'None' if was_none else 'a tensor'} when traced")
    for key in tr.accumulated:  # leaves the program hands gradients to: no hooks since (they would not run)
        leaf = tr.tensors[key][0] if key in tr.tensors else None
        if key in tr.input_ids:
            e = f"flat[{tr.input_ids[key]}]"
        elif leaf is not None:
            e = gb.obj(leaf, "T")
        else:
            continue
        gb.fail(f"{e}._hooks is not None or {e}._post_hooks is not None",
                f"{tr.labels.get(key, 'a tensor')}: gradient hooks were registered")
    modules_guard(gb, trace.mods)
    reach = getattr(trace, "reach", None)
    if reach is not None:
        for obj in reach.objects:
            attrs_guard(gb, obj, vars(obj), type(obj).__name__)
        by_dict: dict = {}
        for g, name in reach.globals:
            by_dict.setdefault(id(g), (g, []))[1].append(name)
        for g, names in by_dict.values():
            attrs_guard(gb, g, g, "globals", keys=names)
        for cell, name in reach.cells:
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if _guardable(value):
                ce = gb.obj(cell, "C")
                gb.fail(f"{ce}.cell_contents != {gb.obj(list(value) if type(value) is list else value, 'V')}",
                        f"the variable {name} changed from {value!r}")
    from .. import dtypes
    gb.ns["_dtypes"] = dtypes
    gb.fail(f"_dtypes._default_float is not {gb.obj(dtypes._default_float)}",
            f"the default dtype changed from {dtypes._default_float}")
    gb.lines.append("    return flat")
    return _finish(gb)


_MISS = object()


def _guardable(v) -> bool:
    """A Python value the program may have baked in and that is cheap to compare: numbers, strings, None,
    and short tuples or lists of them."""
    if v is None or type(v) in (bool, int, float, str):
        return True
    if type(v) in (tuple, list) and len(v) <= 16:
        return all(x is None or type(x) in (bool, int, float, str) for x in v)
    return False


def attrs_guard(gb: GuardBuilder, owner, d: dict, label: str, keys=None, extra_cond: str = "") -> None:
    """One check that the simple values of ``d`` (an instance's ``__dict__`` or a module's globals) are
    those the trace saw; the reason names the value that changed."""
    if keys is None:
        keys = [k for k, v in d.items() if k != "training" and _guardable(v)]
    else:
        keys = [k for k in keys if _guardable(d.get(k, _MISS))]
    conds = [extra_cond] if extra_cond else []
    de = gb.obj(d, "D")
    if keys:
        vals = tuple(list(d[k]) if type(d[k]) is list else d[k] for k in keys)
        ke, ve = gb.obj(tuple(keys), "K"), gb.obj(vals, "V")
        conds.append("(" + "".join(f"{de}.get({k!r}, _MISS), " for k in keys) + f") != {ve}")
    else:
        ke = ve = "()"
    if not conds:
        return
    gb.lines.append(f"    if {' or '.join(conds)}:")
    gb.lines.append(f"        return ({len(gb.lines)}, _why({gb.obj(owner, 'O')}, {de}, {ke}, {ve}, {label!r}))")


def _why(owner, d, keys, vals, label) -> str:
    """The reason of a failed ``attrs_guard`` (computed only when it failed)."""
    for k, v in zip(keys, vals):
        now = d.get(k, _MISS)
        if now != v:
            return f"{label}.{k} changed from {v!r} to {'(deleted)' if now is _MISS else repr(now)}"
    from ..nn.modules.module import Module
    if isinstance(owner, Module):
        return f"{label}: its training flag, hooks, submodules, parameters or buffers changed"
    return f"{label} changed"


def modules_guard(gb: GuardBuilder, mods) -> None:
    """Per module, one check: its training flag, that no hooks were added, that it holds the same
    submodules, parameters and buffers (a replaced ``model.fc`` or ``fc.weight`` means another program),
    and its plain attributes (``self.scale = 2.0``, ``p``, ``eps``: the trace used their values)."""
    from ..nn.modules import module as modmod
    seen = set()
    for m in mods:
        for name, sm in m.named_modules():
            if id(sm) in seen:
                continue
            seen.add(id(sm))
            me = gb.obj(sm, "M")
            conds = [f"{me}.training is not {sm.training!r}",
                     f"{me}._forward_hooks or {me}._forward_pre_hooks or {me}._backward_hooks or "
                     f"{me}._backward_pre_hooks"]
            for attr in ("_modules", "_parameters", "_buffers"):
                dct = getattr(sm, attr)
                de = gb.obj(dct, "D")
                conds.append(f"len({de}) != {len(dct)}")  # identity, not ==: tensors compare elementwise
                conds += [f"{de}.get({k!r}) is not {'None' if v is None else gb.obj(v, 'V')}" for k, v in dct.items()]
            attrs_guard(gb, sm, vars(sm), name or type(sm).__name__, extra_cond=" or ".join(conds))
    gb.ns["_mm"] = modmod
    gb.fail("_mm._global_forward_hooks or _mm._global_forward_pre_hooks or _mm._global_backward_hooks or "
            "_mm._global_backward_pre_hooks", "global module hooks were registered")


def _finish(gb):
    src = "def check(args, kwargs):\n" + "\n".join(gb.lines) + "\n"
    code = compile(src, "<dynagrad.compile guards>", "exec")
    exec(code, gb.ns)  # noqa: S102 - our own generated source
    fn = gb.ns["check"]
    fn.source = src
    return fn


def _owners(mods) -> dict:
    """id(tensor) -> (the module dict holding it, its key, the module's dotted name)."""
    out = {}
    for m in mods:
        for name, sm in m.named_modules():
            prefix = name + "." if name else ""
            for k, p in sm._parameters.items():
                if p is not None:
                    out.setdefault(id(p), (sm._parameters, k, prefix))
            for k, b in sm._buffers.items():
                if b is not None:
                    out.setdefault(id(b), (sm._buffers, k, prefix))
    return out


def describe(check) -> str:
    return getattr(check, "source", "")


__all__ = ["flatten", "build_check", "describe", "np"]
