"""dynagrad.linalg under autograd's checks and the function transforms: gradcheck and gradgradcheck in
float64 (finite differences), forward mode against PyTorch's torch.func.jvp and against reverse mode, vmap
against torch.func.vmap, and every primitive registered with a JVP and a batching rule."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import reference

import dynagrad
from dynagrad.autograd import _jvp_rules
from dynagrad.autograd.function import Op
from dynagrad.func import _batch_rules

la = dynagrad.linalg
D64 = dynagrad.float64


def _t(a, grad=True):
    return dynagrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)


def _eye(n):
    return dynagrad.eye(n, dtype=D64)


def _sq(a):
    return a + 3 * _eye(a.shape[-1])


def _spd(a):
    return a @ a.mT + a.shape[-1] * _eye(a.shape[-1])


# name -> (fn on dynagrad tensors, input shapes); fns of several outputs return only the differentiable ones
GRADCHECK = {
    "det": (lambda a: la.det(a), [(2, 3, 3)]),
    "slogdet": (lambda a: la.slogdet(a).logabsdet, [(3, 3)]),
    "inv": (lambda a: la.inv(_sq(a)), [(3, 3)]),
    "solve": (lambda a, b: la.solve(_sq(a), b), [(2, 3, 3), (3, 2)]),
    "solve_vector_right": (lambda a, b: la.solve(_sq(a), b, left=False), [(3, 3), (2, 3)]),
    "solve_triangular": (lambda a, b: la.solve_triangular(_sq(a), b, upper=True, left=False), [(3, 3), (2, 3)]),
    "cholesky": (lambda a: la.cholesky(_spd(a), upper=True), [(3, 3)]),
    "qr": (lambda a: la.qr(a), [(4, 3)]),
    "qr_wide": (lambda a: la.qr(a), [(2, 4)]),
    "lu": (lambda a: la.lu(a)[1:], [(3, 3)]),
    "lu_wide": (lambda a: la.lu(a)[1:], [(2, 4)]),
    "lu_tall": (lambda a: la.lu(a)[1:], [(4, 2)]),
    "lu_factor": (lambda a: la.lu_factor(a)[0], [(3, 3)]),
    "lu_solve": (lambda a, b: la.lu_solve(*la.lu_factor(_sq(a)), b, adjoint=True), [(3, 3), (3, 2)]),
    "lu_unpack": (lambda a: dynagrad.lu_unpack(*la.lu_factor(a))[1:], [(3, 2)]),
    "eigh": (lambda a: (lambda r: (r[0], r[1].abs()))(la.eigh(_spd(a))), [(3, 3)]),
    "eigvalsh": (lambda a: la.eigvalsh(a + a.mT), [(3, 3)]),
    "eig": (lambda a: (lambda r: (r[0].abs(), r[1].abs()))(la.eig(_spd(a))), [(3, 3)]),
    "svd": (lambda a: (lambda r: (r.U.abs(), r.S, r.Vh.abs()))(la.svd(a, full_matrices=False)), [(4, 3)]),
    "svdvals": (lambda a: la.svdvals(a), [(2, 4)]),
    "pinv": (lambda a: la.pinv(a), [(3, 2)]),
    "lstsq": (lambda a, b: la.lstsq(a, b, driver="gelsd")[:2], [(4, 2), (4, 2)]),
    "matrix_exp": (lambda a: la.matrix_exp(a), [(3, 3)]),
    "matrix_power": (lambda a: la.matrix_power(_sq(a), -3), [(3, 3)]),
    "vector_norm": (lambda a: la.vector_norm(a, 3, dim=1), [(2, 3)]),
    "vector_norm_inf": (lambda a: la.vector_norm(a, float("inf")), [(2, 3)]),
    "matrix_norm_nuc": (lambda a: la.matrix_norm(a, "nuc"), [(3, 3)]),
    "matrix_norm_2": (lambda a: la.matrix_norm(a, 2), [(3, 3)]),
    "cond": (lambda a: la.cond(a), [(3, 3)]),
    "cross": (lambda a, b: la.cross(a, b), [(2, 3), (2, 3)]),
    "vecdot": (lambda a, b: la.vecdot(a, b), [(2, 3), (2, 3)]),
    "multi_dot": (lambda a, b, c: la.multi_dot([a, b, c]), [(2, 3), (3, 3), (3,)]),
    "householder_product": (lambda a, t: la.householder_product(a, t), [(4, 3), (2,)]),
    "ormqr": (lambda a, t, c: dynagrad.ormqr(a, t, c, transpose=True), [(4, 3), (2,), (4, 2)]),
    "cholesky_solve": (lambda b, a: dynagrad.cholesky_solve(b, la.cholesky(_spd(a))), [(3, 2), (3, 3)]),
    "cholesky_inverse": (lambda a: dynagrad.cholesky_inverse(la.cholesky(_spd(a)), upper=False), [(3, 3)]),
    "tensorsolve": (lambda a, b: la.tensorsolve(_sq(a.reshape(4, 4)).reshape(2, 2, 4), b), [(4, 4), (2, 2)]),
    "vander": (lambda a: la.vander(a, N=3), [(3,)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    fn, shapes = GRADCHECK[name]
    inputs = [_t(_rand(s, i)) for i, s in enumerate(shapes)]
    assert dynagrad.autograd.gradcheck(fn, tuple(inputs), eps=1e-6, atol=1e-6, rtol=1e-4)


GRADGRAD = ["det", "slogdet", "inv", "solve", "cholesky", "qr", "eigh", "svd", "matrix_exp", "lu", "pinv",
            "vector_norm", "cross", "householder_product"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    fn, shapes = GRADCHECK[name]
    inputs = [_t(_rand(s, i)) for i, s in enumerate(shapes)]
    assert dynagrad.autograd.gradgradcheck(fn, tuple(inputs), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_det_second_derivative_at_a_singular_matrix():
    """The SVD path of det's double backward: finite differences of the adjugate at a rank-deficient matrix
    (the perturbed matrices are nearly singular, so the differences carry ~1e-4 of rounding noise)."""
    a = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.3, -1.0, 2.0]])
    assert dynagrad.autograd.gradgradcheck(lambda x: la.det(x), (_t(a),), eps=1e-5, atol=2e-3, rtol=1e-3)


# -- forward mode -------------------------------------------------------------------------------------------

JVP = {
    "det": (lambda m, a: m.linalg.det(a), [(2, 3, 3)]),
    "slogdet": (lambda m, a: m.linalg.slogdet(a).logabsdet, [(3, 3)]),
    "inv": (lambda m, a: m.linalg.inv(a + 3 * m.eye(3, dtype=a.dtype)), [(3, 3)]),
    "solve": (lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), b), [(2, 3, 3), (3,)]),
    "solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(a + 3 * m.eye(3, dtype=a.dtype), b, upper=False),
                         [(3, 3), (3, 2)]),
    "cholesky": (lambda m, a: m.linalg.cholesky(a @ a.mT + 3 * m.eye(3, dtype=a.dtype)), [(3, 3)]),
    "qr": (lambda m, a: tuple(m.linalg.qr(a)), [(4, 3)]),
    "qr_wide": (lambda m, a: tuple(m.linalg.qr(a)), [(2, 4)]),
    "lu": (lambda m, a: tuple(m.linalg.lu(a))[1:], [(3, 4)]),
    "lu_factor": (lambda m, a: m.linalg.lu_factor(a)[0], [(4, 3)]),
    "eigh": (lambda m, a: m.linalg.eigh(a + a.mT)[0], [(3, 3)]),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(a + a.mT), [(3, 3)]),
    "svd": (lambda m, a: (lambda r: (r[0].abs(), r[1], r[2].abs()))(m.linalg.svd(a, full_matrices=False)), [(4, 3)]),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [(3, 4)]),
    "eigvals": (lambda m, a: m.linalg.eigvals(a @ a.mT).abs(), [(3, 3)]),
    "pinv": (lambda m, a: m.linalg.pinv(a), [(4, 3)]),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b).solution, [(4, 3), (4, 2)]),
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a), [(3, 3)]),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a, 3, dim=-1), [(2, 3)]),
    "vector_norm_2": (lambda m, a: m.linalg.vector_norm(a), [(2, 3)]),
    "vector_norm_1": (lambda m, a: m.linalg.vector_norm(a, 1), [(2, 3)]),
    "vector_norm_inf": (lambda m, a: m.linalg.vector_norm(a, float("inf"), dim=0), [(2, 3)]),
    "cross": (lambda m, a, b: m.linalg.cross(a, b), [(2, 3), (2, 3)]),
    "lu_solve": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a + 3 * m.eye(3, dtype=a.dtype)), b),
                 [(3, 3), (3, 2)]),
    "householder_product": (lambda m, a, t: m.linalg.householder_product(a, t), [(4, 3), (2,)]),
    "cholesky_solve": (lambda m, b, a: m.cholesky_solve(b, a.tril() + 3 * m.eye(3, dtype=a.dtype)), [(3, 2), (3, 3)]),
}


def _jvp(m, name):
    fn, shapes = JVP[name]
    primals = tuple(m.tensor(_rand(s, i)) for i, s in enumerate(shapes))
    tangents = tuple(m.tensor(_rand(s, 10 + i)) for i, s in enumerate(shapes))
    out, tan = m.func.jvp(lambda *xs: fn(m, *xs), primals, tangents)
    flat = lambda v: [x.detach().numpy() for x in (v if isinstance(v, tuple) else (v,))]  # noqa: E731
    return flat(out) + flat(tan)


@pytest.mark.parametrize("name", sorted(JVP))
def test_jvp_against_torch(name):
    mine = _jvp(dynagrad, name)
    ref = reference(lambda torch: _jvp(torch, name))
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["det", "inv", "solve", "cholesky", "qr", "eigh", "svdvals", "matrix_exp", "pinv",
                                  "lu_solve", "householder_product"])
def test_jvp_matches_reverse_mode(name):
    """<v, J t> from forward mode equals <J^T v, t> from reverse mode."""
    import dynagrad.autograd.forward_ad as fwAD
    fn, shapes = JVP[name]
    xs = [_t(_rand(s, i), grad=False) for i, s in enumerate(shapes)]
    ts = [_t(_rand(s, 10 + i), grad=False) for i, s in enumerate(shapes)]
    with fwAD.dual_level():
        out = fn(dynagrad, *[fwAD.make_dual(x, t) for x, t in zip(xs, ts)])
        outs = out if isinstance(out, tuple) else (out,)
        jts = [fwAD.unpack_dual(o).tangent for o in outs]
    leaves = [x.detach().requires_grad_() for x in xs]
    outs = fn(dynagrad, *leaves)
    outs = outs if isinstance(outs, tuple) else (outs,)
    vs = [_t(_rand(tuple(o.shape), 20 + k), grad=False) for k, o in enumerate(outs)]
    lhs = sum(float((v * jt).sum()) for v, jt in zip(vs, jts))
    grads = dynagrad.autograd.grad(list(outs), leaves, vs)
    rhs = sum(float((g * t).sum()) for g, t in zip(grads, ts))
    assert abs(lhs - rhs) <= 1e-8 + 1e-7 * abs(rhs), (lhs, rhs)


def test_forward_mode_of_non_differentiable_ops_raises():
    import dynagrad.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(_t(np.eye(3) * 2, grad=False), _t(np.ones((3, 3)), grad=False))
        with pytest.raises(NotImplementedError):
            la.ldl_factor(x)


# -- vmap ---------------------------------------------------------------------------------------------------

VMAP = {
    "det": (lambda m, a: m.linalg.det(a), [(3, 3)], 0),
    "slogdet": (lambda m, a: tuple(m.linalg.slogdet(a)), [(3, 3)], 0),
    "inv": (lambda m, a: m.linalg.inv(a + 3 * m.eye(3, dtype=a.dtype)), [(3, 3)], 0),
    "solve_both": (lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), b), [(3, 3), (3,)], 0),
    "solve_a_only": (lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), b), [(3, 3), (3, 2)],
                     (0, None)),
    "solve_b_only": (lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), b), [(3, 3), (3, 2)],
                     (None, 0)),
    "solve_a_only_vector": (lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), b), [(3, 3), (3,)],
                            (0, None)),
    "solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(a + 3 * m.eye(3, dtype=a.dtype), b, upper=True),
                         [(3, 3), (2, 3, 1)], (0, None)),
    "cholesky": (lambda m, a: m.linalg.cholesky(a @ a.mT + 3 * m.eye(3, dtype=a.dtype)), [(3, 3)], 0),
    "qr": (lambda m, a: tuple(m.linalg.qr(a)), [(4, 3)], 0),
    "lu_factor": (lambda m, a: tuple(m.linalg.lu_factor(a)), [(3, 3)], 0),
    "lu": (lambda m, a: tuple(m.linalg.lu(a)), [(4, 3)], 0),
    "lu_solve": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a + 3 * m.eye(3, dtype=a.dtype)), b),
                 [(3, 3), (3, 2)], (0, None)),
    "eigh": (lambda m, a: m.linalg.eigh(a + a.mT).eigenvalues, [(3, 3)], 0),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(a + a.mT), [(3, 3)], 0),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [(4, 3)], 0),
    "eigvals": (lambda m, a: m.linalg.eigvals(a @ a.mT).abs(), [(3, 3)], 0),
    "pinv": (lambda m, a: m.linalg.pinv(a), [(4, 3)], 0),
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a), [(3, 3)], 0),
    "matrix_power": (lambda m, a: m.linalg.matrix_power(a, 4), [(3, 3)], 0),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a, 3, dim=-1), [(2, 3)], 0),
    "vector_norm_all": (lambda m, a: m.linalg.vector_norm(a), [(2, 3)], 0),
    "matrix_norm": (lambda m, a: m.linalg.matrix_norm(a, "nuc"), [(3, 3)], 0),
    "cross": (lambda m, a, b: m.linalg.cross(a, b), [(2, 3), (1, 3)], (0, None)),
    "vecdot": (lambda m, a, b: m.linalg.vecdot(a, b), [(2, 3), (3,)], (0, None)),
    "householder_product": (lambda m, a, t: m.linalg.householder_product(a, t), [(4, 3), (2,)], (0, None)),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b).solution, [(4, 3), (4, 2)], 0),
    "matrix_rank": (lambda m, a: m.linalg.matrix_rank(a[:, :2] @ a[:2]), [(3, 3)], 0),
    "cholesky_solve": (lambda m, b, a: m.cholesky_solve(b, a.tril() + 3 * m.eye(3, dtype=a.dtype)), [(3, 2), (3, 3)],
                       0),
}


def _vmap(m, name):
    fn, shapes, in_dims = VMAP[name]
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(shapes)
    args = [m.tensor(_rand(((5,) + s) if d == 0 else s, i)) for i, (s, d) in enumerate(zip(shapes, dims))]
    out = m.func.vmap(lambda *xs: fn(m, *xs), in_dims=dims)(*args)
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("name", sorted(VMAP))
def test_vmap_against_torch(name):
    mine = _vmap(dynagrad, name)
    ref = reference(lambda torch: _vmap(torch, name))
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_vmap_of_grad():
    """Per-example gradients of a log-determinant loss (vmap over grad)."""
    a = _rand((4, 3, 3), 0) + 3 * np.eye(3)

    def run(m):
        f = lambda x: m.linalg.slogdet(x).logabsdet + m.linalg.vector_norm(m.linalg.inv(x))  # noqa: E731
        return m.func.vmap(m.func.grad(f))(m.tensor(a)).numpy()
    np.testing.assert_allclose(run(dynagrad), reference(run), rtol=1e-8, atol=1e-10)


def test_gradients_of_several_outputs_where_one_depends_on_another():
    """autograd.grad([a, c], x) with c computed from a (forward mode through cholesky_solve needs it)."""
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        a = x * 2
        c = (a * 3).sin()
        return m.autograd.grad([a, c], x, grad_outputs=[m.ones(2), m.ones(2)])[0].numpy()
    np.testing.assert_allclose(run(dynagrad), reference(run))


# -- every primitive has its rules --------------------------------------------------------------------------

def _linalg_primitives():
    import importlib
    import pkgutil
    out = {}
    for info in pkgutil.iter_modules(la.__path__):
        mod = importlib.import_module("dynagrad.linalg." + info.name)
        for obj in vars(mod).values():
            if inspect.isclass(obj) and issubclass(obj, Op) and obj.__module__ == mod.__name__ and \
                    "forward" in vars(obj):
                out[obj.__name__] = obj
    return out


def test_every_linalg_primitive_has_a_jvp_and_a_batching_rule():
    dynagrad.func.vmap(lambda x: x)(dynagrad.ones(2))  # builds the batching rules
    prims = _linalg_primitives()
    assert len(prims) >= 30
    no_jvp = [n for n, c in prims.items() if c not in _jvp_rules.RULES]
    no_batch = [n for n, c in prims.items() if c not in _batch_rules.RULES]
    assert not no_jvp, f"without a JVP rule: {no_jvp}"
    assert not no_batch, f"without a batching rule: {no_batch}"
