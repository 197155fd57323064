"""The Bessel, Airy, erfcx, zeta and orthogonal-polynomial functions of ``torch.special`` (kernels in
``_kernels``). Dtypes as PyTorch's CPU kernels: integers and bool compute in the default dtype, half precision
and complex are refused where PyTorch has no kernel (i0e/i1/i1e accept half precision and compute in float32).
Gradients where PyTorch has them (erfcx, i0e, i1, i1e; zeta with respect to ``q``); elsewhere the result does
not require grad, as PyTorch's, and ``zeta``'s backward for ``x`` raises PyTorch's NotImplementedError.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..tensor import Tensor
from . import _kernels as K

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "spherical_bessel_j0", "erfcx", "i0e", "i1", "i1e", "zeta",
           "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p"]


def _as_tensor(x, name: str, arg: str = "input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float)):
        from ..creation import tensor
        return tensor(x)
    raise TypeError(f"special_{name}(): argument '{arg}' (position 1) must be Tensor, not {type(x).__name__}")


def _float_dtype(x: Tensor, kernel: str, half_ok: bool):
    """The result dtype (NumPy) of a unary special function of ``x``, or PyTorch's refusal."""
    d = x._data.dtype
    if d.kind == "c" or (not half_ok and d.kind == "V") or (not half_ok and d == xp.float16):
        raise dtypes.not_implemented(kernel, x.dtype)
    if d.kind in "biu":
        return dtypes.get_default_dtype().numpy
    return d


def _out(result: Tensor, out):
    if out is None:
        return result
    r = result.to(out.dtype)
    out.copy_(r) if tuple(out.shape) == tuple(r.shape) else out.set_(r.detach())
    return out


def _compute(kernel, a, dt):
    """Run a float64 kernel and cast to ``dt`` (float16/bfloat16 through float32, as ATen upcasts them)."""
    with xp.errstate(all="ignore"):
        r = kernel(xp.asarray(a, xp.float64))
        if kernel is K.airy_ai and dt != xp.float64:
            # ATen's float32 kernel forms 2 |x|^1.5 in float32: NaN once that overflows
            a32 = xp.asarray(a, xp.float32)
            r = xp.where(xp.isinf((-2 * a32) * xp.sqrt(-a32)) & (a32 < 0), xp.nan, r)
        if kernel in _EXP_SCALED and dt != xp.float64:
            # ATen's float32 kernels multiply by exp(|x|) in float32: inf once that overflows
            big = (xp.abs(a) > 88.72283935546875) & xp.isfinite(a)
            r = xp.where(big, xp.copysign(xp.inf, a) if kernel is K.i1 else xp.inf, r)
    if dt in (xp.float16,) or getattr(dt, "kind", "") == "V":
        r = r.astype(xp.float32)
    return xp.asarray(r).astype(dt, copy=False)


_EXP_SCALED = (K.i0, K.i1)


# -- unary functions without gradients -------------------------------------------------------------------------

def _nondiff(name: str, kernel):
    cls = type("Special" + "".join(p.capitalize() for p in name.split("_")) + "Backward0", (Op,), {
        "forward": lambda ctx, a, dt: _compute(kernel, a, dt),
        "backward": lambda self, g: (None,),
    })

    def fn(input, *, out=None):  # noqa: A002
        x = _as_tensor(input, name)
        dt = _float_dtype(x, name + "_cpu", half_ok=False)
        return _out(cls.apply(x.detach(), dt=dt), out)  # PyTorch records no gradient for these
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name} (not differentiable, as in PyTorch)."
    fn.op = cls
    return fn


airy_ai = _nondiff("airy_ai", K.airy_ai)
bessel_j0 = _nondiff("bessel_j0", K.j0)
bessel_j1 = _nondiff("bessel_j1", K.j1)
bessel_y0 = _nondiff("bessel_y0", K.y0)
bessel_y1 = _nondiff("bessel_y1", K.y1)
modified_bessel_i0 = _nondiff("modified_bessel_i0", K.i0)
modified_bessel_i1 = _nondiff("modified_bessel_i1", K.i1)
modified_bessel_k0 = _nondiff("modified_bessel_k0", K.k0)
modified_bessel_k1 = _nondiff("modified_bessel_k1", K.k1)
scaled_modified_bessel_k0 = _nondiff("scaled_modified_bessel_k0", K.k0e)
scaled_modified_bessel_k1 = _nondiff("scaled_modified_bessel_k1", K.k1e)
spherical_bessel_j0 = _nondiff("spherical_bessel_j0", K.spherical_j0)
bessel_j0.__doc__ = """The Bessel function of the first kind of order 0 (not differentiable, as in PyTorch).

>>> import dynagrad
>>> dynagrad.special.bessel_j0(dynagrad.tensor([0.0, 1.0, 2.0]))
tensor([1.0000, 0.7652, 0.2239])
"""


# -- differentiable unary functions ----------------------------------------------------------------------------

class SpecialErfcxBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, dt):
        return _compute(K.erfcx, a, dt)

    def backward(self, g, x, out):  # PyTorch: (2 x erfcx(x) - 2 / sqrt(pi)) g
        return (g * (2 * x * out - 2 / math.sqrt(math.pi)),)


class SpecialI0EBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, dt):
        return _compute(K.i0e, a, dt)

    def backward(self, g, x, out):  # PyTorch: (i1e(x) - sgn(x) i0e(x)) g
        return (g * (_i1e_of(x) - D.sign(x) * out),)


class SpecialI1Backward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, dt):
        return _compute(K.i1, a, dt)

    def backward(self, g, x, out):  # PyTorch: (i0(x) - i1(x) / x) g; 1/2 where |x| <= eps (and at NaN)
        big, safe = _not_tiny(x)
        return (g * D.where(big, _i0_of(safe) - out / safe, 0.5),)


class SpecialI1EBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, dt):
        return _compute(K.i1e, a, dt)

    def backward(self, g, x, out):  # PyTorch: (i0e(x) - i1e(x) (sgn(x) + 1 / x)) g; 1/2 where |x| <= eps
        big, safe = _not_tiny(x)
        return (g * D.where(big, _i0e_of(safe) - out * (D.sign(safe) + 1 / safe), 0.5),)


def _not_tiny(x):
    """ATen's i1/i1e backward guard: |x| > eps (False at NaN), and x with eps where it is not."""
    xv = x if D.is_array(x) else x._data
    eps = float(xp.finfo(xv.dtype).eps)
    with xp.errstate(invalid="ignore"):
        big = xp.abs(xv) > eps
    return big, D.where(big, x, eps)


def _of(cls, kernel):
    def f(x):
        if D.is_array(x):
            return _compute(kernel, x, x.dtype)
        return cls.apply(x, dt=x._data.dtype)
    return f


_i0e_of = _of(SpecialI0EBackward0, K.i0e)
_i1e_of = _of(SpecialI1EBackward0, K.i1e)


def _i0_of(x):
    if D.is_array(x):
        return _compute(K.i0, x, x.dtype)
    from ..ops.math import i0
    return i0(x)


def _diff_unary(name: str, cls, half_ok: bool, doc: str):
    def fn(input, *, out=None):  # noqa: A002
        x = _as_tensor(input, name)
        dt = _float_dtype(x, name + "_cpu", half_ok)
        if x._data.dtype != dt:
            x = x.to(dtypes.from_numpy(dt))
        return _out(cls.apply(x, dt=dt), out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.op = cls
    return fn


erfcx = _diff_unary("erfcx", SpecialErfcxBackward0, False, """The scaled complementary error function
``exp(x^2) erfc(x)``, accurate where erfc underflows.

>>> import dynagrad
>>> dynagrad.special.erfcx(dynagrad.tensor([0.0, 1.0, 30.0]))
tensor([1.0000, 0.4276, 0.0188])
""")
i0e = _diff_unary("i0e", SpecialI0EBackward0, True, "``exp(-|x|) I0(x)``, the exponentially scaled modified "
                  "Bessel function of order 0.")
i1 = _diff_unary("i1", SpecialI1Backward0, True, "The modified Bessel function of the first kind, order 1.")
i1e = _diff_unary("i1e", SpecialI1EBackward0, True, "``exp(-|x|) I1(x)``.")


# -- binary functions ----------------------------------------------------------------------------------------

def _binary_operands(x, n, name: str):
    from ..ops.elementwise import _prep
    if not isinstance(x, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"special_{name}(): at least one argument must be a Tensor")
    a, b = _prep(x, n)
    if not isinstance(a, Tensor):
        from ..creation import tensor
        a = tensor(a, dtype=b.dtype)
    if not isinstance(b, Tensor):
        from ..creation import tensor
        b = tensor(b, dtype=a.dtype)
    d = a._data.dtype
    if d.kind == "c" or d.kind == "V" or d == xp.float16:
        raise dtypes.not_implemented(name + "_cpu", a.dtype)
    dt = dtypes.get_default_dtype().numpy if d.kind in "biu" else d
    return a, b, dt


class SpecialZetaBackward0(Op):
    save = (0, 1)

    def forward(ctx, x, q, dt):
        with xp.errstate(all="ignore"):
            return K.zeta(x, q).astype(dt)

    def backward(self, g, x, q):
        if self.edges[0][0] is not None:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        # PyTorch: d/dq zeta(x, q) = -x zeta(x + 1, q)
        if D.is_array(g):
            return None, g * -x * SpecialZetaBackward0.forward(None, x + 1, q, g.dtype)
        return None, g * -x * SpecialZetaBackward0.apply(x + 1, q, dt=g._data.dtype)


def zeta(input, other, *, out=None):  # noqa: A002
    """The Hurwitz zeta function ``sum_k (k + other)^-input`` (the Riemann zeta at ``other = 1``).

    >>> import dynagrad
    >>> dynagrad.special.zeta(dynagrad.tensor([2.0, 4.0]), 1.0)  # pi^2/6, pi^4/90
    tensor([1.6449, 1.0823])
    """
    a, b, dt = _binary_operands(input, other, "zeta")
    return _out(SpecialZetaBackward0.apply(a, b, dt=dt), out)


def _poly(name: str, kernel, doc: str):
    cls = type("Special" + "".join(p.capitalize() for p in name.split("_")) + "Backward0", (Op,), {
        "forward": lambda ctx, x, n, dt: _poly_forward(kernel, x, n, dt),
        "backward": lambda self, g: (None, None),
    })

    def fn(input, n, *, out=None):  # noqa: A002
        a, b, dt = _binary_operands(input, n, name)
        return _out(cls.apply(a.detach(), b.detach(), dt=dt), out)  # not differentiable in PyTorch
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.op = cls
    return fn


def _poly_forward(kernel, x, n, dt):
    # computed in the result's dtype: float32 overflows (inf - inf = NaN) where PyTorch's float32 kernel does
    xb, nb = xp.broadcast_arrays(xp.asarray(x, dt), xp.asarray(n))
    nf = xp.asarray(nb, xp.float64)
    # the degree is truncated to an integer (NaN and inf count as negative, giving 0)
    ni = xp.where(xp.isfinite(nf), nf, -1).astype(xp.int64)
    with xp.errstate(all="ignore"):
        r = kernel(xp.array(xb, dt), ni, dt)
    return xp.asarray(r).astype(dt, copy=False)


def _hermite_limit(dt) -> int:
    return 128 if dt == xp.float32 else 512


chebyshev_polynomial_t = _poly("chebyshev_polynomial_t", lambda x, n, dt: K.chebyshev_t(x, n), """The Chebyshev
polynomial of the first kind ``T_n(x)`` (not differentiable, as in PyTorch).

>>> import dynagrad
>>> dynagrad.special.chebyshev_polynomial_t(dynagrad.tensor([0.5, 2.0]), 3)
tensor([-1., 26.])
""")
chebyshev_polynomial_u = _poly("chebyshev_polynomial_u", lambda x, n, dt: K.chebyshev_u(x, n),
                               "The Chebyshev polynomial of the second kind ``U_n(x)``.")
chebyshev_polynomial_v = _poly("chebyshev_polynomial_v", lambda x, n, dt: K.chebyshev_v(x, n),
                               "The Chebyshev polynomial of the third kind ``V_n(x)``.")
chebyshev_polynomial_w = _poly("chebyshev_polynomial_w", lambda x, n, dt: K.chebyshev_w(x, n),
                               "The Chebyshev polynomial of the fourth kind ``W_n(x)``.")
shifted_chebyshev_polynomial_t = _poly("shifted_chebyshev_polynomial_t", lambda x, n, dt: K._shifted(x, n, "t"),
                                       "``T_n(2x - 1)``.")
shifted_chebyshev_polynomial_u = _poly("shifted_chebyshev_polynomial_u", lambda x, n, dt: K._shifted(x, n, "u"),
                                       "``U_n(2x - 1)``.")
shifted_chebyshev_polynomial_v = _poly("shifted_chebyshev_polynomial_v", lambda x, n, dt: K._shifted(x, n, "v"),
                                       "``V_n(2x - 1)``.")
shifted_chebyshev_polynomial_w = _poly("shifted_chebyshev_polynomial_w", lambda x, n, dt: K._shifted(x, n, "w"),
                                       "``W_n(2x - 1)``.")
hermite_polynomial_h = _poly("hermite_polynomial_h", lambda x, n, dt: K.hermite_h(x, n, _hermite_limit(dt)),
                             "The physicists' Hermite polynomial ``H_n(x)`` (NaN above degree 128 in float32, "
                             "512 in float64, as PyTorch).")
hermite_polynomial_he = _poly("hermite_polynomial_he", lambda x, n, dt: K.hermite_he(x, n, _hermite_limit(dt)),
                              "The probabilists' Hermite polynomial ``He_n(x)``.")
laguerre_polynomial_l = _poly("laguerre_polynomial_l", lambda x, n, dt: K.laguerre_l(x, n),
                              "The Laguerre polynomial ``L_n(x)``.")
legendre_polynomial_p = _poly("legendre_polynomial_p", lambda x, n, dt: K.legendre_p(x, n),
                              "The Legendre polynomial ``P_n(x)``.")


def _register() -> None:
    from ..autograd._jvp_rules import RULES as JVP
    from ..autograd._jvp_rules import diagonal, zero
    from ..func._batch_rules import RULES as BATCH
    from ..func._batch_rules import elementwise, unary
    for fn in (airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1, modified_bessel_i0, modified_bessel_i1,
               modified_bessel_k0, modified_bessel_k1, scaled_modified_bessel_k0, scaled_modified_bessel_k1,
               spherical_bessel_j0):
        BATCH[fn.op] = unary
        JVP[fn.op] = zero
    for fn in (erfcx, i0e, i1, i1e):
        BATCH[fn.op] = unary
        JVP[fn.op] = diagonal(fn.op)
    BATCH[SpecialZetaBackward0] = elementwise()
    for fn in (chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w,
               shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
               shifted_chebyshev_polynomial_w, hermite_polynomial_h, hermite_polynomial_he, laguerre_polynomial_l,
               legendre_polynomial_p):
        BATCH[fn.op] = elementwise()
        JVP[fn.op] = zero


_register()
