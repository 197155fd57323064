"""dynagrad.func: composable function transforms, as ``torch.func``.

``grad``/``grad_and_value``/``vjp``/``jacrev`` (reverse mode), ``jvp``/``linearize``/``jacfwd`` (forward
mode), ``hessian``, ``vmap`` (batching rules per primitive), ``functional_call`` and ``stack_module_state``.

>>> import dynagrad
>>> from dynagrad.func import grad, vmap
>>> x = dynagrad.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> vmap(grad(lambda r: (r ** 2).sum()))(x)  # per-row gradients
tensor([[2., 4.],
        [6., 8.]])
"""
from __future__ import annotations

from ._functional_call import functional_call, stack_module_state
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "stack_module_state"]
