"""Entries: torch.fft, the window functions, torch.signal.windows, stft/istft (issue 20 part 2). The complex
gradients are tested in tests/test_fft.py (the sweep gives complex inputs no gradient)."""
from __future__ import annotations

from . import samples as S
from .core import custom

F = S.FLOATS


def c(name, fn, **kw):
    kw.setdefault("family", "fft")
    kw.setdefault("method", None)
    kw.setdefault("inplace", None)
    return custom(name, fn, **kw)


def _one_d(mk, complex_input=True, real_input=True):
    dts = [d for d, ok in (("float32", real_input), ("float64", real_input), ("complex64", complex_input),
                           ("complex128", complex_input)) if ok]
    for d in dts:
        mk.add(mk.t(3, 8, dtype=d), tag=d)
        mk.add(mk.t(3, 8, dtype=d), n=5, dim=0, tag=d + "-n")
        mk.add(mk.t(4, 6, dtype=d, layout="T"), 9, -1, "ortho", tag=d + "-pad-ortho")
        mk.add(mk.t(5, dtype=d), norm="forward", tag=d + "-forward")
    mk.add(mk.t(4, dtype="int64"), tag="int64")
    mk.add(mk.t(4, dtype="bool"), tag="bool")
    mk.add(mk.t(4, dtype="float16"), tag="float16-refused")
    mk.add(mk.t(4), n=0, tag="n0-error")
    mk.add(mk.t(4), norm="bad", tag="norm-error")
    mk.add(mk.t(4), dim=1, tag="dim-error")


def _n_d(mk, complex_input=True, real_input=True, two=False):
    dts = [d for d, ok in (("float32", real_input), ("float64", real_input), ("complex64", complex_input),
                           ("complex128", complex_input)) if ok]
    for d in dts:
        mk.add(mk.t(2, 3, 4, dtype=d), tag=d)
        mk.add(mk.t(2, 3, 4, dtype=d), s=(3, 6), tag=d + "-s")
        mk.add(mk.t(2, 3, 4, dtype=d), dim=(0, 2), norm="ortho", tag=d + "-dims")
        if not two:
            mk.add(mk.t(2, 3, 4, dtype=d), s=(-1, 5), dim=(2, 0), norm="forward", tag=d + "-s-dims")
    mk.add(mk.t(3, 4, dtype="int64"), tag="int64")
    mk.add(mk.t(3, 4), dim=(0, 0), tag="unique-error")
    mk.add(mk.t(3, 4), s=(2, 2, 2), tag="s-error")


ONE_D = {"fft": {}, "ifft": {}, "rfft": {"complex_input": False}, "ihfft": {"complex_input": False},
         "irfft": {}, "hfft": {}}
N_D = {"fftn": {}, "ifftn": {}, "rfftn": {"complex_input": False}, "ihfftn": {"complex_input": False},
       "irfftn": {}, "hfftn": {}}

OPS = [c("fft." + n, (lambda kw: lambda mk: _one_d(mk, **kw))(kw)) for n, kw in ONE_D.items()]
OPS += [c("fft." + n, (lambda kw: lambda mk: _n_d(mk, **kw))(kw)) for n, kw in N_D.items()]
OPS += [c("fft." + n.replace("n", "2", 1) if n.endswith("n") else n,
          (lambda kw: lambda mk: _n_d(mk, two=True, **kw))(kw), budget=6) for n, kw in N_D.items()]
OPS += [
    c("fft.fftfreq", lambda mk: [mk.add(n, d, tag=f"{n}-{d}") for n in (0, 1, 4, 7) for d in (1.0, 0.3)],
      grad=False),
    c("fft.rfftfreq", lambda mk: [mk.add(n, d, tag=f"{n}-{d}") for n in (0, 1, 4, 7) for d in (1.0, 2.5)],
      grad=False),
    c("fft.fftshift", lambda mk: (mk.add(mk.t(3, 5)), mk.add(mk.t(3, 5), dim=0), mk.add(mk.t(2, 3, 4), (0, -1)),
                                  mk.add(mk.t(4, dtype="int64")), mk.add(mk.t(0)))),
    c("fft.ifftshift", lambda mk: (mk.add(mk.t(3, 5)), mk.add(mk.t(3, 5), dim=1), mk.add(mk.t(5, dtype="complex64")))),
]

_WINDOW_DTYPES = ("float32", "float64", "float16", "bfloat16")


def _window(name, extra=()):
    def samples(mk):
        for n in (0, 1, 2, 5, 8):
            for periodic in (True, False):
                mk.add(n, periodic, tag=f"{n}-{periodic}")
                for d in ("float64", "float16", "bfloat16"):
                    mk.add(n, periodic, dtype=d, tag=f"{n}-{periodic}-{d}")
        mk.add(6, False, *extra, tag="parameters")
        mk.add(-1, tag="negative-error")
        mk.add(4, dtype="int64", tag="integer-error")
    def call(m, *a, dtype=None, **k):  # dtypes are named in the samples, resolved per module here
        return getattr(m, name)(*a, dtype=None if dtype is None else getattr(m, dtype), **k)
    return c(name, samples, grad=False, call=call, rtol=2e-2, atol=2e-2, budget=12)


OPS += [_window("hann_window"), _window("hamming_window", (0.3, 0.2)), _window("blackman_window"),
        _window("bartlett_window"), _window("kaiser_window", (3.5,))]


def _signal(name, **params):
    def samples(mk):
        for n in (0, 1, 2, 5, 8):
            for sym in (True, False):
                mk.add(n, sym=sym, **params, tag=f"{n}-{sym}")
        mk.add(-1, tag="negative-error")
    return c("signal.windows." + name, samples, grad=False)


OPS += [_signal(n) for n in ("bartlett", "blackman", "cosine", "gaussian", "hamming", "hann", "kaiser", "nuttall",
                             "general_hamming")]
OPS += [_signal("exponential", tau=0.7), _signal("general_cosine", a=[0.4, 0.35, 0.25])]


def _stft(mk):
    for d in ("float32", "float64", "complex64"):
        mk.add(mk.t(40, dtype=d), 16, return_complex=True, tag=d)
        mk.add(mk.t(2, 40, dtype=d), 8, 3, 6, center=False, onesided=False, return_complex=True, tag=d + "-2d")
    mk.add(mk.t(40), 16, 4, None, None, True, "constant", True, tag="padded-normalized", return_complex=True)
    mk.add(mk.t(40), 16, tag="return-complex-error")
    mk.add(mk.t(40), 64, center=False, return_complex=True, tag="n-fft-error")


def _istft(mk):
    for d in ("complex64", "complex128"):
        mk.add(mk.t(9, 11, dtype=d), 16, tag=d)
        mk.add(mk.t(9, 11, dtype=d), 16, 4, 12, length=40, tag=d + "-length")
        mk.add(mk.t(2, 16, 5, dtype=d), 16, onesided=False, return_complex=True, tag=d + "-complex")
    mk.add(mk.t(9, 11), 16, tag="real-error")
    mk.add(mk.t(9, 11, dtype="complex64"), 14, tag="n-fft-error")


OPS += [c("stft", _stft, method="stft"), c("istft", _istft, method="istft")]


# -- torch.special: Bessel, Airy, erfcx, zeta, orthogonal polynomials ---------------------------------------------

_SPECIAL_NONDIFF = [("airy_ai", (-5, 5)), ("bessel_j0", (-10, 10)), ("bessel_j1", (-10, 10)), ("bessel_y0", (0.1, 10)),
                    ("bessel_y1", (0.1, 10)), ("modified_bessel_i0", (-10, 10)), ("modified_bessel_i1", (-10, 10)),
                    ("modified_bessel_k0", (0.1, 10)), ("modified_bessel_k1", (0.1, 10)),
                    ("scaled_modified_bessel_k0", (0.1, 10)), ("scaled_modified_bessel_k1", (0.1, 10)),
                    ("spherical_bessel_j0", (-10, 10))]
_SPECIAL_DIFF = [("erfcx", (-3, 10)), ("i0e", (-10, 10)), ("i1", (-5, 5)), ("i1e", (-10, 10)), ("i0", (-5, 5))]


def _special_unary(name, lo, hi):
    def samples(mk):
        for d in ("float32", "float64"):
            mk.add(mk.t(3, 4, dtype=d, lo=lo, hi=hi), tag=d)
            mk.add(mk.t(5, dtype=d, lo=lo, hi=hi, layout="s"), tag=d + "-strided")
        mk.add(mk.special(), tag="special")
        mk.add(mk.special("float64"), tag="float64-special")
        mk.add(mk.t(4, dtype="int64"), tag="int64")
        mk.add(mk.t(4, dtype="float16"), tag="float16")
        mk.add(mk.t(2, dtype="complex64"), tag="complex-error")
        mk.add(mk.t(0), tag="empty")
        mk.add(mk.t(), tag="0-d")
    return samples


OPS += [custom("special." + n, _special_unary(n, *d), family="special", method=None, inplace=None, budget=8,
               rtol=1e-4, atol=1e-5) for n, d in _SPECIAL_NONDIFF + _SPECIAL_DIFF]

_POLY = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p"]


def _poly_samples(mk):
    for d in ("float32", "float64"):
        mk.add(mk.t(3, 4, dtype=d, lo=-1.1, hi=1.1), mk.v([0, 1, 2, 3], d), tag=d)
        mk.add(mk.t(6, dtype=d, lo=0, hi=1), 7, tag=d + "-scalar-n")
        mk.add(mk.t(2, 3, dtype=d, lo=-1, hi=1), mk.v([[9], [12]], "int64"), tag=d + "-broadcast")
    mk.add(mk.v([0.0, 1.0, -1.0, 0.5, 2.0], "float64"), mk.v([-1, 0, 1, 10, 20], "float64"), tag="edges")
    mk.add(mk.t(4, dtype="int64"), mk.t(4, dtype="int64"), tag="int64")
    mk.add(mk.t(3, dtype="float16"), 2, tag="float16-error")


OPS += [custom("special." + n, _poly_samples, family="special", method=None, inplace=None, budget=6, rtol=1e-4,
               atol=1e-5, grad=False) for n in _POLY]
OPS += [custom("special.zeta", lambda mk: (mk.add(mk.t(3, 4, lo=1.1, hi=5), mk.t(3, 4, lo=0.5, hi=3)),
                                          mk.add(mk.t(4, lo=1.1, hi=5, dtype="float64"), 2.0),
                                          mk.add(mk.v([1.0, 0.5, 2.0, 3.0], "float64"), mk.v([1.0, 1.0, -1.0, -1.5],
                                                                                              "float64")),
                                          mk.add(mk.t(3, dtype="int64"), mk.t(3, dtype="int64"))),
               family="special", method=None, inplace=None, grad=False, rtol=1e-5, atol=1e-6)]
