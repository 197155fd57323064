"""Matrix products: matmul / mm / bmm / mv / dot / outer, addmm, einsum; a few linear-algebra functions."""
from __future__ import annotations

import string

from .. import _source, dtypes
from ..autograd import state as _state
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D


def _mm_error(a, b, op):
    sa, sb = a._data.shape, b._data.shape
    if len(sa) == 2 and len(sb) == 2:
        return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]}) "
                            f"(in {op}, at {_source.here()})")
    return RuntimeError(f"{op}: shapes {list(sa)} and {list(sb)} cannot be multiplied: the last dim of the first "
                        f"({sa[-1] if sa else '-'}) must equal the "
                        f"{'first' if len(sb) == 1 else 'second-to-last'} dim of the second "
                        f"({sb[0] if len(sb) == 1 else (sb[-2] if len(sb) > 1 else '-')}) "
                        f"(at {_source.here()})")


def _mm(a, b):
    """a @ b; float16/bfloat16 go through float32 (NumPy has no fast half-precision matmul; rounding the
    float32 result is what hardware with float32 accumulation gives)."""
    if a.itemsize == 2 and a.dtype.kind in "fV":
        return (a.astype(xp.float32) @ b.astype(xp.float32)).astype(a.dtype)
    return a @ b


class MmBackward0(Op):
    """Matrix product of (batched) matrices, both at least 2-D; batch dims broadcast."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, a, b):
        return _mm(a, b)

    def backward(self, g, a, b):
        if D.is_complex(g):  # complex gradients use the conjugate transposes
            a, b = D.conj(a), D.conj(b)
        if D.is_array(g):
            ga = _mm(g, b.swapaxes(-1, -2)) if self.edges[0][0] is not None else None
            gb = _mm(a.swapaxes(-1, -2), g) if self.edges[1][0] is not None else None
            return ga, gb
        ga = g @ D.mT(b) if self.edges[0][0] is not None else None
        gb = D.mT(a) @ g if self.edges[1][0] is not None else None
        return ga, gb


class BmmBackward0(MmBackward0):
    pass


class _SparseOperand(Exception):
    """Raised by _prep_mm when an operand is a sparse tensor: the caller hands the product to torch.sparse.
    (A sparse tensor's ``_data.dtype`` equals no dtype, so this costs dense products nothing.)"""


def _sparse_product(a, b, op):
    from ..sparse import _coo
    if op in ("bmm", "dot") or op == "mv" and not isinstance(a, _coo.SparseCooTensor):
        raise NotImplementedError(f"{op} with a sparse COO operand is not supported in dynagrad; use torch.mm or @ "
                                  f"(at {_source.here()})")
    return _coo.matmul(a, b) if op in ("matmul", "mv") else \
        (_coo.spmm(a, b, op) if isinstance(a, _coo.SparseCooTensor) else _coo.matmul(a, b))


def _prep_mm(a, b, op):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument must be a Tensor, not {type(b if isinstance(a, Tensor) else a).__name__}")
    if a._data.dtype != b._data.dtype and _state.autocast_dtype is None:  # autocast casts both in Op.apply
        if a.is_sparse or b.is_sparse:
            raise _SparseOperand
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != "
                           f"{b.dtype.name} (in {op}, at {_source.here()})")
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise RuntimeError(f"both arguments to {op} need to be at least 1D, but they are {a._data.ndim}D and "
                           f"{b._data.ndim}D")


def matmul(a, b):
    """Matrix product with NumPy/PyTorch semantics for 1-D and batched operands.

    >>> import dynagrad
    >>> (dynagrad.ones(2, 3) @ dynagrad.ones(3, 4)).shape
    torch.Size([2, 4])
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):  # fast path: two matrices that fit
        ad, bd = a._data, b._data
        if ad.ndim == 2 and bd.ndim == 2 and ad.shape[1] == bd.shape[0] and ad.dtype == bd.dtype:
            return MmBackward0.apply(a, b)
    try:
        _prep_mm(a, b, "matmul")
    except _SparseOperand:
        return _sparse_product(a, b, "matmul")
    sa, sb = a._data.shape, b._data.shape
    if sa[-1] != (sb[0] if len(sb) == 1 else sb[-2]):
        raise _mm_error(a, b, "matmul")
    if len(sa) >= 2 and len(sb) >= 2:
        try:
            return MmBackward0.apply(a, b)
        except ValueError:
            raise _mm_error(a, b, "matmul") from None
    if len(sa) == 1 and len(sb) == 1:
        return DotBackward0.apply(a, b)
    if len(sb) == 1:
        return MvBackward0.apply(a, b)
    return MmBackward0.apply(a.unsqueeze(0), b).squeeze(-2)


class DotBackward0(Op):
    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, a, b):
        return xp.asarray(a @ b)

    def backward(self, g, a, b):
        e = self.edges
        if D.is_complex(g):
            a, b = D.conj(a), D.conj(b)
        return (g * b if e[0][0] is not None else None), (g * a if e[1][0] is not None else None)


class MvBackward0(Op):
    """matrix (..., n, m) @ vector (m,)."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, a, v):
        return a @ v

    def backward(self, g, a, v):
        if D.is_complex(g):
            a, v = D.conj(a), D.conj(v)
        ga = D.expand_dims(g, (g.ndim,)) * v if self.edges[0][0] is not None else None
        gv = None
        if self.edges[1][0] is not None:
            gv = D.sum(a * D.expand_dims(g, (g.ndim,)), tuple(range(g.ndim)))
        return ga, gv


def mm(a, b):
    """Product of two 2-D matrices (either may be a sparse COO tensor)."""
    try:
        _prep_mm(a, b, "mm")
    except _SparseOperand:
        return _sparse_product(a, b, "mm")
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError(f"{'self' if a._data.ndim != 2 else 'mat2'} must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise _mm_error(a, b, "mm")
    return MmBackward0.apply(a, b)


def spmm(a, b):
    """``torch.spmm``: ``mm`` where the first operand is (usually) a sparse COO tensor."""
    return mm(a, b)


def bmm(a, b):
    """Batched product of 3-D tensors (b, n, m) @ (b, m, p)."""
    try:
        _prep_mm(a, b, "bmm")
    except _SparseOperand:
        return _sparse_product(a, b, "bmm")
    if a._data.ndim != 3 or b._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if a._data.ndim != 3 else "batch2 must be a 3D tensor")
    if a._data.shape[0] != b._data.shape[0] or a._data.shape[2] != b._data.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a._data.shape[0]}, {a._data.shape[2]}] but got: [{b._data.shape[0]}, "
                           f"{b._data.shape[1]}] (in bmm of shapes {list(a._data.shape)} and "
                           f"{list(b._data.shape)}, at {_source.here()}).")
    return BmmBackward0.apply(a, b)


def mv(a, v):
    try:
        _prep_mm(a, v, "mv")
    except _SparseOperand:
        return _sparse_product(a, v, "mv")
    if a._data.ndim != 2 or v._data.ndim != 1 or a._data.shape[1] != v._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a._data.shape[0] if a._data.ndim else '-'}), mat "
                           f"({'x'.join(map(str, a._data.shape))}), vec ({v._data.shape[0] if v._data.ndim else '-'})")
    return MvBackward0.apply(a, v)


def dot(a, b):
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    if a._data.shape != b._data.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a._data.shape[0]}] and src "
                           f"[{b._data.shape[0]}] to have the same number of elements, but got "
                           f"{a._data.shape[0]} and {b._data.shape[0]} elements respectively")
    try:
        _prep_mm(a, b, "dot")
    except _SparseOperand:
        return _sparse_product(a, b, "dot")
    return DotBackward0.apply(a, b)


def vdot(input, other):  # noqa: A002
    """``sum(conj(input) * other)`` of two 1-D tensors (``dot`` for real ones)."""
    if input._data.dtype.kind == "c":
        from .math import conj
        return dot(conj(input), other)
    return dot(input, other)


def inner(input, other):  # noqa: A002
    """The sum of products over the last dims (``tensordot`` of the last dim of each); a 0-d operand scales."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    if input._data.ndim == 1 and other._data.ndim == 1:
        return dot(input, other)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input._data.shape)} and {list(other._data.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def outer(input, vec2):  # noqa: A002
    """The outer product of two 1-D tensors."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return input.unsqueeze(-1) * vec2.unsqueeze(0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """``beta * input + alpha * (mat1 @ mat2)``."""
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    prod = mv(mat, vec)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def baddbmm(input, b1, b2, *, beta=1, alpha=1):  # noqa: A002
    prod = bmm(b1, b2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def addbmm(input, b1, b2, *, beta=1, alpha=1):  # noqa: A002
    prod = bmm(b1, b2).sum(0)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        da = [d % a.ndim if a.ndim else d for d in da]  # negative dims count from the end
        db = [d % b.ndim if b.ndim else d for d in db]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb) if j not in db]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


# -- einsum ------------------------------------------------------------------------------------------------------

def _parse_einsum(eq: str, shapes):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs, rhs = eq, None
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(shapes) > len(ins) else "einsum(): fewer operands were provided than specified "
                                                            "in the equation")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_n = 0
    out_ins = []
    for s, shape in zip(ins, shapes):
        if "..." in s:
            ell_n = max(ell_n, len(shape) - (len(s) - 3))
        elif len(s) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the "
                               f"number of dimensions ({len(shape)}) for operand {len(out_ins)}"
                               + (" and no ellipsis was given" if "..." not in s else ""))
        out_ins.append(s)
    ell = "".join(free[:ell_n])
    # re-expand each ellipsis right-aligned against the full ellipsis letters
    fixed = []
    for s_orig, shape in zip(ins, shapes):
        if "..." in s_orig:
            n = len(shape) - (len(s_orig) - 3)
            fixed.append(s_orig.replace("...", ell[ell_n - n:] if n else ""))
        else:
            fixed.append(s_orig)
    if rhs is None:
        counts = {}
        for s in fixed:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    return fixed, rhs


class EinsumBackward(Op):
    save = ()

    def name(self):
        return "EinsumBackward0"

    def forward(ctx, *arrays, ins, out):
        if ctx is not None:
            ctx.ins, ctx.out = ins, out
            ctx.shapes = [a.shape for a in arrays]
            ctx.save = tuple(range(len(arrays)))  # every operand is needed for the others' gradients
        return xp.asarray(xp.einsum(",".join(ins) + "->" + out, *arrays, optimize=len(arrays) > 2))

    def backward(self, g, *ops):
        if D.is_complex(g):
            ops = tuple(D.conj(o) for o in ops)
        res = []
        for i, (s, shape) in enumerate(zip(self.ins, self.shapes)):
            if self.edges[i][0] is None:
                res.append(None)
                continue
            # the gradient over the operand's distinct letters u (its diagonal when a letter repeats)
            u = "".join(dict.fromkeys(s))
            u_shape = tuple(shape[s.index(c)] for c in u)
            others = [(self.ins[j], ops[j]) for j in range(len(ops)) if j != i]
            avail = set(self.out).union(*[set(o) for o, _ in others]) if others else set(self.out)
            kept = "".join(c for c in u if c in avail)
            eq = ",".join([self.out] + [o for o, _ in others]) + "->" + kept
            if D.is_array(g):
                gi = xp.einsum(eq, g, *[x for _, x in others], optimize=len(others) > 1)
            else:
                gi = einsum(eq, g, *[x for _, x in others])
            if kept != u:  # letters summed inside this operand alone: broadcast back
                missing = tuple(k for k, c in enumerate(u) if c not in avail)
                gi = D.broadcast_to(D.expand_dims(gi, missing), u_shape)
            if u != s:
                gi = self._spread_diagonal(gi, s, u, shape)
            res.append(gi)
        return tuple(res)

    def _spread_diagonal(self, gi, s, u, shape):
        """Place a gradient over the distinct letters ``u`` onto the diagonals of an operand ``s`` with
        repeated letters, as an einsum with identity matrices (so it works on Tensors too)."""
        used = set("".join(self.ins) + self.out)
        fresh = iter(c for c in string.ascii_letters if c not in used)
        seen, full, eyes = set(), [], []
        for k, c in enumerate(s):
            if c in seen:
                nc = next(fresh)
                full.append(nc)
                eyes.append((c + nc, shape[k]))
            else:
                seen.add(c)
                full.append(c)
        dt = gi.dtype if D.is_array(gi) else gi._data.dtype
        mats = [D.const(xp.eye(n, dtype=dt), gi) for _, n in eyes]
        eq = ",".join([u] + [e for e, _ in eyes]) + "->" + "".join(full)
        return xp.einsum(eq, gi, *mats) if D.is_array(gi) else einsum(eq, gi, *mats)


def einsum(equation: str, *operands):
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; ellipses and implicit outputs work."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    rt = dtypes.result_type(*operands)
    operands = tuple(o if o.dtype is rt else o.to(rt) for o in operands)
    ins, out = _parse_einsum(equation, [o._data.shape for o in operands])
    try:
        res = EinsumBackward.apply(*operands, ins=ins, out=out)
    except ValueError as e:
        raise RuntimeError(f"einsum(): {e} (equation '{equation}', shapes "
                           f"{[list(o._data.shape) for o in operands]}, at {_source.here()})") from None
    return res


# -- linear algebra at torch's top level -------------------------------------------------------------------------
# The work is in dynagrad.linalg (loaded on first use, which keeps `import dynagrad` fast); these are PyTorch's
# older top-level forms and aliases, with their own argument orders and result tuples.

def _la():
    import dynagrad.linalg as la
    return la


def _rt(name, fields):
    from ..linalg._common import result_type
    return result_type(name, fields)


def det(input):  # noqa: A002 - PyTorch's names
    """``torch.det``: the determinant (``linalg.det``).

    >>> import dynagrad
    >>> dynagrad.det(dynagrad.tensor([[1., 2.], [3., 4.]]))
    tensor(-2.)
    """
    return _la().det(input)


def logdet(input):  # noqa: A002
    """``torch.logdet``: log(det), NaN for a negative determinant (real input)."""
    from ..linalg.misc import logdet as f
    return f(input)


def slogdet(input):  # noqa: A002
    """``torch.slogdet``: (sign, logabsdet) as ``torch.return_types.slogdet``."""
    r = _la().slogdet(input)
    return _rt("slogdet", ["sign", "logabsdet"])(*r)


def inverse(input, *, out=None):  # noqa: A002
    """``torch.inverse`` (``linalg.inv``).

    >>> import dynagrad
    >>> dynagrad.inverse(dynagrad.tensor([[2., 0.], [0., 4.]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    return _la().inv(input, out=out)


def pinverse(input, rcond: float = 1e-15):  # noqa: A002
    """``torch.pinverse``: the pseudo-inverse, dropping singular values below ``rcond * s_max``."""
    return _la().pinv(input, rtol=rcond)


def matrix_power(input, n: int, *, out=None):  # noqa: A002
    return _la().matrix_power(input, n, out=out)


def matrix_exp(input):  # noqa: A002
    return _la().matrix_exp(input)


def svdvals(input):  # noqa: A002 - used by torch.norm(p='nuc')
    return _la().svdvals(input)


def cholesky(input, upper: bool = False, *, out=None):  # noqa: A002
    """``torch.cholesky`` (``linalg.cholesky``), with gradients.

    >>> import dynagrad
    >>> dynagrad.cholesky(dynagrad.tensor([[4., 2.], [2., 3.]]), upper=True)
    tensor([[2.0000, 1.0000],
            [0.0000, 1.4142]])
    """
    return _la().cholesky(input, upper=upper, out=out)


def cholesky_solve(B, L, upper: bool = False, *, out=None):  # noqa: N803
    from ..linalg.solvers import cholesky_solve as f
    return f(B, L, upper, out=out)


def cholesky_inverse(L, upper: bool = False, *, out=None):  # noqa: N803
    from ..linalg.solvers import cholesky_inverse as f
    return f(L, upper, out=out)


def qr(input, some: bool = True, *, out=None):  # noqa: A002
    """``torch.qr``: (Q, R), reduced (``some``) or complete."""
    from ..linalg._common import write_out
    Q, R = _la().qr(input, "reduced" if some else "complete")
    return write_out(_rt("qr", ["Q", "R"])(Q, R), out)


def svd(input, some: bool = True, compute_uv: bool = True, *, out=None):  # noqa: A002
    """``torch.svd``: (U, S, V) with ``A = U diag(S) V^H`` (V, not Vh); without ``compute_uv`` U and V are
    zero (m, m) and (n, n) matrices.

    >>> import dynagrad
    >>> dynagrad.svd(dynagrad.tensor([[3., 0.], [0., 2.]])).S
    tensor([3., 2.])
    """
    from ..linalg._common import mH, write_out
    la = _la()
    t = _rt("svd", ["U", "S", "V"])
    if not compute_uv:
        m, n = input._data.shape[-2:]
        batch = input._data.shape[:-2]
        S = la.svdvals(input)
        res = t(Tensor._wrap(xp.zeros(batch + (m, m), input._data.dtype)), S,
                Tensor._wrap(xp.zeros(batch + (n, n), input._data.dtype)))
        return write_out(res, out)
    U, S, Vh = la.svd(input, full_matrices=not some)
    return write_out(t(U, S, mH(Vh)), out)


def lu(A, pivot: bool = True, get_infos: bool = False, out=None):  # noqa: N803
    """``torch.lu``: (LU, pivots) or (LU, pivots, infos); singular matrices do not raise."""
    LU, piv, info = _la().lu_factor_ex(A, pivot=pivot)
    res = (LU, piv, info) if get_infos else (LU, piv)
    if out is not None:
        from ..linalg._common import write_out
        return write_out(res, out)
    return res


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True, *, out=None):  # noqa: N803
    from ..linalg.decompositions import lu_unpack as f
    return f(LU_data, LU_pivots, unpack_data, unpack_pivots, out=out)


def lu_solve(b, LU_data, LU_pivots, *, out=None):  # noqa: N803
    """``torch.lu_solve(b, LU, pivots)`` (``linalg.lu_solve`` with the arguments in the old order)."""
    return _la().lu_solve(LU_data, LU_pivots, b, out=out)


def triangular_solve(b, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False, *,  # noqa: N803
                     out=None):
    """``torch.triangular_solve``: (solution, cloned_coefficient) for ``op(A) X = b``, op the transpose with
    ``transpose``.

    >>> import dynagrad
    >>> A = dynagrad.tensor([[2., 1.], [0., 4.]])
    >>> dynagrad.triangular_solve(dynagrad.tensor([[3.], [4.]]), A).solution
    tensor([[1.],
            [1.]])
    """
    from ..linalg._common import write_out
    if _state.autocast_dtype is not None:  # PyTorch's CPU autocast runs triangular_solve in float32
        b, A = (t.float() if t._data.dtype.kind == "V" or t._data.dtype.itemsize == 2 else t for t in (b, A))
    a = A.mT if transpose else A
    x = _la().solve_triangular(a, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    batch = xp.broadcast_shapes(A._data.shape[:-2], b._data.shape[:-2])
    coeff = A.expand(*(batch + A._data.shape[-2:])).clone()  # PyTorch returns A broadcast to the batch
    return write_out(_rt("triangular_solve", ["solution", "cloned_coefficient"])(x, coeff), out)


def geqrf(input, *, out=None):  # noqa: A002
    from ..linalg.decompositions import geqrf as f
    return f(input, out=out)


def ormqr(input, input2, input3, left: bool = True, transpose: bool = False, *, out=None):  # noqa: A002
    from ..linalg.decompositions import ormqr as f
    return f(input, input2, input3, left, transpose, out=out)


def orgqr(input, tau):  # noqa: A002
    """``torch.orgqr`` (``linalg.householder_product``)."""
    return _la().householder_product(input, tau)


def chain_matmul(*matrices, out=None):
    """``torch.chain_matmul`` (deprecated in PyTorch for ``linalg.multi_dot``): the product of 2-D matrices."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if len(matrices) == 1:
        from ..linalg._common import write_out
        return write_out(matrices[0].clone(), out)
    for m in matrices:
        if m._data.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m._data.ndim}, expected 2 instead.")
    return _la().multi_dot(matrices, out=out)


def cross(input, other, dim=None, *, out=None):  # noqa: A002
    """``torch.cross``: without ``dim``, along the first dim of size 3 (``linalg.cross`` uses the last)."""
    if dim is None:
        shape = xp.broadcast_shapes(input._data.shape, other._data.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return _la().cross(input, other, dim=dim, out=out)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """``beta * input + alpha * outer(vec1, vec2)``.

    >>> import dynagrad
    >>> dynagrad.addr(dynagrad.zeros(2, 2), dynagrad.tensor([1., 2.]), dynagrad.tensor([3., 4.]))
    tensor([[3., 4.],
            [6., 8.]])
    """
    if vec1._data.ndim != 1 or vec2._data.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1._data.ndim}-D"
                           if vec1._data.ndim != 1 else f"addr: Expected 1-D argument vec2, but got "
                                                        f"{vec2._data.ndim}-D")
    prod = outer(vec1, vec2)
    if alpha != 1:
        prod = prod * alpha
    res = prod if beta == 0 else prod + (input if beta == 1 else input * beta)  # beta=0 ignores input (NaNs too)
    from ..linalg._common import write_out
    return write_out(res, out)


def dist(input, other, p=2):  # noqa: A002
    """The ``p``-norm of ``input - other``.

    >>> import dynagrad
    >>> dynagrad.dist(dynagrad.tensor([1., 1.]), dynagrad.tensor([4., 5.]))
    tensor(5.)
    """
    return _la().vector_norm(input - other, p)


def renorm(input, p, dim: int, maxnorm):  # noqa: A002
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` rescaled to norm ``maxnorm``."""
    nd = input._data.ndim
    d = dim % nd
    norms = _la().vector_norm(input, p, tuple(i for i in range(nd) if i != d), keepdim=True)
    from .index import where
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor


def frobenius_norm(input, dim=(-2, -1), keepdim: bool = False, *, out=None):  # noqa: A002
    return _la().vector_norm(input, 2, dim, keepdim, out=out)


def nuclear_norm(input, dim=None, keepdim: bool = False, *, out=None):  # noqa: A002
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    return _la().matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim, out=out)


def svd_lowrank(A, q: int | None = 6, niter: int | None = 2, M=None):  # noqa: N803
    from ..linalg.lowrank import svd_lowrank as f
    return f(A, q, niter, M)


def pca_lowrank(A, q: int | None = None, center: bool = True, niter: int = 2):  # noqa: N803
    from ..linalg.lowrank import pca_lowrank as f
    return f(A, q, center, niter)


def _removed(name, message):
    def fn(*args, **kwargs):
        raise RuntimeError(f"This function was deprecated since version 1.9 and is now removed. {message}")
    fn.__name__ = name
    fn.__doc__ = f"Removed from PyTorch (1.9): raises, as ``torch.{name}`` does."
    return fn


solve = _removed("solve", "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` "
                          "has its arguments reversed and does not return the LU factorization.")
eig = _removed("eig", "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than real "
                      "tensors mimicking complex tensors.")
symeig = _removed("symeig", "The default behavior has changed from using the upper triangular portion of the "
                            "matrix by default to using the lower triangular portion.")
lstsq = _removed("lstsq", "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`. `torch.linalg.lstsq` "
                          "has reversed arguments and does not return the QR decomposition in the returned tuple.")
matrix_rank = _removed("matrix_rank", "Please use the `torch.linalg.matrix_rank` function instead. The parameter "
                                      "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")
