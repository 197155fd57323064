"""JVP rules: the tangent of each primitive's output from its inputs' tangents, keyed by Op class.

A rule is ``rule(inputs, tangents, out, kw) -> tangent`` (a tuple for ops with several outputs), where
``tangents[i]`` is None when input ``i`` has no tangent. Rules are written with dynagrad ops, so they are
themselves differentiable (reverse mode over forward mode) and batch under vmap; the caller broadcasts a
tangent to the output's shape and dtype.

Most rules are generic: an op that is linear in its tensor inputs (views, reshapes, sums, indexing, cat,
where, gather, padding ...) maps tangents through itself; a bilinear op (mul, matmul, convolution) is the
sum of the op applied with one tangent at a time; an elementwise op with a diagonal Jacobian gets ``J t``
as its backward applied to ``t``. ``via_vjp`` (the transpose of the backward, by differentiating the
backward with respect to its incoming gradient) is the rule of last resort, correct for any op whose
backward is written with differentiable ops.
"""
from __future__ import annotations

import math

from ..backend import xp

RULES: dict = {}


# -- helpers -------------------------------------------------------------------------------------------------

def _T():
    from ..tensor import Tensor
    return Tensor


def _zeros_like(x):
    from ..creation import zeros_like
    return zeros_like(x)


def _or_zero(p, t):
    """The tangent, or zeros shaped like the input (0 for a Python number operand)."""
    if t is not None:
        return t
    return _zeros_like(p) if isinstance(p, _T()) else 0


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _fdt(x):
    from ..dtypes import from_numpy
    return from_numpy(x._data.dtype)


def _mask(cond, like):
    """A boolean Tensor as 0/1 in ``like``'s dtype."""
    return cond.to(_fdt(like))


def _sum(x, axes, keepdims):
    from ..ops.reduce import SumBackward0
    return SumBackward0.apply(x, axes=axes, keepdims=keepdims, dtype=None)


def _regrow(x, ndim, axes, keepdims):
    """Re-insert reduced axes so ``x`` broadcasts against the reduction's input."""
    if keepdims:
        return x
    if axes is None:
        return x.reshape((1,) * ndim)
    for a in sorted(axes):
        x = x.unsqueeze(a)
    return x


def _data_any(arr) -> bool:
    """True if any element is true, across all examples of a vmap-batched array."""
    phys = getattr(arr, "_phys", None)
    if phys is not None:
        return _data_any(phys)
    return bool(xp.asarray(arr).any())


def conform(t, out):
    """Broadcast and cast a tangent to the output's shape and dtype."""
    T = _T()
    if not isinstance(t, T):
        from ..creation import as_tensor
        t = as_tensor(t, dtype=out.dtype)
    if t._data.dtype != out._data.dtype:
        t = t.to(out.dtype)
    if t._data.shape != out._data.shape:
        t = t.expand(*out._data.shape)
    return t


# -- generic rules -------------------------------------------------------------------------------------------

def linear(cls, **override):
    """The rule of an op linear in all its tensor inputs jointly: the op applied to the tangents."""
    def rule(p, t, out, kw):
        if override:
            kw = {**kw, **override}
        return cls.apply(*[_or_zero(pi, ti) for pi, ti in zip(p, t)], **kw)
    return rule


def bilinear(cls, first: int = 0, second: int = 1):
    """An op linear in inputs ``first`` and ``second`` separately (any other tensor input enters linearly
    with the first): ``op(ta, b, tc) + op(a, tb, 0)``."""
    def rule(p, t, out, kw):
        res = None
        rest = [j for j in range(len(p)) if j not in (first, second)]
        if t[first] is not None or any(t[j] is not None for j in rest):
            args = list(p)
            args[first] = _or_zero(p[first], t[first])
            for j in rest:
                if isinstance(p[j], _T()):
                    args[j] = _or_zero(p[j], t[j])
            res = cls.apply(*args, **kw)
        if t[second] is not None:
            args = list(p)
            args[second] = t[second]
            for j in rest:
                if isinstance(p[j], _T()):
                    args[j] = None
            res = _add(res, cls.apply(*args, **kw))
        return res
    return rule


def _fresh(x):
    """``x`` as a tensor that requires grad and keeps ``x``'s history and outer tangents."""
    y = x.view_as(x)
    if not y._requires_grad:
        y.requires_grad_()
    return y


def diagonal(cls):
    """An elementwise op of its first input (diagonal Jacobian): ``J t`` is the backward applied to ``t``."""
    def rule(p, t, out, kw):
        if t[0] is None:
            return None
        from . import grad
        from .grad_mode import enable_grad
        with enable_grad():
            x = _fresh(p[0])
            y = cls.apply(x, *p[1:], **kw)
            (jt,) = grad(y, x, grad_outputs=t[0].expand(*y.shape), create_graph=True)
        return jt
    return rule


def via_vjp(cls):
    """``J t`` as the derivative of ``<backward(u), t>`` with respect to ``u``: works for any op whose
    backward formula is differentiable (every backward written with the ``_dual`` helpers is)."""
    def rule(p, t, out, kw):
        from . import grad
        from .grad_mode import enable_grad
        T = _T()
        with enable_grad():
            xs = list(p)
            diff = []
            for j, (x, tj) in enumerate(zip(p, t)):
                if tj is not None and isinstance(x, T):
                    xs[j] = _fresh(x)
                    diff.append(j)
            y = cls.apply(*xs, **kw)
            ys = y if type(y) is tuple else (y,)
            fl = [k for k, o in enumerate(ys) if isinstance(o, T) and o._data.dtype.kind in "fc"]
            us = [_zeros_like(ys[k]).requires_grad_() for k in fl]
            vj = grad([ys[k] for k in fl], [xs[j] for j in diff], grad_outputs=us, create_graph=True,
                      allow_unused=True)
            if any(v is not None and not v._requires_grad for v in vj):
                raise NotImplementedError(f"forward-mode AD through {cls.__name__}: its backward is not "
                                          f"differentiable, so it needs a JVP rule (autograd/_jvp_rules.py)")
            pairs = [(v, t[j]) for v, j in zip(vj, diff) if v is not None]
            res = [None] * len(ys)
            if pairs:
                jt = grad([v for v, _ in pairs], us, grad_outputs=[tt for _, tt in pairs], create_graph=True,
                          allow_unused=True)
                for k, g in zip(fl, jt):
                    res[k] = g
        return tuple(res) if type(y) is tuple else res[0]
    return rule


def composite(fn):
    """The JVP of ``fn(*inputs, **kw)``, an equivalent of the op written with primitives (for fused ops whose
    backward is not differentiable), by forward AD through it at a fresh level."""
    def rule(p, t, out, kw):
        from ..func import jvp
        T = _T()
        idx = [j for j, x in enumerate(p) if isinstance(x, T)]

        def f(*xs):
            args = list(p)
            for j, x in zip(idx, xs):
                args[j] = x
            return fn(*args, **kw)
        tans = tuple(_or_zero(p[j], t[j]) for j in idx)
        return jvp(f, tuple(p[j] for j in idx), tans)[1]
    return rule


def _no_forward_ad(name):
    """Ops PyTorch has no forward derivative for: forward AD through them is an error, as there."""
    def rule(p, t, out, kw):
        raise NotImplementedError(f"Trying to use forward AD with {name} that does not support it because it has "
                                  f"not been implemented yet.")
    return rule


def zero(p, t, out, kw):
    outs = out if type(out) is tuple else (out,)
    res = tuple(_zeros_like(o) for o in outs)
    return res if type(out) is tuple else res[0]


def registered(cls):
    """The rule registered for ``cls`` or its nearest base class (subclasses that rename an op), or None."""
    for k in cls.__mro__:
        rule = RULES.get(k)
        if rule is not None:
            return rule
    return None


def lookup(cls):
    """The rule for ``cls``; an op without one (a new primitive) gets the generic ``via_vjp``."""
    rule = RULES.get(cls)
    if rule is None:
        rule = RULES[cls] = registered(cls) or via_vjp(cls)
    return rule


# -- elementwise ---------------------------------------------------------------------------------------------

def _r_add(p, t, out, kw):
    return _add(t[0], t[1])


def _r_sub(p, t, out, kw):
    ta, tb = t
    if tb is None:
        return ta
    return -tb if ta is None else ta - tb


def _r_neg(p, t, out, kw):
    return -t[0]


def _r_mul(p, t, out, kw):
    (a, b), (ta, tb) = p, t
    return _add(ta * b if ta is not None else None, a * tb if tb is not None else None)


def _r_div(p, t, out, kw):
    b, (ta, tb) = p[1], t
    if tb is None:
        return ta / b
    num = -(out * tb) if ta is None else ta - out * tb
    return num / b


def _r_pow(p, t, out, kw):
    from ..ops.index import where
    (a, b), (ta, tb) = p, t
    res = None
    if ta is not None:
        if isinstance(b, (int, float)):
            res = ta * 0 if b == 0 else ta * (b * a ** (b - 1))
        else:
            res = ta * b * a ** (b - 1)
    if tb is not None:
        if isinstance(a, (int, float)):
            part = tb * out * math.log(a) if a > 0 else (tb * 0 if a == 0 else tb * out * math.nan)
        else:
            part = tb * out * where(a == 0, 1.0, a).log()
        res = _add(res, part)
    return res


def _r_square(p, t, out, kw):
    return t[0] * (p[0] * 2)


def _r_extreme(is_max):
    def rule(p, t, out, kw):
        a, b = p
        first = (a > b) if is_max else (a < b)
        eq = _mask(a == b, out) * 0.5
        wa = _mask(first, out) + eq
        wb = 1 - wa
        return _add(t[0] * wa if t[0] is not None else None, t[1] * wb if t[1] is not None else None)
    return rule


def _r_atan2(p, t, out, kw):
    (a, b), (ta, tb) = p, t
    denom = a * a + b * b
    return _add(ta * b / denom if ta is not None else None, -(tb * a) / denom if tb is not None else None)


def _r_remainder(p, t, out, kw):
    from ..ops.elementwise import div
    (a, b), (ta, tb) = p, t
    if tb is None:
        return ta
    q = div(a, b, rounding_mode="floor")
    return _add(ta, -(tb * q))


def _r_fmod(p, t, out, kw):
    from ..ops.elementwise import div
    (a, b), (ta, tb) = p, t
    if tb is None:
        return ta
    q = div(a, b, rounding_mode="trunc")
    return _add(ta, -(tb * q))


def _r_clamp(p, t, out, kw):
    a = p[0]
    lo, hi = p[1], p[2]
    keep = None
    if lo is not None:
        keep = _mask(a >= lo, out)
    if hi is not None:
        m = _mask(a <= hi, out)
        keep = m if keep is None else keep * m
    return t[0] * keep


def _r_clamp_tensor(p, t, out, kw):
    a, lo, hi = p
    ta, tlo, thi = t
    res = None
    keep = None
    above = _mask(a > hi, out) if hi is not None else None
    if lo is not None:
        keep = _mask(a >= lo, out)
        if tlo is not None:
            below = _mask(a < lo, out)
            if above is not None:
                below = below * (1 - above)
            res = tlo * below
    if hi is not None:
        m = _mask(a <= hi, out)
        keep = m if keep is None else keep * m
        if thi is not None:
            res = _add(res, thi * above)
    if ta is not None:
        res = _add(res, ta if keep is None else ta * keep)
    return res


def _r_nan_to_num(p, t, out, kw):
    from ..ops.elementwise import isfinite
    return t[0] * _mask(isfinite(p[0]), out)


def _r_zero_grad(p, t, out, kw):
    return _zeros_like(out)


def _unary_rule(fn):
    return lambda p, t, o, kw: fn(p[0], t[0], o)


def _abs_jvp(x, t, o):
    if x._data.dtype.kind == "c":  # d|z| = Re(conj(sgn z) dz)
        from ..ops.math import conj, real
        return real(conj(x.sgn()) * t)
    return t * x.sign()


def _unary_rules():
    from ..ops import elementwise as E
    ln2, ln10 = math.log(2.0), math.log(10.0)
    c = 2 / math.sqrt(math.pi)
    f = {
        "exp": lambda x, t, o: t * o,
        "exp2": lambda x, t, o: t * o * ln2,
        "expm1": lambda x, t, o: t * (o + 1),
        "log": lambda x, t, o: t / x,
        "log2": lambda x, t, o: t / (x * ln2),
        "log10": lambda x, t, o: t / (x * ln10),
        "log1p": lambda x, t, o: t / (x + 1),
        "sqrt": lambda x, t, o: t / (o * 2),
        "rsqrt": lambda x, t, o: t * (o * o * o * -0.5),
        "sin": lambda x, t, o: t * x.cos(),
        "cos": lambda x, t, o: -(t * x.sin()),
        "tan": lambda x, t, o: t * (o * o + 1),
        "asin": lambda x, t, o: t / (1 - x * x).sqrt(),
        "acos": lambda x, t, o: -(t / (1 - x * x).sqrt()),
        "atan": lambda x, t, o: t / (x * x + 1),
        "sinh": lambda x, t, o: t * x.cosh(),
        "cosh": lambda x, t, o: t * x.sinh(),
        "tanh": lambda x, t, o: t * (1 - o * o),
        "asinh": lambda x, t, o: t / (x * x + 1).sqrt(),
        "acosh": lambda x, t, o: t / (x * x - 1).sqrt(),
        "atanh": lambda x, t, o: t / (1 - x * x),
        "sigmoid": lambda x, t, o: t * (o * (1 - o)),
        "erf": lambda x, t, o: t * ((-(x * x)).exp() * c),
        "reciprocal": lambda x, t, o: -(t * (o * o)),
        "abs": _abs_jvp,
        "relu": lambda x, t, o: t * _mask(o > 0, o),
        "frac": lambda x, t, o: t,
    }
    out = {}
    for name, fn in f.items():
        out[getattr(E, name).op] = _unary_rule(fn)
    for name in ("sign", "floor", "ceil", "trunc"):
        out[getattr(E, name).op] = zero
    return out


# -- reductions ----------------------------------------------------------------------------------------------

def _r_prod(p, t, out, kw):
    from ..ops.reduce import _prod_of_others
    a, ta = p[0], t[0]
    axis, keepdims = kw["axis"], kw["keepdims"]
    axes = None if axis is None else (axis,)
    if not _data_any(a._data == 0):
        return _sum(ta / a, axes, keepdims) * out
    T = _T()
    others = T._wrap(xp.asarray(_prod_of_others(xp.asarray(a._data), axis)))
    return _sum(ta * others, axes, keepdims)


def _r_amax(p, t, out, kw):
    a, ta = p[0], t[0]
    axes, keepdims = kw["axes"], kw["keepdims"]
    hit = _mask(a == _regrow(out, a.ndim, axes, keepdims), out)
    return _sum(ta * hit, axes, keepdims) / _sum(hit, axes, keepdims)


def _r_max_dim(p, t, out, kw):
    from ..ops.index import gather
    ta = t[0]
    axis, keepdims = kw["axis"], kw["keepdims"]
    idx = out[1]
    if idx._data.dtype != xp.int64:
        idx = idx.to(_int64())
    if not keepdims:
        idx = idx.unsqueeze(axis)
    v = gather(ta, axis, idx)
    return (v if keepdims else v.squeeze(axis)), None


def _int64():
    from .. import dtypes
    return dtypes.int64


def _r_var(p, t, out, kw):
    from ..ops.reduce import MeanBackward0
    a, ta = p[0], t[0]
    axes, keepdims = kw["axes"], kw["keepdims"]
    centred = a - MeanBackward0.apply(a, axes=axes, keepdims=True, dtype=None)
    return _sum(centred * ta, axes, keepdims) * (2.0 / (kw["n"] - kw["correction"]))


def _r_std(p, t, out, kw):
    from ..ops.index import where
    tv = _r_var(p, t, out, kw)
    zero = out == 0
    return tv * where(zero, 0.0, 0.5 / where(zero, 1.0, out))


def _r_norm(p, t, out, kw):
    from ..ops.index import where
    a, ta = p[0], t[0]
    axes, keepdims = kw["axes"], kw["keepdims"]
    s = _sum(a * ta, axes, keepdims)
    zero = out == 0
    return where(zero, 0.0, s / where(zero, 1.0, out))


def _r_logsumexp(p, t, out, kw):
    a, ta = p[0], t[0]
    axes, keepdims = kw["axes"], kw["keepdims"]
    w = (a - _regrow(out, a.ndim, axes, keepdims)).exp()
    return _sum(w * ta, axes, keepdims)


def _r_cumprod(p, t, out, kw):
    from ..ops.reduce import CumsumBackward0
    a, ta = p[0], t[0]
    ax = kw["axis"]
    if _data_any(a._data == 0):  # with zeros: the product rule step by step, out_j = out_(j-1) * a_j
        from ..ops.shape import stack, unbind
        av, tv, ov = unbind(a, ax), unbind(ta, ax), unbind(out, ax)
        res = [tv[0]]
        for j in range(1, len(av)):
            res.append(res[-1] * av[j] + ov[j - 1] * tv[j])
        return stack(res, ax)
    return out * CumsumBackward0.apply(ta / a, axis=ax, dtype=None)


def _r_softmax(p, t, out, kw):
    ax = (kw["axis"],)
    return out * (t[0] - _sum(out * t[0], ax, True))


def _r_log_softmax(p, t, out, kw):
    ax = (kw["axis"],)
    return t[0] - _sum(out.exp() * t[0], ax, True)


# -- linear algebra ------------------------------------------------------------------------------------------

def _r_einsum(p, t, out, kw):
    from ..ops.linalg import EinsumBackward
    res = None
    for i, ti in enumerate(t):
        if ti is not None:
            args = list(p)
            args[i] = ti
            res = _add(res, EinsumBackward.apply(*args, **kw))
    return res


# -- torch.linalg (dynagrad/linalg): PyTorch's forward-mode formulas ------------------------------------------

def _la():
    import dynagrad.linalg as la
    return la


def _mH(x):  # noqa: N802
    from ..linalg._common import mH
    return mH(x)


def _tr(x):
    return x.diagonal(0, -2, -1).sum(-1)


def _cplx(x, like):
    """``x`` in the complex dtype of ``like`` (for tangents of real inputs to complex-valued results)."""
    return x.to(like.dtype) if x.dtype != like.dtype else x


def _r_inv_ex(p, t, out, kw):
    inv = out[0]
    return -(inv @ t[0] @ inv), None


def _r_det(p, t, out, kw):
    from ..ops.index import where
    a, ta = p[0], t[0]
    x = _la().solve_ex(a, ta.to(a.dtype)).result
    tr = _tr(x)
    return where(out == 0, 0.0, tr * out)


def _r_slogdet(p, t, out, kw):
    from ..linalg._complex import imag, real
    a, ta = p[0], t[0]
    sign = out[0]
    tr = _tr(_la().solve_ex(a, ta.to(a.dtype)).result)
    if a.is_complex():
        return 1j * imag(tr) * sign, real(tr)
    return _zeros_like(sign), tr


def _r_solve_ex(p, t, out, kw):
    a, b = p
    ta, tb = t
    left, vector = kw["left"], kw["vector"]
    x = out[0]
    xm = x.unsqueeze(-1) if vector else x
    rhs = None if tb is None else (tb.unsqueeze(-1) if vector else tb)
    if ta is not None:
        corr = ta @ xm if left else xm @ ta
        rhs = -corr if rhs is None else rhs - corr
    dx = _la().solve(a, rhs, left=left)
    return (dx.squeeze(-1) if vector else dx), None


def _r_solve_triangular(p, t, out, kw):
    a, b = p
    ta, tb = t
    upper, left, unit = kw["upper"], kw["left"], kw["unitriangular"]
    rhs = tb
    if ta is not None:
        pa = ta.triu(int(unit)) if upper else ta.tril(-int(unit))
        corr = pa @ out if left else out @ pa
        rhs = -corr if rhs is None else rhs - corr
    return _la().solve_triangular(a, rhs, upper=upper, left=left, unitriangular=unit)


def _r_cholesky_ex(p, t, out, kw):
    la = _la()
    upper = kw["upper"]
    L = out[0]
    low = _mH(L) if upper else L
    d = la.solve_triangular(low, t[0], upper=False, left=True)
    d = la.solve_triangular(_mH(low), d, upper=True, left=False)
    from ..ops.shape import diag_embed
    d = d.tril() - diag_embed(d.diagonal(0, -2, -1) * 0.5)
    d = low @ d
    return (_mH(d) if upper else d), None


def _r_qr(p, t, out, kw):
    from ..linalg._complex import real
    from ..ops.shape import diag_embed
    la = _la()
    if kw["mode"] == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                           "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    Q, R = out
    da = t[0]
    m, n = da.shape[-2:]
    if kw["mode"] == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    if m >= n:
        dar = la.solve_triangular(R, da, upper=True, left=False)
        x = _mH(Q) @ dar
        x = x + _mH(x)
        dr = x.triu() - diag_embed(real(x.diagonal(0, -2, -1)).to(x.dtype) * 0.5)
        dq = dar - Q @ dr
        return dq, dr @ R
    qhda = _mH(Q) @ da
    x = la.solve_triangular(R[..., :, :m], qhda[..., :, :m], upper=True, left=False)
    if x.is_complex():
        from ..linalg._complex import imag
        y = x.tril(-1) + diag_embed(1j * imag(x.diagonal(0, -2, -1)))
        dq = y - _mH(y)
        dq = dq - diag_embed(dq.diagonal(0, -2, -1) * 0.5)
    else:
        y = x.tril(-1)
        dq = y - y.mT
    dr = qhda - dq @ R
    return Q @ dq, dr


def _lu_jvp(da, P, L, U):
    la = _la()
    m, n = da.shape[-2:]
    k = min(m, n)
    pda = P.mT @ da
    pda1, L1, U1 = pda[..., :k, :k], L[..., :k, :k], U[..., :k, :k]
    dk = la.solve_triangular(L1, pda1, upper=False, left=True, unitriangular=True)
    dk = la.solve_triangular(U1, dk, upper=True, left=False)
    dl1 = L1 @ dk.tril(-1)
    du1 = dk.triu() @ U1
    from ..ops.shape import cat
    if m == n:
        return dl1, du1
    if m < n:
        du2 = la.solve_triangular(L1, pda[..., :, k:], upper=False, left=True, unitriangular=True) - \
            dk.tril(-1) @ U[..., :, k:]
        return dl1, cat([du1, du2], -1)
    dl2 = la.solve_triangular(U1, pda[..., k:, :], upper=True, left=False) - L[..., k:, :] @ dk.triu()
    return cat([dl1, dl2], -2), du1


def _r_lu(p, t, out, kw):
    P, L, U = out
    dl, du = _lu_jvp(t[0], P, L, U)
    return None, dl, du


def _r_lu_factor_ex(p, t, out, kw):
    from ..linalg.decompositions import lu_unpack
    LU, piv = out[0], out[1]
    P, L, U = lu_unpack(LU, piv)
    dl, du = _lu_jvp(t[0], P, L, U)
    m, n = LU.shape[-2:]
    from ..ops.shape import cat
    if m >= n:
        res = cat([dl[..., :n, :] + du, dl[..., n:, :]], -2)
    else:
        res = cat([du[..., :, :m] + dl, du[..., :, m:]], -1)
    return res, None, None


def _r_lu_unpack(p, t, out, kw):
    tl = t[0]
    if tl is None or not kw["unpack_data"]:
        return None, None, None
    m, n = tl.shape[-2:]
    k = min(m, n)
    return None, tl[..., :, :k].tril(-1), tl[..., :k, :].triu()


def _r_svd(p, t, out, kw):
    from ..linalg._complex import real
    from ..ops.shape import cat, diag_embed
    U_, S, Vh_ = out
    da = t[0]
    full = kw["full_matrices"]
    m, n = da.shape[-2:]
    k = S.shape[-1]
    U = U_[..., :, :k] if full else U_
    Vh = Vh_[..., :k, :] if full else Vh_
    V = _mH(Vh)
    cplx = da.is_complex()
    dp = _mH(U) @ (da @ V) if m < n else (_mH(U) @ da) @ V
    dp_d = dp.diagonal(0, -2, -1)
    ds = real(dp_d) if cplx else dp_d
    dp = dp - diag_embed(ds.to(dp.dtype))
    s2 = S * S
    E = s2.unsqueeze(-2) - s2.unsqueeze(-1)
    eye = _T()._wrap(xp.eye(k, dtype=E._data.dtype))
    E = E * (1 - eye) + eye
    du = (dp * S.unsqueeze(-2).to(dp.dtype))
    du = (du + _mH(du)) / E.to(du.dtype)
    dv = (dp * (-S).unsqueeze(-1).to(dp.dtype))
    dv = (dv + _mH(dv)) / E.to(dv.dtype)
    if cplx:
        extra = diag_embed(dp.diagonal(0, -2, -1) / (2 * S).to(dp.dtype))
        du, dv = du + extra, dv + extra
    du = U @ du
    dvh = dv @ Vh
    if m > n:
        davs = da @ (V / S.unsqueeze(-2).to(V.dtype))
        du = du + davs - U @ (_mH(U) @ davs)
        if full:
            du = cat([du, du.new_zeros(tuple(du.shape[:-1]) + (m - n,))], -1)
    if m < n:
        uhdas = (_mH(U) / S.unsqueeze(-1).to(U.dtype)) @ da
        dvh = dvh + uhdas - (uhdas @ V) @ Vh
        if full:
            dvh = cat([dvh, dvh.new_zeros(tuple(dvh.shape[:-2]) + (n - m, n))], -2)
    return du, ds, dvh


def _r_svdvals(p, t, out, kw):
    from ..linalg._complex import real
    U, _, Vh = _la().svd(p[0], full_matrices=False)
    dp = _mH(U) @ t[0].to(U.dtype) @ _mH(Vh)
    d = dp.diagonal(0, -2, -1)
    return real(d) if d.is_complex() else d


def _eig_jvp(da, L, V, hermitian):
    from ..linalg._complex import real
    la = _la()
    if hermitian:
        dp = _mH(V) @ da.to(V.dtype) @ V
    else:
        dp = la.solve(V, _cplx(da, V) @ V)
    dl = dp.diagonal(0, -2, -1)
    if hermitian and da.is_complex():
        dl = real(dl)
    E = L.unsqueeze(-2) - L.unsqueeze(-1)
    eye = _T()._wrap(xp.eye(E.shape[-1], dtype=E._data.dtype))
    x = (dp * (1 - eye).to(dp.dtype)) / (E + eye).to(dp.dtype)
    dv = V @ x
    if not hermitian:
        dv = dv - V * real((_mH(V) @ dv).diagonal(0, -2, -1)).unsqueeze(-2).to(V.dtype)
    return dl, dv


def _r_eig(p, t, out, kw):
    return _eig_jvp(t[0], out[0], out[1], False)


def _r_eigh(p, t, out, kw):
    return _eig_jvp(t[0], out[0], out[1], True)


def _r_eigvals(p, t, out, kw):
    L, V = _la().eig(p[0])
    return _eig_jvp(t[0], L, V, False)[0]


def _r_eigvalsh(p, t, out, kw):
    L, V = _la().eigh(p[0], UPLO=kw["uplo"])
    return _eig_jvp(t[0], L, V, True)[0]


def _pinv_jvp(a, pa, da):
    m, n = a.shape[-2:]
    dah, pah = _mH(da), _mH(pa)
    if m <= n:
        k = pah @ dah
        return pa @ (k - _mH(k) - k @ (a @ pa)) + (dah - pa @ (a @ dah)) @ (pah @ pa)
    k = pa @ da
    kh = _mH(k)
    return (kh - k - (pa @ a) @ kh) @ pa + (pa @ pah) @ (dah - (dah @ a) @ pa)


def _r_pinv(p, t, out, kw):
    return _pinv_jvp(p[0], out, t[0])


def _r_lstsq(p, t, out, kw):
    from ..linalg._complex import conj, real
    a, b = p
    ta, tb = t
    vector = kw["vector"]
    bm = b.unsqueeze(-1) if vector else b
    pa = _la().pinv(a)
    dx = None
    if ta is not None:
        dx = _pinv_jvp(a, pa, ta) @ bm
    if tb is not None:
        d = pa @ (tb.unsqueeze(-1) if vector else tb)
        dx = d if dx is None else dx + d
    x, res = out[0], out[1]
    dres = None
    if res.numel():
        xm = x.unsqueeze(-1) if vector else x
        r = a @ xm - bm
        dr = (_or_zero(a, ta) @ xm) - (_or_zero(b, tb).unsqueeze(-1) if vector else _or_zero(b, tb))
        dres = 2 * real(r * conj(dr)).sum(-2)
        if vector:
            dres = dres.squeeze(-1)
    return (dx.squeeze(-1) if vector else dx), dres, None, None


def _r_matrix_exp(p, t, out, kw):
    from ..linalg.misc import _exp_differential
    return _exp_differential(p[0], t[0])


def _r_vector_norm(p, t, out, kw):
    from ..linalg._complex import conj, real
    from ..ops.index import where
    x, tx = p[0], t[0]
    pnorm, axes, keepdim = kw["ord"], kw["axes"], kw["keepdim"]
    nd = x.ndim
    ax = axes if axes is not None else tuple(range(nd))
    if pnorm == 0:
        return _zeros_like(out)
    sgn = x.sgn()
    if pnorm == 1:
        return _sum(real(sgn * conj(tx)), ax, keepdim)
    if pnorm == 2:
        s = _sum(real(x * conj(tx)), ax, keepdim)
        return where(out == 0, 0.0, s / where(out == 0, 1.0, out))
    norm = _regrow(out, nd, axes, keepdim)
    xa = x.abs()
    if math.isinf(pnorm):
        mask = (xa == norm).logical_or(xa.isnan()).to(norm.dtype)
        count = _sum(mask, ax, True)
        return _sum(real(sgn * conj(tx)) * mask / count, ax, keepdim)
    if pnorm < 1:
        sp = _sum(where(x == 0, 0.0, xa ** (pnorm - 1)) * real(sgn * conj(tx)), ax, keepdim)
        return sp * out ** (1 - pnorm)
    if pnorm < 2:
        sp = _sum(xa ** (pnorm - 1) * real(sgn * conj(tx)), ax, keepdim)
    else:
        sp = _sum(xa ** (pnorm - 2) * real(x * conj(tx)), ax, keepdim)
    den = out ** (pnorm - 1)
    return where(out == 0, 0.0, sp / where(out == 0, 1.0, den))


def _r_not_implemented(name):
    def rule(p, t, out, kw):
        raise NotImplementedError(f"Trying to use forward AD with {name} that does not support it because it "
                                  f"has not been implemented yet.")
    return rule


def _r_no_tangent(p, t, out, kw):
    return None


def _build_linalg() -> None:
    """Rules for the primitives of dynagrad.linalg (imported here, on the first use of forward AD)."""
    from ..linalg import decompositions as Dc
    from ..linalg import eigen as Eg
    from ..linalg import misc as Mi
    from ..linalg import norms as Nm
    from ..linalg import solvers as Sv
    r = RULES
    r.update({
        Sv.LinalgInvExBackward0: _r_inv_ex, Mi.LinalgDetBackward0: _r_det, Mi.LinalgSlogdetBackward0: _r_slogdet,
        Sv.LinalgSolveExBackward0: _r_solve_ex, Sv.LinalgSolveTriangularBackward0: _r_solve_triangular,
        Dc.LinalgCholeskyExBackward0: _r_cholesky_ex, Dc.LinalgQrBackward0: _r_qr, Dc.LinalgLuBackward0: _r_lu,
        Dc.LinalgLuFactorExBackward0: _r_lu_factor_ex, Dc.LuUnpackBackward0: _r_lu_unpack,
        Dc.LinalgSvdBackward0: _r_svd, Dc.SvdvalsBackward: _r_svdvals, Eg.LinalgEigBackward0: _r_eig,
        Eg.LinalgEighBackward0: _r_eigh, Eg.EigvalsBackward: _r_eigvals, Eg.EigvalshBackward: _r_eigvalsh,
        Sv.LinalgPinvBackward0: _r_pinv, Sv.LinalgLstsqBackward0: _r_lstsq,
        Mi.LinalgMatrixExpBackward0: _r_matrix_exp, Nm.LinalgVectorNormBackward0: _r_vector_norm,
        Mi.LinalgCrossBackward0: bilinear(Mi.LinalgCrossBackward0), Mi._MatrixRank: _r_no_tangent,
        Dc.LinalgLdlFactorExBackward0: _r_not_implemented("linalg_ldl_factor_ex"),
        Sv.LinalgLdlSolveBackward0: _r_not_implemented("linalg_ldl_solve"),
        Dc.GeqrfBackward0: _r_not_implemented("geqrf"),
    })
    for cls in (Sv.LinalgLuSolveBackward0, Sv.CholeskySolveBackward0, Sv.CholeskyInverseBackward0,
                Dc.LinalgHouseholderProductBackward0, Dc.OrmqrBackward0):
        r[cls] = via_vjp(cls)


# -- pooling -------------------------------------------------------------------------------------------------

def _r_max_index(nd_of):
    def rule(p, t, out, kw):
        from ..ops.index import gather
        a, ta = p[0], t[0]
        vals, idx = out
        nd = nd_of(kw)
        lead = tuple(a.shape[:a.ndim - nd])
        v = gather(ta.reshape(lead + (-1,)), -1, idx.reshape(lead + (-1,)))
        return v.reshape(tuple(vals.shape)), None
    return rule


# -- registry ------------------------------------------------------------------------------------------------

def _build() -> None:
    from ..ops import elementwise as E
    from ..ops import index as I
    from ..ops import linalg as L
    from ..ops import reduce as R
    from ..ops import shape as S

    r = RULES
    r.update({
        E.AddBackward0: _r_add, E.SubBackward0: _r_sub, E.NegBackward0: _r_neg, E.MulBackward0: _r_mul,
        E.DivBackward0: _r_div, E.PowBackward0: _r_pow, E.SquareBackward: _r_square,
        E.MaximumBackward0: _r_extreme(True), E.MinimumBackward0: _r_extreme(False),
        E.Atan2Backward0: _r_atan2, E.ToCopyBackward0: linear(E.ToCopyBackward0),
        E.ZeroGradBackward: _r_zero_grad, E.RemainderBackward0: _r_remainder, E.FmodBackward0: _r_fmod,
        E.RoundBackward0: zero, E.ClampBackward1: _r_clamp, E.ClampTensorBackward: _r_clamp_tensor,
        E.NanToNumBackward0: _r_nan_to_num,
    })
    r.update(_unary_rules())
    for cls in (R.SumBackward0, R.MeanBackward0, R.CumsumBackward0):
        r[cls] = linear(cls)
    r.update({
        R.ProdBackward0: _r_prod, R.AmaxBackward0: _r_amax, R.MaxBackward0: _r_max_dim,
        R.VarBackward0: _r_var,
        R.NormBackward1: _r_norm, R.LogsumexpBackward0: _r_logsumexp, R.CumprodBackward0: _r_cumprod,
        R.SoftmaxBackward0: _r_softmax, R.LogSoftmaxBackward0: _r_log_softmax,
    })
    if hasattr(R, "StdBackward0"):
        r[R.StdBackward0] = _r_std
    for cls in (S.PermuteBackward0, S.ExpandBackward0, S.RepeatBackward0, S.FlipBackward0, S.RollBackward0,
                S.CatBackward0, S.SplitOp, S.UnbindOp, S.TrilBackward0, S.ContiguousBackward,
                S.DiagonalBackward0):
        r[cls] = linear(cls)
    if hasattr(S, "DiagonalScatterBackward0"):
        r[S.DiagonalScatterBackward0] = linear(S.DiagonalScatterBackward0)
    r[S.ViewBackward0] = linear(S.ViewBackward0, copy_ok=True)  # a tangent need not be contiguous
    for cls in (I.SliceBackward0, I.IndexBackward0, I.IndexPutBackward0, I.GatherBackward0, I.WhereBackward0):
        r[cls] = linear(cls)
    r[I.MaskedFillBackward0] = linear(I.MaskedFillBackward0, value=0)

    def scatter(p, t, out, kw):
        if kw.get("reduce") in (None, "add"):
            return linear(I.ScatterBackward0)(p, t, out, kw)
        return via_vjp(I.ScatterBackward0)(p, t, out, kw)
    r[I.ScatterBackward0] = scatter
    if hasattr(I, "ScatterReduceBackward0"):
        r[I.ScatterReduceBackward0] = via_vjp(I.ScatterReduceBackward0)
    for cls in (L.MmBackward0, L.BmmBackward0, L.DotBackward0, L.MvBackward0):
        r[cls] = bilinear(cls)
    r[L.EinsumBackward] = _r_einsum
    _build_optional()
    _build_math()
    _build_linalg()


def _r_nextafter(p, t, out, kw):
    return _or_zero(p[1], t[1])


def _r_logcumsumexp(p, t, out, kw):
    """PyTorch's logcumsumexp_jvp: cumsum(exp(x - max) t) / cumsum(exp(x - max))."""
    x, tx = p[0], t[0]
    if tx is None:
        return None
    axis = kw["axis"]
    if x.ndim == 0:
        return tx
    e = (x - x.max(axis, keepdim=True).values).exp() if x._data.dtype.kind != "c" else x.exp()
    return (e * tx).cumsum(axis) / e.cumsum(axis)


def _build_math() -> None:
    """ops/math.py and the elementwise additions of issue 20."""
    from ..ops import elementwise as E
    from ..ops import math as M
    r = RULES
    for cls in (E.SgnBackward0, E.XlogyBackward0, M.HypotBackward0, M.CopysignBackward0, M.LogaddexpBackward0,
                M.FmaxBackward0, M.AngleBackward0):
        r[cls] = via_vjp(cls)
    for cls in (M.I0Backward0, M.I1Backward0):
        r[cls] = diagonal(cls)
    for cls in (M.RealBackward0, M.ImagBackward0, M.ConjBackward0, M.ViewAsRealBackward0,
                M.ViewAsComplexBackward0):
        r[cls] = linear(cls)
    r[M.NextafterBackward0] = _r_nextafter
    from ..ops import reduce as R
    r[R.LogcumsumexpBackward0] = _r_logcumsumexp
    r[M.NotDifferentiable] = zero


def _build_optional() -> None:
    """Rules for primitives in modules that may not exist yet (conv/pool/pad, nn's own ops)."""
    import importlib
    r = RULES

    def mod(name):
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    conv = mod("dynagrad.ops.conv")
    if conv is not None:
        r[conv.ConvolutionBackward0] = bilinear(conv.ConvolutionBackward0)
        r[conv._ConvTransposeBackward] = bilinear(conv._ConvTransposeBackward)
        r[conv.Im2ColBackward0] = linear(conv.Im2ColBackward0)
        r[conv.Col2ImBackward0] = linear(conv.Col2ImBackward0)
    for m in (mod("dynagrad.ops.pad"), mod("dynagrad.nn._ops")):
        if m is not None and hasattr(m, "ConstantPadNdBackward0"):
            r[m.ConstantPadNdBackward0] = linear(m.ConstantPadNdBackward0, value=0)
    pad = mod("dynagrad.ops.pad")
    if pad is not None:
        r[pad._IndexPadBackward] = linear(pad._IndexPadBackward)
    pool = mod("dynagrad.ops.pool")
    if pool is not None:
        r[pool.MaxPoolWithIndicesBackward] = _r_max_index(lambda kw: len(kw["K"]))
        r[pool.AdaptiveMaxPoolBackward] = _r_max_index(lambda kw: len(kw["out"]))
        r[pool.AvgPoolBackward] = linear(pool.AvgPoolBackward)
        r[pool._AvgPoolAdjoint] = linear(pool._AvgPoolAdjoint)
    sampling = mod("dynagrad.ops.sampling")
    if sampling is not None:
        for cls in (sampling._GatherTaps, sampling._ScatterTaps, sampling._DotTaps):
            r[cls] = bilinear(cls)
        r[sampling._SourceCoord] = lambda p, t, out, kw: None if t[0] is None else t[0] * kw["mult"]
    sorting = mod("dynagrad.ops.sorting")
    if sorting is not None:
        def median_all(p, t, out, kw):  # the tangent averaged over the elements equal to the median
            a = p[0]
            hit = xp.isnan(a._data) if out._data != out._data else a._data == out._data
            m = _T()._wrap(hit.astype(a._data.dtype))
            return (t[0] * m).sum() / max(int(hit.sum()), 1)
        r[sorting.MedianBackward0] = r[sorting.NanmedianBackward0] = median_all
    dist = mod("dynagrad.ops.distance")
    if dist is not None:
        r[dist.CdistBackward0] = _no_forward_ad("_cdist_forward")
        r[dist.EuclideanDistBackward0] = _no_forward_ad("_euclidean_dist")
    ctc = mod("dynagrad.ops.ctc")
    if ctc is not None:
        r[ctc.CtcLossBackward0] = _no_forward_ad("_ctc_loss")
    fb = mod("dynagrad.func._batch_rules")
    if fb is not None:
        r[fb.PerExampleMmBackward] = bilinear(fb.PerExampleMmBackward)
    nn = mod("dynagrad.nn._ops")
    if nn is not None:
        if hasattr(nn, "AddmmBackward0"):
            r[nn.AddmmBackward0] = bilinear(nn.AddmmBackward0)
        for name in ("EmbeddingBackward0", "NativeDropoutBackward0", "BackwardHookFunctionBackward"):
            if hasattr(nn, name):
                r[getattr(nn, name)] = linear(getattr(nn, name))
        for name in ("GeluBackward0", "SiluBackward0", "MishBackward0", "LeakyReluBackward0", "EluBackward0",
                     "HardtanhBackward0", "HardsigmoidBackward0", "HardswishBackward0", "SoftplusBackward0",
                     "ThresholdBackward0", "LogSigmoidBackward0"):
            if hasattr(nn, name):
                r[getattr(nn, name)] = diagonal(getattr(nn, name))
    # primitives whose JVP is the transposed backward (their backward formulas are differentiable):
    # normalisation, the losses, PReLU and fused attention
    for mname, names in (("dynagrad.nn._ops", ("NllLossBackward0", "LogSoftmaxNllBackward", "NativeLayerNormBackward0",
                                                "NativeBatchNormBackward0", "NativeGroupNormBackward0",
                                                "PreluKernelBackward0", "BinaryCrossEntropyBackward0",
                                                "BinaryCrossEntropyWithLogitsBackward0")),
                         ("dynagrad.nn._attention_ops", ("ScaledDotProductAttentionBackward0",))):
        m = mod(mname)
        for name in names:
            if m is not None and hasattr(m, name) and getattr(m, name) not in r:
                r[getattr(m, name)] = via_vjp(getattr(m, name))
    rnn = mod("dynagrad.nn._rnn_ops")
    if rnn is not None and hasattr(rnn, "reference_layer"):  # fused recurrent layers: through the reference
        for name in ("RNNTanhLayerBackward0", "RNNReluLayerBackward0", "LSTMLayerBackward0", "GRULayerBackward0"):
            cls = getattr(rnn, name, None)
            if cls is not None:
                r[cls] = composite((lambda mode: lambda *a, **kw: rnn.reference_layer(mode, *a, **kw))(cls.mode))


_build()
