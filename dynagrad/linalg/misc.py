"""Matrix functions and products: ``det``, ``slogdet`` (and the top-level ``logdet``), ``matrix_exp``,
``matrix_power``, ``matrix_rank``, ``cross``, ``vecdot``, ``multi_dot``, ``vander``, ``diagonal``.

The gradient of ``det`` follows PyTorch: ``det(A) conj * A^{-H}`` for invertible matrices; for singular
ones the first-order gradient is PyTorch's (0 where the determinant is exactly 0) and, when a graph of the
gradient is built, the adjugate through an SVD, so that second derivatives are right there too.
"""
from __future__ import annotations

import operator

from ..autograd import state as _state
from ..backend import xp
from ..ops.shape import cat
from ..tensor import Tensor
from . import _lapack as K
from ._common import (
    LinalgOp,
    check_float,
    check_matrix,
    check_square,
    check_tensor,
    conj,
    eps,
    imag_part,
    mH,
    result_type,
    scalar_name,
    square_float,
    write_out,
)
from .solvers import _inv_array, solve

linalg_slogdet = result_type("linalg_slogdet", ["sign", "logabsdet"])
slogdet_t = result_type("slogdet", ["sign", "logabsdet"])


# -- determinants ----------------------------------------------------------------------------------------------

def _det_array(a):
    if a.shape[-1] == 0:
        return xp.ones(a.shape[:-2], a.dtype)
    return xp.asarray(xp.linalg.det(a), dtype=a.dtype)


def _prod_safe_zeros_vjp(g: Tensor, s: Tensor) -> Tensor:
    """The gradient of ``prod(s, -1)`` for ``g``, right where ``s`` has zeros (exclusive products from
    either side)."""
    n = s.shape[-1]
    if n == 0:
        return g.expand(*s.shape)
    ones = Tensor._wrap(xp.ones(tuple(s.shape[:-1]) + (1,), s._data.dtype))
    left = cat([ones, s[..., :n - 1]], -1).cumprod(-1)
    right = cat([ones, s[..., 1:].flip(-1)], -1).cumprod(-1).flip(-1)
    return g * conj(left * right).to(g.dtype)


def _det_singular_vjp(a: Tensor, g: Tensor) -> Tensor:
    """The gradient of det at a (possibly) singular matrix: the adjugate, through an SVD."""
    from .decompositions import svd
    U, S, Vh = svd(a)
    alpha = conj(det(U) * det(Vh)) * g
    d = _prod_safe_zeros_vjp(alpha.unsqueeze(-1), S)
    return (U * d.unsqueeze(-2)) @ Vh


def _det_regular_vjp(a: Tensor, g: Tensor, d: Tensor) -> Tensor:
    n = a.shape[-1]
    eye = Tensor._wrap(xp.eye(n, dtype=a._data.dtype))
    return solve(mH(a), (g * conj(d)).unsqueeze(-1).unsqueeze(-1) * eye)


class LinalgDetBackward0(LinalgOp):
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, a):
        return _det_array(a)

    def vjp(self, g, a, d):
        if a._data.size == 0:
            return (a * 0,)
        if not _state.grad_enabled:
            ad, dd, gd = a._data, d._data, g._data
            inv_, _ = _inv_array(ad)
            scale = (gd * xp.conj(dd))[..., None, None]
            with xp.errstate(all="ignore"):
                ga = scale * mH(inv_)
            ga = xp.where((dd == 0)[..., None, None], xp.zeros((), ga.dtype), ga)
            return (Tensor._wrap(ga),)
        # a graph of the gradient: the SVD formula near singular matrices, a solve elsewhere
        singular = xp.abs(d._data) < 100 * eps(a._data.dtype)
        if not singular.any():
            return (_det_regular_vjp(a, g, d),)
        if singular.all():
            return (_det_singular_vjp(a, g),)
        n = a.shape[-1]
        fa, fg, fd = a.reshape(-1, n, n), g.reshape(-1), d.reshape(-1)
        flat = singular.reshape(-1)
        i_s = Tensor._wrap(xp.flatnonzero(flat))
        i_r = Tensor._wrap(xp.flatnonzero(~flat))
        order = Tensor._wrap(xp.argsort(xp.concatenate([xp.flatnonzero(flat), xp.flatnonzero(~flat)])))
        parts = cat([_det_singular_vjp(fa.index_select(0, i_s), fg.index_select(0, i_s)),
                     _det_regular_vjp(fa.index_select(0, i_r), fg.index_select(0, i_r), fd.index_select(0, i_r))],
                    0)
        return (parts.index_select(0, order).reshape(tuple(a.shape)),)


def det(A: Tensor, *, out=None) -> Tensor:
    """The determinant of a (batch of) square matrices.

    >>> import dynagrad
    >>> dynagrad.linalg.det(dynagrad.tensor([[1., 2.], [3., 4.]]))
    tensor(-2.)
    """
    square_float(A, "linalg.det")
    return write_out(LinalgDetBackward0.apply(A), out)


class LinalgSlogdetBackward0(LinalgOp):
    save = (0,)
    save_outputs = (0,)

    def forward(ctx, a):
        if a.shape[-1] == 0:
            return xp.ones(a.shape[:-2], a.dtype), xp.zeros(a.shape[:-2], xp.finfo(a.dtype).dtype)
        sign, logabs = xp.linalg.slogdet(a)
        return xp.asarray(sign, a.dtype), xp.asarray(logabs, xp.finfo(a.dtype).dtype)

    def vjp(self, grads, a, sign):
        g_sign, g_abs = grads
        complex_ = a.is_complex()
        if g_abs is None and (not complex_ or g_sign is None):
            return (None,)
        g = g_abs
        if complex_:
            if g_sign is not None:
                t = -1j * imag_part(conj(g_sign) * sign)
                g = t if g is None else g.to(a.dtype) + t
            else:
                g = g.to(a.dtype)
        if not _state.grad_enabled:
            inv_, _ = _inv_array(a._data)
            with xp.errstate(all="ignore"):
                return (Tensor._wrap(g._data[..., None, None] * mH(inv_)),)
        eye = Tensor._wrap(xp.eye(a.shape[-1], dtype=a._data.dtype))
        return (solve(mH(a), g.unsqueeze(-1).unsqueeze(-1) * eye),)


def slogdet(A: Tensor, *, out=None):
    """``(sign, logabsdet)`` with ``det(A) = sign * exp(logabsdet)``; (0, -inf) for singular matrices. For
    complex ``A`` the sign is complex of modulus 1.

    >>> import dynagrad
    >>> dynagrad.linalg.slogdet(dynagrad.tensor([[1., 2.], [3., 4.]]))
    torch.return_types.linalg_slogdet(
    sign=tensor(-1.),
    logabsdet=tensor(0.6931))
    """
    square_float(A, "linalg.slogdet")
    sign, logabs = LinalgSlogdetBackward0.apply(A)
    return write_out(linalg_slogdet(sign, logabs), out)


def logdet(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """log(det(A)): NaN for real matrices of negative determinant, -inf for singular ones.

    >>> import dynagrad
    >>> dynagrad.logdet(dynagrad.tensor([[2., 0.], [0., 3.]]))
    tensor(1.7918)
    """
    square_float(input, "logdet")
    sign, logabs = LinalgSlogdetBackward0.apply(input)
    if input.is_complex():
        return sign.log() + logabs
    from ..ops.index import where
    nan = Tensor._wrap(xp.asarray(xp.nan, logabs._data.dtype))
    return where(sign == -1, nan, logabs)


# -- matrix functions ------------------------------------------------------------------------------------------

class LinalgMatrixExpBackward0(LinalgOp):
    save = (0,)

    def forward(ctx, a):
        return K.matrix_exp(a)

    def vjp(self, g, a):
        return (_exp_differential(mH(a), g),)


def _exp_differential(a: Tensor, e: Tensor) -> Tensor:
    """The top right block of exp([[A, E], [0, A]]): the derivative of exp at A in the direction E."""
    n = a.shape[-1]
    z = Tensor._wrap(xp.zeros((), a._data.dtype)).expand(*a.shape)
    big = cat([cat([a, e.to(a.dtype)], -1), cat([z, a], -1)], -2)
    return matrix_exp(big)[..., :n, n:]


def matrix_exp(A: Tensor, *, out=None) -> Tensor:
    """The matrix exponential, computed as PyTorch does (optimised Taylor polynomials of degree 1 to 18
    chosen by the 1-norm, with scaling and squaring beyond).

    >>> import dynagrad
    >>> dynagrad.linalg.matrix_exp(dynagrad.tensor([[0., 1.], [0., 0.]]))
    tensor([[1., 1.],
            [0., 1.]])
    """
    check_tensor(A, "linalg_matrix_exp", "A")
    check_square(A, "linalg.matrix_exp")
    kind = A._data.dtype.kind
    if kind not in "fcV":
        raise RuntimeError(f"linalg.matrix_exp: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_name(A)}")
    return write_out(LinalgMatrixExpBackward0.apply(A), out)


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """``A`` to the integer power ``n`` by repeated squaring (``inv(A)^-n`` for negative ``n``, the identity
    for 0).

    >>> import dynagrad
    >>> dynagrad.linalg.matrix_power(dynagrad.tensor([[1., 1.], [0., 1.]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    check_tensor(A, "linalg_matrix_power", "A")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    check_square(A, "linalg.matrix_power")
    if n == 0:  # the identity, with a zero gradient (PyTorch's result requires grad)
        from ..ops.elementwise import _zero_grad_like
        eye = xp.broadcast_to(xp.eye(A._data.shape[-1], dtype=A._data.dtype), A._data.shape).copy()
        return write_out(_zero_grad_like(Tensor._wrap(eye), A), out)
    a = A
    if n < 0:
        from .solvers import inv
        a = inv(A)
        n = -n
    if n == 1:
        return write_out(a.clone(), out)
    if n == 2:
        return write_out(a @ a, out)
    if n == 3:
        return write_out((a @ a) @ a, out)
    z = result = None
    while n > 0:  # bits of n from the least significant, as PyTorch multiplies them
        bit = n % 2
        n //= 2
        z = a if z is None else z @ z
        if bit:
            result = z if result is None else result @ z
    return write_out(result, out)


# -- rank ------------------------------------------------------------------------------------------------------

class _MatrixRank(LinalgOp):
    """The number of singular values above the tolerance (an int64 result: no gradient)."""

    autocast_policy = "fp32"

    def forward(ctx, a, atol, rtol, hermitian):
        from .solvers import _tolerances
        m, n = a.shape[-2:]
        if min(m, n) == 0:
            return xp.zeros(a.shape[:-2], xp.int64)
        if hermitian:
            s = xp.abs(xp.linalg.eigvalsh(a))
            smax = s.max(-1, keepdims=True)
        else:
            s = xp.linalg.svd(a, compute_uv=False)
            smax = s[..., :1]
        thr = _tolerances(a, atol, rtol, smax)
        return (s > thr).sum(-1).astype(xp.int64)


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None, out=None) -> Tensor:
    """The numerical rank: the number of singular values above ``max(atol, rtol * s_max)`` (``rtol``
    defaults to ``eps * max(m, n)`` unless a positive ``atol`` is given; ``tol`` is the older ``atol``).

    >>> import dynagrad
    >>> dynagrad.linalg.matrix_rank(dynagrad.tensor([[1., 2.], [2., 4.]]))
    tensor(1)
    """
    fn = "linalg.matrix_rank"
    check_tensor(A, "linalg_matrix_rank", "input")
    check_matrix(A, fn, "input")
    if A._data.dtype.kind not in "fcV":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {scalar_name(A)}")
    check_float(A, fn)
    if hermitian:
        check_square(A, fn, "input")
    if tol is not None:
        if atol is not None or rtol is not None:
            raise RuntimeError(f"{fn}: tol can't be used together with atol or rtol")
        atol, rtol = tol, 0.0
    atol_a = atol._data if isinstance(atol, Tensor) else atol
    rtol_a = rtol._data if isinstance(rtol, Tensor) else rtol
    res = _MatrixRank.apply(A, atol=atol_a, rtol=rtol_a, hermitian=bool(hermitian))
    return write_out(Tensor._wrap(res._data) if res.grad_fn is not None else res, out)


# -- products --------------------------------------------------------------------------------------------------

class LinalgCrossBackward0(LinalgOp):
    save = (0, 1)

    def forward(ctx, a, b, dim):
        if ctx is not None:
            ctx.dim = dim
        return xp.cross(a, b, axis=dim)

    def vjp(self, g, a, b):
        ga = cross(conj(b), g, dim=self.dim) if self.needs(0) else None
        gb = cross(g, conj(a), dim=self.dim) if self.needs(1) else None
        return ga, gb


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim``; other dims broadcast.

    >>> import dynagrad
    >>> dynagrad.linalg.cross(dynagrad.tensor([1., 0., 0.]), dynagrad.tensor([0., 1., 0.]))
    tensor([0., 0., 1.])
    """
    fn = "linalg.cross"
    check_tensor(input, "linalg_cross", "input")
    check_tensor(other, "linalg_cross", "other", 2)
    a, b = input, other
    if a._data.ndim != b._data.ndim:
        raise RuntimeError(f"{fn}: inputs must have the same number of dimensions.")
    nd = a._data.ndim
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    if a._data.shape[dim] != 3 or b._data.shape[dim] != 3:
        raise RuntimeError(f"{fn}: inputs dimension {dim} must have length 3. Got {a._data.shape[dim]} and "
                           f"{b._data.shape[dim]}")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(a)} but found {scalar_name(b)}")
    try:
        xp.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        raise RuntimeError(f"{fn}: the shapes {list(a._data.shape)} and {list(b._data.shape)} are not "
                           f"broadcastable") from None
    return write_out(LinalgCrossBackward0.apply(a, b, dim=dim % nd - nd), out)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The dot product of vectors along ``dim``, conjugating ``x``: ``sum(x.conj() * y, dim)``.

    >>> import dynagrad
    >>> dynagrad.linalg.vecdot(dynagrad.tensor([1., 2.]), dynagrad.tensor([3., 4.]))
    tensor(11.)
    """
    check_tensor(x, "linalg_vecdot", "x")
    check_tensor(y, "linalg_vecdot", "y", 2)
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                           f"{scalar_name(x)} and y of type {scalar_name(y)} instead")
    try:
        shape = xp.broadcast_shapes(x._data.shape, y._data.shape)
    except ValueError:
        raise RuntimeError(f"linalg.vecdot: The size of tensor a ({x._data.shape[-1] if x._data.ndim else 1}) "
                           f"must match the size of tensor b ({y._data.shape[-1] if y._data.ndim else 1}) at "
                           f"non-singleton dimension") from None
    nd = len(shape)
    if not -max(nd, 1) <= dim < max(nd, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    res = (conj(x) * y).sum(dim)
    if res.dtype != x.dtype:  # autocast sums in float32; PyTorch's vecdot is one op it leaves alone
        res = res.to(x.dtype)
    return write_out(res, out)


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices in the cheapest order (the first may be a row vector, the last a
    column vector: they are taken as 1-D).

    >>> import dynagrad
    >>> dynagrad.linalg.multi_dot([dynagrad.ones(2, 3), dynagrad.ones(3, 4), dynagrad.ones(4)])
    tensor([12., 12.])
    """
    ts = list(tensors)
    n = len(ts)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(ts):
        check_tensor(t, "linalg_multi_dot", "tensors")
        nd = t._data.ndim
        if i == 0 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {nd}D")
        if i == n - 1 and i and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {nd}D")
        if 0 < i < n - 1 and nd != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{ts[0].dtype} and tensor {i} {t.dtype}")
    first_1d, last_1d = ts[0]._data.ndim == 1, ts[-1]._data.ndim == 1
    mats = list(ts)
    if first_1d:
        mats[0] = mats[0].unsqueeze(0)
    if last_1d:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i in range(n - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i]._data.shape)} and "
                               f"{list(ts[i + 1]._data.shape)} cannot be multiplied")
    if n == 2:
        res = mats[0] @ mats[1]
    else:
        res = _chain(mats, _chain_order([m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]]), 0, n - 1)
    if first_1d:
        res = res.squeeze(0)
    if last_1d:
        res = res.squeeze(-1)
    return write_out(res, out)


def _chain_order(p):
    """The optimal split points of a matrix chain with dims ``p`` (dynamic programming, as PyTorch)."""
    n = len(p) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j] = c
                    split[i][j] = k
    return split


def _chain(mats, split, i, j):
    if i == j:
        return mats[i]
    k = split[i][j]
    return operator.matmul(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803 - PyTorch's name
    """The Vandermonde matrix with columns ``x^0, x^1, ..., x^(N-1)`` (N defaults to ``x.shape[-1]``).

    >>> import dynagrad
    >>> dynagrad.linalg.vander(dynagrad.tensor([1, 2, 3]))
    tensor([[1, 1, 1],
            [1, 2, 4],
            [1, 3, 9]])
    """
    check_tensor(x, "linalg_vander", "x")
    kind = x._data.dtype.kind
    if kind not in "fciu" or (kind == "f" and x._data.dtype.itemsize < 4):
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{scalar_name(x)}")
    x_ = x.unsqueeze(-1) if x._data.ndim == 0 else x
    shape = tuple(x_._data.shape)
    n = shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = x_.unsqueeze(-1).expand(*(shape + (n - 1,))).cumprod(-1)
    ones = Tensor._wrap(xp.ones(shape + (1,), x._data.dtype))
    return cat([ones, powers], -1)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal (``offset`` above or below it) of the matrices formed by ``dim1`` and ``dim2``.

    >>> import dynagrad
    >>> dynagrad.linalg.diagonal(dynagrad.tensor([[1., 2.], [3., 4.]]))
    tensor([1., 4.])
    """
    check_tensor(A, "linalg_diagonal", "A")
    return A.diagonal(offset, dim1, dim2)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:  # noqa: A002
    """The matrix product (``torch.matmul``).

    >>> import dynagrad
    >>> dynagrad.linalg.matmul(dynagrad.ones(2, 3), dynagrad.ones(3)).shape
    torch.Size([2])
    """
    from ..ops.linalg import matmul as mm
    return write_out(mm(input, other), out)

