"""Run a whole program with every top-level module call compiled, and check it against eager execution.

``dynagrad run --compile script.py`` runs the script with each call of an ``nn.Module`` that is not made
from inside another module's call compiled (``dynagrad.compile(module)``, one compiled function per module;
calls inside it are part of its program). ``dynagrad run --compile-check script.py`` (or
``DYNAGRAD_COMPILE_CHECK=1 dynagrad run script.py``) is the differential test: the script runs twice, in
two processes, eagerly and compiled, each recording every top-level module call's outputs and, at the end,
every called module's parameters and buffers. The two records and the two standard outputs (numbers next
to time units masked) must agree to float32 rounding; the first difference is reported, naming the module
and the call, and the exit status is 1. ``--max-calls N`` stops both runs after N top-level calls (the
state then is just as deterministic), which keeps a long example short; ``DYNAGRAD_COMPILE_CHECK_OUTPUT=0``
leaves the printed output out of the comparison (for a script that prints what it compiled).

The hook is ``nn.modules.module._call_interceptor``, reached only through the path that module hooks
take (``_global_call_hooks`` is raised while it is installed), so ordinary runs pay nothing for it.

>>> from dynagrad.compile import harness
>>> harness.same_text("step 1 loss 0.5000 (2.1 s)", "step 1 loss 0.5000 (3.4 s)")
True
"""
from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import sys
import tempfile
import weakref

import numpy as np

RTOL, ATOL = 1e-4, 1e-5  # float32 rounding, accumulated over a run's steps


class _Recorder:
    """Fingerprints of top-level module calls' outputs, and the modules' final state."""

    def __init__(self, path: str, max_calls: int | None) -> None:
        self.path = path
        self.max_calls = max_calls
        self.calls: list = []
        self.modules: list = []  # every module called at top level, in first-call order
        self.ids: dict = {}

    def label(self, target) -> str:
        from ..nn.modules.module import Module
        k = self.ids.get(id(target))
        if k is None:
            k = self.ids[id(target)] = len(self.modules)
            self.modules.append(target)
        name = type(target).__name__ if isinstance(target, Module) else getattr(target, "__qualname__", "fn")
        return f"{name}#{k}"

    def record(self, module, out) -> None:
        self.calls.append({"module": self.label(module), "out": _fingerprint(out)})
        if self.max_calls is not None and len(self.calls) >= self.max_calls:
            sys.stdout.flush()
            raise SystemExit(0)

    def dump(self) -> None:
        from ..nn.modules.module import Module
        final = {}
        for k, m in enumerate(self.modules):
            if not isinstance(m, Module):
                continue
            for name, t in list(m.named_parameters()) + list(m.named_buffers()):
                final[f"{type(m).__name__}#{k}.{name}"] = _fingerprint(t)
        with open(self.path, "w") as f:
            json.dump({"calls": self.calls, "final": final}, f)


def _fingerprint(x):
    """A JSON-able summary of a call's result: tensors by shape, dtype, sums and up to 256 elements."""
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        a = np.asarray(x._data)
        flat = a.reshape(-1)
        if a.dtype.kind == "V":  # bfloat16
            flat = flat.astype(np.float32)
        if flat.dtype.kind == "c":
            flat = np.concatenate([flat.real, flat.imag])
        f64 = flat.astype(np.float64)
        step = max(1, f64.size // 256)
        return {"shape": list(a.shape), "dtype": str(a.dtype), "sum": float(f64.sum()),
                "abs": float(np.abs(f64).sum()), "sample": f64[::step][:256].tolist()}
    if isinstance(x, (tuple, list)):
        return [_fingerprint(y) for y in x]
    if isinstance(x, dict):
        return {str(k): _fingerprint(v) for k, v in x.items()}
    if isinstance(x, (bool, int, float, str)) or x is None:
        return x
    return type(x).__name__


# -- installing the interceptor ------------------------------------------------------------------------------

_depth = [0]
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_recorder: _Recorder | None = None
_compile = False


def _intercept(module, args, kwargs):
    """A module call (from ``Module._call_with_hooks``): compiled and/or recorded when it is top-level."""
    from ..autograd import state
    if _depth[0] or state.tracer is not None or state.record_hook is not None:
        return NotImplemented  # (record_hook: activation checkpointing is recording or recomputing a region)
    _depth[0] += 1
    try:
        if _compile:
            cf = _compiled.get(module)
            if cf is None:
                from . import CompiledFunction
                cf = _compiled[module] = CompiledFunction(module)
            out = cf._call(args, kwargs)
        else:
            out = module(*args, **kwargs)  # back through __call__: the interceptor lets nested calls be
    finally:
        _depth[0] -= 1
    if _recorder is not None:
        _recorder.record(module, out)
    return out


def _compiled_call(cf, args, kwargs):
    """A call of a function the script compiled itself (``torch.compile(fn)``): a top-level call too; in
    the eager reference run it runs its Python."""
    from ..autograd import state
    if _depth[0] or state.tracer is not None:
        return cf._call(args, kwargs)
    _depth[0] += 1
    try:
        out = cf._call(args, kwargs)
    finally:
        _depth[0] -= 1
    if _recorder is not None:
        _recorder.record(cf.fn, out)
    return out


def install(compile_calls: bool = True, record: str | None = None, max_calls: int | None = None) -> None:
    """Compile every top-level module call (``compile_calls``) and/or record the calls to ``record``.
    Recording without compiling is the check's eager reference: then the script's own compiled functions
    run their Python too."""
    global _recorder, _compile
    from .. import compile as compile_pkg
    from ..nn.modules import module as modmod
    _compile = compile_calls
    compile_pkg.harness_hook = _compiled_call
    compile_pkg.eager_everywhere = not compile_calls
    if record is not None:
        _recorder = _Recorder(record, max_calls)
        atexit.register(_recorder.dump)
    if modmod._call_interceptor is None:
        modmod._call_interceptor = _intercept
        modmod._global_call_hooks += 1


def uninstall() -> None:
    global _recorder, _compile
    from .. import compile as compile_pkg
    from ..nn.modules import module as modmod
    compile_pkg.harness_hook, compile_pkg.eager_everywhere = None, False
    if modmod._call_interceptor is _intercept:
        modmod._call_interceptor = None
        modmod._global_call_hooks -= 1
    _recorder, _compile = None, False
    _compiled.clear()


# -- the differential check ----------------------------------------------------------------------------------

_TIME = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?\s*(?:ms|us|µs|ns|s|sec|secs|seconds|min|it/s|s/it)\b")
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


def same_text(a: str, b: str, rtol: float = 1e-3, atol: float = 1e-5) -> bool:
    """Whether two lines of output agree: the same words, numbers equal to the printed precision (a number
    printed with 4 decimals may differ in its last digit after float32 rounding), times ignored."""
    a, b = _TIME.sub("<time>", a), _TIME.sub("<time>", b)
    if a == b:
        return True
    na, nb = _NUM.findall(a), _NUM.findall(b)
    if _NUM.sub("#", a) != _NUM.sub("#", b) or len(na) != len(nb):
        return False
    for x, y in zip(na, nb):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        digits = len(x.split(".")[1].split("e")[0]) if "." in x else 0
        if abs(fx - fy) > max(atol + rtol * abs(fy), 1.5 * 10.0 ** -digits):
            return False
    return True


def _close(a, b, where: str) -> str | None:
    """None when two fingerprints agree, else a description of the first difference."""
    if isinstance(a, dict) and "sample" in a:
        if not (isinstance(b, dict) and "sample" in b):
            return f"{where}: a tensor eagerly, {type(b).__name__} compiled"
        if a["shape"] != b["shape"] or a["dtype"] != b["dtype"]:
            return f"{where}: {a['dtype']}{a['shape']} eagerly, {b['dtype']}{b['shape']} compiled"
        x, y = np.asarray(a["sample"]), np.asarray(b["sample"])
        scale = max(1.0, a["abs"] / max(1, len(a["sample"]) and np.prod(a["shape"]) or 1))
        bad = ~np.isclose(x, y, rtol=RTOL, atol=ATOL * scale, equal_nan=True)
        if bad.any():
            i = int(np.argmax(bad))
            return f"{where}: element {i} of the sample is {float(x[i])!r} eagerly and {float(y[i])!r} compiled " \
                   f"(max difference {np.nanmax(np.abs(x - y)):.3g})"
        for key in ("sum", "abs"):
            if not np.isclose(a[key], b[key], rtol=RTOL * 10, atol=ATOL * max(1.0, a["abs"]), equal_nan=True):
                return f"{where}: the {key} of the elements is {a[key]!r} eagerly and {b[key]!r} compiled"
        return None
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return f"{where}: a different structure"
        for i, (x, y) in enumerate(zip(a, b)):
            r = _close(x, y, f"{where}[{i}]")
            if r:
                return r
        return None
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            return f"{where}: different keys"
        for k in a:
            r = _close(a[k], b[k], f"{where}[{k!r}]")
            if r:
                return r
        return None
    if isinstance(a, float) and isinstance(b, float):
        return None if np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True) else f"{where}: {a} vs {b}"
    return None if a == b else f"{where}: {a!r} eagerly, {b!r} compiled"


def compare(eager: dict, compiled: dict, out_e: str | None, out_c: str | None) -> list:
    """The differences between an eager and a compiled run (empty: they agree). ``out_e``/``out_c`` None:
    the printed output is not compared (a script that prints what it compiled)."""
    problems = []
    ce, cc = eager["calls"], compiled["calls"]
    if len(ce) != len(cc):
        problems.append(f"{len(ce)} top-level module calls eagerly, {len(cc)} compiled")
    for i, (a, b) in enumerate(zip(ce, cc)):
        if a["module"] != b["module"]:
            problems.append(f"call {i}: {a['module']} eagerly, {b['module']} compiled")
            break
        r = _close(a["out"], b["out"], f"call {i} ({a['module']}) output")
        if r:
            problems.append(r)
            break
    fe, fc = eager["final"], compiled["final"]
    for k in fe:
        if k not in fc:
            problems.append(f"{k}: missing in the compiled run")
            break
        r = _close(fe[k], fc[k], f"final {k}")
        if r:
            problems.append(r)
            break
    if out_e is None or out_c is None:
        return problems
    le, lc = out_e.splitlines(), out_c.splitlines()
    if len(le) != len(lc):
        problems.append(f"{len(le)} lines printed eagerly, {len(lc)} compiled")
    for i, (a, b) in enumerate(zip(le, lc)):
        if not same_text(a, b):
            problems.append(f"output line {i + 1}: {a!r} eagerly, {b!r} compiled")
            break
    return problems


def check(script: str | None, args: list, max_calls: int | None = None, timeout: float | None = None,
          module: str | None = None) -> int:
    """Run ``script`` (or ``-m module``) eagerly and compiled (two processes) and compare; prints a report,
    returns 0 when they agree."""
    target = ["-m", module] if module is not None else [script]
    script = script if module is None else f"-m {module}"
    runs = {}
    with tempfile.TemporaryDirectory(prefix="dynagrad-check-") as tmp:
        # one after the other (a script may write files), or side by side, each in its own empty working
        # folder, with DYNAGRAD_COMPILE_CHECK_PARALLEL=1 (for scripts that read no relative paths: the tests)
        parallel = os.environ.get("DYNAGRAD_COMPILE_CHECK_PARALLEL") == "1"
        procs = {}
        for mode in ("eager", "compiled"):
            rec = os.path.join(tmp, mode + ".json")
            env = dict(os.environ)
            env.pop("DYNAGRAD_COMPILE_CHECK", None)
            env["DYNAGRAD_COMPILE_RECORD"] = rec
            if max_calls:
                env["DYNAGRAD_COMPILE_MAX_CALLS"] = str(max_calls)
            cmd = [sys.executable, "-m", "dynagrad.cli", "run"] + (["--compile"] if mode == "compiled" else []) + \
                target + list(args)
            cwd = None
            if parallel:
                cwd = os.path.join(tmp, mode)
                os.mkdir(cwd)
            p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs[mode] = (p, rec)
            if not parallel:
                procs[mode] = (p, rec, p.communicate(timeout=timeout))
        for mode, entry in procs.items():
            p, rec = entry[0], entry[1]
            out, err = entry[2] if len(entry) == 3 else p.communicate(timeout=timeout)
            if p.returncode != 0:
                sys.stdout.write(out)
                sys.stderr.write(err)
                print(f"dynagrad compile check: the {mode} run of {script} failed (exit status {p.returncode})",
                      file=sys.stderr)
                return 1
            try:
                with open(rec) as f:
                    runs[mode] = (json.load(f), out)
            except (OSError, ValueError):
                print(f"dynagrad compile check: the {mode} run left no record", file=sys.stderr)
                return 1
    (e, out_e), (c, out_c) = runs["eager"], runs["compiled"]
    sys.stdout.write(out_c)
    if os.environ.get("DYNAGRAD_COMPILE_CHECK_OUTPUT") == "0":
        problems = compare(e, c, None, None)
        out_e = ""
    else:
        problems = compare(e, c, out_e, out_c)
    n = len(e["calls"])
    if problems:
        print(f"dynagrad compile check of {script}: compiled and eager runs differ:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"dynagrad compile check of {script}: {n} top-level module calls, {len(e['final'])} final "
          f"parameters and buffers, and {len(out_e.splitlines())} output lines agree", file=sys.stderr)
    return 0


def run_mode(compile_flag: str | None) -> str | None:
    """What ``dynagrad run`` should do: "check" (the differential test), "compile", or None (plain). Also
    installs what the check's runs need (``DYNAGRAD_COMPILE_RECORD``, ``DYNAGRAD_COMPILE_MAX_CALLS``)."""
    if compile_flag == "check" or (os.environ.get("DYNAGRAD_COMPILE_CHECK") == "1" and
                                   "DYNAGRAD_COMPILE_RECORD" not in os.environ):
        return "check"
    rec = os.environ.get("DYNAGRAD_COMPILE_RECORD")
    cap = os.environ.get("DYNAGRAD_COMPILE_MAX_CALLS")
    if compile_flag or rec:
        install(compile_calls=bool(compile_flag), record=rec, max_calls=int(cap) if cap else None)
    return "compile" if compile_flag else None


__all__ = ["install", "uninstall", "check", "compare", "same_text"]
