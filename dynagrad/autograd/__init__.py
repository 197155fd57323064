"""dynagrad.autograd: reverse-mode differentiation of the graph recorded as the program runs."""
from __future__ import annotations

from . import graph, state
from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .engine import run_backward
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["backward", "grad", "Function", "FunctionCtx", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck",
           "once_differentiable", "graph", "Variable"]


def _tensors(x) -> list:
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return [x]
    if x is None:
        return []
    return list(x)


def _make_grads(outputs, grad_outputs, create_graph):
    from ..creation import ones_like
    from ..tensor import Tensor
    grads = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out._data.size != 1:
                from .. import _source
                op = f" of {out.grad_fn.name()}" if out.grad_fn is not None else ""
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (got an output{op} of "
                                   f"shape {list(out._data.shape)}; pass gradient= with that shape; at "
                                   f"{_source.here()})")
            if out._data.dtype.kind not in "fcV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{out.dtype}")
            grads.append(ones_like(out))
        else:
            if not isinstance(g, Tensor):
                from ..creation import as_tensor
                g = as_tensor(g, dtype=out.dtype)
            if g._data.shape != out._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has a "
                                   f"shape of {out.shape}.")
            grads.append(g)
    return grads


def _check_roots(outputs):
    for out in outputs:
        if not out._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the graph's leaves."""
    if grad_tensors is None and grad_variables is None and inputs is None and not create_graph:
        # the common loss.backward(): one scalar root, an implicit gradient of one
        t = tensors
        arr = getattr(t, "_data", None)
        if arr is not None and arr.size == 1 and arr.dtype.kind == "f" and t._requires_grad:
            run_backward((t,), (_ones(arr.shape, arr.dtype),), bool(retain_graph), False, accumulate=True)
            return
    outputs = _tensors(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    gts = _tensors(grad_tensors) if grad_tensors is not None and not _is_tensor(grad_tensors) else (
        [grad_tensors] if grad_tensors is not None else [None] * len(outputs))
    if len(gts) < len(outputs):
        gts = gts + [None] * (len(outputs) - len(gts))
    _check_roots(outputs)
    grads = _make_grads(outputs, gts, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    ins = None
    if inputs is not None:
        ins = _tensors(inputs)
        if not ins:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(outputs, grads, retain_graph, create_graph, inputs=ins, accumulate=True)


def _ones(shape, dtype):
    from ..backend import xp
    return xp.ones(shape, dtype)


def _is_tensor(x) -> bool:
    from ..tensor import Tensor
    return isinstance(x, Tensor)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated.

    >>> import dynagrad
    >>> x = dynagrad.tensor(2.0, requires_grad=True)
    >>> dynagrad.autograd.grad(x ** 3, x)
    (tensor(12.),)
    """
    outs = _tensors(outputs)
    ins = _tensors(inputs)
    if grad_outputs is None:
        gos = [None] * len(outs)
    elif _is_tensor(grad_outputs):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    for t in ins:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    _check_roots(outs)
    grads = _make_grads(outs, gos, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    res = run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                       allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from ..creation import zeros_like
        res = tuple(zeros_like(t) if g is None else g for g, t in zip(res, ins))
    return res


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802 - legacy PyTorch API
    """The pre-0.4 PyTorch wrapper; today simply the tensor itself."""
    if requires_grad:
        data.requires_grad_(True)
    return data



def __getattr__(name: str):
    # forward_ad and functional load on first use (torch.autograd.functional.jacobian, ...)
    if name in ("forward_ad", "functional"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'dynagrad.autograd' has no attribute '{name}'")
