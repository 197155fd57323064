"""What the passes know about nodes: a small vocabulary of kinds over ops and NumPy calls."""
from __future__ import annotations

import numpy as np

from .ir import Node

_OP_KINDS = {"AddBackward0": "add", "SubBackward0": "sub", "MulBackward0": "mul", "DivBackward0": "div",
             "PermuteBackward0": "permute", "ViewBackward0": "reshape", "ToCopyBackward0": "astype",
             "NegBackward0": "neg", "ReluBackward0": "relu", "ExpBackward0": "exp", "TanhBackward0": "tanh",
             "SigmoidBackward0": "sigmoid", "LogBackward0": "log", "SqrtBackward0": "sqrt",
             "MaximumBackward0": "maximum", "MinimumBackward0": "minimum", "SquareBackward": "square",
             "AbsBackward0": "abs", "SinBackward0": "sin", "CosBackward0": "cos"}
_UFUNC_KINDS = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
                np.negative: "neg", np.exp: "exp", np.tanh: "tanh", np.log: "log", np.sqrt: "sqrt",
                np.maximum: "maximum", np.minimum: "minimum", np.abs: "abs", np.sin: "sin", np.cos: "cos",
                np.square: "square", np.greater: "gt", np.less: "lt", np.greater_equal: "ge",
                np.less_equal: "le", np.equal: "eq", np.not_equal: "ne"}
_METHOD_KINDS = {"transpose": "transpose", "reshape": "reshape", "astype": "astype", "copy": "copy",
                 "__copy__": "copy"}


def kind(n: Node) -> str | None:
    if n is None:
        return None
    if n.op == "op":
        for c in n.target.__mro__:
            k = _OP_KINDS.get(c.__name__)
            if k is not None:
                return k
        return None
    if n.op == "np":
        k, fn, name = n.target
        if k == "ufunc" and n.meta.get("method", "__call__") == "__call__":
            return _UFUNC_KINDS.get(fn)
        if k == "method":
            return _METHOD_KINDS.get(name)
        if k == "setitem" and n.args[1] is Ellipsis and not n.meta.get("effect"):
            return "setitem_all"
        if k == "func" and fn is np.transpose:
            return "transpose"
        if k == "func" and fn is np.reshape:
            return "reshape"
    return None


def perm(n: Node):
    """The axes permutation of a transpose/permute node (None when unknown)."""
    if n.op == "op":
        axes = n.kwargs.get("axes")
        return list(axes) if axes is not None else None
    src = n.args[0]
    nd = len(src.shape) if hasattr(src, "shape") and src.shape is not None else None
    axes = n.args[1:] if len(n.args) > 1 else (n.kwargs.get("axes"),)
    if len(axes) == 1:
        axes = axes[0]
    if axes is None or axes == ():
        return list(range(nd))[::-1] if nd is not None else None
    if isinstance(axes, int):
        axes = tuple(n.args[1:])
    return list(axes)


def set_reshape_source(n: Node, src) -> None:
    """Make a reshape read ``src`` directly (a reshape of a reshape is one reshape)."""
    n.args = (src,) + tuple(n.args[1:])
