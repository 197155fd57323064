"""Special functions NumPy lacks, as differentiable primitives: lgamma, digamma, polygamma, erfc, erfinv,
the regularised incomplete gamma functions, and the Gamma sampler with its implicit-reparameterisation
gradient (``_standard_gamma_grad``).

Each array function computes in float64 (series, recurrences and asymptotic expansions accurate to about
1e-14) and returns the input's dtype. Backward formulas call the Tensor functions when ``create_graph=True``
(lgamma' = digamma, digamma' = polygamma(1), polygamma(n)' = polygamma(n + 1)), so every order is
differentiable.

>>> import dynagrad
>>> from dynagrad.distributions._special import lgamma, digamma
>>> lgamma(dynagrad.tensor([0.5, 1.0, 10.0]))
tensor([ 0.5724,  0.0000, 12.8018])
>>> digamma(dynagrad.tensor([1.0]))
tensor([-0.5772])
"""
from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..ops.elementwise import _float_input

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_EULER = 0.57721566490153286060


def _f64(a):
    return xp.asarray(a, dtype=xp.float64)


def _back(out, like):
    """Cast a float64 result to the dtype of the input array ``like`` (float64 for non-float inputs)."""
    dt = like.dtype if like.dtype.kind == "f" or like.dtype.name == "bfloat16" else xp.float64
    return out.astype(dt, copy=False)


def _sinpi(x):
    """sin(pi x) with the argument reduced exactly first (so large |x| keeps full precision)."""
    r = xp.fmod(x, 2.0)
    return xp.sin(xp.pi * r)


def _tanpi(x):
    r = x - xp.floor(x)
    return xp.tan(xp.pi * r)


# -- lgamma --------------------------------------------------------------------------------------------------
# Stirling's series for x >= 10 (error < 1e-16); smaller positive x are shifted up with the recurrence
# lgamma(x) = lgamma(x + n) - log(x (x+1) ... (x+n-1)); negative x use the reflection formula.

_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)


def _zeta_values(kmax: int):
    """Riemann zeta(k) for k = 2 .. kmax: a direct sum to N plus the Euler-Maclaurin tail."""
    n = xp.arange(1, 1000, dtype=xp.float64)
    big_n = 1000.0
    out = {}
    for k in range(2, kmax + 1):
        tail = (big_n ** (1 - k) / (k - 1) + 0.5 * big_n ** -k + k * big_n ** (-k - 1) / 12
                - k * (k + 1) * (k + 2) * big_n ** (-k - 3) / 720)
        out[k] = float((n ** -k)[::-1].sum() + tail)
    return out


_ZETA = _zeta_values(52)
# lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k) z^k / k, for |z| <= 1/2 (exact zeros at x = 1 and x = 2)
_LGAMMA1P = [0.0, -_EULER] + [(-1) ** k * _ZETA[k] / k for k in range(2, 53)]


def _lgamma1p_series(z):
    s = _LGAMMA1P[-1]
    for c in reversed(_LGAMMA1P[:-1]):
        s = c + z * s
    return s


def _lgamma_pos(x):
    """log Gamma(x) for x > 0 (float64 arrays)."""
    near = (x >= 0.5) & (x < 2.5)
    if near.all():
        return _lgamma_near(x)
    y = x.copy()
    logprod = xp.zeros_like(y)
    prod = xp.ones_like(y)
    for _ in range(10):  # y < 10 takes at most 10 steps to reach 10
        m = y < 10
        if not m.any():
            break
        prod = xp.where(m, prod * y, prod)
        y = xp.where(m, y + 1, y)
        big = prod > 1e280  # keep the running product finite
        if big.any():
            logprod = xp.where(big, logprod + xp.log(prod), logprod)
            prod = xp.where(big, 1.0, prod)
    logprod = logprod + xp.log(prod)
    with xp.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r = 1.0 / (y * y)
        s = _STIRLING[-1]
        for c in reversed(_STIRLING[:-1]):
            s = c + r * s
        out = (y - 0.5) * xp.log(y) - y + _LOG_SQRT_2PI + s / y
    out = out - logprod
    if near.any():
        out[near] = _lgamma_near(x[near])
    return out


def _lgamma_near(x):
    """log Gamma(x) for 0.5 <= x < 2.5 from the series about 1 and 2 (relative accuracy near the zeros)."""
    upper = x >= 1.5
    z = xp.where(upper, x - 2.0, x - 1.0)
    return _lgamma1p_series(z) + xp.where(upper, xp.log1p(z), 0.0)


def _lgamma_array(a):
    x = _f64(a)
    out = xp.empty_like(x)
    pos = x > 0
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if pos.all():
            out = _lgamma_pos(x)
        else:
            out[pos] = _lgamma_pos(x[pos])
            neg = ~pos
            xn = x[neg]
            # reflection: lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x); poles (x = 0, -1, ...) are +inf
            s = xp.abs(_sinpi(xn))
            val = math.log(math.pi) - xp.log(s) - _lgamma_pos(1.0 - xn)
            val = xp.where((s == 0) | xp.isinf(xn) | (xn == xp.floor(xn)), xp.inf, val)
            out[neg] = val
        out = xp.where(xp.isposinf(x), xp.inf, out)
    return _back(out, a)


# -- digamma and polygamma ----------------------------------------------------------------------------------

_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)


def _digamma_pos(x):
    """psi(x) for x >= 0.5 (float64 arrays): shift to x >= 10, then the asymptotic series."""
    y = x.copy()
    acc = xp.zeros_like(y)
    for _ in range(10):
        m = y < 10
        if not m.any():
            break
        acc = xp.where(m, acc - 1.0 / y, acc)
        y = xp.where(m, y + 1, y)
    r = 1.0 / (y * y)
    s = 0.0
    for k in range(7, 0, -1):  # sum_k B_2k / (2k y^2k)
        s = _B2K[k - 1] / (2 * k) + r * s
    return acc + xp.log(y) - 0.5 / y - r * s


def _digamma_array(a):
    x = _f64(a)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if (x >= 0.5).all():
            out = _digamma_pos(x)
        else:
            out = xp.empty_like(x)
            hi = x >= 0.5
            out[hi] = _digamma_pos(x[hi])
            lo = ~hi
            xl = x[lo]
            # reflection below 0: psi(x) = psi(1 - x) - pi / tan(pi x); on (0, 1/2) the recurrence
            # psi(x) = psi(x + 1) - 1/x keeps full precision for tiny x
            val = _digamma_pos(1.0 - xl) - xp.pi / _tanpi(xl)
            small = (xl > -0.5) & (xl != 0)
            if small.any():
                val[small] = _digamma_pos(xl[small] + 1.0) - 1.0 / xl[small]
            val = xp.where((xl == xp.floor(xl)) & (xl < 0), xp.nan, val)
            val = xp.where(xl == 0, xp.copysign(xp.inf, -xl), val)  # psi(+0) = -inf, psi(-0) = +inf
            val = xp.where(xp.isneginf(xl), xp.nan, val)
            out[lo] = val
        out = xp.where(xp.isposinf(x), xp.inf, out)
    return _back(out, a)


_MAX_STEPS = 1e6


def _polygamma_array(n: int, a):
    """The n-th derivative of digamma (n >= 1): shift up by the recurrence, then the asymptotic series."""
    if n == 0:
        return _digamma_array(a)
    if n == 1 and (a < 0.5).any():
        # reflection below 1/2, as PyTorch: trigamma(x) = pi^2 / sin^2(pi x) - trigamma(1 - x), with sin(pi x)
        # unreduced and in the input's precision, so PyTorch's large finite values at the poles come out
        # (and no loop runs over |x|)
        xa = a.astype(a.dtype if a.dtype.kind == "f" else xp.float64)
        lo = xa < 0.5
        y = xp.where(lo, 1 - _f64(xa), _f64(xa))
        base = _polygamma_array(1, y)
        with xp.errstate(divide="ignore", over="ignore", invalid="ignore"):
            s = xp.sin(xp.pi * xa)
            refl = (xp.pi * xp.pi) / (s * s).astype(xp.float64)
        return _back(xp.where(lo, refl - base, base), a)
    x = _f64(a)
    thr = 15.0 + n
    sign = 1.0 if n % 2 == 1 else -1.0  # (-1)^(n+1)
    fact = math.factorial(n)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        finite = xp.isfinite(x)
        y = xp.where(finite, x, thr)
        acc = xp.zeros_like(y)
        # the recurrence walks up one step at a time: far left of the origin that is millions of steps (PyTorch's
        # Hurwitz zeta loops there too); such points get NaN rather than a hang
        far = y < -_MAX_STEPS
        y = xp.where(far, thr, y)
        steps = int(math.ceil(thr - float(y.min()))) if y.size else 0
        for _ in range(max(steps, 0)):
            m = y < thr
            if not m.any():
                break
            acc = xp.where(m, acc + 1.0 / y ** (n + 1), acc)
            y = xp.where(m, y + 1, y)
        # (n-1)!/y^n + n!/(2 y^(n+1)) + sum_k B_2k (2k+n-1)!/((2k)! y^(2k+n))
        s = math.factorial(n - 1) / y ** n + fact / (2 * y ** (n + 1))
        for k in range(1, len(_B2K) + 1):
            c = _B2K[k - 1] * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
            s = s + c / y ** (2 * k + n)
        out = sign * (s + fact * acc)
        out = xp.where(finite & ~far, out, xp.where(xp.isposinf(x), 0.0, xp.nan))
        poles = (x <= 0) & (x == xp.floor(x))
        out = xp.where(poles, xp.inf if n % 2 == 1 else -xp.inf, out)
    return _back(out, a)


# -- erf, erfc, erfinv ---------------------------------------------------------------------------------------

_ERF_SPLIT = 2.5


def _erf_small(x):
    """erf(x) for |x| <= 2.5 from the series 2/sqrt(pi) e^{-x^2} sum_n 2^n x^(2n+1) / (2n+1)!!."""
    x2 = x * x
    term = x.copy()
    total = x.copy()
    for k in range(1, 80):
        term = term * (2 * x2 / (2 * k + 1))
        total = total + term
        if (xp.abs(term) <= 1e-17 * xp.abs(total)).all():
            break
    return 2 / math.sqrt(math.pi) * xp.exp(-x2) * total


def _erfc_large(x):
    """erfc(x) for x >= 2.5 from the continued fraction e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + ...)))."""
    t = x.copy()
    for k in range(120, 0, -1):
        t = x + (k / 2) / t
    return xp.exp(-x * x) / math.sqrt(math.pi) / t


def _erfc_array(a):
    x = _f64(a)
    ax = xp.abs(x)
    out = xp.empty_like(x)
    small = ax <= _ERF_SPLIT
    with xp.errstate(over="ignore", invalid="ignore", under="ignore"):
        out[small] = 1.0 - _erf_small(x[small])
        big = ~small & ~xp.isnan(x)
        tail = _erfc_large(ax[big])
        out[big] = xp.where(x[big] > 0, tail, 2.0 - tail)
        out[xp.isnan(x)] = xp.nan
    return _back(out, a)


def _erf_array(a):
    x = _f64(a)
    ax = xp.abs(x)
    out = xp.empty_like(x)
    small = ax <= _ERF_SPLIT
    with xp.errstate(over="ignore", invalid="ignore", under="ignore"):
        out[small] = _erf_small(x[small])
        big = ~small & ~xp.isnan(x)
        out[big] = xp.sign(x[big]) * (1.0 - _erfc_large(ax[big]))
        out[xp.isnan(x)] = xp.nan
    return _back(out, a)


def _erfinv_array(a):
    y = _f64(a)
    s = xp.sign(y)
    ay = xp.abs(y)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Giles (2010), single-precision approximation, as the starting point
        w = -xp.log((1.0 - ay) * (1.0 + ay))
        w1 = w - 2.5
        p1 = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p1 = c + p1 * w1
        w2 = xp.sqrt(w) - 3.0
        p2 = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p2 = c + p2 * w2
        x = xp.where(w < 5.0, p1, p2) * ay
        # Newton steps: on erf in the middle; on log erfc in the tails, where 1 - y is exact and
        # log erfc(x) is nearly quadratic, so the steps converge from the single-precision start. Each
        # element's step needs only its own side's function. The start is good to about 4e-7 where float32
        # reaches and each step squares the error, so float32 and float16 take one step (the same bits as
        # four on 600k points, tails included); float64 keeps four, for its far tail (1 - y near 1e-16).
        # 3.8 -> 0.2 s per million float32 elements, measured; trunc_normal_ runs this over every weight.
        tail = ay > 0.5
        ok = ay < 1
        xs = xp.where(ok, x, 1.0)
        mid, far = xp.flatnonzero(ok & ~tail), xp.flatnonzero(ok & tail)
        xs, aflat = xs.reshape(-1), ay.reshape(-1)
        xm, ym = xs[mid], aflat[mid]
        xt, log_q = xs[far], xp.log(1.0 - aflat[far])
        for _ in range(1 if a.dtype.kind == "f" and a.dtype.itemsize <= 4 else 4):
            xm = xm - (_erf_small(xm) - ym) / (2 / math.sqrt(math.pi) * xp.exp(-xm * xm))
            q = _erfc_array(xt)
            xt = xt + (xp.log(q) - log_q) * q / (2 / math.sqrt(math.pi) * xp.exp(-xt * xt))
        xs[mid], xs[far] = xm, xt  # xs is where()'s own array: written in place
        xs = xs.reshape(y.shape)
        out = s * xs
        out = xp.where(ay == 1, s * xp.inf, out)
        out = xp.where((ay > 1) | xp.isnan(y), xp.nan, out)
    return _back(out, a)


# -- regularised incomplete gamma and the Gamma reparameterisation gradient ---------------------------------

_TINY = 1e-300
_EPS = 5e-16


def _igamma_series(a, x, deriv):
    """P(a, x) = pref * S with pref = x^a e^-x / Gamma(a), S = sum_n x^n / (a (a+1) ... (a+n)).
    Returns S and dS/da (dual numbers through the series)."""
    ap = a.copy()
    term = 1.0 / a
    dterm = -1.0 / (a * a)
    s, ds = term.copy(), dterm.copy()
    for _ in range(20000):
        ap = ap + 1
        r = x / ap
        dterm = dterm * r - term * r / ap
        term = term * r
        s = s + term
        ds = ds + dterm
        done = xp.abs(term) <= xp.abs(s) * _EPS
        if deriv:
            done &= xp.abs(dterm) <= (xp.abs(ds) + xp.abs(s)) * _EPS
        if done.all():
            break
    return s, ds


def _igamma_cf(a, x, deriv):
    """Q(a, x) = pref * h, h the continued fraction of Numerical Recipes' gcf (modified Lentz); and dh/da."""
    b = x + 1.0 - a
    db = -1.0
    c = xp.full_like(a, 1.0 / _TINY)
    dc = xp.zeros_like(a)
    d = 1.0 / b
    dd = -db / (b * b)
    h, dh = d.copy(), dd.copy()
    for i in range(1, 20000):
        an = -i * (i - a)
        dan = float(i)
        b = b + 2.0
        dn = an * d + b
        ddn = dan * d + an * dd + db
        dn = xp.where(xp.abs(dn) < _TINY, _TINY, dn)
        cn = b + an / c
        dcn = db + dan / c - an * dc / (c * c)
        cn = xp.where(xp.abs(cn) < _TINY, _TINY, cn)
        d = 1.0 / dn
        dd = -ddn / (dn * dn)
        c, dc = cn, dcn
        delta = d * c
        ddelta = dd * c + d * dc
        dh = dh * delta + h * ddelta
        h = h * delta
        done = xp.abs(delta - 1.0) <= _EPS
        if deriv:
            done &= xp.abs(ddelta * h) <= (xp.abs(dh) + xp.abs(h)) * _EPS
        if done.all():
            break
    return h, dh


def _igamma_array(a_in, x_in, upper=False):
    """Regularised lower (``upper=False``) or upper incomplete gamma function, float64."""
    a, x = xp.broadcast_arrays(_f64(a_in), _f64(x_in))
    a, x = a.ravel(), x.ravel()
    out = xp.full(a.shape, xp.nan)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        valid = (a > 0) & (x > 0) & xp.isfinite(a)
        ser = valid & (x < a + 1) & xp.isfinite(x)
        cf = valid & ~ser & xp.isfinite(x)
        if ser.any():
            aa, xx = a[ser], x[ser]
            s, _ = _igamma_series(aa, xx, False)
            p = xp.exp(aa * xp.log(xx) - xx - _lgamma_pos(aa)) * s
            out[ser] = 1.0 - p if upper else p
        if cf.any():
            aa, xx = a[cf], x[cf]
            h, _ = _igamma_cf(aa, xx, False)
            q = xp.exp(aa * xp.log(xx) - xx - _lgamma_pos(aa)) * h
            out[cf] = q if upper else 1.0 - q
        lo = (x == 0) & (a > 0)
        hi = xp.isposinf(x) & (a > 0)
        out[lo] = 1.0 if upper else 0.0
        out[hi] = 0.0 if upper else 1.0
        edge = (a == 0) & (x > 0)  # P(0, x) = 1, as PyTorch
        out[edge] = 0.0 if upper else 1.0
        inf_a = xp.isposinf(a) & xp.isfinite(x) & (x >= 0)  # P(inf, x) = 0
        out[inf_a] = 1.0 if upper else 0.0
    shape = xp.broadcast_shapes(xp.shape(a_in), xp.shape(x_in))
    return out.reshape(shape)


def _standard_gamma_grad_array(alpha_in, x_in):
    """d x / d alpha for x ~ Gamma(alpha, 1) at fixed CDF value (implicit reparameterisation):
    -(dP(alpha, x)/dalpha) / (dP(alpha, x)/dx), what PyTorch's ``_standard_gamma_grad`` approximates."""
    alpha, x = xp.broadcast_arrays(_f64(alpha_in), _f64(x_in))
    shape = alpha.shape
    alpha, x = alpha.ravel(), x.ravel()
    out = xp.zeros(alpha.shape)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        valid = (alpha > 0) & (x > 0) & xp.isfinite(x)
        huge = valid & (alpha >= 1e5)
        ser = valid & ~huge & (x < alpha + 1)
        cf = valid & ~huge & ~ser
        if ser.any():
            a, xx = alpha[ser], x[ser]
            s, ds = _igamma_series(a, xx, True)
            out[ser] = -xx * ((xp.log(xx) - _digamma_pos(a)) * s + ds)
        if cf.any():
            a, xx = alpha[cf], x[cf]
            h, dh = _igamma_cf(a, xx, True)
            out[cf] = xx * ((xp.log(xx) - _digamma_pos(a)) * h + dh)
        if huge.any():  # Wilson-Hilferty: x = a (1 - 1/(9a) + z / (3 sqrt a))^3 at fixed z
            a, xx = alpha[huge], x[huge]
            z = (xp.cbrt(xx / a) - 1 + 1 / (9 * a)) * 3 * xp.sqrt(a)
            u = 1 - 1 / (9 * a) + z / (3 * xp.sqrt(a))
            out[huge] = u ** 3 + 3 * a * u * u * (1 / (9 * a * a) - z / (6 * a ** 1.5))
    out = xp.where(xp.isnan(out), 0.0, out)
    return _back(out.reshape(shape), xp.asarray(x_in))


# -- ops -----------------------------------------------------------------------------------------------------

def _tensor_or_array(fn_array, fn_tensor, x):
    return fn_array(x) if D.is_array(x) else fn_tensor(x)


class LgammaBackward0(Op):
    save = (0,)

    def forward(ctx, a):
        return _lgamma_array(a)

    def backward(self, g, x):
        return (g * _tensor_or_array(_digamma_array, digamma, x),)


class DigammaBackward0(Op):
    save = (0,)

    def forward(ctx, a):
        return _digamma_array(a)

    def backward(self, g, x):
        return (g * _tensor_or_array(lambda v: _polygamma_array(1, v), lambda v: polygamma(1, v), x),)


class PolygammaBackward0(Op):
    save = (0,)

    def forward(ctx, a, n):
        if ctx is not None:
            ctx.n = n
        return _polygamma_array(n, a)

    def backward(self, g, x):
        n = self.n + 1
        return (g * _tensor_or_array(lambda v: _polygamma_array(n, v), lambda v: polygamma(n, v), x),)


class ErfcBackward0(Op):
    save = (0,)

    def forward(ctx, a):
        return _erfc_array(a)

    def backward(self, g, x):
        return (g * (-2 / math.sqrt(math.pi)) * D.exp(-(x * x)),)


class ErfinvBackward0(Op):
    save_output = True

    def forward(ctx, a):
        return _erfinv_array(a)

    def backward(self, g, out):
        return (g * (math.sqrt(math.pi) / 2) * D.exp(out * out),)


class IgammaBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, x, upper):
        if ctx is not None:
            ctx.upper = upper
        out = _igamma_array(a, x, upper)
        dt = xp.result_type(a, x)
        return out.astype(dt if dt.kind == "f" else xp.float64, copy=False)

    def backward(self, g, a, x):
        if self.needs_grad(0):
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        # d P(a, x) / dx = x^(a-1) e^-x / Gamma(a)
        if D.is_array(x):
            with xp.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                am1 = a - 1
                logx = xp.where(am1 == 0, 0.0, am1 * xp.log(x))
                dens = xp.exp(logx - x - _lgamma_array(a)).astype(x.dtype, copy=False)
        else:
            dens = ((a - 1).xlogy(x) - x - lgamma(a)).exp()
        return None, (-g if self.upper else g) * dens

    def needs_grad(self, i: int) -> bool:
        return self.edges[i][0] is not None


class StandardGammaBackward0(Op):
    """A standard Gamma draw; its gradient is the implicit-reparameterisation derivative (not differentiated
    again: PyTorch's is once-differentiable too)."""

    save = (0,)
    save_output = True

    def forward(ctx, alpha, generator):
        from ..random import standard_gamma_array
        return standard_gamma_array(alpha, generator)  # PyTorch's sampler on its stream; never exactly 0

    def backward(self, g, alpha, out):
        av = alpha if D.is_array(alpha) else alpha._data
        ov = out if D.is_array(out) else out._data
        return (g * D.const(_standard_gamma_grad_array(av, ov), g),)


# -- functions -----------------------------------------------------------------------------------------------

def lgamma(x):
    """log |Gamma(x)|, differentiable (the derivative is digamma)."""
    _no_complex("lgamma_vml_cpu", x)
    return LgammaBackward0.apply(_float_input(x))


def digamma(x):
    """The logarithmic derivative of Gamma, psi(x)."""
    _no_complex("digamma", x)
    return DigammaBackward0.apply(_float_input(x))


def polygamma(n: int, x):
    """The n-th derivative of digamma; ``polygamma(0, x)`` is digamma."""
    n = int(n)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(x)
    _no_complex("polygamma", x)
    return PolygammaBackward0.apply(_float_input(x), n=n)


def erfc(x):
    """1 - erf(x), accurate in the tails."""
    _no_complex("erfc_vml_cpu", x)
    return ErfcBackward0.apply(_float_input(x))


def erfinv(x):
    """The inverse of erf on (-1, 1)."""
    _no_complex("erfinv_vml_cpu", x)
    return ErfinvBackward0.apply(_float_input(x))


def _no_complex(kernel, x):
    from ..tensor import Tensor
    if isinstance(x, Tensor) and x._data.dtype.kind == "c":
        from ..dtypes import not_implemented
        raise not_implemented(kernel, x.dtype)


def _igamma(a, x, upper):
    from ..dtypes import not_implemented, result_type
    from ..ops.elementwise import _check_broadcast, _prep, tensor_other_guard
    name = "igammac" if upper else "igamma"
    tensor_other_guard(name)(a, x)
    _check_broadcast(name, a, x)
    rt = result_type(a, x)
    if not rt.is_floating_point:
        raise not_implemented(f"{name}_cpu", rt)
    a, x = _prep(a, x)
    return IgammaBackward0.apply(_float_input(a), _float_input(x), upper=upper)


def gammainc(a, x):
    """The regularised lower incomplete gamma function P(a, x) (differentiable in x only, as PyTorch)."""
    return _igamma(a, x, False)


def gammaincc(a, x):
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return _igamma(a, x, True)


def _standard_gamma(alpha, generator=None):
    """Gamma(alpha, 1) draws with reparameterised gradients (``torch._standard_gamma``)."""
    return StandardGammaBackward0.apply(alpha, generator=generator)


def _standard_gamma_grad(alpha, x):
    """``torch._standard_gamma_grad``: d sample / d alpha at fixed CDF value, elementwise."""
    from ..tensor import Tensor
    return Tensor._wrap(_standard_gamma_grad_array(alpha._data, x._data))
