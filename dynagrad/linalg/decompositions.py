"""Factorisations: ``cholesky``/``cholesky_ex``, ``qr``, ``lu``/``lu_factor``/``lu_factor_ex`` (and the
top-level ``lu_unpack``), ``ldl_factor``/``ldl_factor_ex``, ``svd``/``svdvals``, ``householder_product``
(and the top-level ``geqrf``, ``ormqr``), with PyTorch's gradients and their conditions: the singular
vectors of a complex SVD are defined up to a phase, so a loss that depends on it raises.
"""
from __future__ import annotations

from ..autograd import state as _state
from ..backend import xp
from ..ops.shape import cat, diag_embed
from ..tensor import Tensor
from . import _lapack as K
from ._common import (
    LinAlgError,
    LinalgOp,
    NotDifferentiable,
    batch_message,
    check_float,
    check_matrix,
    check_tensor,
    conj,
    detach_int,
    first_failure,
    imag_part,
    matrix_float,
    mH,
    real,
    result_type,
    square_float,
    write_out,
)
from .solvers import solve_triangular

linalg_cholesky_ex = result_type("linalg_cholesky_ex", ["L", "info"])
linalg_qr = result_type("linalg_qr", ["Q", "R"])
linalg_lu_factor = result_type("linalg_lu_factor", ["LU", "pivots"])
linalg_lu_factor_ex = result_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
linalg_lu = result_type("linalg_lu", ["P", "L", "U"])
lu_unpack_t = result_type("lu_unpack", ["P", "L", "U"])
linalg_ldl_factor = result_type("linalg_ldl_factor", ["LD", "pivots"])
linalg_ldl_factor_ex = result_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
linalg_svd = result_type("linalg_svd", ["U", "S", "Vh"])
geqrf_t = result_type("geqrf", ["a", "tau"])


def _grad_mode() -> bool:
    """Inside a backward formula: True when it builds a graph (create_graph=True)."""
    return _state.grad_enabled


# -- Cholesky --------------------------------------------------------------------------------------------------

def _cholesky_array(a, upper: bool):
    """(L, info): the lower factor (or upper, from the upper triangle) and LAPACK's info per matrix."""
    src = mH(a) if upper else a  # potrf('U') reads the upper triangle: U^H U = A is the lower factor of A^H
    try:
        low = xp.linalg.cholesky(src) if src.size else xp.array(src, copy=True)
        info = xp.zeros(a.shape[:-2], xp.int32)
    except xp.linalg.LinAlgError:
        n = a.shape[-1]
        flat = src.reshape((-1, n, n))
        low = xp.empty_like(flat)
        info = xp.zeros(flat.shape[0], xp.int32)
        for i, m in enumerate(flat):
            try:
                low[i] = xp.linalg.cholesky(m)
            except xp.linalg.LinAlgError:
                low[i], info[i] = K.cholesky_partial(m)
        low, info = low.reshape(a.shape), info.reshape(a.shape[:-2])
    return (mH(low) if upper else low), info


class LinalgCholeskyExBackward0(LinalgOp):
    autocast_policy = "fp32"
    save_outputs = (0,)

    def forward(ctx, a, upper):
        if ctx is not None:
            ctx.upper = upper
        return _cholesky_array(a, upper)

    def vjp(self, grads, L):
        gL = grads[0]
        if gL is None:
            return (None,)
        upper = self.upper
        low = mH(L) if upper else L
        gl = mH(gL) if upper else gL
        # gA = L^{-H} Phi(L^H gL) L^{-1}, Phi the lower triangle with half the diagonal, made Hermitian
        ga = (mH(low) @ gl).tril()
        ga = 0.5 * (ga + mH(ga.tril(-1)))
        ga = solve_triangular(mH(low), ga, upper=True, left=True)
        return (solve_triangular(low, ga, upper=False, left=False),)


def _not_pd(info: Tensor, A: Tensor, fn: str) -> None:
    arr = xp.asarray(info._data)
    if arr.size and arr.any():
        i = first_failure(arr)
        msg = (f"The factorization could not be completed because the input is not positive-definite (the "
               f"leading minor of order {int(arr.reshape(-1)[i])} is not positive-definite).")
        raise LinAlgError(batch_message(fn, i, A._data.ndim, msg))


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """The Cholesky factor and ``info`` (the order of the first leading minor that is not positive-definite,
    0 if none) instead of an error.

    >>> import dynagrad
    >>> dynagrad.linalg.cholesky_ex(dynagrad.tensor([[4., 2.], [2., 3.]])).L
    tensor([[2.0000, 0.0000],
            [1.0000, 1.4142]])
    """
    square_float(A, "linalg.cholesky_ex")
    L, info = LinalgCholeskyExBackward0.apply(A, upper=bool(upper))
    info = detach_int(info)
    if check_errors:
        _not_pd(info, A, "linalg.cholesky_ex")
    return write_out(linalg_cholesky_ex(L, info), out)


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """The Cholesky factor ``L`` of a Hermitian positive-definite matrix, ``A = L L^H`` (the upper factor
    ``U``, ``A = U^H U``, with ``upper``); raises ``LinAlgError`` if ``A`` is not positive-definite.

    >>> import dynagrad
    >>> dynagrad.linalg.cholesky(dynagrad.tensor([[4., 2.], [2., 3.]]))
    tensor([[2.0000, 0.0000],
            [1.0000, 1.4142]])
    """
    square_float(A, "linalg.cholesky")
    L, info = LinalgCholeskyExBackward0.apply(A, upper=bool(upper))
    _not_pd(info, A, "linalg.cholesky")
    return write_out(L, out)


# -- QR --------------------------------------------------------------------------------------------------------

def _qr_modes(mode):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           f"'r', or 'complete'")


class LinalgQrBackward0(LinalgOp):
    autocast_policy = "fp32"
    save_outputs = (0, 1)

    def forward(ctx, a, mode):
        if ctx is not None:
            ctx.mode = mode
        m, n = a.shape[-2:]
        if mode == "r":
            r = xp.linalg.qr(a, mode="r") if a.size else xp.zeros(a.shape[:-2] + (min(m, n), n), a.dtype)
            return xp.zeros((0,), a.dtype), r
        if a.size == 0:
            k = m if mode == "complete" else min(m, n)
            q = xp.broadcast_to(xp.eye(m, k, dtype=a.dtype), a.shape[:-2] + (m, k)).copy()
            return q, xp.zeros(a.shape[:-2] + (k, n), a.dtype)
        return tuple(xp.linalg.qr(a, mode=mode))

    def vjp(self, grads, Q, R):
        gQ, gR = grads
        if gQ is None and gR is None:
            return (None,)
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        m, n = Q.shape[-2], R.shape[-1]
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        if gQ is not None:
            gA = (gR @ mH(R) - mH(Q) @ gQ) if gR is not None else -(mH(Q) @ gQ)
        else:
            gA = gR @ mH(R)
        if m >= n:
            t = gA.triu()
            t = t + mH(t)
            t = t - 0.5 * diag_embed(real(t.diagonal(0, -2, -1)).to(t.dtype))  # halve the real diagonal
            gA = Q @ t
            if gQ is not None:
                gA = gA + gQ
            return (solve_triangular(mH(R), gA, upper=False, left=False),)
        x = -gA
        y = (x - mH(x)).tril()
        if Q.is_complex():
            d = y.diagonal(0, -2, -1)
            y = y - 0.5 * diag_embed(imag_part(d) * 1j)  # halve the imaginary diagonal
        gA = Q @ y
        gA = solve_triangular(mH(R[..., :, :m]), gA, upper=False, left=False)
        gA = cat([gA, gA.new_zeros(tuple(R.shape[:-1]) + (n - m,))], -1)
        if gR is not None:
            gA = gA + Q @ gR
        return (gA,)


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """``A = Q R`` with orthonormal (unitary) ``Q`` and upper triangular ``R``; ``mode`` 'reduced' (k =
    min(m, n) columns of Q), 'complete' (all m) or 'r' (R only; Q is empty).

    >>> import dynagrad
    >>> Q, R = dynagrad.linalg.qr(dynagrad.tensor([[3., 1.], [4., 2.]]))
    >>> R
    tensor([[-5.0000, -2.2000],
            [ 0.0000,  0.4000]])
    """
    _qr_modes(mode)
    matrix_float(A, "linalg.qr")
    Q, R = LinalgQrBackward0.apply(A, mode=mode)
    return write_out(linalg_qr(Q, R), out)


# -- LU --------------------------------------------------------------------------------------------------------

def _lu_checks(A, pivot, fn):
    matrix_float(A, fn)
    if not pivot:
        raise RuntimeError(f"{fn}: LU without pivoting is not implemented on the CPU")


class LinalgLuFactorExBackward0(LinalgOp):
    save_outputs = (0, 1)

    def forward(ctx, a, pivot):
        lu, piv, info = K.lu_factor(a, pivot)
        return lu, piv, info

    def vjp(self, grads, LU, pivots):
        g = grads[0]
        if g is None:
            return (None,)
        m, n = LU.shape[-2:]
        k = min(m, n)
        P, L, U = lu_unpack(LU, pivots)
        return (lu_vjp(g[..., :, :k], g[..., :k, :], P, L, U),)


def lu_vjp(gL, gU, P, L, U):
    """PyTorch's gradient of ``A = P L U`` (gL or gU may be None)."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if gL is None and gU is None:
        return None
    if m == n:
        ga = (mH(L) @ gL).tril(-1) if gL is not None else None
        if gU is not None:
            t = (gU @ mH(U)).triu()
            ga = t if ga is None else ga + t
        ga = solve_triangular(mH(U), ga, upper=False, left=False)
        ga = solve_triangular(mH(L), ga, upper=True, left=True, unitriangular=True)
        return P @ ga
    if m < n:
        ga = mH(L) @ gL if gL is not None else None
        if gU is not None:
            t = gU.triu() @ mH(U)
            ga = -t if ga is None else ga - t
        ga = solve_triangular(mH(U[..., :, :k]), ga.tril(-1), upper=False, left=False)
        if gU is not None:
            ga = cat([ga + gU[..., :, :k].triu(), gU[..., :, k:]], -1)
        ga = solve_triangular(mH(L), ga, upper=True, left=True, unitriangular=True)
        if gU is None:
            ga = cat([ga, ga.new_zeros(tuple(ga.shape[:-1]) + (n - k,))], -1)
        return P @ ga
    ga = gU @ mH(U) if gU is not None else None
    if gL is not None:
        t = mH(L) @ gL.tril(-1)
        ga = -t if ga is None else ga - t
    ga = solve_triangular(mH(L[..., :k, :]), ga.triu(), upper=True, left=True, unitriangular=True)
    if gL is not None:
        ga = cat([ga + gL[..., :k, :].tril(-1), gL[..., k:, :]], -2)
    ga = solve_triangular(mH(U), ga, upper=False, left=False)
    if gL is None:
        ga = cat([ga, ga.new_zeros(tuple(ga.shape[:-2]) + (m - k, ga.shape[-1]))], -2)
    return P @ ga


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None):
    """LAPACK's packed LU factorisation (``LU``, 1-based int32 ``pivots``) and ``info`` (the 1-based index
    of the first zero on U's diagonal, 0 if none).

    >>> import dynagrad
    >>> dynagrad.linalg.lu_factor_ex(dynagrad.tensor([[1., 2.], [3., 4.]])).pivots
    tensor([2, 2], dtype=torch.int32)
    """
    _lu_checks(A, pivot, "linalg.lu_factor_ex")
    LU, piv, info = LinalgLuFactorExBackward0.apply(A, pivot=bool(pivot))
    piv, info = detach_int(piv), detach_int(info)
    if check_errors:
        _raise_lu(info, A, "torch.linalg.lu_factor_ex")
    return write_out(linalg_lu_factor_ex(LU, piv, info), out)


def _raise_lu(info, A, fn):
    arr = xp.asarray(info._data)
    if arr.size and arr.any():  # a RuntimeError, not a LinAlgError, as PyTorch raises it
        i = first_failure(arr)
        j = int(arr.reshape(-1)[i])
        msg = (f"U[{j},{j}] is zero and using it on lu_solve would result in a division by zero. If you still "
               f"want to perform the factorization, consider calling linalg.lu(A, pivot) or "
               f"linalg.lu_factor_ex(A, pivot)")
        raise RuntimeError(batch_message(fn, i, A._data.ndim, msg))


def lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """LAPACK's packed LU factorisation: ``LU`` (L below the diagonal, U on and above) and 1-based int32
    ``pivots``; a singular matrix raises (use ``lu_factor_ex`` or ``lu`` for those).

    >>> import dynagrad
    >>> LU, piv = dynagrad.linalg.lu_factor(dynagrad.tensor([[1., 2.], [3., 4.]]))
    >>> LU
    tensor([[3.0000, 4.0000],
            [0.3333, 0.6667]])
    """
    _lu_checks(A, pivot, "linalg.lu_factor")
    LU, piv, info = LinalgLuFactorExBackward0.apply(A, pivot=bool(pivot))
    _raise_lu(info, A, "torch.linalg.lu_factor")
    return write_out(linalg_lu_factor(LU, detach_int(piv)), out)


class LinalgLuBackward0(LinalgOp):
    save_outputs = (0, 1, 2)

    def forward(ctx, a, pivot):
        lu, piv, _ = K.lu_factor(a, pivot)
        return K.lu_unpack(lu, piv)

    def vjp(self, grads, P, L, U):
        return (lu_vjp(grads[1], grads[2], P, L, U),)


def lu(A: Tensor, *, pivot: bool = True, out=None):
    """``A = P L U`` with a permutation matrix ``P``, unit lower triangular ``L`` and upper ``U``.

    >>> import dynagrad
    >>> P, L, U = dynagrad.linalg.lu(dynagrad.tensor([[1., 2.], [3., 4.]]))
    >>> P @ L @ U
    tensor([[1., 2.],
            [3., 4.]])
    """
    _lu_checks(A, pivot, "linalg.lu")
    P, L, U = LinalgLuBackward0.apply(A, pivot=bool(pivot))
    return write_out(linalg_lu(_no_grad(P), L, U), out)


def _no_grad(t: Tensor) -> Tensor:
    return Tensor._wrap(t._data) if t.grad_fn is not None else t


class LuUnpackBackward0(LinalgOp):
    def forward(ctx, lu, pivots, unpack_data, unpack_pivots):
        if ctx is not None:
            ctx.shape = lu.shape
        return K.lu_unpack(lu, pivots, unpack_data, unpack_pivots)

    def vjp(self, grads, *saved):
        gL, gU = grads[1], grads[2]
        if gL is None and gU is None:
            return None, None
        m, n = self.shape[-2:]
        k = min(m, n)
        if gL is not None and gU is not None:
            if m == n:
                return gL.tril(-1) + gU.triu(), None
            a1 = gL[..., :k, :].tril(-1) + gU[..., :, :k].triu()
            return (cat([a1, gL[..., k:, :]], -2) if m > n else cat([a1, gU[..., :, k:]], -1)), None
        if gL is not None:
            if m >= n:
                return gL.tril(-1), None
            return cat([gL.tril(-1), gL.new_zeros(tuple(gL.shape[:-1]) + (n - m,))], -1), None
        if n >= m:
            return gU.triu(), None
        return cat([gU.triu(), gU.new_zeros(tuple(gU.shape[:-2]) + (m - n, n))], -2), None


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out=None):
    """(P, L, U) from ``lu_factor``'s packed result (``torch.lu_unpack``).

    >>> import dynagrad
    >>> LU, piv = dynagrad.linalg.lu_factor(dynagrad.tensor([[1., 2.], [3., 4.]]))
    >>> dynagrad.lu_unpack(LU, piv).P
    tensor([[0., 1.],
            [1., 0.]])
    """
    check_tensor(LU_data, "lu_unpack", "LU_data")
    check_matrix(LU_data, "torch.lu_unpack", "LU_data")
    if LU_pivots._data.dtype != xp.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype. "
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    P, L, U = LuUnpackBackward0.apply(LU_data, LU_pivots, unpack_data=bool(unpack_data),
                                      unpack_pivots=bool(unpack_pivots))
    return write_out(lu_unpack_t(_no_grad(P), L, U), out)


# -- LDL -------------------------------------------------------------------------------------------------------

class LinalgLdlFactorExBackward0(NotDifferentiable):
    message = "derivative for aten::linalg_ldl_factor_ex is not implemented"

    def forward(ctx, a, hermitian):
        return K.ldl_factor(a, hermitian)


def _ldl_checks(A, fn):
    square_float(A, fn)


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out=None):
    """``A = P L D L^T P^T`` (``L^H`` with ``hermitian``) by Bunch-Kaufman pivoting, in LAPACK's compact form,
    with ``info`` (the 1-based index of a zero block of D, 0 if none). Not differentiable (as in PyTorch).

    >>> import dynagrad
    >>> dynagrad.linalg.ldl_factor_ex(dynagrad.tensor([[4., 2.], [2., 3.]])).LD
    tensor([[4.0000, 0.0000],
            [0.5000, 2.0000]])
    """
    _ldl_checks(A, "torch.linalg.ldl_factor_ex")
    LD, piv, info = LinalgLdlFactorExBackward0.apply(A, hermitian=bool(hermitian))
    piv, info = detach_int(piv), detach_int(info)
    if check_errors:
        _raise_ldl(info, A, "torch.linalg.ldl_factor_ex")
    return write_out(linalg_ldl_factor_ex(LD, piv, info), out)


def _raise_ldl(info, A, fn):
    arr = xp.asarray(info._data)
    if arr.size and arr.any():
        i = first_failure(arr)
        msg = (f"The factorization could not be completed because the block diagonal matrix D has a zero "
               f"block at position {int(arr.reshape(-1)[i])}, so the matrix is singular.")
        raise LinAlgError(batch_message(fn, i, A._data.ndim, msg))


def ldl_factor(A: Tensor, *, hermitian: bool = False, out=None):
    """The compact LDL factorisation (``LD``, int32 ``pivots``) of a symmetric (Hermitian) matrix; a singular
    D raises ``LinAlgError``.

    >>> import dynagrad
    >>> dynagrad.linalg.ldl_factor(dynagrad.tensor([[4., 2.], [2., 3.]])).pivots
    tensor([1, 2], dtype=torch.int32)
    """
    _ldl_checks(A, "torch.linalg.ldl_factor")
    LD, piv, info = LinalgLdlFactorExBackward0.apply(A, hermitian=bool(hermitian))
    _raise_ldl(info, A, "torch.linalg.ldl_factor")
    return write_out(linalg_ldl_factor(LD, detach_int(piv)), out)


# -- SVD -------------------------------------------------------------------------------------------------------

def _svd_array(a, full_matrices: bool, compute_uv: bool = True):
    m, n = a.shape[-2:]
    k = min(m, n)
    rt = xp.finfo(a.dtype).dtype
    if a.size == 0:
        batch = a.shape[:-2]
        s = xp.zeros(batch + (k,), rt)
        if not compute_uv:
            return s
        mu, nv = (m, n) if full_matrices else (k, k)
        u = xp.broadcast_to(xp.eye(m, mu, dtype=a.dtype), batch + (m, mu)).copy()
        vh = xp.broadcast_to(xp.eye(nv, n, dtype=a.dtype), batch + (nv, n)).copy()
        return u, s, vh
    if not compute_uv:
        return xp.linalg.svd(a, compute_uv=False).astype(rt, copy=False)
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    return u, s.astype(rt, copy=False), vh


def svd_vjp(gU, gS, gVh, U, S, Vh):
    """PyTorch's gradient of the reduced SVD ``A = U diag(S) Vh`` (gU, gS, gVh may be None). The loss must
    not depend on the phases of complex singular vectors: that is checked, as PyTorch does."""
    if gU is None and gS is None and gVh is None:
        return None
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        return U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh
    is_complex = U.is_complex()
    uhgu = vhgv = None
    if gU is not None:
        uhgu = mH(U) @ gU
        uhgu = uhgu - mH(uhgu)
    if gVh is not None:
        vhgv = Vh @ mH(gVh)
        vhgv = vhgv - mH(vhgv)
    if is_complex:
        a = imag_part(uhgu.diagonal(0, -2, -1))._data if uhgu is not None else xp.zeros(S.shape)
        b = imag_part(vhgv.diagonal(0, -2, -1))._data if vhgv is not None else xp.zeros(S.shape)
        if not xp.allclose(a, -b, rtol=1e-2, atol=1e-2):
            raise RuntimeError("svd_backward: The singular vectors in the complex case are specified up to "
                               "multiplication by e^{i phi}. The specified loss function depends on this phase "
                               "term, making it ill-defined.")
    s2 = S * S
    E = s2.unsqueeze(-2) - s2.unsqueeze(-1)
    E = _unit_diag(E)
    if uhgu is not None and vhgv is not None:
        ga = (uhgu * S.unsqueeze(-2) + S.unsqueeze(-1) * vhgv) / E
    elif uhgu is not None:
        ga = (uhgu / E) * S.unsqueeze(-2)
    else:
        ga = S.unsqueeze(-1) * (vhgv / E)
    if gS is not None:
        ga = ga + diag_embed(gS.to(ga.dtype))
    if is_complex and uhgu is not None and vhgv is not None:
        ga = ga + diag_embed(uhgu.diagonal(0, -2, -1) / (2 * S).to(uhgu.dtype))
    if m > n and gU is not None:
        ga = U @ ga
        gus = gU / S.unsqueeze(-2).to(gU.dtype)
        ga = ga + gus - U @ (mH(U) @ gus)
        return ga @ Vh
    if m < n and gVh is not None:
        ga = ga @ Vh
        sgv = gVh / S.unsqueeze(-1).to(gVh.dtype)
        ga = ga + sgv - (sgv @ mH(Vh)) @ Vh
        return U @ ga
    return U @ (ga @ Vh) if m >= n else (U @ ga) @ Vh


def _unit_diag(E: Tensor) -> Tensor:
    """``E`` with ones on its diagonal (the entries formulas divide by and then discard)."""
    eye = Tensor._wrap(xp.eye(E.shape[-1], dtype=E._data.dtype))
    return E * (1 - eye) + eye


class LinalgSvdBackward0(LinalgOp):
    autocast_policy = "fp32"
    save_outputs = (0, 1, 2)

    def forward(ctx, a, full_matrices):
        if ctx is not None:
            ctx.full = full_matrices
        return _svd_array(a, full_matrices)

    def vjp(self, grads, U, S, Vh):
        gU, gS, gVh = grads
        if self.full:
            k = S.shape[-1]
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = gU[..., :, :k] if gU is not None else None
            gVh = gVh[..., :k, :] if gVh is not None else None
        return (svd_vjp(gU, gS, gVh, U, S, Vh),)


class SvdvalsBackward(LinalgSvdBackward0):
    """The singular values alone (``svdvals``); the singular vectors the gradient needs are computed only
    when a graph is recorded."""

    save = (0,)
    save_outputs = (0,)

    def name(self) -> str:
        return "LinalgSvdBackward0"

    def forward(ctx, a):
        if ctx is None:
            return _svd_array(a, False, compute_uv=False)
        ctx._u, s, ctx._vh = _svd_array(a, False)
        return s

    def vjp(self, gS, a, S):
        if _grad_mode():  # differentiable again: the vectors as outputs of an SVD of the input
            U, _, Vh = svd(a, full_matrices=False)
        else:
            U, Vh = Tensor._wrap(self._u), Tensor._wrap(self._vh)
        return (svd_vjp(None, gS, None, U, S, Vh),)


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out=None):
    """``A = U diag(S) Vh`` with orthonormal (unitary) ``U``, ``Vh`` and real non-negative ``S`` in descending
    order. Gradients need distinct singular values (and, for complex inputs, a loss that does not depend on
    the phases of the singular vectors, which is checked).

    >>> import dynagrad
    >>> dynagrad.linalg.svd(dynagrad.tensor([[3., 0.], [0., -2.]])).S
    tensor([3., 2.])
    """
    matrix_float(A, "linalg.svd")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
                           "with cuSOLVER backend.")
    U, S, Vh = LinalgSvdBackward0.apply(A, full_matrices=bool(full_matrices))
    return write_out(linalg_svd(U, S, Vh), out)


def svdvals(A: Tensor, *, driver: str | None = None, out=None) -> Tensor:
    """The singular values of ``A`` in descending order (real, also for complex ``A``).

    >>> import dynagrad
    >>> dynagrad.linalg.svdvals(dynagrad.tensor([[3., 0.], [0., -2.]]))
    tensor([3., 2.])
    """
    matrix_float(A, "linalg.svdvals")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
                           "with cuSOLVER backend.")
    return write_out(SvdvalsBackward.apply(A), out)


# -- Householder products --------------------------------------------------------------------------------------

def _householder_t(V: Tensor, tau: Tensor) -> Tensor:
    """``householder_product`` written with differentiable ops (its backward differentiates this)."""
    m, n = V.shape[-2:]
    k = tau.shape[-1]
    eye = Tensor._wrap(xp.eye(m, k, dtype=V._data.dtype))
    v = V[..., :, :k].tril(-1) + eye
    Q = Tensor._wrap(xp.eye(m, n, dtype=xp.result_type(V._data.dtype, tau._data.dtype)))
    for i in range(k - 1, -1, -1):
        vi = v[..., :, i:i + 1]
        Q = Q - (tau[..., i:i + 1].unsqueeze(-1) * vi) @ (mH(vi) @ Q)
    return Q


def _recompute_vjp(fn, inputs, needs, g):
    """The gradient of ``fn(*inputs)`` for ``g``, by differentiating its composite form (inside a backward;
    a graph of the gradient is built when create_graph is on)."""
    from ..autograd import grad as autograd_grad
    from ..autograd.grad_mode import enable_grad
    create = _grad_mode()
    with enable_grad():
        xs = []
        for x, want in zip(inputs, needs):
            y = x.view_as(x) if create else Tensor._wrap(x._data)
            if want and not y._requires_grad:
                y.requires_grad_()
            xs.append(y)
        out = fn(*xs)
        want = [x for x, w in zip(xs, needs) if w]
        got = iter(autograd_grad(out, want, grad_outputs=g, create_graph=create, allow_unused=True))
    return tuple(next(got) if w else None for w in needs)


class LinalgHouseholderProductBackward0(LinalgOp):
    autocast_policy = "fp32"
    save = (0, 1)

    def forward(ctx, v, tau):
        return K.householder_product(v, tau)

    def vjp(self, g, v, tau):
        return _recompute_vjp(_householder_t, (v, tau), (self.needs(0), self.needs(1)), g)


def householder_product(A: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """The first n columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^H``, with ``v_i`` the columns of
    ``A`` below the diagonal (and 1 on it): the ``Q`` of ``geqrf``'s output (LAPACK's orgqr).

    >>> import dynagrad
    >>> a, tau = dynagrad.geqrf(dynagrad.tensor([[3., 1.], [4., 2.]]))
    >>> dynagrad.linalg.householder_product(a, tau)
    tensor([[-0.6000, -0.8000],
            [-0.8000,  0.6000]])
    """
    fn = "torch.linalg.householder_product"
    check_tensor(A, "linalg_householder_product", "input")
    check_tensor(tau, "linalg_householder_product", "tau", 2)
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if m < n:
        raise RuntimeError(f"{fn}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if tau._data.shape[-1] > n:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tau._data.ndim != A._data.ndim - 1 or tau._data.shape[:-1] != A._data.shape[:-2]:
        raise RuntimeError(f"{fn}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau._data.shape[:-1])}")
    check_float(A, "linalg.householder_product")
    if A._data.dtype != tau._data.dtype:
        raise RuntimeError(f"{fn}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    return write_out(LinalgHouseholderProductBackward0.apply(A, tau), out)


class GeqrfBackward0(NotDifferentiable):
    autocast_policy = "fp32"
    message = "the derivative for 'geqrf' is not implemented."
    error = NotImplementedError

    def forward(ctx, a):
        m, n = a.shape[-2:]
        if a.size == 0:
            return xp.array(a, copy=True), xp.zeros(a.shape[:-2] + (min(m, n),), a.dtype)
        h, tau = xp.linalg.qr(a, mode="raw")
        return xp.ascontiguousarray(xp.swapaxes(h, -1, -2)), tau


def geqrf(input: Tensor, *, out=None):  # noqa: A002 - PyTorch's name
    """LAPACK's geqrf: R on and above the diagonal, the Householder vectors below, and their scales ``tau``
    (see ``householder_product``, ``ormqr``). Not differentiable (nor is it in PyTorch).

    >>> import dynagrad
    >>> dynagrad.geqrf(dynagrad.tensor([[3., 1.], [4., 2.]])).tau
    tensor([1.6000, 0.0000])
    """
    matrix_float(input, "geqrf")
    a, tau = GeqrfBackward0.apply(input)
    return write_out(geqrf_t(a, tau), out)


def _ormqr_t(a, tau, c, left, transpose):
    m = a.shape[-2]
    k = tau.shape[-1]
    eye = Tensor._wrap(xp.eye(m, k, dtype=a._data.dtype))
    v = a[..., :, :k].tril(-1) + eye
    forward = (left and transpose) or (not left and not transpose)
    for i in (range(k) if forward else range(k - 1, -1, -1)):
        vi = v[..., :, i:i + 1]
        t = tau[..., i:i + 1].unsqueeze(-1)
        if transpose:
            t = conj(t)
        c = c - (t * vi) @ (mH(vi) @ c) if left else c - (c @ vi) @ (t * mH(vi))
    return c


class OrmqrBackward0(LinalgOp):
    autocast_policy = "fp32"
    save = (0, 1, 2)

    def forward(ctx, a, tau, c, left, transpose):
        if ctx is not None:
            ctx.left, ctx.transpose = left, transpose
        return K.ormqr(a, tau, c, left, transpose)

    def vjp(self, g, a, tau, c):
        def f(a_, t_, c_):
            return _ormqr_t(a_, t_, c_, self.left, self.transpose)
        return _recompute_vjp(f, (a, tau, c), (self.needs(0), self.needs(1), self.needs(2)), g)


def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True, transpose: bool = False, *,
          out=None) -> Tensor:  # noqa: A002
    """``Q C`` (``C Q`` with ``left=False``; ``Q^H`` with ``transpose``) for the ``Q`` of ``geqrf``'s output
    (``input``, ``input2`` = tau), without forming ``Q``.

    >>> import dynagrad
    >>> a, tau = dynagrad.geqrf(dynagrad.tensor([[3., 1.], [4., 2.]]))
    >>> dynagrad.ormqr(a, tau, dynagrad.eye(2))
    tensor([[-0.6000, -0.8000],
            [-0.8000,  0.6000]])
    """
    check_tensor(input, "ormqr", "input")
    check_matrix(input, "torch.ormqr", "input")
    check_float(input, "torch.ormqr")
    c = input3
    m_c = c._data.shape[-2] if left else c._data.shape[-1]
    if m_c != input._data.shape[-2]:
        raise RuntimeError(f"torch.ormqr: other.shape[{-2 if left else -1}] must be equal to input.shape[-2]")
    if input2._data.shape[-1] > input._data.shape[-1]:
        raise RuntimeError("torch.ormqr: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    res = OrmqrBackward0.apply(input, input2, input3, left=bool(left), transpose=bool(transpose))
    return write_out(res, out)
