"""Randomised low-rank SVD and PCA (``torch.svd_lowrank``, ``torch.pca_lowrank``; Halko, Martinsson and
Tropp's algorithms 4.4 and 5.1), drawing the random projection with ``randn`` so a seed gives PyTorch's
numbers.
"""
from __future__ import annotations

from ..tensor import Tensor
from ._common import mH


def _basis(A: Tensor, q: int, niter: int, M) -> Tensor:
    """``Q`` with q orthonormal columns such that ``Q Q^H (A - M)`` approximates ``A - M``."""
    from ..random import randn
    from .decompositions import qr
    dt = A.dtype if A.is_complex() or A.dtype.is_floating_point else None
    R = randn(A.shape[-1], q, dtype=dt)
    X = A @ R
    if M is not None:
        X = X - M @ R
    Q = qr(X).Q
    for _ in range(niter):
        X = mH(A) @ Q
        if M is not None:
            X = X - mH(M) @ Q
        Q = qr(X).Q
        X = A @ Q
        if M is not None:
            X = X - M @ Q
        Q = qr(X).Q
    return Q


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None):
    """An approximate SVD ``(U, S, V)`` of rank ``q`` with ``A - M ~ U diag(S) V^H``.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> U, S, V = dynagrad.svd_lowrank(dynagrad.diag(dynagrad.tensor([3., 2., 0., 0.])), q=2)
    >>> [round(s, 4) for s in S.tolist()]
    [3.0, 2.0]
    """
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(tuple(A.shape))
    if m < n:
        A = mH(A)
        M = mH(M) if M is not None else None
    from .decompositions import svd
    Q = _basis(A, q, niter, M)
    B = mH(Q) @ A
    if M is not None:
        B = B - mH(Q) @ M
    U, S, Vh = svd(B, full_matrices=False)
    V = mH(Vh)
    U = Q @ U
    if m < n:
        U, V = V, U
    return U, S, V


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2):
    """Principal components of the rows of ``A`` (centred unless ``center=False``) as ``(U, S, V)``:
    ``V``'s columns are the principal directions, ``S**2 / (m - 1)`` the variances along them.

    >>> import dynagrad
    >>> _ = dynagrad.manual_seed(0)
    >>> U, S, V = dynagrad.pca_lowrank(dynagrad.randn(10, 3), q=2)
    >>> tuple(V.shape)
    (3, 2)
    """
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter, None)
    return svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter, None)
