"""Numerical gradient checks: compare autograd's Jacobian with central finite differences (float64)."""
from __future__ import annotations

from ..backend import xp


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat_outputs(func, inputs):
    from ..tensor import Tensor
    out = _as_tuple(func(*inputs))
    return [o for o in out if isinstance(o, Tensor)]


def _numerical_jacobian(func, inputs, i, eps):
    # perturb the input's own memory element by element (works for non-contiguous inputs too); func runs in
    # the caller's grad mode, as gradgradcheck's func itself differentiates
    arr = inputs[i]._data
    cols = []
    for idx in xp.ndindex(arr.shape):
        orig = arr[idx].copy()
        arr[idx] = orig + eps
        plus = [o._data.astype(xp.float64).reshape(-1).copy() for o in _flat_outputs(func, inputs)]
        arr[idx] = orig - eps
        minus = [o._data.astype(xp.float64).reshape(-1).copy() for o in _flat_outputs(func, inputs)]
        arr[idx] = orig
        cols.append(xp.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]) if plus
                    else xp.zeros(0))
    return xp.stack(cols, axis=1) if cols else xp.zeros((0, 0))


def _analytical_jacobian(func, inputs, i):
    from ..creation import zeros_like
    from . import grad
    outs = _flat_outputs(func, inputs)
    rows = []
    for o in outs:
        for k in range(o._data.size):
            go = zeros_like(o)
            go._data.reshape(-1)[k] = 1
            if not o._requires_grad:
                rows.append(xp.zeros(inputs[i]._data.size))
                continue
            (g,) = grad(o, inputs[i], go, retain_graph=True, allow_unused=True)
            rows.append(xp.zeros(inputs[i]._data.size) if g is None
                        else g._data.astype(xp.float64).reshape(-1))
    return xp.stack(rows) if rows else xp.zeros((0, inputs[i]._data.size))


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **kwargs) -> bool:
    """True when autograd's gradients of ``func`` match finite differences for every input requiring grad.

    >>> import dynagrad
    >>> x = dynagrad.randn(3, dtype=dynagrad.float64, requires_grad=True)
    >>> dynagrad.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
    True
    """
    from ..tensor import Tensor
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x._requires_grad:
            continue
        if x._data.dtype != xp.float64:
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          f"This check will likely fail if all the inputs are not of double precision "
                          f"floating point.",
                          stacklevel=2)
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        if num.shape != ana.shape or not xp.allclose(ana, num, atol=atol, rtol=rtol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {i},\n"
                                     f"numerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **kwargs) -> bool:
    """gradcheck of the gradient itself (second derivatives), with random ``grad_outputs``.

    >>> import dynagrad
    >>> x = dynagrad.randn(3, dtype=dynagrad.float64, requires_grad=True)
    >>> dynagrad.autograd.gradgradcheck(lambda t: (t * t).sin(), (x,))
    True
    """
    from ..tensor import Tensor
    from . import grad
    inputs = _as_tuple(inputs)
    outs = [o for o in _flat_outputs(func, inputs) if o._requires_grad]
    if grad_outputs is None:
        from ..random import Generator
        g = Generator().manual_seed(0)
        from ..random import randn
        grad_outputs = tuple(randn(*o.shape, dtype=o.dtype, generator=g) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)

    def first(*xs):
        os = [o for o in _flat_outputs(func, xs) if o._requires_grad]
        d = [x for x in xs if isinstance(x, Tensor) and x._requires_grad]
        return grad(os, d, grad_outputs, create_graph=True, allow_unused=True)

    return gradcheck(first, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical gradients differ."""
