"""One helper that checks an op's forward values and gradients against PyTorch (tinygrad test_ops style).

    check_op(lambda m, x, y: m.add(x, y), (3, 4), (4,))

runs the same lambda with ``m = dynagrad`` and ``m = torch`` on the same inputs, built from a NumPy RNG
seeded by the test's name, and compares every output (values, dtype, shape, requires_grad) and, for float
inputs, the gradients of ``sum(out * cotangent)`` with a fixed random cotangent.

Where torch is not importable the reference comes from ``tests/golden/<test file>__<test function>.npz``
(one entry per parametrization and call), recorded from PyTorch with ``DYNAGRAD_RECORD_GOLDEN=1 pytest
tests/`` (re-recording a test replaces only its entries; delete tests/golden first to drop stale ones);
``DYNAGRAD_USE_GOLDEN=1`` forces the golden path where torch is installed, to check the files.
``reference(fn)`` is the same mechanism for any value (``fn(torch)`` must return numbers, strings, lists,
dicts or NumPy arrays).

Inputs: a shape tuple is a random float tensor of the case's dtype that requires grad; ``F``, ``I``, ``B``
give control (range, dtype, non-contiguous layout, requires_grad); NumPy arrays are used as they are
(float arrays require grad); anything else (numbers, strings) is passed through unchanged.
"""
from __future__ import annotations

import io
import json
import os
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
import pytest

import dynagrad

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
RECORD = os.environ.get("DYNAGRAD_RECORD_GOLDEN") == "1"

if os.environ.get("DYNAGRAD_USE_GOLDEN") == "1" and not RECORD:
    torch = None
else:
    try:
        import torch
    except ImportError:  # the golden values stand in for PyTorch
        torch = None

HAVE_TORCH = torch is not None
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="compares with a live PyTorch")

# (rtol, atol) for forward values and for gradients, by dtype
TOL = {"float16": ((1e-2, 1e-2), (2e-2, 2e-2)), "bfloat16": ((2e-2, 2e-2), (5e-2, 5e-2)),
       "float32": ((1e-4, 1e-5), (1e-3, 1e-4)), "float64": ((1e-7, 1e-9), (1e-6, 1e-8))}


# -- input specifications ----------------------------------------------------------------------------------

@dataclass
class Arg:
    """A random input tensor. ``dtype=None`` takes the case's float dtype; ``layout`` is 'contig', 'T'
    (a transposed view) or 'step' (every other element of a larger array)."""

    shape: tuple
    dtype: str | None = None
    low: float = -2.0
    high: float = 2.0
    grad: bool | None = None
    layout: str = "contig"

    def make(self, rng, case_dtype):
        dt = np.dtype(self.dtype or case_dtype)
        shape = tuple(self.shape)
        layout = self.layout
        if layout == "T" and len(shape) < 2:
            layout = "step" if shape else "contig"
        if layout == "T":
            raw = shape[:-2] + (shape[-1], shape[-2])
        elif layout == "step":
            raw = shape[:-1] + (2 * shape[-1],) if shape else shape
        else:
            raw = shape
        if dt.kind == "b":
            arr = rng.random(raw) < 0.5
        elif dt.kind in "iu":
            arr = rng.integers(int(self.low), int(self.high), size=raw).astype(dt)
        else:
            arr = rng.uniform(self.low, self.high, size=raw).astype(dt)
        arr = np.asarray(arr, dtype=dt)
        if layout == "T":
            return arr.swapaxes(-1, -2)
        if layout == "step" and shape:
            return arr[..., ::2]
        return arr

    def requires_grad(self, case_dtype):
        kind = np.dtype(self.dtype or case_dtype).kind
        return (kind == "f") if self.grad is None else self.grad


def F(*shape, low=-2.0, high=2.0, dtype=None, grad=None, layout="contig"):
    """A float input (the case's dtype unless given)."""
    return Arg(shape, dtype, low, high, grad, layout)


def I(*shape, low=0, high=5, dtype="int64", layout="contig"):  # noqa: E743 - short name on purpose
    """An integer input in [low, high)."""
    return Arg(shape, dtype, low, high, False, layout)


def B(*shape, layout="contig"):
    """A boolean input."""
    return Arg(shape, "bool", 0, 2, False, layout)


class Const:
    """A fixed array used as is (``requires_grad`` for float arrays unless ``grad=False``)."""

    def __init__(self, arr, grad=None):
        self.arr, self.grad = np.asarray(arr), grad


# -- golden storage ---------------------------------------------------------------------------------------

def _test_key() -> str:
    """'<file>__<test name>' of the running test (independent of the directory pytest runs from)."""
    cur = os.environ.get("PYTEST_CURRENT_TEST", "unknown::unknown")
    nodeid = cur.rsplit(" (", 1)[0]
    path, _, name = nodeid.partition("::")
    return os.path.basename(path).removesuffix(".py") + "__" + name


def _file_and_entry(key: str, n: int) -> tuple[str, str]:
    """One file per test function (its parametrizations are entries in it): few small files."""
    func, _, params = key.partition("[")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", func).strip("-")
    return os.path.join(GOLDEN_DIR, safe + ".npz"), f"{params.removesuffix(']')}#{n}"


_calls: dict = {}  # test key -> number of reference values taken so far
_recorded: dict = {}  # golden file -> {entry: value}, as recorded in this session (plus the file's others)
_fresh: set = set()  # test keys whose old entries were dropped in this session
_loaded: dict = {}


def _next_entry() -> tuple[str, int]:
    key = _test_key()
    n = _calls.get(key, 0)
    _calls[key] = n + 1
    return key, n


def _encode(value, arrays: dict, prefix: str):
    if isinstance(value, np.ndarray):
        name = f"{prefix}a{len(arrays)}"
        arrays[name] = value
        return {"__array__": name}
    if isinstance(value, dict):
        return {k: _encode(v, arrays, prefix) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays, prefix) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _decode(value, arrays):
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def _read(path: str) -> tuple[dict, dict]:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("__structure__"))), arrays


def _store(key: str, n: int, value) -> None:
    path, entry = _file_and_entry(key, n)
    entries = _recorded.get(path)
    if entries is None:  # keep the entries of the tests not re-recorded in this session
        entries = _recorded[path] = {}
        if os.path.exists(path):
            structure, arrays = _read(path)
            entries.update({k: _decode(v, arrays) for k, v in structure.items()})
    if key not in _fresh:  # this test's old entries go: it may take fewer references now
        _fresh.add(key)
        prefix = entry.split("#")[0] + "#"
        for k in [k for k in entries if k.startswith(prefix)]:
            del entries[k]
    entries[entry] = value
    arrays: dict = {}
    structure = {k: _encode(v, arrays, f"e{i}_") for i, (k, v) in enumerate(sorted(entries.items()))}
    arrays["__structure__"] = np.array(json.dumps(structure, sort_keys=True))
    _write_npz(path, arrays)


def _write_npz(path: str, arrays: dict) -> None:
    """np.savez_compressed with fixed timestamps, so re-recording unchanged values leaves the bytes alone."""
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue())


def _load(key: str, n: int):
    path, entry = _file_and_entry(key, n)
    if path not in _loaded:
        if not os.path.exists(path):
            pytest.fail(f"no golden values for {key} ({path}); record them where torch is installed with "
                        f"DYNAGRAD_RECORD_GOLDEN=1 pytest tests/")
        _loaded[path] = _read(path)
    structure, arrays = _loaded[path]
    if entry not in structure:
        pytest.fail(f"golden file {path} has no entry {entry!r}; record again with DYNAGRAD_RECORD_GOLDEN=1")
    return _decode(structure[entry], arrays)


def reference(compute):
    """``compute(torch)`` live, or its recorded value where torch is absent. Entries are numbered in call
    order within a test, so a test must take its references in a deterministic order."""
    key, n = _next_entry()
    if HAVE_TORCH:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = _plain(compute(torch))
        if RECORD:
            _store(key, n, value)
        return value
    return _load(key, n)


def _plain(v):
    """Make a reference value storable: tensors become arrays, tuples lists, dtypes strings."""
    if HAVE_TORCH and isinstance(v, torch.Tensor):
        return v.detach().numpy().copy()
    if HAVE_TORCH and isinstance(v, torch.dtype):
        return str(v).replace("torch.", "")
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


# -- running an op -------------------------------------------------------------------------------------

def _seed(key: str, n: int) -> int:
    return zlib.crc32(f"{key}#{n}".encode())


def _build_inputs(specs, seed, case_dtype):
    """NumPy values for each spec and whether each requires grad (pure function of the seed)."""
    rng = np.random.default_rng(seed)
    values, grads = [], []
    for s in specs:
        if isinstance(s, tuple):
            s = Arg(s)
        if isinstance(s, Arg):
            values.append(s.make(rng, case_dtype))
            grads.append(s.requires_grad(case_dtype))
        elif isinstance(s, Const):
            values.append(s.arr)
            grads.append(s.arr.dtype.kind == "f" if s.grad is None else s.grad)
        elif isinstance(s, np.ndarray):
            values.append(s)
            grads.append(s.dtype.kind == "f")
        else:
            values.append(s)
            grads.append(False)
    return values, grads


def _copy_keep_layout(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` in fresh memory with the same (possibly non-contiguous) strides pattern."""
    if a.flags.c_contiguous or a.ndim == 0 or a.size == 0:
        return a.copy()
    if a.ndim >= 2 and a.swapaxes(-1, -2).flags.c_contiguous:
        return a.swapaxes(-1, -2).copy().swapaxes(-1, -2)
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def _is_tensor(m, x) -> bool:
    return isinstance(x, m.Tensor)


def _dtype_name(m, t) -> str:
    return t.dtype.name if m is dynagrad else str(t.dtype).replace("torch.", "")


def _leaves(m, obj, out):
    """Flatten an op's result into comparable leaves."""
    if _is_tensor(m, obj):
        out.append(("tensor", obj))
    elif isinstance(obj, (tuple, list)):
        if type(obj).__name__ in ("Size",):
            out.append(("py", list(obj)))
        else:
            for o in obj:
                _leaves(m, o, out)
    elif obj is None or isinstance(obj, (bool, int, float, complex, str)):
        out.append(("py", obj))
    elif m is dynagrad and isinstance(obj, dynagrad.dtype):
        out.append(("py", "dtype:" + obj.name))
    elif m is not dynagrad and isinstance(obj, torch.dtype):
        out.append(("py", "dtype:" + str(obj).replace("torch.", "")))
    elif isinstance(obj, np.ndarray):
        out.append(("py", obj))
    else:
        raise TypeError(f"check_op cannot compare a result of type {type(obj).__name__}")


def _run(m, fn, values, grads, seed, backward=True):
    """Run ``fn(m, *inputs)``; return outputs, their dtypes and requires_grad flags, and input gradients."""
    inputs = []
    for v, g in zip(values, grads):
        if isinstance(v, np.ndarray):
            if v.dtype.name == "bfloat16" and m is not dynagrad:  # torch.from_numpy has no bfloat16
                t = m.from_numpy(v.astype(np.float32)).to(m.bfloat16)
            else:
                t = m.from_numpy(_copy_keep_layout(v))
            if g:
                t.requires_grad_(True)
            inputs.append(t)
        else:
            inputs.append(v)
    try:
        result = fn(m, *inputs)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return {"error": type(e).__name__, "message": str(e)}
    leaves = []
    _leaves(m, result, leaves)
    outs, dts, rgs, kinds = [], [], [], []
    for kind, v in leaves:
        if kind == "tensor":
            outs.append(_to_numpy(m, v))
            dts.append(_dtype_name(m, v))
            rgs.append(bool(v.requires_grad))
            kinds.append("tensor")
        else:
            outs.append(v)
            dts.append(type(v).__name__ if not isinstance(v, np.ndarray) else "ndarray")
            rgs.append(False)
            kinds.append("py")
    res = {"outs": outs, "dtypes": dts, "requires_grad": rgs, "kinds": kinds, "grads": None}
    diff = [v for kind, v in leaves if kind == "tensor" and v.requires_grad and v.dtype.is_floating_point]
    if backward and diff and any(grads):
        rng = np.random.default_rng(seed + 1)
        loss = None
        for o in diff:
            cot = m.from_numpy(rng.standard_normal(tuple(o.shape)).astype(np.float64)).to(o.dtype)
            term = (o * cot).sum()
            loss = term if loss is None else loss + term
        loss.backward()
        res["grads"] = [None if not isinstance(t, m.Tensor) or not g or t.grad is None
                        else _to_numpy(m, t.grad) for t, g in zip(inputs, grads)]
    return res


def _to_numpy(m, t) -> np.ndarray:
    """A copy of a tensor's values (bfloat16 as float32: torch's numpy() refuses it)."""
    if _dtype_name(m, t) == "bfloat16":
        t = t.float()
    return t.detach().numpy().copy()


def _close(mine, ref, rtol, atol, what):
    mine, ref = np.asarray(mine), np.asarray(ref)
    assert mine.shape == ref.shape, f"{what}: shape {list(mine.shape)} != torch's {list(ref.shape)}"
    if ref.dtype.kind in "biuO" or mine.dtype.kind in "biuO" or ref.dtype.kind == "U":
        assert np.array_equal(mine, ref), f"{what}: values differ\n dynagrad: {mine}\n torch:    {ref}"
        return
    np.testing.assert_allclose(mine.astype(np.complex128 if mine.dtype.kind == "c" else np.float64),
                               ref.astype(np.complex128 if ref.dtype.kind == "c" else np.float64),
                               rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def _tol(dtype_name, which, rtol, atol):
    r, a = TOL.get(dtype_name, ((0, 0), (0, 0)))[which]
    return (r if rtol is None else rtol), (a if atol is None else atol)


def _compare(mine, ref, case, rtol, atol, grad_rtol, grad_atol, check_dtype):
    if "error" in ref:
        raise AssertionError(f"{case}: torch raised {ref['error']}: {ref.get('message', '')}")
    if "error" in mine:
        raise AssertionError(f"{case}: dynagrad raised {mine['error']}: {mine['message']}")
    assert len(mine["outs"]) == len(ref["outs"]), \
        f"{case}: {len(mine['outs'])} outputs, torch gives {len(ref['outs'])}"
    for i, (o, r, d, rd, rg, rrg, kind) in enumerate(zip(mine["outs"], ref["outs"], mine["dtypes"],
                                                         ref["dtypes"], mine["requires_grad"],
                                                         ref["requires_grad"], ref["kinds"])):
        what = f"{case}: output {i}"
        if check_dtype:
            assert d == rd, f"{what}: dtype {d} != torch's {rd}"
        assert rg == rrg, f"{what}: requires_grad {rg} != torch's {rrg}"
        if kind == "py" and not isinstance(r, np.ndarray):
            if isinstance(r, float) and isinstance(o, float):
                assert np.isclose(o, r, rtol=1e-6, atol=1e-7, equal_nan=True), f"{what}: {o} != torch's {r}"
            else:
                assert o == r or (o != o and r != r), f"{what}: {o!r} != torch's {r!r}"
            continue
        rt, at = _tol(rd, 0, rtol, atol)
        _close(o, r, rt, at, what)
    if ref["grads"] is None:
        assert mine["grads"] is None or all(g is None for g in mine["grads"]), f"{case}: unexpected gradients"
        return
    assert mine["grads"] is not None, f"{case}: dynagrad computed no gradients"
    for i, (g, rg) in enumerate(zip(mine["grads"], ref["grads"])):
        what = f"{case}: gradient of input {i}"
        if rg is None:
            assert g is None or not np.any(g), f"{what}: torch has no gradient, dynagrad has {g}"
            continue
        assert g is not None, f"{what}: dynagrad has no gradient, torch has {rg}"
        rt, at = _tol(mine["in_dtypes"][i], 1, grad_rtol, grad_atol)
        _close(g, rg, rt, at, what)


def check_op(fn, *specs, dtypes=("float32",), rtol=None, atol=None, grad_rtol=None, grad_atol=None,
             grad=True, check_dtype=True, raises=None):
    """Compare ``fn(dynagrad, *inputs)`` with ``fn(torch, *inputs)`` for each float dtype in ``dtypes``.

    ``raises``: the exception type both must raise (the values are then not compared).
    """
    for case_dtype in dtypes:
        key, n = _next_entry()
        seed = _seed(key, n)
        values, grads = _build_inputs(specs, seed, case_dtype)
        case = f"{key} case {n} ({case_dtype}, inputs {[_describe(v) for v in values]})"
        if HAVE_TORCH:
            with warnings.catch_warnings():  # PyTorch's own warnings are not what is tested here
                warnings.simplefilter("ignore")
                ref = _plain_result(_run(torch, fn, values, grads, seed, grad))
            if RECORD:
                _store(key, n, ref)
        else:
            ref = _load(key, n)
        mine = _run(dynagrad, fn, values, grads, seed, grad)
        if raises is not None:
            assert ref.get("error") == raises.__name__, f"{case}: torch gave {ref.get('error', 'no error')}"
            assert mine.get("error") == raises.__name__, \
                f"{case}: dynagrad gave {mine.get('error', 'no error')} ({mine.get('message', '')})"
            continue
        mine["in_dtypes"] = [v.dtype.name if isinstance(v, np.ndarray) else None for v in values]
        _compare(mine, ref, case, rtol, atol, grad_rtol, grad_atol, check_dtype)


def _plain_result(res):
    out = dict(res)
    if "outs" in out:
        out["outs"] = [o if isinstance(o, np.ndarray) else _plain(o) for o in out["outs"]]
    return out


def _describe(v):
    if isinstance(v, np.ndarray):
        layout = "" if v.flags.c_contiguous or v.size <= 1 else " non-contiguous"
        return f"{v.dtype.name}{list(v.shape)}{layout}"
    return repr(v)


def to_np(t) -> np.ndarray:
    """The values of a dynagrad or torch tensor as a NumPy array."""
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)
