"""dynagrad.fft against PyTorch: values, dtypes and gradients of every torch.fft function (n/s, dim, norm,
out=), complex inputs (built from real and imaginary parts that require grad, so the gradients of both are
compared: PyTorch's convention dL/dRe + i dL/dIm), PyTorch's errors, forward mode, vmap, gradcheck and
gradgradcheck in float64, and coverage of torch.fft's public names."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import HAVE_TORCH, F, I, check_op, reference

import dynagrad
from dynagrad.autograd import gradcheck, gradgradcheck

FLOATS = ("float32", "float64")


def _r(m, t):
    """A complex result as real pairs (resolving PyTorch's lazy conjugation), so the loss sees both parts."""
    return m.view_as_real(t.resolve_conj()) if t.is_complex() else t


def _c(m, a, b):
    return m.complex(a, b)


C2C = ("fft", "ifft")
R2C = ("rfft", "ihfft")
C2R = ("irfft", "hfft")
ONE_D_KW = [{}, {"n": 5}, {"n": 9}, {"n": 3, "dim": 0}, {"norm": "ortho"}, {"norm": "forward", "dim": 0},
            {"norm": "backward", "n": 4}]


@pytest.mark.parametrize("kw", ONE_D_KW, ids=str)
@pytest.mark.parametrize("name", C2C + C2R)
def test_one_d_complex_input(name, kw):
    check_op(lambda m, a, b: _r(m, getattr(m.fft, name)(_c(m, a, b), **kw)), (4, 6), (4, 6), dtypes=FLOATS)


@pytest.mark.parametrize("kw", ONE_D_KW, ids=str)
@pytest.mark.parametrize("name", C2C + R2C + C2R)
def test_one_d_real_input(name, kw):
    check_op(lambda m, a: _r(m, getattr(m.fft, name)(a, **kw)), (4, 6), dtypes=FLOATS)


ND_KW = [{}, {"s": (3, 4)}, {"s": (-1, 7)}, {"dim": (0,)}, {"dim": (0, -1), "norm": "ortho"},
         {"s": (5, 3), "dim": (2, 0), "norm": "forward"}]
ND = ("fftn", "ifftn", "irfftn", "hfftn")
ND_REAL = ("fftn", "ifftn", "rfftn", "ihfftn")


@pytest.mark.parametrize("kw", ND_KW, ids=str)
@pytest.mark.parametrize("name", ND)
def test_n_d_complex_input(name, kw):
    check_op(lambda m, a, b: _r(m, getattr(m.fft, name)(_c(m, a, b), **kw)), (3, 4, 5), (3, 4, 5), dtypes=FLOATS)


@pytest.mark.parametrize("kw", ND_KW, ids=str)
@pytest.mark.parametrize("name", ND_REAL)
def test_n_d_real_input(name, kw):
    check_op(lambda m, a: _r(m, getattr(m.fft, name)(a, **kw)), (3, 4, 5), dtypes=FLOATS)


@pytest.mark.parametrize("kw", [{}, {"s": (3, 6)}, {"dim": (0, 2), "norm": "ortho"}], ids=str)
@pytest.mark.parametrize("name", ("fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2"))
def test_two_d(name, kw):
    if name in ("rfft2", "ihfft2"):
        check_op(lambda m, a: _r(m, getattr(m.fft, name)(a, **kw)), (3, 4, 5), dtypes=FLOATS)
    else:
        check_op(lambda m, a, b: _r(m, getattr(m.fft, name)(_c(m, a, b), **kw)), (3, 4, 5), (3, 4, 5))


@pytest.mark.parametrize("name", ("fft", "rfft", "ihfft", "fftn", "rfft2", "irfft", "hfftn"))
def test_integer_and_bool_inputs_promote(name):
    check_op(lambda m, a: _r(m, getattr(m.fft, name)(a)), I(3, 4))
    check_op(lambda m, a: _r(m, getattr(m.fft, name)(a > 2)), I(3, 4))
    check_op(lambda m: getattr(m.fft, name)(m.ones(2, 4, dtype=m.float64)).dtype)


def test_zero_d_and_single_point():
    check_op(lambda m, a: _r(m, m.fft.fftn(a)), np.array(2.5))
    check_op(lambda m, a: _r(m, m.fft.fft(a)), (1,))
    check_op(lambda m, a, b: m.fft.irfft(_c(m, a, b), n=1), (3,), (3,))


ERRORS = {
    "n_zero": (lambda m, x: m.fft.fft(x, n=0), RuntimeError),
    "n_float": (lambda m, x: m.fft.fft(x, n=1.5), TypeError),
    "bad_norm": (lambda m, x: m.fft.fft(x, norm="bad"), RuntimeError),
    "dim_range": (lambda m, x: m.fft.fft(x, dim=2), IndexError),
    "zero_d": (lambda m, x: m.fft.fft(x.sum()), IndexError),
    "dims_unique": (lambda m, x: m.fftn_(x) if False else m.fft.fftn(x, dim=(0, 0)), RuntimeError),
    "s_dim_length": (lambda m, x: m.fft.fftn(x, s=(3,), dim=(0, 1)), RuntimeError),
    "s_too_long": (lambda m, x: m.fft.rfftn(x, s=(2, 3, 4)), RuntimeError),
    "rfft_complex": (lambda m, x: m.fft.rfft(x.to(m.complex64)), RuntimeError),
    "rfftn_complex": (lambda m, x: m.fft.rfft2(x.to(m.complex64)), RuntimeError),
    "ihfft_complex": (lambda m, x: m.fft.ihfft(x.to(m.complex64)), RuntimeError),
    "ihfftn_complex": (lambda m, x: m.fft.ihfftn(x.to(m.complex128)), RuntimeError),
    "irfft_one": (lambda m, x: m.fft.irfft(x[:, :1]), RuntimeError),
    "empty": (lambda m, x: m.fft.fft(x[:, :0]), RuntimeError),
    "half": (lambda m, x: m.fft.fft(x.half()), RuntimeError),
    "bfloat16": (lambda m, x: m.fft.rfft(x.bfloat16()), RuntimeError),
    "out_real": (lambda m, x: m.fft.fft(x, out=m.empty(0)), RuntimeError),
    "out_complex_for_real": (lambda m, x: m.fft.irfft(x, out=m.empty(0, dtype=m.complex64)), RuntimeError),
    "fftfreq_int": (lambda m, x: m.fft.fftfreq(4, dtype=m.int64), RuntimeError),
    "fftfreq_negative": (lambda m, x: m.fft.fftfreq(-1), RuntimeError),
    "fftfreq_complex": (lambda m, x: m.fft.fftfreq(4, dtype=m.complex64), NotImplementedError),
    "shift_no_dims": (lambda m, x: m.fft.fftshift(x, ()), RuntimeError),
    "fft2_1d": (lambda m, x: m.fft.fft2(x[0]), IndexError),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors(case):
    fn, exc = ERRORS[case]
    check_op(fn, (4, 6), raises=exc)


def test_error_messages():
    x = dynagrad.ones(4, 6)
    for call, msg in [(lambda: dynagrad.fft.fft(x, n=0), "Invalid number of data points (0) specified"),
                      (lambda: dynagrad.fft.fft(x, norm="bad"), 'Invalid normalization mode: "bad"'),
                      (lambda: dynagrad.fft.rfft(x.to(dynagrad.complex64)),
                       "rfft expects a real input tensor, but got ComplexFloat"),
                      (lambda: dynagrad.fft.fft(x.half()), "Unsupported dtype Half")]:
        with pytest.raises(Exception, match=msg.replace("(", r"\(").replace(")", r"\)")):
            call()


def test_out():
    def f(m, a):
        o = m.empty(0, dtype=m.complex128)
        r = m.fft.fft(a, out=o)
        o2 = m.empty(3, 10)
        r2 = m.fft.irfft(a, out=o2)
        return [_r(m, o), r is o, o2, r2 is o2, str(o.dtype)[-10:]]
    check_op(f, F(3, 6, grad=False), rtol=1e-5, atol=1e-5)  # computed in float32, written to complex128
    check_op(lambda m, a: m.fft.rfft(a, out=m.empty(0, dtype=m.complex64)), (3, 6), raises=RuntimeError)


@pytest.mark.parametrize("dtype", [None, "float64"])
@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_fftfreq(n, dtype):
    def f(m):
        kw = {} if dtype is None else {"dtype": getattr(m, dtype)}
        return [m.fft.fftfreq(n, **kw), m.fft.rfftfreq(n, **kw), m.fft.fftfreq(n, 0.3, **kw),
                m.fft.rfftfreq(n, d=2.5, **kw), m.fft.fftfreq(n, requires_grad=True)]
    check_op(f, rtol=0, atol=0)


@pytest.mark.parametrize("dim", [None, 0, (1, 2), -1], ids=str)
def test_shifts(dim):
    check_op(lambda m, a: [m.fft.fftshift(a, dim), m.fft.ifftshift(a, dim)], (2, 3, 5))
    check_op(lambda m: [m.fft.fftshift(m.arange(7)), m.fft.ifftshift(m.arange(6).reshape(2, 3), dim=0)])


def test_grad_fn_names():
    x = dynagrad.ones(4, requires_grad=True)
    z = dynagrad.ones(4, dtype=dynagrad.complex64, requires_grad=True)
    got = [type(f(a).grad_fn).__name__ for f, a in [(dynagrad.fft.fft, x), (dynagrad.fft.fft, z),
                                                    (dynagrad.fft.irfft, z), (dynagrad.fft.hfft, z),
                                                    (dynagrad.fft.ihfft, x)]]
    assert got == ["FftR2CBackward0", "FftC2CBackward0", "FftC2RBackward0", "FftC2RBackward0", "ConjBackward0"]


# -- gradcheck in float64 (complex inputs through their real and imaginary parts) ------------------------------

GRAD_CASES = {
    "fft_n": (lambda a, b: dynagrad.fft.fft(dynagrad.complex(a, b), n=5), True),
    "ifft_ortho": (lambda a, b: dynagrad.fft.ifft(dynagrad.complex(a, b), norm="ortho", dim=0), True),
    "rfft": (lambda a: dynagrad.fft.rfft(a, n=7), False),
    "irfft": (lambda a, b: dynagrad.fft.irfft(dynagrad.complex(a, b), n=5), True),
    "irfft_even": (lambda a, b: dynagrad.fft.irfft(dynagrad.complex(a, b)), True),
    "hfft": (lambda a, b: dynagrad.fft.hfft(dynagrad.complex(a, b), norm="forward"), True),
    "ihfft": (lambda a: dynagrad.fft.ihfft(a), False),
    "rfft2": (lambda a: dynagrad.fft.rfft2(a), False),
    "irfftn": (lambda a, b: dynagrad.fft.irfftn(dynagrad.complex(a, b), s=(3, 6)), True),
    "hfftn": (lambda a, b: dynagrad.fft.hfftn(dynagrad.complex(a, b), s=(2, 5)), True),
    "ihfftn": (lambda a: dynagrad.fft.ihfftn(a, norm="ortho"), False),
    "fftn_real": (lambda a: dynagrad.fft.fftn(a, s=(4, 3)), False),
}


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_gradcheck(case):
    fn, cplx = GRAD_CASES[case]
    rng = np.random.default_rng(len(case))
    args = [dynagrad.tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(2 if cplx else 1)]

    def f(*a):
        out = fn(*a)
        return dynagrad.view_as_real(out) if out.is_complex() else out
    assert gradcheck(f, tuple(args))
    assert gradgradcheck(f, tuple(args))


# -- forward mode and vmap -----------------------------------------------------------------------------------

TRANSFORM_CASES = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "rfftn", "irfftn", "hfftn", "ihfft2"]


@pytest.mark.parametrize("name", TRANSFORM_CASES)
def test_jvp_and_vmap(name):
    rng = np.random.default_rng(3)
    real = name in ("rfft", "ihfft", "rfftn", "ihfft2")
    shape = (2, 3, 4)
    a = rng.standard_normal(shape) if real else rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    t = rng.standard_normal(shape) if real else rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    def run(m, jvp, vmap):
        f = getattr(m.fft, name)
        x, tx = m.tensor(a), m.tensor(t)
        _, tan = jvp(f, (x,), (tx,))
        return [_r(m, tan), _r(m, vmap(f)(x)), _r(m, vmap(f, in_dims=1)(x))]
    ref = reference(lambda torch: [v.numpy() for v in run(torch, torch.func.jvp, torch.func.vmap)])
    import dynagrad.func as func
    mine = run(dynagrad, func.jvp, func.vmap)
    for x, y in zip(mine, ref):
        np.testing.assert_allclose(x.numpy(), y, rtol=1e-10, atol=1e-10)


def test_training_step_matches_torch():
    """A spectral loss trained a few steps: the parameters match PyTorch's."""
    def run(m):
        m.manual_seed(0)
        # a generic start: a symmetric one has spectral bins that are 0 up to rounding, where |z|'s gradient
        # z / |z| is a direction of rounding noise
        w = m.nn.Parameter(m.tensor(np.random.default_rng(0).standard_normal(16)))
        target = m.cos(m.arange(16, dtype=m.float64))
        opt = m.optim.SGD([w], lr=0.05)
        for _ in range(5):
            opt.zero_grad()
            spec = m.fft.rfft(w * m.hann_window(16, dtype=m.float64), norm="ortho")
            loss = (spec.abs() - m.fft.rfft(target, norm="ortho").abs()).pow(2).sum()
            loss = loss + m.fft.irfft(spec * 1j, n=16).pow(2).mean()
            loss.backward()
            opt.step()
        return w.detach().numpy()
    np.testing.assert_allclose(run(dynagrad), reference(run), rtol=1e-10, atol=1e-12)


TORCH_FFT_NAMES = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "hfft2", "hfftn", "ifft", "ifft2", "ifftn",
                   "ifftshift", "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2", "irfftn", "rfft", "rfft2",
                   "rfftfreq", "rfftn"]


def test_coverage_of_torch_fft():
    if HAVE_TORCH:
        import torch
        public = sorted(n for n in dir(torch.fft) if not n.startswith("_") and callable(getattr(torch.fft, n))
                        and n not in ("Tensor",))
        assert public == TORCH_FFT_NAMES
    missing = [n for n in TORCH_FFT_NAMES if not hasattr(dynagrad.fft, n)]
    assert not missing


# -- windows ---------------------------------------------------------------------------------------------------

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", WINDOWS)
def test_window_functions(name, dtype):
    def f(m):
        dt = getattr(m, dtype)
        return [getattr(m, name)(n, periodic, dtype=dt).float() for n in (0, 1, 2, 5, 8) for periodic in (True, False)]
    tol = 1e-6 if dtype in ("float32", "float64") else 1e-2
    check_op(f, rtol=tol, atol=tol)


def test_window_arguments_and_errors():
    check_op(lambda m: [m.hamming_window(6, False, 0.3, 0.2, dtype=m.float64), m.kaiser_window(7, False, 3.5),
                        m.hann_window(4, requires_grad=True), m.hann_window(5).dtype])
    for name in WINDOWS:
        check_op(lambda m: getattr(m, name)(-1), raises=RuntimeError)
        check_op(lambda m: getattr(m, name)(4, dtype=m.int64), raises=RuntimeError)
        check_op(lambda m: getattr(m, name)(2.5), raises=TypeError)


SIGNAL_WINDOWS = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_hamming", "hamming", "hann",
                  "kaiser", "nuttall"]


@pytest.mark.parametrize("name", SIGNAL_WINDOWS)
def test_signal_windows(name):
    def f(m):
        w = getattr(m.signal.windows, name)
        return [w(n, sym=sym, dtype=dt) for n in (0, 1, 2, 5, 8) for sym in (True, False)
                for dt in (m.float32, m.float64)] + [w(4, requires_grad=True)]
    check_op(f, rtol=1e-6, atol=1e-6)
    check_op(lambda m: getattr(m.signal.windows, name)(-1), raises=ValueError)
    check_op(lambda m: getattr(m.signal.windows, name)(4, dtype=m.float16), raises=ValueError)


def test_signal_window_parameters():
    W = "signal.windows"
    check_op(lambda m: [m.signal.windows.general_cosine(6, a=[0.4, 0.3, 0.2, 0.1], sym=False),
                        m.signal.windows.exponential(5, center=1.0, tau=0.5, sym=False),
                        m.signal.windows.gaussian(6, std=2.5, dtype=m.float64),
                        m.signal.windows.kaiser(6, beta=4.0, sym=False, dtype=m.float64),
                        m.signal.windows.general_hamming(5, alpha=0.6)], rtol=1e-6, atol=1e-6)
    for bad, exc in [(lambda m: m.signal.windows.exponential(4, tau=-1), ValueError),
                     (lambda m: m.signal.windows.exponential(4, center=1.0), ValueError),
                     (lambda m: m.signal.windows.gaussian(4, std=0), ValueError),
                     (lambda m: m.signal.windows.kaiser(4, beta=-1.0), ValueError),
                     (lambda m: m.signal.windows.general_cosine(4, a=[]), ValueError),
                     (lambda m: m.signal.windows.general_cosine(4, a=3), TypeError)]:
        check_op(bad, raises=exc)
    assert W


# -- stft / istft ----------------------------------------------------------------------------------------------

STFT_CASES = [dict(), dict(hop_length=3, win_length=8, window="hann"), dict(center=False, window="hann"),
              dict(pad_mode="constant", normalized=True), dict(pad_mode="replicate", onesided=False),
              dict(pad_mode="circular", win_length=5, window="hann", hop_length=2),
              dict(center=False, win_length=8, window="hann", hop_length=3, align_to_window=True)]


def _stft_kw(m, kw, dtype):
    kw = dict(kw)
    if kw.get("window") == "hann":
        kw["window"] = m.hann_window(kw.get("win_length", 16), dtype=dtype)
    return kw


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kw", STFT_CASES, ids=str)
def test_stft(kw):
    check_op(lambda m, x: m.view_as_real(m.stft(x, 16, return_complex=True, **_stft_kw(m, kw, x.dtype))), (40,),
             dtypes=FLOATS)
    check_op(lambda m, x: m.view_as_real(x.stft(16, return_complex=True, **_stft_kw(m, kw, x.dtype))), (3, 40))


@pytest.mark.filterwarnings("ignore")
def test_stft_complex_input_and_real_output():
    check_op(lambda m, a, b: m.view_as_real(m.stft(m.complex(a, b), 8, return_complex=True)), (30,), (30,))
    check_op(lambda m, x: m.stft(x, 8, window=m.hann_window(8), return_complex=False), (30,))


ISTFT_CASES = [dict(), dict(hop_length=4, win_length=12), dict(center=False, hop_length=4),
               dict(normalized=True, length=30), dict(onesided=False, length=50), dict(onesided=False, return_complex=True)]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kw", ISTFT_CASES, ids=str)
def test_istft(kw):
    def f(m, x):
        w = m.hamming_window(kw.get("win_length", 16), dtype=x.dtype)  # nonzero ends: center=False inverts
        skw = {k: v for k, v in kw.items() if k in ("hop_length", "win_length", "center", "normalized", "onesided")}
        s = m.stft(x, 16, window=w, return_complex=True, **skw)
        y = m.istft(s, 16, window=w, **kw)
        return m.view_as_real(y) if y.is_complex() else y
    check_op(f, (3, 40), dtypes=FLOATS)


STFT_ERRORS = {
    "return_complex_missing": lambda m, x: m.stft(x, 16),
    "n_fft_too_big": lambda m, x: m.stft(x, 100, center=False, return_complex=True),
    "win_length_too_long": lambda m, x: m.stft(x, 16, win_length=20, return_complex=True),
    "window_size": lambda m, x: m.stft(x, 16, window=m.ones(5), return_complex=True),
    "three_d": lambda m, x: m.stft(x.reshape(2, 2, 10), 4, return_complex=True),
    "hop_zero": lambda m, x: m.stft(x, 16, hop_length=0, return_complex=True),
    "align_with_center": lambda m, x: m.stft(x, 16, align_to_window=True, return_complex=True),
    "integer": lambda m, x: m.stft(x.long(), 16, return_complex=True),
    "istft_real": lambda m, x: m.istft(x, 16),
    "istft_n_fft": lambda m, x: m.istft(m.stft(x, 16, return_complex=True), 14),
    "istft_nola": lambda m, x: m.istft(m.stft(x, 16, window=m.hann_window(16, periodic=False), hop_length=16,
                                              center=False, return_complex=True), 16, hop_length=16,
                                       window=m.hann_window(16, periodic=False), center=False),
    "istft_onesided_complex": lambda m, x: m.istft(m.stft(x, 16, return_complex=True), 16, return_complex=True),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", list(STFT_ERRORS))
def test_stft_errors(case):
    check_op(STFT_ERRORS[case], (40,), raises=RuntimeError)


def test_stft_messages_and_warnings():
    x = dynagrad.ones(40)
    with pytest.raises(RuntimeError, match="stft requires the return_complex parameter be given for real inputs"):
        dynagrad.stft(x, 16, window=dynagrad.hann_window(16))
    with pytest.raises(RuntimeError, match=r"expected 0 < n_fft < 40, but got n_fft=100"):
        dynagrad.stft(x, 100, center=False, return_complex=True)
    with pytest.warns(UserWarning, match="deprecated"):
        dynagrad.stft(x, 16, window=dynagrad.hann_window(16), return_complex=False)


def test_stft_gradcheck():
    rng = np.random.default_rng(5)
    x = dynagrad.tensor(rng.standard_normal(24), requires_grad=True)
    w = dynagrad.hann_window(8, dtype=dynagrad.float64).requires_grad_()
    assert gradcheck(lambda x, w: dynagrad.view_as_real(dynagrad.stft(x, 8, hop_length=3, window=w,
                                                                      return_complex=True)), (x, w))

    def roundtrip(x):
        s = dynagrad.stft(x, 8, hop_length=2, window=dynagrad.hann_window(8, dtype=x.dtype), return_complex=True)
        return dynagrad.istft(s * (1 + s.abs()), 8, hop_length=2, window=dynagrad.hann_window(8, dtype=x.dtype))
    assert gradcheck(roundtrip, (x,))


# -- complex construction (core: torch.complex / torch.polar record gradients) ---------------------------------

def test_complex_and_polar_gradients():
    check_op(lambda m, a, b: m.view_as_real(m.complex(a, b) * m.polar(a.abs() + 0.5, b)), (3, 4), (3, 4),
             dtypes=FLOATS)
    check_op(lambda m, a, b: (m.complex(a, b) ** 2).abs(), (2, 1), (3,))
    check_op(lambda m, a: m.complex(a.long(), a.long()), (3,), raises=RuntimeError)
    check_op(lambda m, a: m.complex(a, a.double()), (3,), raises=RuntimeError)
    check_op(lambda m, a: m.polar(a, a[:2]), (3,), raises=RuntimeError)


COMPLEX_UNARY = ["exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "asin", "acos", "atan",
                 "asinh", "acosh", "atanh", "sigmoid", "reciprocal", "log1p", "expm1", "log2", "log10", "exp2",
                 "square", "prod", "cumprod"]


@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_complex_unary_gradients(name):
    """The gradient of a real loss of f(z) is dL/dRe + i dL/dIm (the local derivative conjugated), also with
    create_graph."""
    def f(m, a, b):
        z = m.complex(a, b)
        fn = getattr(m, name)
        y = fn(z, 0) if name == "cumprod" else fn(z)
        return m.view_as_real(y.reshape(-1))
    check_op(f, F(5, low=0.2, high=1.5), F(5, low=-1.0, high=1.0), dtypes=FLOATS)

    def second(m, a, b):
        z = m.complex(a, b)
        fn = getattr(m, name)
        y = fn(z, 0) if name == "cumprod" else fn(z)
        g, = m.autograd.grad((y.real * 1.3 + y.imag * 0.7).sum(), z, create_graph=True)
        return m.view_as_real(g)
    check_op(second, F(5, low=0.2, high=1.5, dtype="float64"), F(5, low=-1.0, high=1.0, dtype="float64"))
