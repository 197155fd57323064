"""``torch.signal.windows``: SciPy-style windows (``sym=True`` symmetric, ``sym=False`` periodic), computed as
PyTorch's Python implementation does, from ``linspace`` in the requested dtype (float32 or float64 only).

>>> import dynagrad
>>> dynagrad.signal.windows.gaussian(5, std=1.0)
tensor([0.1353, 0.6065, 1.0000, 0.6065, 0.1353])
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from ... import dtypes
from ...tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checks(name: str, M: int, dtype, layout):
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and str(layout) not in ("torch.strided", "strided"):
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dt not in (dtypes.float32, dtypes.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    return dt


def _empty(dt, requires_grad):
    from ...creation import empty
    return empty((0,), dtype=dt, requires_grad=requires_grad)


def _ones(dt, requires_grad):
    from ...creation import ones
    return ones((1,), dtype=dt, requires_grad=requires_grad)


def _linspace(start, end, M, dt, requires_grad):
    from ...creation import linspace
    return linspace(start, end, M, dtype=dt, requires_grad=requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype=None,
                layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """``exp(-|n - center| / tau)`` (the Poisson window)."""
    dt = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _empty(dt, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    c = 1 / tau
    k = _linspace(-center * c, (-center + (M - 1)) * c, M, dt, requires_grad)
    return (-k.abs()).exp()


def cosine(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """The sine window ``sin(pi (n + 1/2) / M)``."""
    dt = _checks("cosine", M, dtype, layout)
    if M == 0:
        return _empty(dt, requires_grad)
    c = math.pi / (M + 1 if not sym and M > 1 else M)
    return _linspace(0.5 * c, (0.5 + (M - 1)) * c, M, dt, requires_grad).sin()


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``exp(-n^2 / (2 std^2))`` centred on the window."""
    dt = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _empty(dt, requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    c = 1 / (std * math.sqrt(2))
    k = _linspace(start * c, (start + (M - 1)) * c, M, dt, requires_grad)
    return (-(k ** 2)).exp()


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2n / N - 1)^2)) / I0(beta)``, N = M - 1 if ``sym`` else M."""
    dt = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M == 0:
        return _empty(dt, requires_grad)
    if M == 1:
        return _ones(dt, requires_grad)
    from ...creation import tensor
    from ...ops.math import i0
    b = tensor(beta, dtype=dt)  # beta in the window's dtype, so beta^2 - k^2 is not negative at the ends
    start = -b
    c = 2.0 * b / (M if not sym else M - 1)
    end = b.minimum(start + (M - 1) * c)
    k = _linspace(start.item(), end.item(), M, dt, requires_grad)
    return i0((b * b - k ** 2).sqrt()) / i0(b)


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype=None, layout=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """``sum_i (-1)^i a_i cos(2 pi i n / N)``, N = M - 1 if ``sym`` else M.

    >>> import dynagrad
    >>> dynagrad.signal.windows.general_cosine(3, a=[0.5, 0.5])
    tensor([0., 1., 0.])
    """
    dt = _checks("general_cosine", M, dtype, layout)
    if M == 0:
        return _empty(dt, requires_grad)
    if M == 1:
        return _ones(dt, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    a = list(a)
    if not a:
        raise ValueError("Coefficients cannot be empty")
    from ...creation import arange, tensor
    c = 2 * math.pi / (M if not sym else M - 1)
    k = _linspace(0, (M - 1) * c, M, dt, requires_grad)
    a_i = tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dt, requires_grad=requires_grad)
    i = arange(a_i.shape[0], dtype=dt, requires_grad=requires_grad)
    return (a_i.unsqueeze(-1) * (i.unsqueeze(-1) * k).cos()).sum(0)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """``alpha - (1 - alpha) cos(2 pi n / N)``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The Hamming window (``general_hamming`` with alpha 0.54)."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """The Hann window (``general_hamming`` with alpha 0.5)."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The Blackman window (``general_cosine`` with a = [0.42, 0.5, 0.08])."""
    dt = _checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dt, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2n / N - 1|``."""
    dt = _checks("bartlett", M, dtype, layout)
    if M == 0:
        return _empty(dt, requires_grad)
    if M == 1:
        return _ones(dt, requires_grad)
    c = 2 / (M if not sym else M - 1)
    return 1 - _linspace(-1, -1 + (M - 1) * c, M, dt, requires_grad).abs()


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window of Nuttall."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)
