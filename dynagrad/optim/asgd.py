"""ASGD (``torch.optim.ASGD``): SGD with a decaying step and a running average of the iterates."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _step_tensor, _to_scalar

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD: ``eta = lr / (1 + lambd * lr * step) ** alpha`` scales each step (with a weight decay of
    ``lambd * eta`` on the parameter), and from step ``t0`` on the state ``ax`` averages the iterates.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0], requires_grad=True)
    >>> opt = dynagrad.optim.ASGD([w], lr=0.1, lambd=0.0)
    >>> (w * w).sum().backward(); opt.step(); w  # 1 - 0.1 * 2
    tensor([0.8000], requires_grad=True)
    """

    _flat_ok = True
    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "eta": _step_tensor(_to_scalar(group["lr"])), "mu": _step_tensor(1.0),
                "ax": Tensor._wrap(np.zeros_like(p._data))}

    @staticmethod
    def _update(p, g, state, group) -> None:
        step_t, eta, mu = state["step"]._data, state["eta"]._data, state["mu"]._data
        step_t += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        lambd, lr = group["lambd"], _to_scalar(group["lr"])
        e = float(eta)  # the 0-d state holds it in the scalar dtype, as PyTorch's does
        p *= 1 - lambd * e
        p -= e * g
        ax = state["ax"]._data
        if float(mu) != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        step = float(step_t)
        eta[...] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        mu[...] = 1 / max(1, step - group["t0"])
