"""Weight initialisation (``torch.nn.init``): each function fills a tensor in place, without recording a
graph, and accepts ``generator=`` to draw from a given generator instead of the global one.

>>> import dynagrad
>>> w = dynagrad.empty(3, 4)
>>> _ = dynagrad.nn.init.constant_(w, 0.5)
>>> w.sum()
tensor(6.)
"""
from __future__ import annotations

import math
import warnings

from .. import random as _random
from ..autograd import state as _state
from ..backend import xp
from ..tensor import Tensor, bump_version

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_", "sparse_"]


def _fill(tensor: Tensor, arr) -> Tensor:
    """Write ``arr`` into ``tensor``'s memory (no graph), as every init function does under no_grad."""
    tensor._data[...] = arr
    bump_version(tensor)
    return tensor


def _no_grad(fn):
    """Run ``fn`` with grad mode off (cheaper than the context manager on this path)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        prev = _state.grad_enabled
        _state.grad_enabled = False
        try:
            return fn(*args, **kwargs)
        finally:
            _state.grad_enabled = prev
    return wrapper


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity: 1 (linear, conv, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + slope**2)) (leaky_relu), 3/4 (selu)."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    dims = tensor.dim()
    if dims < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


@_no_grad
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b)."""
    return tensor.uniform_(a, b, generator=generator)  # in PyTorch's order for strided tensors too


@_no_grad
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std**2)."""
    return tensor.normal_(mean, std, generator=generator)


@_no_grad
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill with N(mean, std**2) truncated to [a, b], drawn as PyTorch 2.x draws it: when the interval
    holds more than 30% of the mass, normal draws with every out-of-range value redrawn (a whole new
    normal tensor per round); otherwise uniform proposals on [a, b] accepted with probability
    pdf / pdf(mode).

    >>> import dynagrad
    >>> w = dynagrad.nn.init.trunc_normal_(dynagrad.empty(1000), std=0.5, a=-1.0, b=1.0)
    >>> bool(w.abs().max() <= 1.0)
    True
    """
    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of "
                      "values "
                      "may be incorrect.", stacklevel=2)
    d = tensor._data
    if d.size == 0:
        return tensor
    dt = d.dtype
    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    if p > 0.3:
        lo, hi = float(xp.asarray(a).astype(dt)), float(xp.asarray(b).astype(dt))
        result = _random.normal_array(d.shape, mean, std, dt, generator, d.flags.c_contiguous)
        while True:
            mask = (result < lo) | (result > hi)
            if not mask.any():
                break
            result = xp.where(mask, _random.normal_array(d.shape, mean, std, dt, generator), result)
        return _fill(tensor, result)
    # uniform proposals; the log-density arithmetic runs op by op in the tensor's dtype, as PyTorch's
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    work = xp.float64 if dt == xp.float64 else xp.float32

    def log_pdf(c):
        c = (c.astype(work) - work(mean)).astype(dt)
        c = (c.astype(work) / work(std)).astype(dt)
        c = (c.astype(work) * c.astype(work)).astype(dt)
        c = (c.astype(work) * work(-0.5)).astype(dt)
        return (c.astype(work) - work(log_peak)).astype(dt)

    def accept_draw():
        u = _random.uniform_array(d.shape, 0.0, 1.0, dt, generator)
        return xp.log(u.astype(work)).astype(dt)

    result = _random.uniform_array(d.shape, a, b, dt, generator)
    pending = accept_draw() > log_pdf(result)
    while pending.any():
        cand = _random.uniform_array(d.shape, a, b, dt, generator)
        result = xp.where(pending, cand, result)
        pending = xp.where(pending, accept_draw() > log_pdf(cand), pending)
    return _fill(tensor, result)


@_no_grad
def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


@_no_grad
def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-D tensors)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, xp.eye(*tensor.shape, dtype=tensor._data.dtype))


@_no_grad
def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta for {3, 4, 5}-D convolution weights: convolving with it keeps the input channels."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    arr = xp.zeros(sizes, tensor._data.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            arr[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, arr)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He); gain from
    ``calculate_gain(nonlinearity, a)``."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std  # in PyTorch's order: the bound's last bit decides float64 draws
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """N(0, std**2) with std = gain / sqrt(fan) (He)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0, gain / math.sqrt(fan), generator)


@_no_grad
def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix, times ``gain``: the QR factorisation of a matrix of normal draws in the
    tensor's dtype (as PyTorch draws them), its columns' signs fixed by R's diagonal."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    dt = tensor._data.dtype
    flat = _random.normal_array((rows, cols), 0.0, 1.0, dt, generator)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat.astype(xp.float32 if dt != xp.float64 else dt))
    q = (q * xp.sign(xp.diag(r))).astype(dt)
    if rows < cols:
        q = q.T
    q = q.reshape(tensor.shape)
    if gain != 1:
        q = (q * xp.asarray(gain, q.dtype)).astype(dt)
    return _fill(tensor, q)


@_no_grad
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """A 2-D matrix with N(0, std**2) entries and a fraction ``sparsity`` of each column zeroed; as in
    PyTorch, the rows to zero come from ``randperm`` on the global generator."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    arr = _random.normal_array((rows, cols), 0.0, std, tensor._data.dtype, generator)
    for c in range(cols):
        arr[_random.randperm(rows)._data[:num_zeros], c] = 0
    return _fill(tensor, arr)


def _deprecated(new):
    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{new.__name__[:-1]}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.",
                      FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    old.__name__ = new.__name__[:-1]
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
