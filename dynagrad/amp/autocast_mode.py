"""``autocast``: run each op in the precision PyTorch's CPU autocast gives it.

Inside ``with dynagrad.autocast(device_type="cpu", dtype=dynagrad.bfloat16):`` the generic op dispatcher
(``Op.apply``) casts floating inputs of matrix products and convolutions to the low dtype, and those of
reductions, softmax, normalisation and losses to float32; other ops run in the promoted type of their
inputs. Casts are differentiable, so gradients reach float32 parameters in float32. bfloat16 comes from
the ml_dtypes package. Outside autocast the dispatcher checks a single flag.
"""
from __future__ import annotations

import functools
import re
import warnings

from .. import dtypes
from ..autograd import state
from ..backend import xp

# PyTorch's CPU policy, by primitive (grad_fn) name
_LOWER = re.compile(r"^(Mm|Bmm|Addmm|Baddbmm|Mv|Dot|Einsum|Linear|Convolution|Conv\w*|ConvTranspose\w*|"
                    r"Matmul|Addbmm|Addmv|Bilinear|Prelu|Lstm\w*|Gru\w*|Rnn\w*)Backward\d*$")
_FP32 = re.compile(r"(Loss|Nll|CrossEntropy|Mse|L1|SmoothL1|Huber|Kl|Bce|BinaryCrossEntropy|Softmax|LogSoftmax|"
                   r"Logsumexp|Sum|Mean|Prod|Var|Std|Norm|Cumsum|Cumprod|Dist|"
                   r"Cosine|Trace|Det|Inverse|Solve)\w*Backward\d*$")
_policy_cache: dict = {}


def _policy(cls) -> str:
    p = _policy_cache.get(cls)
    if p is None:
        name = cls.__name__
        p = getattr(cls, "autocast_policy", None) or (
            "lower" if _LOWER.match(name) else ("fp32" if _FP32.search(name) else "promote"))
        _policy_cache[cls] = p
    return p


def cast_inputs(cls, inputs: tuple) -> tuple:
    """The inputs of op ``cls`` as autocast wants them (called by Op.apply while autocast is on)."""
    policy = _policy(cls)
    if policy == "promote":
        return inputs
    target = state.autocast_dtype if policy == "lower" else xp.dtype(xp.float32)
    from ..tensor import Tensor
    out = []
    changed = False
    for x in inputs:
        if isinstance(x, Tensor):
            dt = x._data.dtype
            # as in PyTorch, only floating tensors other than float64 are eligible
            if dt.kind in "fV" and dt != xp.float64 and dt != target:
                x = x.to(dtypes.from_numpy(target))
                changed = True
        out.append(x)
    return tuple(out) if changed else inputs


class autocast:  # noqa: N801 - PyTorch's name
    """Context manager and decorator enabling mixed precision for ops run inside.

    >>> import dynagrad
    >>> a = dynagrad.randn(4, 4)
    >>> with dynagrad.autocast(device_type="cpu", dtype=dynagrad.bfloat16):
    ...     (a @ a).dtype
    torch.bfloat16
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        from ..tensor import device as _device
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        _device(device_type)  # PyTorch's RuntimeError for a name that is no device type
        if dtype is None:
            dtype = dtypes.bfloat16 if device_type == "cpu" else dtypes.float16
        dtype = dtypes.as_dtype(dtype)
        if device_type == "cpu" and enabled and dtype not in (dtypes.bfloat16, dtypes.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                          "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                          UserWarning, stacklevel=2)
            enabled = False
        if device_type == "cuda" and enabled:
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", UserWarning,
                          stacklevel=2)
            enabled = False
        # autocast for another device type changes no CPU op, as in PyTorch
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, enabled
        self._active = enabled and device_type == "cpu"

    def __enter__(self):
        self._prev = state.autocast_dtype
        if self._active:
            state.autocast_dtype = self.fast_dtype.numpy
        elif self.device_type == "cpu":
            state.autocast_dtype = None
        return self

    def __exit__(self, *exc) -> None:
        state.autocast_dtype = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*a, **k)
        return wrapper


def get_autocast_dtype(device_type: str):
    """The low-precision dtype autocast uses for ``device_type`` (PyTorch's defaults: bfloat16 on the CPU,
    float16 elsewhere)."""
    if device_type != "cpu":
        return dtypes.float16
    return dtypes.from_numpy(state.autocast_dtype) if state.autocast_dtype is not None else dtypes.bfloat16


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type``; with no argument PyTorch asks about CUDA (never here)."""
    return device_type == "cpu" and state.autocast_dtype is not None


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast knows ``device_type`` (PyTorch answers for the device type, not for a device)."""
    return device_type in ("cpu", "cuda", "mps", "xpu", "xla", "hpu", "ipu", "mtia", "maia", "privateuseone")


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorator for custom Function.forward (accepted; autocast state is left as is)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd=None, *, device_type: str):
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
