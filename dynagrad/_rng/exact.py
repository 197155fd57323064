"""The floating-point arithmetic of PyTorch's compiled CPU kernels, reproduced exactly in NumPy.

PyTorch's sampling kernels are built for AVX2/AVX512 with GCC, which fuses ``a * b + c`` into one
fused multiply-add (one rounding instead of two) wherever the source writes it; the double-precision
functions they call are glibc's; and the vectorised float32 normal kernel uses the polynomial ``log`` and
``sincos`` of ``avx_mathfun.h`` (Cephes). NumPy's own ``np.log`` differs from glibc's in the last bit for
about 0.3% of inputs, and plain NumPy ``a * b + c`` rounds twice, so a draw computed the obvious way differs
from PyTorch's in the last bit a few times in a thousand. The helpers here remove those differences:

- :func:`fma32`, :func:`fma64`: correctly rounded ``a * b + c``;
- :func:`libm`: a double-precision function equal to glibc's (NumPy where it provably agrees, Python's
  ``math``, which is glibc, for the rest);
- :func:`avx2_log`, :func:`avx2_sincos`: the float32 polynomials, operation by operation, with GCC's
  contractions.
"""
from __future__ import annotations

import math

import numpy as np

_F32, _F64 = np.float32, np.float64
_EXTENDED = np.finfo(np.longdouble).nmant >= 63  # x86 long double: enough bits to check NumPy's results


# -- fused multiply-add -----------------------------------------------------------------------------------

_LOW29, _MID29 = np.uint64(0x1FFFFFFF), np.uint64(0x10000000)


def _f64(x):
    if isinstance(x, np.ndarray):
        return x if x.dtype == _F64 else x.astype(_F64)
    return _F64(x)


def fma32(a, b, c, exact_sum: bool = False) -> np.ndarray:
    """``a * b + c`` on float32 values with a single rounding. The product of two float32 values is exact in
    float64 and the sum rounds once there; rounding that to float32 is a second rounding, which is wrong only
    when the float64 sum sits exactly halfway between two float32 values, so those few are redone exactly.
    Arguments may be float32 or float64 arrays holding float32 values (float64 ones avoid a conversion).
    ``exact_sum=True`` skips that check where the caller knows the float64 sum cannot round (its ties are
    then true ties, which rounding to even gets right).

    >>> import numpy as np
    >>> a = np.float32(1 + 2 ** -12); float(fma32(a, a, np.float32(-1))) == 2 ** -11 + 2 ** -24
    True
    """
    if isinstance(a, np.ndarray) and a.dtype == _F32:
        p = a.astype(_F64)
        p *= b
    else:
        p = np.asarray(_f64(a) * _f64(b))
    c = _f64(c)
    s = p + c
    if exact_sum:
        return s.astype(_F32)
    bits = s.view(np.uint64) & _LOW29
    tie = bits == _MID29  # halfway between two float32 (normal range)
    if tie.any():
        # A tie is harmless when the float64 sum was exact (a true tie, rounded to even either way); when
        # it was not, step the sum one float64 ulp towards the exact value so it rounds the right way.
        if np.count_nonzero(tie) * 8 > tie.size:
            pp, cc = np.broadcast_arrays(p, c)
            bb = s - pp
            err = (pp - (s - bb)) + (cc - bb)  # exact: p + c == s + err
            fix = tie & (err != 0)
            if fix.any():
                s = np.where(fix, np.nextafter(s, np.copysign(np.inf, err)), s)
        else:
            idx = np.flatnonzero(tie)
            pp = np.broadcast_to(p, s.shape).ravel()[idx]
            cc = np.broadcast_to(c, s.shape).ravel()[idx]
            ss = s.ravel()[idx]
            bb = ss - pp
            err = (pp - (ss - bb)) + (cc - bb)
            if (err != 0).any():
                s = np.array(s, copy=True)
                s.reshape(-1)[idx] = np.where(err != 0, np.nextafter(ss, np.copysign(np.inf, err)), ss)
    return s.astype(_F32)


_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitting constant for float64


def _two_prod(a, b):
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def fma64(a, b, c) -> np.ndarray:
    """``a * b + c`` on float64 values with a single rounding (error-free product and sum; the final sum of
    the two small error terms is off only when the exact result is within 2**-104 of a rounding boundary).

    >>> import numpy as np
    >>> a = np.float64(1 + 2 ** -30); float(fma64(a, a, np.float64(-1))) == 2 ** -29 + 2 ** -60
    True
    """
    a = np.asarray(a, _F64)
    b = np.asarray(b, _F64)
    c = np.asarray(c, _F64)
    p, ep = _two_prod(a, b)
    s = p + c
    bb = s - p
    es = (p - (s - bb)) + (c - bb)
    out = s + (es + ep)
    # inf/nan inputs make the error terms NaN; the plain expression is right there
    bad = ~np.isfinite(out)
    if bad.any():
        out = np.where(bad, a * b + c, out)
    return out


# -- glibc's double functions ---------------------------------------------------------------------------

_ROUNDED = frozenset({"log", "exp", "sin", "cos", "tan"})  # correctly rounded in glibc but for near-ties

def libm(name: str, x) -> np.ndarray:
    """``name(x)`` on float64 values, equal to glibc's (and so to PyTorch's ``std::name``).

    For log, exp, sin, cos and tan, NumPy's result is kept where an extended-precision evaluation shows it
    is the correctly rounded value and not near a rounding tie (glibc is correctly rounded in all but such
    near-tie cases); the rest, a few percent, are computed by Python's ``math`` module, which is glibc.
    Other functions (``log1p`` errs up to an ulp in glibc) are computed by ``math`` element by element.

    >>> import math, numpy as np
    >>> x = np.linspace(0.01, 0.99, 1000)
    >>> all(libm("log", x)[i] == math.log(x[i]) for i in range(1000))
    True
    """
    x = np.asarray(x, _F64)
    fn = getattr(np, name)
    if name not in _ROUNDED:  # glibc's other functions err up to an ulp: only glibc itself will do
        f = getattr(math, name)
        return np.frompyfunc(f, 1, 1)(x).astype(_F64) if x.ndim else np.asarray(f(float(x)))
    y = np.asarray(fn(x), _F64)
    if x.size == 0:
        return y
    if _EXTENDED:
        yl = fn(x.astype(np.longdouble))
        half = np.spacing(np.nextafter(np.abs(y), 0)).astype(np.longdouble)  # the smaller ulp at powers of 2
        with np.errstate(invalid="ignore"):
            sure = np.abs(yl - y) < 0.46 * half
        doubt = ~sure & np.isfinite(y) & (y != 0)
    else:  # pragma: no cover - no long double to check against (Windows, macOS on ARM)
        doubt = np.isfinite(x)
    idx = np.flatnonzero(doubt)
    if idx.size:
        f = getattr(math, name)
        flat = x.ravel()
        vals = []
        for v in flat[idx].tolist():
            try:
                vals.append(f(v))
            except (ValueError, OverflowError):  # domain edges: NumPy's inf/nan are right there
                vals.append(float(fn(v)))
        y = np.array(y, copy=True)
        y.reshape(-1)[idx] = vals
    return y


# -- avx_mathfun.h, as PyTorch's AVX2 normal kernel runs it -------------------------------------------------

_LOG_P = [_F64(_F32(c)) for c in (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                                   1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                                   3.3333331174E-1)]
_LOG_Q1, _LOG_Q2 = _F32(-2.12194440e-4), _F64(_F32(0.693359375))
_SQRTHF = _F32(0.707106781186547524)
_MIN_NORM = np.array(0x00800000, np.int32).view(_F32)
_HALF_BITS = int(np.array(0.5, _F32).view(np.int32))


def avx2_log(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` on float32 values (NaN for x <= 0), with the fused multiply-adds GCC emits for it.
    The last two fused steps add numbers whose exact sum fits a double for inputs in [2**-24, 1] (the
    normal kernel's ``1 - u``), so they skip :func:`fma32`'s tie check."""
    x = np.asarray(x, _F32)
    invalid = x <= 0
    x = np.maximum(x, _MIN_NORM)
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(_F32)  # x > 0 here, so the arithmetic shift is the logical one
    e += _F32(1)
    m = ((bits & ~0x7F800000) | _HALF_BITS).view(_F32)  # mantissa in [0.5, 1)
    small = m < _SQRTHF
    e -= small.astype(_F32)
    m = (m - _F32(1)) + np.where(small, m, _F32(0))
    z = m * m
    m64 = m.astype(_F64)
    y = np.full_like(m, _F32(_LOG_P[0]))
    for c in _LOG_P[1:]:
        y = fma32(y, m64, c)
    y = y * m
    y = fma32(y, z, e * _LOG_Q1)
    y = fma32(z, _F64(-0.5), y, exact_sum=True)
    m = m + y
    m = fma32(e, _LOG_Q2, m, exact_sum=True)
    if invalid.any():
        m = np.where(invalid, _F32(np.nan), m)
    return m


_DP = tuple(_F64(_F32(v)) for v in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8))
_COS_P = tuple(_F64(_F32(v)) for v in (2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002))
_SIN_P = tuple(_F64(_F32(v)) for v in (-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1))
_FOPI = _F32(1.27323954473516)


def avx2_sincos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` on float32 values: (sin, cos), with GCC's fused multiply-adds. The range reduction
    subtracts multiples of short constants; for arguments in [0, 2 pi) (the normal kernel's) its sums are
    exact in double and skip :func:`fma32`'s tie check."""
    x = np.asarray(x, _F32)
    neg = np.signbit(x)
    x = np.abs(x)
    j = (x * _FOPI).astype(np.int32)
    j = (j + 1) & ~1
    y64 = j.astype(_F64)
    swap_sin = (j & 4) != 0
    poly2 = (j & 2) == 0  # the sine polynomial gives the sine (else the cosine one does)
    cos_neg = (~(j - 2) & 4) != 0
    sin_neg = neg ^ swap_sin
    for dp in _DP:  # extended-precision reduction x - y * pi/4
        x = fma32(y64, dp, x, exact_sum=True)
    z = x * x
    z64 = z.astype(_F64)
    yc = fma32(_COS_P[0], z64, _COS_P[1])
    yc = fma32(yc, z64, _COS_P[2])
    yc = yc * z
    yc = fma32(yc, z64, -(z * _F32(0.5)))
    yc = yc + _F32(1)
    ys = fma32(_SIN_P[0], z64, _SIN_P[1])
    ys = fma32(ys, z64, _SIN_P[2])
    ys = ys * z
    ys = fma32(ys, x, x)
    s = np.where(poly2, ys, yc)
    c = np.where(poly2, yc, ys)
    np.negative(s, out=s, where=sin_neg)
    np.negative(c, out=c, where=cos_neg)
    return s, c


# -- the same polynomials, fast, for the normal kernel's arguments ------------------------------------------
# The float64 sums of the fused steps are kept in one buffer and checked for float32 ties once at the end;
# a tie (about one evaluation in 10**7) reruns the checked versions above. Steps whose float64 sum is exact
# (see avx2_log and avx2_sincos) are plain float32 operations here: rounding an exact sum once is the fused
# result.

class _Fused:
    """Fused multiply-adds on float64 operands holding float32 values, their sums kept for one tie check."""

    def __init__(self, steps: int, shape: tuple) -> None:
        self.buf = np.empty((steps,) + tuple(shape), _F64)
        self.i = 0

    def __call__(self, a64, b64, c64) -> np.ndarray:
        row = self.buf[self.i]
        self.i += 1
        np.multiply(a64, b64, out=row)
        np.add(row, c64, out=row)
        return row.astype(_F32)

    def tied(self) -> bool:
        bits = self.buf[:self.i].view(np.uint64) & _LOW29
        return bool((bits == _MID29).any())


def log_unit(x: np.ndarray) -> np.ndarray:
    """:func:`avx2_log` for float32 ``x`` in [2**-24, 1] (the normal kernel's ``1 - u``)."""
    m, e = np.frexp(x)  # m in [0.5, 1): the bit manipulation of log256_ps for normal numbers
    e = e.astype(_F32)
    small = m < _SQRTHF
    e -= small
    t = m - _F32(1)
    np.add(t, m, out=t, where=small)
    m = t
    z = m * m
    m64 = m.astype(_F64)
    fused = _Fused(10, m.shape)
    y = fused(_LOG_P[0], m64, _LOG_P[1])
    for c in _LOG_P[2:]:
        y = fused(y.astype(_F64), m64, c)
    y = y * m
    y = fused(y.astype(_F64), z.astype(_F64), (e * _LOG_Q1).astype(_F64))
    if fused.tied():
        return avx2_log(x)
    y -= z * _F32(0.5)  # exact sums: one float32 rounding is the fused result
    m = m + y
    m += e * _F32(_LOG_Q2)
    return m


_DP1 = _F32(_DP[0])


def sincos_pos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`avx2_sincos` for float32 ``x`` in [0, 2 pi) (the normal kernel's ``2 pi u``)."""
    x0 = x
    j = (x * _FOPI).astype(np.int32)
    j += 1
    j &= ~1
    y = j.astype(_F32)
    poly2 = (j & 2) == 0
    sin_neg = (j & 4) != 0
    cos_neg = (~(j - 2) & 4) != 0
    x = x + y * _DP1  # y * DP1 is exact in float32 (small integer times an 8-bit constant)
    y64 = y.astype(_F64)
    for dp in _DP[1:]:
        x = (y64 * dp + x.astype(_F64)).astype(_F32)  # exact in float64: one rounding, the fused result
    z = x * x
    z64 = z.astype(_F64)
    fused = _Fused(7, x.shape)
    yc = fused(_COS_P[0], z64, _COS_P[1])
    yc = fused(yc.astype(_F64), z64, _COS_P[2])
    yc = yc * z
    yc = fused(yc.astype(_F64), z64, (z * _F32(-0.5)).astype(_F64))
    yc += _F32(1)
    ys = fused(_SIN_P[0], z64, _SIN_P[1])
    ys = fused(ys.astype(_F64), z64, _SIN_P[2])
    ys = ys * z
    x64 = x.astype(_F64)
    ys = fused(ys.astype(_F64), x64, x64)
    if fused.tied():
        return avx2_sincos(x0)
    s = np.where(poly2, ys, yc)
    c = np.where(poly2, yc, ys)
    np.negative(s, out=s, where=sin_neg)
    np.negative(c, out=c, where=cos_neg)
    return s, c
