"""``repr`` of tensors in PyTorch's format: ``tensor([1., 2.], requires_grad=True)``."""
from __future__ import annotations

from . import dtypes
from .backend import xp

_DEFAULT_SHOWN = {"float32", "int64", "bool", "complex64"}

options = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """As ``torch.set_printoptions``."""
    if profile == "default":
        options.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        options.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        options.update(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            options[k] = v
    options["sci_mode"] = sci_mode


def _summarized(arr):
    """The elements a summarized print shows (PyTorch picks its format from these alone)."""
    if arr.size <= options["threshold"]:
        return arr
    e = options["edgeitems"]
    for ax, n in enumerate(arr.shape):
        if n > 2 * e:
            arr = xp.concatenate([xp.take(arr, range(e), ax), xp.take(arr, range(n - e, n), ax)], ax)
    return arr


def _float_formatter(arr):
    arr = _summarized(arr)
    finite = arr[xp.isfinite(arr)] if arr.size else arr
    p = options["precision"]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.{p}f}"
    absf = xp.abs(finite)
    integral = bool((finite == xp.round(finite)).all())
    amax, amin = float(absf.max()), float(absf[absf > 0].min()) if (absf > 0).any() else 0.0
    sci = options["sci_mode"]
    if sci is None:
        # PyTorch's rule (on the nonzero finite values): a wide range, or very large or (non-integral) small
        sci = amin > 0 and (amax / amin > 1000 or amax > 1e8 or (amin < 1e-4 and not integral))
    if sci:
        return lambda v: _special(v) or f"{v:.{p}e}"
    if integral:
        width = max(len(f"{v:.0f}") for v in finite.reshape(-1)[:1000]) + 1
        return lambda v: (_special(v) or f"{v:.0f}.").rjust(width)
    width = max(len(f"{v:.{p}f}") for v in finite.reshape(-1)[:1000])
    return lambda v: (_special(v) or f"{v:.{p}f}").rjust(width)


def _special(v):
    if v != v:
        return "nan"
    if v == float("inf"):
        return "inf"
    if v == float("-inf"):
        return "-inf"
    return None


def _format_array(arr) -> str:
    if arr.dtype.kind == "V" or arr.dtype == xp.float16:
        arr = arr.astype(xp.float32)
    kw = {"separator": ", ", "threshold": options["threshold"], "edgeitems": options["edgeitems"],
          "max_line_width": options["linewidth"], "prefix": "tensor("}
    if arr.dtype.kind == "f":
        fmt = _float_formatter(arr)
        kw["formatter"] = {"float_kind": lambda v: fmt(float(v))}
    elif arr.dtype.kind == "b":  # right-aligned to the widest, as PyTorch: tensor([ True, False])
        width = 5 if arr.size and not arr.all() else 4
        kw["formatter"] = {"bool": lambda v: ("True" if v else "False").rjust(width)}
    text = xp.array2string(arr, **kw)
    # PyTorch's inline ellipsis is the element " ..." (two spaces after the comma)
    return text.replace(", ...,", ",  ...,") if arr.size > options["threshold"] else text


def tensor_repr(t) -> str:
    arr = t._data
    body = _format_array(arr)
    if arr.ndim and arr.size == 0:
        body = "[]"
    extras = []
    dt = dtypes.from_numpy(arr.dtype)
    if dt.name not in _DEFAULT_SHOWN or (dt.is_floating_point and dt is not dtypes.get_default_dtype()) or \
            (arr.size == 0 and dt is not dtypes.get_default_dtype()):
        if not (dt.name == "float32" and dtypes.get_default_dtype() is dtypes.float32):
            extras.append(f"dtype=torch.{dt.name}")
    if arr.ndim and arr.size == 0 and arr.shape != (0,):
        extras.insert(0, f"size={tuple(arr.shape)}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
