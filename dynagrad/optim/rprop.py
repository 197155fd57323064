"""Rprop (``torch.optim.Rprop``): resilient backpropagation, steps from gradient signs only."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _step_tensor, _to_scalar

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Each coordinate moves by its own step size against the gradient's sign; the step grows by
    ``etas[1]`` while the sign holds and shrinks by ``etas[0]`` (skipping that update) when it flips,
    within ``step_sizes``. Suited to full-batch training, as in PyTorch.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = dynagrad.optim.Rprop([w], lr=0.1)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> w  # steps of 0.1, then 0.12
    tensor([ 0.7800, -0.7800], requires_grad=True)
    """

    _flat_ok = True

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        lr = _to_scalar(group["lr"])
        return {"step": _step_tensor(), "prev": Tensor._wrap(np.zeros_like(p._data)),
                "step_size": Tensor._wrap(np.full_like(p._data, complex(lr, lr) if p.is_complex() else lr))}

    @staticmethod
    def _update(p, g, state, group) -> None:
        state["step"]._data += 1
        if group["maximize"]:
            g = -g
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        prev, step_size = state["prev"]._data, state["step_size"]._data
        factor = np.sign(g * prev)
        # in this order, as PyTorch: a NaN product matches none of the three and poisons the step size
        factor[factor > 0] = etaplus
        factor[factor < 0] = etaminus
        factor[factor == 0] = 1
        step_size *= factor
        np.clip(step_size, lo, hi, out=step_size)
        g = g.copy()
        g[factor == etaminus] = 0  # a flipped sign: no update this step, and no flip seen next step
        p -= np.sign(g) * step_size
        prev[...] = g
