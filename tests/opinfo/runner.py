"""Run one op entry's samples in dynagrad and in PyTorch (or against recorded golden values) and compare.

A case is one sample through one variant (the function, the Tensor method, the in-place method). What is
compared: the exception type when PyTorch raises (dynagrad must raise the same builtin type, never a NumPy
exception), otherwise every output's values (NaN positions too), dtype, shape and requires_grad, the
gradients of ``sum(out * cotangent)`` and, on one sample per op, the second derivatives.
"""
from __future__ import annotations

import os
import warnings
import zlib

import numpy as np

import dynagrad
from helpers import HAVE_TORCH, RECORD, _close, _copy_keep_layout, _decode, _encode, _read, _write_npz, torch

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden")
FULL = os.environ.get("DYNAGRAD_SWEEP") == "full"

# (rtol, atol) of values and of gradients by dtype
TOL = {"float16": ((2e-3, 1e-3), (2e-2, 1e-2)), "bfloat16": ((1.6e-2, 1e-2), (5e-2, 5e-2)),
       "float32": ((1.3e-5, 1e-5), (1e-3, 1e-4)), "float64": ((1e-7, 1e-9), (1e-6, 1e-8)),
       "complex64": ((1.3e-5, 1e-5), (1e-3, 1e-4)), "complex128": ((1e-7, 1e-9), (1e-6, 1e-8))}

_BUILTIN_ERRORS = (NotImplementedError, IndexError, KeyError, TypeError, ValueError, ZeroDivisionError,
                   OverflowError, AttributeError, RuntimeError)


class TL(list):
    """A list of tensors as one argument (cat, stack, ...)."""


def _builtin_error(cls) -> str:
    for c in cls.__mro__:
        if c in _BUILTIN_ERRORS:
            return c.__name__
    return cls.__name__


def _dtype_name(m, t) -> str:
    return t.dtype.name if m is dynagrad else str(t.dtype).replace("torch.", "")


def _to_numpy(m, t) -> np.ndarray:
    if _dtype_name(m, t) == "bfloat16":
        t = t.float()
    if m is not dynagrad:
        t = t.resolve_conj().resolve_neg()
    return np.array(t.detach().numpy(), copy=True)


def _tensor(m, v, grad):
    if v.dtype.name == "bfloat16":
        t = m.from_numpy(v.astype(np.float32)).to(m.bfloat16)
    else:
        t = m.from_numpy(_copy_keep_layout(v))
    if grad:
        t.requires_grad_(True)
    return t


def _inputs(m, args, kwargs, grad):
    leaves = []

    def conv(v):
        if isinstance(v, TL):
            return [conv(x) for x in v]
        if isinstance(v, np.ndarray):
            # complex inputs do not require grad here: complex autograd's (conjugate Wirtinger) convention is
            # issue 20 part 2's and tested there
            g = grad and v.dtype.kind == "f" and v.dtype.name != "float16"
            t = _tensor(m, v, g)
            leaves.append(t if g else None)
            return t
        if isinstance(v, tuple) and v and isinstance(v[0], np.ndarray):
            return tuple(conv(x) for x in v)
        return v
    a = [conv(v) for v in args]
    k = {key: conv(v) for key, v in kwargs.items()}
    return a, k, leaves


def _flatten(m, obj, out):
    if isinstance(obj, m.Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)) and type(obj).__name__ not in ("Size",):
        for o in obj:
            _flatten(m, o, out)
    elif type(obj).__name__ == "Size":
        out.append(("py", [int(x) for x in obj]))
    elif m is dynagrad and isinstance(obj, dynagrad.dtype):
        out.append(("py", "dtype:" + obj.name))
    elif m is not dynagrad and isinstance(obj, torch.dtype):
        out.append(("py", "dtype:" + str(obj).replace("torch.", "")))
    elif obj is None or isinstance(obj, (bool, int, float, complex, str, np.generic)):
        out.append(("py", obj.item() if isinstance(obj, np.generic) else obj))
    else:
        out.append(("py", f"<{type(obj).__name__}>"))


def call(m, variant: str, name: str, args, kwargs):
    """Call op ``name`` of module ``m`` (dynagrad or torch) as ``variant``."""
    if variant == "method":
        return getattr(args[0], name)(*args[1:], **kwargs)
    if variant == "inplace":
        return getattr(args[0], name)(*args[1:], **kwargs)
    obj = m
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj(*args, **kwargs)


def run(m, info, variant, sample, gradgrad=False):
    """The comparable result of one case in module ``m``."""
    want_grad = info.grad and variant != "inplace" and sample.grad
    args, kwargs, leaves = _inputs(m, sample.args, sample.kwargs, want_grad)
    name = info.variant_name(variant)
    if variant == "inplace":
        args[0] = args[0].clone()
        if isinstance(args[0], m.Tensor) and args[0].requires_grad:
            args[0] = args[0].detach()
    fn = info.call_dynagrad if m is dynagrad and info.call_dynagrad else info.call
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fn is not None and variant == "function":
                result = fn(m, *args, **kwargs)
            else:
                result = call(m, variant, name, args, kwargs)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return {"error": _builtin_error(type(e)), "module": type(e).__module__, "type": type(e).__name__,
                "message": str(e)[:300]}
    res = {"outs": [], "dtypes": [], "shapes": [], "rg": []}
    if variant == "inplace":
        res["same"] = result is args[0]
    flat = []
    _flatten(m, result, flat)
    diff = []
    for o in flat:
        if isinstance(o, tuple):
            res["outs"].append(o[1])
            res["dtypes"].append("py")
            res["shapes"].append(None)
            res["rg"].append(False)
            continue
        res["outs"].append(_to_numpy(m, o))
        res["dtypes"].append(_dtype_name(m, o))
        res["shapes"].append(list(o.shape))
        res["rg"].append(bool(o.requires_grad))
        if o.requires_grad and (o.dtype.is_floating_point or o.dtype.is_complex):
            diff.append(o)
    live = [t for t in leaves if t is not None]
    if want_grad and diff and live:
        seed = zlib.crc32(f"{info.name}#{sample.tag}".encode())
        rng = np.random.default_rng(seed)
        try:
            loss = None
            for o in diff:
                cot = rng.standard_normal(tuple(o.shape))
                if o.dtype.is_complex:
                    cot = cot + 1j * rng.standard_normal(tuple(o.shape))
                term = (o * m.from_numpy(cot).to(o.dtype)).sum()
                if o.dtype.is_complex:
                    term = term.real
                loss = term if loss is None else loss + term
            if gradgrad:
                grads = m.autograd.grad(loss, live, create_graph=True, allow_unused=True)
                res["grads"] = [None if g is None else _to_numpy(m, g) for g in grads]
                pairs = [(g, t) for g, t in zip(grads, live) if g is not None and g.requires_grad]
                if pairs:
                    total = None
                    for g, t in pairs:
                        v = m.from_numpy(np.random.default_rng(seed + 7).standard_normal(tuple(g.shape))).to(g.dtype)
                        term = (g * v).sum()
                        if g.dtype.is_complex:
                            term = term.real
                        total = term if total is None else total + term
                    gg = m.autograd.grad(total, live, allow_unused=True)
                    res["gradgrads"] = [None if g is None else _to_numpy(m, g) for g in gg]
            else:
                loss.backward()
                res["grads"] = [None if t.grad is None else _to_numpy(m, t.grad) for t in live]
        except Exception as e:  # noqa: BLE001
            res["grad_error"] = f"{_builtin_error(type(e))}: {str(e)[:300]}"
    return res


def _tol(dtype_name, which, info):
    r, a = TOL.get(dtype_name, ((0, 0), (0, 0)))[which]
    r = max(r, info.rtol.get(dtype_name, 0) if isinstance(info.rtol, dict) else (info.rtol or 0))
    a = max(a, info.atol.get(dtype_name, 0) if isinstance(info.atol, dict) else (info.atol or 0))
    return r, a


def compare(mine, ref, info, sample, what) -> list[str]:
    """The mismatches between dynagrad's result and torch's, as readable lines (empty when they agree)."""
    if "error" in ref:
        if "error" not in mine:
            return [f"{what}: torch raises {ref['error']} ({ref.get('message', '')[:120]}); dynagrad returns a result"]
        if mine["module"].startswith("numpy"):
            return [f"{what}: a NumPy exception reaches the user: {mine['type']}: {mine['message']}"]
        if mine["error"] != ref["error"]:
            return [f"{what}: dynagrad raises {mine['type']} ({mine['message'][:160]}); torch raises "
                    f"{ref['error']} ({ref.get('message', '')[:120]})"]
        return []
    if "error" in mine:
        return [f"{what}: dynagrad raises {mine['type']}: {mine['message'][:200]}"]
    bad = []
    if len(mine["outs"]) != len(ref["outs"]):
        return [f"{what}: {len(mine['outs'])} outputs, torch gives {len(ref['outs'])}"]
    if "same" in ref and mine.get("same") != ref["same"]:
        bad.append(f"{what}: the in-place method does not return its input")
    for i, (o, r, d, rd) in enumerate(zip(mine["outs"], ref["outs"], mine["dtypes"], ref["dtypes"])):
        w = f"{what}: output {i}"
        if rd == "py":
            if isinstance(r, float) and isinstance(o, (int, float)) and not isinstance(o, bool):
                if not (o == r or (o != o and r != r) or abs(o - r) <= 1e-6 * abs(r) + 1e-7):
                    bad.append(f"{w}: {o!r} != torch's {r!r}")
            elif isinstance(r, (list, tuple)) or isinstance(o, (list, tuple)):
                if list(np.ravel(o)) != list(np.ravel(r)) and not (np.shape(o) == np.shape(r) and np.allclose(o, r, equal_nan=True)):
                    bad.append(f"{w}: {o!r} != torch's {r!r}")
            elif o != r and not (o != o and r != r):
                bad.append(f"{w}: {o!r} != torch's {r!r}")
            continue
        if d != rd and not info.ignore_dtype:
            bad.append(f"{w}: dtype {d} != torch's {rd}")
        if mine["shapes"][i] != ref["shapes"][i]:
            bad.append(f"{w}: shape {mine['shapes'][i]} != torch's {ref['shapes'][i]}")
            continue
        if mine["rg"][i] != ref["rg"][i]:
            bad.append(f"{w}: requires_grad {mine['rg'][i]} != torch's {ref['rg'][i]}")
        if info.check_values:
            try:
                rt, at = _tol(rd, 0, info)
                _close(o, r, rt, at, w)
            except AssertionError as e:
                bad.append(_short(str(e)))
    for key in ("grads", "gradgrads"):
        if key not in ref:
            continue
        if "grad_error" in mine:
            bad.append(f"{what}: backward raises {mine['grad_error']}")
            break
        if key not in mine:
            if any(r is not None and np.any(r) for r in ref[key]):  # torch's second derivatives are not all 0
                bad.append(f"{what}: dynagrad computes no {key}")
            continue
        for i, (g, rg) in enumerate(zip(mine[key], ref[key])):
            w = f"{what}: {key[:-1]} of input {i}"
            if rg is None:
                if g is not None and np.any(g):
                    bad.append(f"{w}: torch has none, dynagrad has {g}")
                continue
            if g is None:
                if np.any(rg):
                    bad.append(f"{w}: dynagrad has none, torch has {_short(str(rg))}")
                continue
            try:
                rt, at = _tol(str(rg.dtype), 1, info)
                r2, a2 = info.grad_tol or (0, 0)
                _close(g, rg, max(rt, r2), max(at, a2), w)
            except AssertionError as e:
                bad.append(_short(str(e)))
    return bad


def _short(s: str, n: int = 600) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n] + " ..."


# -- golden values ------------------------------------------------------------------------------------------

_golden: dict = {}
_recorded: dict = {}


def _golden_path(family: str) -> str:
    return os.path.join(GOLDEN_DIR, f"opinfo_{family}.npz")


def _plain(res):
    out = {}
    for k, v in res.items():
        if k == "outs":
            out[k] = [x if isinstance(x, np.ndarray) else (list(x) if isinstance(x, tuple) else x) for x in v]
        elif isinstance(v, np.ndarray):
            out[k] = v
        else:
            out[k] = v
    return out


def reference(info, variant, sample, key, gradgrad):
    """torch's result for a case: live, or recorded in tests/golden/opinfo_<family>.npz."""
    if HAVE_TORCH:
        ref = run(torch, info, variant, sample, gradgrad)
        if RECORD:
            _recorded.setdefault(info.family, {})[key] = _plain(ref)
        return ref
    path = _golden_path(info.family)
    if path not in _golden:
        if not os.path.exists(path):
            return None
        structure, arrays = _read(path)
        _golden[path] = {k: _decode(v, arrays) for k, v in structure.items()}
    return _golden[path].get(key)


def write_golden() -> None:
    """Store the recorded references (called at the end of a recording session)."""
    for family, entries in _recorded.items():
        path = _golden_path(family)
        old = {}
        if os.path.exists(path):
            structure, arrays = _read(path)
            old = {k: _decode(v, arrays) for k, v in structure.items()}
        old.update(entries)
        arrays = {}
        for e in old.values():
            e.pop("message", None)  # messages are not compared; they only bloat the files
        structure = {k: _encode(v, arrays, f"e{i}_") for i, (k, v) in enumerate(sorted(old.items()))}
        arrays["__structure__"] = np.array(__import__("json").dumps(structure, sort_keys=True))
        _write_npz(path, arrays)
    _recorded.clear()
