"""RMSprop (``torch.optim.RMSprop``), with momentum, centering, weight decay and maximize."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _lerp_, _step_tensor, _to_scalar, _zeros_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of recent gradients.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0], requires_grad=True)
    >>> opt = dynagrad.optim.RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> w.sum().backward(); opt.step(); w  # 1 - 0.01 * 1 / sqrt(0.25)
    tensor([0.9800], requires_grad=True)
    """

    _flat_ok = True

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        st = {"step": _step_tensor(), "square_avg": _zeros_like(p)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            st["grad_avg"] = _zeros_like(p)
        return st

    @staticmethod
    def _update(p, g, state, group) -> None:
        state["step"]._data += 1
        if group["maximize"]:
            g = -g
        wd = group["weight_decay"]
        if wd != 0:
            g = g + wd * p
        alpha = group["alpha"]
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        avg = g * (1 - alpha)
        avg *= g
        square_avg += avg
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            _lerp_(grad_avg, g, 1 - alpha)
            np.multiply(grad_avg, grad_avg, out=avg)
            np.subtract(square_avg, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(square_avg, out=avg)
        avg += group["eps"]
        lr = _to_scalar(group["lr"])
        momentum = group["momentum"]
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            t = g * -lr
            t /= avg
            p += t
