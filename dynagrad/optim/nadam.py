"""NAdam (``torch.optim.NAdam``): Adam with Nesterov momentum."""
from __future__ import annotations

import numpy as np

from .adam import _check_adam_args
from .optimizer import Optimizer, _lerp_, _step_tensor, _to_scalar, _zeros_like

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam whose momentum looks one step ahead, with the momentum schedule of Dozat (2016).

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0], requires_grad=True)
    >>> opt = dynagrad.optim.NAdam([w], lr=0.1)
    >>> w.sum().backward(); opt.step(); round(w.item(), 4)
    0.8944
    """

    _flat_ok = True
    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "mu_product": _step_tensor(1.0), "exp_avg": _zeros_like(p),
                "exp_avg_sq": _zeros_like(p)}

    @staticmethod
    def _update(p, g, state, group) -> None:
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        lr = _to_scalar(group["lr"])
        beta1, beta2 = group["betas"]
        wd, momentum_decay = group["weight_decay"], group["momentum_decay"]
        if group["maximize"]:
            g = -g
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        mu_product_t = state["mu_product"]._data
        mu_product_t *= mu
        mu_product = float(mu_product_t)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        t = g * (1 - beta2)
        t *= g
        exp_avg_sq += t
        denom = exp_avg_sq / bias_correction2
        np.sqrt(denom, out=denom)
        denom += group["eps"]
        np.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=t)
        t /= denom
        p += t
        np.multiply(exp_avg, (-lr * mu_next) / (1.0 - mu_product * mu_next), out=t)
        t /= denom
        p += t
