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
        if D.is_array(g):
            ga = _mm(g, b.swapaxes(-1, -2)) if self.edges[0][0] is not None else None
            gb = _mm(a.swapaxes(-1, -2), g) if self.edges[1][0] is not None else None
            return ga, gb
        ga = g @ D.mT(b) if self.edges[0][0] is not None else None
        gb = D.mT(a) @ g if self.edges[1][0] is not None else None
        return ga, gb


class BmmBackward0(MmBackward0):
    pass


def _prep_mm(a, b, op):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument must be a Tensor, not {type(b if isinstance(a, Tensor) else a).__name__}")
    if a._data.dtype != b._data.dtype and _state.autocast_dtype is None:  # autocast casts both in Op.apply
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
    _prep_mm(a, b, "matmul")
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
        return (g * b if e[0][0] is not None else None), (g * a if e[1][0] is not None else None)


class MvBackward0(Op):
    """matrix (..., n, m) @ vector (m,)."""

    save = (0, 1)
    save_needed_by = ((1,), (0,))

    def forward(ctx, a, v):
        return a @ v

    def backward(self, g, a, v):
        ga = D.expand_dims(g, (g.ndim,)) * v if self.edges[0][0] is not None else None
        gv = None
        if self.edges[1][0] is not None:
            gv = D.sum(a * D.expand_dims(g, (g.ndim,)), tuple(range(g.ndim)))
        return ga, gv


def mm(a, b):
    """Product of two 2-D matrices."""
    _prep_mm(a, b, "mm")
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError(f"{'self' if a._data.ndim != 2 else 'mat2'} must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise _mm_error(a, b, "mm")
    return MmBackward0.apply(a, b)


def bmm(a, b):
    """Batched product of 3-D tensors (b, n, m) @ (b, m, p)."""
    _prep_mm(a, b, "bmm")
    if a._data.ndim != 3 or b._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if a._data.ndim != 3 else "batch2 must be a 3D tensor")
    if a._data.shape[0] != b._data.shape[0] or a._data.shape[2] != b._data.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a._data.shape[0]}, {a._data.shape[2]}] but got: [{b._data.shape[0]}, "
                           f"{b._data.shape[1]}] (in bmm of shapes {list(a._data.shape)} and "
                           f"{list(b._data.shape)}, at {_source.here()}).")
    return BmmBackward0.apply(a, b)


def mv(a, v):
    _prep_mm(a, v, "mv")
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
    _prep_mm(a, b, "dot")
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


# -- linear algebra ----------------------------------------------------------------------------------------------

def svdvals(x):
    return Tensor._wrap(xp.linalg.svd(x._data, compute_uv=False))


class InverseBackward0(Op):
    save_output = True

    def forward(ctx, a):
        try:
            return xp.linalg.inv(a)
        except xp.linalg.LinAlgError:
            raise RuntimeError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed "
                               "because the input matrix is singular.") from None

    def backward(self, g, out):
        t = D.mT(out)
        return (-(t @ g @ t),)


def inverse(x):
    return InverseBackward0.apply(x)


class DetBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a):
        return xp.asarray(xp.linalg.det(a))

    def backward(self, g, a, out):
        # d det(A) / dA = det(A) * inv(A)^T; with create_graph the inverse stays in the graph (for 2nd order)
        inv_t = xp.swapaxes(xp.linalg.inv(a), -1, -2) if D.is_array(a) else D.mT(inverse(a))
        gg = D.expand_dims(g * out, (g.ndim, g.ndim + 1))
        return (gg * inv_t,)


def det(x):
    return DetBackward0.apply(x)


class SolveBackward(Op):
    save = (0,)
    save_output = True

    def name(self):
        return "LinalgSolveExBackward0"

    def forward(ctx, a, b, vector):
        if vector:
            return xp.linalg.solve(a, b[..., None])[..., 0]
        return xp.linalg.solve(a, b)

    def backward(self, g, a, out):
        vector = self.vector
        gv = g[..., None] if vector and D.is_array(g) else (g.unsqueeze(-1) if vector else g)
        ov = out[..., None] if vector and D.is_array(out) else (out.unsqueeze(-1) if vector else out)
        gb = solve(D.mT(a) if not D.is_array(a) else Tensor._wrap(xp.swapaxes(a, -1, -2)), gv if not D.is_array(gv)
                   else Tensor._wrap(gv))
        gb = gb._data if D.is_array(g) else gb
        ga = -(gb @ D.mT(ov))
        if vector:
            gb = gb[..., 0] if D.is_array(gb) else gb.squeeze(-1)
        return ga, gb


def solve(a, b):
    vector = b._data.ndim == 1 or (b._data.ndim == a._data.ndim - 1)
    r = SolveBackward.apply(a, b, vector=vector)
    if r.grad_fn is not None:
        r.grad_fn.vector = vector
    return r


def cholesky(x, upper=False):
    L = Tensor._wrap(xp.linalg.cholesky(x._data))
    return L.mT if upper else L
