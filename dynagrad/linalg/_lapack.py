"""The LAPACK routines PyTorch calls that ``numpy.linalg`` does not expose, written with NumPy on batches
of matrices (..., m, n): LU with partial pivoting (getrf) and its solve (getrs), triangular solves (trsm),
the partial Cholesky factor LAPACK leaves on failure (potf2), Bunch-Kaufman LDL^T (sytf2/hetf2 and their
solves), Householder products (orgqr, ormqr), and the matrix exponential as PyTorch computes it (Bader,
Blanes and Casas' optimised Taylor polynomials, degree chosen by the 1-norm, with scaling and squaring).

Everything works on NumPy arrays and returns NumPy arrays; pivots are LAPACK's (1-based, int32).
"""
from __future__ import annotations

import numpy as np

_BLOCK = 32  # panel width of the blocked LU and leaf size of the recursive triangular solves


# -- LU with partial pivoting ----------------------------------------------------------------------------------

def lu_factor(a: np.ndarray, pivot: bool = True):
    """(LU, pivots, info) as LAPACK's getrf gives them: LU holds L (unit diagonal, not stored) below the
    diagonal and U on and above it; ``pivots[..., i]`` is the 1-based row swapped with row i; ``info`` is
    the 1-based index of the first exactly zero pivot (0 if none). Blocked: panels of ``_BLOCK`` columns
    are factored one column at a time, the rest is updated with one triangular solve and one product."""
    a = np.array(a, copy=True)
    *batch, m, n = a.shape
    k = min(m, n)
    lu = a.reshape((-1, m, n))
    B = lu.shape[0]
    piv = np.tile(np.arange(1, k + 1, dtype=np.int32), (B, 1))
    info = np.zeros(B, np.int32)
    rows = np.arange(B)
    for j0 in range(0, k, _BLOCK):
        j1 = min(j0 + _BLOCK, k)
        for j in range(j0, j1):
            col = np.abs(lu[:, j:, j])
            if pivot:
                p = j + np.argmax(col, axis=1)
                piv[:, j] = p + 1
                swap = p != j
                if swap.any():
                    r = rows[swap]
                    tmp = lu[r, j, :].copy()
                    lu[r, j, :] = lu[r, p[swap], :]
                    lu[r, p[swap], :] = tmp
            d = lu[:, j, j]
            zero = d == 0
            if zero.any():
                first = zero & (info == 0)
                info[first] = j + 1
            if j + 1 < m:
                lu[:, j + 1:, j] /= np.where(zero, 1, d)[:, None]
            if j + 1 < j1:  # update the rest of the panel only
                lu[:, j + 1:, j + 1:j1] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:j1]
        if j1 < n:  # U12 = L11^{-1} A12, A22 -= L21 U12
            l11 = lu[:, j0:j1, j0:j1]
            lu[:, j0:j1, j1:] = solve_triangular(l11, lu[:, j0:j1, j1:], upper=False, unit=True)
            if j1 < m:
                lu[:, j1:, j1:] -= lu[:, j1:, j0:j1] @ lu[:, j0:j1, j1:]
    return lu.reshape(a.shape), piv.reshape(tuple(batch) + (k,)), info.reshape(tuple(batch))


def permutation_of(pivots: np.ndarray, m: int) -> np.ndarray:
    """The row order ``perm`` with ``A[perm] = L U`` from LAPACK pivots (batched)."""
    batch = pivots.shape[:-1]
    p = pivots.reshape((-1, pivots.shape[-1])).astype(np.int64) - 1
    perm = np.tile(np.arange(m), (p.shape[0], 1))
    rows = np.arange(p.shape[0])
    for i in range(p.shape[1]):
        j = p[:, i]
        a, b = perm[rows, i].copy(), perm[rows, j].copy()
        perm[rows, i], perm[rows, j] = b, a
    return perm.reshape(batch + (m,))


def lu_unpack(lu: np.ndarray, pivots: np.ndarray, unpack_data: bool = True, unpack_pivots: bool = True):
    """(P, L, U) with ``A = P L U`` from the packed factors (empty arrays for what is not unpacked)."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    if unpack_data:
        L = np.tril(lu[..., :, :k], -1)
        idx = np.arange(k)
        L[..., idx, idx] = 1
        U = np.triu(lu[..., :k, :])
    else:
        L = U = np.empty((0,), lu.dtype)
    if unpack_pivots:
        perm = permutation_of(pivots, m)
        batch = np.broadcast_shapes(lu.shape[:-2], pivots.shape[:-1])
        P = np.zeros(batch + (m, m), lu.dtype)
        # A[perm] = L U, so A = P L U with P[perm[i], i] = 1
        perm = np.broadcast_to(perm, batch + (m,))
        np.put_along_axis(P, perm[..., None, :], 1, axis=-2)
    else:
        P = np.empty((0,), lu.dtype)
    return P, L, U


def apply_pivots(b: np.ndarray, pivots: np.ndarray, inverse: bool = False) -> np.ndarray:
    """The row swaps of ``pivots`` applied to ``b`` (..., m, k) in order (or undone, in reverse)."""
    batch = np.broadcast_shapes(b.shape[:-2], pivots.shape[:-1])
    b = np.array(np.broadcast_to(b, batch + b.shape[-2:]), copy=True)
    p = np.broadcast_to(pivots, batch + pivots.shape[-1:]).reshape((-1, pivots.shape[-1])).astype(np.int64) - 1
    flat = b.reshape((-1,) + b.shape[-2:])
    rows = np.arange(flat.shape[0])
    order = range(p.shape[1] - 1, -1, -1) if inverse else range(p.shape[1])
    for i in order:
        j = p[:, i]
        if (j != i).any():
            tmp = flat[rows, i, :].copy()
            flat[rows, i, :] = flat[rows, j, :]
            flat[rows, j, :] = tmp
    return flat.reshape(b.shape)


def lu_solve(lu: np.ndarray, pivots: np.ndarray, b: np.ndarray, left: bool = True, adjoint: bool = False):
    """Solve ``A X = B`` (``A^H X = B`` with adjoint; ``X A = B`` / ``X A^H = B`` with ``left=False``) from
    ``A = P L U``."""
    if not left:  # X A = B  <=>  A^H X^H = B^H
        bh = np.conj(np.swapaxes(b, -1, -2)) if b.dtype.kind == "c" else np.swapaxes(b, -1, -2)
        x = lu_solve(lu, pivots, bh, True, not adjoint)
        return np.conj(np.swapaxes(x, -1, -2)) if x.dtype.kind == "c" else np.swapaxes(x, -1, -2)
    if not adjoint:  # L U X = P^T B
        y = apply_pivots(b, pivots)
        y = solve_triangular(lu, y, upper=False, unit=True)
        return solve_triangular(lu, y, upper=True)
    # U^H L^H P^T X = B
    luh = np.conj(np.swapaxes(lu, -1, -2)) if lu.dtype.kind == "c" else np.swapaxes(lu, -1, -2)
    y = solve_triangular(luh, b, upper=False)
    y = solve_triangular(luh, y, upper=True, unit=True)
    return apply_pivots(y, pivots, inverse=True)


# -- triangular solves -----------------------------------------------------------------------------------------

def solve_triangular(t: np.ndarray, b: np.ndarray, upper: bool, unit: bool = False) -> np.ndarray:
    """``X`` with ``T X = B`` for the upper or lower triangle of ``T`` (..., n, n), ``B`` (..., n, k), batch
    dims broadcast; only that triangle of ``T`` is read (the diagonal is taken as ones with ``unit``).
    Recursive halving keeps the work in matrix products; a zero on the diagonal gives inf/NaN, as trsm."""
    batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    dt = np.result_type(t.dtype, b.dtype)
    if t.shape[-1] == 0 or b.shape[-1] == 0:
        return np.zeros(batch + b.shape[-2:], dt)
    with np.errstate(all="ignore"):
        return _trsm(t.astype(dt, copy=False), b.astype(dt, copy=False), upper, unit)


def _trsm(t, b, upper, unit):
    n = t.shape[-1]
    if n <= _BLOCK:
        # a diagonal block: through its inverse (one product, as blocked GPU trsm kernels do); a block with
        # a zero on its diagonal has none, and substitution gives trsm's inf/NaN
        blk = np.triu(t, int(unit)) if upper else np.tril(t, -int(unit))
        if unit:
            blk = blk + np.eye(n, dtype=blk.dtype)
        if unit or np.diagonal(blk, 0, -2, -1).all():
            try:
                return np.linalg.inv(blk) @ b
            except np.linalg.LinAlgError:
                pass
        x = np.empty(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            r = b[..., i:i + 1, :]
            if upper and i + 1 < n:
                r = r - t[..., i:i + 1, i + 1:] @ x[..., i + 1:, :]
            elif not upper and i > 0:
                r = r - t[..., i:i + 1, :i] @ x[..., :i, :]
            x[..., i:i + 1, :] = r if unit else r / t[..., i:i + 1, i:i + 1]
        return x
    h = n // 2
    if upper:
        x2 = _trsm(t[..., h:, h:], b[..., h:, :], upper, unit)
        x1 = _trsm(t[..., :h, :h], b[..., :h, :] - t[..., :h, h:] @ x2, upper, unit)
    else:
        x1 = _trsm(t[..., :h, :h], b[..., :h, :], upper, unit)
        x2 = _trsm(t[..., h:, h:], b[..., h:, :] - t[..., h:, :h] @ x1, upper, unit)
    shape = np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    return np.concatenate([np.broadcast_to(x1, shape + x1.shape[-2:]), np.broadcast_to(x2, shape + x2.shape[-2:])],
                          axis=-2)


# -- Cholesky: the partial factor LAPACK leaves when it fails --------------------------------------------------

def cholesky_partial(a: np.ndarray):
    """(L, info) of the lower Cholesky factorisation of one matrix as LAPACK's unblocked potf2 leaves it:
    columns up to the failing one factored, the failing diagonal entry holding its non-positive value, the
    rest of the lower triangle as in ``a``; info is the order of the failing leading minor (0 if none)."""
    a = np.array(a, copy=True)
    n = a.shape[-1]
    c = a.dtype.kind == "c"
    for j in range(n):
        row = a[j, :j]
        ajj = a[j, j].real - (np.vdot(row, row).real if c else row @ row)
        if not ajj > 0:
            a[j, j] = ajj
            return np.tril(a), j + 1
        ajj = np.sqrt(ajj)
        a[j, j] = ajj
        if j + 1 < n:
            a[j + 1:, j] = (a[j + 1:, j] - a[j + 1:, :j] @ (np.conj(row) if c else row)) / ajj
    return np.tril(a), 0


# -- Bunch-Kaufman LDL^T ---------------------------------------------------------------------------------------

_ALPHA = (1.0 + np.sqrt(17.0)) / 8.0


def _cabs1(z):
    return np.abs(z.real) + np.abs(z.imag) if np.iscomplexobj(z) else np.abs(z)


def ldl_factor(a: np.ndarray, hermitian: bool):
    """(LD, pivots, info) of LAPACK's sytf2/hetf2 (lower triangle) for each matrix of a batch: the
    block-diagonal D (1x1 and 2x2 blocks) on the diagonal and first subdiagonal, the unit lower triangular L
    below; positive pivots mark 1x1 blocks, pairs of equal negative ones 2x2 blocks."""
    *batch, n, _ = a.shape
    flat = np.array(a, copy=True).reshape((-1, n, n))
    piv = np.zeros((flat.shape[0], n), np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    with np.errstate(all="ignore"):
        for b in range(flat.shape[0]):
            info[b] = _sytf2(flat[b], piv[b], hermitian and a.dtype.kind == "c")
    ld = np.tril(flat)
    return ld.reshape(a.shape), piv.reshape(tuple(batch) + (n,)), info.reshape(tuple(batch))


def _sytf2(A, ipiv, herm: bool) -> int:
    n = A.shape[0]
    cj = np.conj if herm else (lambda z: z)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(A[k, k].real) if herm else _cabs1(A[k, k])
        if k + 1 < n:
            col = _cabs1(A[k + 1:, k])
            imax = k + 1 + int(np.argmax(col))
            colmax = col[imax - k - 1]
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            if info == 0:
                info = k + 1
            kp = k
            if herm:
                A[k, k] = A[k, k].real
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = np.max(_cabs1(A[imax, k:imax]))
                if imax + 1 < n:
                    rowmax = max(rowmax, np.max(_cabs1(A[imax + 1:, imax])))
                diag = abs(A[imax, imax].real) if herm else _cabs1(A[imax, imax])
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif diag >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp = imax
                    kstep = 2
            kk = k + kstep - 1
            if kp != kk:  # interchange rows and columns kk and kp of the trailing matrix
                if kp + 1 < n:
                    A[kp + 1:, [kk, kp]] = A[kp + 1:, [kp, kk]]
                for j in range(kk + 1, kp):
                    t = cj(A[j, kk])
                    A[j, kk] = cj(A[kp, j])
                    A[kp, j] = t
                if herm:
                    A[kp, kk] = np.conj(A[kp, kk])
                A[kk, kk], A[kp, kp] = A[kp, kp], A[kk, kk]
                if kstep == 2:
                    A[k + 1, k], A[kp, k] = A[kp, k], A[k + 1, k]
            if kstep == 1:
                if k + 1 < n:
                    x = A[k + 1:, k].copy()
                    r1 = 1.0 / (A[k, k].real if herm else A[k, k])
                    upd = r1 * np.outer(x, cj(x))
                    A[k + 1:, k + 1:] -= np.tril(upd)
                    if herm:
                        idx = np.arange(k + 1, n)
                        A[idx, idx] = A[idx, idx].real
                    A[k + 1:, k] = x * r1
            elif k + 2 < n:
                if herm:
                    d = abs(A[k + 1, k])
                    d11 = A[k + 1, k + 1].real / d
                    d22 = A[k, k].real / d
                    tt = 1.0 / (d11 * d22 - 1.0)
                    d21 = A[k + 1, k] / d
                    d = tt / d
                    wk = d * (d11 * A[k + 2:, k] - d21 * A[k + 2:, k + 1])
                    wkp1 = d * (d22 * A[k + 2:, k + 1] - np.conj(d21) * A[k + 2:, k])
                else:
                    d21 = A[k + 1, k]
                    d11 = A[k + 1, k + 1] / d21
                    d22 = A[k, k] / d21
                    t = 1.0 / (d11 * d22 - 1.0)
                    d21 = t / d21
                    wk = d21 * (d11 * A[k + 2:, k] - A[k + 2:, k + 1])
                    wkp1 = d21 * (d22 * A[k + 2:, k + 1] - A[k + 2:, k])
                upd = np.outer(A[k + 2:, k], cj(wk)) + np.outer(A[k + 2:, k + 1], cj(wkp1))
                A[k + 2:, k + 2:] -= np.tril(upd)
                A[k + 2:, k] = wk
                A[k + 2:, k + 1] = wkp1
                if herm:
                    idx = np.arange(k + 2, n)
                    A[idx, idx] = A[idx, idx].real
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return info


def ldl_solve(ld: np.ndarray, pivots: np.ndarray, b: np.ndarray, hermitian: bool) -> np.ndarray:
    """``X`` with ``A X = B`` from the factors of ``ldl_factor`` (LAPACK's sytrs/hetrs, lower)."""
    batch = np.broadcast_shapes(ld.shape[:-2], pivots.shape[:-1], b.shape[:-2])
    n = ld.shape[-1]
    dt = np.result_type(ld.dtype, b.dtype)
    L = np.broadcast_to(ld, batch + (n, n)).reshape((-1, n, n))
    P = np.broadcast_to(pivots, batch + (n,)).reshape((-1, n))
    X = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=dt).reshape((-1,) + b.shape[-2:])
    herm = hermitian and dt.kind == "c"
    with np.errstate(all="ignore"):
        for i in range(X.shape[0]):
            _sytrs(L[i], P[i], X[i], herm)
    return X.reshape(batch + b.shape[-2:])


def _sytrs(A, ipiv, B, herm: bool) -> None:
    n = A.shape[0]
    cj = np.conj if herm else (lambda z: z)
    k = 0
    while k < n:  # L D Y = P^T B
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            if kp != k:
                B[[k, kp]] = B[[kp, k]]
            if k + 1 < n:
                B[k + 1:] -= np.outer(A[k + 1:, k], B[k])
            B[k] /= A[k, k].real if herm else A[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            if kp != k + 1:
                B[[k + 1, kp]] = B[[kp, k + 1]]
            if k + 2 < n:
                B[k + 2:] -= np.outer(A[k + 2:, k], B[k]) + np.outer(A[k + 2:, k + 1], B[k + 1])
            akm1k = A[k + 1, k]
            akm1 = A[k, k] / cj(akm1k)
            ak = A[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1 = B[k] / cj(akm1k)
            bk = B[k + 1] / akm1k
            B[k] = (ak * bkm1 - bk) / denom
            B[k + 1] = (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y (L^H when Hermitian)
        if ipiv[k] > 0:
            if k + 1 < n:
                B[k] -= cj(A[k + 1:, k]) @ B[k + 1:]
            kp = ipiv[k] - 1
            if kp != k:
                B[[k, kp]] = B[[kp, k]]
            k -= 1
        else:
            if k + 1 < n:
                B[k] -= cj(A[k + 1:, k]) @ B[k + 1:]
                B[k - 1] -= cj(A[k + 1:, k - 1]) @ B[k + 1:]
            kp = -ipiv[k] - 1
            if kp != k:
                B[[k, kp]] = B[[kp, k]]
            k -= 2


# -- Householder products --------------------------------------------------------------------------------------

def householder_product(v: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The first n columns of ``H_1 ... H_k`` with ``H_i = I - tau_i v_i v_i^H`` (LAPACK's orgqr), where
    ``v_i`` is column i of ``v`` (..., m, n) below the diagonal with a unit diagonal entry."""
    m, n = v.shape[-2:]
    k = tau.shape[-1]
    batch = np.broadcast_shapes(v.shape[:-2], tau.shape[:-1])
    dt = np.result_type(v.dtype, tau.dtype)
    V = _reflectors(v, k).astype(dt, copy=False)
    Q = np.broadcast_to(np.eye(m, n, dtype=dt), batch + (m, n)).copy()
    for i in range(k - 1, -1, -1):
        vi = V[..., :, i:i + 1]
        t = tau[..., i, None, None]
        Q = Q - (t * vi) @ (np.conj(np.swapaxes(vi, -1, -2)) @ Q)
    return Q


def _reflectors(v: np.ndarray, k: int) -> np.ndarray:
    """The reflector vectors: the strictly lower part of the first k columns, with ones on the diagonal."""
    m = v.shape[-2]
    V = np.tril(v[..., :, :k], -1)
    idx = np.arange(min(k, m))
    V[..., idx, idx] = 1
    return V


def ormqr(a: np.ndarray, tau: np.ndarray, c: np.ndarray, left: bool, transpose: bool) -> np.ndarray:
    """``Q C``, ``Q^H C``, ``C Q`` or ``C Q^H`` with ``Q = H_1 ... H_k`` from geqrf's reflectors (LAPACK's
    ormqr/unmqr; ``transpose`` is the conjugate transpose for complex)."""
    k = tau.shape[-1]
    dt = np.result_type(a.dtype, tau.dtype, c.dtype)
    V = _reflectors(a, k).astype(dt, copy=False)
    batch = np.broadcast_shapes(a.shape[:-2], tau.shape[:-1], c.shape[:-2])
    C = np.broadcast_to(c, batch + c.shape[-2:]).astype(dt, copy=True)
    # Q C applies H_k first; Q^H C applies H_1^H first; C Q applies H_1 first; C Q^H applies H_k^H first
    forward = (left and transpose) or (not left and not transpose)
    order = range(k) if forward else range(k - 1, -1, -1)
    for i in order:
        vi = V[..., :, i:i + 1]
        t = tau[..., i, None, None]
        if transpose:
            t = np.conj(t)
        vh = np.conj(np.swapaxes(vi, -1, -2))
        if left:
            C = C - (t * vi) @ (vh @ C)
        else:
            C = C - (C @ vi) @ (t * vh)
    return C


# -- matrix exponential ----------------------------------------------------------------------------------------

# Bounds on the 1-norm for Taylor degrees 1, 2, 4, 8, 12, 18, and the coefficients of the degree 12 and 18
# evaluation schemes (Bader, Blanes, Casas, "Computing the matrix exponential with an optimized Taylor
# polynomial approximation", Mathematics 7 (2019) 1174), as PyTorch uses them.
_THETA = {4: (1.192092800768788e-07, 5.978858893805233e-04, 5.116619363445086e-02, 5.800524627688768e-01,
              1.461661507209034e+00, 3.010066362817634e+00),
          8: (2.220446049250313e-16, 2.580956802971767e-08, 3.397168839976962e-04, 4.991228871115323e-02,
              2.996158913811580e-01, 1.090863719290036e+00)}

_B12 = ((9.0198e-16, 0.46932117595418237389, -0.20099424927047284052, -0.04623946134063071740),
        (5.31597895759871264183, 1.19926790417132231573, 0.01179296240992997031, 0.01108844528519167989),
        (0.18188869982170434744, 0.05502798439925399070, 0.09351590770535414968, 0.00610700528898058230),
        (-2.0861320e-13, -0.13181061013830184015, -0.02027855540589259079, -0.00675951846863086359))

_B18 = ((0., -1.00365581030144618291e-01, -8.02924648241156932449e-03, -8.92138498045729985177e-04, 0.),
        (0., 3.97849749499645077844e-01, 1.36783778460411720168e+00, 4.98289622525382669416e-01,
         -6.37898194594723280150e-04),
        (-1.09676396052962061844e+01, 1.68015813878906206114e+00, 5.71779846478865511061e-02,
         -6.98210122488052056106e-03, 3.34975017086070470649e-05),
        (-9.04316832390810593223e-02, -6.76404519071381882256e-02, 6.75961301770459654925e-02,
         2.95552570429315521194e-02, -1.39180257516060693404e-05),
        (0., 0., -9.23364619367118555360e-02, -1.69364939002081722752e-02, -1.40086798182036094347e-05))


def _matmul(x, y):
    """x @ y; half precision through float32, rounded back (as PyTorch's CPU matmul accumulates)."""
    if x.dtype.itemsize == 2 and x.dtype.kind in "fV":
        return (x.astype(np.float32) @ y.astype(np.float32)).astype(x.dtype)
    return x @ y


def _powers(a, count):
    """[I, A, A^2, A^3, A^6][:count]."""
    n = a.shape[-1]
    out = [np.broadcast_to(np.eye(n, dtype=a.dtype), a.shape), a]
    if count > 2:
        out.append(_matmul(a, a))
    if count > 3:
        out.append(_matmul(a, out[2]))
    if count > 4:
        out.append(_matmul(out[3], out[3]))
    return out[:count]


def _combine(coeffs, mats, dt):
    res = None
    for c, m in zip(coeffs, mats):
        term = dt.type(c) * m
        res = term if res is None else res + term
    return res


def _taylor(a, degree):
    rt = a.real.dtype if a.dtype.kind == "c" else a.dtype
    mm = _matmul
    if degree == 1:
        i, x = _powers(a, 2)
        return i + x
    if degree == 2:
        i, x, x2 = _powers(a, 3)
        return i + x + x2 / rt.type(2)
    if degree == 4:
        i, x, x2 = _powers(a, 3)
        x4 = mm(x2, _combine((1 / 2.0, 1 / 6.0, 1 / 24.0), (i, x, x2), rt))
        return i + x + x4
    if degree == 8:
        sqrt_177 = 0.1330413469565007072504e+2
        x3 = 2. / 3.
        x1 = x3 * ((1. + sqrt_177) / 88.)
        x2c = x3 * ((1. + sqrt_177) / 352.)
        x4c = (-271. + 29. * sqrt_177) / (315. * x3)
        x5 = (-11. + 11. * sqrt_177) / (1260. * x3)
        x6 = (-99. + 11. * sqrt_177) / (5040. * x3)
        x7 = (89. - sqrt_177) / (5040. * x3)
        y2 = (857. - 58. * sqrt_177) / 630.
        i, x, x2 = _powers(a, 3)
        a4 = mm(x2, _combine((x1, x2c), (x, x2), rt))
        a8 = mm(_combine((x3, 1.0), (x2, a4), rt), _combine((x4c, x5, x6, x7), (i, x, x2, a4), rt))
        return _combine((1.0, 1.0, y2, 1.0), (i, x, x2, a8), rt)
    if degree == 12:
        p = _powers(a, 4)
        b = [_combine(row, p, rt) for row in _B12]
        b[2] = b[2] + mm(b[3], b[3])
        return b[0] + mm(b[1] + b[2], b[2])
    p = _powers(a, 5)
    b = [_combine(row, p, rt) for row in _B18]
    a9 = mm(b[0], b[4]) + b[3]
    return b[1] + mm(b[2] + a9, a9)


def matrix_exp(a: np.ndarray) -> np.ndarray:
    """exp(A) of a batch of square matrices, with PyTorch's choice of Taylor degree per matrix."""
    n = a.shape[-1]
    if n == 1:
        return np.exp(a)
    if n == 0 or a.size == 0:
        return np.array(a, copy=True)
    flat = a.reshape((-1, n, n))
    rt = flat.real.dtype if flat.dtype.kind == "c" else flat.dtype
    theta = _THETA[4 if rt.itemsize == 4 else 8]  # PyTorch's float bounds for float32 only, double ones else
    with np.errstate(all="ignore"):
        norm = np.abs(flat).sum(-2, dtype=np.float64 if rt.itemsize == 8 else np.float32).max(-1).astype(rt) \
            if flat.size else np.zeros(flat.shape[0], rt)
        out = np.full(flat.shape, np.nan, flat.dtype)
        lower = -1.0
        for deg, upper in zip((1, 2, 4, 8, 12), theta[:5]):
            sel = (norm > rt.type(lower)) & (norm <= rt.type(upper))
            if sel.any():
                out[sel] = _taylor(flat[sel], deg)
            lower = upper
        big = norm >= rt.type(theta[4])
        if big.any():
            s = np.maximum(0, np.ceil(np.log2((norm[big] / rt.type(theta[5])).astype(np.float64)))).astype(np.int64)
            scaled = flat[big] / (2.0 ** s).astype(rt)[:, None, None]
            res = _taylor(scaled, 18)
            for i, si in enumerate(s):
                m = res[i]
                for _ in range(int(si)):
                    m = _matmul(m, m)
                res[i] = m
            out[big] = res
    return out.reshape(a.shape)
