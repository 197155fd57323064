"""PyTorch's samplers whose number of draws per element varies: gamma (Marsaglia-Tsang), Poisson (Hoermann's
transformed rejection, or multiplying uniforms below rate 10), binomial (BTRS or inversion) and Dirichlet
(aten/src/ATen/native/Distributions.h and Distributions.cpp).

Each element's draws depend on where the previous element's draws left the stream, so elements are
sampled one after another. The usual case (every element accepted at its first try) is computed for a
window of elements at once, vectorised, and kept up to the first element that needed more; that element
is sampled by the scalar code and the next window starts after it. Both paths do the same arithmetic, in
the same order and precision, as PyTorch's C++ (these files are compiled without fused multiply-adds).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from .exact import libm
from .kernels import u53

_F32 = np.float32
_TWO_PI = 2.0 * math.pi
_THIRD = _F32(1.0) / _F32(3.0)  # the C++ writes 1.0f / 3.0f, a float even for double tensors
_SQUEEZE = float(_F32(0.0331))


def _load_log1pf():
    """glibc's float ``log1p`` (``std::log1p`` of a float), which binomial inversion uses."""
    name = ctypes.util.find_library("m")
    if name:
        try:
            f = ctypes.CDLL(name).log1pf
            f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
            return lambda v: float(f(v))
        except (OSError, AttributeError):  # pragma: no cover - no C maths library to call
            pass
    return lambda v: float(np.log1p(_F32(v)))  # pragma: no cover


_log1pf = _load_log1pf()


class Stream:
    """Double uniforms (and ``normal_distribution<double>`` draws, with the generator's cached second
    value) taken one at a time from blocks drawn ahead; :meth:`close` leaves the generator exactly after
    the values used."""

    def __init__(self, gen, block: int = 256) -> None:
        self.gen = gen
        self.saved = gen._bits.state
        self.fresh = gen._fresh
        self.block = block
        self.buf: list = []
        self.pos = 0
        self.used = 0  # uniforms handed out

    def uniform(self) -> float:
        if self.pos == len(self.buf):
            self._refill(self.block)
        v = self.buf[self.pos]
        self.pos += 1
        self.used += 1
        return v

    def _refill(self, k: int) -> None:
        self.buf = u53(self.gen, k).tolist()
        self.pos = 0
        self.block = min(self.block * 2, 1 << 16)

    def peek(self, k: int) -> np.ndarray:
        """The next ``k`` uniforms, without using them."""
        have = len(self.buf) - self.pos
        if have < k:
            more = u53(self.gen, max(k - have, self.block)).tolist()
            self.buf = self.buf[self.pos:] + more
            self.pos = 0
            self.block = min(self.block * 2, 1 << 16)
        return np.asarray(self.buf[self.pos:self.pos + k])

    def skip(self, k: int) -> None:
        self.pos += k
        self.used += k

    def normal(self) -> float:
        gen = self.gen
        cached = gen._next_double
        if cached is not None:
            gen._next_double = None
            return cached
        u1 = self.uniform()
        u2 = self.uniform()
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = _TWO_PI * u1
        gen._next_double = r * math.sin(theta)
        return r * math.cos(theta)

    def close(self) -> None:
        gen = self.gen
        gen._bits.state = self.saved
        gen._fresh = self.fresh
        if self.used:
            gen._raw32(2 * self.used)


# -- gamma ----------------------------------------------------------------------------------------------------

def _gamma_one(alpha, st: Stream, single: bool) -> float:
    """sample_gamma: ``alpha`` is the tensor's scalar type (the float32 steps stay in float32)."""
    scale = 1.0
    if single:
        a = _F32(alpha)
        if a < 1:
            if a == 0:
                return 0.0
            scale *= math.pow(1 - st.uniform(), float(_F32(1) / a))
            a = a + _F32(1)
        d = float(a - _THIRD)
    else:
        a = float(alpha)
        if a < 1:
            if a == 0:
                return 0.0
            scale *= math.pow(1 - st.uniform(), 1.0 / a)
            a += 1.0
        d = a - float(_THIRD)
    c = 1.0 / math.sqrt(9.0 * d)
    squeeze = _SQUEEZE
    while True:
        while True:
            x = st.normal()
            y = 1.0 + c * x
            if y > 0:
                break
        v = y * y * y
        u = 1 - st.uniform()
        xx = x * x
        if u < 1.0 - squeeze * xx * xx:
            return scale * d * v
        if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
            return scale * d * v


def _gamma_window(alphas: np.ndarray, st: Stream, single: bool) -> tuple[np.ndarray, int]:
    """First-try samples for a window of elements, vectorised, and how many of them stand: those before the
    first element whose normal gives ``y <= 0`` or whose candidate is rejected."""
    gen = st.gen
    n = alphas.size
    zero = alphas == 0
    if single:
        a = alphas.astype(_F32)
        boost = a < 1
        inv = (_F32(1) / np.where(boost, a, _F32(1))).astype(np.float64)
        a = np.where(boost, a + _F32(1), a)
        d = (a - _THIRD).astype(np.float64)
    else:
        a = alphas.astype(np.float64)
        boost = a < 1
        inv = 1.0 / np.where(boost, a, 1.0)
        a = np.where(boost, a + 1.0, a)
        d = a - float(_THIRD)
    boost &= ~zero
    c = 1.0 / np.sqrt(9.0 * d)
    # A normal draws a new Box-Muller pair when the generator holds no cached value: the cache flips with
    # every normal drawn, and zero-concentration elements draw none.
    before = np.cumsum(~zero) - (~zero)
    cached0 = gen._next_double is not None
    new_pair = ((before % 2) == 1) == cached0
    count = np.where(zero, 0, boost + 2 * new_pair + 1)
    offs = np.zeros(n + 1, np.int64)
    np.cumsum(count, out=offs[1:])
    u = st.peek(int(offs[-1]))
    at = offs[:-1]
    scale = np.ones(n)
    if boost.any():
        ib = np.flatnonzero(boost)
        scale[ib] = [math.pow(1 - b, e) for b, e in zip(u[at[ib]].tolist(), inv[ib].tolist())]
    p = np.minimum(at + boost, max(u.size - 1, 0))
    q = np.minimum(p + 1, max(u.size - 1, 0))
    r = np.sqrt(-2.0 * libm("log1p", -u[q]))
    theta = _TWO_PI * u[p]
    cosv = r * libm("cos", theta)
    sinv = r * libm("sin", theta)
    # an element without a new pair takes the sine of the latest pair drawn before it (or the cache)
    drew = np.where(new_pair & ~zero, np.arange(n), -1)
    latest = np.maximum.accumulate(drew)
    prev = np.concatenate(([-1], latest[:-1]))
    reuse = np.where(prev >= 0, sinv[np.maximum(prev, 0)], gen._next_double if cached0 else 0.0)
    x = np.where(new_pair, cosv, reuse)
    y = 1.0 + c * x
    v = y * y * y
    uu = 1 - u[np.minimum(at + boost + 2 * new_pair, max(u.size - 1, 0))]
    xx = x * x
    first = uu < 1.0 - _SQUEEZE * xx * xx
    second = libm("log", uu) < 0.5 * xx + d * (1.0 - v + libm("log", np.where(v > 0, v, 1.0)))
    good = zero | ((y > 0) & (first | second))
    bad = np.flatnonzero(~good)
    m = int(bad[0]) if bad.size else n
    vals = np.where(zero, 0.0, scale * d * v)[:m]
    st.skip(int(offs[m]))
    drawn = np.flatnonzero(~zero[:m])
    if drawn.size:
        last = drawn[-1]
        gen._next_double = float(sinv[last]) if new_pair[last] else None
    return vals, m


def standard_gamma(gen, alphas: np.ndarray, window: int = 64) -> np.ndarray:
    """``_standard_gamma``: one sample per element (float64 results, before the cast to the tensor's
    type and the clamp at its smallest normal)."""
    flat = np.ascontiguousarray(alphas).ravel()
    single = flat.dtype != np.float64
    out = np.empty(flat.size, np.float64)
    st = Stream(gen)
    try:
        i = 0
        n = flat.size
        while i < n:
            if n - i >= 8:
                vals, m = _gamma_window(flat[i:i + window], st, single)
                out[i:i + m] = vals
                i += m
                if i >= n:
                    break
            out[i] = _gamma_one(flat[i], st, single)
            i += 1
    finally:
        st.close()
    return out


# -- Poisson --------------------------------------------------------------------------------------------------

def _poisson_one(lam: float, st: Stream) -> int:
    if lam >= 10:
        slam = math.sqrt(lam)
        loglam = math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            U = st.uniform() - 0.5
            V = st.uniform()
            us = 0.5 - abs(U)
            k = math.floor((2 * a / us + b) * U + lam + 0.43)
            if us >= 0.07 and V <= vr:
                return k
            if k < 0 or (us < 0.013 and V > us):
                continue
            if (math.log(V) + math.log(invalpha) - math.log(a / (us * us) + b)) <= \
                    (-lam + k * loglam - math.lgamma(k + 1)):
                return k
    if lam == 0:
        return 0
    enlam = math.exp(-lam)
    x = 0
    prod = 1.0
    while True:
        prod *= st.uniform()
        if prod > enlam:
            x += 1
        else:
            return x


def poisson(gen, rates: np.ndarray) -> np.ndarray:
    """``torch.poisson``: one sample per element (float64 counts)."""
    flat = np.ascontiguousarray(rates).ravel().astype(np.float64)
    if (flat < 0).any() or np.isnan(flat).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    st = Stream(gen)
    try:
        out = [float(_poisson_one(lam, st)) for lam in flat.tolist()]
    finally:
        st.close()
    return np.asarray(out, np.float64)


# -- binomial -------------------------------------------------------------------------------------------------

_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
         0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
         0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k: float) -> float:
    if k < 10:
        return _TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


class _F:
    """Arithmetic in the tensor's scalar type: float32 rounding after each step when ``single``."""

    def __init__(self, single: bool) -> None:
        self.single = single

    def __call__(self, v: float) -> float:
        return float(_F32(v)) if self.single else v


def _binomial_inversion(count, prob, st: Stream, f: _F) -> float:
    logprob = _log1pf(-prob) if f.single else math.log1p(-prob)
    geom_sum = 0.0
    num = 0.0
    while True:
        geom = math.ceil(math.log(st.uniform()) / logprob)
        geom_sum += geom
        if geom_sum > count:
            return num
        num = f(num + 1)


def _btrs(count, prob, st: Stream, f: _F) -> float:
    stddev = math.sqrt(f(f(count * prob) * f(1 - prob)))
    if f.single:
        stddev = float(_F32(stddev))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = f(count * prob) + 0.5
    v_r = 0.92 - 4.2 / b
    r = f(prob / f(1 - prob))
    alpha = (2.83 + 5.1 / b) * stddev
    m = float(math.floor(f(f(count + 1) * prob)))
    while True:
        U = st.uniform() - 0.5
        V = st.uniform()
        us = 0.5 - abs(U)
        k = f(math.floor((2 * a / us + b) * U + c))
        if k < 0 or k > count:
            continue
        if us >= 0.07 and V <= v_r:
            return k
        V = math.log(V * alpha / (a / (us * us) + b))
        cmk1 = f(f(count - k) + 1)
        upper = ((m + 0.5) * math.log((m + 1) / (r * (count - m + 1)))
                 + f(count + 1) * math.log((count - m + 1) / cmk1)
                 + (k + 0.5) * math.log(r * cmk1 / f(k + 1))
                 + _stirling_tail(m) + _stirling_tail(count - m)
                 - _stirling_tail(k) - _stirling_tail(f(count - k)))
        if V <= upper:
            return k


def _binomial_one(count, prob, st: Stream, f: _F) -> float:
    if count <= 0.0 or prob <= 0.0:
        return 0.0
    if prob >= 1.0:
        return count
    if prob <= 0.5:
        if f(count * prob) >= 10.0:
            return _btrs(count, prob, st, f)
        return _binomial_inversion(count, prob, st, f)
    if prob > 0.5:
        q = f(1.0 - prob)
        if f(count * q) >= 10.0:
            return f(count - _btrs(count, q, st, f))
        return f(count - _binomial_inversion(count, q, st, f))
    return math.nan


def binomial(gen, count: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """``torch.binomial``: one sample per element of the broadcast (count, prob) (float64 results)."""
    count, prob = np.broadcast_arrays(count, prob)
    single = count.dtype != np.float64
    f = _F(single)
    st = Stream(gen)
    try:
        out = [_binomial_one(n, p, st, f)
               for n, p in zip(np.ravel(count).astype(np.float64).tolist(),
                               np.ravel(prob).astype(np.float64).tolist())]
    finally:
        st.close()
    return np.asarray(out, np.float64).reshape(count.shape)
