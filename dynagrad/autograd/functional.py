"""Higher-level autograd functions, as ``torch.autograd.functional``: vjp, jvp, jacobian, hessian, vhp, hvp.

Inputs and outputs may be a Tensor or a tuple of Tensors; results mirror that structure (a Jacobian of a
tuple of outputs with respect to a tuple of inputs is a tuple of tuples, ``J[i][j]`` for output ``i`` and
input ``j``). ``create_graph=True`` keeps the results differentiable; ``strict=True`` raises when an output
does not depend on an input; ``vectorize=True`` computes Jacobians with ``dynagrad.func.vmap`` instead of
one backward pass per output element.

>>> import dynagrad
>>> from dynagrad.autograd.functional import jacobian
>>> jacobian(lambda x: x ** 2, dynagrad.tensor([1.0, 2.0]))
tensor([[2., 0.],
        [0., 4.]])
"""
from __future__ import annotations

from . import grad as _autograd_grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _as_tuple(x, arg_name: str, fn_name: str):
    T = _tensor()
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, v in enumerate(xs):
        if not isinstance(v, T):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                                f"but the value at index {i} has type {type(v)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"the given {arg_name} has type {type(v)}.")
    return is_tuple, xs


def _post(xs, is_tuple):
    return tuple(xs) if is_tuple else xs[0]


def _post2(xs, is_tuple):
    """A tuple of tuples (outputs x inputs) with the singleton levels removed as PyTorch does."""
    outs, ins = is_tuple
    rows = [r if ins else r[0] for r in xs]
    return tuple(rows) if outs else rows[0]


def _prep(inputs, create_graph: bool):
    """Inputs this call can differentiate with respect to (keeping their history when create_graph)."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _zeros(x):
    from ..creation import zeros_like
    return zeros_like(x)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, strict_what="vjp"):
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        res = _autograd_grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True,
                             create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(inputs)
    out = []
    for i, (g, x) in enumerate(zip(res, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This "
                                   f"is not allowed in strict mode.")
            g = _zeros(x)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. This is "
                               f"not allowed in strict mode when create_graph=True.")
        out.append(g if create_graph else g.detach())
    return out


def _check_v(v, outputs, fn_name, arg="v"):
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"The vector {arg} can only be None if the user-provided function returns a single "
                               f"Tensor with a single element.")
        from ..creation import ones_like
        return (ones_like(outputs[0]),)
    _, vs = _as_tuple(v, arg, fn_name)
    if len(vs) != len(outputs):
        raise RuntimeError(f"{fn_name}: the given v has {len(vs)} entries but the function returns {len(outputs)} "
                           f"outputs")
    for o, x in zip(outputs, vs):
        if tuple(o.shape) != tuple(x.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {x.shape} and output[0] has a "
                               f"shape of {o.shape}.")
    return vs


def _detached(xs, create_graph):
    return tuple(x if create_graph else x.detach() for x in xs)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``."""
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prep(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "vjp")
        vs = _check_v(v, outs, "vjp")
        res = _grads(outs, ins, vs, create_graph, strict)
    return _post(_detached(outs, create_graph), out_tuple), _post(res, in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)`` by forward-mode AD."""
    from ..func import jvp as _fjvp
    in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        from ..creation import ones_like
        vs = (ones_like(ins[0]),)
    else:
        _, vs = _as_tuple(v, "v", "jvp")
        for x, t in zip(ins, vs):
            if tuple(x.shape) != tuple(t.shape):
                raise RuntimeError(f"jvp: v has shape {list(t.shape)} where the input has {list(x.shape)}")
    if not create_graph:
        ins = tuple(x.detach() for x in ins)
        vs = tuple(t.detach() for t in vs)
    out, tan = _fjvp(lambda *a: func(*a), ins, vs)
    out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "jvp")
    tans = tan if out_tuple else (tan,)
    if strict:
        for i, t in enumerate(tans):
            if not create_graph and not t.detach().numpy().any() and not _depends(func, ins, i):
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This "
                                   f"is not allowed in strict mode.")
    return _post(_detached(outs, create_graph), out_tuple), _post(_detached(tans, create_graph), out_tuple)


def _depends(func, ins, i) -> bool:
    with enable_grad():
        xs = tuple(x.detach().requires_grad_(True) for x in ins)
        _, outs = _as_tuple(func(*xs), "outputs", "jvp")
        return any(o.requires_grad for o in outs)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for one output and one input, shape ``out.shape + in.shape``."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function '
                         'has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer '
                         'to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `strategy=\"forward-mode\"` does not "
                                      "support `create_graph=True`")
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                      "implemented for `vectorize=True`.")
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _prep(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "jacobian")
        if vectorize:
            rows = _jacobian_vectorized(func, ins, outs, strategy, create_graph, strict)
        else:
            rows = []
            for o in outs:
                flat = o.reshape(-1)
                per_in = [[] for _ in ins]
                for k in range(flat.numel()):
                    gs = _grads([flat[k]], ins, [None], create_graph, strict) if flat.requires_grad else \
                        _grads_none(ins, strict)
                    for j, g in enumerate(gs):
                        per_in[j].append(g)
                row = []
                for j, x in enumerate(ins):
                    from ..ops.shape import stack
                    if per_in[j]:
                        J = stack(per_in[j]).reshape(tuple(o.shape) + tuple(x.shape))
                    else:
                        J = x.new_zeros(*(tuple(o.shape) + tuple(x.shape)))
                    row.append(J)
                rows.append(tuple(row))
    return _post2(rows, (out_tuple, in_tuple))


def _grads_none(ins, strict):
    if strict:
        raise RuntimeError("The output of the user-provided function is independent of input 0. This is not "
                           "allowed in strict mode.")
    return [_zeros(x) for x in ins]


def _jacobian_vectorized(func, ins, outs, strategy, create_graph, strict):
    from .. import func as F
    idx = tuple(range(len(ins)))
    tf = F.jacfwd if strategy == "forward-mode" else F.jacrev
    J = tf(lambda *a: tuple(_as_tuple(func(*a), "outputs", "jacobian")[1]), argnums=idx)(*ins)
    rows = []
    for i in range(len(outs)):
        row = []
        for j in range(len(ins)):
            g = J[i][j]
            if strict and not g.detach().numpy().any() and not _depends(func, ins, j):
                raise RuntimeError(f"The output of the user-provided function is independent of input {j}. This "
                                   f"is not allowed in strict mode.")
            row.append(g if create_graph else g.detach())
        rows.append(tuple(row))
    return rows


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function; for tuple inputs a tuple of tuples ``H[i][j]``."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def grad_fn(*xs):
        with enable_grad():
            out = func(*xs)
            _, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("The function given to hessian should return a single Tensor with a single "
                                   "element.")
            y = outs[0].reshape(())
            if not y.requires_grad:
                if strict:
                    raise RuntimeError("The output of the user-provided function is independent of input 0. This "
                                       "is not allowed in strict mode.")
                zs = tuple(_zeros(x) for x in xs)
                return zs if in_tuple else zs[0]
            gs = _autograd_grad(y, xs, create_graph=True, allow_unused=True)
            gs = tuple(_zeros(x) if g is None else g for g, x in zip(gs, xs))
            return gs if in_tuple else gs[0]

    return jacobian(grad_fn, ins if in_tuple else ins[0], create_graph=create_graph, strict=strict,
                    vectorize=vectorize, strategy=outer_jacobian_strategy)


def _hv(func, inputs, v, create_graph, strict, name):
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", name)
        ins = _prep(ins, create_graph)
        if v is None:
            if len(ins) != 1 or ins[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            from ..creation import ones_like
            vs = (ones_like(ins[0]),)
        else:
            _, vs = _as_tuple(v, "v", name)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", name)
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(f"The function given to {name} should return a single Tensor with a single element.")
        y = outs[0]
        if not y.requires_grad:
            if strict:
                raise RuntimeError("The output of the user-provided function is independent of input 0. This is "
                                   "not allowed in strict mode.")
            return _post(_detached(outs, create_graph), out_tuple), _post([_zeros(x) for x in ins], in_tuple)
        gs = _autograd_grad(y, ins, create_graph=True, allow_unused=True)
        gs = [_zeros(x).requires_grad_() if g is None else g for g, x in zip(gs, ins)]
        res = _grads(gs, ins, vs, create_graph, strict)
    return _post(_detached(outs, create_graph), out_tuple), _post(res, in_tuple)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar function (double backward)."""
    return _hv(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar function; equal to ``vhp`` since the Hessian is symmetric."""
    return _hv(func, inputs, v, create_graph, strict, "hvp")
