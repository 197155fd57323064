"""Stochastic weight averaging and exponential moving averages of weights (``torch.optim.swa_utils``).

``AveragedModel`` keeps a deep copy of a model whose parameters are a running average of the model's;
``SWALR`` anneals each group's lr to a constant ``swa_lr``; ``update_bn`` recomputes BatchNorm statistics
for the averaged weights with one pass over the data.

>>> import dynagrad
>>> from dynagrad.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
>>> net = dynagrad.nn.Linear(1, 1, bias=False)
>>> ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.5))
>>> for w in (1.0, 3.0):
...     _ = net.weight.data.fill_(w); ema.update_parameters(net)
>>> ema.module.weight.item(), ema.n_averaged.item()
(2.0, 2)
"""
from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..creation import tensor
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _format_param
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _is_float(t: Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def _lerp_(start: Tensor, end: Tensor, weight: float) -> None:
    """``start += weight * (end - start)`` in place, as PyTorch's lerp kernel rounds it."""
    a, b = start._data, end._data
    w = a.dtype.type(weight) if a.dtype.kind in "fc" else weight
    out = a + w * (b - a) if abs(weight) < 0.5 else b - (b - a) * (1 - w)
    start._data[...] = out
    start._vc[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In-place EMA over lists of tensors: ``ema = decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param_list, current_param_list, _) -> None:
        if _is_float(ema_param_list[0]):
            for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                _lerp_(p_ema, p_model, 1 - decay)
        else:
            for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In-place equal-weight average over lists of tensors: ``avg += (current - avg) / (n + 1)``."""

    @no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        n = int(num_averaged.item()) if isinstance(num_averaged, Tensor) else num_averaged
        for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
            if _is_float(p_avg):
                _lerp_(p_avg, p_model, 1 / (n + 1))
            else:
                p_avg.copy_(p_avg + (p_model - p_avg) / (n + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """EMA of one tensor, returned (not in place)."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable:
    """Equal-weight average of one tensor, returned (not in place)."""

    @no_grad()
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of ``model`` (as ``self.module``) whose parameters average those passed to
    ``update_parameters``: equal weights by default (SWA), or ``avg_fn(avg, current, n)`` /
    in-place ``multi_avg_fn(avg_list, current_list, n)``. The first update copies the model.
    With ``use_buffers=True`` buffers are averaged too; otherwise they are copied from the model.

    >>> import dynagrad
    >>> net = dynagrad.nn.Linear(1, 1, bias=False)
    >>> swa = dynagrad.optim.swa_utils.AveragedModel(net)
    >>> for w in (1.0, 2.0, 6.0):
    ...     _ = net.weight.data.fill_(w); swa.update_parameters(net)
    >>> swa.module.weight.item(), list(swa.state_dict())
    (3.0, ['n_averaged', 'module.weight'])
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=dtypes.long))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @no_grad()
    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers, with ``use_buffers``) into this copy."""
        if self.use_buffers:
            pairs = zip(itertools.chain(self.module.parameters(), self.module.buffers()),
                        itertools.chain(model.parameters(), model.buffers()))
        else:
            pairs = zip(self.parameters(), model.parameters())
        mine, theirs = [], []
        for p_avg, p_model in pairs:
            mine.append(p_avg.detach())
            theirs.append(p_model.detach())
        n = int(self.n_averaged.item())
        if n == 0:
            for p_avg, p_model in zip(mine, theirs):
                p_avg.copy_(p_model)
        elif self.avg_fn is not None and self.multi_avg_fn is None:
            for p_avg, p_model in zip(mine, theirs):
                p_avg.copy_(self.avg_fn(p_avg, p_model, self.n_averaged))
        else:
            # as PyTorch: one multi_avg_fn call per dtype (the CPU default is the one-tensor SWA formula)
            groups: dict[Any, tuple[list, list]] = {}
            for p_avg, p_model in zip(mine, theirs):
                group = groups.setdefault(p_avg.dtype, ([], []))
                group[0].append(p_avg)
                group[1].append(p_model)
            swa = get_swa_avg_fn()
            for avgs, currents in groups.values():
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(avgs, currents, self.n_averaged)
                else:
                    for p_avg, p_model in zip(avgs, currents):
                        p_avg.copy_(swa(p_avg, p_model, self.n_averaged))
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                b_avg.detach().copy_(b_model.detach())
        self.n_averaged += 1


@no_grad()
def update_bn(loader: Iterable, model: Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` with one pass over ``loader``
    (batches are tensors, or lists/tuples whose first element is the input), as a cumulative average;
    momenta and train/eval mode are restored afterwards.

    >>> import dynagrad
    >>> bn = dynagrad.nn.BatchNorm1d(1)
    >>> dynagrad.optim.swa_utils.update_bn([dynagrad.tensor([[0.0], [2.0]]), dynagrad.tensor([[4.0], [6.0]])], bn)
    >>> bn.running_mean
    tensor([3.])
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for input in loader:
        if isinstance(input, (list, tuple)):
            input = input[0]
        if device is not None:
            input = input.to(device)
        model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to ``swa_lr`` (one value, or one per group) over
    ``anneal_epochs`` steps, by ``'cos'`` or ``'linear'`` interpolation, then hold it.

    >>> import dynagrad
    >>> opt = dynagrad.optim.SGD([dynagrad.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = dynagrad.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=2, anneal_strategy="linear")
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.55, 0.1, 0.1]
    """

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha: float):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        # the lr before annealing is recovered from the current one, so SWALR chains with other schedulers
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer and the anneal function."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
