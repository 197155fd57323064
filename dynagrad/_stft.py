"""``torch.stft`` and ``torch.istft``, composed as ATen composes them (frames, window, one FFT primitive;
overlap-add divided by the window envelope), so their gradients come from the FFT primitives' backwards.

>>> import dynagrad
>>> x = dynagrad.arange(16.0)
>>> spec = dynagrad.stft(x, 8, hop_length=2, window=dynagrad.hann_window(8), return_complex=True)
>>> spec.shape
torch.Size([5, 9])
>>> dynagrad.istft(spec, 8, hop_length=2, window=dynagrad.hann_window(8), length=16).round().abs()
tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,
        14., 15.])
"""
from __future__ import annotations

import warnings

from . import dtypes
from .backend import xp
from .tensor import Tensor

__all__ = ["stft", "istft"]

_warned_no_window = [False]


def _tensor_repr(t: Tensor, braces: bool = False) -> str:
    """How ATen's stft/istft messages print a tensor (legacy type names: torch.FloatTensor, CPUComplexFloatType)."""
    name = dtypes.scalar_name(t.dtype)
    shape = str(list(t.shape))
    if braces:
        shape = "{" + shape + "}"
    return f"CPU{name}Type{shape}" if t.is_complex() else f"torch.{name}Tensor{shape}"


def _repr(x: Tensor, n_fft, hop_length, win_length, window, normalized, onesided, return_complex, center=None,
          length=None, istft=False, align=None) -> str:
    """ATen's description of the call that its stft/istft errors start with."""
    win = "None" if window is None else _tensor_repr(window, True)
    s = (f"{'istft' if istft else 'stft'}({_tensor_repr(x)}, n_fft={n_fft}, hop_length={hop_length}, "
         f"win_length={win_length}, window={win}, ")
    if istft:
        s += f"center={int(bool(center))}, "
    s += f"normalized={int(bool(normalized))}, onesided=" + ("None" if onesided is None else str(int(bool(onesided))))
    if istft:
        s += ", length=" + ("None" if length is None else str(length))
    s += ", return_complex=" + ("None" if return_complex is None else str(int(bool(return_complex))))
    if not istft:
        s += ", align_to_window=" + ("None" if align is None else str(int(bool(align))))
    return s + ") "


def _no_window_warning() -> None:
    if not _warned_no_window[0]:
        _warned_no_window[0] = True
        warnings.warn("A window was not provided. A rectangular window will be applied,which is known to cause "
                      "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                      "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
                      "window, explicitly set `window=torch.ones(n_fft, device=<device>)`.", UserWarning, stacklevel=3)


def _centre_pad_window(window, win_length: int, n_fft: int, like: Tensor):
    """The window zero-padded on both sides to ``n_fft`` (a rectangle of ``win_length`` ones when None)."""
    from .creation import ones
    from .nn.functional import pad
    if window is None:
        if win_length == n_fft:
            return None
        real = like.real if like.is_complex() else like
        window = ones(win_length, dtype=real.dtype)
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = pad(window, [left, n_fft - win_length - left])
    return window


def stft(input, n_fft: int, hop_length: int | None = None, win_length: int | None = None,  # noqa: A002
         window=None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None,
         align_to_window: bool | None = None) -> Tensor:
    """The short-time Fourier transform: ``(n_fft // 2 + 1 or n_fft, n_frames)`` per signal, complex (or its
    real pairs with ``return_complex=False``, deprecated as in PyTorch)."""
    from .fft import _ops
    from .nn.functional import pad
    from .ops.math import view_as_real
    if not isinstance(input, Tensor):
        raise TypeError(f"stft(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    hop = n_fft >> 2 if hop_length is None else hop_length
    wlen = n_fft if win_length is None else win_length
    if window is None:
        _no_window_warning()
    complex_in = input.is_complex() or (window is not None and window.is_complex())
    rc = complex_in if return_complex is None else bool(return_complex)
    if not rc:
        if return_complex is None:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will "
                      "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
                      "Note: you can still call torch.view_as_real on the complex output to recover the old "
                      "return format.", UserWarning, stacklevel=2)
    x = input
    if center:  # as torch.functional.stft pads, before ATen sees the input
        p = n_fft // 2
        nd = x.ndim
        x = pad(x.reshape([1] * (3 - nd) + list(x.shape)), [p, p], pad_mode)
        x = x.reshape(x.shape[-nd:])
    desc = _repr(x, n_fft, hop, wlen, window, normalized, onesided, return_complex, align=align_to_window)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(desc + ": expected a tensor of floating point or complex values")
    if x.ndim not in (1, 2):
        raise RuntimeError(desc + ": expected a 1D or 2D tensor")
    if x.ndim == 1:
        x = x.unsqueeze(0)
    length = x.shape[1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(desc + f": expected 0 < n_fft < {length}, but got n_fft={wlen}")
    if hop <= 0:
        raise RuntimeError(desc + f": expected hop_length > 0, but got hop_length={hop}")
    if wlen <= 0 or wlen > n_fft:
        raise RuntimeError(desc + f": expected 0 < win_length <= n_fft, but got win_length={wlen}")
    if window is not None and (window.ndim != 1 or window.shape[0] != wlen):
        raise RuntimeError(desc + f": expected a 1D window tensor of size equal to win_length={wlen}, but got "
                           f"window with size {list(window.shape)}")
    if align_to_window and wlen < n_fft:
        # frames start where the window starts: shift the signal by the window's left padding
        left = (n_fft - wlen) // 2
        x = pad(x, [left, n_fft - wlen - left])
    w = _centre_pad_window(window, wlen, n_fft, x)
    n_frames = 1 + (x.shape[1] - n_fft) // hop
    frames = x.unfold(1, n_fft, hop)[:, :n_frames]
    if w is not None:
        frames = frames * w
    one = onesided if onesided is not None else not frames.is_complex()
    norm = _ops.BY_ROOT_N if normalized else _ops.NONE
    if frames.is_complex():
        if one:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = _ops.FftC2CBackward0.apply(frames, dims=(2,), norm=norm, forward=True)
    else:
        out = _ops.FftR2CBackward0.apply(frames, dims=(2,), norm=norm, onesided=bool(one))
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    return out if rc else view_as_real(out)


def _overlap_add(frames: Tensor, hop: int, total: int) -> Tensor:
    """Sum frames ``(C, n_frames, n)`` placed ``hop`` apart into ``(C, total)`` (ATen's unfold_backward)."""
    from .creation import tensor, zeros
    C, nf, n = frames.shape
    idx = (xp.arange(nf)[:, None] * hop + xp.arange(n)[None, :]).reshape(-1)
    out = zeros(C, total, dtype=frames.dtype)
    return out.index_add(1, tensor(idx), frames.reshape(C, nf * n))


def istft(input, n_fft: int, hop_length: int | None = None, win_length: int | None = None,  # noqa: A002
          window=None, center: bool = True, normalized: bool = False, onesided: bool | None = None,
          length: int | None = None, return_complex: bool = False) -> Tensor:
    """The inverse of :func:`stft` by least-squares overlap-add (the window envelope must not vanish)."""
    from .creation import ones
    from .fft import _ops
    from .nn.functional import pad
    if not isinstance(input, Tensor):
        raise TypeError(f"istft(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    hop = n_fft >> 2 if hop_length is None else hop_length
    wlen = n_fft if win_length is None else win_length
    desc = _repr(input, n_fft, hop, wlen, window, normalized, onesided, return_complex, center, length, True)
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    dim = input.ndim + 1
    if input.numel() == 0:
        raise RuntimeError(desc + ": istft input tensor cannot be empty")
    if dim not in (3, 4):
        raise RuntimeError(desc + f": expected a tensor with 3 or 4 dimensions of complex, but got {dim}")
    n_frames, fft_size = input.shape[-1], input.shape[-2]
    expected = n_fft + hop * (n_frames - 1)
    one = (fft_size != n_fft) if onesided is None else bool(onesided)
    if one and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(desc + ": expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft / 2 + 1 when onesided=True, but got {fft_size}")
    if not one and n_fft != fft_size:
        raise RuntimeError(desc + ": expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop <= wlen:
        raise RuntimeError(desc + ": expected 0 < hop_length <= win_length")
    if not 0 < wlen <= n_fft:
        raise RuntimeError(desc + ": expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != wlen):
        raise RuntimeError(desc + ": Invalid window shape. window has to be 1D and length of `win_length`")
    real_dt = dtypes.float32 if input._data.dtype == xp.complex64 else dtypes.float64
    w = window if window is not None else ones(wlen, dtype=real_dt)
    if wlen != n_fft:
        left = (n_fft - wlen) // 2
        w = pad(w, [left, n_fft - wlen - left])
    x = input.unsqueeze(0) if dim == 3 else input
    x = x.transpose(1, 2)  # (channel, n_frames, fft_size)
    norm = _ops.BY_ROOT_N if normalized else _ops.BY_N
    if return_complex:
        if one:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = _ops.FftC2CBackward0.apply(x, dims=(2,), norm=norm, forward=False)
    else:
        if window is not None and window.is_complex():
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not one:
            x = x.narrow(-1, 0, n_fft // 2 + 1)
        frames = _ops.FftC2RBackward0.apply(x, dims=(2,), norm=norm, last_dim_size=n_fft)
    y = _overlap_add(frames * w.reshape(1, 1, n_fft), hop, expected)
    env = _overlap_add(w.pow(2).reshape(1, 1, n_fft).expand(1, n_frames, n_fft), hop, expected)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = expected - n_fft // 2 if center else expected
    y = y[:, start:min(end, expected)]
    env = env[:, start:min(end, expected)]
    if env.numel() and bool((env.abs() < 1e-11).any()):
        raise RuntimeError(desc + "window overlap add min: 1\n[ CPUBoolType{} ]")
    y = y / env
    if dim == 3:
        y = y.squeeze(0)
    if end > expected:
        warnings.warn("The length of signal is shorter than the length parameter. Result is being padded with zeros "
                      "in the tail. Please check your center and hop_length settings.", UserWarning, stacklevel=2)
        y = pad(y, [0, end - expected])
    return y
