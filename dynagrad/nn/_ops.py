"""The primitives of ``dynagrad.nn``: fused forward/backward pairs where a composite would cost many ops.

Each backward runs on arrays (plain backward: the fast path, often reading values cached in ``forward``)
and on Tensors (``create_graph=True``: the same formula written with operators and ``ops._dual``, with any
cached value recomputed from the saved Tensors so that it stays differentiable). Nodes that cache large
arrays drop them in ``release`` once backward has run.
"""
from __future__ import annotations

import math

from .. import _jit
from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..ops import elementwise as E
from ..ops._rows import log_softmax_last
from ..tensor import Tensor

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)


def _t(x) -> bool:
    """True on the create_graph path (Tensors); arrays and NumPy scalars take the fast path."""
    return isinstance(x, Tensor)


def _val(x):
    return x._data if _t(x) else x


def _exp(x):
    return E.exp(x) if _t(x) else xp.exp(x)


def _tanh(x):
    return E.tanh(x) if _t(x) else xp.tanh(x)


def _sigmoid_array(x):
    """1 / (1 + exp(-x)), accurate in relative terms everywhere (exp overflows to inf, giving 0) and several
    times faster than a sign-split formula."""
    x = xp.asarray(x)
    out = xp.empty_like(x)
    xp.negative(x, out=out)
    with xp.errstate(over="ignore"):
        xp.exp(out, out=out)
    out += 1
    return xp.reciprocal(out, out=out)


def _sigmoid(x):
    return E.sigmoid(x) if _t(x) else _sigmoid_array(x)


def _erf_array(x):
    """erf; in float32/16 the Abramowitz-Stegun 7.1.26 rational form (|error| < 6e-7, ~5x faster than
    SciPy's double-precision erf), in float64 SciPy's."""
    x = xp.asarray(x)
    if x.dtype == xp.float64:
        return E._erf_array(x)
    if x.ndim == 0:  # the in-place steps below need an array, not a NumPy scalar
        return _erf_array(x.reshape(1)).reshape(())
    a = xp.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    a *= a
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    poly *= a
    xp.subtract(1.0, poly, out=poly)
    return xp.copysign(poly, x, out=poly)


def _erf(x):
    return E.erf(x) if _t(x) else _erf_array(x)


# Elements per block of the blocked elementwise chains below: their handful of float32 temporaries of this
# size stay in a core's L2 cache while NumPy makes its passes, where whole-array passes each allocate a
# temporary and stream it through memory. Measured on nanoGPT's GELU (12x64x512 float32, 1 thread): the
# erf GELU forward 4.4 ms whole-array, 2.2 ms in blocks of 16k (4k: 3.2 ms; 64k: 2.9 ms).
_BLOCK = 1 << 14
_JIT_BLOCK = 1 << 16  # numba's loops make one pass per kernel: larger blocks, fewer calls (0.68 vs 0.72 ms)


def _contiguous_f32(*arrays) -> bool:
    """Whether the blocked float32 kernels apply: C-contiguous float32 arrays of at least two blocks."""
    for a in arrays:
        if type(a) is not xp.ndarray or a.dtype != xp.float32 or not a.flags.c_contiguous:
            return False
    return arrays[0].size >= 2 * _BLOCK


def _erf_into(z, out, a, t):
    """``out = erf(z)`` with :func:`_erf_array`'s operations in its order (the same bits), in place."""
    xp.abs(z, out=a)
    xp.multiply(a, 0.3275911, out=t)
    t += 1.0
    xp.reciprocal(t, out=t)
    xp.multiply(t, 1.061405429, out=out)
    out -= 1.453152027
    out *= t
    out += 1.421413741
    out *= t
    out -= 0.284496736
    out *= t
    out += 0.254829592
    out *= t
    a *= a
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    out *= a
    xp.subtract(1.0, out, out=out)
    xp.copysign(out, z, out=out)


def _gelu_erf_blocked(x):
    """(x * cdf, cdf) with cdf = 0.5 * (1 + erf(x / sqrt(2))), block by block (the bits of the
    whole-array formula in GeluBackward0.forward), through numba's kernels when it is installed."""
    out, cdf = xp.empty_like(x), xp.empty_like(x)
    xf, of, cf = x.reshape(-1), out.reshape(-1), cdf.reshape(-1)
    jit = _jit.enabled()
    block = _JIT_BLOCK if jit else _BLOCK
    z, a, t = (xp.empty(block, x.dtype) for _ in range(3))
    n = xf.size
    for i in range(0, n, block):
        j = min(i + block, n)
        m = j - i
        xb, cb = xf[i:j], cf[i:j]
        if jit:  # z for the polynomial, a for exp's argument
            _k_erf_parts(xb, z[:m], a[:m])
            xp.exp(a[:m], out=a[:m])
            _k_gelu_finish(xb, z[:m], a[:m], of[i:j], cb)
            continue
        xp.multiply(xb, _SQRT1_2, out=z[:m])
        _erf_into(z[:m], cb, a[:m], t[:m])
        cb += 1
        cb *= 0.5
        xp.multiply(xb, cb, out=of[i:j])
    return out, cdf


def _gelu_erf_grad_blocked(g, x, cdf):
    """g * (cdf + x * pdf(x)), block by block (the bits of the whole-array formula)."""
    gx = xp.empty_like(x)
    gf, xf, cf, of = g.reshape(-1), x.reshape(-1), cdf.reshape(-1), gx.reshape(-1)
    jit = _jit.enabled()
    block = _JIT_BLOCK if jit else _BLOCK
    q = xp.empty(block, x.dtype)
    n = xf.size
    for i in range(0, n, block):
        j = min(i + block, n)
        qb, xb = q[:j - i], xf[i:j]
        if jit:
            _k_gauss_arg(xb, qb)
            xp.exp(qb, out=qb)
            _k_gelu_grad_finish(gf[i:j], xb, cf[i:j], qb, of[i:j])
            continue
        xp.multiply(xb, xb, out=qb)
        qb *= -0.5
        xp.exp(qb, out=qb)
        qb *= _INV_SQRT_2PI
        qb *= xb
        qb += cf[i:j]
        xp.multiply(gf[i:j], qb, out=of[i:j])
    return gx


# numba twins of the blocked NumPy steps above: the same float32 operations in the same order (NumPy casts
# a Python number to float32 for a float32 array, so the constants are float32 here), exp left to NumPy
_F = xp.float32
_K_S, _K_P, _K_ONE, _K_HALF = _F(_SQRT1_2), _F(0.3275911), _F(1.0), _F(0.5)
_K_C5, _K_C4, _K_C3, _K_C2, _K_C1 = _F(1.061405429), _F(1.453152027), _F(1.421413741), _F(0.284496736), \
    _F(0.254829592)
_K_NEG_HALF, _K_INV_SQRT_2PI = _F(-0.5), _F(_INV_SQRT_2PI)


@_jit.kernel
def _k_erf_parts(x, poly, arg):
    """poly = erf's polynomial in t = 1 / (1 + p|z|) times t, arg = -z*z, for z = x / sqrt(2)."""
    for i in range(x.shape[0]):
        z = x[i] * _K_S
        a = abs(z)
        t = _K_ONE / (a * _K_P + _K_ONE)
        p = t * _K_C5
        p = p - _K_C4
        p = p * t
        p = p + _K_C3
        p = p * t
        p = p - _K_C2
        p = p * t
        p = p + _K_C1
        poly[i] = p * t
        arg[i] = -(a * a)


@_jit.kernel
def _k_gelu_finish(x, poly, e, out, cdf):
    """erf = sign(z) * (1 - poly * exp(-z*z)); cdf = (erf + 1) * 0.5; out = x * cdf."""
    for i in range(x.shape[0]):
        erf = math.copysign(_K_ONE - poly[i] * e[i], x[i] * _K_S)
        c = (erf + _K_ONE) * _K_HALF
        cdf[i] = c
        out[i] = x[i] * c


@_jit.kernel
def _k_gauss_arg(x, arg):
    for i in range(x.shape[0]):
        arg[i] = (x[i] * x[i]) * _K_NEG_HALF


@_jit.kernel
def _k_gelu_grad_finish(g, x, cdf, e, out):
    for i in range(x.shape[0]):
        out[i] = g[i] * ((e[i] * _K_INV_SQRT_2PI) * x[i] + cdf[i])


def _softplus(x):
    """log(1 + exp(x)), computed stably on arrays and Tensors."""
    if _t(x):
        return E.relu(x) + E.log1p(E.exp(-E.abs(x)))
    x = xp.asarray(x)
    out = xp.asarray(xp.abs(x))  # max(x, 0) + log1p(exp(-|x|)): ~15x faster than np.logaddexp; asarray: 0-d
    xp.negative(out, out=out)
    xp.exp(out, out=out)
    xp.log1p(out, out=out)
    out += xp.maximum(x, 0)
    return out


def _clamp_min(x, v):
    return E.clamp_min(x, v) if _t(x) else xp.maximum(x, v)


def _mask(g, m):
    """``g`` where the boolean array ``m`` holds, else 0 (also where ``g`` is NaN or inf: PyTorch's
    backwards select)."""
    return D.mask(g, m)


def _const(arr, like):
    """A constant array in the same world as ``like``."""
    return Tensor._wrap(xp.asarray(arr)) if _t(like) else arr


def _sum(x, axes, keepdims=False):
    """Sum over ``axes`` (a tuple; an empty one leaves ``x`` as it is)."""
    if not axes:
        return x
    return x.sum(dim=axes, keepdim=keepdims) if _t(x) else x.sum(axis=axes, keepdims=keepdims)


def _mT(x):
    return x.transpose(-1, -2) if _t(x) else xp.swapaxes(x, -1, -2)


class _CachingOp(Op):
    """An op that keeps arrays on ``ctx`` (named in ``cached``) and drops them once backward has run."""

    cached: tuple = ()

    def release(self, where) -> None:
        super().release(where)
        for name in self.cached:
            self.__dict__.pop(name, None)


# -- module backward hooks -----------------------------------------------------------------------------------

class BackwardHookFunctionBackward(Op):
    """Identity on a module's tensor inputs (or outputs); its backward hands the gradients to ``on_grads``
    (the module's backward hooks), which may replace them."""

    def forward(ctx, *arrays, on_grads):
        if ctx is not None:
            ctx.on_grads = on_grads
        return tuple(arrays)

    def backward(self, grads):
        if type(grads) is not list:
            grads = [grads]
        arrays = any(not _t(g) for g in grads)
        wrapped = tuple(None if g is None else (Tensor._wrap(g) if not _t(g) else g) for g in grads)
        out = self.on_grads(wrapped)
        return tuple(None if o is None else (o._data if arrays and isinstance(o, Tensor) else o) for o in out)


# -- linear --------------------------------------------------------------------------------------------------

class AddmmBackward0(Op):
    """``x @ w.T + b`` for x of shape (..., in): one BLAS call on the flattened leading dims."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))  # x for the weight's gradient, the weight for x's

    def name(self):
        return "AddmmBackward0" if self.has_bias else "MmBackward0"

    def forward(ctx, x, w, b):
        if ctx is not None:
            ctx.has_bias = b is not None
        if x.ndim == 2:
            out = x @ w.T
        else:
            out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        if b is not None:
            out += b
        return out

    def backward(self, g, x, w):
        nx, nw, nb = (e[0] is not None for e in self.edges)
        lead = None
        if g.ndim != 2:
            lead = tuple(g.shape[:-1])
            g = g.reshape((-1, g.shape[-1]))
        gx = gw = gb = None
        if nx:
            gx = g @ w
            if lead is not None:
                gx = gx.reshape(lead + (gx.shape[-1],))
        if nw:
            gw = _mT(g) @ (x if lead is None else x.reshape((-1, x.shape[-1])))
        if nb:
            gb = g.sum(0)
        return gx, gw, gb


# -- class-index losses --------------------------------------------------------------------------------------

def _flatten_classes(a, class_axis: int):
    """(N, C, d1, ...) -> (N*d1*..., C); (N, C) and (C,) -> 2-D."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    c = a.shape[class_axis]
    if _t(a):
        return a.movedim(class_axis, -1).reshape(-1, c)
    return xp.moveaxis(a, class_axis, -1).reshape(-1, c)


def _unflatten_classes(g2, shape):
    if len(shape) <= 2:
        return g2.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    g = g2.reshape(moved)
    return xp.moveaxis(g, -1, 1) if not _t(g) else g.movedim(-1, 1)


def _targets(t, ignore_index, n_classes):
    """Flat targets with ignored entries set to 0, the validity mask, and a bounds check."""
    t = t.reshape(-1)
    if not t.size:
        return t, xp.ones(0, bool), True
    lo, hi = t.min(), t.max()
    if lo >= 0 and hi < n_classes and not 0 <= ignore_index < n_classes:  # the common case: nothing ignored
        return t, None, True
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    if valid.all():
        return t, None, True
    return xp.where(valid, t, 0), valid, False


class _NllCore(_CachingOp):
    """Shared by nll_loss and the fused cross_entropy: loss from log-probabilities ``logp`` (M, C)."""

    cached = ("logp",)

    @staticmethod
    def _loss(ctx, logp, target, weight, ignore_index, reduction, smoothing, out_shape):
        m, c = logp.shape
        tt, valid, all_valid = _targets(target, ignore_index, c)
        rows = xp.arange(m)
        if weight is not None:
            wt = weight[tt]
            if not all_valid:
                wt = wt * valid
        else:
            wt = valid.astype(logp.dtype) if not all_valid else None
        picked = logp[rows, tt]
        loss = -picked if wt is None else -(picked * wt)
        if smoothing > 0:
            s = logp @ weight if weight is not None else logp.sum(1)
            if not all_valid:
                s = s * valid
            loss = (1 - smoothing) * loss - (smoothing / c) * s
        if reduction == "none":
            out = loss.reshape(out_shape)
            denom = None
        elif reduction == "sum":
            out = xp.asarray(loss.sum())
            denom = None
        else:
            denom = float(m) if wt is None else wt.sum()
            out = xp.asarray(loss.sum() / denom)
        if ctx is not None:
            ctx.tt, ctx.valid, ctx.wt, ctx.weight, ctx.denom = tt, valid, wt, weight, denom
            ctx.reduction, ctx.smoothing, ctx.all_valid = reduction, smoothing, all_valid
        return out.astype(logp.dtype, copy=False)

    def _coef(self, g):
        """The gradient factor per row: g / denom (mean), g (sum) or g[i] (none), as a column."""
        if self.reduction == "none":
            return g.reshape((-1, 1))
        if self.reduction == "mean":
            g = g / self.denom
        return g.reshape((1, 1))

    def _dlogp_dense(self, m, c, dtype):
        """d loss_i / d logp (M, C) per unit coefficient, as a dense constant."""
        a = xp.zeros((m, c), dtype)
        wt = self.wt if self.wt is not None else 1.0
        a[xp.arange(m), self.tt] = -(1 - self.smoothing) * (xp.ones(m, dtype) * wt)
        if self.smoothing > 0:
            w = self.weight if self.weight is not None else xp.ones(c, dtype)
            v = 1.0 if self.all_valid else self.valid[:, None]
            a -= (self.smoothing / c) * (w[None, :] * v)
        return a


class NllLossBackward0(_NllCore):
    """nll_loss on log-probabilities (N, C) / (N, C, d1, ...) / (C,) with class-index targets."""

    def forward(ctx, x, target, weight, ignore_index, reduction, class_axis):
        x2 = _flatten_classes(x, class_axis)
        if ctx is not None:
            ctx.in_shape, ctx.class_axis = x.shape, class_axis
        out_shape = target.shape
        return _NllCore._loss(ctx, x2, target, weight, ignore_index, reduction, 0.0, out_shape)

    def backward(self, g):
        m, c = _size2(self.in_shape, self.class_axis)
        dt = g.dtype if not _t(g) else g._data.dtype
        a = self._dlogp_dense(m, c, dt)
        gx2 = _const(a, g) * self._coef(g)
        return (_unflatten_classes(gx2, self.in_shape),)


class LogSoftmaxNllBackward(_NllCore):
    """cross_entropy with class-index targets: log_softmax and nll_loss fused into one node."""

    save = (0,)

    def name(self):
        return "NllLossBackward0"

    def forward(ctx, x, target, weight, ignore_index, reduction, smoothing, class_axis):
        x2 = _flatten_classes(x, class_axis)
        s = log_softmax_last(x2)
        if ctx is not None:
            ctx.in_shape, ctx.class_axis, ctx.logp = x.shape, class_axis, s
        return _NllCore._loss(ctx, s, target, weight, ignore_index, reduction, smoothing, target.shape)

    def backward(self, g, x):
        m, c = _size2(self.in_shape, self.class_axis)
        coef = self._coef(g)
        if not _t(g):
            p = xp.exp(self.logp)
            if self.smoothing == 0:
                # d/dx = (softmax - onehot) * w_t * coef
                r = coef if self.wt is None else coef * self.wt[:, None]
                p *= r
                gx2 = p
                gx2[xp.arange(m), self.tt] -= r[:, 0] if r.shape[0] == m else r[0, 0]
            else:
                dlogp = self._dlogp_dense(m, c, g.dtype) * coef
                gx2 = dlogp - p * dlogp.sum(1, keepdims=True)
            return (_unflatten_classes(gx2, self.in_shape),)
        from ..ops.reduce import softmax
        p = softmax(_flatten_classes(x, self.class_axis), 1)
        dlogp = _const(self._dlogp_dense(m, c, g._data.dtype), g) * coef
        gx2 = dlogp - p * dlogp.sum(1, keepdim=True)
        return (_unflatten_classes(gx2, self.in_shape),)


def _size2(shape, class_axis):
    if len(shape) == 1:
        return 1, shape[0]
    c = shape[class_axis]
    m = 1
    for s in shape:
        m *= s
    return m // c, c


# -- normalisation -------------------------------------------------------------------------------------------

class NativeLayerNormBackward0(_CachingOp):
    """Normalise over ``axes`` (with the batch statistics, or given ``stats`` = (mean, var) in eval batch
    norm), then scale and shift by weight/bias viewed as ``wshape``.

    One primitive serves layer, batch, group and instance norm: layer norm reduces the trailing dims, batch
    norm all but dim 1, group norm works on the input viewed as ``inner_shape`` (N, G, C/G, rest).
    """

    save = (0, 1)
    cached = ("xhat", "rstd")

    def forward(ctx, x, w, b, axes, wshape, eps, stats=None, inner_shape=None, stats_out=None):
        shape = x.shape
        if inner_shape is not None:
            x = x.reshape(inner_shape)
        add = xp.add.reduce
        rows = _trailing_rows(x, axes, stats, inner_shape, w)  # numba's fused steps apply (layer norm)
        chan = None if rows else _channel_layout(x, axes, stats, inner_shape, w)  # ... or batch norm's
        if stats is None:
            n = 1
            for a in axes:
                n *= x.shape[a]
            mean = add(x, axis=axes, keepdims=True) * (1.0 / n)
            if rows:
                xc, sq = xp.empty_like(x), xp.empty_like(x)
                _k_center(x.reshape(rows, -1), mean.reshape(-1), xc.reshape(rows, -1), sq.reshape(rows, -1))
            elif chan:
                xc, sq = xp.empty_like(x), xp.empty_like(x)
                _k_center_c(x.reshape(chan), mean.reshape(-1), xc.reshape(chan), sq.reshape(chan))
            else:
                xc = x - mean
                sq = xc * xc
            var = add(sq, axis=axes, keepdims=True) * (1.0 / n)
        else:
            mean, var = stats
            xc = x - mean
            sq = None
        rstd = 1.0 / xp.sqrt(var + eps)
        if rows:  # xhat in place of xc, the output in place of sq
            _k_scale_shift(xc.reshape(rows, -1), rstd.reshape(-1), w.reshape(-1), b.reshape(-1) if b is not None
                           else w.reshape(-1)[:0], sq.reshape(rows, -1))
            xhat, out = xc, sq
        elif chan:
            _k_scale_shift_c(xc.reshape(chan), rstd.reshape(-1), w.reshape(-1), b.reshape(-1) if b is not None
                             else w.reshape(-1)[:0], sq.reshape(chan))
            xhat, out = xc, sq
        else:
            xhat = xp.multiply(xc, rstd, out=xc)
            if w is not None:
                out = xp.multiply(xhat, w.reshape(wshape), out=sq) if sq is not None else xhat * w.reshape(wshape)
            else:
                out = xhat.copy() if ctx is not None else xhat
            if b is not None:
                out += b.reshape(wshape)
        if stats_out is not None:
            stats_out.extend((mean, var))
        if ctx is not None:
            ctx.xhat, ctx.rstd, ctx.axes, ctx.wshape, ctx.eps = xhat, rstd, axes, wshape, eps
            ctx.stats, ctx.inner_shape, ctx.shape = stats, inner_shape, shape
            ctx.bshape = None if b is None else b.shape
        return out.reshape(shape) if inner_shape is not None else out

    def backward(self, g, x, w):
        nx, nw, nb = (e[0] is not None for e in self.edges)
        inner = self.inner_shape
        if inner is not None:
            g = g.reshape(inner)
        if _t(g):
            return self._backward_graph(g, x, w, nx, nw, nb)
        xhat, rstd, axes, wshape = self.xhat, self.rstd, self.axes, self.wshape
        add = xp.add.reduce
        param_axes = tuple(i for i, s in enumerate(wshape) if s == 1)
        gx = gw = gb = None
        if nx and self.stats is None and inner is None and param_axes == axes:
            return self._batch_norm_backward(g, xhat, rstd, w, nw, nb)
        rows = _trailing_rows(g, axes, self.stats, inner, w, xhat) if nx else 0
        if rows:  # numba: g * w, (g * w) * xhat and g * xhat in one pass
            g2 = g.reshape(rows, -1)
            gxhat, t = xp.empty_like(g), xp.empty_like(g)
            gwt = xp.empty_like(g) if nw else g
            _k_ln_grad_parts(g2, xhat.reshape(rows, -1), w.reshape(-1), gxhat.reshape(rows, -1),
                             t.reshape(rows, -1), gwt.reshape(rows, -1) if nw else g2[:0], nw)
            if nw:
                gw = (add(gwt, axis=param_axes) if param_axes else gwt).reshape(w.shape)
        elif nw:
            t = g * xhat
            gw = (add(t, axis=param_axes) if param_axes else t).reshape(w.shape)
        if nb:
            gb = (add(g, axis=param_axes) if param_axes else g).reshape(self.bshape)
        if nx:
            if not rows:
                gxhat = g * w.reshape(wshape) if w is not None else g
            if self.stats is None:
                n = xhat.size // rstd.size
                m1 = add(gxhat, axis=axes, keepdims=True) * (1.0 / n)
                if not rows:
                    t = gxhat * xhat
                m2 = add(t, axis=axes, keepdims=True) * (1.0 / n)
                if rows:
                    _k_ln_grad_finish(gxhat.reshape(rows, -1), xhat.reshape(rows, -1), m1.reshape(-1),
                                      m2.reshape(-1), rstd.reshape(-1), t.reshape(rows, -1))
                    gx = t
                else:
                    xp.multiply(xhat, m2, out=t)
                    gx = gxhat - m1 if gxhat is g else xp.subtract(gxhat, m1, out=gxhat)
                    gx -= t
                    gx *= rstd
            else:
                gx = gxhat * rstd
            if inner is not None:
                gx = gx.reshape(self.shape)
        return gx, gw, gb

    def _batch_norm_backward(self, g, xhat, rstd, w, nw, nb):
        """Batch norm's backward: the weight is constant over the reduced axes, so the means of ``g * w``
        and ``g * w * xhat`` are ``w`` times those of ``g`` and ``g * xhat``, the sums the bias and weight
        gradients are anyway (PyTorch's CPU kernel factors it the same way). Two reductions and four passes
        where the general form makes four and eight (two passes with numba's last step): 3.0 -> 1.3 ms for
        (8, 64, 32, 32), 0.7 ms with numba, one thread."""
        axes, wshape = self.axes, self.wshape
        add = xp.add.reduce
        n = xhat.size // rstd.size
        sg = add(g, axis=axes, keepdims=True)
        t = g * xhat
        sgx = add(t, axis=axes, keepdims=True)
        gb = sg.reshape(self.bshape) if nb else None
        gw = sgx.reshape(w.shape) if nw else None
        scale = rstd if w is None else rstd * w.reshape(wshape)
        k1, k2 = sg * (1.0 / n), sgx * (1.0 / n)
        chan = _channel_layout(g, axes, None, None, xhat)
        if chan:  # the three passes below in one
            gx = t
            _k_bn_grad_finish(g.reshape(chan), xhat.reshape(chan), k1.reshape(-1), k2.reshape(-1),
                              scale.reshape(-1), gx.reshape(chan))
            return gx, gw, gb
        xp.multiply(xhat, k2, out=t)
        gx = g - k1
        gx -= t
        gx *= scale
        return gx, gw, gb

    def _backward_graph(self, g, x, w, nx, nw, nb):
        """The same formulas on Tensors (create_graph=True), from xhat and rstd recomputed from ``x``."""
        xhat, rstd = self._recompute(x)
        axes, wshape = self.axes, self.wshape
        param_axes = tuple(i for i, s in enumerate(wshape) if s == 1)
        gx = gw = gb = None
        if nx:
            gxhat = g * w.reshape(wshape) if w is not None else g
            if self.stats is None:
                n = 1
                for a in axes:
                    n *= xhat.shape[a]
                gx = rstd * (gxhat - _sum(gxhat, axes, True) * (1.0 / n)
                             - xhat * (_sum(gxhat * xhat, axes, True) * (1.0 / n)))
            else:
                gx = gxhat * rstd
            if self.inner_shape is not None:
                gx = gx.reshape(self.shape)
        if nw:
            gw = _sum(g * xhat, param_axes).reshape(tuple(w.shape))
        if nb:
            gb = _sum(g, param_axes).reshape(self.bshape)
        return gx, gw, gb

    def _recompute(self, x):
        """xhat and rstd as Tensors of the saved input, so the backward itself is differentiable."""
        if self.inner_shape is not None:
            x = x.reshape(self.inner_shape)
        if self.stats is None:
            mean = x.mean(self.axes, keepdim=True)
            xc = x - mean
            var = (xc * xc).mean(self.axes, keepdim=True)
            rstd = E.rsqrt(var + self.eps)
        else:
            mean, var = self.stats
            xc = x - Tensor._wrap(mean)
            rstd = Tensor._wrap(1.0 / xp.sqrt(var + self.eps))
        return xc * rstd, rstd


class NativeBatchNormBackward0(NativeLayerNormBackward0):
    pass


def _kernel_arrays(x, *more) -> bool:
    """Whether numba's normalisation steps take these arrays: numba on, ``x`` a C-contiguous float32/64
    array of at least a block, the others of its dtype and C-contiguous."""
    if not _jit.enabled() or x.size < _BLOCK or x.dtype.kind != "f" or x.dtype.itemsize < 4 \
            or not x.flags.c_contiguous:
        return False
    return all(a is not None and a.dtype == x.dtype and a.flags.c_contiguous for a in more)


def _trailing_rows(x, axes, stats, inner_shape, w=True, *more) -> int:
    """Rows of the (rows, n) view for numba's layer-norm steps, or 0 where NumPy's path runs (no numba,
    small or non-float32/64 input, statistics given, or a norm that does not reduce the trailing dims)."""
    if stats is not None or inner_shape is not None or w is None:
        return 0
    if axes[-1] != x.ndim - 1 or axes != tuple(range(x.ndim - len(axes), x.ndim)) or not _kernel_arrays(x, *more):
        return 0
    n = 1
    for a in axes:
        n *= x.shape[a]
    return x.size // n


# numba twins of the layer-norm steps (the same operations in the same order; reductions stay NumPy's)

@_jit.kernel
def _k_center(x, mean, xc, sq):
    for i in range(x.shape[0]):
        m = mean[i]
        for j in range(x.shape[1]):
            c = x[i, j] - m
            xc[i, j] = c
            sq[i, j] = c * c


@_jit.kernel
def _k_scale_shift(xc, rstd, w, b, out):
    """xhat = xc * rstd into xc; out = xhat * w (+ b when b is not empty)."""
    bias = b.shape[0] > 0
    for i in range(xc.shape[0]):
        r = rstd[i]
        for j in range(xc.shape[1]):
            h = xc[i, j] * r
            xc[i, j] = h
            o = h * w[j]
            if bias:
                o = o + b[j]
            out[i, j] = o


@_jit.kernel
def _k_ln_grad_parts(g, xhat, w, gxhat, t, gwt, want_gw):
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            gv = g[i, j]
            h = xhat[i, j]
            gh = gv * w[j]
            gxhat[i, j] = gh
            t[i, j] = gh * h
            if want_gw:
                gwt[i, j] = gv * h


@_jit.kernel
def _k_ln_grad_finish(gxhat, xhat, m1, m2, rstd, out):
    for i in range(gxhat.shape[0]):
        a, b, r = m1[i], m2[i], rstd[i]
        for j in range(gxhat.shape[1]):
            out[i, j] = ((gxhat[i, j] - a) - xhat[i, j] * b) * r


def _channel_layout(x, axes, stats, inner_shape, *more):
    """(N, C, rest) for numba's batch-norm steps (the statistics over every dim but 1), or None where NumPy's
    path runs (no numba, small or non-float32/64 input, statistics given, another norm)."""
    if stats is not None or inner_shape is not None or x.ndim < 3 or axes != (0,) + tuple(range(2, x.ndim)) \
            or not _kernel_arrays(x, *more):
        return None
    return x.shape[0], x.shape[1], x.size // (x.shape[0] * x.shape[1])


# numba twins of batch norm's steps on (N, C, rest): per-channel statistics, NumPy's operations in its order

@_jit.kernel
def _k_center_c(x, mean, xc, sq):
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            m = mean[c]
            for j in range(x.shape[2]):
                v = x[i, c, j] - m
                xc[i, c, j] = v
                sq[i, c, j] = v * v


@_jit.kernel
def _k_scale_shift_c(xc, rstd, w, b, out):
    """xhat = xc * rstd into xc; out = xhat * w (+ b when b is not empty)."""
    bias = b.shape[0] > 0
    for i in range(xc.shape[0]):
        for c in range(xc.shape[1]):
            r, wc = rstd[c], w[c]
            bc = b[c] if bias else wc
            for j in range(xc.shape[2]):
                h = xc[i, c, j] * r
                xc[i, c, j] = h
                o = h * wc
                if bias:
                    o = o + bc
                out[i, c, j] = o


@_jit.kernel
def _k_bn_grad_finish(g, xhat, k1, k2, scale, out):
    """out = ((g - k1) - xhat * k2) * scale, per channel."""
    for i in range(g.shape[0]):
        for c in range(g.shape[1]):
            a, b, s = k1[c], k2[c], scale[c]
            for j in range(g.shape[2]):
                out[i, c, j] = ((g[i, c, j] - a) - xhat[i, c, j] * b) * s


class NativeGroupNormBackward0(NativeLayerNormBackward0):
    pass


# -- embedding -----------------------------------------------------------------------------------------------

class EmbeddingBackward0(Op):
    """Rows of ``weight`` at ``indices``; repeated indices accumulate their gradients, the padding row gets
    none, and ``scale_grad_by_freq`` divides by each index's count in the batch."""

    def forward(ctx, w, idx, padding_idx, scale_grad_by_freq):
        n = w.shape[0]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            from .. import _source
            bad = int(idx.max() if idx.max() >= n else idx.min())
            raise IndexError(f"index out of range in self (an index is {bad} but the embedding has {n} rows, at "
                             f"{_source.here()})")
        if ctx is not None:
            ctx.idx, ctx.num, ctx.padding_idx, ctx.scale = idx, n, padding_idx, scale_grad_by_freq
        return xp.take(w, idx, axis=0)

    def backward(self, g):
        dim = g.shape[-1]
        idx = self.idx.reshape(-1)
        g2 = g.reshape((-1, dim))
        if self.scale:
            counts = xp.bincount(idx, minlength=self.num)
            g2 = g2 / _const(counts[idx][:, None].astype(_val(g).dtype), g)
        if self.padding_idx is not None and self.padding_idx >= 0:
            keep = idx != self.padding_idx
            if not keep.all():
                g2 = _mask(g2, keep[:, None])
        if not _t(g):
            return (_index_add_rows(self.num, idx, g2),)
        from ..creation import zeros
        from ..ops.index import index_put
        return (index_put(zeros((self.num, dim), dtype=g.dtype), (idx,), g2, accumulate=True),)


def _index_add_rows(num, idx, g2):
    """``out[idx[i]] += g2[i]`` into a (num, dim) zero array: a sparse one-hot product when SciPy is there
    (several times faster than ``np.add.at``), else sorted segment sums."""
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - SciPy is optional
        sp = None
    if sp is not None:
        m = sp.csr_matrix((xp.ones(idx.size, g2.dtype), (idx, xp.arange(idx.size))), shape=(num, idx.size))
        return xp.asarray(m @ g2, dtype=g2.dtype)
    out = xp.zeros((num, g2.shape[1]), g2.dtype)
    if idx.size:
        order = xp.argsort(idx, kind="stable")
        s = idx[order]
        starts = xp.flatnonzero(xp.r_[True, s[1:] != s[:-1]])
        out[s[starts]] = xp.add.reduceat(g2[order], starts, axis=0)
    return out


# -- dropout -------------------------------------------------------------------------------------------------

class NativeDropoutBackward0(_CachingOp):
    """``x * mask`` where the mask (already scaled by 1/(1-p)) may broadcast (channel dropout)."""

    cached = ("mask",)

    def forward(ctx, x, mask):
        if ctx is not None:
            ctx.mask = mask
        return x * mask

    def backward(self, g):
        return (g * _const(self.mask, g),)


# -- activations ---------------------------------------------------------------------------------------------

class GeluBackward0(_CachingOp):
    save = (0,)
    cached = ("cdf",)

    def forward(ctx, x, approximate):
        if ctx is not None:
            ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(_TANH_K * (x + 0.044715 * (x * x * x))))
        if _contiguous_f32(x):
            out, cdf = _gelu_erf_blocked(x)
        else:
            cdf = xp.asarray(_erf_array(x * _SQRT1_2))  # a 0-d input gives a NumPy scalar: in-place ops need an array
            if cdf.ndim:
                cdf += 1
                cdf *= 0.5
            else:
                cdf = (cdf + 1) * 0.5
            out = x * cdf
        if ctx is not None:
            ctx.cdf = cdf  # erf is the costly part: keep it for backward
        if not xp.isfinite(out).all():  # PyTorch's CPU kernel gives NaN at +-inf
            out = xp.where(xp.isinf(x), x.dtype.type(xp.nan), out)
        return out

    def backward(self, g, x):
        if self.approximate == "tanh":
            x2 = x * x
            t = _tanh(_TANH_K * (x + 0.044715 * (x2 * x)))
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_TANH_K * (1 + 0.134145 * x2))
            return (g * d,)
        cdf = 0.5 * (1 + _erf(x * _SQRT1_2)) if _t(g) else self.cdf
        if not _t(g) and _contiguous_f32(x, g, cdf):
            return (_gelu_erf_grad_blocked(g, x, cdf),)
        pdf = _exp(-0.5 * (x * x)) * _INV_SQRT_2PI
        return (g * (cdf + x * pdf),)


class SiluBackward0(Op):
    save = (0,)

    def forward(ctx, x):
        return x * _sigmoid_array(x)

    def backward(self, g, x):
        s = _sigmoid(x)
        return (g * (s * (1 + x * (1 - s))),)


class MishBackward0(Op):
    save = (0,)

    def forward(ctx, x):
        return x * xp.tanh(_softplus(x))

    def backward(self, g, x):
        t = _tanh(_softplus(x))
        return (g * (t + x * (1 - t * t) * _sigmoid(x)),)


class LeakyReluBackward0(Op):
    save = (0,)

    def forward(ctx, x, slope):
        if ctx is not None:
            ctx.slope = slope
        return xp.where(x > 0, x, x * slope)

    def backward(self, g, x):
        pos = _val(x) > 0
        return (_mask(g, pos) + _mask(g, ~pos) * self.slope,)


class EluBackward0(Op):
    """elu (scale=1, input_scale=1), selu (its constants) and celu (input_scale=1/alpha)."""

    save = (0,)

    def forward(ctx, x, alpha, scale, input_scale):
        if ctx is not None:
            ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        neg = xp.expm1(xp.minimum(x, 0) * input_scale) * (alpha * scale)
        return xp.where(x > 0, x * scale, neg)

    def backward(self, g, x):
        pos = ~(_val(x) <= 0)  # PyTorch: x <= 0 takes the exponential's slope, anything else (NaN too) the scale
        neg = _exp(_mask(x, ~pos) * self.input_scale) * (self.alpha * self.scale * self.input_scale)
        return (_mask(g, pos) * self.scale + _mask(g * neg, ~pos),)


class HardtanhBackward0(Op):
    """clip(x, lo, hi) with zero gradient on the boundaries, as PyTorch's hardtanh (and relu6)."""

    save = (0,)

    def forward(ctx, x, lo, hi):
        if ctx is not None:
            ctx.lo, ctx.hi = lo, hi
        return xp.clip(x, lo, hi)

    def backward(self, g, x):
        v = _val(x)
        return (_mask(g, (v > self.lo) & (v < self.hi)),)


class HardsigmoidBackward0(Op):
    save = (0,)

    def forward(ctx, x):
        return xp.clip(x * (1.0 / 6) + 0.5, 0, 1)

    def backward(self, g, x):
        v = _val(x)
        return (_mask(g, (v > -3) & (v < 3)) * (1.0 / 6),)


class HardswishBackward0(Op):
    save = (0,)

    def forward(ctx, x):
        return x * xp.clip(x + 3, 0, 6) * (1.0 / 6)

    def backward(self, g, x):
        v = _val(x)
        mid = (v > -3) & (v < 3)  # as PyTorch's CPU kernel: x <= -3 -> 0, the slope inside, else (x >= 3, and
        high = ~(v < 3) & ~(v <= -3)  # NaN in float32) the gradient itself
        return (_mask(g * (x * (1.0 / 3) + 0.5), mid) + _mask(g, high),)


class SoftplusBackward0(Op):
    save = (0,)

    def forward(ctx, x, beta, threshold):
        if ctx is not None:
            ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        return xp.where(bx > threshold, x, _softplus(bx) * (1.0 / beta))

    def backward(self, g, x):
        lin = _val(x) * self.beta > self.threshold
        return (_mask(g, lin) + _mask(g * _sigmoid(x * self.beta), ~lin),)


class ThresholdBackward0(Op):
    save = (0,)

    def forward(ctx, x, threshold, value):
        if ctx is not None:
            ctx.threshold = threshold
        return xp.where(x <= threshold, xp.asarray(value).astype(x.dtype), x)  # NaN stays NaN, as PyTorch

    def backward(self, g, x):
        return (_mask(g, ~(_val(x) <= self.threshold)),)


class LogSigmoidBackward0(Op):
    save = (0,)

    def forward(ctx, x):
        return -_softplus(-x)

    def backward(self, g, x):
        return (g * _sigmoid(-x),)


class PreluKernelBackward0(Op):
    """max(0, x) + w * min(0, x) with one weight per channel (dim 1) or a single one."""

    save = (0, 1)

    def forward(ctx, x, w, wshape):
        if ctx is not None:
            ctx.wshape = wshape
        return xp.where(x > 0, x, x * w.reshape(wshape))

    def backward(self, g, x, w):
        pos = _val(x) > 0
        gx = gw = None
        if self.edges[0][0] is not None:
            gx = _mask(g, pos) + _mask(g, ~pos) * w.reshape(self.wshape)
        if self.edges[1][0] is not None:
            axes = tuple(i for i, s in enumerate(self.wshape) if s == 1)
            gw = _sum(_mask(g * x, ~pos), axes).reshape(tuple(w.shape))
        return gx, gw


# -- padding -------------------------------------------------------------------------------------------------

def _pad_slices(shape, pads):
    """Source and destination slices, and the output shape, for constant padding (negative pads crop)."""
    n = len(pads) // 2
    src = [slice(None)] * len(shape)
    dst = [slice(None)] * len(shape)
    out = list(shape)
    for i in range(n):
        d = len(shape) - 1 - i
        before, after = pads[2 * i], pads[2 * i + 1]
        size = shape[d]
        new = size + before + after
        if new < 0:
            raise RuntimeError(f"The input size {size}, plus negative padding {before} and {after} resulted "
                               f"in a "
                               f"negative output size, which is invalid. Check dimension {d} of your input.")
        out[d] = new
        s0, s1 = max(-before, 0), size - max(-after, 0)
        length = max(s1 - s0, 0)
        src[d] = slice(s0, s0 + length)
        dst[d] = slice(max(before, 0), max(before, 0) + length)
    return tuple(src), tuple(dst), tuple(out)


class ConstantPadNdBackward0(Op):
    """Constant padding in ``F.pad``'s order (last dim first); negative widths crop. Its gradient is the
    padding by the negated widths, so it is differentiable to any order."""

    def forward(ctx, x, pads, value):
        src, dst, shape = _pad_slices(x.shape, pads)
        if ctx is not None:
            ctx.pads = pads
        out = xp.full(shape, value, dtype=x.dtype) if value else xp.zeros(shape, x.dtype)
        out[dst] = x[src]
        return out

    def backward(self, g):
        neg = tuple(-p for p in self.pads)
        if _t(g):
            return (ConstantPadNdBackward0.apply(g, pads=neg, value=0),)
        return (ConstantPadNdBackward0.forward(None, g, neg, 0),)


# -- binary cross entropy ------------------------------------------------------------------------------------

class BinaryCrossEntropyBackward0(Op):
    """-(y log x + (1 - y) log(1 - x)) elementwise, logs clamped at -100 as PyTorch does."""

    save = (0, 1)

    def forward(ctx, x, y):
        if x.size and (x.min() < 0 or x.max() > 1):  # checked here, so a compiled program checks it too
            raise RuntimeError("all elements of input should be between 0 and 1")
        with xp.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x), -100)
            l1x = xp.maximum(xp.log1p(-x), -100)
        return -(y * lx + (1 - y) * l1x)

    def backward(self, g, x, y):
        gx = gy = None
        if self.edges[0][0] is not None:
            gx = g * (x - y) / _clamp_min((1 - x) * x, 1e-12)
        if self.edges[1][0] is not None:
            if _t(x):  # PyTorch does not clamp the logs here: inf at x = 0 or 1
                gy = g * (E.log1p(-x) - E.log(x))
            else:
                with xp.errstate(divide="ignore", invalid="ignore"):
                    gy = g * (xp.log1p(-x) - xp.log(x))
        return gx, gy


class BinaryCrossEntropyWithLogitsBackward0(Op):
    """(1 - y) x + lw * softplus(-x) elementwise with lw = 1 + (pos_weight - 1) y (lw = 1 without
    pos_weight), computed stably."""

    save = (0, 1, 2)

    def forward(ctx, x, y, pw):
        sp = _softplus(-x)
        if pw is None:
            return (1 - y) * x + sp
        return (1 - y) * x + ((pw - 1) * y + 1) * sp

    def backward(self, g, x, y, pw):
        gx = gy = gpw = None
        s = _sigmoid(x)
        if self.edges[0][0] is not None:
            if pw is None:
                gx = g * (s - y)
            else:
                gx = g * ((1 - y) - ((pw - 1) * y + 1) * (1 - s))
        if self.edges[1][0] is not None:
            gy = g * (-x) if pw is None else g * ((pw - 1) * _softplus(-x) - x)
        if pw is not None and self.edges[2][0] is not None:
            gpw = g * y * _softplus(-x)
        return gx, gy, gpw
