"""``torch.linalg``: decompositions, solvers, eigenproblems, norms and matrix functions on batches of
matrices (..., m, n), with PyTorch's signatures, result tuples, dtypes, errors and gradients.

NumPy's LAPACK (``numpy.linalg``) does the work where it has the routine; the rest (LU with pivots,
triangular solves, LDL^T, Householder products, the matrix exponential) is in ``_lapack``.

>>> import dynagrad
>>> A = dynagrad.tensor([[4., 1.], [1., 3.]], requires_grad=True)
>>> dynagrad.linalg.det(A).backward()
>>> A.grad
tensor([[ 3., -1.],
        [-1.,  4.]])
"""
from __future__ import annotations

from ._common import LinAlgError
from .decompositions import (
    cholesky,
    cholesky_ex,
    householder_product,
    ldl_factor,
    ldl_factor_ex,
    lu,
    lu_factor,
    lu_factor_ex,
    qr,
    svd,
    svdvals,
)
from .eigen import eig, eigh, eigvals, eigvalsh
from .misc import (
    cross,
    det,
    diagonal,
    matmul,
    matrix_exp,
    matrix_power,
    matrix_rank,
    multi_dot,
    slogdet,
    vander,
    vecdot,
)
from .norms import cond, matrix_norm, norm, vector_norm
from .solvers import (
    inv,
    inv_ex,
    ldl_solve,
    lstsq,
    lu_solve,
    pinv,
    solve,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals",
           "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq",
           "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular",
           "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]
