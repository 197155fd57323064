"""Adam (``torch.optim.Adam``), with amsgrad, L2 or decoupled weight decay, and maximize."""
from __future__ import annotations

import math

import numpy as np

from .. import _jit
from ..tensor import Tensor
from .optimizer import Optimizer, _lerp_, _step_tensor, _to_scalar, _zeros_like

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam: moving averages of the gradient and its square, bias-corrected.

    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted for compatibility and do not
    change the result.

    >>> import dynagrad
    >>> w = dynagrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = dynagrad.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w  # the first step moves each weight by lr, whatever the gradient's size
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _flat_ok = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        betas = tuple(_to_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def _init_state(self, p, group):
        st = {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = _zeros_like(p)
        return st

    @staticmethod
    def _update(p, g, state, group) -> None:
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        lr = _to_scalar(group["lr"])
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        if p.size >= _JIT_MIN and _jit.enabled() and _kernel_update(p, g, state, group, step, lr, beta1, beta2, wd):
            return
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
        tmp = g * (1 - beta2)
        tmp *= g
        exp_avg_sq += tmp
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]._data
            np.maximum(vmax, exp_avg_sq, out=vmax)
            denom = np.sqrt(vmax)
        else:
            denom = np.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += group["eps"]
        np.multiply(exp_avg, -step_size, out=tmp)
        tmp /= denom
        p += tmp


_JIT_MIN = 4096  # below this the kernel's call costs about what NumPy's dozen small calls do


def _kernel_update(p, g, state, group, step, lr, beta1, beta2, wd) -> bool:
    """The update above in one numba pass, operation by operation (False: NumPy's path is needed)."""
    m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
    ams = group["amsgrad"]
    vmax = state["max_exp_avg_sq"]._data if ams else v
    dt = p.dtype
    for a in (p, g, m, v, vmax):
        if a.dtype != dt or not a.flags.c_contiguous or a.shape != p.shape:
            return False
    if dt.kind != "f" or dt.itemsize < 4:
        return False
    f = dt.type
    decoupled = wd != 0 and group["decoupled_weight_decay"]
    one = f(1)
    w = 1 - beta1
    big = not abs(w) < 0.5  # _lerp_'s two formulas
    _k_adam(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), vmax.reshape(-1),
            group["maximize"], decoupled, f(1 - lr * wd) if decoupled else one, wd != 0 and not decoupled,
            f(wd), big, (one - f(w)) if big else f(w), f(beta2), f(1 - beta2),
            f((1 - beta2 ** step) ** 0.5), f(group["eps"]), f(-(lr / (1 - beta1 ** step))), ams)
    return True


@_jit.kernel
def _k_adam(p, g, m, v, vmax, maximize, decoupled, decay, l2, wd, big, w, beta2, one_m_beta2, bc2, eps, neg_step,
            ams):
    """Adam._update's NumPy operations, in their order, per element (numba; see dynagrad/_jit.py)."""
    for i in range(p.shape[0]):
        gi = g[i]
        if maximize:
            gi = -gi
        pi = p[i]
        if decoupled:
            pi = pi * decay
        elif l2:
            gi = gi + wd * pi
        a = m[i]
        d = gi - a
        if big:
            d = d * w
            a = gi - d
        else:
            d = d * w
            a = a + d
        m[i] = a
        t = gi * one_m_beta2
        t = t * gi
        vi = v[i] * beta2 + t
        v[i] = vi
        if ams:
            mx = vmax[i]
            if not (mx != mx or mx >= vi):  # np.maximum: NaN wins
                mx = vi
            vmax[i] = mx
            vi = mx
        den = math.sqrt(vi) / bc2 + eps
        p[i] = pi + (a * neg_step) / den
