"""Elementwise primitives: arithmetic, comparisons, and unary math, each forward beside its backward.

Binary ops take Tensors or Python numbers; ``_prep`` applies PyTorch's type promotion first, so the
NumPy call sees operands of the result dtype (Python numbers stay Python numbers: NumPy treats them as
weakly typed, as PyTorch does). Broadcasting is undone by the engine, not here.
"""
from __future__ import annotations

import math
import numbers

from .. import _source, dtypes
from ..autograd import state as _state
from ..autograd.function import Op, _record
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D

_nd = xp.ndarray
_T = Tensor


# -- type promotion ----------------------------------------------------------------------------------

def _to_operand(x):
    """Tensors pass; Python numbers pass; NumPy scalars become Python numbers; the rest become tensors."""
    if isinstance(x, (bool, int, float, complex)):
        return x
    if isinstance(x, xp.generic):
        return x.item()
    if isinstance(x, numbers.Number):
        return complex(x) if isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real) else float(x)
    from ..creation import as_tensor
    return as_tensor(x)


def _cast_arr(t, np_dtype):
    if t._data.dtype == np_dtype:
        return t
    if t._requires_grad:
        return ToCopyBackward0.apply(t, dtype=np_dtype)
    return Tensor._wrap(t._data.astype(np_dtype))


def _prep(a, b):
    """Apply PyTorch's promotion to a binary op's operands (at least one is a Tensor)."""
    if isinstance(a, _T):
        if isinstance(b, _T):
            da = a._data.dtype
            if da == b._data.dtype:
                return a, b
            rt = dtypes.result_type(a, b).numpy
            return _cast_arr(a, rt), _cast_arr(b, rt)
        b = _to_operand(b)
        if isinstance(b, _T):
            return _prep(a, b)
        a = _prep_scalar(a, b)
        return a, (b if a._data.dtype.kind != "V" else xp.asarray(b, a._data.dtype))
    a = _to_operand(a)
    if isinstance(a, _T):
        return _prep(a, b)
    b = _prep_scalar(b, a)
    return (a if b._data.dtype.kind != "V" else xp.asarray(a, b._data.dtype)), b


def _prep_scalar(t, s):
    kind = t._data.dtype.kind
    if kind == "f" or kind == "V":  # (a bfloat16 tensor keeps its dtype: the number becomes a bfloat16)
        if isinstance(s, complex):
            return _cast_arr(t, dtypes.to_complex(t.dtype).numpy)
        return t
    if kind == "c":
        return t
    if isinstance(s, float):
        return _cast_arr(t, dtypes.get_default_dtype().numpy)
    if isinstance(s, complex):
        return _cast_arr(t, dtypes.default_for_category(dtypes.COMPLEX).numpy)
    if kind == "b" and not isinstance(s, bool):
        return _cast_arr(t, xp.int64)
    return t


def _shape_of(x):
    return x._data.shape if isinstance(x, _T) else ()


def _broadcast_error(op, a, b):
    sa, sb = _shape_of(a), _shape_of(b)
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                                f"non-singleton dimension {i} (in {op} of shapes {list(sa)} and {list(sb)}, "
                                f"at {_source.here()})")
    return RuntimeError(f"{op}: shapes {list(sa)} and {list(sb)} are not broadcastable (at {_source.here()})")


def _binary(cls, name, guard=None):
    """The function for a binary op; ``guard(a, b)`` raises for operands PyTorch refuses (off the fast path
    of two float tensors, and when NumPy itself refuses them)."""
    fwd = cls.forward
    new = cls.__new__
    wrap = Tensor._wrap

    def op(a, b):
        # fast path: two tensors of one dtype, or a float tensor and a Python number (the common cases)
        if isinstance(a, _T):
            ad = a._data
            if isinstance(b, _T):
                bd = b._data
                fast = ad.dtype == bd.dtype
                rg = a._requires_grad or b._requires_grad
            else:
                bd = b
                fast = (type(b) is float or type(b) is int) and ad.dtype.kind == "f"
                rg = a._requires_grad
            if fast and _state.transform_hook is None:  # forward AD / vmap go through cls.apply
                try:
                    if rg and _state.grad_enabled:
                        ctx = new(cls)
                        return _record(ctx, (a, b), fwd(ctx, ad, bd))
                    out = fwd(None, ad, bd)
                except ValueError as e:
                    if "broadcast" in str(e):
                        raise _broadcast_error(name, a, b) from None
                    raise
                except TypeError:
                    if guard is not None:
                        guard(a, b)
                    raise
                return wrap(out if type(out) is _nd else xp.asarray(out))
        if guard is not None:
            guard(a, b)
        a, b = _prep(a, b)
        try:
            return cls.apply(a, b)
        except ValueError as e:
            if "broadcast" in str(e):
                raise _broadcast_error(name, a, b) from None
            raise
        except OverflowError:
            return cls.apply(*_wrap_ints(a, b))
    op.__name__ = name
    return op


def _wrap_ints(a, b):
    """A Python int outside an integer tensor's range wraps around (PyTorch computes in the tensor's dtype;
    NumPy raises OverflowError)."""
    if isinstance(a, int) and isinstance(b, _T):
        a = xp.array(a).astype(b._data.dtype)
    elif isinstance(b, int) and isinstance(a, _T):
        b = xp.array(b).astype(a._data.dtype)
    return a, b


# -- arithmetic ---------------------------------------------------------------------------------------

class AddBackward0(Op):
    def forward(ctx, a, b):
        return a + b

    def backward(self, g):
        return g, g


class SubBackward0(Op):
    def forward(ctx, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class MulBackward0(Op):
    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, a, b):
        return a * b

    def backward(self, g, a, b):
        e = self.edges
        if D.is_complex(g):  # PyTorch's convention for complex gradients: conjugate the other factor
            a, b = D.conj(a), D.conj(b)
        return (g * b if e[0][0] is not None else None), (g * a if e[1][0] is not None else None)


class DivBackward0(Op):
    save = (0, 1)
    save_needed_by = ((1,), (0, 1))

    def forward(ctx, a, b):
        return a / b

    def backward(self, g, a, b):
        if D.is_complex(g):
            a, b = D.conj(a), D.conj(b)
        ga = g / b
        return ga, (-ga * a / b if self.edges[1][0] is not None else None)


def _pow_array(a, b):
    """``a ** b`` on arrays, with PyTorch's CPU kernel's exact forms for the common number exponents of
    float32/float64 tensors (x*x*x for 3, 1/(x*x) for -2, 1/sqrt(x) for -0.5): the same bits, and 30x
    faster than NumPy's general power for 3 (minGPT's tanh GELU cubes its input)."""
    if type(b) is float or type(b) is int:
        if type(a) is _nd and a.dtype.kind == "f" and a.dtype.itemsize >= 4:
            if b == 3:
                return a * a * a
            if b == -2:
                return 1 / (a * a)
            if b == -0.5:
                return 1 / xp.sqrt(a)
    return a ** b


class PowBackward0(Op):
    """x ** y for Tensors and numbers on either side."""

    save = (0, 1)
    save_output = True

    def forward(ctx, a, b):
        return _pow_array(a, b)

    def backward(self, g, a, b, out):
        ga = gb = None
        cplx = D.is_complex(g)  # complex gradients take the conjugate of the local derivative (PyTorch)
        if self.edges[0][0] is not None:
            if isinstance(b, (int, float)):  # PyTorch's order: grad * (b * a ** (b - 1))
                if b == 0:
                    ga = g * 0
                else:
                    d = b * (_pow_array(a, b - 1) if type(a) is _nd else a ** (b - 1))
                    ga = g * (D.conj(d) if cplx else d)
            else:  # 0 where the exponent is 0 (0 ** 0 has derivative 0 in PyTorch, not 0 * inf)
                d = b * a ** (b - 1)
                ga = D.mask(g * (D.conj(d) if cplx else d), _val(b) != 0)
        if self.edges[1][0] is not None:
            # d/db a**b = a**b * log(a); 0 where a == 0 (PyTorch's convention)
            if isinstance(a, (int, float)):
                o = D.conj(out) if cplx else out
                gb = g * o * math.log(a) if a > 0 else (g * 0 if a == 0 else g * o * math.nan)
            else:
                av = _val(a)
                bv = _val(b)
                # PyTorch masks 0 ** b for real b >= 0 only (0 ** -1 keeps its -inf)
                nonneg = (xp.real(bv) >= 0) & (xp.imag(bv) == 0) if xp.iscomplexobj(bv) else bv >= 0
                zero = (av == 0) & nonneg
                d = out * D.log(D.where(zero, 1.0, a))
                gb = D.mask(g * (D.conj(d) if cplx else d), ~zero)
        return ga, gb


class NegBackward0(Op):
    def forward(ctx, a):
        return -a

    def backward(self, g):
        return (-g,)


class MaximumBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return xp.maximum(a, b)

    def backward(self, g, a, b):
        av = a if D.is_array(a) else a._data
        bv = b if D.is_array(b) else b._data
        # PyTorch: where(a == b, g / 2, g), zeroed where the other side is larger (NaN sides keep g)
        eq = av == bv
        h = D.mask(g, ~eq) + D.mask(g, eq) * 0.5
        return D.mask(h, ~(av < bv)), D.mask(h, ~(av > bv))


class MinimumBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return xp.minimum(a, b)

    def backward(self, g, a, b):
        av = a if D.is_array(a) else a._data
        bv = b if D.is_array(b) else b._data
        eq = av == bv
        h = D.mask(g, ~eq) + D.mask(g, eq) * 0.5
        return D.mask(h, ~(av > bv)), D.mask(h, ~(av < bv))


class Atan2Backward0(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return xp.arctan2(a, b)

    def backward(self, g, a, b):
        recip = 1 / (a * a + b * b)  # PyTorch's formula (and so its inf/NaN at the edges)
        return g * b * recip, g * -a * recip


class ToCopyBackward0(Op):
    """A dtype conversion; the gradient converts back. Integer and bool results leave the graph."""

    @classmethod
    def apply(cls, t, dtype):
        if xp.dtype(dtype).kind not in "fcV":
            return Tensor._wrap(t._data.astype(dtype))
        return super().apply(t, dtype=dtype)

    def forward(ctx, a, dtype):
        if ctx is not None:
            ctx.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (D.astype(g, self.src),)


def _is_bool(v) -> bool:
    # a Python bool counts (PyTorch wraps it as a bool tensor); a NumPy bool scalar does not (it becomes a
    # number there)
    return v._data.dtype == xp.bool_ if isinstance(v, _T) else isinstance(v, bool)


def bool_sub_guard(a, b) -> None:
    """PyTorch refuses subtraction with bool operands (a mask is inverted with ``~``)."""
    ab, bb = _is_bool(a), _is_bool(b)
    if ab and bb:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                           "or `logical_xor()` operator instead.")
    if ab or bb:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def tensor_other_guard(name):
    """Ops whose ``other`` must be a Tensor in PyTorch (``torch.maximum(x, 2)`` is a TypeError there)."""
    def guard(a, b):
        for pos, (arg, v) in enumerate((("input", a), ("other", b)), 1):
            if not isinstance(v, _T):
                raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(v).__name__}")
    return guard


add_ = _binary(AddBackward0, "add")
sub_ = _binary(SubBackward0, "sub", bool_sub_guard)
mul = _binary(MulBackward0, "mul")
maximum = _binary(MaximumBackward0, "maximum", tensor_other_guard("maximum"))
minimum = _binary(MinimumBackward0, "minimum", tensor_other_guard("minimum"))
_atan2 = _binary(Atan2Backward0, "atan2", tensor_other_guard("atan2"))


def atan2(input, other):  # noqa: A002
    """The angle of (other, input), elementwise; integer inputs compute in the default float dtype."""
    tensor_other_guard("atan2")(input, other)
    for t in (input, other):
        _refuse("atan2_cpu", t, "c")
    if input._data.dtype.kind in "biu" and other._data.dtype.kind in "biu":
        input, other = _float_input(input), _float_input(other)
    return _atan2(input, other)


arctan2 = atan2


def add(a, b, *, alpha=1, out=None):
    """``a + alpha * b`` with broadcasting and type promotion."""
    if alpha != 1:
        b = mul(b, alpha)
    return _out(add_(a, b), out)


def sub(a, b, *, alpha=1, out=None):
    """``a - alpha * b``."""
    if alpha != 1:
        bool_sub_guard(a, b)  # before alpha turns a bool operand into a number
        b = mul(b, alpha)
    return _out(sub_(a, b), out)


def rsub(a, b, alpha=1):
    return sub(b, a, alpha=alpha)


def _out(result, out):
    if out is None:
        return result
    out.copy_(result) if out.shape == result.shape else out.set_(result)
    return out


def div(a, b, *, rounding_mode=None, out=None):
    """True division (``rounding_mode=None``), or 'floor' / 'trunc' division."""
    a, b = _prep(a, b)
    if rounding_mode is not None:
        return _out(_rounded_div(a, b, rounding_mode), out)
    for x in (a, b):
        if isinstance(x, _T) and x._data.dtype.kind in "biu":
            fd = dtypes.get_default_dtype().numpy
            a = _cast_arr(a, fd) if isinstance(a, _T) else a
            b = _cast_arr(b, fd) if isinstance(b, _T) else b
            break
    try:
        return _out(DivBackward0.apply(a, b), out)
    except ValueError as e:
        raise _broadcast_error("div", a, b) from e


true_divide = divide = div


def _check_broadcast(name, a, b):
    try:
        xp.broadcast_shapes(_shape_of(a), _shape_of(b))
    except ValueError:
        raise _broadcast_error(name, a, b) from None


def _int_zero_division(b, name="div"):
    """Integer division or modulus by zero: PyTorch raises RuntimeError('ZeroDivisionError')."""
    bv = b._data if isinstance(b, _T) else b
    if xp.result_type(bv).kind in "biu" and not xp.all(bv):
        raise RuntimeError(f"ZeroDivisionError (integer {name} by zero, at {_source.here()})")


def _rounded_div(a, b, mode):
    if all(x._data.dtype == xp.bool_ if isinstance(x, _T) else isinstance(x, bool) for x in (a, b)):
        raise NotImplementedError(f"\"div_{mode}_cpu\" not implemented for 'Bool'")
    a, b = _wrap_ints(a, b)
    av = a._data if isinstance(a, _T) else a
    bv = b._data if isinstance(b, _T) else b
    if xp.result_type(av, bv).kind in "iu":
        _int_zero_division(b)
    try:
        xp.broadcast_shapes(xp.shape(av), xp.shape(bv))
    except ValueError:
        raise _broadcast_error("div", a, b) from None
    av = a._data if isinstance(a, _T) else a
    bv = b._data if isinstance(b, _T) else b
    if mode == "floor":
        r = xp.floor_divide(av, bv)
    elif mode == "trunc":
        q = xp.true_divide(av, bv)
        r = xp.trunc(q).astype(xp.result_type(av, bv)) if xp.result_type(av, bv).kind in "iu" else xp.trunc(q)
        if xp.result_type(av, bv).kind in "iu":
            r = r.astype(xp.result_type(av, bv))
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")
    t = Tensor._wrap(xp.asarray(r))
    # gradient of a rounded quotient is zero almost everywhere; keep the graph connected like PyTorch
    return _zero_grad_like(t, a, b)


def _zero_grad_like(result, *inputs):
    from ..autograd import state
    if state.grad_enabled and any(isinstance(x, _T) and x._requires_grad for x in inputs) and \
            result._data.dtype.kind in "fc":
        return ZeroGradBackward.apply(result, *[x for x in inputs if isinstance(x, _T)])
    return result


class ZeroGradBackward(Op):
    """Carries a value whose gradient is zero w.r.t. the inputs (floor, round, sign, ...)."""

    def forward(ctx, value, *inputs):
        if ctx is not None:
            ctx.shapes = [xp.shape(x) for x in inputs]
        return value

    def backward(self, g):
        return (None,) + tuple(D.zeros(s, g.dtype, g) if t is not None else None
                               for (t, _), s in zip(self.edges[1:], self.shapes))


def floor_divide(a, b):
    return div(a, b, rounding_mode="floor")


def _mod_checks(name, a, b):
    if all(_is_bool(x) for x in (a, b)):
        raise dtypes.not_implemented(f"{name}_cpu", dtypes.bool)
    av, bv = _val_any(a), _val_any(b)
    if xp.result_type(av, bv).kind in "iu":
        _int_zero_division(b, name)


def _binary_apply(cls, name, a, b):
    try:
        return cls.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(name, a, b) from None
        raise


def remainder(a, b):
    """Python-style modulus (sign of the divisor), gradient 1 w.r.t. ``a``."""
    a, b = _prep(a, b)
    _mod_checks("remainder", a, b)
    return _binary_apply(RemainderBackward0, "remainder", a, b)


class RemainderBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return xp.remainder(a, b)

    def backward(self, g, a, b):
        if self.edges[1][0] is None:
            return g, None
        return g, -g * D.const(xp.floor_divide(_val_any(a), _val_any(b)), g)


def fmod(a, b):
    a, b = _prep(a, b)
    _mod_checks("fmod", a, b)
    return _binary_apply(FmodBackward0, "fmod", a, b)


class FmodBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b):
        return xp.fmod(a, b)

    def backward(self, g, a, b):
        if self.edges[1][0] is None:
            return g, None
        return g, -g * D.const(xp.trunc(_val_any(a) / _val_any(b)), g)


def _int_pow(a, b):
    """Integer powers as PyTorch computes them: negative exponents give 1 for a base of 1, +-1 for -1, else 0."""
    dt = dtypes.result_type(a, b).numpy
    # a Python int outside the tensor's range wraps around, as PyTorch computes in the tensor's dtype
    av, bv = (x._data if isinstance(x, _T) else xp.array(x).astype(dt) for x in (a, b))
    av, bv = xp.broadcast_arrays(av.astype(dt, copy=False), bv.astype(dt, copy=False))
    neg = bv < 0
    out = xp.power(av, xp.where(neg, 0, bv))
    if neg.any():
        odd = (bv % 2) != 0
        special = xp.where(av == 1, 1, xp.where(av == -1, xp.where(odd, -1, 1), 0)).astype(dt)
        out = xp.where(neg, special, out)
    return Tensor._wrap(_as_array(out.astype(dt)))


def pow(a, b):  # noqa: A001
    """``a ** b``; either may be a Python number."""
    if isinstance(a, _T) and isinstance(b, _T) and _is_bool(a) and _is_bool(b):
        raise dtypes.not_implemented("pow", dtypes.bool)
    a, b = _prep(a, b)
    if isinstance(a, _T) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a._data.dtype.kind in "iu" and b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if b == 2:
            return SquareBackward.apply(a)
    av, bv = _val_any(a), _val_any(b)
    if dtypes.result_type(a, b).numpy.kind in "iu" and (isinstance(a, _T) or isinstance(b, _T)):
        try:
            xp.broadcast_shapes(xp.shape(av), xp.shape(bv))
        except ValueError:
            raise _broadcast_error("pow", a, b) from None
        return _int_pow(a, b)
    try:
        return PowBackward0.apply(a, b)
    except ValueError as e:
        raise _broadcast_error("pow", a, b) from e
    except OverflowError:
        return PowBackward0.apply(*_wrap_ints(a, b))


class SquareBackward(Op):
    save = (0,)

    def name(self):
        return "PowBackward0"

    def forward(ctx, a):
        return a * a

    def backward(self, g, a):  # a complex gradient takes the conjugate of the derivative (PyTorch)
        return (g * 2 * (D.conj(a) if D.is_complex(g) else a),)


def neg(a):
    if a._data.dtype == xp.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return NegBackward0.apply(a)


# -- unary math ---------------------------------------------------------------------------------------

def _float_input(x):
    """Unary float functions of integer tensors compute in the default float dtype, as PyTorch does."""
    if not isinstance(x, _T):
        from ..creation import as_tensor
        x = as_tensor(x)
    if x._data.dtype.kind in "biu":
        return Tensor._wrap(x._data.astype(dtypes.get_default_dtype().numpy))
    return x


def _same_float(forward):
    """A forward whose float result keeps the input's float dtype (NumPy/SciPy may widen float16)."""
    def fwd(ctx, a):
        out = forward(a)
        if out.dtype != a.dtype and a.dtype.kind == "f":
            return _as_array(out).astype(a.dtype)
        return out
    return fwd


def _refuse(name, x, refuse):
    """PyTorch's NotImplementedError for the dtype kinds (``refuse``: 'b', 'iu', 'c') an op has no kernel for."""
    if isinstance(x, _T) and x._data.dtype.kind in refuse:
        raise dtypes.not_implemented(name, x.dtype)


# Unary ops whose backward is ``g * f'(x)`` with f holomorphic: for a complex gradient PyTorch's convention
# (dL/dRe + i dL/dIm) needs ``g * conj(f'(x))``, which is conj(backward(conj(g))) as backward is linear in g.
_HOLOMORPHIC = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "asin",
                "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "reciprocal"}


def _conjugated(backward):
    def bw(g, x, out):
        if D.is_complex(g):
            return D.conj(backward(D.conj(g), x, out))
        return backward(g, x, out)
    return bw


def _unary(name, forward, backward=None, save_in=False, save_out=False, float_only=True, zero_grad=False,
           refuse="", kernel=None):
    """Build a unary op class and its function from a forward and a backward formula.

    ``backward(g, x, out)`` receives the saved input and/or output (None when not saved). ``refuse``: the
    dtype kinds PyTorch has no kernel for (it raises NotImplementedError naming ``kernel``).
    """
    attrs = {"forward": _same_float(forward), "save": (0,) if save_in else (), "save_output": save_out}
    if name in _HOLOMORPHIC:
        backward = _conjugated(backward)
    if zero_grad:
        attrs["backward"] = lambda self, g, *s: (g * 0,)
    elif save_in and save_out:
        attrs["backward"] = lambda self, g, x, out: (backward(g, x, out),)
    elif save_in:
        attrs["backward"] = lambda self, g, x: (backward(g, x, None),)
    elif save_out:
        attrs["backward"] = lambda self, g, out: (backward(g, None, out),)
    else:
        attrs["backward"] = lambda self, g: (backward(g, None, None),)
    cls = type(name[0].upper() + name[1:] + "Backward0", (Op,), attrs)
    apply1 = cls.apply1
    kernel = kernel or name + "_cpu"
    if float_only:
        def fn(x):
            if isinstance(x, _T) and x._data.dtype.kind == "f":
                return apply1(x)
            _refuse(kernel, x, refuse)
            return apply1(_float_input(x))
    else:
        def fn(x):
            if isinstance(x, _T):
                if refuse:
                    _refuse(kernel, x, refuse)
                return apply1(x)
            return apply1(_float_input(x))
    fn.__name__ = name
    fn.__qualname__ = name
    fn.op = cls
    return fn


def _sigmoid(x):
    # PyTorch's formula; exp overflowing to inf for very negative x gives exactly 0, never NaN
    out = xp.exp(-x)
    if type(out) is not _nd:  # a NumPy scalar from a 0-d input
        return xp.asarray(1 / (1 + out))
    out += 1
    return xp.reciprocal(out, out=out)


def _erf_array(x):
    try:
        from scipy.special import erf
        return erf(x)
    except ImportError:  # pragma: no cover - scipy is optional
        return xp.vectorize(math.erf, otypes=[x.dtype])(x)


exp = _unary("exp", xp.exp, lambda g, x, out: g * out, save_out=True)
exp2 = _unary("exp2", xp.exp2, lambda g, x, out: g * out * math.log(2.0), save_out=True)
expm1 = _unary("expm1", xp.expm1, lambda g, x, out: g * (out + 1), save_out=True)
log = _unary("log", xp.log, lambda g, x, out: g / x, save_in=True)
log2 = _unary("log2", xp.log2, lambda g, x, out: g / (x * math.log(2.0)), save_in=True)
log10 = _unary("log10", xp.log10, lambda g, x, out: g / (x * math.log(10.0)), save_in=True)
log1p = _unary("log1p", xp.log1p, lambda g, x, out: g / (x + 1), save_in=True)
sqrt = _unary("sqrt", xp.sqrt, lambda g, x, out: g / (out * 2), save_out=True)
rsqrt = _unary("rsqrt", lambda a: 1 / xp.sqrt(a), lambda g, x, out: g * -0.5 * out * out * out, save_out=True)
sin = _unary("sin", xp.sin, lambda g, x, out: g * D.cos(x), save_in=True)
cos = _unary("cos", xp.cos, lambda g, x, out: -g * D.sin(x), save_in=True)
tan = _unary("tan", xp.tan, lambda g, x, out: g * (1 + out * out), save_out=True)
asin = _unary("asin", xp.arcsin, lambda g, x, out: g / D.sqrt(1 - x * x), save_in=True)
acos = _unary("acos", xp.arccos, lambda g, x, out: -g / D.sqrt(1 - x * x), save_in=True)
atan = _unary("atan", xp.arctan, lambda g, x, out: g / (1 + x * x), save_in=True)
sinh = _unary("sinh", xp.sinh, lambda g, x, out: g * ((D.exp(x) + D.exp(-x)) * 0.5), save_in=True)
cosh = _unary("cosh", xp.cosh, lambda g, x, out: g * ((D.exp(x) - D.exp(-x)) * 0.5), save_in=True)
tanh = _unary("tanh", xp.tanh, lambda g, x, out: g * (1 - out * out), save_out=True)
asinh = _unary("asinh", xp.arcsinh, lambda g, x, out: g / D.sqrt(x * x + 1), save_in=True)
# complex inputs: PyTorch's branch, sqrt(x - 1) * sqrt(x + 1)
acosh = _unary("acosh", xp.arccosh, lambda g, x, out: g / (D.sqrt(x - 1) * D.sqrt(x + 1) if D.is_complex(x)
                                                           else D.sqrt(x * x - 1)), save_in=True)
atanh = _unary("atanh", xp.arctanh, lambda g, x, out: g / (1 - x * x), save_in=True)
sigmoid = _unary("sigmoid", _sigmoid, lambda g, x, out: g * out * (1 - out), save_out=True)
erf = _unary("erf", _erf_array, lambda g, x, out: g * (2 / math.sqrt(math.pi)) * D.exp(-(x * x)), save_in=True,
             refuse="c", kernel="erf_vml_cpu")
reciprocal = _unary("reciprocal", lambda a: 1 / a, lambda g, x, out: -g * out * out, save_out=True)


def _sign(a):
    out = xp.sign(a)
    if a.dtype.kind == "f" or a.dtype.kind == "V":  # sign(NaN) is 0 in PyTorch
        out = xp.where(xp.isnan(a), xp.zeros((), a.dtype), out)
    return _as_array(out)


def _abs_grad(g, x, out):
    if D.is_array(x) and x.dtype.kind == "c":
        return g * D.const(_sgn_array(x), g)
    if not D.is_array(x) and x._data.dtype.kind == "c":
        return g * sgn(x)
    return g * D.sign(x) if not D.is_array(x) else g * _sign(x)


abs = _unary("abs", xp.abs, _abs_grad, save_in=True, float_only=False, refuse="b")  # noqa: A001
relu = _unary("relu", lambda a: xp.maximum(a, 0), lambda g, x, out: D.mask_positive(g, out),
              save_out=True, float_only=False)
_sign_op = _unary("sign", _sign, zero_grad=True, float_only=False)
floor = _unary("floor", xp.floor, zero_grad=True, float_only=False, refuse="bc", kernel="floor_vml_cpu")
ceil = _unary("ceil", xp.ceil, zero_grad=True, float_only=False, refuse="bc", kernel="ceil_vml_cpu")
trunc = _unary("trunc", xp.trunc, zero_grad=True, float_only=False, refuse="bc", kernel="trunc_vml_cpu")
frac = _unary("frac", lambda a: a - xp.trunc(a), lambda g, x, out: g, refuse="biuc", kernel="frac_cpu")


def sign(input):  # noqa: A002
    """-1, 0 or 1 by the sign of each element (0 for NaN, as PyTorch); bools stay bools."""
    if isinstance(input, _T) and input._data.dtype.kind == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                                  "torch.sgn instead.")
    return _sign_op(input)


sign.op = _sign_op.op


def _sgn_array(a):
    mag = xp.abs(a)
    with xp.errstate(invalid="ignore", divide="ignore"):
        return _as_array(xp.where(mag == 0, xp.zeros((), a.dtype), a / xp.where(mag == 0, 1, mag)))


class SgnBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a):
        return _sgn_array(a)

    def backward(self, g, x, out):
        # d sgn(z) = (g - Re(conj(g) sgn z) sgn z) / |z| (0 where z = 0), PyTorch's formula
        xv = _val(x)
        mag = xp.abs(xv)
        inv = D.const(xp.where(mag == 0, 0.0, 1.0 / xp.where(mag == 0, 1.0, mag)).astype(xv.dtype), g)
        o = out if D.is_array(out) else out
        return ((g - (g * D.const(xp.conj(_val(o)), g)).real * o) * inv,)


def sgn(input):  # noqa: A002
    """The sign of real inputs; ``z / |z|`` (0 at 0) of complex ones."""
    if isinstance(input, _T) and input._data.dtype.kind == "c":
        return SgnBackward0.apply(input)
    return _sign_op(input)


def _val(x):
    return x._data if isinstance(x, _T) else x


for _f in (_sign_op, floor, ceil, trunc):  # identities on integers (sign too on bools)
    _f.op.forward = (lambda f, kinds: (lambda ctx, a: f(ctx, a) if a.dtype.kind in kinds else a.copy()))(
        _f.op.forward, "fciuV" if _f is _sign_op else "fcV")
    _f.op.__name__ = _f.__name__.capitalize() + "Backward0"
abs.op.__name__ = "AbsBackward0"


_relu = relu


def relu(input):  # noqa: A002
    """max(x, 0) elementwise."""
    if isinstance(input, _T) and input._data.dtype.kind in "bc":
        if input._data.dtype.kind == "c":
            raise NotImplementedError("clamp is not supported for complex types")
        raise RuntimeError("Boolean inputs not supported for relu")
    return _relu(input)


relu.op = _relu.op


def square(x):
    return pow(x, 2)


def round(x, decimals: int = 0):  # noqa: A001
    """Round half to even, as PyTorch does."""
    _refuse("round_vml_cpu" if not decimals else "round_cpu", x, "bc")
    return RoundBackward0.apply(x, decimals=decimals)


class RoundBackward0(Op):
    def forward(ctx, a, decimals=0):
        if a.dtype.kind == "V" or a.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: round in float32
            return xp.round(a.astype(xp.float32), decimals).astype(a.dtype)
        return xp.round(a, decimals) if a.dtype.kind in "fc" else a.copy()

    def backward(self, g):
        return (g * 0,)


class ClampBackward1(Op):
    save = (0,)

    def forward(ctx, a, lo, hi):
        if ctx is not None:
            ctx.lo, ctx.hi = lo, hi
        if lo is not None and hi is not None:
            return xp.minimum(xp.maximum(a, lo), hi)
        if lo is not None:
            return xp.maximum(a, lo)
        return xp.minimum(a, hi)

    def backward(self, g, a):
        av = _val(a)
        keep = xp.ones(av.shape, bool)
        if self.lo is not None:
            keep &= av >= self.lo
        if self.hi is not None:
            keep &= av <= self.hi
        return (D.mask(g, keep),)


class ClampTensorBackward(Op):
    save = (0, 1, 2)

    def forward(ctx, a, lo, hi):
        out = a
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        return out

    def backward(self, g, a, lo, hi):
        av = _val(a)
        keep = xp.ones(av.shape, bool)
        glo = ghi = None
        if lo is not None:
            lv = _val(lo)
            keep = keep & (av >= lv)
            glo = D.mask(g, av < lv)
        if hi is not None:
            hv = _val(hi)
            keep = keep & (av <= hv)
            # the max bound is applied last: it wins wherever the result is it (x > max, or min > max)
            hi_wins = (av > hv) | (_val(lo) > hv) if lo is not None else av > hv
            ghi = D.mask(g, hi_wins)
            if glo is not None:
                glo = D.mask(glo, ~hi_wins)
        return D.mask(g, keep), glo, ghi


def clamp(x, min=None, max=None):  # noqa: A002
    """Limit values to [min, max]; the gradient passes where the value was inside."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if x._data.dtype == xp.bool_ and all(v is None or isinstance(v, bool) or (isinstance(v, _T) and _is_bool(v))
                                         for v in (min, max)):
        raise dtypes.not_implemented("clamp_scalar_cpu" if not isinstance(min, _T) and not isinstance(max, _T)
                                     else "clamp_cpu", dtypes.bool)
    if x._data.dtype == xp.bool_ and not isinstance(min, _T) and not isinstance(max, _T):
        x = _cast_arr(x, dtypes.result_type(x, *[v for v in (min, max) if v is not None]).numpy)
    if isinstance(min, _T) or isinstance(max, _T):
        from ..creation import as_tensor
        lo = _cast_arr(as_tensor(min), x._data.dtype) if min is not None else None
        hi = _cast_arr(as_tensor(max), x._data.dtype) if max is not None else None
        return ClampTensorBackward.apply(x, lo, hi)
    kind = x._data.dtype.kind
    if kind in "iub" and (isinstance(min, float) or isinstance(max, float)):
        x = _cast_arr(x, dtypes.get_default_dtype().numpy)
    elif kind == "V":  # bfloat16 bounds, or NumPy would compute in float32
        min, max = (None if v is None else xp.asarray(v, x._data.dtype) for v in (min, max))
    return ClampBackward1.apply(x, min, max)


clip = clamp


def clamp_min(x, min):  # noqa: A002
    return clamp(x, min=min)


def clamp_max(x, max):  # noqa: A002
    return clamp(x, max=max)


def lerp(input, end, weight):  # noqa: A002
    """start + weight * (end - start); float tensors of one dtype, as PyTorch requires."""
    if input._data.dtype.kind not in "fcV":
        raise dtypes.not_implemented("lerp_kernel_scalar" if not isinstance(weight, _T) else "lerp_kernel_tensor",
                                     input.dtype)
    for nm, v in (("end", end), ("weight", weight)):
        if isinstance(v, _T) and v._data.dtype != input._data.dtype:
            raise RuntimeError(f"expected dtype {input.dtype.name.replace('float32', 'float')} for `{nm}` but got "
                               f"dtype {v.dtype.name.replace('float64', 'double')}")
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    if all(isinstance(t, _T) and t._data.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2. Use torch.div or "
                           "torch.floor_divide instead.")
    return input + value * tensor1 / tensor2


class XlogyBackward0(Op):
    save = (0, 1)

    def forward(ctx, a, b, log1p):
        if ctx is not None:
            ctx.log1p = log1p
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = a * (xp.log1p(b) if log1p else xp.log(b))
        out = xp.where(a == 0, xp.zeros((), out.dtype), out)
        return _as_array(xp.where(xp.isnan(b), b, out).astype(out.dtype, copy=False))

    def backward(self, g, a, b):
        ga = gb = None
        av, bv = _val_any(a), _val_any(b)
        if self.edges[0][0] is not None:
            lg = D.log(b + 1) if self.log1p else D.log(b)
            lim = -1 if self.log1p else 0
            ga = D.mask(g * lg, ~((av == 0) & (bv <= lim)))
        if self.edges[1][0] is not None:
            gb = g * a / (b + 1) if self.log1p else g * a / b
        return ga, gb


def _xlogy(name, x, y, log1p):
    x, y = _prep(x, y)
    if not isinstance(x, _T):
        x = _float_input(xp.asarray(x, y._data.dtype if y._data.dtype.kind in "fV" else None))
    if not isinstance(y, _T):
        y = _float_input(xp.asarray(y, x._data.dtype if x._data.dtype.kind in "fV" else None))
    for t in (x, y):
        _refuse(f"{name}_cpu", t, "c")
    x, y = _prep(_float_input(x), _float_input(y))
    _check_broadcast(name, x, y)
    return XlogyBackward0.apply(x, y, log1p=log1p)


def xlogy(input, other):  # noqa: A002
    """input * log(other), 0 where input == 0 (NaN where other is NaN)."""
    return _xlogy("xlogy", input, other, False)


def xlog1py(input, other):  # noqa: A002
    """input * log1p(other), 0 where input == 0 (NaN where other is NaN)."""
    return _xlogy("xlog1py", input, other, True)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x._data.dtype.kind == "c" and x._requires_grad:
        raise RuntimeError("nan_to_num does not support automatic differentiation for outputs with complex dtype.")
    return NanToNumBackward0.apply(x, nan=nan, posinf=posinf, neginf=neginf)


class NanToNumBackward0(Op):
    save = (0,)

    def forward(ctx, a, nan=0.0, posinf=None, neginf=None):
        return xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g, a):
        return (D.mask(g, xp.isfinite(_val(a))),)


# -- comparisons and logic (never differentiable) -------------------------------------------------------

def _as_array(out):
    # keep ndarray subclasses (vmap's batched arrays) as they are; only NumPy scalars need wrapping
    return out if isinstance(out, _nd) else xp.asarray(out)


def _compare(npfn, name):
    def op(a, b):
        a, b = _prep(a, b)
        av = a._data if isinstance(a, _T) else a
        bv = b._data if isinstance(b, _T) else b
        try:
            return Tensor._wrap(_as_array(npfn(av, bv)))
        except ValueError as e:
            raise _broadcast_error(name, a, b) from e
    op.__name__ = name
    return op


eq = _compare(xp.equal, "eq")
ne = _compare(xp.not_equal, "ne")
lt = _compare(xp.less, "lt")
le = _compare(xp.less_equal, "le")
gt = _compare(xp.greater, "gt")
ge = _compare(xp.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(npfn, name):
    guard = tensor_other_guard(name)

    def op(a, b):
        guard(a, b)
        av = a._data if isinstance(a, _T) else a
        bv = b._data if isinstance(b, _T) else b
        try:
            return Tensor._wrap(_as_array(npfn(av, bv)))
        except ValueError:
            raise _broadcast_error(name, a, b) from None
    op.__name__ = name
    return op


logical_and = _logical(xp.logical_and, "logical_and")
logical_or = _logical(xp.logical_or, "logical_or")
logical_xor = _logical(xp.logical_xor, "logical_xor")


def logical_not(a):
    return Tensor._wrap(xp.logical_not(a._data))


def _bitwise(npfn, name):
    def op(a, b):
        a, b = _prep(a, b)
        av = a._data if isinstance(a, _T) else a
        bv = b._data if isinstance(b, _T) else b
        rt = xp.result_type(av, bv)
        _check_broadcast(name, a, b)
        if rt.kind not in "biu":
            raise dtypes.not_implemented(f"{name}_cpu", dtypes.result_type(a, b))
        try:
            return Tensor._wrap(_as_array(npfn(av, bv)))
        except ValueError:
            raise _broadcast_error(name, a, b) from None
    op.__name__ = name
    return op


bitwise_and = _bitwise(xp.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(xp.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(xp.bitwise_xor, "bitwise_xor")


def bitwise_not(input):  # noqa: A002
    if input._data.dtype.kind not in "biu":
        raise dtypes.not_implemented("bitwise_not_cpu", input.dtype)
    return Tensor._wrap(_as_array(xp.invert(input._data)))


def isnan(a):
    return Tensor._wrap(xp.isnan(a._data))


def isinf(a):
    return Tensor._wrap(xp.isinf(a._data))


def isfinite(a):
    return Tensor._wrap(xp.isfinite(a._data))


def _no_complex(name, a, exc=RuntimeError, msg="does not support complex inputs."):
    if a._data.dtype.kind == "c":
        raise exc(f"{name} {msg}")


def isposinf(input):  # noqa: A002
    _no_complex("isposinf", input)
    return Tensor._wrap(_as_array(xp.isposinf(input._data)))


def isneginf(input):  # noqa: A002
    _no_complex("isneginf", input)
    return Tensor._wrap(_as_array(xp.isneginf(input._data)))


def signbit(input):  # noqa: A002
    _no_complex("signbit", input, NotImplementedError, "is not implemented for complex tensors.")
    return Tensor._wrap(_as_array(xp.signbit(input._data)))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    tensor_other_guard("isclose")(a, b)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{dtypes.scalar_name(a.dtype)} did not match {dtypes.scalar_name(b.dtype)}")
    _check_broadcast("isclose", a, b)
    a, b = _prep(a, b)
    return Tensor._wrap(xp.asarray(xp.isclose(_val_any(a), _val_any(b), rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(a, b, rtol, atol, equal_nan)._data.all())


def equal(a, b) -> bool:
    return a.shape == b.shape and bool((a._data == b._data).all())


def _val_any(x):
    return x._data if isinstance(x, _T) else x


subtract = sub
multiply = mul
