"""dynagrad.linalg against PyTorch: values, dtypes, shapes, result tuples and gradients of every function,
float32 and float64, batched and not; complex inputs; PyTorch's errors for bad inputs; coverage of
torch.linalg's public names. (Gradient checks, forward mode and vmap: test_linalg_transforms.py.)"""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import HAVE_TORCH, F, I, check_op, reference

import dynagrad

FLOATS = ("float32", "float64")


def _eye(m, a, n=None):
    return m.eye(a.shape[-1] if n is None else n, dtype=a.dtype)


def _sq(m, a):
    """A well-conditioned square matrix from a random one."""
    return a + 3 * _eye(m, a)


def _spd(m, a):
    """A symmetric positive-definite matrix from a random one."""
    return a @ a.mT + a.shape[-1] * _eye(m, a)


def _sym(m, a):
    return a + a.mT


# name -> (fn(m, *inputs), input specs). Inputs are random in [-2, 2]; losses of outputs whose sign is a
# convention (singular vectors, eigenvectors) are made invariant to it.
CASES = {
    "det": (lambda m, a: m.linalg.det(a), [(3, 3)]),
    "det_batched": (lambda m, a: m.linalg.det(a), [(2, 3, 4, 4)]),
    "slogdet": (lambda m, a: m.linalg.slogdet(a), [(2, 3, 3)]),
    "inv": (lambda m, a: m.linalg.inv(_sq(m, a)), [(2, 4, 4)]),
    "inv_ex": (lambda m, a: m.linalg.inv_ex(_sq(m, a)), [(4, 4)]),
    "solve": (lambda m, a, b: m.linalg.solve(_sq(m, a), b), [(2, 3, 3), (2, 3, 2)]),
    "solve_vector": (lambda m, a, b: m.linalg.solve(_sq(m, a), b), [(2, 3, 3), (3,)]),
    "solve_batched_vector": (lambda m, a, b: m.linalg.solve(_sq(m, a), b), [(2, 3, 3), (2, 3)]),
    "solve_broadcast": (lambda m, a, b: m.linalg.solve(_sq(m, a), b), [(3, 3), (2, 1, 3, 2)]),
    "solve_right": (lambda m, a, b: m.linalg.solve(_sq(m, a), b, left=False), [(3, 3), (2, 3)]),
    "solve_ex": (lambda m, a, b: m.linalg.solve_ex(_sq(m, a), b), [(3, 3), (3, 2)]),
    "solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(_sq(m, a), b, upper=True), [(2, 4, 4), (2, 4, 3)]),
    "solve_triangular_lower_unit": (
        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, unitriangular=True), [(4, 4), (4, 2)]),
    "solve_triangular_right": (
        lambda m, a, b: m.linalg.solve_triangular(_sq(m, a), b, upper=False, left=False), [(3, 3), (2, 3)]),
    "solve_triangular_large": (lambda m, a, b: m.linalg.solve_triangular(_sq(m, a) * 4, b, upper=False),
                               [(70, 70), (70, 2)]),
    "cholesky": (lambda m, a: m.linalg.cholesky(_spd(m, a)), [(2, 4, 4)]),
    "cholesky_upper": (lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True), [(4, 4)]),
    "cholesky_ex": (lambda m, a: m.linalg.cholesky_ex(_spd(m, a)), [(3, 3)]),
    "qr": (lambda m, a: m.linalg.qr(a), [(2, 5, 3)]),
    "qr_wide": (lambda m, a: m.linalg.qr(a), [(3, 5)]),
    "qr_complete": (lambda m, a: m.linalg.qr(a, mode="complete"), [(3, 5)]),
    "qr_r": (lambda m, a: m.linalg.qr(a, mode="r").R.detach(), [(4, 3)]),
    "lu_factor": (lambda m, a: m.linalg.lu_factor(a), [(2, 4, 4)]),
    "lu_factor_tall": (lambda m, a: m.linalg.lu_factor(a), [(5, 3)]),
    "lu_factor_ex_wide": (lambda m, a: m.linalg.lu_factor_ex(a), [(3, 5)]),
    "lu_factor_blocked": (lambda m, a: m.linalg.lu_factor(a), [(70, 70)]),
    "lu": (lambda m, a: m.linalg.lu(a), [(2, 4, 4)]),
    "lu_tall": (lambda m, a: m.linalg.lu(a), [(5, 3)]),
    "lu_wide": (lambda m, a: m.linalg.lu(a), [(3, 5)]),
    "lu_solve": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(_sq(m, a)), b), [(2, 3, 3), (2, 3, 2)]),
    "lu_solve_adjoint": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(_sq(m, a)), b, adjoint=True),
                         [(3, 3), (3, 2)]),
    "lu_solve_right": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(_sq(m, a)), b, left=False),
                       [(3, 3), (2, 3)]),
    "lu_solve_right_adjoint": (
        lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(_sq(m, a)), b, left=False, adjoint=True),
        [(3, 3), (2, 3)]),
    "lu_unpack": (lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a)), [(4, 3)]),
    "ldl_factor": (lambda m, a: m.linalg.ldl_factor(_sym(m, a.detach())), [(2, 5, 5)]),
    "ldl_factor_ex": (lambda m, a: m.linalg.ldl_factor_ex(_sym(m, a.detach())), [(6, 6)]),
    "ldl_solve": (lambda m, a, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(_sym(m, a.detach()) + 1), b.detach()),
                  [(5, 5), (5, 2)]),
    "eigh": (lambda m, a: (lambda r: (r.eigenvalues, r.eigenvectors.abs()))(m.linalg.eigh(_sym(m, a))), [(2, 4, 4)]),
    "eigh_upper": (lambda m, a: m.linalg.eigh(a, UPLO="U").eigenvalues, [(4, 4)]),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(_sym(m, a)), [(2, 4, 4)]),
    "eig": (lambda m, a: (lambda r: (r.eigenvalues.abs(), r.eigenvectors.abs()))(m.linalg.eig(_spd(m, a))),
            [(3, 3)]),
    "eigvals": (lambda m, a: m.linalg.eigvals(_spd(m, a)).abs(), [(2, 3, 3)]),
    "svd": (lambda m, a: (lambda r: (r.U.abs(), r.S, r.Vh.abs()))(m.linalg.svd(a, full_matrices=False)),
            [(2, 5, 3)]),
    "svd_wide": (lambda m, a: (lambda r: (r.U.abs(), r.S, r.Vh.abs()))(m.linalg.svd(a, full_matrices=False)),
                 [(3, 5)]),
    "svd_full_product": (lambda m, a: (lambda r: r.U[:, :3] @ m.diag_embed(r.S) @ r.Vh[:3])(m.linalg.svd(a)),
                         [(5, 3)]),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [(2, 4, 3)]),
    "pinv": (lambda m, a: m.linalg.pinv(a), [(2, 5, 3)]),
    "pinv_wide": (lambda m, a: m.linalg.pinv(a), [(3, 5)]),
    "pinv_hermitian": (lambda m, a: m.linalg.pinv(_spd(m, a), hermitian=True), [(4, 4)]),
    "pinv_atol": (lambda m, a: m.linalg.pinv(a, atol=1.0), [(4, 4)]),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b), [(5, 3), (5, 2)]),
    "lstsq_gelsd": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gelsd"), [(2, 5, 3), (2, 5, 2)]),
    "lstsq_gels": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gels"), [(5, 3), (5, 2)]),
    "lstsq_wide": (lambda m, a, b: m.linalg.lstsq(a, b, driver="gelss"), [(3, 5), (3, 2)]),
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a), [(2, 4, 4)]),
    "matrix_exp_small": (lambda m, a: m.linalg.matrix_exp(a * 1e-3), [(3, 3)]),
    "matrix_power": (lambda m, a: m.linalg.matrix_power(a, 5), [(2, 3, 3)]),
    "matrix_power_negative": (lambda m, a: m.linalg.matrix_power(_sq(m, a), -2), [(3, 3)]),
    "matrix_power_zero": (lambda m, a: m.linalg.matrix_power(a, 0), [(2, 3, 3)]),
    "matrix_rank": (lambda m, a: m.linalg.matrix_rank(a[..., :2] @ a[..., :2, :]), [(2, 4, 4)]),
    "matrix_rank_hermitian": (lambda m, a: m.linalg.matrix_rank(_spd(m, a), hermitian=True, atol=1.0), [(3, 3)]),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a), [(3, 4)]),
    "vector_norm_dim": (lambda m, a: m.linalg.vector_norm(a, 3, dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    "vector_norm_inf": (lambda m, a: m.linalg.vector_norm(a, math.inf, dim=-1), [(3, 4)]),
    "vector_norm_neg_inf": (lambda m, a: m.linalg.vector_norm(a, -math.inf, dim=-1), [(3, 4)]),
    "vector_norm_0": (lambda m, a: m.linalg.vector_norm(a, 0), [(3, 4)]),
    "vector_norm_1": (lambda m, a: m.linalg.vector_norm(a, 1, dim=1), [(3, 4)]),
    "vector_norm_half": (lambda m, a: m.linalg.vector_norm(a, 0.5, dim=1), [(3, 4)]),
    "vector_norm_negative": (lambda m, a: m.linalg.vector_norm(a, -1.5, dim=1), [(3, 4)]),
    "vector_norm_dtype": (lambda m, a: m.linalg.vector_norm(a, dtype=m.float64), [(3, 4)]),
    "vector_norm_0d": (lambda m, a: m.linalg.vector_norm(a), [()]),
    "matrix_norm": (lambda m, a: m.linalg.matrix_norm(a), [(2, 3, 4)]),
    "norm": (lambda m, a: m.linalg.norm(a), [(2, 3, 4)]),
    "norm_ord_vector": (lambda m, a: m.linalg.norm(a, 3), [(5,)]),
    "norm_ord_matrix": (lambda m, a: m.linalg.norm(a, -1), [(3, 4)]),
    "norm_dim_pair": (lambda m, a: m.linalg.norm(a, "nuc", dim=(0, 2)), [(3, 2, 4)]),
    "cross": (lambda m, a, b: m.linalg.cross(a, b), [(4, 3), (4, 3)]),
    "cross_dim_broadcast": (lambda m, a, b: m.linalg.cross(a, b, dim=0), [(3, 1, 2), (3, 4, 2)]),
    "vecdot": (lambda m, a, b: m.linalg.vecdot(a, b), [(2, 3, 4), (3, 4)]),
    "vecdot_dim": (lambda m, a, b: m.linalg.vecdot(a, b, dim=0), [(3, 4), (3, 4)]),
    "multi_dot": (lambda m, a, b, c, d: m.linalg.multi_dot([a, b, c, d]), [(3, 10), (10, 2), (2, 8), (8, 4)]),
    "multi_dot_vectors": (lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), [(3,), (3, 5), (5,)]),
    "householder_product": (lambda m, a, t: m.linalg.householder_product(a, t), [(2, 5, 3), (2, 2)]),
    "householder_of_geqrf": (lambda m, a: m.linalg.householder_product(*m.geqrf(a.detach())), [(5, 3)]),
    "tensorinv": (lambda m, a: m.linalg.tensorinv(_sq(m, a.reshape(4, 4)).reshape(4, 2, 2), ind=1), [(4, 4)]),
    "tensorsolve": (lambda m, a, b: m.linalg.tensorsolve(_sq(m, a.reshape(6, 6)).reshape(2, 3, 6), b),
                    [(6, 6), (2, 3)]),
    "tensorsolve_dims": (lambda m, a, b: m.linalg.tensorsolve(a, b, dims=(0,)), [(6, 2, 3), (2, 3)]),
    "vander": (lambda m, a: m.linalg.vander(a, N=4), [(2, 3)]),
    "diagonal": (lambda m, a: m.linalg.diagonal(a, offset=1, dim1=0, dim2=2), [(3, 2, 4)]),
    "matmul": (lambda m, a, b: m.linalg.matmul(a, b), [(2, 3, 4), (4, 2)]),
}

for _o in ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf):
    CASES[f"matrix_norm_{_o}"] = ((lambda o: lambda m, a: m.linalg.matrix_norm(a, o))(_o), [(2, 3, 4)])
    CASES[f"matrix_norm_{_o}_dims_keepdim"] = (
        (lambda o: lambda m, a: m.linalg.matrix_norm(a, o, dim=(2, 0), keepdim=True))(_o), [(3, 2, 4)])
for _p in (None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf):
    # PyTorch's own backward of cond for the other norms fails (an in-place error), so values only there
    CASES[f"cond_{_p}"] = ((lambda p: lambda m, a: m.linalg.cond(a if p in (None, 2, -2) else a.detach(), p))(_p),
                           [(2, 3, 3)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    fn, specs = CASES[name]
    check_op(fn, *specs, dtypes=FLOATS)


# -- the top-level forms and Tensor methods ------------------------------------------------------------------

TOP = {
    "svd": (lambda m, a: (lambda r: (r.U.abs(), r.S, r.V.abs()))(m.svd(a)), [(5, 3)]),
    "svd_some_false": (lambda m, a: (lambda r: (r.S, r.U.shape, r.V.shape))(m.svd(a, some=False)), [(5, 3)]),
    "svd_no_uv": (lambda m, a: m.svd(a, compute_uv=False), [(2, 4, 3)]),
    "qr": (lambda m, a: m.qr(a), [(5, 3)]),
    "qr_complete": (lambda m, a: m.qr(a.detach(), some=False), [(5, 3)]),
    "cholesky": (lambda m, a: m.cholesky(_spd(m, a)), [(3, 3)]),
    "cholesky_upper": (lambda m, a: m.cholesky(_spd(m, a), upper=True), [(3, 3)]),
    "cholesky_solve": (lambda m, b, a: m.cholesky_solve(b, m.linalg.cholesky(_spd(m, a))), [(3, 2), (3, 3)]),
    "cholesky_solve_upper": (
        lambda m, b, a: m.cholesky_solve(b, m.linalg.cholesky(_spd(m, a), upper=True), upper=True),
        [(2, 3, 2), (3, 3)]),
    "cholesky_inverse": (lambda m, a: m.cholesky_inverse(m.linalg.cholesky(_spd(m, a))), [(2, 3, 3)]),
    "cholesky_inverse_upper": (lambda m, a: m.cholesky_inverse(m.linalg.cholesky(_spd(m, a), upper=True), True),
                               [(3, 3)]),
    "lu": (lambda m, a: m.lu(a), [(3, 3)]),
    "lu_infos": (lambda m, a: m.lu(a, get_infos=True), [(2, 3, 3)]),
    "lu_solve": (lambda m, b, a: m.lu_solve(b, *m.linalg.lu_factor(_sq(m, a))), [(3, 2), (3, 3)]),
    "slogdet": (lambda m, a: m.slogdet(a), [(3, 3)]),
    "logdet": (lambda m, a: m.logdet(_spd(m, a)), [(2, 3, 3)]),
    "logdet_negative": (lambda m, a: m.logdet(-_spd(m, a)[..., :3, :3]), [(3, 3)]),
    "det": (lambda m, a: m.det(a), [(3, 3)]),
    "inverse": (lambda m, a: m.inverse(_sq(m, a)), [(3, 3)]),
    "pinverse": (lambda m, a: m.pinverse(a), [(4, 3)]),
    "matrix_power": (lambda m, a: m.matrix_power(a, 3), [(3, 3)]),
    "matrix_exp": (lambda m, a: m.matrix_exp(a), [(3, 3)]),
    "triangular_solve": (lambda m, b, a: m.triangular_solve(b, _sq(m, a)), [(3, 2), (3, 3)]),
    "triangular_solve_transpose_unit": (
        lambda m, b, a: m.triangular_solve(b, a, upper=False, transpose=True, unitriangular=True),
        [(2, 3, 2), (3, 3)]),
    "geqrf": (lambda m, a: tuple(x.detach() for x in m.geqrf(a)), [(2, 5, 3)]),
    "ormqr": (lambda m, a, c: m.ormqr(*m.geqrf(a.detach()), c), [(4, 3), (4, 2)]),
    "ormqr_right_transpose": (lambda m, a, c: m.ormqr(*m.geqrf(a.detach()), c, left=False, transpose=True),
                              [(4, 3), (2, 4)]),
    "orgqr": (lambda m, a, t: m.orgqr(a, t), [(4, 3), (3,)]),
    "chain_matmul": (lambda m, a, b, c: m.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 2)]),
    "cross_default_dim": (lambda m, a, b: m.cross(a, b), [(4, 3, 3), (4, 3, 3)]),
    "addr": (lambda m, c, a, b: m.addr(c, a, b, beta=0.5, alpha=2), [(3, 4), (3,), (4,)]),
    "dist": (lambda m, a, b: m.dist(a, b, 3), [(3, 4), (4,)]),
    "renorm": (lambda m, a: m.renorm(a, 2, 0, 1.5), [(3, 4)]),
    "frobenius_norm": (lambda m, a: m.frobenius_norm(a, (0, 1)), [(3, 4)]),
    "nuclear_norm": (lambda m, a: m.nuclear_norm(a), [(3, 4)]),
    "method_det_inverse_slogdet": (lambda m, a: (a.det(), _sq(m, a).inverse(), a.slogdet(), _spd(m, a).logdet()),
                                   [(3, 3)]),
    "method_decompositions": (lambda m, a: (_spd(m, a).cholesky(), a.qr(), a.svd().S, a.lu()[0], a.pinverse()),
                              [(3, 3)]),
    "method_functions": (lambda m, a, b: (a.matrix_power(2), a.matrix_exp(), b.cross(b.flip(-1)),
                                          b.dist(b.flip(-1)), a.renorm(1, 1, 2.0)), [(3, 3), (2, 3)]),
    "method_solvers": (lambda m, a, b: (b.triangular_solve(_sq(m, a)).solution,
                                        b.cholesky_solve(m.linalg.cholesky(_spd(m, a))),
                                        b.lu_solve(*m.linalg.lu_factor(_sq(m, a)))), [(3, 3), (3, 2)]),
    "method_householder": (lambda m, a, c: (a.geqrf()[0].detach(), a.detach().orgqr(a.geqrf()[1].detach()),
                                            a.detach().ormqr(a.geqrf()[1].detach(), c)), [(4, 4), (4, 2)]),
    "method_addr": (lambda m, c, a, b: c.addr(a, b), [(3, 4), (3,), (4,)]),
}


@pytest.mark.parametrize("name", sorted(TOP))
def test_top_level_and_methods(name):
    fn, specs = TOP[name]
    check_op(fn, *specs, dtypes=FLOATS)


def test_in_place_methods_and_mH():
    check_op(lambda m, c, a, b: c.detach().clone().addr_(a.detach(), b.detach()), (3, 4), (3,), (4,))
    check_op(lambda m, a: a.detach().clone().renorm_(2, 1, 1.0), (3, 4))
    z = np.array([[1 + 2j, 3 - 1j], [0.5j, 2]])
    for attr in ("mH", "H"):
        ref = reference(lambda torch, attr=attr: getattr(torch.tensor(z), attr).resolve_conj().numpy())
        np.testing.assert_allclose(getattr(dynagrad.tensor(z), attr).numpy(), ref)
    np.testing.assert_allclose(dynagrad.tensor(z).adjoint().numpy(), z.conj().T)


def test_svd_lowrank_and_pca_lowrank_draw_pytorch_numbers():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((8, 5))

    def run(m):
        m.manual_seed(7)
        U, S, V = m.svd_lowrank(m.tensor(a), q=3)
        m.manual_seed(7)
        pu, ps, pv = m.pca_lowrank(m.tensor(a), q=2)
        return [(U * V.sum(0)).abs().numpy(), S.numpy(), ps.numpy(), pv.abs().numpy()]
    for mine, ref in zip(run(dynagrad), reference(run)):
        np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-10)


# -- complex inputs ---------------------------------------------------------------------------------------------

def _complex_inputs(shapes, seed, dtype):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-2, 2, s) + 1j * rng.uniform(-2, 2, s)).astype(dtype) for s in shapes]


def _run_complex(m, fn, arrays, seed):
    ts = [m.tensor(a.copy(), requires_grad=True) for a in arrays]
    outs = fn(m, *ts)
    outs = outs if isinstance(outs, tuple) else (outs,)
    rng = np.random.default_rng(seed + 1)
    loss = None
    for o in outs:
        if o.requires_grad:
            w = m.tensor(rng.standard_normal(tuple(o.shape))).to(o.dtype)
            term = (o * w).sum()
            loss = term if loss is None else loss + term
    loss.backward()
    return {"outs": [o.detach().numpy() for o in outs], "dtypes": [str(o.dtype).replace("torch.", "") for o in outs],
            "grads": [t.grad.numpy() for t in ts]}


def check_complex(fn, *shapes, dtype="complex128", seed=0, rtol=1e-6, atol=1e-8):
    """``fn(m, *complex inputs)`` returns real tensors (abs values, norms, ...); their values and the
    gradients (PyTorch's convention: dL/dRe + i dL/dIm) must match PyTorch's."""
    arrays = _complex_inputs(shapes, seed, dtype)
    ref = reference(lambda torch: _run_complex(torch, fn, arrays, seed))
    mine = _run_complex(dynagrad, fn, arrays, seed)
    assert mine["dtypes"] == ref["dtypes"]
    for a, b in zip(mine["outs"] + mine["grads"], ref["outs"] + ref["grads"]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _c_sq(m, a):
    return a + 3 * m.eye(a.shape[-1], dtype=a.dtype)


def _c_hpd(m, a):
    return a @ a.mH + a.shape[-1] * m.eye(a.shape[-1], dtype=a.dtype)


COMPLEX = {
    "det": (lambda m, a: m.linalg.det(a).abs(), [(2, 3, 3)]),
    "slogdet": (lambda m, a: (lambda r: ((r.sign * (1 + 2j)).abs(), r.logabsdet))(m.linalg.slogdet(a)), [(3, 3)]),
    "inv": (lambda m, a: m.linalg.inv(_c_sq(m, a)).abs(), [(3, 3)]),
    "solve": (lambda m, a, b: m.linalg.solve(_c_sq(m, a), b).abs(), [(2, 3, 3), (3, 2)]),
    "solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(_c_sq(m, a), b, upper=True).abs(),
                         [(3, 3), (3, 2)]),
    "cholesky": (lambda m, a: m.linalg.cholesky(_c_hpd(m, a)).abs(), [(3, 3)]),
    "cholesky_upper": (lambda m, a: m.linalg.cholesky(_c_hpd(m, a), upper=True).abs(), [(3, 3)]),
    "qr": (lambda m, a: tuple(x.abs() for x in m.linalg.qr(a)), [(4, 3)]),
    "qr_wide": (lambda m, a: tuple(x.abs() for x in m.linalg.qr(a)), [(3, 4)]),
    "lu": (lambda m, a: tuple(x.abs() for x in m.linalg.lu(a)), [(3, 3)]),
    "lu_solve_adjoint": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(_c_sq(m, a)), b, adjoint=True).abs(),
                         [(3, 3), (3, 2)]),
    "eig": (lambda m, a: tuple(x.abs() for x in m.linalg.eig(a)), [(3, 3)]),
    "eigvals": (lambda m, a: m.linalg.eigvals(a).abs(), [(2, 3, 3)]),
    "eigh": (lambda m, a: (lambda r: (r[0], r[1].abs()))(m.linalg.eigh(_c_hpd(m, a))), [(3, 3)]),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(_c_hpd(m, a)), [(3, 3)]),
    "svd": (lambda m, a: (lambda r: (r.U.abs(), r.S, r.Vh.abs()))(m.linalg.svd(a, full_matrices=False)), [(4, 3)]),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [(3, 4)]),
    "pinv": (lambda m, a: m.linalg.pinv(a).abs(), [(4, 3)]),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b).solution.abs(), [(4, 3), (4, 2)]),
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a).abs(), [(3, 3)]),
    "matrix_power": (lambda m, a: m.linalg.matrix_power(a, 3).abs(), [(3, 3)]),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a, 3, dim=-1), [(2, 3)]),
    "matrix_norm_nuc": (lambda m, a: m.linalg.matrix_norm(a, "nuc"), [(3, 3)]),
    "cross": (lambda m, a, b: m.linalg.cross(a, b).abs(), [(2, 3), (2, 3)]),
    "householder_product": (lambda m, a, t: m.linalg.householder_product(a, t).abs(), [(4, 3), (2,)]),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_against_torch(name):
    fn, shapes = COMPLEX[name]
    check_complex(fn, *shapes)


def test_complex_outputs_and_dtypes():
    """complex64 stays complex64; eig of a real matrix is complex; eigvalsh, svdvals and norms of complex
    matrices are real; slogdet's sign is complex."""
    for dt in ("complex64", "complex128"):
        check_complex(lambda m, a: m.linalg.svdvals(a), (3, 3), dtype=dt, rtol=1e-4, atol=1e-5)
    check_op(lambda m, a: m.linalg.eig(_spd(m, a)).eigenvalues.detach(), (3, 3), dtypes=FLOATS, rtol=1e-5, atol=1e-5)
    check_op(lambda m, a: m.linalg.eigvals(_spd(m, a)).detach(), (2, 3, 3), dtypes=FLOATS, rtol=1e-5, atol=1e-5)
    z = _complex_inputs([(3, 3)], 1, "complex64")[0]
    for name in ("slogdet", "eigh", "svd", "qr"):
        def f(m, name=name):
            r = getattr(m.linalg, name)(m.tensor(z))
            return [str(x.dtype).replace("torch.", "") for x in r]
        assert f(dynagrad) == reference(f)


def test_phase_dependent_losses_raise_as_in_pytorch():
    """The complex singular vectors and eigenvectors are defined up to e^{i phi}: a loss that depends on
    the phase raises (as PyTorch's backward does); a phase-invariant one does not."""
    from dynagrad.linalg._complex import real
    a = _complex_inputs([(3, 3)], 2, "complex128")[0]
    h = a @ a.conj().T + 3 * np.eye(3)
    for make in (lambda A: real(dynagrad.linalg.svd(A)[0]).sum(), lambda A: real(dynagrad.linalg.eig(A)[1]).sum(),
                 lambda A: real(dynagrad.linalg.eigh(dynagrad.tensor(h, requires_grad=True))[1]).sum()):
        A = dynagrad.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError, match="e\\^\\{i phi\\}"):
            make(A).backward()
    msgs = reference(lambda torch: [_torch_error(lambda: torch.linalg.svd(torch.tensor(a, requires_grad=True))[0]
                                                 .real.sum().backward())])
    assert "phase" in msgs[0]


def _torch_error(f):
    try:
        f()
    except RuntimeError as e:
        return str(e)
    return ""


# -- special values and PyTorch's conventions --------------------------------------------------------------------

def test_det_gradient_at_singular_matrices():
    """First order: PyTorch's LU path gives 0 where the determinant is exactly 0; with create_graph the
    gradient is the adjugate, through an SVD, so second derivatives are right there too."""
    a = np.array([[1.0, 2.0], [2.0, 4.0]])

    def grads(m):
        A = m.tensor(a, requires_grad=True)
        m.linalg.det(A).backward()
        B = m.tensor(a, requires_grad=True)
        (g,) = m.autograd.grad(m.linalg.det(B), B, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), B)
        C = m.tensor(np.stack([a, np.eye(2) * 2]), requires_grad=True)
        (gc,) = m.autograd.grad(m.linalg.det(C).sum(), C, create_graph=True)
        return [A.grad.numpy(), g.detach().numpy(), gg.numpy(), gc.detach().numpy()]
    for mine, ref in zip(grads(dynagrad), reference(grads)):
        np.testing.assert_allclose(mine, ref, atol=1e-12)


def test_norms_at_zero_take_pytorch_subgradients():
    for o in (2, 1, 0.5, 3, math.inf, -1, 1.5):
        check_op(lambda m, a, o=o: m.linalg.vector_norm(a * 0, o), (4,), dtypes=("float64",))
    check_op(lambda m, a: m.linalg.vector_norm(a * 0, 0), (4,), dtypes=("float64",))
    check_op(lambda m, a: m.linalg.matrix_norm(a * 0), (3, 3), dtypes=("float64",))
    check_op(lambda m, a: m.linalg.vector_norm(m.stack([a[0] * 0, a[1]]), 2, dim=1), (2, 3), dtypes=("float64",))


def test_eigh_repeated_eigenvalues_give_pytorch_infinities():
    def grads(m):
        A = m.tensor(np.eye(3), requires_grad=True)
        w, v = m.linalg.eigh(A)
        (v.sum() + w.sum()).backward()
        B = m.tensor(np.eye(3), requires_grad=True)
        m.linalg.eigvalsh(B).sum().backward()  # eigenvalues alone are fine
        return [np.isfinite(A.grad.numpy()).all(), B.grad.numpy()]
    mine, ref = grads(dynagrad), reference(grads)
    assert bool(mine[0]) == bool(ref[0]) is False
    np.testing.assert_allclose(mine[1], ref[1], atol=1e-12)


def test_matrix_exp_matches_pytorch_on_every_taylor_degree():
    """The degree (1, 2, 4, 8, 12, 18 with scaling and squaring) is chosen by the 1-norm, per matrix of a
    batch: scales spanning every interval, in float32 and float64."""
    rng = np.random.default_rng(4)
    base = rng.standard_normal((10, 4, 4))
    scales = np.array([1e-17, 1e-9, 1e-5, 1e-3, 0.02, 0.2, 0.5, 1.5, 8.0, 40.0])[:, None, None]
    for dt in ("float32", "float64"):
        a = (base * scales).astype(dt)
        ref = reference(lambda torch, a=a: torch.linalg.matrix_exp(torch.tensor(a)).numpy())
        mine = dynagrad.linalg.matrix_exp(dynagrad.tensor(a)).numpy()
        tol = 1e-6 if dt == "float64" else 2e-4
        np.testing.assert_allclose(mine, ref, rtol=tol, atol=tol * 1e-3)
    check_op(lambda m, a: m.linalg.matrix_exp(a), (1, 1))  # a 1x1 matrix is exp


def test_lu_and_ldl_pivots_are_lapacks():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 6, 6))
    s = a + np.swapaxes(a, -1, -2)
    s[0, :2, :2] = 0  # forces a 2x2 pivot block

    def f(m):
        lu, piv = m.linalg.lu_factor(m.tensor(a))
        ld, lpiv = m.linalg.ldl_factor(m.tensor(s))
        hld, hpiv = m.linalg.ldl_factor(m.tensor(s + 1j * np.triu(a, 1) - 1j * np.triu(a, 1).swapaxes(-1, -2)),
                                        hermitian=True)
        return [piv.numpy(), lu.numpy(), lpiv.numpy(), ld.numpy(), hpiv.numpy(), hld.numpy()]
    mine, ref = f(dynagrad), reference(f)
    for x, y in zip(mine, ref):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def test_info_outputs():
    def f(m):
        sing = m.tensor([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]])
        notpd = m.tensor([[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.0], [0.0, 3.0]]])
        return [m.linalg.inv_ex(sing).info.numpy(), m.linalg.solve_ex(sing, m.ones(2, 2)).info.numpy(),
                m.linalg.cholesky_ex(notpd).info.numpy(), m.linalg.cholesky_ex(notpd).L.numpy(),
                m.linalg.lu_factor_ex(sing).info.numpy(), m.linalg.ldl_factor_ex(m.zeros(3, 3)).info.numpy()]
    for x, y in zip(f(dynagrad), reference(f)):
        np.testing.assert_allclose(x, y)


def test_empty_matrices():
    for fn in (lambda m, a: m.linalg.det(a), lambda m, a: m.linalg.inv(a), lambda m, a: m.linalg.slogdet(a),
               lambda m, a: m.linalg.svdvals(a), lambda m, a: m.linalg.eigvalsh(a), lambda m, a: m.linalg.cholesky(a),
               lambda m, a: m.linalg.matrix_exp(a), lambda m, a: m.linalg.matrix_norm(a, "nuc"),
               lambda m, a: m.linalg.qr(a), lambda m, a: m.linalg.vector_norm(a)):
        check_op(fn, (2, 0, 0), dtypes=("float64",))
    check_op(lambda m, a: m.linalg.matrix_norm(a, 1), (0, 3), dtypes=("float64",))
    check_op(lambda m, a: m.linalg.svd(a, full_matrices=False), (0, 3), dtypes=("float64",))


def test_float32_stays_float32_and_results_are_named():
    a = np.random.default_rng(6).standard_normal((3, 3)).astype(np.float32)
    a = a @ a.T + 3 * np.eye(3, dtype=np.float32)
    A = dynagrad.tensor(a)
    la = dynagrad.linalg
    tuples = {"slogdet": (la.slogdet(A), ("sign", "logabsdet")),
              "eigh": (la.eigh(A), ("eigenvalues", "eigenvectors")),
              "eig": (la.eig(A), ("eigenvalues", "eigenvectors")), "svd": (la.svd(A), ("U", "S", "Vh")),
              "qr": (la.qr(A), ("Q", "R")), "lu": (la.lu(A), ("P", "L", "U")),
              "lu_factor": (la.lu_factor(A), ("LU", "pivots")),
              "lu_factor_ex": (la.lu_factor_ex(A), ("LU", "pivots", "info")),
              "inv_ex": (la.inv_ex(A), ("inverse", "info")),
              "cholesky_ex": (la.cholesky_ex(A), ("L", "info")), "solve_ex": (la.solve_ex(A, A), ("result", "info")),
              "ldl_factor": (la.ldl_factor(A), ("LD", "pivots")),
              "lstsq": (la.lstsq(A, A), ("solution", "residuals", "rank", "singular_values"))}
    for name, (res, fields) in tuples.items():
        assert res._fields == fields, name
        assert repr(res).startswith(f"torch.return_types.linalg_{name}(\n{fields[0]}="), name
    for t in (la.inv(A), la.det(A), la.cholesky(A), la.matrix_exp(A), la.pinv(A), la.vector_norm(A), la.cond(A),
              la.solve(A, A[0]), la.svdvals(A), la.eigvalsh(A)):
        assert t.dtype == dynagrad.float32
    assert la.eig(A).eigenvalues.dtype == dynagrad.complex64
    assert la.lu_factor(A).pivots.dtype == dynagrad.int32 and la.matrix_rank(A).dtype == dynagrad.int64


def test_out_arguments():
    a = np.random.default_rng(7).standard_normal((3, 3)) + 3 * np.eye(3)
    A = dynagrad.tensor(a)
    out = dynagrad.empty(0, dtype=dynagrad.float64)
    r = dynagrad.linalg.inv(A, out=out)
    assert r is out
    np.testing.assert_allclose(out.numpy(), np.linalg.inv(a))
    q, rr = dynagrad.empty(3, 3, dtype=dynagrad.float64), dynagrad.empty(3, 3, dtype=dynagrad.float64)
    res = dynagrad.linalg.qr(A, out=(q, rr))
    assert res.Q is q and res.R is rr
    np.testing.assert_allclose((q @ rr).numpy(), a)
    n = dynagrad.empty((), dtype=dynagrad.float64)
    dynagrad.linalg.vector_norm(A, out=n)
    np.testing.assert_allclose(n.item(), np.linalg.norm(a))


def test_cholesky_and_svdvals_record_gradients():
    """They used to return results without a grad_fn, losing gradients silently."""
    for fn in (lambda m, a: m.cholesky(_spd(m, a)), lambda m, a: m.linalg.svdvals(a)):
        check_op(fn, (3, 3), dtypes=("float64",))
    A = dynagrad.tensor(np.eye(2) * 2, requires_grad=True)
    assert dynagrad.cholesky(A).grad_fn is not None and dynagrad.linalg.svdvals(A).grad_fn is not None


# -- errors ------------------------------------------------------------------------------------------------------

def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e).__name__.lstrip("_"), isinstance(e, RuntimeError)
    return None, False


ERRORS = {
    "inv_non_square": lambda m: m.linalg.inv(m.ones(3, 4)),
    "inv_1d": lambda m: m.linalg.inv(m.ones(3)),
    "inv_int": lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.int64)),
    "inv_half": lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.float16)),
    "inv_singular": lambda m: m.linalg.inv(m.ones(3, 3)),
    "inv_singular_batched": lambda m: m.linalg.inv(m.stack([m.eye(2), m.zeros(2, 2)])),
    "det_non_square": lambda m: m.linalg.det(m.ones(3, 4)),
    "det_int": lambda m: m.linalg.det(m.ones(3, 3, dtype=m.int64)),
    "cholesky_not_pd": lambda m: m.linalg.cholesky(m.ones(3, 3)),
    "cholesky_batched_not_pd": lambda m: m.linalg.cholesky(m.stack([m.eye(3), m.ones(3, 3)])),
    "solve_singular": lambda m: m.linalg.solve(m.ones(3, 3), m.ones(3)),
    "solve_shapes": lambda m: m.linalg.solve(m.eye(3), m.ones(4)),
    "solve_dtypes": lambda m: m.linalg.solve(m.eye(3), m.ones(3, dtype=m.float64)),
    "solve_vector_right": lambda m: m.linalg.solve(m.eye(3), m.ones(3), left=False),
    "solve_triangular_1d_b": lambda m: m.linalg.solve_triangular(m.eye(3), m.ones(3), upper=True),
    "solve_triangular_shapes": lambda m: m.linalg.solve_triangular(m.eye(3), m.ones(4, 2), upper=True),
    "svd_int": lambda m: m.linalg.svd(m.ones(3, 3, dtype=m.int64)),
    "eigh_non_square": lambda m: m.linalg.eigh(m.ones(3, 4)),
    "eigh_uplo": lambda m: m.linalg.eigvalsh(m.eye(3), UPLO="X"),
    "vector_norm_int": lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.int64)),
    "vector_norm_str_ord": lambda m: m.linalg.vector_norm(m.ones(3), ord="fro"),
    "vector_norm_empty_inf": lambda m: m.linalg.vector_norm(m.zeros(0), math.inf),
    "vector_norm_complex_to_real_dtype": lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.complex64),
                                                                        dtype=m.float64),
    "matrix_norm_1d": lambda m: m.linalg.matrix_norm(m.ones(3)),
    "matrix_norm_order": lambda m: m.linalg.matrix_norm(m.ones(3, 3), ord=3),
    "matrix_norm_dim": lambda m: m.linalg.norm(m.ones(3, 3), "fro", dim=1),
    "norm_3d_with_ord": lambda m: m.linalg.norm(m.ones(2, 2, 2), 2),
    "cross_length": lambda m: m.linalg.cross(m.ones(4), m.ones(4)),
    "cross_ndims": lambda m: m.linalg.cross(m.ones(3), m.ones(2, 3)),
    "matrix_power_non_square": lambda m: m.linalg.matrix_power(m.ones(3, 4), 2),
    "matrix_power_float_n": lambda m: m.linalg.matrix_power(m.eye(2), 2.0),
    "matrix_power_singular_negative": lambda m: m.linalg.matrix_power(m.ones(3, 3), -1),
    "matrix_power_int_negative": lambda m: m.linalg.matrix_power(m.ones(2, 2, dtype=m.int64), -1),
    "lstsq_shapes": lambda m: m.linalg.lstsq(m.ones(3, 4), m.ones(4, 2)),
    "lstsq_driver": lambda m: m.linalg.lstsq(m.ones(3, 3), m.ones(3, 2), driver="foo"),
    "qr_mode": lambda m: m.linalg.qr(m.ones(3, 3), mode="x"),
    "lu_factor_singular": lambda m: m.linalg.lu_factor(m.ones(3, 3)),
    "lu_factor_no_pivot": lambda m: m.linalg.lu_factor(m.eye(3), pivot=False),
    "multi_dot_one": lambda m: m.linalg.multi_dot([m.ones(3, 3)]),
    "multi_dot_3d": lambda m: m.linalg.multi_dot([m.ones(2, 3, 3), m.ones(3, 3)]),
    "matrix_exp_non_square": lambda m: m.linalg.matrix_exp(m.ones(3, 4)),
    "matrix_exp_int": lambda m: m.linalg.matrix_exp(m.ones(3, 3, dtype=m.int64)),
    "pinv_int": lambda m: m.linalg.pinv(m.ones(3, 3, dtype=m.int64)),
    "vecdot_dtypes": lambda m: m.linalg.vecdot(m.ones(3), m.ones(3, dtype=m.float64)),
    "tensorinv_shape": lambda m: m.linalg.tensorinv(m.ones(2, 3), ind=1),
    "householder_shapes": lambda m: m.linalg.householder_product(m.ones(3, 4), m.ones(2)),
    "vander_bool": lambda m: m.linalg.vander(m.tensor([True])),
    "vander_n": lambda m: m.linalg.vander(m.tensor([1.0, 2.0]), N=1),
    "svd_driver_on_cpu": lambda m: m.linalg.svd(m.eye(2), driver="gesvd"),
    "qr_r_backward": lambda m: m.linalg.qr(m.eye(3, requires_grad=True), mode="r").R.sum().backward(),
    "qr_complete_tall_backward": lambda m: m.linalg.qr(m.ones(4, 2, requires_grad=True), mode="complete")[0]
    .sum().backward(),
    "ldl_backward": lambda m: m.linalg.ldl_factor(m.eye(3, requires_grad=True))[0].sum().backward(),
    "geqrf_backward": lambda m: m.geqrf(m.eye(3, requires_grad=True))[0].sum().backward(),
    "removed_solve": lambda m: m.solve(m.eye(2), m.eye(2)),
    "removed_eig": lambda m: m.eig(m.eye(2)),
    "removed_symeig": lambda m: m.symeig(m.eye(2)),
    "removed_lstsq": lambda m: m.lstsq(m.eye(2), m.eye(2)),
    "removed_matrix_rank": lambda m: m.matrix_rank(m.eye(2)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_pytorch(name):
    fn = ERRORS[name]
    ref = reference(lambda torch: list(_raises(lambda: fn(torch))))
    mine = list(_raises(lambda: fn(dynagrad)))
    assert ref[0] is not None, f"PyTorch does not raise for {name}"
    assert mine == ref, f"{name}: dynagrad raised {mine}, PyTorch {ref}"


def test_linalg_error_is_a_runtime_error_with_the_batch_element():
    assert issubclass(dynagrad.linalg.LinAlgError, RuntimeError)
    with pytest.raises(dynagrad.linalg.LinAlgError, match=r"\(Batch element 1\).*leading minor of order 2"):
        dynagrad.linalg.cholesky(dynagrad.stack([dynagrad.eye(3), dynagrad.ones(3, 3)]))
    with pytest.raises(dynagrad.linalg.LinAlgError, match="The diagonal element 2 is zero"):
        dynagrad.linalg.inv(dynagrad.ones(3, 3))
    import numpy.linalg
    try:
        dynagrad.linalg.solve(dynagrad.zeros(2, 2), dynagrad.ones(2))
    except Exception as e:  # noqa: BLE001
        assert not isinstance(e, numpy.linalg.LinAlgError)


# -- coverage ----------------------------------------------------------------------------------------------------

# dir(torch.linalg) of PyTorch 2.13, public names (recorded; checked against the live torch when importable)
TORCH_LINALG = ["LinAlgError", "cholesky", "cholesky_ex", "common_notes", "cond", "cross", "det", "diagonal", "eig",
                "eigh", "eigvals", "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex",
                "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp",
                "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
                "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot",
                "vector_norm"]

# PyTorch's top-level linear algebra ("BLAS and LAPACK operations" in its docs, and the deprecated forms)
TORCH_TOP = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "chain_matmul", "cholesky", "cholesky_inverse",
             "cholesky_solve", "dot", "geqrf", "ger", "inner", "inverse", "det", "logdet", "slogdet", "lu", "lu_solve",
             "lu_unpack", "matmul", "matrix_power", "matrix_exp", "mm", "mv", "orgqr", "ormqr", "outer", "pinverse",
             "qr", "svd", "svd_lowrank", "pca_lowrank", "lobpcg", "triangular_solve", "vdot", "cross", "dist",
             "renorm", "frobenius_norm", "nuclear_norm", "solve", "eig", "symeig", "lstsq", "matrix_rank"]


def _documented_missing():
    import pathlib
    doc = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "linalg.md").read_text()
    return doc


def test_torch_linalg_coverage():
    if HAVE_TORCH:
        import torch
        assert sorted(n for n in dir(torch.linalg) if not n.startswith("_")) == TORCH_LINALG
        assert all(hasattr(torch, n) for n in TORCH_TOP)
    have = [n for n in TORCH_LINALG if hasattr(dynagrad.linalg, n)]
    missing = sorted(set(TORCH_LINALG) - set(have))
    assert len(have) / len(TORCH_LINALG) >= 0.95, missing
    top_missing = [n for n in TORCH_TOP if not hasattr(dynagrad, n)]
    assert (len(TORCH_TOP) - len(top_missing)) / len(TORCH_TOP) >= 0.95, top_missing
    doc = _documented_missing()
    for n in missing + top_missing:
        assert f"`{n}`" in doc, f"{n} is missing and not explained in docs/linalg.md"


def test_integer_inputs_where_pytorch_takes_them():
    check_op(lambda m, a: m.linalg.matrix_power(a, 3), I(2, 2, 2))
    check_op(lambda m, a, b: m.linalg.cross(a, b), I(2, 3), I(2, 3))
    check_op(lambda m, a: m.linalg.vander(a), I(3))
    check_op(lambda m, a: m.linalg.vander(a, N=3), I(2, 2))


def test_non_contiguous_inputs():
    check_op(lambda m, a, b: m.linalg.solve(_sq(m, a), b), F(3, 3, layout="T"), F(3, 2, layout="step"))
    check_op(lambda m, a: m.linalg.svdvals(a), F(2, 4, 3, layout="T"))
    check_op(lambda m, a: m.linalg.det(a), F(3, 3, layout="step"))


AUTOCAST = {
    "inv": lambda m, b: m.linalg.inv(b), "det": lambda m, b: m.linalg.det(b),
    "cholesky": lambda m, b: m.linalg.cholesky(b @ b.mT), "svdvals": lambda m, b: m.linalg.svdvals(b),
    "vector_norm": lambda m, b: m.linalg.vector_norm(b), "solve": lambda m, b: m.linalg.solve(b, b),
    "qr": lambda m, b: m.linalg.qr(b)[0], "eigh": lambda m, b: m.linalg.eigh(b)[0],
    "eigvals": lambda m, b: m.linalg.eigvals(b), "matrix_exp": lambda m, b: m.linalg.matrix_exp(b),
    "slogdet": lambda m, b: m.linalg.slogdet(b)[1], "lstsq": lambda m, b: m.linalg.lstsq(b, b)[0],
    "pinv": lambda m, b: m.linalg.pinv(b), "cond": lambda m, b: m.linalg.cond(b),
    "matrix_rank": lambda m, b: m.linalg.matrix_rank(b), "lu_factor": lambda m, b: m.linalg.lu_factor(b)[0],
    "solve_triangular": lambda m, b: m.linalg.solve_triangular(b, b, upper=True),
    "triangular_solve": lambda m, b: m.triangular_solve(b, b)[0], "cholesky_solve": lambda m, b: m.cholesky_solve(b, b),
    "cross": lambda m, b: m.linalg.cross(b[:, :3], b[:, :3]), "vecdot": lambda m, b: m.linalg.vecdot(b, b),
    "matrix_power": lambda m, b: m.linalg.matrix_power(b, 3), "logdet": lambda m, b: m.logdet(b @ b.mT),
}


def test_autocast_runs_linear_algebra_where_pytorch_does():
    """PyTorch's CPU autocast runs some of torch.linalg in float32, leaves others in bfloat16, and some of
    those refuse bfloat16: the same result dtypes (or an error) here."""
    a = np.random.default_rng(8).standard_normal((4, 4)).astype(np.float32) + 4 * np.eye(4, dtype=np.float32)

    def run(m):
        out = {}
        with m.autocast(device_type="cpu", dtype=m.bfloat16):
            b = m.tensor(a) @ m.tensor(a)
            for name, f in AUTOCAST.items():
                try:
                    out[name] = str(f(m, b).dtype).replace("torch.", "")
                except (RuntimeError, NotImplementedError):
                    out[name] = "error"
        return out
    assert run(dynagrad) == reference(run)


def test_half_precision_matrix_exp():
    """PyTorch 2.13's float16/bfloat16 matrix_exp returns NaN or garbage (its degree bounds round to 0 in half
    precision and leave the result uninitialised); here the same algorithm runs in half precision, with
    matrix products accumulated in float32 as PyTorch's, and stays close to the float32 result."""
    a = np.random.default_rng(9).uniform(-1, 1, (4, 3, 3)) * np.array([1e-3, 0.1, 0.5, 2.0])[:, None, None]
    ref = dynagrad.linalg.matrix_exp(dynagrad.tensor(a.astype(np.float32))).numpy()
    for dt, tol in ((dynagrad.float16, 4e-3), (dynagrad.bfloat16, 3e-2)):
        x = dynagrad.tensor(a.astype(np.float32)).to(dt).requires_grad_()
        y = dynagrad.linalg.matrix_exp(x)
        assert y.dtype == dt
        np.testing.assert_allclose(y.float().detach().numpy(), ref, rtol=tol, atol=tol)
        y.float().sum().backward()
        assert x.grad.dtype == dt and np.isfinite(x.grad.float().numpy()).all()
