"""``repr`` of a sparse COO tensor in PyTorch's format (indices, values, then size/nnz/layout suffixes)."""
from __future__ import annotations

from .. import dtypes
from .._printing import _format_array, options


def _body(arr, shape) -> str:
    if arr.size == 0:
        return f"[], size={tuple(shape)}"
    return _format_array(arr)


def _indent(text: str, n: int) -> str:
    return text.replace("\n", "\n" + " " * n)


def sparse_repr(s) -> str:
    indices = s._indices_arr
    values = s._vals._data
    idx = "tensor(" + _body(indices, indices.shape) + ")"
    val = "tensor(" + _body(values, values.shape) + ")"
    text = "tensor(indices=" + _indent(idx, len("tensor(indices=")) + ",\n       values=" + \
        _indent(val, len("       values="))
    suffixes = [f"size={tuple(s.shape)}", f"nnz={s._nnz()}"]
    dt = s.dtype
    if dt is not dtypes.get_default_dtype() and dt.name not in ("int64", "bool") or \
            dt.name == "float32" and dtypes.get_default_dtype() is not dtypes.float32:
        suffixes.append(f"dtype=torch.{dt.name}")
    suffixes.append("layout=torch.sparse_coo")
    if s.grad_fn is not None:
        suffixes.append(f"grad_fn=<{s.grad_fn.name()}>")
    elif s.requires_grad:
        suffixes.append("requires_grad=True")
    # PyTorch's layout: the first suffix on a new line, then wrap at the line width
    out, line = [text], options["linewidth"] + 1
    for suf in suffixes:
        if line + len(suf) + 2 > options["linewidth"]:
            out.append(",\n       " + suf)
            line = 7 + len(suf)
        else:
            out.append(", " + suf)
            line += len(suf) + 2
    return "".join(out) + ")"
