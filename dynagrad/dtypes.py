"""dtypes and PyTorch's type-promotion rules.

A dynagrad dtype wraps a NumPy dtype. Promotion follows PyTorch, which differs from NumPy in two ways: a
higher *category* (bool < integer < floating < complex) wins outright (``int64 + float16 -> float16``), and
0-d tensors and Python numbers only take part when their category is higher than that of the dimensioned
operands (``float32[3] + float64 scalar tensor -> float32``).
"""
from __future__ import annotations

import sys as _sys

from .backend import xp

BOOL, INT, FLOAT, COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type, e.g. ``dynagrad.float32``.

    >>> import dynagrad
    >>> dynagrad.float32.is_floating_point, dynagrad.float32.itemsize
    (True, 4)
    """

    __slots__ = ("name", "numpy", "category", "itemsize", "is_floating_point", "is_complex", "is_signed")

    def __init__(self, name: str, np_dtype) -> None:
        self.name = name
        self.numpy = xp.dtype(np_dtype)
        kind = self.numpy.kind
        self.category = {"b": BOOL, "i": INT, "u": INT, "f": FLOAT, "c": COMPLEX, "V": FLOAT}[kind]
        self.itemsize = self.numpy.itemsize
        self.is_floating_point = self.category == FLOAT
        self.is_complex = self.category == COMPLEX
        self.is_signed = kind not in "bu"

    def __repr__(self) -> str:
        # printed as PyTorch prints it, so scripts that compare str(t.dtype) keep working
        return "torch." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self) -> dtype:
        return {complex64: float32, complex128: float64, complex32: float16}.get(self, self)

    def to_complex(self) -> dtype:
        return {float32: complex64, float64: complex128, float16: complex64}.get(self, self)


_TORCH_SCALAR = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                 "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
                 "complex64": "ComplexFloat", "complex128": "ComplexDouble", "uint16": "UInt16",
                 "uint32": "UInt32", "uint64": "UInt64"}


def scalar_name(d) -> str:
    """PyTorch's C++ name of a dtype ('Float', 'Long', 'Bool'), as its 'not implemented for' errors print it."""
    return _TORCH_SCALAR.get(getattr(d, "name", str(d)), str(d))


def not_implemented(op: str, d) -> NotImplementedError:
    """The error PyTorch raises for a dtype an op's kernel does not support."""
    return NotImplementedError(f'"{op}" not implemented for \'{scalar_name(d)}\'')


def _by_name(name: str) -> dtype:
    return globals()[name]


float16 = half = dtype("float16", xp.float16)
float32 = float = dtype("float32", xp.float32)
float64 = double = dtype("float64", xp.float64)
complex64 = cfloat = dtype("complex64", xp.complex64)
complex128 = cdouble = dtype("complex128", xp.complex128)
uint8 = dtype("uint8", xp.uint8)
uint16 = dtype("uint16", xp.uint16)
uint32 = dtype("uint32", xp.uint32)
uint64 = dtype("uint64", xp.uint64)
int8 = dtype("int8", xp.int8)
int16 = short = dtype("int16", xp.int16)
int32 = int = dtype("int32", xp.int32)
int64 = long = dtype("int64", xp.int64)
bool = dtype("bool", xp.bool_)  # noqa: A001 - the PyTorch name


class _MLDtype(dtype):
    """A dtype whose NumPy type comes from ml_dtypes (bfloat16, float8_e4m3fn, float8_e5m2), imported on
    first use.

    ml_dtypes 0.7 takes about half a second to import (0.6 took 10 ms), five times the rest of
    ``import dynagrad``; only programs that touch these dtypes should pay for it.
    """

    __slots__ = ("_numpy",)

    def __init__(self, name: str = "bfloat16", itemsize: int = 2) -> None:
        self.name, self.category, self.itemsize = name, FLOAT, itemsize
        self.is_floating_point, self.is_complex, self.is_signed = True, False, True
        self._numpy = None

    @property
    def numpy(self):  # noqa: F811 - shadows the slot of the base class on purpose
        got = self._numpy
        if got is None:
            try:
                import ml_dtypes
            except ImportError:  # pragma: no cover - ml_dtypes is a core dependency
                raise RuntimeError(f"{self.name} needs the ml_dtypes package (pip install ml_dtypes)") from None
            got = self._numpy = xp.dtype(getattr(ml_dtypes, self.name))
            _FROM_NUMPY[got] = self
        return got


_BFloat16 = _MLDtype
bfloat16 = _MLDtype("bfloat16", 2)
# float8: storage dtypes (checkpoints, .to(float32) and back), as PyTorch's; they promote with nothing
float8_e4m3fn = _MLDtype("float8_e4m3fn", 1)
float8_e5m2 = _MLDtype("float8_e5m2", 1)
_ML = (bfloat16, float8_e4m3fn, float8_e5m2)



class _NoTensorDtype(dtype):
    """A PyTorch dtype NumPy has no type for (``complex32``, alias ``chalf``): it exists for comparisons and
    attributes (libraries list it among the complex dtypes), but no dynagrad tensor can have it."""

    __slots__ = ()

    def __init__(self, name: str, itemsize: int, category: int) -> None:
        self.name, self.category, self.itemsize = name, category, itemsize
        self.is_floating_point, self.is_complex, self.is_signed = category == FLOAT, category == COMPLEX, True

    @property
    def numpy(self):  # noqa: F811 - shadows the slot of the base class on purpose
        raise TypeError(f"dynagrad has no {self.name} tensors (NumPy has no such type; PyTorch's own support is "
                        f"experimental): use complex64")


complex32 = chalf = _NoTensorDtype("complex32", 4, COMPLEX)

ALL = [float16, float32, float64, complex64, complex128, uint8, uint16, uint32, uint64,
       int8, int16, int32, int64, bool, bfloat16, float8_e4m3fn, float8_e5m2]
_FROM_NUMPY = {d.numpy: d for d in ALL if d not in _ML}

_default_float = float32


def from_numpy(np_dtype) -> dtype:
    """The dynagrad dtype of a NumPy dtype; TypeError for types PyTorch has no tensor for."""
    try:
        return _FROM_NUMPY[np_dtype]
    except KeyError:
        if "ml_dtypes" in _sys.modules:  # an ml_dtypes array can only exist once ml_dtypes is imported
            for d in _ML:
                d.numpy  # noqa: B018 - registers the ml_dtypes types in _FROM_NUMPY
        try:
            return _FROM_NUMPY[xp.dtype(np_dtype)]
        except (KeyError, TypeError):
            raise TypeError(
                f"can't convert np.ndarray of type {np_dtype}. The only supported types are: "
                + ", ".join(d.name for d in ALL)
            ) from None


def to_numpy(d) -> xp.dtype:
    """The NumPy dtype for a dynagrad dtype (also accepts NumPy dtypes and Python types)."""
    if isinstance(d, dtype):
        return d.numpy
    if d is None:
        return _default_float.numpy
    return as_dtype(d).numpy


def as_dtype(d) -> dtype:
    """Accept ``dynagrad.float32``, a NumPy dtype, ``float``/``int``/``bool`` or a name string."""
    if isinstance(d, dtype):
        return d
    if d is _builtin_float:
        return _default_float
    if d is _builtin_int:
        return int64
    if d is _builtin_bool:
        return bool
    if d is _builtin_complex:
        return _default_float.to_complex()
    if isinstance(d, str):
        name = d[len("torch."):] if d.startswith("torch.") else d
        name = name[len("dynagrad."):] if name.startswith("dynagrad.") else name
        got = globals().get(name)
        if isinstance(got, dtype):
            return got
    return from_numpy(d)


import builtins as _builtins  # noqa: E402

_builtin_float, _builtin_int, _builtin_bool, _builtin_complex = (
    _builtins.float, _builtins.int, _builtins.bool, _builtins.complex)


def get_default_dtype() -> dtype:
    """The dtype of floating-point tensors created from Python numbers (float32 unless changed)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default floating-point dtype (float16, float32, float64 or bfloat16), as torch does."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promotion of two dtypes: the higher category wins, else NumPy's lattice."""
    if a is b:
        return a
    if a in _FLOAT8 or b in _FLOAT8:
        raise RuntimeError(f"Promotion for Float8 Types is not supported, attempted to promote {_title(a)} "
                           f"and {_title(b)}")
    if a is complex32 or b is complex32:
        other = b if a is complex32 else a
        if other.is_complex:
            return other
        return complex32 if other.category < FLOAT or other is float16 else to_complex(promote_types(float16, other))
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.is_complex and lo.is_floating_point:  # float64 + complex64 -> complex128
            return to_complex(promote_types(lo, hi.to_real()))
        return hi
    if a is bfloat16 or b is bfloat16:
        other = b if a is bfloat16 else a
        return float32 if other is float16 else (other if other.itemsize > 2 else bfloat16)
    return _FROM_NUMPY[xp.promote_types(a.numpy, b.numpy)]


_FLOAT8 = (float8_e4m3fn, float8_e5m2)


def _title(d: dtype) -> str:
    """PyTorch's ScalarType name, as its messages print it."""
    return {"float8_e4m3fn": "Float8_e4m3fn", "float8_e5m2": "Float8_e5m2", "float32": "Float", "float64": "Double",
            "float16": "Half", "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
            "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}.get(d.name, d.name.capitalize())


def _scalar_category(v) -> int:
    if isinstance(v, _builtin_bool):
        return BOOL
    if isinstance(v, _builtin_int):
        return INT
    if isinstance(v, _builtin_complex):
        return COMPLEX
    return FLOAT


def default_for_category(cat: int) -> dtype:
    return (bool, int64, _default_float, _default_float.to_complex())[cat]


def to_complex(d: dtype) -> dtype:
    """The complex dtype with ``d``'s precision (there is no complex32 here: half maps to complex64)."""
    return d if d.is_complex else (complex128 if d is float64 else complex64)


def _combine(higher, lower):
    """c10's combine_categories: a lower tier only raises the category of a higher one."""
    if higher is None:
        return lower
    if lower is None or higher.is_complex:
        return higher
    if lower.is_complex:  # float32 tensor + complex128 0-d tensor -> complex64
        return to_complex(higher) if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """The dtype of ``a op b op ...`` for tensors and Python numbers, with PyTorch's three tiers:
    dimensioned tensors, then 0-d tensors, then Python numbers, each only able to raise the category."""
    dim = zero = wrapped = None
    for o in operands:
        d = getattr(o, "dtype", None)
        if isinstance(d, dtype):
            if o.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = default_for_category(_scalar_category(o))
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def finfo(d: dtype | None = None):
    """Machine limits of a floating dtype (``eps``, ``max``, ``min``, ``tiny``), as ``torch.finfo``."""
    return xp.finfo(to_numpy(d if d is not None else _default_float))


def iinfo(d: dtype):
    """Machine limits of an integer dtype, as ``torch.iinfo``."""
    return xp.iinfo(to_numpy(d))
