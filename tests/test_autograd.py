"""Autograd against PyTorch: graph bookkeeping, backward/grad options, double backward, grad modes, hooks,
custom Functions; numerical gradient checks (gradcheck, gradgradcheck) in float64."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import F, check_op

import dynagrad
from dynagrad.autograd import gradcheck, gradgradcheck

FLOATS = ("float32", "float64")


# -- graph bookkeeping ---------------------------------------------------------------------------------------

def test_requires_grad_propagation_and_is_leaf():
    def fn(m, x, c):
        y = x * 2
        z = c * 3  # no input requires grad
        w = y + z
        d = w.detach()
        with m.no_grad():
            n = x * 2
        return [y.requires_grad, z.requires_grad, w.requires_grad, d.requires_grad, n.requires_grad,
                x.is_leaf, y.is_leaf, z.is_leaf, d.is_leaf, n.is_leaf, x.grad_fn is None,
                y.grad_fn is not None, (x > 0).requires_grad, x.argmax().requires_grad,
                x.long().requires_grad, x.sum().requires_grad,
                x[0].requires_grad, x.detach().requires_grad_().is_leaf]

    check_op(fn, (3,), F(3, grad=False))


def test_grad_fn_names_and_next_functions():
    x = dynagrad.randn(3, requires_grad=True)
    w = dynagrad.randn(3, requires_grad=True)
    y = (x * w).sum()
    assert y.grad_fn.name() == "SumBackward0"
    (mul, nr), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and nr == 0
    acc = mul.next_functions
    assert [type(a).__name__ for a, _ in acc] == ["AccumulateGrad", "AccumulateGrad"]
    assert acc[0][0].variable is x and acc[1][0].variable is w
    z = x * 2 + dynagrad.ones(3)
    add = z.grad_fn
    assert add.name() == "AddBackward0"
    assert add.next_functions[1] == (None, 0)  # the constant needs no gradient
    ref = _grad_fn_names_torch()
    assert _grad_fn_names(dynagrad) == ref


def _grad_fn_names(m):
    x = m.ones(2, 3, requires_grad=True)
    outs = [x + 1, x - 1, x * 2, x / 2, x ** 3, x.exp(), x.log(), x.sum(), x.mean(), x.t(), x.view(6),
            x.reshape(3, 2), x.permute(1, 0), x[0], x[:, 1:], x.unsqueeze(0), x.squeeze(), x.expand(2, 2, 3),
            x @ x.t(), x.relu(), x.sigmoid(), x.tanh(), x.max(), x.abs(), x.clone(), x.neg(), x.sqrt(),
            m.cat([x, x]), x.transpose(0, 1), x.pow(2), x.to(m.float64)]
    return [o.grad_fn.name() for o in outs]


def _grad_fn_names_torch():
    from helpers import reference
    return reference(lambda torch: _grad_fn_names(torch))


def test_grad_accumulates_across_backwards():
    def fn(m, x):
        (x * 2).sum().backward()
        (x * x).sum().backward()
        g1 = x.grad.clone()
        x.grad = None
        (x * 3).sum().backward()
        g2 = x.grad.clone()
        x.grad.zero_()
        (x ** 3).sum().backward()
        return [g1, g2, x.grad]

    check_op(fn, (3,), grad=False)


def test_backward_gradient_argument():
    def fn(m, x, g):
        y = x * x
        y.backward(gradient=g)
        return x.grad

    check_op(fn, (2, 3), F(2, 3, grad=False), grad=False, dtypes=FLOATS)
    check_op(lambda m, x, g: m.autograd.backward([x * 2, x.exp()], [g, g * 2]) or x.grad, (3,),
             F(3, grad=False),
             grad=False)
    check_op(lambda m, x: (x * 2).backward(), (3,), grad=False, raises=RuntimeError)
    check_op(lambda m, x, g: (x * 2).backward(g), (3,), F(2, grad=False), grad=False, raises=RuntimeError)


def test_retain_graph():
    def fn(m, x):
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        g = x.grad.clone()
        y.backward()
        return [g, x.grad]

    check_op(fn, (3,), grad=False)


def test_backward_inputs():
    def fn(m, x, w):
        y = (x * w).sum() + (w * w).sum()
        y.backward(inputs=[w])
        return [x.grad, w.grad]

    check_op(fn, (3,), (3,), grad=False)

    def fn2(m, x, w):
        h = x * w
        y = (h * h).sum()
        y.backward(inputs=[x])
        return [x.grad, w.grad]

    check_op(fn2, (3,), (3,), grad=False)


def test_autograd_grad():
    def fn(m, x, w):
        y = (x * w).exp()
        return m.autograd.grad(y, [x, w], grad_outputs=m.ones_like(y) * 0.5)

    check_op(fn, (3,), (3,), grad=False, dtypes=FLOATS)

    def fn_unused(m, x, w):
        return m.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)

    check_op(fn_unused, (3,), (3,), grad=False)
    check_op(lambda m, x, w: m.autograd.grad((x * 2).sum(), [x, w]), (3,), (3,), grad=False,
             raises=RuntimeError)
    check_op(lambda m, x, w: m.autograd.grad((x * 2).sum(), [x, w], materialize_grads=True), (3,), (3,),
             grad=False)

    def fn_leaves_untouched(m, x):
        (g,) = m.autograd.grad((x * x).sum(), x)
        return [g, x.grad]

    check_op(fn_leaves_untouched, (3,), grad=False)

    def fn_multiple_outputs(m, x):
        return m.autograd.grad([(x * 2).sum(), (x * x).sum()], x)

    check_op(fn_multiple_outputs, (3,), grad=False)

    def fn_intermediate(m, x):
        h = x.sin()
        y = (h * h).sum()
        return m.autograd.grad(y, h)

    check_op(fn_intermediate, (3,), grad=False)


DOUBLE = {
    "cube": lambda m, x: (x ** 3).sum(),
    "exp_sin": lambda m, x: (x.exp() * x.sin()).sum(),
    "tanh": lambda m, x: x.tanh().sum(),
    "sigmoid": lambda m, x: (x.sigmoid() * x).sum(),
    "log_softmax": lambda m, x: x.log_softmax(-1)[..., 0].sum(),
    "softmax": lambda m, x: (x.softmax(-1) ** 2).sum(),
    "div": lambda m, x: (1 / (x * x + 1)).sum(),
    "norm": lambda m, x: x.norm(),
    "matmul": lambda m, x: (x @ x.t()).pow(2).sum(),
    "max": lambda m, x: x.amax(-1).pow(2).sum(),
    "var": lambda m, x: x.var(),
    "std": lambda m, x: x.std(-1).sum(),
    "logsumexp": lambda m, x: m.logsumexp(x, -1).sum(),
    "cumsum": lambda m, x: (x.cumsum(-1) ** 2).sum(),
    "prod": lambda m, x: x.prod(-1).sum(),
    "index": lambda m, x: (x[:, m.tensor([0, 0, 1])] ** 2).sum(),
    "gather": lambda m, x: (x.gather(1, m.tensor([[0, 2], [1, 1]])) ** 3).sum(),
    "where": lambda m, x: m.where(x > 0, x * x, x.exp()).sum(),
    "clamp": lambda m, x: (x.clamp(-0.5, 0.5) * x).sum(),
    "abs": lambda m, x: (x.abs() * x).sum(),
    "sqrt": lambda m, x: (x * x + 1).sqrt().sum(),
    "einsum": lambda m, x: m.einsum("ij,ij->", x, x.exp()),
    "stack_cat": lambda m, x: (m.cat([x, x * x]) ** 2).sum() + m.stack([x, x]).exp().sum(),
    "split": lambda m, x: sum((p ** 3).sum() for p in x.split(1, 1)),
    "setitem": lambda m, x: _setitem_sq(x),
    "maximum": lambda m, x: m.maximum(x, x.flip(0)).pow(2).sum(),
}


def _setitem_sq(x):
    y = x * x
    y[0] = x[1] * 3
    return (y * x).sum()


@pytest.mark.parametrize("name", list(DOUBLE))
def test_double_backward(name):
    """Gradients of gradients: the first derivative is a graph output, check_op backpropagates through it."""
    f = DOUBLE[name]

    def fn(m, x):
        (g,) = m.autograd.grad(f(m, x), x, create_graph=True)
        return g

    check_op(fn, (2, 3), dtypes=FLOATS)


def test_double_backward_via_backward_create_graph():
    def fn(m, x):
        y = (x ** 3).sum()
        y.backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g * g).sum().backward()
        return [g.detach(), x.grad]

    check_op(fn, (3,), grad=False)


def test_third_derivative():
    def fn(m, x):
        (g,) = m.autograd.grad((x ** 4).sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x, create_graph=True)
        return h

    check_op(fn, (3,), dtypes=("float64",))


def test_hessian_vector_product():
    def fn(m, x, v):
        y = (x.exp() * x.sin()).sum() + (x @ x)
        (g,) = m.autograd.grad(y, x, create_graph=True)
        (hv,) = m.autograd.grad(g, x, grad_outputs=v)
        return hv

    check_op(fn, (4,), F(4, grad=False), grad=False, dtypes=FLOATS)


# -- grad modes ----------------------------------------------------------------------------------------------

def test_grad_mode_context_managers():
    def fn(m, x):
        out = []
        with m.no_grad():
            out.append((x * 2).requires_grad)
            out.append(m.is_grad_enabled())
            with m.enable_grad():
                out.append((x * 2).requires_grad)
            out.append((x * 2).requires_grad)
        out.append((x * 2).requires_grad)
        with m.set_grad_enabled(False):
            out.append((x * 2).requires_grad)
        with m.set_grad_enabled(True):
            out.append((x * 2).requires_grad)
        with m.inference_mode():
            out.append((x * 2).requires_grad)
            out.append(m.is_inference_mode_enabled())
        with m.inference_mode(False):
            out.append((x * 2).requires_grad)
        out.append(m.is_grad_enabled())
        return out

    check_op(fn, (3,), grad=False)


def test_set_grad_enabled_as_function():
    prev = dynagrad.is_grad_enabled()
    dynagrad.set_grad_enabled(False)
    try:
        assert not (dynagrad.ones(2, requires_grad=True) * 2).requires_grad
    finally:
        dynagrad.set_grad_enabled(True)
    assert prev and dynagrad.is_grad_enabled()


def test_grad_mode_decorators():
    x = dynagrad.ones(2, requires_grad=True)

    @dynagrad.no_grad()
    def f1(t):
        return t * 2

    @dynagrad.no_grad
    def f2(t):
        return t * 2

    @dynagrad.enable_grad()
    def f3(t):
        return t * 2

    @dynagrad.inference_mode()
    def f5(t):
        return t * 2

    @dynagrad.inference_mode
    def f6(t):
        return t * 2

    @dynagrad.no_grad()
    def gen(t):
        yield t * 2
        yield t * 3

    assert not f1(x).requires_grad and not f2(x).requires_grad
    assert not f5(x).requires_grad and not f6(x).requires_grad
    with dynagrad.no_grad():
        assert f3(x).requires_grad
    assert [t.requires_grad for t in gen(x)] == [False, False]
    assert dynagrad.is_grad_enabled()
    assert f1.__name__ == "f1"

    class Model:
        @dynagrad.no_grad()
        def predict(self, t):
            return t * 2

    assert not Model().predict(x).requires_grad


def test_set_grad_enabled_decorator():
    x = dynagrad.ones(2, requires_grad=True)
    try:
        @dynagrad.set_grad_enabled(False)
        def f(t):
            return t * 2

        assert dynagrad.is_grad_enabled()
        assert not f(x).requires_grad and dynagrad.is_grad_enabled()
    finally:
        dynagrad.set_grad_enabled(True)


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with dynagrad.no_grad():
            raise ValueError
    assert dynagrad.is_grad_enabled()


# -- detach, retain_grad, hooks ------------------------------------------------------------------------------

def test_detach_shares_memory_and_version():
    x = dynagrad.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.add_(1)
    assert y.tolist() == [3.0, 3.0, 3.0] and y._version == d._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z = y * y
        d.mul_(2)
        z.sum().backward()


def test_retain_grad():
    def fn(m, x):
        h = x * 3
        h.retain_grad()
        k = h.exp()
        y = (k * h).sum()
        y.backward()
        return [h.grad, x.grad, h.retains_grad, k.retains_grad, x.retains_grad]

    check_op(fn, (3,), grad=False, dtypes=FLOATS)


def test_register_hook_leaf_and_nonleaf():
    def fn(m, x):
        seen = []
        x.register_hook(lambda g: seen.append(g.clone()))
        h = x * 2
        h.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
        h2 = h.sin()
        handle = h2.register_hook(lambda g: seen.append(g.clone()))
        h2.sum().backward(retain_graph=True)
        handle.remove()
        h2.sum().backward()
        return seen + [x.grad]

    check_op(fn, (3,), grad=False)

    def fn_leaf_replace(m, x):
        x.register_hook(lambda g: g * 0 + 1)
        (x * x).sum().backward()
        return x.grad

    check_op(fn_leaf_replace, (3,), grad=False)
    check_op(lambda m, x: x.detach().register_hook(lambda g: g), (3,), grad=False, raises=RuntimeError)


def test_post_accumulate_grad_hook():
    x = dynagrad.ones(3, requires_grad=True)
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.clone()))
    (x * 2).sum().backward()
    assert len(calls) == 1 and calls[0].tolist() == [2.0, 2.0, 2.0]


def test_node_hooks():
    x = dynagrad.ones(3, requires_grad=True)
    y = x * 2
    z = y.sum()
    log = []
    y.grad_fn.register_prehook(lambda gouts: log.append("pre"))
    y.grad_fn.register_hook(lambda gins, gouts: log.append("post"))
    z.backward()
    assert log == ["pre", "post"]


# -- custom Functions ----------------------------------------------------------------------------------------

def _custom_functions(m):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * ctx.k * g, None

    class ExpSaveOutput(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    class Needs(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.flags = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            assert ctx.needs_input_grad == ctx.flags
            return (g * 2 if ctx.needs_input_grad[0] else None), (g * 3 if ctx.needs_input_grad[1] else None)

    class InplaceDouble(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class SortWithIndex(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return values, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            (idx,) = ctx.saved_tensors
            out = m.zeros_like(g)
            out[idx] = g
            return out

    class TwoOutputs(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            total = m.zeros_like(g1 if g1 is not None else g2)
            if g1 is not None:
                total = total + g1 * 2
            if g2 is not None:
                total = total + g2 * 3
            return total

    class TwoOutputsMaterialized(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert g1 is not None and g2 is not None  # missing gradients arrive as zeros
            return g1 * 2 + g2 * 3

    return {"Cube": Cube, "ExpSaveOutput": ExpSaveOutput, "Needs": Needs, "InplaceDouble": InplaceDouble,
            "SortWithIndex": SortWithIndex, "TwoOutputs": TwoOutputs,
            "TwoOutputsMaterialized": TwoOutputsMaterialized}


def test_custom_function_save_for_backward():
    check_op(lambda m, x: _custom_functions(m)["Cube"].apply(x, 2.0), (3,), dtypes=FLOATS)
    check_op(lambda m, x: _custom_functions(m)["ExpSaveOutput"].apply(x) * x, (3,))
    check_op(lambda m, x: _custom_functions(m)["Cube"].apply(x.sin(), 0.5).exp(), (2, 2))


def test_custom_function_needs_input_grad():
    check_op(lambda m, a, b: _custom_functions(m)["Needs"].apply(a, b), (3,), F(3, grad=False))
    check_op(lambda m, a, b: _custom_functions(m)["Needs"].apply(a, b), F(3, grad=False), (3,))
    check_op(lambda m, a, b: _custom_functions(m)["Needs"].apply(a, b), (3,), (3,))


def test_custom_function_mark_dirty():
    check_op(lambda m, x: _custom_functions(m)["InplaceDouble"].apply(x * 1) * x, (3,))
    check_op(lambda m, x: _custom_functions(m)["InplaceDouble"].apply(x), (3,), raises=RuntimeError)


def test_custom_function_mark_non_differentiable():
    def fn(m, x):
        values, idx = _custom_functions(m)["SortWithIndex"].apply(x)
        return [values * values, idx, idx.requires_grad]

    check_op(fn, (5,))


def test_custom_function_materialize_grads():
    check_op(lambda m, x: _custom_functions(m)["TwoOutputs"].apply(x)[0], (3,))
    check_op(lambda m, x: _custom_functions(m)["TwoOutputs"].apply(x)[1] * x, (3,))
    check_op(lambda m, x: _custom_functions(m)["TwoOutputsMaterialized"].apply(x)[1], (3,))


def test_custom_function_no_grad_inputs_and_errors():
    out = _custom_functions(dynagrad)["Cube"].apply(dynagrad.ones(2), 1.0)
    assert not out.requires_grad and out.grad_fn is None
    x = dynagrad.ones(2, requires_grad=True)
    y = _custom_functions(dynagrad)["Cube"].apply(x, 1.0)
    assert y.grad_fn.name() == "CubeBackward"
    with dynagrad.no_grad():
        assert not _custom_functions(dynagrad)["Cube"].apply(x, 1.0).requires_grad

    class Wrong(dynagrad.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Wrong.apply(x).sum().backward()


def test_custom_function_double_backward():
    def fn(m, x):
        y = _custom_functions(m)["Cube"].apply(x, 1.0).sum()
        (g,) = m.autograd.grad(y, x, create_graph=True)
        return g

    check_op(fn, (3,), dtypes=("float64",))


# -- numerical gradient checks -------------------------------------------------------------------------------

GRADCHECK = {
    "add_broadcast": (lambda a, b: a + b, [(3, 4), (4,)]),
    "mul": (lambda a, b: a * b, [(3, 4), (3, 1)]),
    "div": (lambda a, b: a / (b * b + 1), [(3, 4), (4,)]),
    "pow": (lambda a, b: (a * a + 0.5) ** b, [(3,), (3,)]),
    "exp_log": (lambda a: (a.exp() + 1).log(), [(3, 4)]),
    "trig": (lambda a: a.sin() * a.cos() + a.tanh(), [(3, 4)]),
    "sigmoid_relu": (lambda a: a.sigmoid() + (a + 0.05).relu(), [(3, 4)]),
    "sqrt_rsqrt": (lambda a: (a * a + 1).sqrt() + (a * a + 1).rsqrt(), [(5,)]),
    "reductions": (lambda a: [a.sum(0), a.mean(1), a.prod(1), a.amax(0), a.var(1), a.std(0), a.norm()],
                   [(3, 4)]),
    "max_dim": (lambda a: a.max(1).values, [(3, 4)]),
    "logsumexp_softmax": (lambda a: [dynagrad.logsumexp(a, 1), a.softmax(0), a.log_softmax(1)], [(3, 4)]),
    "cumulative": (lambda a: [a.cumsum(1), a.cumprod(0)], [(3, 4)]),
    "matmul": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    "matvec": (lambda a, b: a @ b, [(3, 4), (4,)]),
    "einsum": (lambda a, b: dynagrad.einsum("bij,bjk->bik", a, b), [(2, 2, 3), (2, 3, 2)]),
    "einsum_diag": (lambda a: dynagrad.einsum("ii->i", a), [(3, 3)]),
    "shape": (lambda a: a.t().reshape(-1).unsqueeze(0).expand(2, 12).flip(1).roll(2, 1), [(3, 4)]),
    "cat_stack_split": (lambda a, b: [dynagrad.cat([a, b]), dynagrad.stack([a, b], 1), *a.split([1, 2])],
                        [(3, 2), (3, 2)]),
    "index": (lambda a: [a[1], a[:, ::2], a[dynagrad.tensor([0, 0, 2])], a[a > 0]], [(3, 4)]),
    "gather_scatter": (lambda a, s: [a.gather(1, dynagrad.tensor([[0, 0], [1, 3], [2, 2]])),
                                     a.scatter_add(0, dynagrad.tensor([[0, 1], [0, 2]]), s[:2, :2]),
                                     a.scatter(1, dynagrad.tensor([[0, 1], [3, 2]]), s)],
                       [(3, 4), (2, 4)]),
    "scatter_reduce": (lambda a, s: [a.scatter_reduce(0, dynagrad.tensor([[0, 1], [0, 2]]), s, "amax"),
                                     a.scatter_reduce(1, dynagrad.tensor([[0, 1], [0, 2]]), s, "prod")],
                       [(3, 4), (2, 4)]),
    "where_clamp": (lambda a, b: [dynagrad.where(a > 0, a, b), a.clamp(-0.5, 0.5), dynagrad.maximum(a, b)],
                    [(3, 4), (3, 4)]),
    "setitem": (lambda a, v: _setitem_sq(a) + v.sum(), [(3, 4), (4,)]),
    "masked": (lambda a: [a.masked_fill(a > 0.5, 0.0), a.masked_select(a < 0)], [(3, 4)]),
    "sort_topk": (lambda a: [a.sort(1).values, a.topk(2, 0).values], [(3, 4)]),
    "tril_triu": (lambda a: [a.tril(), a.triu(1)], [(3, 4)]),
    "inverse_det": (lambda a: [(a + 3 * dynagrad.eye(3, dtype=a.dtype)).inverse(), a.det()], [(3, 3)]),
}


def _gc_inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    return [dynagrad.tensor(rng.uniform(-1.5, 1.5, s), dtype=dynagrad.float64, requires_grad=True)
            for s in shapes]


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    fn, shapes = GRADCHECK[name]
    inputs = _gc_inputs(shapes, len(name))

    def f(*xs):
        out = fn(*xs)
        return tuple(out) if isinstance(out, list) else out

    assert gradcheck(f, tuple(inputs), eps=1e-6, atol=1e-5, rtol=1e-3)


GRADGRADCHECK = ["add_broadcast", "mul", "div", "exp_log", "trig", "sigmoid_relu", "sqrt_rsqrt", "reductions",
                 "logsumexp_softmax", "matmul", "einsum", "shape", "cat_stack_split", "index",
                 "gather_scatter",
                 "where_clamp", "setitem", "tril_triu", "max_dim", "cumulative"]


@pytest.mark.parametrize("name", GRADGRADCHECK)
def test_gradgradcheck(name):
    fn, shapes = GRADCHECK[name]
    inputs = _gc_inputs(shapes, len(name) + 1)

    def f(*xs):
        out = fn(*xs)
        return tuple(out) if isinstance(out, list) else out

    assert gradgradcheck(f, tuple(inputs), eps=1e-6, atol=1e-4, rtol=1e-3)


def test_gradcheck_noncontiguous_inputs():
    base = np.random.default_rng(0).standard_normal((4, 3))
    x = dynagrad.from_numpy(base.T).requires_grad_()  # a transposed (non-contiguous) leaf
    w = dynagrad.from_numpy(np.random.default_rng(1).standard_normal((8,))[::2]).requires_grad_()
    assert not x.is_contiguous() and not w.is_contiguous()
    assert gradcheck(lambda a, b: (a @ b[:4]).tanh() * a.sum(), (x, w))
    assert gradgradcheck(lambda a, b: (a @ b[:4]).tanh(), (x, w))


def test_gradcheck_detects_a_wrong_gradient():
    class Bad(dynagrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = dynagrad.randn(3, dtype=dynagrad.float64, requires_grad=True)
    assert not gradcheck(Bad.apply, (x,), raise_exception=False)
    with pytest.raises(RuntimeError):
        gradcheck(Bad.apply, (x,))
    with pytest.warns(UserWarning):
        gradcheck(lambda t: t * 2, (dynagrad.randn(2, requires_grad=True),), eps=1e-2, atol=1e-2, rtol=1e-2)


def _second_order(f):
    """grad of sum(out^2) w.r.t. the inputs, with create_graph: check_op then differentiates it again."""
    def fn(m, *xs):
        out = f(m, *xs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        outs = [o for o in outs if isinstance(o, m.Tensor) and o.requires_grad and o.dtype.is_floating_point]
        loss = sum((o * o).sum() for o in outs)
        grads = m.autograd.grad(loss, [x for x in xs if x.requires_grad], create_graph=True, allow_unused=True)
        return [g for g in grads if g is not None]
    return fn


SECOND_ORDER_MORE = {
    "gather": lambda m, x: x.gather(1, m.tensor([[0, 2], [1, 1], [3, 3]])),
    "index_select": lambda m, x: x.index_select(1, m.tensor([0, 0, 3])),
    "index_add": lambda m, x: x.index_add(0, m.tensor([0, 0]), x[:2] * 2),
    "index_put_acc": lambda m, x: x.index_put((m.tensor([0, 0]),), x[1] * x[2], accumulate=True),
    "masked_fill": lambda m, x: x.masked_fill(x > 0, 0.5),
    "masked_select": lambda m, x: x.masked_select(x > 0),
    "take": lambda m, x: x.take(m.tensor([0, 5, 5])),
    "sort": lambda m, x: x.sort(1).values,
    "topk": lambda m, x: x.topk(2).values,
    "kthvalue": lambda m, x: m.kthvalue(x, 2, 1).values,
    "where": lambda m, x: m.where(x > 0, x, -x * 2),
    "cumsum": lambda m, x: x.cumsum(1),
    "cumprod": lambda m, x: x.cumprod(1),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x, 1),
    "softmax": lambda m, x: x.softmax(1),
    "log_softmax": lambda m, x: x.log_softmax(0),
    "cat_stack": lambda m, x: [m.cat([x, x * x], 1), m.stack([x, x.exp()])],
    "setitem": lambda m, x: _setitem_sq(x),
    "scatter_reduce_amax": lambda m, x: x.scatter_reduce(0, m.tensor([[0, 1, 2, 0]]), x[:1] * 3, "amax"),
    "matmul": lambda m, x: [x @ x.t(), x.t() @ x, x[0] @ x.t()],
    "einsum": lambda m, x: [m.einsum("ij,kj->ik", x, x), m.einsum("ii->i", x[:, :3])],
    "det": lambda m, x: m.det(x[:, :3] + 3 * m.eye(3, dtype=x.dtype)),
    "inverse": lambda m, x: m.inverse(x[:, :3] + 3 * m.eye(3, dtype=x.dtype)),
    "clamp_tensor": lambda m, x: x.clamp(x[0], x[1] + 1),
    "atan2": lambda m, x: m.atan2(x, x.flip(1) + 3),
    "to_float32": lambda m, x: x.float() * x.float(),
}


@pytest.mark.parametrize("family", ["unary", "binary", "reduce", "shape", "more"])
def test_double_backward_sweep(family):
    """Every differentiable op of the op tests, differentiated twice (float64) against PyTorch."""
    from test_ops_elementwise import BINARY, UNARY, _binary_inputs
    from test_ops_reduce import REDUCE
    from test_ops_shape import SHAPE_OPS, SPLITS
    if family == "unary":
        for name, (f, lo, hi) in UNARY.items():
            if name not in ("sign", "floor", "ceil", "round", "round_decimals", "trunc", "pow_0"):
                check_op(_second_order(f), F(3, 4, low=lo, high=hi), dtypes=("float64",))
    elif family == "binary":
        for name, (f, kw) in BINARY.items():
            if kw.get("grad", True) is not False and name not in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and",
                                                                  "logical_or", "logical_xor", "div_floor",
                                                                  "div_trunc"):
                a, b = next(iter(_binary_inputs(**kw)))
                check_op(_second_order(f), a, b, dtypes=("float64",))
    elif family == "reduce":
        for name, (f, _) in REDUCE.items():
            if name not in ("argmax", "argmin", "all", "any"):
                check_op(_second_order(lambda m, x, f=f: f(m, x, {"dim": 1})), (3, 4, 5), dtypes=("float64",))
    elif family == "more":
        for f in SECOND_ORDER_MORE.values():
            check_op(_second_order(f), (3, 4), dtypes=("float64",))
    else:
        for f, shape in SHAPE_OPS.values():
            check_op(_second_order(f), shape, dtypes=("float64",))
        for f in SPLITS.values():
            check_op(_second_order(f), (5, 5), dtypes=("float64",))


def test_grad_wrt_non_leaf_stops_at_it_and_keeps_its_saved_values():
    # autograd.grad(y, x) for a non-leaf x must not run x's own node (PyTorch stops there)
    a = dynagrad.randn(3, requires_grad=True)
    x = a * a
    y = (x * 3).sum()
    z = x.sum()
    (g,) = dynagrad.autograd.grad(y, x)
    assert g.tolist() == [3.0, 3.0, 3.0]
    z.backward()  # x's node still has the `a` it saved
    assert dynagrad.allclose(a.grad, 2 * a.detach())


def test_backward_inputs_fills_non_leaf_grad():
    a = dynagrad.randn(3, requires_grad=True)
    x = a * a
    (x * 3).sum().backward(inputs=[x])
    assert x.grad.tolist() == [3.0, 3.0, 3.0] and a.grad is None
