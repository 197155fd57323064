"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (``torch.optim.SGD``)."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, _to_scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0], requires_grad=True)
    >>> opt = dynagrad.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> w  # 1 - 0.1*2 = 0.8; buf = 0.9*2 + 1.6 = 3.4; 0.8 - 0.34
    tensor([0.4600], requires_grad=True)
    """

    _flat_ok = True

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        # the buffer starts as the first (decayed) gradient itself, so it is created in _update
        return {"momentum_buffer": None} if group["momentum"] != 0 else None

    @staticmethod
    def _update(p, g, state, group) -> None:
        if group["maximize"]:
            g = -g
        wd = group["weight_decay"]
        if wd != 0:
            g = g + wd * p
        momentum = group["momentum"]
        if momentum != 0:
            buf = state["momentum_buffer"]
            if buf is None:
                state["momentum_buffer"] = buf = Tensor._wrap(g.copy())
                buf = buf._data
            else:
                buf = buf._data
                buf *= momentum
                dampening = group["dampening"]
                buf += g if dampening == 0 else (1 - dampening) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= _to_scalar(group["lr"]) * g
