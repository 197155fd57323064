"""``torch.fft``: discrete Fourier transforms, differentiable (also forward mode and under vmap).

The functions are composites of three primitives (``_ops``: c2c, r2c, c2r, as ATen arranges them), so
dtypes, argument checks and gradients follow PyTorch: real and integer inputs promote (float32 gives
complex64, integers the default dtype), half precision is refused as PyTorch's CPU build refuses it, and
``norm`` is ``"backward"`` (default: no scaling forward, 1/n inverse), ``"ortho"`` or ``"forward"``.

>>> import dynagrad
>>> x = dynagrad.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> dynagrad.fft.fft(x)
tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j], grad_fn=<FftR2CBackward0>)
>>> dynagrad.fft.irfft(dynagrad.fft.rfft(x), n=4)
tensor([1., 2., 3., 4.], grad_fn=<FftC2RBackward0>)
>>> dynagrad.fft.rfft(x).abs().sum().backward()
>>> x.grad
tensor([-0.7071,  1.2929,  0.7071,  2.7071])
"""
from __future__ import annotations

from collections.abc import Sequence

from .. import dtypes
from ..backend import xp
from ..tensor import Tensor
from . import _ops
from ._ops import BY_N, BY_ROOT_N, NONE, FftC2CBackward0, FftC2RBackward0, FftR2CBackward0

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
           "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]

Tensor = Tensor  # torch.fft.Tensor exists (a re-export); keep the name public here too


# -- argument handling, as ATen's SpectralOps.cpp ---------------------------------------------------------------

def _norm(norm: str | None, forward: bool) -> int:
    if norm is None or norm == "backward":
        return NONE if forward else BY_N
    if norm == "forward":
        return BY_N if forward else NONE
    if norm == "ortho":
        return BY_ROOT_N
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _check_tensor(x, fname: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"fft_{fname}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _promote(x: Tensor, require_complex: bool = False) -> Tensor:
    """Integers to the default float dtype; float16/bfloat16 refused (PyTorch's CPU FFT has no half kernel);
    real to complex when ``require_complex``."""
    k = x._data.dtype.kind
    if k == "c":
        return x
    if k in "biu":
        x = x.to(dtypes.get_default_dtype())
    elif x._data.dtype not in (xp.float32, xp.float64):
        raise RuntimeError(f"Unsupported dtype {dtypes.scalar_name(x.dtype)}")
    if require_complex:
        x = x.to(dtypes.complex64 if x._data.dtype == xp.float32 else dtypes.complex128)
    return x


def _check_int(v, fname: str, arg: str) -> None:
    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
        raise TypeError(f"fft_{fname}(): argument '{arg}' must be int, not {type(v).__name__}")


def _wrap_dim(d: int, ndim: int) -> int:
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"dim must be int, not {type(d).__name__}")
    if ndim == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    if not -ndim <= d < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {d})")
    return d % ndim


def _points(n: int) -> None:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _shape_and_dims(x: Tensor, s, dim) -> tuple[list[int], list[int]]:
    """ATen's canonicalize_fft_shape_and_dim_args: the transformed dims and their lengths."""
    nd = x.ndim
    if isinstance(dim, int):
        dim = (dim,)
    if isinstance(s, int):
        s = (s,)
    dims: list[int] = []
    if dim is not None:
        dims = [_wrap_dim(d, nd) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = list(s)
        for v in s:
            _check_int(v, "fftn", "s")
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > nd:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {nd} dimensions.")
        if dim is None:
            dims = list(range(nd - len(s), nd))
        shape = [x.shape[d] if n == -1 else n for d, n in zip(dims, s)]
    elif dim is None:
        dims, shape = list(range(nd)), list(x.shape)
    else:
        shape = [x.shape[d] for d in dims]
    for n in shape:
        _points(n)
    return shape, dims


def _resize(x: Tensor, dims: Sequence[int], sizes: Sequence[int]) -> Tensor:
    """Slice or zero-pad ``x`` at the end of ``dims`` to ``sizes`` (differentiable)."""
    pad = [0] * (2 * x.ndim)
    for d, n in zip(dims, sizes):
        cur = x.shape[d]
        if n < cur:
            x = x.narrow(d, 0, n)
        elif n > cur:
            pad[2 * (x.ndim - 1 - d) + 1] = n - cur
    if any(pad):
        from ..nn.functional import pad as _pad
        x = _pad(x, pad)
    return x


def _out(result: Tensor, out, fname: str) -> Tensor:
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"fft_{fname}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if result.is_complex() and not out.is_complex():
        raise RuntimeError(f"{fname} expects a complex output tensor, but got {dtypes.scalar_name(out.dtype)}")
    if not result.is_complex() and not out.is_floating_point():
        raise RuntimeError(f"{fname} expects a floating point output tensor, but got "
                           f"{dtypes.scalar_name(out.dtype)}")
    if result._requires_grad:
        prim = {"FftR2CBackward0": "_fft_r2c", "FftC2CBackward0": "_fft_c2c",
                "FftC2RBackward0": "_fft_c2r"}.get(type(result.grad_fn).__name__, "conj_physical")
        raise RuntimeError(f"{prim}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    r = result.to(out.dtype)
    if tuple(out.shape) == tuple(r.shape):
        out.copy_(r)
    else:
        out.set_(r)
    return out


def _conj(x: Tensor) -> Tensor:
    from ..ops.math import conj
    return conj(x)


def _refuse_complex(x: Tensor, fname: str, valued: bool = False) -> None:
    if x.is_complex():
        what = "real-valued" if valued else "real"
        raise RuntimeError(f"{fname} expects a {what} input tensor, but got {dtypes.scalar_name(x.dtype)}")


# -- one-dimensional transforms -------------------------------------------------------------------------------

def _c2c_1d(fname, x, n, dim, norm, forward, out):
    _check_tensor(x, fname)
    _check_int(n, fname, "n")
    real = not x.is_complex()
    x = _promote(x)
    nrm = _norm(norm, forward)
    d = _wrap_dim(dim, x.ndim)
    size = x.shape[d] if n is None else n
    _points(size)
    if n is not None:
        x = _resize(x, [d], [n])
    if real:  # ATen: a real input takes the two-sided r2c (conjugated for the inverse)
        r = FftR2CBackward0.apply(x, dims=(d,), norm=nrm, onesided=False)
        return _out(r if forward else _conj(r), out, fname)
    return _out(FftC2CBackward0.apply(x, dims=(d,), norm=nrm, forward=forward), out, fname)


def fft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):  # noqa: A002
    """The one-dimensional discrete Fourier transform of ``input`` along ``dim`` (length ``n``: the input
    is trimmed or zero-padded).

    >>> import dynagrad
    >>> dynagrad.fft.fft(dynagrad.tensor([0.0, 1.0, 0.0, 0.0])).real
    tensor([ 1.,  0., -1.,  0.])
    """
    return _c2c_1d("fft", input, n, dim, norm, True, out)


def ifft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`fft` (scaled by ``1/n`` with the default ``norm="backward"``)."""
    return _c2c_1d("ifft", input, n, dim, norm, False, out)


def _r2c_1d(fname, x, n, dim, norm, forward, out):
    _check_tensor(x, fname)
    _check_int(n, fname, "n")
    _refuse_complex(x, fname)
    if out is not None and not out.is_complex():
        raise RuntimeError(f"{fname} expects a complex output tensor, but got {dtypes.scalar_name(out.dtype)}")
    x = _promote(x)
    d = _wrap_dim(dim, x.ndim)
    size = x.shape[d] if n is None else n
    _points(size)
    if n is not None:
        x = _resize(x, [d], [n])
    r = FftR2CBackward0.apply(x, dims=(d,), norm=_norm(norm, forward), onesided=True)
    return _out(r if forward else _conj(r), out, fname)


def rfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):  # noqa: A002
    """The FFT of a real input, keeping the ``n // 2 + 1`` non-negative frequencies.

    >>> import dynagrad
    >>> dynagrad.fft.rfft(dynagrad.tensor([1.0, 2.0, 3.0])).abs()
    tensor([6.0000, 1.7321])
    """
    return _r2c_1d("rfft", input, n, dim, norm, True, out)


def ihfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`hfft`: the one-sided inverse FFT of a real signal."""
    return _r2c_1d("ihfft", input, n, dim, norm, False, out)


def _c2r_1d(fname, x, n, dim, norm, forward, out):
    _check_tensor(x, fname)
    _check_int(n, fname, "n")
    if out is not None and not out.is_floating_point():
        raise RuntimeError(f"{fname} expects a floating point output tensor, but got "
                           f"{dtypes.scalar_name(out.dtype)}")
    x = _promote(x, require_complex=True)
    d = _wrap_dim(dim, x.ndim)
    size = 2 * (x.shape[d] - 1) if n is None else n
    _points(size)
    if n is not None:
        x = _resize(x, [d], [n // 2 + 1])
    if forward:
        x = _conj(x)
    return _out(FftC2RBackward0.apply(x, dims=(d,), norm=_norm(norm, forward), last_dim_size=size), out, fname)


def irfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`rfft`: a real signal of length ``n`` (default ``2 * (m - 1)``) from its one-sided
    spectrum; the imaginary parts of the zero (and Nyquist) bins are ignored."""
    return _c2r_1d("irfft", input, n, dim, norm, False, out)


def hfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):  # noqa: A002
    """The FFT of a Hermitian-symmetric signal given by its one-sided half: a real spectrum of length
    ``n``."""
    return _c2r_1d("hfft", input, n, dim, norm, True, out)


# -- n-dimensional transforms ---------------------------------------------------------------------------------

def _c2c_nd(fname, x, s, dim, norm, forward, out):
    _check_tensor(x, fname)
    shape, dims = _shape_and_dims(x, s, dim)
    x = _promote(x, require_complex=True)
    x = _resize(x, dims, shape)
    return _out(FftC2CBackward0.apply(x, dims=tuple(dims), norm=_norm(norm, forward), forward=forward), out,
                fname)


def fftn(input, s=None, dim=None, norm: str | None = None, *, out=None):  # noqa: A002
    """The N-dimensional FFT over ``dim`` (all dims, or the last ``len(s)``), with lengths ``s``.

    >>> import dynagrad
    >>> dynagrad.fft.fftn(dynagrad.ones(2, 2))
    tensor([[4.+0.j, 0.+0.j],
            [0.+0.j, 0.+0.j]])
    """
    return _c2c_nd("fftn", input, s, dim, norm, True, out)


def ifftn(input, s=None, dim=None, norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`fftn`."""
    return _c2c_nd("ifftn", input, s, dim, norm, False, out)


def fft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):  # noqa: A002
    """The 2-D FFT (:func:`fftn` over the last two dims by default)."""
    return _c2c_nd("fft2", input, s, dim, norm, True, out)


def ifft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`fft2`."""
    return _c2c_nd("ifft2", input, s, dim, norm, False, out)


def _rfftn(fname, x, s, dim, norm, out):
    _check_tensor(x, fname)
    _refuse_complex(x, "rfftn", valued=True)
    if out is not None and not out.is_complex():
        raise RuntimeError(f"{fname} expects a complex output tensor, but got {dtypes.scalar_name(out.dtype)}")
    shape, dims = _shape_and_dims(x, s, dim)
    if not dims:
        raise RuntimeError(f"{fname} must transform at least one axis")
    x = _resize(_promote(x), dims, shape)
    return _out(FftR2CBackward0.apply(x, dims=tuple(dims), norm=_norm(norm, True), onesided=True), out, fname)


def rfftn(input, s=None, dim=None, norm: str | None = None, *, out=None):  # noqa: A002
    """The N-dimensional FFT of a real input, one-sided in the last transformed dim."""
    return _rfftn("rfftn", input, s, dim, norm, out)


def rfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):  # noqa: A002
    """:func:`rfftn` over the last two dims by default."""
    return _rfftn("rfft2", input, s, dim, norm, out)


def _c2r_shape(fname, x, s, dim):
    """ATen's canonicalize_fft_c2r_shape_and_dim_args: dims, input sizes and the output's last length."""
    shape, dims = _shape_and_dims(x, s, dim)
    if not dims:
        raise RuntimeError(f"{fname} must transform at least one axis")
    s_last = None if s is None else (s if isinstance(s, int) else list(s)[-1])
    last = 2 * (x.shape[dims[-1]] - 1) if s_last is None or s_last == -1 else shape[-1]
    _points(last)
    shape[-1] = last // 2 + 1
    return shape, dims, last


def _irfftn(fname, x, s, dim, norm, out):
    _check_tensor(x, fname)
    if out is not None and not out.is_floating_point():
        raise RuntimeError(f"{fname} expects a floating point output tensor, but got "
                           f"{dtypes.scalar_name(out.dtype)}")
    shape, dims, last = _c2r_shape(fname, x, s, dim)
    x = _resize(_promote(x, require_complex=True), dims, shape)
    return _out(FftC2RBackward0.apply(x, dims=tuple(dims), norm=_norm(norm, False), last_dim_size=last), out,
                fname)


def irfftn(input, s=None, dim=None, norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`rfftn`: a real output whose last transformed dim has length ``s[-1]`` (default
    ``2 * (m - 1)``)."""
    return _irfftn("irfftn", input, s, dim, norm, out)


def irfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):  # noqa: A002
    """:func:`irfftn` over the last two dims by default."""
    return _irfftn("irfft2", input, s, dim, norm, out)


def _hfftn(fname, x, s, dim, norm, out):
    _check_tensor(x, fname)
    if out is not None and not out.is_floating_point():
        raise RuntimeError(f"{fname} expects a floating point output tensor, but got "
                           f"{dtypes.scalar_name(out.dtype)}")
    shape, dims, last = _c2r_shape(fname, x, s, dim)
    x = _resize(_promote(x, require_complex=True), dims, shape)
    nrm = _norm(norm, True)
    if len(dims) > 1:
        x = FftC2CBackward0.apply(x, dims=tuple(dims[:-1]), norm=nrm, forward=True)
    x = _conj(x)
    return _out(FftC2RBackward0.apply(x, dims=(dims[-1],), norm=nrm, last_dim_size=last), out, fname)


def hfftn(input, s=None, dim=None, norm: str | None = None, *, out=None):  # noqa: A002
    """The N-dimensional FFT of a Hermitian-symmetric input given by its one-sided half (real output)."""
    return _hfftn("hfftn", input, s, dim, norm, out)


def hfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):  # noqa: A002
    """:func:`hfftn` over the last two dims by default."""
    return _hfftn("hfft2", input, s, dim, norm, out)


def _ihfftn(fname, x, s, dim, norm, out):
    _check_tensor(x, fname)
    if out is not None and not out.is_complex():
        raise RuntimeError(f"{fname} expects a complex output tensor, but got {dtypes.scalar_name(out.dtype)}")
    shape, dims = _shape_and_dims(x, s, dim)
    if x.is_complex():  # ATen's r2c kernel refuses it with this message
        raise RuntimeError(f"Only supports floating-point dtypes, but found: {dtypes.scalar_name(x.dtype)}")
    if not dims:
        raise RuntimeError(f"{fname} must transform at least one axis")
    x = _resize(_promote(x), dims, shape)
    nrm = _norm(norm, False)
    r = _conj(FftR2CBackward0.apply(x, dims=(dims[-1],), norm=nrm, onesided=True))
    if len(dims) > 1:
        r = FftC2CBackward0.apply(r, dims=tuple(dims[:-1]), norm=nrm, forward=False)
    return _out(r, out, fname)


def ihfftn(input, s=None, dim=None, norm: str | None = None, *, out=None):  # noqa: A002
    """The inverse of :func:`hfftn`: one-sided in the last transformed dim."""
    return _ihfftn("ihfftn", input, s, dim, norm, out)


def ihfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):  # noqa: A002
    """:func:`ihfftn` over the last two dims by default."""
    return _ihfftn("ihfft2", input, s, dim, norm, out)


# -- frequencies and shifts ---------------------------------------------------------------------------------

def _freq_dtype(fname, dtype):
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{fname} requires a floating point or complex dtype")
    if dt.is_complex:  # the check admits complex, but ATen's arange kernel then refuses it
        raise dtypes.not_implemented("arange_cpu", dt)
    return dt


def _freq(fname, k, n, d, out, dtype, requires_grad):
    dt = _freq_dtype(fname, dtype if dtype is not None or out is None else out.dtype)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    npd = dt.numpy
    with xp.errstate(divide="ignore", invalid="ignore"):
        scale = npd.type(1.0 / (n * d)) if n * d != 0 else npd.type(xp.inf)
        arr = (k.astype(npd) * scale).astype(npd, copy=False)
    t = Tensor._wrap(arr)
    if out is not None:
        _out(t, out, fname)
        return out
    if requires_grad:
        t.requires_grad_(True)
    return t


def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point FFT with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d n)``.

    >>> import dynagrad
    >>> dynagrad.fft.fftfreq(4)
    tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    _check_int(n, "fftfreq", "n")
    k = xp.concatenate([xp.arange((n + 1) // 2), xp.arange(-(n // 2), 0)]) if n > 0 else xp.arange(0)
    return _freq("fftfreq", k, n, d, out, dtype, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The ``n // 2 + 1`` non-negative sample frequencies of :func:`rfft`.

    >>> import dynagrad
    >>> dynagrad.fft.rfftfreq(5, d=0.5)
    tensor([0.0000, 0.4000, 0.8000])
    """
    _check_int(n, "rfftfreq", "n")
    k = xp.arange(n // 2 + 1) if n >= 0 else xp.arange(0)
    return _freq("rfftfreq", k, n, d, out, dtype, requires_grad)


def _shift(x, dim, inverse: bool):
    if not isinstance(x, Tensor):
        raise TypeError(f"fft_{'i' if inverse else ''}fftshift(): argument 'input' (position 1) must be Tensor, "
                        f"not {type(x).__name__}")
    if dim is None:
        dims = list(range(x.ndim))
    else:
        dims = [_wrap_dim(d, x.ndim) for d in ((dim,) if isinstance(dim, int) else dim)]
    if not dims:
        raise RuntimeError("`shifts` required")  # as roll, which ATen's shift calls
    shifts = [((x.shape[d] + 1) // 2) if inverse else x.shape[d] // 2 for d in dims]
    from ..ops.shape import roll
    return roll(x, shifts, dims)


def fftshift(input, dim=None) -> Tensor:  # noqa: A002
    """Move the zero frequency to the centre (a roll by ``n // 2`` along ``dim``, default all).

    >>> import dynagrad
    >>> dynagrad.fft.fftshift(dynagrad.fft.fftfreq(5))
    tensor([-0.4000, -0.2000,  0.0000,  0.2000,  0.4000])
    """
    return _shift(input, dim, False)


def ifftshift(input, dim=None) -> Tensor:  # noqa: A002
    """The inverse of :func:`fftshift`."""
    return _shift(input, dim, True)


del _ops
