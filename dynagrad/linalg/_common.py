"""What the modules of ``dynagrad.linalg`` share: ``LinAlgError``, PyTorch's result tuples, argument checks
with PyTorch's messages, ``out=`` handling, and ``LinalgOp``, the base of the primitives whose backward is
written once with dynagrad's own ops (so it also runs for ``create_graph=True``, where it is differentiable
again).
"""
from __future__ import annotations

import collections

from .. import _source
from ..autograd import state as _state
from ..autograd.function import Op
from ..autograd.graph import _RELEASED, _freed_message, _inplace_message
from ..backend import xp
from ..tensor import Tensor


class LinAlgError(RuntimeError):
    """Raised when a linear-algebra routine fails on its input: a singular matrix for ``inv`` or ``solve``, a
    matrix that is not positive-definite for ``cholesky`` (``torch.linalg.LinAlgError``, a RuntimeError).

    >>> import dynagrad
    >>> try:
    ...     dynagrad.linalg.inv(dynagrad.zeros(2, 2))
    ... except dynagrad.linalg.LinAlgError as e:
    ...     print(type(e).__name__, isinstance(e, RuntimeError))
    LinAlgError True
    """


LinAlgError.__module__ = "dynagrad.linalg"


# -- result tuples ---------------------------------------------------------------------------------------------

def result_type(name: str, fields: list[str]):
    """A named tuple printed as PyTorch prints ``torch.return_types.<name>``."""
    cls = collections.namedtuple(name, fields)

    def __repr__(self) -> str:  # noqa: N807
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"torch.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    cls.__module__ = "dynagrad.return_types"
    return cls


# -- dtypes and shapes -----------------------------------------------------------------------------------------

_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "complex64": "ComplexFloat", "complex128": "ComplexDouble", "int64": "Long", "int32": "Int",
                 "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "uint16": "UInt16",
                 "uint32": "UInt32", "uint64": "UInt64"}


def scalar_name(t: Tensor) -> str:
    """PyTorch's ScalarType name of a tensor's dtype (Float, Double, Long, ...), as its messages print it."""
    return _SCALAR_NAMES.get(t.dtype.name, t.dtype.name)


def check_tensor(x, fn: str, arg: str = "A", pos: int = 1) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


# The functions PyTorch's CPU autocast runs in float32 (their ops have autocast_policy = "fp32"); the others
# keep their input's precision under autocast, and refuse half precision as outside it.
AUTOCAST_FP32 = {"linalg.inv", "linalg.inv_ex", "linalg.cholesky", "linalg.cholesky_ex", "linalg.svd", "linalg.svdvals",
                 "linalg.solve", "linalg.solve_ex", "linalg.qr", "linalg.eigh", "linalg.eigvalsh", "linalg.eig",
                 "linalg.eigvals", "linalg.lstsq", "linalg.cond", "linalg.householder_product", "geqrf",
                 "torch.ormqr", "cholesky_solve", "cholesky_inverse", "linalg.matrix_rank"}


def check_float(x: Tensor, fn: str) -> None:
    """Floating point or complex, and not half precision (LAPACK has no such kernels, nor has PyTorch)."""
    kind = x._data.dtype.kind
    if kind == "V" or (kind == "f" and x._data.dtype.itemsize == 2):
        if _state.autocast_dtype is not None and fn in AUTOCAST_FP32:
            return
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {scalar_name(x)}")
    if kind not in "fc":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {scalar_name(x)}")


def check_matrix(x: Tensor, fn: str, name: str = "A") -> None:
    if x._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")


def check_square(x: Tensor, fn: str, name: str = "A") -> None:
    check_matrix(x, fn, name)
    m, n = x._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fn}: {name} must be batches of square matrices, but they are {m} by {n} matrices")


def square_float(x, fn: str, name: str = "A") -> None:
    """The checks most functions of square matrices start with: a Tensor, (..., n, n), float or complex."""
    check_tensor(x, fn.replace(".", "_"), name)
    check_square(x, fn, name)
    check_float(x, fn)


def matrix_float(x, fn: str, name: str = "A") -> None:
    check_tensor(x, fn.replace(".", "_"), name)
    check_matrix(x, fn, name)
    check_float(x, fn)


def same_dtype(a: Tensor, b: Tensor, fn: str, an: str = "A", bn: str = "B") -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{fn}: Expected {an} and {bn} to have the same dtype, but found {an} of type "
                           f"{scalar_name(a)} and {bn} of type {scalar_name(b)} instead")


def real_dtype(np_dtype):
    """The real NumPy dtype of the same precision (float32 for complex64)."""
    return xp.finfo(np_dtype).dtype


def complex_dtype(np_dtype):
    return xp.result_type(np_dtype, xp.complex64)


def eps(np_dtype) -> float:
    return float(xp.finfo(np_dtype).eps)


def batch_broadcast(fn: str, sa: tuple, sb: tuple) -> tuple:
    """The broadcast of two batch shapes, or PyTorch's error."""
    try:
        return xp.broadcast_shapes(sa, sb)
    except ValueError:
        raise RuntimeError(f"{fn}: The size of tensor a ({sa[-1] if sa else 1}) must match the size of tensor b "
                           f"({sb[-1] if sb else 1}) at non-singleton dimension, batch shapes {list(sa)} and "
                           f"{list(sb)} are not broadcastable (at {_source.here()})") from None


def batch_message(fn: str, index: int, ndim: int, msg: str) -> str:
    """PyTorch names the failing matrix of a batch: 'fn: (Batch element 3): msg'."""
    return f"{fn}: (Batch element {index}): {msg}" if ndim > 2 else f"{fn}: {msg}"


def first_failure(info) -> int:
    """The flat index of the first nonzero info code."""
    return int(xp.flatnonzero(xp.asarray(info).reshape(-1))[0])


# -- results ---------------------------------------------------------------------------------------------------

def detach_int(t: Tensor) -> Tensor:
    """An integer output of a recorded op (pivots, info, rank) as a plain tensor: it has no gradient."""
    if t._requires_grad or t.grad_fn is not None:
        return Tensor._wrap(t._data)
    return t


def write_out(result, out):
    """PyTorch's ``out=``: copy the result into the given tensor(s), resizing them, and return them."""
    if out is None:
        return result
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"out must be a tuple of {len(result)} tensors")
        for o, r in zip(out, result):
            _write_one(o, r)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    _write_one(out, result)
    return out


def _write_one(o, r) -> None:
    if not isinstance(o, Tensor):
        raise TypeError(f"out must be a Tensor, not {type(o).__name__}")
    if o._requires_grad and o.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if o._data.shape == r._data.shape:
        o.copy_(r)
    else:
        o.set_(r.to(o.dtype))


# -- arrays and Tensors ----------------------------------------------------------------------------------------

def mH(x):  # noqa: N802
    """Conjugate transpose of the last two dims, of an array or a Tensor."""
    if isinstance(x, Tensor):
        from ._complex import conj
        return conj(x.transpose(-1, -2))
    return xp.conj(xp.swapaxes(x, -1, -2)) if x.dtype.kind == "c" else xp.swapaxes(x, -1, -2)


def conj(x):
    if isinstance(x, Tensor):
        from ._complex import conj as tconj
        return tconj(x)
    return xp.conj(x) if x.dtype.kind == "c" else x


def real(x):
    if isinstance(x, Tensor):
        from ._complex import real as treal
        return treal(x)
    return x.real if x.dtype.kind == "c" else x


def imag_part(x: Tensor) -> Tensor:
    from ._complex import imag
    return imag(x)


def const(arr) -> Tensor:
    return Tensor._wrap(xp.asarray(arr))


def eye_like(x: Tensor, n: int | None = None) -> Tensor:
    n = x.shape[-1] if n is None else n
    return Tensor._wrap(xp.eye(n, dtype=x._data.dtype))


def set_diagonal(x: Tensor, d: Tensor) -> Tensor:
    """``x`` with its (last two dims') diagonal replaced by ``d`` (out of place, differentiable)."""
    from ..ops.shape import diag_embed
    return x - diag_embed(x.diagonal(0, -2, -1)) + diag_embed(d)


# -- primitives with Tensor backward formulas ------------------------------------------------------------------

class LinalgOp(Op):
    """A primitive whose backward ``vjp(grads, *saved)`` is written with dynagrad's ops on Tensors.

    ``save`` names the inputs backward reads (as for every Op); ``save_outputs`` names the outputs it reads
    (they are version-checked, and for ``create_graph=True`` come back as outputs of this node, so second
    derivatives flow through them). Gradients of outputs that received none arrive as None (never
    materialised zeros): formulas skip their terms, as PyTorch's do for undefined gradients.
    """

    materialize_grads = False
    save_outputs: tuple = ()
    autocast_policy = "promote"  # see AUTOCAST_FP32

    @classmethod
    def apply(cls, *inputs, **kw):
        out = Op.apply.__func__(cls, *inputs, **kw)
        if cls.save_outputs:
            outs = out if type(out) is tuple else (out,)
            node = outs[0].grad_fn
            if type(node) is cls and "_n_in" not in node.__dict__:
                saved = list(node.saved) if node.saved else []
                node._n_in = len(saved)
                for i in cls.save_outputs:
                    o = outs[i]
                    saved.append((None, o._data, o._vc, o._vc[0]))
                node.saved = saved
        return out

    def needs(self, i: int) -> bool:
        """Whether input ``i`` wants a gradient."""
        return self.edges[i][0] is not None

    def run_backward(self, grads: list, create_graph: bool):
        saved = self.saved
        if saved is _RELEASED:
            raise RuntimeError(_freed_message(self))
        T = Tensor
        n_in = self.__dict__.get("_n_in", len(saved))
        values = []
        for k, entry in enumerate(saved):
            tensor, arr, vc, version = entry
            if arr is None or type(arr) is not xp.ndarray:  # not kept, or a Python number operand
                values.append(arr)
                continue
            if vc is not None and vc[0] != version:
                raise RuntimeError(_inplace_message(self, entry))
            if k < n_in:
                values.append(tensor if create_graph and tensor is not None else T._wrap(arr))
            elif arr.dtype.kind in "biu":  # pivots and the like: never differentiated
                values.append(T._wrap(arr))
            else:
                nr = self.save_outputs[k - n_in]
                values.append(T._from_node(arr, self, nr) if create_graph else T._wrap(arr))
        gs = [None if g is None else (g if isinstance(g, T) else T._wrap(xp.asarray(g))) for g in grads]
        res = self.vjp(gs if len(self.meta) > 1 else gs[0], *values)
        if not isinstance(res, tuple):
            res = (res,)
        return tuple(None if r is None else (r if create_graph else r._data) for r in res)

    def vjp(self, grads, *saved):
        raise NotImplementedError(f"{self.name()} has no backward")


class NotDifferentiable(LinalgOp):
    """Outputs that require grad (as in PyTorch) but whose backward raises: PyTorch has no formula."""

    message = "derivative is not implemented"
    error = RuntimeError

    def vjp(self, grads, *saved):
        raise self.error(self.message)
