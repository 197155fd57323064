"""dynagrad.func against torch.func: vmap (per-op batching rules), grad, vjp, jvp, jacrev, jacfwd, hessian,
functional_call, stack_module_state, and the uses people write (per-sample gradients, HVPs)."""
from __future__ import annotations

import numpy as np
import pytest

import dynagrad
import dynagrad.nn as dnn
import dynagrad.nn.functional as dF
from dynagrad.autograd import state
from dynagrad.func import (
    functional_call,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    stack_module_state,
    vjp,
    vmap,
)

torch = pytest.importorskip("torch")
import torch.nn.functional as tF  # noqa: E402

RNG = np.random.default_rng(0)


def arr(*shape, low=-2.0, high=2.0, seed=None, dtype=np.float64):
    rng = RNG if seed is None else np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


def ints(high, *shape, seed=1):
    return np.random.default_rng(seed).integers(0, high, size=shape)


def to_np(x):
    if isinstance(x, (tuple, list)):
        return [to_np(v) for v in x]
    if isinstance(x, dict):
        return {k: to_np(v) for k, v in x.items()}
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy() if hasattr(x, "cpu") else x.detach().numpy()
    return x


def assert_close(a, b, rtol=1e-6, atol=1e-8):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y, rtol, atol)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_close(a[k], b[k], rtol, atol)
    else:
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol,
                                   atol=atol)


def _solve(m):
    return m.linalg.solve


def both(make, inputs, **vkw):
    """Run ``vmap(make(lib), **vkw)`` on the same inputs with dynagrad and torch; compare."""
    d_in = [dynagrad.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs]
    t_in = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs]
    d = vmap(make(dynagrad, dF), **vkw)(*d_in)
    t = torch.func.vmap(make(torch, tF), **vkw)(*t_in)
    assert_close(to_np(d), to_np(t))
    assert state.transform_hook is None
    return d


# -- vmap: one case per family of batching rules --------------------------------------------------------------

VMAP_CASES = {
    "unary": (lambda m, F: lambda x: x.sin().exp().tanh().sigmoid().abs().sqrt(), [arr(4, 3)], {}),
    "binary_broadcast": (lambda m, F: lambda x, y: x * y + x / (y.abs() + 1) - y ** 2, [arr(4, 3), arr(3)],
                         {"in_dims": (0, None)}),
    "binary_both": (lambda m, F: lambda x, y: m.maximum(x, y) + m.atan2(x, y.abs() + 0.1),
                    [arr(4, 2, 3), arr(4, 3)], {}),
    "scalar_ops": (lambda m, F: lambda x: 2.0 - x * 3 + 1 / (x ** 2 + 1), [arr(5, 2)], {}),
    "clamp_where_cmp": (lambda m, F: lambda x: m.where(x > 0, x, x * 0.1).clamp(-0.5, 1.0), [arr(4, 5)], {}),
    "masked_fill": (lambda m, F: lambda x: x.masked_fill(x < 0, 0.0), [arr(4, 5)], {}),
    "reductions": (lambda m, F: lambda x: (x.sum(), x.sum(1), x.mean(0, keepdim=True), x.amax(-1), x.var(1),
                                           x.std(), x.norm(dim=0), x.logsumexp(1), x.prod(1), x.prod()),
                   [arr(3, 4, 5)], {}),
    "max_dim": (lambda m, F: lambda x: x.max(1).values + x.min(0).values.sum(), [arr(3, 4, 5)], {}),
    "cumulative": (lambda m, F: lambda x: x.cumsum(0) + x.cumprod(1), [arr(3, 4, 5)], {}),
    "softmax": (lambda m, F: lambda x: x.softmax(-1) + x.log_softmax(0), [arr(3, 4, 5)], {}),
    "views": (lambda m, F: lambda x: x.view(2, 6).t().reshape(3, 4).permute(1, 0).flatten(), [arr(5, 3, 4)], {}),
    "squeeze_expand": (lambda m, F: lambda x: x.unsqueeze(0).expand(2, 3, 4).sum(0) + x.unsqueeze(1).squeeze(1),
                       [arr(5, 3, 4)], {}),
    "repeat_flip_roll": (lambda m, F: lambda x: x.repeat(2, 1).flip(0).roll(1, 1) + x.roll(2).repeat(2, 1),
                         [arr(5, 3, 4)], {}),
    "cat_stack_unbatched": (lambda m, F: lambda x, y: m.cat([x, y, x], 1).sum() + m.stack([x, y]).sum(0),
                            [arr(5, 3, 4), arr(3, 4)], {"in_dims": (0, None)}),
    "split_unbind": (lambda m, F: lambda x: x.split([1, 3], 1)[1] * x.unbind(0)[2].sum(), [arr(5, 3, 4)], {}),
    "tril_diag": (lambda m, F: lambda x: x.tril() + x.triu(1) * 2 + x.diagonal().sum(), [arr(5, 3, 3)], {}),
    "slicing": (lambda m, F: lambda x: x[1:, ::2] * x[0, 1] + x[..., 2:3].sum(), [arr(4, 3, 5)], {}),
    "index_unbatched": (lambda m, F: lambda x: x[m.tensor([0, 2, 2])] + x[:, m.tensor([1, 0, 4, 4])].sum(),
                        [arr(4, 3, 5)], {}),
    "index_batched": (lambda m, F: lambda x, i: x[i] * 2, [arr(4, 6), ints(6, 4)], {}),
    "index_batched_mid": (lambda m, F: lambda x, i: x[:, i], [arr(4, 3, 6), ints(6, 4, 2)], {}),
    "embedding_like": (lambda m, F: lambda w, i: w[i].sum(0), [arr(10, 3), ints(10, 4, 5)], {"in_dims": (None, 0)}),
    "gather": (lambda m, F: lambda x, i: x.gather(0, i), [arr(4, 5), ints(5, 4, 3)], {}),
    "scatter_add": (lambda m, F: lambda x, i, s: x.scatter_add(0, i, s), [arr(4, 5), ints(5, 4, 3), arr(4, 3)],
                    {}),
    "index_put": (lambda m, F: lambda x, v: x.index_put((m.tensor([0, 2]),), v), [arr(4, 3, 2), arr(4, 2, 2)], {}),
    "matmul_shared_weight": (lambda m, F: lambda x, w: x @ w, [arr(6, 3), arr(3, 4)], {"in_dims": (0, None)}),
    "matmul_both": (lambda m, F: lambda a, b: a @ b, [arr(6, 2, 3), arr(6, 3, 4)], {}),
    "matmul_batched_weight": (lambda m, F: lambda a, b: a @ b, [arr(2, 3), arr(6, 3, 4)], {"in_dims": (None, 0)}),
    "mv_dot": (lambda m, F: lambda a, v: (a @ v) @ v + a.sum(0) @ v, [arr(6, 3, 3), arr(6, 3)], {}),
    "mv_unbatched_matrix": (lambda m, F: lambda a, v: a @ v, [arr(2, 3), arr(6, 3)], {"in_dims": (None, 0)}),
    "bmm_einsum": (lambda m, F: lambda a, b: m.bmm(a, b) + m.einsum("bij,bjk->bik", a, b), [arr(6, 2, 2, 3),
                                                                                         arr(6, 2, 3, 4)], {}),
    "linalg": (lambda m, F: lambda a, b: m.inverse(a) + m.det(a) + _solve(m)(a, b).sum(),
               [arr(5, 3, 3) + 4 * np.eye(3), arr(5, 3)], {}),
    "linear": (lambda m, F: lambda x, w, b: F.linear(x, w, b), [arr(6, 2, 3), arr(4, 3), arr(4)],
               {"in_dims": (0, None, None)}),
    "linear_batched_weights": (lambda m, F: lambda x, w, b: F.linear(x, w, b), [arr(6, 2, 3), arr(6, 4, 3),
                                                                                 arr(6, 4)], {}),
    "conv2d": (lambda m, F: lambda x, w: F.conv2d(x, w, padding=1), [arr(3, 2, 2, 5, 5), arr(4, 2, 3, 3)],
               {"in_dims": (0, None)}),
    "conv2d_batched_weights": (lambda m, F: lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
                               [arr(3, 2, 4, 5, 5), arr(3, 6, 2, 3, 3), arr(3, 6)], {}),
    "embedding_batched_table": (lambda m, F: lambda w, i: F.embedding(i, w), [arr(4, 10, 3), ints(10, 4, 5)], {}),
    "pooling": (lambda m, F: lambda x: F.max_pool2d(x, 2) + F.avg_pool2d(x, 2), [arr(3, 2, 4, 4)], {}),
    "cross_entropy": (lambda m, F: lambda x, t: F.cross_entropy(x, t), [arr(5, 4, 7), ints(7, 5, 4)], {}),
    "cross_entropy_single": (lambda m, F: lambda x, t: F.cross_entropy(x, t), [arr(5, 7), ints(7, 5)], {}),
    "layer_norm": (lambda m, F: lambda x, w, b: F.layer_norm(x, (4,), w, b), [arr(5, 3, 4), arr(4), arr(4)],
                   {"in_dims": (0, None, None)}),
    "activations": (lambda m, F: lambda x: F.gelu(x) + F.silu(x) + F.softplus(x) + F.leaky_relu(x, 0.1),
                    [arr(5, 3, 4)], {}),
    "in_dims_last": (lambda m, F: lambda x: x.sum(0), [arr(3, 4, 5)], {"in_dims": -1}),
    "in_dims_nested": (lambda m, F: lambda p, x: p["w"] * x + p["b"],
                       [None, arr(6, 3)], {}),
    "out_dims": (lambda m, F: lambda x: (x * 2, x.sum()), [arr(4, 3)], {"out_dims": (1, 0)}),
    "unbatched_output": (lambda m, F: lambda x, y: y * 2, [arr(4, 3), arr(3)], {"in_dims": (0, None)}),
}


@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_vmap_matches_torch(name):
    make, inputs, kw = VMAP_CASES[name]
    if name == "in_dims_nested":
        p = {"w": arr(6, 3), "b": arr(3)}
        x = arr(6, 3)
        d = vmap(make(dynagrad, dF), in_dims=({"w": 0, "b": None}, 0))(
            {k: dynagrad.tensor(v) for k, v in p.items()}, dynagrad.tensor(x))
        t = torch.func.vmap(make(torch, tF), in_dims=({"w": 0, "b": None}, 0))(
            {k: torch.tensor(v) for k, v in p.items()}, torch.tensor(x))
        assert_close(to_np(d), to_np(t))
        return
    both(make, inputs, **kw)


def _primitive_cases():
    from test_forward_ad import CASES
    return CASES


@pytest.mark.parametrize("name", sorted(_primitive_cases()))
def test_every_primitive_batches_like_a_loop(name):
    """Each op of the forward-AD table (every primitive) under vmap equals the op on each example in turn."""
    f, inputs = _primitive_cases()[name][:2]
    if name in ("avg_pool2d_adjoint", "diagonal_adjoint", "grid_sample_adjoint", "grid_sample_grid_adjoint"):
        x0 = dynagrad.tensor(np.asarray(inputs[0], dtype=np.float64), requires_grad=True)
        g = dynagrad.tensor(np.stack([np.asarray(inputs[1], dtype=np.float64) * (1 + 0.1 * i) for i in range(3)]))
        out = vmap(lambda gg: f(x0, gg))(g)
        ref = dynagrad.stack([f(x0, g[i]) for i in range(3)])
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        return
    B = 3
    xs = [dynagrad.tensor(np.stack([np.asarray(a, dtype=np.float64) * (1 + 0.1 * i) for i in range(B)]))
          for a in inputs]
    if name in ("prod_zero", "cumprod_zero", "maximum_ties"):
        xs = [dynagrad.tensor(np.stack([np.asarray(a, dtype=np.float64)] * B)) for a in inputs]
    out = vmap(f)(*xs)
    ref = [f(*[x[i] for x in xs]) for i in range(B)]
    outs = out if isinstance(out, (tuple, list)) else (out,)
    refs = [r if isinstance(r, (tuple, list)) else (r,) for r in ref]
    for k, o in enumerate(outs):
        np.testing.assert_allclose(o.detach().numpy(), np.stack([r[k].detach().numpy() for r in refs]),
                                   rtol=1e-10, atol=1e-12)


def test_vmap_nested_and_chunked():
    x, y = arr(3, 4, 5), arr(4, 5)

    def f(m):
        return lambda a, b: (a * b).sum(-1).softmax(0)

    d = vmap(vmap(f(dynagrad), in_dims=(0, 0)), in_dims=(0, None))(dynagrad.tensor(x), dynagrad.tensor(y))
    t = torch.func.vmap(torch.func.vmap(f(torch), in_dims=(0, 0)), in_dims=(0, None))(torch.tensor(x),
                                                                                     torch.tensor(y))
    assert_close(to_np(d), to_np(t))
    # the inner vmap over dim 1 of a tensor batched by the outer one
    d = vmap(vmap(lambda a: a.exp().sum(), in_dims=1))(dynagrad.tensor(x))
    t = torch.func.vmap(torch.func.vmap(lambda a: a.exp().sum(), in_dims=1))(torch.tensor(x))
    assert_close(to_np(d), to_np(t))
    d = vmap(lambda a: a @ a.T, chunk_size=2)(dynagrad.tensor(x))
    assert_close(to_np(d), to_np(torch.tensor(x) @ torch.tensor(x).mT))


def test_vmap_errors_and_randomness():
    with pytest.raises(ValueError, match="same size"):
        vmap(lambda a, b: a + b)(dynagrad.ones(2, 3), dynagrad.ones(3, 3))
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda a: a + dynagrad.rand(3))(dynagrad.ones(4, 3))
    with pytest.raises(RuntimeError, match="data-dependent|item"):
        vmap(lambda a: a * 2 if a.sum() > 0 else a)(dynagrad.tensor([[1.0, 2.0], [-1.0, -2.0]]))
    same = vmap(lambda a: a + dynagrad.rand(3), randomness="same")(dynagrad.zeros(4, 3))
    assert np.allclose(same.numpy(), same.numpy()[0])
    diff = vmap(lambda a: a + dynagrad.rand(3), randomness="different")(dynagrad.zeros(4, 3))
    assert diff.shape == (4, 3) and not np.allclose(diff.numpy(), diff.numpy()[0])
    drop = vmap(lambda a: dF.dropout(a, 0.5), randomness="different")(dynagrad.ones(4, 100))
    assert not np.allclose(drop.numpy(), drop.numpy()[0])
    assert state.transform_hook is None


def test_vmap_is_differentiable_both_ways():
    x = arr(5, 3)
    w = arr(3)
    # grad outside vmap: gradients of an unbatched input sum over the batch
    xd, wd = dynagrad.tensor(x, requires_grad=True), dynagrad.tensor(w, requires_grad=True)
    vmap(lambda a, b: (a * b).sin().sum(), in_dims=(0, None))(xd, wd).sum().backward()
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.func.vmap(lambda a, b: (a * b).sin().sum(), in_dims=(0, None))(xt, wt).sum().backward()
    assert_close(xd.grad.numpy(), xt.grad.numpy())
    assert_close(wd.grad.numpy(), wt.grad.numpy())


# -- grad / vjp / jvp / Jacobians -----------------------------------------------------------------------------

def _f(m):
    return lambda x, y: ((x.sin() * y).sum() + (x @ y.unsqueeze(-1)).tanh().sum()) ** 2


def test_grad_argnums_has_aux_and_value():
    x, y = arr(3, 4), arr(4)
    d = grad(_f(dynagrad), argnums=(0, 1))(dynagrad.tensor(x), dynagrad.tensor(y))
    t = torch.func.grad(_f(torch), argnums=(0, 1))(torch.tensor(x), torch.tensor(y))
    assert_close(to_np(d), to_np(t))
    assert not d[0].requires_grad

    def aux(m):
        return lambda x: ((x ** 2).sum(), {"mean": x.mean()})
    dg, (dv, da) = grad_and_value(aux(dynagrad), has_aux=True)(dynagrad.tensor(x))
    tg, (tv, ta) = torch.func.grad_and_value(aux(torch), has_aux=True)(torch.tensor(x))
    assert_close([to_np(dg), to_np(dv), to_np(da["mean"])], [to_np(tg), to_np(tv), to_np(ta["mean"])])
    with pytest.raises(RuntimeError, match="scalar"):
        grad(lambda x: x * 2)(dynagrad.ones(3))


def test_vjp_and_jvp():
    x = arr(3, 4)
    v = arr(3, 4, seed=5)

    def f(m):
        return lambda x: (x.exp() * x.cos(), x.sum(0))
    d_out, d_fn = vjp(f(dynagrad), dynagrad.tensor(x))
    t_out, t_fn = torch.func.vjp(f(torch), torch.tensor(x))
    assert_close(to_np(d_out), to_np(t_out))
    ct = (v, arr(4, seed=6))
    assert_close(to_np(d_fn(tuple(dynagrad.tensor(c) for c in ct))),
                 to_np(t_fn(tuple(torch.tensor(c) for c in ct))))
    d = jvp(f(dynagrad), (dynagrad.tensor(x),), (dynagrad.tensor(v),))
    t = torch.func.jvp(f(torch), (torch.tensor(x),), (torch.tensor(v),))
    assert_close(to_np(d), to_np(t))


@pytest.mark.parametrize("which", ["jacrev", "jacfwd"])
def test_jacobians(which):
    x, y = arr(3), arr(3, seed=4)

    def f(m):
        return lambda a, b: (a.sin() * b.exp(), (a * b).sum().reshape(1))
    dj = {"jacrev": jacrev, "jacfwd": jacfwd}[which](f(dynagrad), argnums=(0, 1))(dynagrad.tensor(x),
                                                                                 dynagrad.tensor(y))
    tj = getattr(torch.func, which)(f(torch), argnums=(0, 1))(torch.tensor(x), torch.tensor(y))
    assert_close(to_np(dj), to_np(tj))
    single = {"jacrev": jacrev, "jacfwd": jacfwd}[which](lambda a: a.softmax(0))(dynagrad.tensor(x))
    assert_close(to_np(single), to_np(getattr(torch.func, which)(lambda a: a.softmax(0))(torch.tensor(x))))


def test_hessian_and_hvp_of_a_small_network():
    w1, w2, x = arr(5, 3), arr(1, 5), arr(3)

    def net(m, F):
        return lambda w1, w2: F.softplus(F.linear(m.tanh(F.linear(x_[m], w1)), w2)).sum()
    x_ = {dynagrad: dynagrad.tensor(x), torch: torch.tensor(x)}
    dH = hessian(net(dynagrad, dF), argnums=0)(dynagrad.tensor(w1), dynagrad.tensor(w2))
    tH = torch.func.hessian(net(torch, tF), argnums=0)(torch.tensor(w1), torch.tensor(w2))
    assert dH.shape == (5, 3, 5, 3)
    assert_close(to_np(dH), to_np(tH))
    v = arr(5, 3, seed=9)
    # forward-over-reverse Hessian-vector product, as people write it
    dhv = jvp(grad(net(dynagrad, dF)), (dynagrad.tensor(w1), dynagrad.tensor(w2)),
              (dynagrad.tensor(v), dynagrad.zeros(1, 5, dtype=dynagrad.float64)))[1]
    thv = torch.func.jvp(torch.func.grad(net(torch, tF)), (torch.tensor(w1), torch.tensor(w2)),
                         (torch.tensor(v), torch.zeros(1, 5, dtype=torch.float64)))[1]
    assert_close(to_np(dhv), to_np(thv))


def test_jacobian_of_an_ode_right_hand_side():
    # Lotka-Volterra with parameters: d/dt [x, y] = [a x - b x y, d x y - c y]
    def rhs(m):
        return lambda u, p: m.stack([p[0] * u[0] - p[1] * u[0] * u[1], p[3] * u[0] * u[1] - p[2] * u[1]])
    u, p = arr(2, low=0.5, high=2), arr(4, low=0.5, high=2)
    for transform in ("jacrev", "jacfwd"):
        d = {"jacrev": jacrev, "jacfwd": jacfwd}[transform](rhs(dynagrad), argnums=(0, 1))(dynagrad.tensor(u),
                                                                                           dynagrad.tensor(p))
        t = getattr(torch.func, transform)(rhs(torch), argnums=(0, 1))(torch.tensor(u), torch.tensor(p))
        assert_close(to_np(d), to_np(t))
    # batched over many states at once
    us = arr(8, 2, low=0.5, high=2)
    d = vmap(jacrev(rhs(dynagrad)), in_dims=(0, None))(dynagrad.tensor(us), dynagrad.tensor(p))
    t = torch.func.vmap(torch.func.jacrev(rhs(torch)), in_dims=(0, None))(torch.tensor(us), torch.tensor(p))
    assert_close(to_np(d), to_np(t))


def test_compositions():
    x = arr(4, 3)

    def f(m):
        return lambda a: (a.sin() ** 2).sum() * a.exp().sum()
    cases = [
        (lambda F: F.vmap(F.grad(f(m_of[F]))), x),
        (lambda F: F.vmap(F.hessian(f(m_of[F]))), x),
        (lambda F: F.grad(lambda a: F.vmap(f(m_of[F]))(a).sum()), x),
        (lambda F: F.jacrev(F.jacrev(f(m_of[F]))), x[0]),
        (lambda F: F.jacfwd(F.jacfwd(f(m_of[F]))), x[0]),
        (lambda F: F.vmap(lambda a: F.jvp(f(m_of[F]), (a,), (a.cos(),))[1]), x),
        (lambda F: F.grad(F.grad(lambda a: f(m_of[F])(a.unsqueeze(0)))), x[0, 0]),
    ]
    m_of = {dynagrad.func: dynagrad, torch.func: torch}
    for build, a in cases:
        d = build(dynagrad.func)(dynagrad.tensor(a))
        t = build(torch.func)(torch.tensor(a))
        assert_close(to_np(d), to_np(t))


NESTED = {
    "vmap(vmap(grad))": lambda F: F.vmap(F.vmap(F.grad(lambda a, b: (a * b).sin().sum()), in_dims=(0, None)),
                                         in_dims=(0, None)),
    "vmap(vmap(grad wrt shared))": lambda F: F.vmap(F.vmap(F.grad(lambda a, b: (a * b).sin().sum(), argnums=1),
                                                           in_dims=(0, None)), in_dims=(0, None)),
    "vmap(jacrev)": lambda F: F.vmap(F.jacrev(lambda a, b: (a * b).tanh(), argnums=1), in_dims=(0, None)),
    "vmap(jacfwd)": lambda F: F.vmap(F.jacfwd(lambda a, b: (a @ b).tanh(), argnums=1), in_dims=(0, None)),
    "jacrev(vmap)": lambda F: F.jacrev(lambda a, b: F.vmap(lambda r: (r * b).exp().sum())(a), argnums=1),
    "jacfwd(vmap)": lambda F: F.jacfwd(lambda a, b: F.vmap(lambda r: (r * b).exp().sum())(a), argnums=1),
    "vmap(hessian)": lambda F: F.vmap(F.hessian(lambda a, b: (a @ b).sin().sum(), argnums=1), in_dims=(0, None)),
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_transforms(name):
    x, w = arr(3, 4, 5), arr(5)
    d = NESTED[name](dynagrad.func)(dynagrad.tensor(x), dynagrad.tensor(w))
    t = NESTED[name](torch.func)(torch.tensor(x), torch.tensor(w))
    assert_close(to_np(d), to_np(t))


# -- modules -------------------------------------------------------------------------------------------------

class _MLP:
    @staticmethod
    def make(nn, F, sizes=(784, 128, 64, 10)):
        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(sizes[0], sizes[1])
                self.fc2 = nn.Linear(sizes[1], sizes[2])
                self.fc3 = nn.Linear(sizes[2], sizes[3])

            def forward(self, x):
                x = x.view(-1, sizes[0])
                return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
        return MLP()


def test_functional_call_replaces_and_restores():
    lin = dnn.Linear(3, 2)
    before = {k: v.detach().numpy().copy() for k, v in lin.named_parameters()}
    w, b = dynagrad.ones(2, 3), dynagrad.zeros(2)
    out = functional_call(lin, {"weight": w, "bias": b}, (dynagrad.ones(1, 3),))
    assert out.tolist() == [[3.0, 3.0]]
    for k, v in lin.named_parameters():
        np.testing.assert_array_equal(v.detach().numpy(), before[k])
    assert isinstance(lin.weight, dnn.Parameter)
    with pytest.raises(RuntimeError, match="missing"):
        functional_call(lin, {"weight": w}, (dynagrad.ones(1, 3),), strict=True)
    # tied weights take the new value under every name
    seq = dnn.Sequential(dnn.Linear(2, 2, bias=False), dnn.Linear(2, 2, bias=False))
    seq[1].weight = seq[0].weight
    r = functional_call(seq, {"0.weight": dynagrad.eye(2) * 2}, (dynagrad.ones(1, 2),))
    assert r.tolist() == [[4.0, 4.0]]


def test_per_sample_gradients_of_the_seed_mlp():
    dynagrad.manual_seed(0)
    model = _MLP.make(dnn, dF)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = dynagrad.tensor(arr(64, 784, dtype=np.float32))
    y = dynagrad.tensor(ints(10, 64))

    def loss(p, xi, yi):
        return dF.cross_entropy(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for i in range(64):
        model.zero_grad()
        dF.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for k, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[k][i].numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6)
    # and the same numbers as torch.func on the same weights
    tmodel = _MLP.make(torch.nn, tF)
    tmodel.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in model.state_dict().items()})
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}

    def tloss(p, xi, yi):
        return tF.cross_entropy(torch.func.functional_call(tmodel, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))
    tps = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(tparams, torch.tensor(x.numpy()),
                                                                       torch.tensor(y.numpy()))
    for k in params:
        np.testing.assert_allclose(per_sample[k].numpy(), tps[k].numpy(), rtol=1e-4, atol=1e-6)


def test_per_sample_gradients_of_a_cnn():
    dynagrad.manual_seed(2)
    conv, fc = dnn.Conv2d(1, 4, 3, padding=1), dnn.Linear(4 * 4 * 4, 3)
    model = dnn.Sequential(conv, dnn.ReLU(), dnn.MaxPool2d(2), dnn.Flatten(), fc)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = dynagrad.tensor(arr(6, 1, 8, 8, dtype=np.float32))
    y = dynagrad.tensor(ints(3, 6))

    def loss(p, xi, yi):
        return dF.cross_entropy(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for i in range(6):
        model.zero_grad()
        dF.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for k, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[k][i].numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_ensemble_with_stack_module_state():
    dynagrad.manual_seed(1)
    cls = type(_MLP.make(dnn, dF, (6, 5, 4, 3)))
    models = [cls() for _ in range(4)]
    params, buffers = stack_module_state(models)
    assert params["fc1.weight"].shape == (4, 5, 6) and params["fc1.weight"].requires_grad
    x = dynagrad.tensor(arr(7, 6, dtype=np.float32))
    base = models[0]

    def run(p, b, xx):
        return functional_call(base, (p, b), (xx,))
    out = vmap(run, in_dims=(0, 0, None))(params, buffers, x)
    for i, m in enumerate(models):
        np.testing.assert_allclose(out[i].detach().numpy(), m(x).detach().numpy(), rtol=1e-5, atol=1e-6)
