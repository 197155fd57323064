"""PyTorch's CPU sampling kernels on a Generator's MT19937 stream (aten/src/ATen/native/cpu/
DistributionTemplates.h and core/DistributionsHelper.h, as the x86-64 wheel compiles them).

Every function takes the generator first and a count ``n`` of values in TensorIterator order (a
contiguous tensor's memory order), and returns a flat array. The stream is consumed exactly as PyTorch
consumes it: a float uniform takes one 32-bit output, a double uniform two (high word first), so that a
seeded program draws PyTorch's numbers whatever mix of samplers it calls.
"""
from __future__ import annotations

import math

import numpy as np

from .exact import fma32, fma64, libm, log_unit, sincos_pos

_F32, _F64 = np.float32, np.float64
_TWO_PI = 2.0 * math.pi
_TWO_PI_F = _F32(_TWO_PI)


def _reduced(np_dtype) -> bool:
    """float16 or bfloat16 (computed in float32, as PyTorch's opmath type)."""
    return np_dtype == np.float16 or np_dtype.kind == "V" or np_dtype.name == "bfloat16"


def cast(values: np.ndarray, np_dtype) -> np.ndarray:
    """``static_cast<scalar_t>`` of float64 results: half and bfloat16 go through float, as C++ does."""
    np_dtype = np.dtype(np_dtype)
    if values.dtype == np_dtype:
        return values
    if values.dtype == _F64 and _reduced(np_dtype):
        values = values.astype(_F32)
    return values.astype(np_dtype)


# -- uniform --------------------------------------------------------------------------------------------------
# Draws are made in chunks: the temporaries of a chunk stay in cache and are reused, which on large tensors
# is several times faster than whole-array temporaries.

CHUNK = 1 << 15


_MASK24, _MASK53 = np.uint32(0xFFFFFF), np.uint64((1 << 53) - 1)


def u24(gen, n: int) -> np.ndarray:
    """``uniform_real_distribution<float>(0, 1)``: the low 24 bits of one 32-bit output, times 2**-24."""
    out = np.empty(n, _F32)
    for i in range(0, n, CHUNK):
        k = min(CHUNK, n - i)
        w = gen._words(k)
        w &= _MASK24
        np.multiply(w, _F32(2.0 ** -24), out=out[i:i + k], dtype=_F32)
    return out


def u53(gen, n: int) -> np.ndarray:
    """``uniform_real_distribution<double>(0, 1)``: the low 53 bits of ``random64()``, times 2**-53."""
    out = np.empty(n, _F64)
    for i in range(0, n, CHUNK):
        k = min(CHUNK, n - i)
        v = gen._raw64(k)
        v &= _MASK53
        np.multiply(v, 2.0 ** -53, out=out[i:i + k], dtype=_F64)
    return out


def uniform(gen, n: int, low: float, high: float, np_dtype) -> np.ndarray:
    """``uniform_(low, high)``: ``u * (high - low) + low`` fused, in the tensor's precision (float for half
    and bfloat16, whose results that round up to ``high`` become ``low``)."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype == _F64:
        return fma64(u53(gen, n), high - low, low)
    lo, hi = _F32(low), _F32(high)
    out = fma32(u24(gen, n), hi - lo, lo)
    if np_dtype == _F32:
        return out
    out = out.astype(np_dtype)
    lo_s = np.asarray(low, _F64).astype(_F32).astype(np_dtype)
    hi_s = np.asarray(high, _F64).astype(_F32).astype(np_dtype)
    out[out == hi_s] = lo_s
    return out


# -- normal ---------------------------------------------------------------------------------------------------

def _box_muller_16_f32(u: np.ndarray, mean, std) -> np.ndarray:
    """normal_fill_16 of the AVX2 kernel on rows of 16 float32 uniforms (in place)."""
    u1 = _F32(1) - u[:, :8]
    u2 = u[:, 8:]
    radius = np.sqrt(_F32(-2) * log_unit(u1))
    s, c = sincos_pos(_TWO_PI_F * u2)
    mean, std = _F32(mean), _F32(std)
    if mean == 0 and std == 1:  # fma(x, 1, 0) is x + 0 (which turns -0 into +0)
        np.add(radius * c, _F32(0), out=u[:, :8])
        np.add(radius * s, _F32(0), out=u[:, 8:])
        return u
    u[:, :8] = fma32(radius * c, std, mean)
    u[:, 8:] = fma32(radius * s, std, mean)
    return u


def _box_muller_16_f64(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The scalar normal_fill_16 on rows of 16 double uniforms (glibc's log, cos and sin; std::fma)."""
    radius = np.sqrt(-2 * libm("log", 1 - u[:, :8]))
    theta = _TWO_PI * u[:, 8:]
    u[:, :8] = fma64(radius * libm("cos", theta), std, mean)
    u[:, 8:] = fma64(radius * libm("sin", theta), std, mean)
    return u


_BM_CHUNK = 1 << 13  # values per block of the float32 Box-Muller (measured best of 2**11..2**16)


def normal(gen, n: int, mean: float, std: float, np_dtype, contiguous: bool = True) -> np.ndarray:
    """``normal_(mean, std)``. Contiguous tensors of 16 or more values take the vectorised kernel:
    uniforms in blocks of 16, each block's first 8 and last 8 a Box-Muller pair; a partial last block
    is redrawn as the 16 values ending at the tensor's end. Below 16 values, or for a non-contiguous
    tensor, one double Box-Muller pair per two values (the second cached in the generator)."""
    np_dtype = np.dtype(np_dtype)
    if n < 16 or not contiguous:
        return cast(normal_serial(gen, n, mean, std), np_dtype)
    full = n - n % 16
    if np_dtype == _F64:
        u = u53(gen, n)
        out = u
        _box_muller_16_f64(u[:full].reshape(-1, 16), mean, std)
        if n % 16:
            out[n - 16:] = _box_muller_16_f64(u53(gen, 16).reshape(1, 16), mean, std).ravel()
        return out
    # float32 fills the whole tensor with uniforms first; half and bfloat16 draw 16 at a time, so a
    # partial last block's redraw follows the full blocks directly
    u = u24(gen, n if np_dtype == _F32 else full)
    out = np.empty(n, _F32)
    for i in range(0, full, _BM_CHUNK):  # blocks of rows: the polynomial's temporaries stay in cache
        k = min(_BM_CHUNK, full - i)
        out[i:i + k] = _box_muller_16_f32(u[i:i + k].reshape(-1, 16), mean, std).ravel()
    if n % 16:
        out[n - 16:] = _box_muller_16_f32(u24(gen, 16).reshape(1, 16), mean, std).ravel()
    return out if np_dtype == _F32 else out.astype(np_dtype)


def standard_normal_serial(gen, n: int) -> np.ndarray:
    """``n`` draws of ``normal_distribution<double>(0, 1)``: Box-Muller on two double uniforms, returning
    ``r cos(theta)`` and keeping ``r sin(theta)`` for the next draw (also across calls)."""
    out = np.empty(n, _F64)
    if n == 0:
        return out
    start = 0
    if gen._next_double is not None:
        out[0] = gen._next_double
        gen._next_double = None
        start = 1
    pairs = (n - start + 1) // 2
    if pairs:
        u = u53(gen, 2 * pairs).reshape(pairs, 2)
        r = np.sqrt(-2.0 * libm("log1p", -u[:, 1]))
        theta = _TWO_PI * u[:, 0]
        vals = np.empty((pairs, 2), _F64)
        vals[:, 0] = r * libm("cos", theta)
        vals[:, 1] = r * libm("sin", theta)
        vals = vals.ravel()
        out[start:] = vals[:n - start]
        if (n - start) % 2:
            gen._next_double = float(vals[-1])
    return out


def normal_serial(gen, n: int, mean: float, std: float) -> np.ndarray:
    """``normal_distribution<double>(mean, std)`` draws: ``z * std + mean`` fused."""
    z = standard_normal_serial(gen, n)
    if mean == 0 and std == 1:
        return z
    return fma64(z, float(std), float(mean))


# -- bernoulli ------------------------------------------------------------------------------------------------

def bernoulli_scalar(gen, n: int, p: float) -> np.ndarray:
    """``bernoulli_(p)`` with a Python float (what dropout draws): a double uniform ``< p``. Compared as
    integers: ``u53 < p`` exactly when the 53-bit mantissa is below ``ceil(p * 2**53)``.

    PyTorch's source also has an MKL path for this kernel on Intel CPUs (VSL's MCG31 stream seeded from
    one ``random()``); the 2.13 wheel does not take it (measured on an Intel Xeon: its masks and its
    generator state after them are the default kernel's, also past 10,000 elements)."""
    out = np.empty(n, bool)
    threshold = np.uint64(math.ceil(min(max(p, 0.0), 1.0) * 2.0 ** 53))  # p * 2**53 is exact
    for i in range(0, n, CHUNK):
        k = min(CHUNK, n - i)
        v = gen._raw64(k)
        v &= _MASK53
        np.less(v, threshold, out=out[i:i + k])
    return out


def bernoulli_tensor(gen, probs: np.ndarray) -> np.ndarray:
    """``bernoulli_(p_tensor)`` on flat probabilities: double probabilities compare with double uniforms,
    every other dtype with float uniforms (in float)."""
    if probs.dtype == _F64:
        return u53(gen, probs.size) < probs
    return u24(gen, probs.size) < probs.astype(_F32)


# -- other continuous distributions -----------------------------------------------------------------------

def exponential(gen, n: int, lambd: float) -> np.ndarray:
    """``-1 / lambd * log1p(-u)`` in double."""
    return (-1.0 / lambd) * libm("log1p", -u53(gen, n))


def geometric(gen, n: int, p: float) -> np.ndarray:
    """``ceil(log(u) / log1p(-p))`` in double."""
    return np.ceil(libm("log", u53(gen, n)) / math.log1p(-p))


def cauchy(gen, n: int, median: float, sigma: float) -> np.ndarray:
    """``median + sigma * tan(pi * (u - 0.5))`` in double, fused."""
    t = libm("tan", math.pi * (u53(gen, n) - 0.5))
    return fma64(sigma, t, median)


def log_normal(gen, n: int, mean: float, std: float) -> np.ndarray:
    """``exp`` of ``normal_distribution<double>(mean, std)`` draws (sharing the cached second value)."""
    return libm("exp", normal_serial(gen, n, mean, std))


# -- integers -------------------------------------------------------------------------------------------------

_WIDE = ("int64", "float64", "float32", "bfloat16")  # the dtypes random_(-2**63) accepts


def random_from_to(gen, n: int, low: int, span: int, np_dtype) -> np.ndarray:
    """``random_(low, low + span)``: ``raw % span + low``, with 64-bit draws when ``span >= 2**28`` (the
    threshold PyTorch 2.13 uses, measured against it; older versions switched at 2**32)."""
    np_dtype = np.dtype(np_dtype)
    if span >= 1 << 28:
        raw = gen._raw64(n)
    else:
        raw = gen._raw32(n)
    if span == 1 << 64:
        vals = raw.view(np.int64)
    else:
        vals = (raw % np.uint64(span)).astype(np.int64)
    vals = vals + np.int64(low) if low else vals
    return _int_cast(vals, np_dtype)


def _int_cast(vals: np.ndarray, np_dtype) -> np.ndarray:
    """``static_cast<scalar_t>(int64)``: floats round, integers wrap."""
    if np_dtype.kind in "fV":
        return cast(vals.astype(_F64), np_dtype) if np_dtype != _F64 else vals.astype(_F64)
    if np_dtype == np.bool_:
        return vals != 0
    return vals.astype(np_dtype)


def random_full(gen, n: int, np_dtype) -> np.ndarray:
    """``random_()``: ``[0, 2**mantissa]`` for floats, ``[0, max]`` for integers, {0, 1} for bool."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype == np.int64:
        return (gen._raw64(n) % np.uint64(1 << 63)).astype(np.int64)
    if np_dtype == _F64:
        return (gen._raw64(n) % np.uint64((1 << 53) + 1)).astype(_F64)
    raw = gen._raw32(n)
    if np_dtype == np.bool_:
        return (raw & 1).astype(bool)
    if np_dtype.kind in "fV":
        bits = {np.dtype(_F32): 24, np.dtype(np.float16): 11}.get(np_dtype, 8)
        return _int_cast((raw % np.uint64((1 << bits) + 1)).astype(np.int64), np_dtype)
    return (raw % np.uint64(int(np.iinfo(np_dtype).max) + 1)).astype(np_dtype)


def randperm(gen, n: int) -> np.ndarray:
    """``randperm(n)``: Fisher-Yates, swapping ``i`` with ``i + random() % (n - i)``; from n = 2**32 / 20 on,
    PyTorch's inside-out shuffle with ``random64() % (i + 1)``."""
    if n < 2:
        return np.arange(n, dtype=np.int64)
    if n < 0xFFFFFFFF // 20:
        picks = (gen._raw32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        lst = list(range(n))
        for i, z in enumerate(picks):
            j = i + z
            lst[i], lst[j] = lst[j], lst[i]
        return np.asarray(lst, np.int64)
    picks = (gen._raw64(n) % np.arange(1, n + 1, dtype=np.uint64)).tolist()  # pragma: no cover - huge n
    lst = [0] * n
    for i, z in enumerate(picks):
        lst[i] = lst[z]
        lst[z] = i
    return np.asarray(lst, np.int64)


# -- multinomial ----------------------------------------------------------------------------------------------

def multinomial_with_replacement(gen, probs: np.ndarray, n_sample: int) -> np.ndarray:
    """Rows of category indices: the running sum of each row (in its dtype; float for half and bfloat16)
    divided by the total, its last entry set to 1, searched for one double uniform per sample."""
    work = _F32 if _reduced(probs.dtype) else probs.dtype
    cum = np.cumsum(probs.astype(work), axis=1, dtype=work)
    total = cum[:, -1:].copy()
    cum /= total
    cum[:, -1] = 1
    u = u53(gen, probs.shape[0] * n_sample).reshape(probs.shape[0], n_sample)
    out = np.empty(u.shape, np.int64)
    for i in range(probs.shape[0]):
        out[i] = np.searchsorted(cum[i].astype(_F64), u[i], side="left")
    return out
