"""Optimizer updates inside compiled programs.

A traced ``opt.step()`` is one effect node. For SGD, Adam and AdamW (the classes themselves, whose update
is known) the program calls a fused step here: the eager update's NumPy arithmetic per parameter without
the per-step bookkeeping, or, with numba (``backend="numba"``, or numba already imported), one pass per
parameter over (param, grad, state) in a kernel compiled once and kept in numba's on-disk cache. (numba
is not imported just for this: importing it takes longer than tracing and compiling a training step.)
The arithmetic is the eager update's, operation by operation, in the parameter's dtype (scalars are
rounded to it first, as NumPy does with Python numbers), so results agree with eager steps bit for bit.
Anything else (hooks, a first step that creates the state, amsgrad, maximize, complex or 0-d parameters,
a Tensor learning rate) runs the optimizer's own ``step``. (The eager step's graph-growth check is not
run: a compiled program keeps no autograd graph between steps.)
"""
from __future__ import annotations

import numpy as np

from ..optim import optimizer as _opt
from ..tensor import Tensor

_KERNELS = None


def _kernels(use_numba: bool = True):
    global _KERNELS
    if not use_numba:
        return False
    if _KERNELS is None:
        try:
            from . import _numba_optim
            _KERNELS = _numba_optim
        except ImportError:
            _KERNELS = False
    return _KERNELS


def _plain_ok(p, g) -> bool:
    d = p._data
    return d.ndim > 0 and d.dtype.kind == "f" and g._data.dtype == d.dtype and d.flags.c_contiguous and \
        g._data.flags.c_contiguous


def _no_hooks(opt) -> bool:
    return not (_opt._global_pre_hooks or _opt._global_post_hooks or opt._optimizer_step_pre_hooks or
                opt._optimizer_step_post_hooks)


def sgd_step(opt, step, use_numba: bool = False) -> None:
    """``opt.step()`` for SGD (momentum or not, weight decay, dampening, nesterov)."""
    if not _no_hooks(opt):
        step(opt)
        return
    work = []
    state = opt.state
    for group in opt.param_groups:
        lr = group["lr"]
        if isinstance(lr, Tensor) or group["maximize"]:
            step(opt)
            return
        m = group["momentum"]
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if not _plain_ok(p, g):
                step(opt)
                return
            buf = None
            if m != 0:
                st = state.get(p)
                buf = st.get("momentum_buffer") if st else None
                if buf is None or buf._data.dtype != p._data.dtype or not buf._data.flags.c_contiguous:
                    step(opt)  # the first step creates the buffers
                    return
            work.append((p, g, buf, group))
    opt._opt_called = True
    k = _kernels(use_numba)
    for p, g, buf, group in work:
        pd, gd = p._data, g._data
        dt = pd.dtype.type
        m, wd, damp = group["momentum"], group["weight_decay"], group["dampening"]
        lr = group["lr"]
        if k and m != 0:
            k.sgd_momentum(pd.reshape(-1), gd.reshape(-1), buf._data.reshape(-1), dt(m), dt(lr), dt(wd),
                           dt(1 - damp), wd != 0, damp != 0, bool(group["nesterov"]))
        else:
            opt._update(pd, gd, opt.state.get(p), group)
        p._vc[0] += 1


def adam_step(opt, step, use_numba: bool = False) -> None:
    """``opt.step()`` for Adam and AdamW (L2 or decoupled weight decay), state already created."""
    if not _no_hooks(opt):
        step(opt)
        return
    state = opt.state
    work = []
    for group in opt.param_groups:
        if isinstance(group["lr"], Tensor) or group["maximize"] or group["amsgrad"] or \
                not abs(1 - group["betas"][0]) < 0.5:
            step(opt)
            return
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            st = state.get(p)
            if not st or not _plain_ok(p, g) or "exp_avg" not in st:
                step(opt)
                return
            ea, eas = st["exp_avg"]._data, st["exp_avg_sq"]._data
            if ea.dtype != p._data.dtype or not (ea.flags.c_contiguous and eas.flags.c_contiguous):
                step(opt)
                return
            work.append((p, g, st, group))
    k = _kernels(use_numba)
    steps = [id(st["step"]._data) for _, _, st, _ in work]
    if not k and len(set(steps)) != len(steps):
        step(opt)  # a flat group's shared step counter: its own step increments it once
        return
    opt._opt_called = True
    if not k:
        for p, g, st, group in work:
            opt._update(p._data, g._data, st, group)
            p._vc[0] += 1
        return
    counted = set()
    for p, g, st, group in work:
        step_t = st["step"]._data
        if id(step_t) not in counted:  # a flat group shares one step counter among its parameters
            counted.add(id(step_t))
            step_t += 1
        n = float(step_t)
        pd = p._data
        dt = pd.dtype.type
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        decoupled = bool(group["decoupled_weight_decay"])
        step_size = lr / (1 - beta1 ** n)
        bc2 = (1 - beta2 ** n) ** 0.5
        k.adam(pd.reshape(-1), g._data.reshape(-1), st["exp_avg"]._data.reshape(-1),
               st["exp_avg_sq"]._data.reshape(-1), dt(1 - beta1), dt(beta2), dt(1 - beta2), dt(-step_size),
               dt(bc2), dt(group["eps"]), dt(wd), dt(1 - lr * wd), wd != 0, decoupled)
        p._vc[0] += 1


def fused_step_for(opt):
    """The fused step function for this optimizer's class, or None (then its own ``step`` runs)."""
    from ..optim.adam import Adam
    from ..optim.adamw import AdamW
    from ..optim.sgd import SGD
    t = type(opt)
    if t is SGD:
        return sgd_step
    if t is Adam or t is AdamW:
        return adam_step
    return None


__all__ = ["sgd_step", "adam_step", "fused_step_for", "np"]
