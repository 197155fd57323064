"""Linear systems: ``solve``, ``solve_ex``, ``solve_triangular``, ``lu_solve``, ``ldl_solve``, ``lstsq``,
``inv``, ``inv_ex``, ``pinv``, ``tensorinv``, ``tensorsolve``, and the legacy ``cholesky_solve`` and
``cholesky_inverse``; gradients as PyTorch's (``X = A^{-1} B`` gives ``gB = A^{-H} gX``, ``gA = -gB X^H``).
"""
from __future__ import annotations

import math

from .. import _source
from ..backend import xp
from ..tensor import Tensor
from . import _lapack as K
from ._common import (
    LinAlgError,
    LinalgOp,
    NotDifferentiable,
    batch_message,
    check_float,
    check_matrix,
    check_square,
    check_tensor,
    detach_int,
    eps,
    first_failure,
    mH,
    result_type,
    same_dtype,
    square_float,
    write_out,
)

linalg_solve_ex = result_type("linalg_solve_ex", ["result", "info"])
linalg_inv_ex = result_type("linalg_inv_ex", ["inverse", "info"])
linalg_lstsq = result_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


def _swap(a):
    return xp.swapaxes(a, -1, -2)


def _tri(a, upper: bool, unit: bool):
    return xp.triu(a, int(unit)) if upper else xp.tril(a, -int(unit))


def _ttri(t: Tensor, upper: bool, unit: bool) -> Tensor:
    return t.triu(int(unit)) if upper else t.tril(-int(unit))


# -- triangular systems ----------------------------------------------------------------------------------------

def _solve_tri_array(a, b, upper: bool, left: bool, unit: bool):
    if left:
        return K.solve_triangular(a, b, upper, unit)
    # X A = B  <=>  A^T X^T = B^T
    return _swap(K.solve_triangular(_swap(a), _swap(b), not upper, unit))


class LinalgSolveTriangularBackward0(LinalgOp):
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, a, b, upper, left, unitriangular):
        if ctx is not None:
            ctx.upper, ctx.left, ctx.unit = upper, left, unitriangular
        return _solve_tri_array(a, b, upper, left, unitriangular)

    def vjp(self, g, a, x):
        upper, left, unit = self.upper, self.left, self.unit
        gb = solve_triangular(mH(a), g, upper=not upper, left=left, unitriangular=unit)
        ga = None
        if self.needs(0):
            ga = _ttri(-(gb @ mH(x)) if left else -(mH(x) @ gb), upper, unit)
        return ga, (gb if self.needs(1) else None)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out=None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` with ``left=False``) for triangular ``A``, reading only its upper or
    lower triangle; batch dims broadcast.

    >>> import dynagrad
    >>> A = dynagrad.tensor([[2., 1.], [0., 4.]])
    >>> dynagrad.linalg.solve_triangular(A, dynagrad.tensor([[3.], [4.]]), upper=True)
    tensor([[1.],
            [1.]])
    """
    fn = "linalg.solve_triangular"
    check_tensor(A, "linalg_solve_triangular", "A")
    check_tensor(B, "linalg_solve_triangular", "B", 2)
    check_matrix(A, fn, "A")
    check_matrix(B, fn, "B")
    check_square(A, fn, "A")
    check_float(A, fn)
    same_dtype(A, B, fn)
    n = A._data.shape[-1]
    if (B._data.shape[-2] if left else B._data.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {B._data.shape[-2]}x{B._data.shape[-1]})")
    _batch(fn, A, B)
    res = LinalgSolveTriangularBackward0.apply(A, B, upper=bool(upper), left=bool(left),
                                              unitriangular=bool(unitriangular))
    return write_out(res, out)


def _batch(fn, A, B, b_batch=None):
    sa = A._data.shape[:-2]
    sb = B._data.shape[:-2] if b_batch is None else b_batch
    try:
        return xp.broadcast_shapes(sa, sb)
    except ValueError:
        raise RuntimeError(f"{fn}: the batch dimensions of A {list(sa)} and B {list(sb)} are not broadcastable "
                           f"(at {_source.here()})") from None


# -- general systems -------------------------------------------------------------------------------------------

def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) if it is 1-D, or has one dim less than A and the shape
    A.shape[:-1]."""
    sb = B._data.shape
    return len(sb) == 1 or (A._data.ndim - 1 == len(sb) and sb == A._data.shape[:-1])


def _lu_info(a):
    """Per matrix, the 1-based index of the first zero pivot of LU (0 where none)."""
    return K.lu_factor(a)[2]


def _solve_array(a, b, left: bool):
    """(X, info) for ``A X = B`` (or ``X A = B``); info per matrix (0 if solved)."""
    if not left:
        x, info = _solve_array(_swap(a), _swap(b), True)
        return _swap(x), info
    batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    try:
        x = xp.linalg.solve(a, b) if a.size and b.size else xp.zeros(batch + b.shape[-2:], xp.result_type(a, b))
        return x, xp.zeros(batch, xp.int32)
    except xp.linalg.LinAlgError:
        lu, piv, info = K.lu_factor(xp.broadcast_to(a, batch + a.shape[-2:]))
        with xp.errstate(all="ignore"):
            return K.lu_solve(lu, piv, b), info.astype(xp.int32)


class LinalgSolveExBackward0(LinalgOp):
    autocast_policy = "fp32"
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, a, b, left, vector):
        if ctx is not None:
            ctx.left, ctx.vector = left, vector
        x, info = _solve_array(a, b[..., None] if vector else b, left)
        return (x[..., 0] if vector else x), info

    def vjp(self, grads, a, x):
        g = grads[0]
        if g is None:
            return None, None
        left, vector = self.left, self.vector
        gm = g.unsqueeze(-1) if vector else g
        gb = solve(mH(a), gm, left=left)
        ga = None
        if self.needs(0):
            xm = x.unsqueeze(-1) if vector else x
            ga = -(gb @ mH(xm)) if left else -(mH(xm) @ gb)
        if vector:
            gb = gb.squeeze(-1)
        return ga, (gb if self.needs(1) else None)


def _check_solve(A, B, left: bool, fn: str):
    check_tensor(A, fn.replace(".", "_"), "A")
    check_tensor(B, fn.replace(".", "_"), "B", 2)
    check_square(A, fn)
    check_float(A, fn)
    same_dtype(A, B, fn)
    vector = _is_vector_rhs(A, B)
    if vector and not left:
        raise RuntimeError(f"{fn}: Vector broadcasting of the left hand side is not supported for left=False. "
                           f"In this case {fn} is equivalent to B / A.squeeze(-1)")
    n = A._data.shape[-1]
    sb = B._data.shape
    rows = sb[-1] if vector else (sb[-2] if left else sb[-1])
    if rows != n:
        shown = f"{sb[-1]}x1" if vector else f"{sb[-2]}x{sb[-1]}"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {shown})")
    _batch(fn, A, B, sb[:-1] if vector else None)
    return vector


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """``solve`` that returns ``info`` (nonzero for a singular matrix) instead of raising, unless
    ``check_errors``.

    >>> import dynagrad
    >>> dynagrad.linalg.solve_ex(dynagrad.eye(2), dynagrad.ones(2)).info
    tensor(0, dtype=torch.int32)
    """
    fn = "linalg.solve_ex"
    vector = _check_solve(A, B, left, fn)
    x, info = LinalgSolveExBackward0.apply(A, B, left=bool(left), vector=vector)
    info = detach_int(info)
    if check_errors:
        _raise_singular(info, A, "torch.linalg.solve_ex")
    return write_out(linalg_solve_ex(x, info), out)


def _raise_singular(info: Tensor, A: Tensor, fn: str) -> None:
    arr = xp.asarray(info._data)
    if arr.size and arr.any():
        msg = "The solver failed because the input matrix is singular."
        raise LinAlgError(batch_message(fn, first_failure(arr), A._data.ndim, msg))


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``X A = B`` with ``left=False``) for square ``A``; ``B`` may be a
    (batch of) vector(s); batch dims broadcast. A singular ``A`` raises ``LinAlgError``.

    >>> import dynagrad
    >>> A = dynagrad.tensor([[3., 1.], [1., 2.]])
    >>> dynagrad.linalg.solve(A, dynagrad.tensor([9., 8.]))
    tensor([2., 3.])
    """
    fn = "linalg.solve"
    vector = _check_solve(A, B, left, fn)
    x, info = LinalgSolveExBackward0.apply(A, B, left=bool(left), vector=vector)
    _raise_singular(info, A, "torch.linalg.solve")
    return write_out(x, out)


# -- inverses --------------------------------------------------------------------------------------------------

def _inv_array(a):
    """(inverse, info) of a batch of square matrices."""
    try:
        return (xp.linalg.inv(a) if a.size else xp.array(a, copy=True)), xp.zeros(a.shape[:-2], xp.int32)
    except xp.linalg.LinAlgError:
        lu, piv, info = K.lu_factor(a)
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        with xp.errstate(all="ignore"):
            return K.lu_solve(lu, piv, eye), info.astype(xp.int32)


class LinalgInvExBackward0(LinalgOp):
    autocast_policy = "fp32"
    save_outputs = (0,)

    def forward(ctx, a):
        return _inv_array(a)

    def vjp(self, grads, inv):
        g = grads[0]
        if g is None:
            return (None,)
        ih = mH(inv)
        return (-(ih @ (g @ ih)),)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """The inverse and ``info`` (nonzero for a singular matrix: the 1-based index of the zero pivot).

    >>> import dynagrad
    >>> dynagrad.linalg.inv_ex(dynagrad.zeros(2, 2)).info
    tensor(1, dtype=torch.int32)
    """
    square_float(A, "linalg.inv_ex")
    inv_, info = LinalgInvExBackward0.apply(A)
    info = detach_int(info)
    if check_errors:
        _raise_inv(info, A, "linalg.inv_ex")
    return write_out(linalg_inv_ex(inv_, info), out)


def _raise_inv(info: Tensor, A: Tensor, fn: str) -> None:
    arr = xp.asarray(info._data)
    if arr.size and arr.any():
        i = first_failure(arr)
        msg = (f"The diagonal element {int(arr.reshape(-1)[i])} is zero, the inversion could not be completed "
               f"because the input matrix is singular.")
        raise LinAlgError(batch_message(fn, i, A._data.ndim, msg))


def inv(A: Tensor, *, out=None) -> Tensor:
    """The inverse of a (batch of) square matrices; a singular matrix raises ``LinAlgError``.

    >>> import dynagrad
    >>> dynagrad.linalg.inv(dynagrad.tensor([[2., 0.], [0., 4.]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    square_float(A, "linalg.inv")
    inv_, info = LinalgInvExBackward0.apply(A)
    _raise_inv(info, A, "linalg.inv")
    return write_out(inv_, out)


# -- pseudo-inverse --------------------------------------------------------------------------------------------

def _tolerances(a, atol, rtol, smax):
    """PyTorch's threshold ``max(atol, rtol * smax)``: rtol defaults to eps * max(m, n) unless a positive
    atol is given (then 0)."""
    atol_v = xp.asarray(0.0 if atol is None else (atol._data if isinstance(atol, Tensor) else atol))
    if rtol is None:
        m, n = a.shape[-2:]
        default = eps(a.dtype) * max(m, n)
        rtol_v = xp.where(atol_v > 0, 0.0, default) if atol is not None else xp.asarray(default)
    else:
        rtol_v = xp.asarray(rtol._data if isinstance(rtol, Tensor) else rtol)
    return xp.maximum(atol_v, rtol_v * smax)


def _pinv_array(a, atol, rtol, hermitian: bool):
    rt = xp.finfo(a.dtype).dtype
    m, n = a.shape[-2:]
    if a.size == 0:
        return xp.zeros(a.shape[:-2] + (n, m), a.dtype)
    if hermitian:
        w, v = xp.linalg.eigh(a)
        smax = xp.abs(w).max(-1, keepdims=True)
        thr = _tolerances(a, atol, rtol, smax)
        keep = xp.abs(w) > thr
        winv = xp.where(keep, 1 / xp.where(keep, w, 1), 0).astype(rt)
        return (v * winv[..., None, :]) @ mH(v)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    smax = s[..., :1]
    thr = _tolerances(a, atol, rtol, smax)
    keep = s > thr
    sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(rt)
    return (mH(vh) * sinv[..., None, :]) @ mH(u)


def pinv_vjp(g: Tensor, p: Tensor, a: Tensor) -> Tensor:
    """PyTorch's gradient of the pseudo-inverse ``p = pinv(a)``."""
    m, n = a.shape[-2:]
    ph, gh = mH(p), mH(g)
    if m <= n:
        k = gh @ p
        kph = k @ ph
        return -mH(p @ k) + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
    k = p @ gh
    phk = ph @ k
    return -mH(k @ p) + ((gh - a @ k) @ p) @ ph + phk - (phk @ p) @ a


class LinalgPinvBackward0(LinalgOp):
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, a, atol, rtol, hermitian):
        return _pinv_array(a, atol, rtol, hermitian)

    def vjp(self, g, a, p):
        return (pinv_vjp(g, p, a),)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse, discarding singular values below ``max(atol, rtol * s_max)``
    (``rtol`` defaults to ``eps * max(m, n)``); ``hermitian`` uses an eigendecomposition.

    >>> import dynagrad
    >>> dynagrad.linalg.pinv(dynagrad.tensor([[1., 0.], [0., 0.]]))
    tensor([[1., 0.],
            [0., 0.]])
    """
    check_tensor(A, "linalg_pinv", "A")
    if A._data.ndim < 2 or A._data.dtype.kind not in "fc" or A._data.dtype.itemsize < 4:
        raise RuntimeError(f"linalg.pinv({A.dtype.name.capitalize()}{{{list(A._data.shape)}}}): expected a tensor "
                           f"with 2 or more dimensions of float, double, cfloat or cdouble types")
    if hermitian:
        check_square(A, "linalg.pinv")
    atol_a = atol._data if isinstance(atol, Tensor) else atol
    rtol_a = rtol._data if isinstance(rtol, Tensor) else rtol
    res = LinalgPinvBackward0.apply(A, atol=atol_a, rtol=rtol_a, hermitian=bool(hermitian))
    return write_out(res, out)


# -- least squares ---------------------------------------------------------------------------------------------

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_array(a, b, rcond, driver):
    m, n = a.shape[-2:]
    k = b.shape[-1]
    batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    rt = xp.finfo(a.dtype).dtype
    a = xp.broadcast_to(a, batch + (m, n))
    b = xp.broadcast_to(b, batch + (m, k))
    if min(m, n) == 0:
        x = xp.zeros(batch + (n, k), a.dtype)
        s = xp.zeros(batch + (0,), rt)
        rank = xp.zeros(batch, xp.int64)
    else:
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        thr = (eps(a.dtype) * max(m, n) if rcond is None else rcond) * s[..., :1]
        keep = s > thr
        rank = keep.sum(-1).astype(xp.int64)
        sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(rt)
        x = mH(vh) @ (sinv[..., :, None] * (mH(u) @ b))
    full_rank = bool((rank == n).all()) if rank.size else True
    if m > n and driver != "gelsy" and full_rank:
        r = a @ x - b
        residuals = (xp.abs(r) ** 2).sum(-2).astype(rt)
    else:
        residuals = xp.zeros((0,), rt)
    rank_out = rank if driver != "gels" else xp.zeros((0,), xp.int64)
    sv = s.astype(rt) if driver in ("gelsd", "gelss") else xp.zeros((0,), rt)
    return x, residuals, rank_out, sv


class LinalgLstsqBackward0(LinalgOp):
    autocast_policy = "fp32"
    save = (0, 1)
    save_outputs = (0,)

    def forward(ctx, a, b, rcond, driver, vector):
        if ctx is not None:
            ctx.vector = vector
        x, res, rank, sv = _lstsq_array(a, b[..., None] if vector else b, rcond, driver)
        if vector:
            x = x[..., 0]
            res = res[..., 0] if res.size else res
        return x, res, rank, sv

    def vjp(self, grads, a, b, x):
        gx, gl = grads[0], grads[1]
        vector = self.vector
        bm = b.unsqueeze(-1) if vector else b
        ga = gb = None
        if gx is not None:
            gxm = gx.unsqueeze(-1) if vector else gx
            p = pinv(a)
            if self.needs(0):
                ga = pinv_vjp(gxm @ mH(bm), p, a)
            if self.needs(1):
                gb = mH(p) @ gxm
        if gl is not None and gl.numel():
            xm = x.unsqueeze(-1) if vector else x
            r = a @ xm - bm
            glm = gl.unsqueeze(-2) if not vector else gl.unsqueeze(-1).unsqueeze(-1)
            if self.needs(0):
                t = 2 * (glm * r) @ mH(xm)
                ga = t if ga is None else ga + t
            if self.needs(1):
                t = -2 * glm * r
                gb = t if gb is None else gb + t
        if gb is not None and vector:
            gb = gb.squeeze(-1)
        return ga, gb


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None):
    """The least-squares solution of ``A X = B`` (the minimum-norm one when ``A`` is rank deficient), with
    PyTorch's extra outputs: residuals (for tall full-rank ``A``; not with the default driver 'gelsy'), the
    rank (not with 'gels') and the singular values ('gelsd' and 'gelss' only).

    >>> import dynagrad
    >>> A = dynagrad.tensor([[1., 0.], [0., 1.], [0., 0.]])
    >>> dynagrad.linalg.lstsq(A, dynagrad.tensor([[1.], [2.], [3.]])).solution
    tensor([[1.],
            [2.]])
    """
    fn = "torch.linalg.lstsq"
    check_tensor(A, "linalg_lstsq", "A")
    check_tensor(B, "linalg_lstsq", "B", 2)
    check_matrix(A, "linalg.lstsq", "A")
    check_float(A, "linalg.lstsq")
    same_dtype(A, B, "linalg.lstsq")
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = _is_vector_rhs(A, B)
    if B._data.ndim < 1 or (B._data.shape[-1] if vector else B._data.shape[-2]) != A._data.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    rc = None if rcond is None else float(rcond)
    x, res, rank, sv = LinalgLstsqBackward0.apply(A, B, rcond=rc, driver=driver, vector=vector)
    return linalg_lstsq(x, res, detach_int(rank), _no_grad(sv))


def _no_grad(t: Tensor) -> Tensor:
    return Tensor._wrap(t._data) if t.grad_fn is not None else t


# -- LU and LDL solves -----------------------------------------------------------------------------------------

class LinalgLuSolveBackward0(LinalgOp):
    save = (0, 1)
    save_outputs = (0,)

    def forward(ctx, lu, pivots, b, left, adjoint):
        if ctx is not None:
            ctx.left, ctx.adjoint = left, adjoint
        return K.lu_solve(lu, pivots, b, left, adjoint)

    def vjp(self, g, lu, pivots, x):
        left, adjoint = self.left, self.adjoint
        glu = gb = None
        if self.needs(2):
            gb = lu_solve(lu, pivots, g, left=left, adjoint=not adjoint)
        if self.needs(0):
            glu = _lu_solve_lu_grad(g, lu, pivots, x, left, adjoint)
        return glu, None, gb


def _lu_solve_lu_grad(gx, lu, pivots, x, left, adjoint):
    """PyTorch's gradient of ``lu_solve`` with respect to the packed LU factors."""
    from .decompositions import lu_unpack
    P, L, U = lu_unpack(lu, pivots)
    if left != adjoint:
        gr = solve_triangular(mH(U), -((gx if left else mH(gx)) @ (mH(x) if left else x)), upper=False)
        gl = solve_triangular(mH(L), gr @ mH(U), upper=True, left=True, unitriangular=True).tril(-1)
        return gl + gr.triu()
    gr = -(P.mT @ (x if left else mH(x)) @ (mH(gx) if left else gx) @ P)
    gr = solve_triangular(mH(L), gr, upper=True, left=False, unitriangular=True)
    gu = solve_triangular(mH(U), mH(L) @ gr, upper=False, left=False).triu()
    return gr.tril(-1) + gu


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False, out=None):
    """Solve ``A X = B`` from the LU factorisation of ``A`` (``lu_factor``); ``adjoint`` solves with ``A^H``,
    ``left=False`` solves ``X A = B``.

    >>> import dynagrad
    >>> A = dynagrad.tensor([[3., 1.], [1., 2.]])
    >>> LU, piv = dynagrad.linalg.lu_factor(A)
    >>> dynagrad.linalg.lu_solve(LU, piv, dynagrad.tensor([[9.], [8.]]))
    tensor([[2.],
            [3.]])
    """
    fn = "linalg.lu_solve"
    check_tensor(LU, "linalg_lu_solve", "LU")
    check_tensor(B, "linalg_lu_solve", "B", 3)
    check_square(LU, fn, "LU")
    check_matrix(B, fn, "B")
    check_float(LU, fn)
    same_dtype(LU, B, fn, "LU", "B")
    if pivots._data.dtype != xp.int32:
        raise RuntimeError(f"{fn}: pivots should be a Tensor of scalar type torch.int32")
    n = LU._data.shape[-1]
    if (B._data.shape[-2] if left else B._data.shape[-1]) != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B._data.shape[-2]}x{B._data.shape[-1]})")
    _batch(fn, LU, B)
    res = LinalgLuSolveBackward0.apply(LU, pivots, B, left=bool(left), adjoint=bool(adjoint))
    return write_out(res, out)


class LinalgLdlSolveBackward0(NotDifferentiable):
    message = "derivative for aten::linalg_ldl_solve is not implemented"

    def forward(ctx, ld, pivots, b, hermitian):
        return K.ldl_solve(ld, pivots, b, hermitian)


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out=None) -> Tensor:
    """Solve ``A X = B`` from the LDL factorisation of ``A`` (``ldl_factor``). Not differentiable (nor is
    it in PyTorch).

    >>> import dynagrad
    >>> A = dynagrad.tensor([[4., 2.], [2., 3.]])
    >>> LD, piv = dynagrad.linalg.ldl_factor(A)
    >>> dynagrad.linalg.ldl_solve(LD, piv, dynagrad.tensor([[6.], [5.]]))
    tensor([[1.],
            [1.]])
    """
    fn = "torch.linalg.ldl_solve"
    check_tensor(LD, "linalg_ldl_solve", "LD")
    check_tensor(B, "linalg_ldl_solve", "B", 3)
    check_square(LD, fn, "LD")
    check_matrix(B, fn, "B")
    check_float(LD, fn)
    same_dtype(LD, B, fn, "LD", "B")
    if pivots._data.dtype != xp.int32:
        raise RuntimeError(f"{fn}: Expected pivots to be integers. Got {pivots.dtype}")
    if B._data.shape[-2] != LD._data.shape[-1]:
        raise RuntimeError(f"{fn}: LD.size(-1) must match B.size(-2) but got {LD._data.shape[-1]} and "
                           f"{B._data.shape[-2]}")
    res = LinalgLdlSolveBackward0.apply(LD, pivots, B, hermitian=bool(hermitian))
    return write_out(res, out)


# -- tensor forms ----------------------------------------------------------------------------------------------

def tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """The inverse of ``A`` seen as a linear map from its last dims to its first ``ind`` dims.

    >>> import dynagrad
    >>> A = dynagrad.eye(4).reshape(4, 2, 2)
    >>> dynagrad.linalg.tensorinv(A, ind=1).shape
    torch.Size([2, 2, 4])
    """
    check_tensor(A, "linalg_tensorinv", "A")
    if ind <= 0:
        raise RuntimeError("Expected a strictly positive integer for 'ind', but got " + str(ind))
    shape = tuple(A._data.shape)
    rows, cols = math.prod(shape[:ind]), math.prod(shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    res = inv(A.reshape(rows, cols)).reshape(shape[ind:] + shape[:ind])
    return write_out(res, out)


def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """The ``X`` with ``tensordot(A, X, X.ndim) = B``; ``dims`` moves those dims of ``A`` to the end first.

    >>> import dynagrad
    >>> A = dynagrad.eye(6).reshape(2, 3, 6)
    >>> dynagrad.linalg.tensorsolve(A, dynagrad.ones(2, 3)).shape
    torch.Size([6])
    """
    check_tensor(A, "linalg_tensorsolve", "A")
    check_tensor(B, "linalg_tensorsolve", "B", 2)
    if dims is not None:
        nd = A._data.ndim
        dims = [d % nd for d in ((dims,) if isinstance(dims, int) else dims)]
        keep = [d for d in range(nd) if d not in dims]
        A = A.permute(*(keep + dims))
    bshape = tuple(B._data.shape)
    xshape = tuple(A._data.shape[B._data.ndim:])
    rows, cols = math.prod(bshape), math.prod(xshape)
    if tuple(A._data.shape[:B._data.ndim]) != bshape or rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    res = solve(A.reshape(rows, cols), B.reshape(rows)).reshape(xshape)
    return write_out(res, out)


# -- Cholesky solves (top-level torch functions) ---------------------------------------------------------------

class CholeskySolveBackward0(LinalgOp):
    autocast_policy = "fp32"
    save = (1,)
    save_outputs = (0,)

    def forward(ctx, b, l, upper):
        if ctx is not None:
            ctx.upper = upper
        c = xp.swapaxes(xp.conj(l), -1, -2) if upper else l  # the lower factor
        y = K.solve_triangular(c, b, upper=False)
        return K.solve_triangular(mH(c), y, upper=True)

    def vjp(self, g, l, x):
        upper = self.upper
        gb = cholesky_solve(g, l, upper=upper)
        gl = None
        if self.needs(1):
            common = gb @ mH(x)
            common = common + mH(common)
            gl = -(l @ common) if upper else -(common @ l)
        return (gb if self.needs(0) else None), gl


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Solve ``A X = B`` given the Cholesky factor ``L`` of ``A = L L^H`` (``U^H U`` with ``upper``).

    >>> import dynagrad
    >>> L = dynagrad.tensor([[2., 0.], [1., 1.]])
    >>> dynagrad.cholesky_solve(dynagrad.tensor([[4.], [3.]]), L)
    tensor([[0.5000],
            [1.0000]])
    """
    fn = "cholesky_solve"
    check_tensor(B, fn, "input")
    check_tensor(L, fn, "input2", 2)
    if B._data.ndim < 2 or L._data.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B._data.ndim} dimensions instead"
                           if B._data.ndim < 2 else
                           f"u should have at least 2 dimensions, but has {L._data.ndim} dimensions instead")
    check_square(L, fn, "L")
    check_float(L, fn)
    same_dtype(B, L, fn, "self", "input2")
    if B._data.shape[-2] != L._data.shape[-1]:
        raise RuntimeError(f"{fn}: Incompatible matrix sizes for cholesky_solve: each A matrix is "
                           f"{L._data.shape[-1]} by {L._data.shape[-1]} but each b matrix is "
                           f"{B._data.shape[-2]} by {B._data.shape[-1]}")
    res = CholeskySolveBackward0.apply(B, L, upper=bool(upper))
    return write_out(res, out)


class CholeskyInverseBackward0(LinalgOp):
    autocast_policy = "fp32"
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, l, upper):
        if ctx is not None:
            ctx.upper = upper
        c = xp.swapaxes(xp.conj(l), -1, -2) if upper else l
        eye = xp.broadcast_to(xp.eye(l.shape[-1], dtype=l.dtype), l.shape)
        y = K.solve_triangular(c, eye, upper=False)
        return mH(y) @ y

    def vjp(self, g, l, inv_):
        common = g + mH(g)
        common = inv_ @ (common @ inv_)
        return (-(l @ common) if self.upper else -(common @ l)),


def cholesky_inverse(L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """The inverse of ``A = L L^H`` (``U^H U`` with ``upper``) from its Cholesky factor.

    >>> import dynagrad
    >>> dynagrad.cholesky_inverse(dynagrad.tensor([[2., 0.], [0., 1.]]))
    tensor([[0.2500, 0.0000],
            [0.0000, 1.0000]])
    """
    fn = "cholesky_inverse"
    check_tensor(L, fn, "input")
    check_square(L, fn, "input")
    check_float(L, fn)
    res = CholeskyInverseBackward0.apply(L, upper=bool(upper))
    return write_out(res, out)


__all__ = ["solve", "solve_ex", "solve_triangular", "lu_solve", "ldl_solve", "lstsq", "inv", "inv_ex", "pinv",
           "tensorinv", "tensorsolve", "cholesky_solve", "cholesky_inverse"]
