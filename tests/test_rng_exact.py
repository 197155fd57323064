"""The exact arithmetic behind dynagrad's samplers (dynagrad/_rng/exact.py): correctly rounded fused
multiply-adds, glibc's double functions, and the AVX2 polynomials' fast and checked forms agreeing."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from dynagrad._rng import exact


def _round32(q: Fraction) -> np.float32:
    """The float32 nearest to the rational ``q`` (ties to even)."""
    near = np.float32(float(q))
    cands = [near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf))]
    best = min(cands, key=lambda c: (abs(Fraction(float(c)) - q), int(np.array(c).view(np.int32)) & 1))
    return np.float32(best)


def test_fma32_is_correctly_rounded():
    rng = np.random.default_rng(0)
    n = 3000
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    c = (rng.standard_normal(n) * rng.choice([1e-12, 1e-6, 1.0, 1e6], n)).astype(np.float32)
    # double rounding cases: a * b + c lands halfway between two float32 once rounded to float64
    # (1 + 2**-23)(1 - 2**-24) = 1 + 2**-24 - 2**-47; adding 2**-47 + 2**-70 is 1 + 2**-24 + 2**-70, which
    # float64 rounds to the float32 midpoint 1 + 2**-24 (and float32 then to even: 1, where 1 + 2**-23 is right)
    up, down = np.float32(1 + 2.0 ** -23), np.float32(1 - 2.0 ** -24)
    c_up = np.float32(2.0 ** -47 + 2.0 ** -70)
    extra_a = np.array([up, up, up], np.float32)
    extra_b = np.array([down, down, down], np.float32)
    extra_c = np.array([c_up, np.float32(2.0 ** -47), np.float32(2.0 ** -47 - 2.0 ** -71)], np.float32)
    a, b, c = np.concatenate([a, extra_a]), np.concatenate([b, extra_b]), np.concatenate([c, extra_c])
    got = exact.fma32(a, b, c)
    assert got[-3] == np.float32(1 + 2.0 ** -23)  # the double-rounding case, fixed (among many values)
    assert (exact.fma32(extra_a, extra_b, extra_c) == got[-3:]).all()  # and when most values are ties
    want = [_round32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))) for x, y, z in zip(a, b, c)]
    assert (got.view(np.int32) == np.array(want, np.float32).view(np.int32)).all()


def test_fma64_is_correctly_rounded():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(2000), rng.standard_normal(2000)
    c = rng.standard_normal(2000) * rng.choice([1e-20, 1e-8, 1.0, 1e8], 2000)
    got = exact.fma64(a, b, c)
    want = np.array([float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)])
    assert (got == want).all()


def test_libm_equals_glibc():
    rng = np.random.default_rng(2)
    u = rng.random(20000)
    for name, x in [("log", u), ("log1p", -u), ("exp", rng.standard_normal(20000) * 5),
                    ("sin", 2 * math.pi * u), ("cos", 2 * math.pi * u), ("tan", math.pi * (u - 0.5))]:
        got = exact.libm(name, x)
        want = np.array([getattr(math, name)(v) for v in x])
        assert (got == want).all(), name


def test_fast_polynomials_equal_the_checked_ones():
    rng = np.random.default_rng(3)
    u = rng.integers(0, 2 ** 24, 200000).astype(np.float32) * np.float32(2.0 ** -24)  # the kernel's uniforms
    x = np.float32(1) - u
    t = np.float32(2 * math.pi) * u
    assert (exact.log_unit(x).view(np.int32) == exact.avx2_log(x).view(np.int32)).all()
    s1, c1 = exact.sincos_pos(t)
    s2, c2 = exact.avx2_sincos(t)
    assert (s1.view(np.int32) == s2.view(np.int32)).all() and (c1.view(np.int32) == c2.view(np.int32)).all()


def test_a_tie_falls_back_to_the_checked_polynomials(monkeypatch):
    u = np.arange(1, 4097, dtype=np.float32) * np.float32(2.0 ** -12)
    want_log, want_sc = exact.log_unit(u), exact.sincos_pos(u)
    monkeypatch.setattr(exact._Fused, "tied", lambda self: True)
    assert (exact.log_unit(u) == want_log).all()
    assert all((a == b).all() for a, b in zip(exact.sincos_pos(u), want_sc))
