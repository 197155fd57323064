"""More elementwise math: hypot, copysign, logaddexp, fmax/fmin, gcd/lcm, shifts, ldexp, float_power,
nextafter, heaviside, i0, degrees/radians, and the complex-number views (real, imag, conj, angle).

Composites where PyTorch's derivative is the composite's (ldexp, float_power, deg2rad); primitives with
PyTorch's backward formulas otherwise.

>>> import dynagrad as torch
>>> torch.hypot(torch.tensor([3.0]), torch.tensor([4.0]))
tensor([5.])
>>> torch.logaddexp(torch.tensor([0.0]), torch.tensor([0.0]))
tensor([0.6931])
>>> torch.bitwise_left_shift(torch.tensor([1, 2]), 3)
tensor([ 8, 16])
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D
from .elementwise import (
    _as_array,
    _binary,
    _broadcast_error,
    _check_broadcast,
    _float_input,
    _prep,
    _refuse,
    _val_any,
    abs,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    mul,
    neg,
    pow,
    tensor_other_guard,
    trunc,
)

__all__ = ["hypot", "copysign", "logaddexp", "logaddexp2", "fmax", "fmin", "gcd", "lcm", "bitwise_left_shift",
           "bitwise_right_shift", "ldexp", "float_power", "nextafter", "heaviside", "i0", "deg2rad", "rad2deg",
           "real", "imag", "conj", "conj_physical", "resolve_conj", "resolve_neg", "angle", "isreal", "absolute",
           "negative", "positive", "fix", "arccos", "arcsin", "arctan", "arccosh", "arcsinh", "arctanh", "arctan2",
           "igamma", "igammac", "is_conj", "is_neg", "view_as_real", "view_as_complex", "frexp", "is_signed"]

_T = Tensor

absolute, negative, fix = abs, neg, trunc
arccos, arcsin, arctan, arccosh, arcsinh, arctanh, arctan2 = acos, asin, atan, acosh, asinh, atanh, atan2


def positive(input):  # noqa: A002
    """The input itself (PyTorch refuses bools)."""
    if input._data.dtype == xp.bool_:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def _float_pair(name, a, b):
    """Promote two operands; integer and bool results compute in the default float dtype."""
    a, b = _prep(a, b)
    if xp.result_type(_val_any(a), _val_any(b)).kind in "biu":
        a = _float_input(a) if isinstance(a, _T) else float(a)
        b = _float_input(b) if isinstance(b, _T) else float(b)
    return a, b


class HypotBackward0(Op):
    save = (0, 1)
    save_output = True

    def forward(ctx, a, b):
        return xp.hypot(a, b)

    def backward(self, g, a, b, out):
        return g * a / out, g * b / out


_hypot = _binary(HypotBackward0, "hypot", tensor_other_guard("hypot"))


def hypot(input, other):  # noqa: A002
    """sqrt(input**2 + other**2) without overflow; floating point tensors only."""
    tensor_other_guard("hypot")(input, other)
    for t in (input, other):
        _refuse("hypot_cpu", t, "biuc")
    return _hypot(input, other)


class CopysignBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, b):
        return xp.copysign(a, b)

    def backward(self, g, a, out):
        # PyTorch: g * out / a, 0 where a == 0; no gradient for the sign source
        av = a if D.is_array(a) else a._data
        zero = av == 0
        ratio = out / D.where(zero, 1.0, a) if not D.is_array(a) else out / xp.where(zero, 1.0, av)
        return D.mask(g * ratio, ~zero), None


def copysign(input, other):  # noqa: A002
    """|input| with the sign of other (floats; integers compute in the default float dtype)."""
    a, b = _float_pair("copysign", input, other)
    try:
        return CopysignBackward0.apply(a, b)
    except ValueError:
        raise _broadcast_error("copysign", a, b) from None


class LogaddexpBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b, base2):
        if ctx is not None:
            ctx.base2 = base2
        return xp.logaddexp2(a, b) if base2 else xp.logaddexp(a, b)

    def backward(self, g, a, b):
        if self.base2:
            return g / (1 + D.exp((b - a) * math.log(2.0))), g / (1 + D.exp((a - b) * math.log(2.0)))
        return g / (1 + D.exp(b - a)), g / (1 + D.exp(a - b))


def _logaddexp(name, a, b, base2):
    tensor_other_guard(name)(a, b)
    a, b = _prep(a, b)
    for t in (a, b):
        _refuse(f"{name}_cpu", t, "biu")
    if base2:
        for t in (a, b):
            _refuse(f"{name}_cpu", t, "c")
    if any(isinstance(t, _T) and t._data.dtype.kind == "c" for t in (a, b)):
        from .elementwise import exp, log
        from .elementwise import mul as _mul
        if base2:
            return _mul(log(exp(_mul(a, math.log(2.0))) + exp(_mul(b, math.log(2.0)))), 1 / math.log(2.0))
        return log(exp(a) + exp(b))
    try:
        return LogaddexpBackward0.apply(a, b, base2=base2)
    except ValueError:
        raise _broadcast_error(name, a, b) from None


def logaddexp(input, other):  # noqa: A002
    """log(exp(input) + exp(other)), computed stably."""
    return _logaddexp("logaddexp", input, other, False)


def logaddexp2(input, other):  # noqa: A002
    """log2(2**input + 2**other), computed stably."""
    return _logaddexp("logaddexp2", input, other, True)


class FmaxBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b, is_max):
        if ctx is not None:
            ctx.is_max = is_max
        return xp.fmax(a, b) if is_max else xp.fmin(a, b)

    def backward(self, g, a, b):
        av, bv = _val_any(a), _val_any(b)
        take_a = ((av >= bv) if self.is_max else (av <= bv)) | xp.isnan(bv)
        return D.mask(g, take_a), D.mask(g, ~take_a)


def _fmaxmin(name, a, b, is_max):
    tensor_other_guard(name)(a, b)
    a, b = _prep(a, b)
    try:
        return FmaxBackward0.apply(a, b, is_max=is_max)
    except ValueError:
        raise _broadcast_error(name, a, b) from None


def fmax(input, other):  # noqa: A002
    """The elementwise maximum, ignoring NaN (NaN only where both are NaN)."""
    return _fmaxmin("fmax", input, other, True)


def fmin(input, other):  # noqa: A002
    """The elementwise minimum, ignoring NaN."""
    return _fmaxmin("fmin", input, other, False)


def _int_binary(name, npfn, a, b, kinds="iu", tensors=True):
    if tensors:
        tensor_other_guard(name)(a, b)
    _check_broadcast(name, a, b)
    a, b = _prep(a, b)
    av, bv = _val_any(a), _val_any(b)
    rt = dtypes.result_type(a, b) if isinstance(a, _T) and isinstance(b, _T) else (
        a.dtype if isinstance(a, _T) else b.dtype)
    if rt.numpy.kind not in kinds:
        raise dtypes.not_implemented(f"{name}_cpu", rt)
    try:
        return Tensor._wrap(_as_array(npfn(av, bv)).astype(rt.numpy, copy=False))
    except ValueError:
        raise _broadcast_error(name, a, b) from None


def gcd(input, other):  # noqa: A002
    """The greatest common divisor (integers; non-negative)."""
    return _int_binary("gcd", xp.gcd, input, other)


def lcm(input, other):  # noqa: A002
    """The least common multiple (integers; non-negative)."""
    return _int_binary("lcm", xp.lcm, input, other)


def _shift(a, b, left):
    """PyTorch's shifts: a shift by the bit width or more (or a negative one) gives 0, or the sign for >>."""
    dt = xp.result_type(a, b)
    a, b = xp.asarray(a, dt), xp.asarray(b, dt)
    bits = dt.itemsize * 8
    bad = (b < 0) | (b >= bits)
    s = xp.where(bad, 0, b)
    if left:
        out = xp.left_shift(a, s)
        return xp.where(bad, xp.zeros((), dt), out)
    out = xp.right_shift(a, s)
    fill = xp.where(a < 0, -1, 0).astype(dt) if dt.kind == "i" else xp.zeros((), dt)
    return xp.where(bad, fill, out)


def bitwise_left_shift(input, other):  # noqa: A002
    """``input << other`` for integer tensors."""
    return _int_binary("lshift", lambda a, b: _shift(a, b, True), input, other, tensors=False)


def bitwise_right_shift(input, other):  # noqa: A002
    """``input >> other`` (arithmetic for signed integers)."""
    return _int_binary("rshift", lambda a, b: _shift(a, b, False), input, other, tensors=False)


def ldexp(input, other):  # noqa: A002
    """input * 2**other."""
    tensor_other_guard("ldexp")(input, other)
    out = mul(_float_input(input) if isinstance(input, _T) else input, pow(2.0, other))
    return out


def float_power(input, exponent):  # noqa: A002
    """``input ** exponent`` computed in float64 (complex128 when either is complex)."""
    cplx = any((isinstance(v, _T) and v._data.dtype.kind == "c") or isinstance(v, complex) for v in (input, exponent))
    dt = dtypes.complex128 if cplx else dtypes.float64
    conv = [v.to(dt) if isinstance(v, _T) else (complex(v) if cplx else float(v)) for v in (input, exponent)]
    return pow(*conv)


def float_power_(input, exponent):  # noqa: A002
    """In place: the base must already be float64 (or complex128), as PyTorch requires."""
    from .inplace import apply_inplace
    cplx = input._data.dtype.kind == "c" or (isinstance(exponent, _T) and exponent._data.dtype.kind == "c")
    want = dtypes.complex128 if cplx else dtypes.float64
    if input.dtype != want:
        raise RuntimeError(f"the base given to float_power_ has dtype {dtypes.scalar_name(input.dtype)} but the "
                           f"operation's result requires dtype {dtypes.scalar_name(want)}")
    return apply_inplace(input, float_power, exponent)


def nextafter(input, other):  # noqa: A002
    """The next floating point value after input towards other."""
    tensor_other_guard("nextafter")(input, other)
    a, b = _prep(input, other)
    for t in (a, b):
        _refuse("nextafter_cpu", t, "biuc")
    try:
        out = Tensor._wrap(_as_array(xp.nextafter(_val_any(a), _val_any(b))))
    except ValueError:
        raise _broadcast_error("nextafter", a, b) from None
    from ..autograd import state
    if state.grad_enabled and any(isinstance(x, _T) and x._requires_grad for x in (a, b)):
        return NextafterBackward0.apply(out, a, b)
    return out


class NextafterBackward0(Op):
    """PyTorch's derivative of nextafter: the gradient passes to input; other gets 0."""

    def forward(ctx, value, a, b):
        if ctx is not None:
            ctx.shape_b = xp.shape(b)
        return value

    def backward(self, g):
        return None, g, D.zeros(self.shape_b, _val_any(g).dtype, g) if self.edges[2][0] is not None else None


def heaviside(input, values):  # noqa: A002
    """0 where input < 0, values where input == 0, 1 where input > 0 (dtypes must match)."""
    tensor_other_guard("heaviside")(input, values)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                           f"({input.dtype.name} and {values.dtype.name})")
    _refuse("heaviside_cpu", input, "c")
    _check_broadcast("heaviside", input, values)
    iv, vv = xp.broadcast_arrays(input._data, values._data)
    # PyTorch: values where input == 0, else (input > 0): NaN inputs give 0
    out = Tensor._wrap(xp.where(iv == 0, vv, (iv > 0).astype(iv.dtype)).astype(iv.dtype))
    return _no_grad_result(out, input, values, "heaviside")


class NotDifferentiable(Op):
    """Carries a result whose derivative PyTorch does not implement; backward raises as PyTorch does."""

    def forward(ctx, value, *inputs, name):
        if ctx is not None:
            ctx.op_name = name
        return value

    def backward(self, g):
        raise NotImplementedError(f"the derivative for '{self.op_name}' is not implemented.")


def _no_grad_result(out, *inputs, name=None):
    from ..autograd import state
    if isinstance(inputs[-1], str):
        name, inputs = inputs[-1], inputs[:-1]
    if state.grad_enabled and any(isinstance(x, _T) and x._requires_grad for x in inputs) and \
            out._data.dtype.kind in "fc":
        return NotDifferentiable.apply(out, *[x for x in inputs if isinstance(x, _T)], name=name)
    return out


def _i1(x):
    """The modified Bessel function I1 (float64): power series below 20, asymptotic series above."""
    x = xp.asarray(x, xp.float64)
    ax = xp.abs(x)
    out = xp.empty_like(x)
    small = ax <= 20
    xs = x[small]
    term = xs / 2
    total = term.copy()
    q = xs * xs / 4
    for k in range(1, 80):
        term = term * q / (k * (k + 1))
        total = total + term
    out[small] = total
    xb = ax[~small]
    with xp.errstate(over="ignore", invalid="ignore"):
        s = xp.ones_like(xb)
        t = xp.ones_like(xb)
        for k in range(1, 12):
            t = t * -(4 - (2 * k - 1) ** 2) / (k * 8 * xb)
            s = s + t
        big = xp.exp(xb) / xp.sqrt(2 * math.pi * xb) * s
    out[~small] = xp.sign(x[~small]) * big
    return out


def _i0_array(a):
    x = xp.asarray(a, xp.float64)
    with xp.errstate(over="ignore"):
        out = xp.i0(x) if x.size else x.copy()
    return out


class I0Backward0(Op):
    save = (0,)

    def forward(ctx, a):
        out = _as_array(_i0_array(a))
        if a.dtype != xp.float64:  # PyTorch's single-precision kernel overflows with its exp(|x|) factor
            out = xp.where((xp.abs(a) > 88.72283935546875) & xp.isfinite(a), xp.inf, out)
        return out.astype(a.dtype)

    def backward(self, g, x):
        if D.is_array(x):
            return (g * _i1(x).astype(x.dtype),)
        return (g * I1Backward0.apply(x),)


class I1Backward0(Op):
    """I1, the derivative of I0 (differentiable again: I1' = I0 - I1 / x, 1/2 at 0)."""

    save = (0,)
    save_output = True

    def forward(ctx, a):
        return _i1(a).astype(a.dtype)

    def backward(self, g, x, out):
        xv = _val_any(x)
        safe = D.where(xv == 0, 1.0, x) if not D.is_array(x) else xp.where(xv == 0, 1.0, xv)
        d = (i0(x) if not D.is_array(x) else _i0_array(x).astype(xv.dtype)) - out / safe
        return (g * D.where(xv == 0, 0.5, d),)


def i0(input):  # noqa: A002
    """The modified Bessel function of the first kind, order 0."""
    _refuse("i0_vml_cpu", input, "c")
    return I0Backward0.apply(_float_input(input))


def _no_complex(name, input):
    if input._data.dtype.kind == "c":
        raise RuntimeError(f"{name} is not supported for complex tensors.")


def deg2rad(input):  # noqa: A002
    _no_complex("deg2rad", input)
    return _float_input(input) * (math.pi / 180)


def rad2deg(input):  # noqa: A002
    _no_complex("rad2deg", input)
    return _float_input(input) * (180 / math.pi)


# -- complex numbers ---------------------------------------------------------------------------------------

class RealBackward0(Op):
    def forward(ctx, a):
        if ctx is not None:
            ctx.dt = a.dtype
        return xp.ascontiguousarray(a.real)

    def backward(self, g):
        return (D.astype(g, self.dt),)


class ImagBackward0(Op):
    def forward(ctx, a):
        if ctx is not None:
            ctx.dt = a.dtype
        return xp.ascontiguousarray(a.imag)

    def backward(self, g):
        return (D.astype(g, self.dt) * 1j,)


class ConjBackward0(Op):
    def forward(ctx, a):
        return xp.conj(a)

    def backward(self, g):
        return (D.conj(g),)


def real(input):  # noqa: A002
    """The real part (the tensor itself for real dtypes)."""
    if input._data.dtype.kind != "c":
        return input
    return RealBackward0.apply(input)


def imag(input):  # noqa: A002
    """The imaginary part of a complex tensor."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return ImagBackward0.apply(input)


def conj(input):  # noqa: A002
    """The complex conjugate (the tensor itself for real dtypes)."""
    return ConjBackward0.apply(input) if input._data.dtype.kind == "c" else input


def conj_physical(input):  # noqa: A002
    return conj(input)


def resolve_conj(input):  # noqa: A002
    """dynagrad's conjugates are materialised, so this is the tensor itself."""
    return input


def resolve_neg(input):  # noqa: A002
    return input


def is_conj(input) -> bool:  # noqa: A002
    return False


def is_neg(input) -> bool:  # noqa: A002
    return False


def is_signed(input) -> bool:  # noqa: A002
    return input.dtype.is_signed


class AngleBackward0(Op):
    save = (0,)

    def forward(ctx, a):
        if a.dtype.kind == "c":
            return _as_array(xp.angle(a)).astype(a.real.dtype)
        out = xp.where(a < 0, xp.asarray(math.pi, a.dtype), xp.zeros((), a.dtype))
        return _as_array(xp.where(xp.isnan(a), a, out))

    def backward(self, g, x):
        xv = _val_any(x)
        if xv.dtype.kind != "c":
            return (g * 0,)
        # PyTorch's angle_backward: g * z / |z|^2 * i, 0 where z == 0
        mag2 = xv.real ** 2 + xv.imag ** 2
        k = xp.where(mag2 == 0, 0, xv / xp.where(mag2 == 0, 1, mag2) * 1j).astype(xv.dtype)
        return (g * D.const(k, g),)


def angle(input):  # noqa: A002
    """The argument of each element (pi for negative reals, 0 otherwise)."""
    if input._data.dtype.kind in "biu":
        input = _float_input(input)
    return AngleBackward0.apply(input)


def isreal(input):  # noqa: A002
    """True where the imaginary part is 0 (everywhere for real dtypes)."""
    d = input._data
    return Tensor._wrap(_as_array(d.imag == 0) if d.dtype.kind == "c" else xp.ones(d.shape, bool))


class ViewAsRealBackward0(Op):
    def forward(ctx, a):
        return xp.stack([a.real, a.imag], axis=-1)

    def backward(self, g):
        return (D.view_as_complex(g),)


class ViewAsComplexBackward0(Op):
    def forward(ctx, a):
        return _as_array(a[..., 0] + 1j * a[..., 1]).astype(xp.complex64 if a.dtype == xp.float32 else xp.complex128)

    def backward(self, g):
        return (D.view_as_real(g),)


def view_as_real(input):  # noqa: A002
    """A complex tensor as real pairs in a last dimension of size 2."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsRealBackward0.apply(input)


def view_as_complex(input):  # noqa: A002
    """Pairs in the last dimension (of size 2) as one complex tensor."""
    if input._data.dtype not in (xp.float32, xp.float64):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {dtypes.scalar_name(input.dtype)}")
    if input._data.ndim == 0 or input._data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    return ViewAsComplexBackward0.apply(input)


def frexp(input):  # noqa: A002
    """Mantissa in (-1, 1) and integer exponent with input = mantissa * 2**exponent."""
    from .reduce import return_types
    if input._data.dtype.kind not in "fV":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = xp.frexp(input._data)
    return return_types.frexp(Tensor._wrap(_as_array(m).astype(input._data.dtype)),
                              Tensor._wrap(_as_array(e).astype(xp.int32)))


def igamma(input, other):  # noqa: A002
    from .. import special
    return special.gammainc(input, other)


def igammac(input, other):  # noqa: A002
    from .. import special
    return special.gammaincc(input, other)

