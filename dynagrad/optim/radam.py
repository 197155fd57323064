"""RAdam (``torch.optim.RAdam``): Adam with a rectified adaptive learning rate."""
from __future__ import annotations

import numpy as np

from .adam import _check_adam_args
from .optimizer import Optimizer, _lerp_, _step_tensor, _to_scalar, _zeros_like

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Adam that takes plain momentum steps until the variance estimate is trustworthy (Liu et al. 2019).

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0], requires_grad=True)
    >>> opt = dynagrad.optim.RAdam([w], lr=0.1)
    >>> w.sum().backward(); opt.step(); w  # early steps are SGD with momentum: 1 - 0.1 * 1
    tensor([0.9000], requires_grad=True)
    """

    _flat_ok = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    @staticmethod
    def _update(p, g, state, group) -> None:
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        lr = _to_scalar(group["lr"])
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        t = g * (1 - beta2)
        t *= g
        exp_avg_sq += t
        bias_correction2 = 1 - beta2 ** step
        np.divide(exp_avg, 1 - beta1 ** step, out=t)  # the bias-corrected first moment
        t *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            adaptive = np.sqrt(exp_avg_sq)
            adaptive += group["eps"]
            np.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
            t *= adaptive
            t *= ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        p -= t
