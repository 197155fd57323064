"""The three FFT primitives, as ATen has them: complex-to-complex, real-to-complex and complex-to-real.

Every public function of ``dynagrad.fft`` (and ``stft``/``istft``) is a composite of these, of a resize
(slice or zero-pad) and of ``conj``. Their backwards are PyTorch's: for PyTorch's convention (the gradient
of a real loss is dL/dRe + i dL/dIm) the gradient of a linear map is its adjoint applied to the gradient,
so c2c's backward is c2c in the other direction with the same scaling; r2c's is c2c of the zero-padded
one-sided gradient, real part; c2r's is a one-sided r2c with the entries that stand for two conjugate
bins doubled.

``norm`` is ATen's normalization mode, the scaling applied whatever the direction: 0 none, 1 by
1/sqrt(n), 2 by 1/n.
"""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D

NONE, BY_ROOT_N, BY_N = 0, 1, 2


def _np_norm(mode: int, forward: bool) -> str:
    """NumPy's ``norm=`` that gives ATen's scaling ``mode`` for a transform in direction ``forward``."""
    if mode == BY_ROOT_N:
        return "ortho"
    if forward:
        return "backward" if mode == NONE else "forward"
    return "forward" if mode == NONE else "backward"


def _is_tensor(x) -> bool:
    return not D.is_array(x)


def c2c(x, dims: tuple, norm: int, forward: bool):
    """c2c of an array (computed) or of a Tensor (recorded, for gradients of gradients)."""
    if _is_tensor(x):
        return FftC2CBackward0.apply(x, dims=dims, norm=norm, forward=forward)
    return FftC2CBackward0.forward(None, x, dims=dims, norm=norm, forward=forward)


def r2c(x, dims: tuple, norm: int, onesided: bool):
    if _is_tensor(x):
        return FftR2CBackward0.apply(x, dims=dims, norm=norm, onesided=onesided)
    return FftR2CBackward0.forward(None, x, dims=dims, norm=norm, onesided=onesided)


def _real(x):
    if _is_tensor(x):
        from ..ops.math import real
        return real(x)
    return xp.ascontiguousarray(x.real)


def _pad_to(x, axis: int, n: int):
    """``x`` zero-padded at the end of ``axis`` to length ``n``."""
    extra = n - x.shape[axis]
    if extra <= 0:
        return x
    if _is_tensor(x):
        from ..nn.functional import pad
        return pad(x, [0, 0] * (x.ndim - 1 - axis) + [0, extra])
    shape = list(x.shape)
    shape[axis] = n
    out = xp.zeros(shape, x.dtype)
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(0, x.shape[axis])
    out[tuple(idx)] = x
    return out


class FftC2CBackward0(Op):
    def forward(ctx, a, dims, norm, forward):
        if ctx is not None:
            ctx.dims, ctx.norm, ctx.fwd = dims, norm, forward
        if not dims:
            return a.copy()
        fn = xp.fft.fftn if forward else xp.fft.ifftn
        out = fn(a, axes=dims, norm=_np_norm(norm, forward))
        return out.astype(a.dtype, copy=False)

    def backward(self, g):
        return (c2c(g, self.dims, self.norm, not self.fwd),)


class FftR2CBackward0(Op):
    def forward(ctx, a, dims, norm, onesided):
        if ctx is not None:
            ctx.dims, ctx.norm, ctx.onesided = dims, norm, onesided
            ctx.n = a.shape[dims[-1]]
        cdt = xp.complex64 if a.dtype == xp.float32 else xp.complex128
        if onesided:
            out = xp.fft.rfftn(a, axes=dims, norm=_np_norm(norm, True))
        else:
            out = xp.fft.fftn(a, axes=dims, norm=_np_norm(norm, True))
        return out.astype(cdt, copy=False)

    def backward(self, g):
        if self.onesided:
            g = _pad_to(g, self.dims[-1], self.n)
        return (_real(c2c(g, self.dims, self.norm, False)),)


class FftC2RBackward0(Op):
    def forward(ctx, a, dims, norm, last_dim_size):
        if ctx is not None:
            ctx.dims, ctx.norm = dims, norm
        s = [a.shape[d] for d in dims[:-1]] + [last_dim_size]
        out = xp.fft.irfftn(a, s=s, axes=dims, norm=_np_norm(norm, False))
        return out.astype(xp.float32 if a.dtype == xp.complex64 else xp.float64, copy=False)

    def backward(self, g):
        gi = r2c(g, self.dims, self.norm, True)
        last = self.dims[-1]
        double = g.shape[last] - gi.shape[last]
        if double > 0:  # bins 1..double stand for themselves and their conjugates
            w = xp.ones(gi.shape[last], xp.float32 if gi.dtype == xp.complex64 else xp.float64)
            w[1:1 + double] = 2
            w = w.reshape((-1,) + (1,) * (gi.ndim - 1 - last))
            gi = gi * D.const(w, gi)
        return (gi,)


def _register() -> None:
    from ..autograd._jvp_rules import RULES as JVP
    from ..autograd._jvp_rules import linear
    from ..func._batch_rules import RULES as BATCH
    from ..func._batch_rules import shifted
    for cls in (FftC2CBackward0, FftR2CBackward0, FftC2RBackward0):
        JVP[cls] = linear(cls)
        BATCH[cls] = shifted("dims")


_register()
