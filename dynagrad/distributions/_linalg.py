"""Differentiable Cholesky factorisation and triangular solve, which the multivariate normals need.

(``torch.linalg.cholesky`` and ``torch.linalg.solve_triangular``: core has no differentiable versions yet;
these can move to ``dynagrad.linalg`` once it exists.) Backward formulas are PyTorch's, written so they
also run on Tensors for ``create_graph=True``.

>>> import dynagrad
>>> from dynagrad.distributions._linalg import cholesky, solve_triangular
>>> A = dynagrad.tensor([[4.0, 2.0], [2.0, 3.0]])
>>> L = cholesky(A)
>>> L
tensor([[2.0000, 0.0000],
        [1.0000, 1.4142]])
>>> solve_triangular(L, dynagrad.tensor([[2.0], [1.0]]), upper=False)
tensor([[1.],
        [0.]])
"""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D


def _tril(x, k=0):
    return xp.tril(x, k) if D.is_array(x) else x.tril(k)


def _triu(x, k=0):
    return xp.triu(x, k) if D.is_array(x) else x.triu(k)


def _solve(a, b, upper, left):
    if D.is_array(a) and D.is_array(b):
        return _solve_array(a, b, left)
    from ..tensor import Tensor
    a = a if not D.is_array(a) else Tensor._wrap(a)
    b = b if not D.is_array(b) else Tensor._wrap(b)
    return solve_triangular(a, b, upper=upper, left=left)


def _solve_array(a, b, left):
    if left:
        return xp.linalg.solve(a, b)
    # X A = B  <=>  A^T X^T = B^T
    return xp.swapaxes(xp.linalg.solve(xp.swapaxes(a, -1, -2), xp.swapaxes(b, -1, -2)), -1, -2)


class LinalgCholeskyExBackward0(Op):
    save_output = True

    def forward(ctx, a):
        try:
            return xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise RuntimeError(_not_pd_message(a)) from None

    def backward(self, g, L):
        # gA = L^{-H} Phi(L^H gL) L^{-1}, Phi taking the lower triangle with the diagonal halved (symmetric)
        gA = _tril(D.mT(L) @ g)
        gA = 0.5 * (gA + D.mT(_tril(gA, -1)))
        gA = _solve(D.mT(L), gA, upper=True, left=True)
        gA = _solve(L, gA, upper=False, left=False)
        return (gA,)


def _not_pd_message(a) -> str:
    order = a.shape[-1]
    flat = a.reshape(-1, order, order)
    for m in flat:
        for k in range(1, order + 1):
            try:
                xp.linalg.cholesky(m[:k, :k])
            except xp.linalg.LinAlgError:
                order = k
                break
        else:
            continue
        break
    return ("linalg.cholesky: The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {order} is not positive-definite).")


class LinalgSolveTriangularBackward0(Op):
    save = (0,)
    save_output = True

    def forward(ctx, a, b, upper, left):
        if ctx is not None:
            ctx.upper, ctx.left = upper, left
        a = xp.triu(a) if upper else xp.tril(a)
        return _solve_array(a, b, left)

    def backward(self, g, a, x):
        upper, left = self.upper, self.left
        a = _triu(a) if upper else _tril(a)
        at = D.mT(a)
        if left:  # X = A^{-1} B: gB = A^{-H} gX, gA = -gB X^H
            gb = _solve(at, g, upper=not upper, left=True)
            ga = -(gb @ D.mT(x))
        else:  # X = B A^{-1}: gB = gX A^{-H}, gA = -X^H gB
            gb = _solve(at, g, upper=not upper, left=False)
            ga = -(D.mT(x) @ gb)
        ga = _triu(ga) if upper else _tril(ga)
        return ga, gb


def cholesky(a):
    """The lower Cholesky factor of a batch of symmetric positive-definite matrices
    (``torch.linalg.cholesky``)."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.cholesky: A must be batches of square matrices, but they are "
                           f"{a.shape[-2] if a.ndim >= 2 else 1} by {a.shape[-1]} matrices")
    return LinalgCholeskyExBackward0.apply(a)


def solve_triangular(a, b, *, upper: bool, left: bool = True):
    """Solve ``A X = B`` (or ``X A = B`` with ``left=False``) for triangular ``A``, batched and broadcast."""
    return LinalgSolveTriangularBackward0.apply(a, b, upper=bool(upper), left=bool(left))


def positive_definite_mask(arr):
    """For a NumPy batch of square matrices: which are positive definite (Cholesky succeeds)."""
    n = arr.shape[-1]
    flat = arr.reshape(-1, n, n)
    try:
        xp.linalg.cholesky(flat)
        ok = xp.ones(flat.shape[0], dtype=bool)
    except xp.linalg.LinAlgError:
        ok = xp.zeros(flat.shape[0], dtype=bool)
        for i, m in enumerate(flat):
            try:
                xp.linalg.cholesky(m)
                ok[i] = True
            except xp.linalg.LinAlgError:
                pass
    return ok.reshape(arr.shape[:-2])
