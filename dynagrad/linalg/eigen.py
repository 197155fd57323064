"""Eigendecompositions: ``eig``/``eigvals`` (complex results, as PyTorch) and ``eigh``/``eigvalsh`` (real
ascending eigenvalues of Hermitian matrices, from one triangle), with PyTorch's gradients: eigenvectors are
defined up to a phase (a sign when real), so a loss depending on it raises, and repeated eigenvalues make
the eigenvector gradient infinite, as in PyTorch.
"""
from __future__ import annotations

from ..autograd import state as _state
from ..backend import xp
from ..tensor import Tensor
from ._common import (
    LinalgOp,
    complex_dtype,
    conj,
    imag_part,
    mH,
    real,
    result_type,
    set_diagonal,
    square_float,
    write_out,
)
from .solvers import solve

linalg_eig = result_type("linalg_eig", ["eigenvalues", "eigenvectors"])
linalg_eigh = result_type("linalg_eigh", ["eigenvalues", "eigenvectors"])


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eig_vjp(gL, gV, L, V, hermitian: bool):
    """PyTorch's gradient of ``A = V diag(L) V^{-1}`` with unit-norm eigenvectors (gL or gV may be None)."""
    if gL is None and gV is None:
        return None
    if gV is None:
        if hermitian:
            return (V * gL.unsqueeze(-2).to(V.dtype)) @ mH(V)
        return solve(mH(V), gL.unsqueeze(-1) * mH(V))
    vhgv = mH(V) @ gV
    d = vhgv.diagonal(0, -2, -1)
    if V.is_complex():
        im = imag_part(d)._data
        if not xp.allclose(im, 0, rtol=1e-2, atol=1e-2):
            raise RuntimeError(f"{'linalg_eigh_backward' if hermitian else 'linalg_eig_backward'}: The eigenvectors "
                               f"in the complex case are specified up to multiplication by e^{{i phi}}. The "
                               f"specified loss function depends on this quantity, so it is ill-defined.")
    if hermitian:
        vhgv = 0.5 * (vhgv - mH(vhgv))
    else:
        vhgv = vhgv - mH(V) @ (V * real(d).unsqueeze(-2).to(V.dtype))
    lc = conj(L)
    E = lc.unsqueeze(-2) - lc.unsqueeze(-1)
    eye = Tensor._wrap(xp.eye(E.shape[-1], dtype=E._data.dtype))
    E = E * (1 - eye) + eye
    ga = vhgv / E.to(vhgv.dtype) if E._data.dtype != vhgv._data.dtype else vhgv / E
    if gL is not None:
        ga = set_diagonal(ga, gL.to(ga.dtype))
    if hermitian:
        return V @ (ga @ mH(V))
    return solve(mH(V), ga @ mH(V))


def _eig_array(a):
    w, v = xp.linalg.eig(a) if a.size else (xp.zeros(a.shape[:-1], a.dtype), xp.array(a, copy=True))
    ct = complex_dtype(a.dtype)
    return w.astype(ct, copy=False), v.astype(ct, copy=False)


class LinalgEigBackward0(LinalgOp):
    autocast_policy = "fp32"
    save_outputs = (0, 1)

    def forward(ctx, a):
        return _eig_array(a)

    def vjp(self, grads, L, V):
        return (eig_vjp(grads[0], grads[1], L, V, False),)


class EigvalsBackward(LinalgOp):
    """The eigenvalues alone; the eigenvectors the gradient needs are computed when a graph is recorded."""

    autocast_policy = "fp32"
    save = (0,)
    save_outputs = (0,)

    def name(self) -> str:
        return "LinalgEigBackward0"

    def forward(ctx, a):
        if ctx is None:
            ct = complex_dtype(a.dtype)
            return (xp.linalg.eigvals(a) if a.size else xp.zeros(a.shape[:-1], ct)).astype(ct, copy=False)
        w, ctx._v = _eig_array(a)
        return w

    def vjp(self, gL, a, L):
        V = eig(a)[1] if _state.grad_enabled else Tensor._wrap(self._v)
        return (eig_vjp(gL, None, L, V, False),)


def eig(A: Tensor, *, out=None):
    """Eigenvalues and unit-norm eigenvectors of a square matrix, always complex (``A V = V diag(L)``).

    >>> import dynagrad
    >>> dynagrad.linalg.eig(dynagrad.tensor([[2., 0.], [0., 3.]])).eigenvalues
    tensor([2.+0.j, 3.+0.j])
    """
    square_float(A, "linalg.eig")
    L, V = LinalgEigBackward0.apply(A)
    return write_out(linalg_eig(L, V), out)


def eigvals(A: Tensor, *, out=None) -> Tensor:
    """The (complex) eigenvalues of a square matrix.

    >>> import dynagrad
    >>> dynagrad.linalg.eigvals(dynagrad.tensor([[0., -1.], [1., 0.]]))
    tensor([0.+1.j, 0.-1.j])
    """
    square_float(A, "linalg.eigvals")
    return write_out(EigvalsBackward.apply(A), out)


class LinalgEighBackward0(LinalgOp):
    autocast_policy = "fp32"
    save_outputs = (0, 1)

    def name(self) -> str:
        return "LinalgEighBackward0"

    def forward(ctx, a, uplo):
        if a.size == 0:
            return xp.zeros(a.shape[:-1], xp.finfo(a.dtype).dtype), xp.array(a, copy=True)
        return tuple(xp.linalg.eigh(a, UPLO=uplo))

    def vjp(self, grads, L, V):
        return (eig_vjp(grads[0], grads[1], L, V, True),)


class EigvalshBackward(LinalgOp):
    autocast_policy = "fp32"
    save = (0,)
    save_outputs = (0,)

    def name(self) -> str:
        return "LinalgEighBackward0"

    def forward(ctx, a, uplo):
        if ctx is not None:
            ctx.uplo = uplo
        if a.size == 0:
            if ctx is not None:
                ctx._v = xp.array(a, copy=True)
            return xp.zeros(a.shape[:-1], xp.finfo(a.dtype).dtype)
        if ctx is None:
            return xp.linalg.eigvalsh(a, UPLO=uplo)
        w, ctx._v = xp.linalg.eigh(a, UPLO=uplo)
        return w

    def vjp(self, gL, a, L):
        V = eigh(a, UPLO=self.uplo)[1] if _state.grad_enabled else Tensor._wrap(self._v)
        return (eig_vjp(gL, None, L, V, True),)


def eigh(A: Tensor, UPLO: str = "L", *, out=None):  # noqa: N803 - PyTorch's name
    """Real eigenvalues (ascending) and orthonormal eigenvectors of a Hermitian (symmetric) matrix, read
    from its lower (``UPLO='L'``) or upper triangle.

    >>> import dynagrad
    >>> dynagrad.linalg.eigh(dynagrad.tensor([[2., 1.], [1., 2.]])).eigenvalues
    tensor([1., 3.])
    """
    _check_uplo(UPLO)
    square_float(A, "linalg.eigh")
    L, V = LinalgEighBackward0.apply(A, uplo=UPLO)
    return write_out(linalg_eigh(L, V), out)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:  # noqa: N803
    """The real eigenvalues (ascending) of a Hermitian (symmetric) matrix.

    >>> import dynagrad
    >>> dynagrad.linalg.eigvalsh(dynagrad.tensor([[2., 1.], [1., 2.]]))
    tensor([1., 3.])
    """
    _check_uplo(UPLO)
    square_float(A, "linalg.eigvalsh")
    return write_out(EigvalshBackward.apply(A, uplo=UPLO), out)


__all__ = ["eig", "eigvals", "eigh", "eigvalsh"]
