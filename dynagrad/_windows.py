"""The window functions of ``torch.*``: hann, hamming, blackman, bartlett and kaiser, as ATen computes
them (in the requested dtype, op by op; a periodic window is the symmetric window of length + 1 without its
last point).

>>> import dynagrad
>>> dynagrad.hann_window(4)
tensor([0.0000, 0.5000, 1.0000, 0.5000])
>>> dynagrad.hann_window(5, periodic=False)
tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
"""
from __future__ import annotations

import math

from . import dtypes
from .backend import xp
from .tensor import Tensor, _check_device

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


def _setup(name: str, window_length, dtype, device, layout, pin_memory):
    if isinstance(window_length, bool) or not isinstance(window_length, int):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    _check_device(device, True, pin_memory)
    if layout is not None and str(layout) not in ("torch.strided", "strided"):
        raise RuntimeError(f"{name} is not implemented for sparse types, got: {layout}")
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    return dt


def _work_dtype(dt):
    """NumPy dtype the window is computed in: the dtype itself (NumPy rounds float16 after each op as
    PyTorch's CPU kernels do), float32 for the ml_dtypes types."""
    npd = dt.numpy
    return npd if npd in (xp.float16, xp.float32, xp.float64) else xp.dtype(xp.float32)


def _finish(arr, dt, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(xp.ascontiguousarray(arr).astype(dt.numpy, copy=False))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _trivial(window_length: int, dt, requires_grad: bool):
    if window_length == 0:
        return _finish(xp.zeros(0), dt, requires_grad)
    if window_length == 1:
        return _finish(xp.ones(1), dt, requires_grad)
    return None


def _hamming(name, window_length, periodic, alpha, beta, dtype, layout, device, pin_memory, requires_grad):
    dt = _setup(name, window_length, dtype, device, layout, pin_memory)
    t = _trivial(window_length, dt, requires_grad)
    if t is not None:
        return t
    n = window_length + 1 if periodic else window_length
    w = _work_dtype(dt).type
    with xp.errstate(over="ignore", invalid="ignore"):
        x = xp.cos(xp.arange(n, dtype=w) * w(math.pi * 2.0 / (n - 1))) * w(-beta) + w(alpha)
    return _finish(x[:window_length], dt, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, layout=None, device=None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi n / (N - 1))`` (N = window_length, + 1 when ``periodic``).

    >>> import dynagrad
    >>> dynagrad.hamming_window(3, periodic=False)
    tensor([0.0800, 1.0000, 0.0800])
    """
    return _hamming("hamming_window", window_length, periodic, alpha, beta, dtype, layout, device, pin_memory,
                    requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))``; ``periodic`` (default) for spectral analysis."""
    return _hamming("hann_window", window_length, periodic, 0.5, 0.5, dtype, layout, device, pin_memory,
                    requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    dt = _setup("blackman_window", window_length, dtype, device, layout, pin_memory)
    t = _trivial(window_length, dt, requires_grad)
    if t is not None:
        return t
    n = window_length + 1 if periodic else window_length
    w = _work_dtype(dt).type
    x = xp.arange(n, dtype=w) * w(math.pi / (n - 1))
    x = xp.cos(x * w(4)) * w(0.08) - xp.cos(x * w(2)) * w(0.5) + w(0.42)
    return _finish(x[:window_length], dt, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2n / (N - 1) - 1|``."""
    dt = _setup("bartlett_window", window_length, dtype, device, layout, pin_memory)
    t = _trivial(window_length, dt, requires_grad)
    if t is not None:
        return t
    n = window_length + 1 if periodic else window_length
    w = _work_dtype(dt).type
    x = xp.arange(n, dtype=w) * w(2.0 / (n - 1))
    half = ((n - 1) >> 1) + 1
    x[half:] = w(2) - x[half:]
    return _finish(x[:window_length], dt, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, layout=None,
                  device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)`` with ``a = (N - 1) / 2``.

    >>> import dynagrad
    >>> dynagrad.kaiser_window(4, True, 2.0, dtype=dynagrad.float64)
    tensor([0.4387, 0.8348, 1.0000, 0.8348], dtype=torch.float64)
    """
    dt = _setup("kaiser_window", window_length, dtype, device, layout, pin_memory)
    t = _trivial(window_length, dt, requires_grad)
    if t is not None:
        return t
    n = window_length + 1 if periodic else window_length
    # ATen computes in the op-math type: float32 for float16/bfloat16/float32, float64 for float64
    w = xp.float64 if dt.numpy == xp.float64 else xp.float32
    from .ops.math import _i0_array
    a = w((n - 1) / 2.0)
    k = xp.arange(n, dtype=w)
    with xp.errstate(invalid="ignore"):
        arg = w(beta) * xp.sqrt(xp.abs(1 - ((k - a) / a) ** 2))
        x = _i0_array(arg) / _i0_array(xp.asarray(w(beta)))
    return _finish(x[:window_length], dt, requires_grad)
