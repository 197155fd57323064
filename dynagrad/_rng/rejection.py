"""PyTorch's samplers whose number of draws per element varies: gamma (Marsaglia-Tsang), Poisson (Hoermann's
transformed rejection, or multiplying uniforms below rate 10), binomial (BTRS or inversion) and Dirichlet
(aten/src/ATen/native/Distributions.h and Distributions.cpp).

Each element's draws depend on where the previous element's draws left the stream (a rejected candidate
draws again), so elements are sampled one after another, in Python floats on uniforms drawn ahead in
blocks: about 1-3 us per element. (Vectorising the first try over windows of elements and redoing the
rest was measured slower: the rejections every few dozen elements leave too little to vectorise.) The
arithmetic is PyTorch's C++, in its order and precision: double, with float32 steps where the C++ computes
in the tensor's float type; these files are compiled without fused multiply-adds.
"""
from __future__ import annotations

import math

import numpy as np

from .kernels import u53

_F32 = np.float32
_TWO_PI = 2.0 * math.pi
_THIRD = _F32(1.0) / _F32(3.0)  # the C++ writes 1.0f / 3.0f, a float even for double tensors
_SQUEEZE = float(_F32(0.0331))


_LOG1PF = []


def _log1pf(v: float) -> float:
    """glibc's float ``log1p`` (``std::log1p`` of a float), which binomial inversion uses; the C library
    is looked up on first use (finding it runs ldconfig)."""
    if not _LOG1PF:
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("m")
        fn = None
        if name:
            try:
                fn = ctypes.CDLL(name).log1pf
                fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
            except (OSError, AttributeError):  # pragma: no cover - no C maths library to call
                fn = None
        _LOG1PF.append(fn)
    fn = _LOG1PF[0]
    return float(fn(v)) if fn is not None else float(np.log1p(_F32(v)))


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


def standard_gamma(gen, alphas: np.ndarray) -> np.ndarray:
    """``_standard_gamma``: one sample per element (float64 results, before the cast to the tensor's
    type and the clamp at its smallest normal)."""
    flat = np.ascontiguousarray(alphas).ravel()
    single = flat.dtype != np.float64
    st = Stream(gen)
    try:
        out = [_gamma_one(a, st, single) for a in flat.tolist()]
    finally:
        st.close()
    return np.asarray(out, np.float64)


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


def _inversion(count: float, logprob: float, st: Stream) -> float:
    """binomial_inversion: geometric gaps until they pass ``count`` (the counts stay exact integers)."""
    geom_sum = 0.0
    num = 0.0
    while True:
        geom_sum += math.ceil(math.log(st.uniform()) / logprob)
        if geom_sum > count:
            return num
        num += 1


def _btrs(count, k_consts, st: Stream) -> float:
    """BTRS's loop, given its per-element constants (computed vectorised, in the C++'s precision)."""
    a, b, c, v_r, r, alpha, m, lo_m, lo_cm = k_consts
    while True:
        U = st.uniform() - 0.5
        V = st.uniform()
        us = 0.5 - abs(U)
        k = float(math.floor((2 * a / us + b) * U + c))
        if k < 0 or k > count:
            continue
        if us >= 0.07 and V <= v_r:
            return k
        V = math.log(V * alpha / (a / (us * us) + b))
        cmk1 = count - k + 1  # integers below 2**24: exact in float32 too
        upper = (lo_m + (count + 1) * math.log((count - m + 1) / cmk1)
                 + (k + 0.5) * math.log(r * cmk1 / (k + 1))
                 + lo_cm - _stirling_tail(k) - _stirling_tail(count - k))
        if V <= upper:
            return k


def binomial(gen, count: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """``torch.binomial``: one sample per element of the broadcast (count, prob) (float64 results).

    sample_binomial works in the tensors' scalar type (float32 steps for float tensors: products of
    count and prob, ``sqrt``, ``log1p`` of a float) mixed with double constants; those per-element
    constants are computed here vectorised in the same precisions, and the rejection loops in Python."""
    count, prob = np.broadcast_arrays(count, prob)
    shape = count.shape
    single = count.dtype != np.float64
    t = _F32 if single else np.float64
    cnt = np.ravel(count).astype(t)
    pr = np.ravel(prob).astype(t)
    flip = pr > 0.5
    q = np.where(flip, (1.0 - pr.astype(np.float64)).astype(t), pr)
    cq = cnt * q
    with np.errstate(all="ignore"):
        stddev = np.sqrt(cq * (t(1) - q)).astype(np.float64)
        b = 1.15 + 2.53 * stddev
        a = -0.0873 + 0.0248 * b + 0.01 * q.astype(np.float64)
        c = cq.astype(np.float64) + 0.5
        v_r = 0.92 - 4.2 / b
        r = (q / (t(1) - q)).astype(np.float64)
        alpha = (2.83 + 5.1 / b) * stddev
        m = np.floor((cnt + t(1)) * q).astype(np.float64)
        cnt64 = cnt.astype(np.float64)
    logq = [(_log1pf(-v) if single else math.log1p(-v)) for v in q.astype(np.float64).tolist()]
    out = np.empty(cnt.size, np.float64)
    st = Stream(gen)
    try:
        for i, (n, p) in enumerate(zip(cnt64.tolist(), pr.astype(np.float64).tolist())):
            if n <= 0.0 or p <= 0.0:
                out[i] = 0.0
            elif p >= 1.0:
                out[i] = n
            elif p != p:  # NaN
                out[i] = math.nan
            else:
                if cq[i] >= 10.0:
                    mi = float(m[i])
                    lm = (mi + 0.5) * math.log((mi + 1) / (float(r[i]) * (n - mi + 1)))
                    consts = (float(a[i]), float(b[i]), float(c[i]), float(v_r[i]), float(r[i]),
                              float(alpha[i]), mi, lm, _stirling_tail(mi) + _stirling_tail(n - mi))
                    k = _btrs(n, consts, st)
                else:
                    k = _inversion(n, logq[i], st)
                out[i] = n - k if flip[i] else k
    finally:
        st.close()
    return out.reshape(shape)
