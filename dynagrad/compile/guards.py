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
        self.ns: dict = {"_state": state, "_Tensor": Tensor}
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
    gb.fail("_state.autocast_dtype is not None or _state.transform_hook is not None or _state.anomaly_enabled",
            "autocast, forward AD, vmap or anomaly mode is active")
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
        own = owners.get(id(t))
        if own is not None:
            dct, key, mname = own
            gb.fail(f"{gb.obj(dct, 'D')}.get({key!r}) is not {te}", f"{mname}{key} was replaced")
    for key, (leaf, was_none) in tr.grad_state.items():
        if key in tr.input_ids:
            e = f"flat[{tr.input_ids[key]}]"
        else:
            e = gb.obj(leaf, "T")
        label = tr.labels.get(key, "a tensor")
        gb.fail(f"({e}.grad is None) is not {was_none!r}",
                f"{label}.grad was {'None' if was_none else 'a tensor'} when traced")
    seen = set()
    for m in trace.mods:
        for name, sm in m.named_modules():
            if id(sm) in seen:
                continue
            seen.add(id(sm))
            me = gb.obj(sm, "M")
            label = name or type(sm).__name__
            gb.fail(f"{me}.training is not {sm.training!r}", f"{label}.training changed from {sm.training}")
            gb.fail(f"{me}._forward_hooks or {me}._forward_pre_hooks or {me}._backward_hooks",
                    f"{label}: hooks were registered")
    from ..nn.modules import module as modmod
    gb.ns["_mm"] = modmod
    gb.fail("_mm._global_forward_hooks or _mm._global_forward_pre_hooks or _mm._global_backward_hooks",
            "global module hooks were registered")
    gb.lines.append("    return flat")
    return _finish(gb)


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
