"""``GradScaler``: dynamic loss scaling for float16 training, with inf/NaN step skipping.

Scale the loss before backward so small float16 gradients do not underflow; ``unscale_`` divides the
gradients back (call it before gradient clipping); ``step`` skips the optimizer step when any gradient is
inf or NaN; ``update`` halves the scale after such a step and doubles it after ``growth_interval`` clean
steps, exactly as PyTorch's scaler does.
"""
from __future__ import annotations

import warnings
from collections import defaultdict

from ..autograd.grad_mode import no_grad
from ..backend import xp


class GradScaler:
    """Loss scaler for mixed-precision training.

    >>> import dynagrad
    >>> w = dynagrad.ones(2, requires_grad=True)
    >>> opt = dynagrad.optim.SGD([w], lr=0.1)
    >>> scaler = dynagrad.amp.GradScaler("cpu")
    >>> scaler.scale((w * 3).sum()).backward()
    >>> scaler.step(opt); scaler.update()
    >>> w
    tensor([0.7000, 0.7000], requires_grad=True)
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        if enabled and device == "cuda":  # PyTorch's default device; with no GPU the scaler turns itself off
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          UserWarning, stacklevel=2)
            enabled = False
        self._device = device
        self._enabled = enabled
        self._init_scale = init_scale
        self._scale = float(init_scale)
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer = defaultdict(lambda: {"stage": "ready", "found_inf": False})

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def scale(self, outputs):
        """Multiply a loss (or a nested structure of them) by the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale, in place, and record whether any is inf/NaN."""
        if not self._enabled:
            return
        st = self._per_optimizer[id(optimizer)]
        if st["stage"] == "unscaled":
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] == "stepped":
            raise RuntimeError("unscale_() is being called after step().")
        inv = 1.0 / self._scale
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad._data
                    if g.dtype == xp.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    g *= g.dtype.type(inv) if g.dtype.kind == "f" else inv
                    p.grad._vc[0] += 1
                    if not found and not xp.isfinite(g).all():
                        found = True
        st["found_inf"] = found
        st["stage"] = "unscaled"

    def step(self, optimizer, *args, **kwargs):
        """Unscale if needed, then step the optimizer unless a gradient was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        st = self._per_optimizer[id(optimizer)]
        if st["stage"] == "stepped":
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == "ready":
            self.unscale_(optimizer)
        result = None
        if not st["found_inf"]:
            result = optimizer.step(*args, **kwargs)
        st["stage"] = "stepped"
        return result

    def update(self, new_scale=None) -> None:
        """Adjust the scale: back off after an inf/NaN step, grow after ``growth_interval`` clean ones."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        else:
            states = [s for s in self._per_optimizer.values() if s["stage"] != "ready"]
            if not states:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(s["found_inf"] for s in states):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._per_optimizer.clear()

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._growth_tracker = state_dict["_growth_tracker"]

    def _check_inf_per_device(self, optimizer):
        warnings.warn("_check_inf_per_device is internal in PyTorch; dynagrad checks in unscale_", stacklevel=2)
        return {}
