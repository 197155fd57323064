"""Adagrad (``torch.optim.Adagrad``), with learning-rate decay, weight decay and maximize."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _step_tensor, _to_scalar

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Scale each coordinate's step by the root of its summed squared gradients.

    Unlike the other optimizers, its state exists from construction on (``step`` 0 and ``sum`` filled
    with ``initial_accumulator_value``), as in PyTorch.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0], requires_grad=True)
    >>> opt = dynagrad.optim.Adagrad([w], lr=0.5, initial_accumulator_value=3.0, eps=0.0)
    >>> w.sum().backward(); opt.step(); w  # 1 - 0.5 * 1 / sqrt(3 + 1)
    tensor([0.7500], requires_grad=True)
    """

    _flat_ok = True

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(p, group)

    def _init_state(self, p, group):
        v = self.defaults["initial_accumulator_value"]
        return {"step": _step_tensor(), "sum": Tensor._wrap(np.full_like(p._data, complex(v, v) if
                                                                         p.is_complex() else v))}

    def share_memory(self) -> None:
        """Accepted for compatibility (state lives in this process)."""

    @staticmethod
    def _update(p, g, state, group) -> None:
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        if group["maximize"]:
            g = -g
        wd = group["weight_decay"]
        if wd != 0:
            g = g + wd * p
        clr = _to_scalar(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]._data
        s += g * g
        std = np.sqrt(s)
        std += group["eps"]
        t = g * -clr
        t /= std
        p += t
