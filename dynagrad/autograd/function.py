"""Ops and custom functions.

``Op`` is the base of dynagrad's primitives: ``forward(ctx, *arrays)`` computes on NumPy arrays and
``backward(ctx, grad, *saved)`` returns one gradient per input. ``save`` names the inputs backward reads
and ``save_output`` whether it reads the output; those are guarded by version counters. Backward formulas
are written with operators and the helpers in ``ops._dual`` so the same code runs on arrays (plain
backward) and on Tensors (``create_graph=True``, for gradients of gradients).

``Function`` is PyTorch's public API for custom autograd functions (``ctx.save_for_backward``,
``ctx.needs_input_grad``, ``mark_dirty``, ``mark_non_differentiable``, ``set_materialize_grads``).
"""
from __future__ import annotations

from typing import Any

from .. import _source
from ..backend import xp
from . import state
from .graph import Node

_nd = xp.ndarray
_tensor_cls = None  # dynagrad.tensor.Tensor, bound once the class exists (it imports this module)
_wrap = _from_node = None  # Tensor._wrap and Tensor._from_node, bound with it
_user_frame = _source.user_frame


def _bind_tensor(cls) -> None:
    global _tensor_cls, _wrap, _from_node
    _tensor_cls, _wrap, _from_node = cls, cls._wrap, cls._from_node


def _refresh_view(x) -> None:
    from ..ops.inplace import refresh_view
    refresh_view(x)


_NOT_NEEDED = (None, None, None, 0)


def _record(ctx: Node, inputs: tuple, out):
    """Wire a freshly computed op into the graph and return its output Tensor(s)."""
    T = _tensor_cls
    edges = []
    for x in inputs:
        if isinstance(x, T) and x._requires_grad:
            fn = x.grad_fn
            if fn is None:
                edges.append((x, 0))
                continue
            if x._base is not None:  # a view whose base may have changed in place since (ops.inplace)
                recorded = fn.__dict__.get("view_version")
                if recorded is not None and recorded != x._vc[0]:
                    _refresh_view(x)
                    fn = x.grad_fn
            edges.append((fn, x._output_nr))
        else:
            edges.append((None, 0))
    ctx.edges = edges
    ctx.source = _user_frame(2)
    if state.anomaly_enabled:
        from .anomaly import capture_trace
        ctx.anomaly_trace = capture_trace()
    if state.record_hook is not None:
        state.record_hook(ctx)
    save = ctx.save
    if save:
        need = ctx.save_needed_by
        if need is None:
            ctx.saved = [(x, x._data, x._vc, x._vc[0]) if isinstance(x, T) else (None, x, None, 0)
                         for x in (inputs[i] for i in save)]
        else:  # as PyTorch: a tensor only some inputs' gradients read is kept only when one of them is wanted
            saved = []
            for i, by in zip(save, need):
                x = inputs[i]
                if isinstance(x, T):
                    for j in by:
                        if edges[j][0] is not None:
                            saved.append((x, x._data, x._vc, x._vc[0]))
                            break
                    else:
                        saved.append(_NOT_NEEDED)
                else:
                    saved.append((None, x, None, 0))
            ctx.saved = saved
    if type(out) is _nd:
        ctx.meta = [(out.shape, out.dtype)]
    elif type(out) is tuple:
        out = tuple(o if type(o) is _nd else xp.asarray(o) for o in out)
        ctx.meta = [(o.shape, o.dtype) for o in out]
        return tuple(_from_node(o, ctx, i) for i, o in enumerate(out))
    else:  # NumPy returns scalars, not 0-d arrays, from ops on 0-d inputs
        out = xp.asarray(out)
        ctx.meta = [(out.shape, out.dtype)]
    t = _from_node(out, ctx, 0)
    if ctx.save_output:
        entry = (None, out, t._vc, 0)
        if save:
            ctx.saved.append(entry)
        else:
            ctx.saved = [entry]
    return t


def check_no_requires_grad(t, arg: str, fn: str) -> None:
    """PyTorch's refusal of a gradient-requiring tensor where an op has no derivative (class weights,
    running statistics, random samples), while grad mode is on."""
    if state.grad_enabled and t is not None and getattr(t, "_requires_grad", False):
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{arg}'. This input "
                           f"cannot have requires_grad True.")


class Op(Node):
    """Base of primitive ops. Subclasses define ``forward``/``backward`` and ``save``."""

    save: tuple = ()  # indices of inputs whose values backward reads
    # per entry of ``save``, the inputs whose gradients read it (None: always kept). An input that is not
    # kept reaches backward as None, and is not version-checked: modifying it in place later is fine.
    save_needed_by: tuple | None = None
    save_output = False  # whether backward reads the output (appended after the saved inputs)

    @classmethod
    def apply(cls, *inputs, **kw):
        """Run the op on Tensors (Python numbers allowed where the op takes them), recording the graph
        when grad mode is on and an input requires grad."""
        if state.transform_hook is not None:  # forward AD or vmap (dynagrad.func) is active
            return state.transform_hook(cls, inputs, kw)
        if state.autocast_dtype is not None:
            from ..amp.autocast_mode import cast_inputs
            inputs = cast_inputs(cls, inputs)
        T = _tensor_cls
        # the arrays, and whether an input requires grad, in one pass (a comprehension is a call in 3.11)
        rg = False
        if len(inputs) == 1:
            x = inputs[0]
            if isinstance(x, T):
                arrays = (x._data,)
                rg = x._requires_grad
            else:
                arrays = inputs
        else:
            arrays = []
            for x in inputs:
                if isinstance(x, T):
                    arrays.append(x._data)
                    if x._requires_grad:
                        rg = True
                else:
                    arrays.append(x)
        if rg and state.grad_enabled:
            ctx = cls.__new__(cls)
            return _record(ctx, inputs, cls.forward(ctx, *arrays, **kw))
        out = cls.forward(None, *arrays, **kw)
        if type(out) is _nd:
            return _wrap(out)
        if type(out) is tuple:
            return tuple(_wrap(o if type(o) is _nd else xp.asarray(o)) for o in out)
        return _wrap(xp.asarray(out))

    @classmethod
    def apply1(cls, x):
        """``apply`` for the common case of one Tensor input and no static arguments."""
        if state.transform_hook is not None:
            return state.transform_hook(cls, (x,), {})
        if x._requires_grad and state.grad_enabled:
            ctx = cls.__new__(cls)
            return _record(ctx, (x,), cls.forward(ctx, x._data))
        out = cls.forward(None, x._data)
        return _wrap(out if type(out) is _nd else xp.asarray(out))

    def run_backward(self, grads: list, create_graph: bool):
        """Called by the engine with one gradient per output (None where none flowed)."""
        g = grads[0] if len(grads) == 1 else grads
        if not self.saved:
            return self.backward(g)
        return self.backward(g, *self.unpack(create_graph))

    def forward(ctx, *arrays, **kw):  # noqa: N805 - called as cls.forward(ctx_or_None, ...)
        raise NotImplementedError

    def backward(self, grad, *saved):
        raise NotImplementedError(f"{self.name()} has no backward")


# -------------------------------------------------------------------------------------------------
# Custom functions: the public torch.autograd.Function API.
# -------------------------------------------------------------------------------------------------

class FunctionCtx:
    """What ``forward``'s ``ctx`` offers in a custom Function (mixed into the node class)."""

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        self._to_save_forward = tensors

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The graph node of a custom Function: it is also the ``ctx`` the user's code sees."""

    _to_save = ()
    _dirty = ()
    _non_diff = ()
    materialize_grads = True

    def name(self) -> str:
        return self._fn_cls.__name__ + "Backward"

    @property
    def saved_tensors(self) -> tuple:
        saved = self.unpack(True)
        return tuple(saved)

    def run_backward(self, grads: list, create_graph: bool):
        T = _tensor_cls
        wrapped = []
        for g, (shape, dt) in zip(grads, self.meta):
            if g is None:
                wrapped.append(T._wrap(xp.zeros(shape, dt)) if self.materialize_grads else None)
            else:
                wrapped.append(g if isinstance(g, T) else T._wrap(g))
        prev = state.grad_enabled
        state.grad_enabled = create_graph
        try:
            result = self._fn_cls.backward(self, *wrapped)
        finally:
            state.grad_enabled = prev
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.edges)
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        out = []
        for r, (target, _) in zip(result, self.edges):
            if r is None or target is None:
                out.append(None)
            elif not isinstance(r, T):
                raise TypeError(f"{self.name()}: backward must return Tensors or None, got {type(r).__name__}")
            else:
                out.append(r if create_graph else r._data)
        return out


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        # one node class per Function subclass, named like PyTorch's (MyFnBackward)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_fn_cls": cls})


class Function(metaclass=_FunctionMeta):
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply``.

    >>> import dynagrad
    >>> class Square(dynagrad.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * g
    >>> x = dynagrad.tensor(3.0, requires_grad=True)
    >>> Square.apply(x).backward(); x.grad
    tensor(6.)
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        T = _tensor_cls
        ctx = cls._backward_cls()
        tensor_args = [a for a in args if isinstance(a, T)]
        needs = state.grad_enabled and any(a._requires_grad for a in tensor_args)
        ctx.needs_input_grad = tuple(isinstance(a, T) and a._requires_grad and needs for a in args)
        custom_setup = cls.setup_context is not Function.setup_context
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            if custom_setup:
                output = cls.forward(*args, **kwargs)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        finally:
            state.grad_enabled = prev
        if custom_setup:
            cls.setup_context(ctx, args, output)
        single = not isinstance(output, tuple)
        outs = (output,) if single else output
        if not needs:
            return output
        input_ids = {id(a) for a in tensor_args}
        dirty = {id(t) for t in ctx._dirty}
        non_diff = {id(t) for t in ctx._non_diff}
        ctx.edges = [((a.grad_fn, a._output_nr) if a.grad_fn is not None else (a, 0))
                     if isinstance(a, T) and a._requires_grad else (None, 0) for a in args]
        ctx.source = _source.user_frame(2)
        if state.anomaly_enabled:
            from .anomaly import capture_trace
            ctx.anomaly_trace = capture_trace()
        ctx.meta = []
        result = []
        for i, o in enumerate(outs):
            if not isinstance(o, T):
                ctx.meta.append(((), xp.float32))
                result.append(o)
                continue
            ctx.meta.append((o._data.shape, o._data.dtype))
            if id(o) in non_diff:
                result.append(o)
                continue
            if id(o) in input_ids:
                if id(o) not in dirty:  # an input returned as is: a view of it, with this history
                    o = o.view_as(o)
                else:
                    if o.is_leaf and o.requires_grad:
                        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                                           "operation.")
                    o._vc[0] += 1
            if not o.dtype.is_floating_point and not o.dtype.is_complex:
                result.append(o)
                continue
            o.grad_fn = ctx
            o._output_nr = i
            o._requires_grad = True
            result.append(o)
        out_ids = {id(o): i for i, o in enumerate(result)}
        entries = []
        for t in ctx._to_save:
            if t is None:
                entries.append((None, None, [0], 0))
            elif id(t) in out_ids and t.grad_fn is ctx:
                entries.append((None, t._data, t._vc, t._vc[0]))
            else:
                entries.append((t, t._data, t._vc, t._vc[0]))
        ctx.saved = entries
        ctx._to_save = ()
        return result[0] if single else tuple(result)


class once_differentiable:  # noqa: N801 - PyTorch's name
    """Decorator for a custom backward that is not itself differentiable (accepted for compatibility)."""

    def __new__(cls, fn):
        return fn

