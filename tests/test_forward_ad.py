"""Forward-mode AD: every primitive's JVP against its reverse-mode VJP, and the API against PyTorch."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import dynagrad
import dynagrad.autograd.forward_ad as fwAD
import dynagrad.nn.functional as F
from dynagrad.autograd import _dispatch, _jvp_rules, state
from dynagrad.autograd.function import Op

D = dynagrad.float64


def _t(a):
    return dynagrad.tensor(np.asarray(a, dtype=np.float64))


def _rand(rng, shape, low=-2.0, high=2.0):
    return _t(rng.uniform(low, high, size=shape))


class _Recorder:
    """Stands in for the dispatch hook to see which op classes ran."""

    def __init__(self):
        self.seen = set()

    def __call__(self, cls, inputs, kw):
        self.seen.add(cls)
        return _dispatch.dispatch(cls, inputs, kw)


SEEN: set = set()


def jvp_vjp_check(f, inputs, tangent_of=None, atol=1e-8):
    """<v, J t> (forward mode) == <J^T v, t> (reverse mode) for random t and v."""
    rng = np.random.default_rng(0)
    xs = [x if isinstance(x, dynagrad.Tensor) else _t(x) for x in inputs]
    which = list(range(len(xs))) if tangent_of is None else list(tangent_of)
    ts = {i: _rand(rng, tuple(xs[i].shape)) for i in which}
    rec = _Recorder()
    with fwAD.dual_level():
        prev = state.transform_hook
        state.transform_hook = rec
        try:
            duals = [fwAD.make_dual(x, ts[i]) if i in ts else x for i, x in enumerate(xs)]
            ys = f(*duals)
        finally:
            state.transform_hook = prev
        ys = ys if isinstance(ys, (tuple, list)) else (ys,)
        jts = [fwAD.unpack_dual(y).tangent if y.dtype.is_floating_point else None for y in ys]
    SEEN.update(rec.seen)
    leaves = [x.detach().requires_grad_() if i in ts else x for i, x in enumerate(xs)]
    outs = f(*leaves)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    pairs = [(o, jt) for o, jt in zip(outs, jts) if o.dtype.is_floating_point and o.requires_grad]
    vs = [_rand(rng, tuple(o.shape)) for o, _ in pairs]
    lhs = sum(float((v * (jt if jt is not None else dynagrad.zeros_like(v))).sum()) for v, (_, jt) in
              zip(vs, pairs))
    if pairs:
        grads = dynagrad.autograd.grad([o for o, _ in pairs], [leaves[i] for i in which], vs,
                                       allow_unused=True)
    else:
        grads = [None] * len(which)
    rhs = sum(float((g * ts[i]).sum()) for g, i in zip(grads, which) if g is not None)
    assert abs(lhs - rhs) <= atol + 1e-7 * max(abs(lhs), abs(rhs)), (lhs, rhs)
    return jts


def _pos(shape, seed=1):
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=shape)


def _any(shape, seed=2):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape)


_ZRG = dynagrad.zeros(3, dtype=dynagrad.float64, requires_grad=True)
UNARY_POS = ["log", "log2", "log10", "log1p", "sqrt", "rsqrt", "acosh_shift", "reciprocal"]
UNARY_ANY = ["exp", "exp2", "expm1", "sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "asinh", "sigmoid",
             "erf", "abs", "relu", "frac", "sign", "floor", "ceil", "trunc", "neg", "square", "round"]

_GRID = _t(_any((1, 2, 2, 2), 5) * 0.6)
_IMG = _t(_any((1, 2, 3, 4), 6))

CASES = {
    # elementwise
    "add": (lambda a, b: a + b, [_any((3, 4)), _any((4,), 3)]),
    "add_scalar": (lambda a: a + 2.5, [_any((3,))]),
    "sub": (lambda a, b: a - b, [_any((3, 4)), _any((3, 1), 3)]),
    "rsub": (lambda a: 1.0 - a, [_any((3,))]),
    "mul": (lambda a, b: a * b, [_any((2, 3)), _any((3,), 3)]),
    "div": (lambda a, b: a / b, [_any((2, 3)), _pos((2, 3))]),
    "pow_tt": (lambda a, b: a ** b, [_pos((3,)), _any((3,), 4)]),
    "pow_ts": (lambda a: a ** 3.0, [_any((3,))]),
    "pow_st": (lambda b: 2.0 ** b, [_any((3,))]),
    "maximum": (lambda a, b: dynagrad.maximum(a, b), [_any((4,)), _any((4,), 5)]),
    "minimum": (lambda a, b: dynagrad.minimum(a, b), [_any((4,)), _any((4,), 5)]),
    "maximum_ties": (lambda a, b: dynagrad.maximum(a, b), [np.array([1.0, 2.0]), np.array([1.0, 0.0])]),
    "atan2": (lambda a, b: dynagrad.atan2(a, b), [_any((3,)), _pos((3,))]),
    "to_copy": (lambda a: a.float().double() * 1.0, [_any((3,))]),
    "floor_div": (lambda a, b: (a + _ZRG) // b + a, [_any((3,)), _pos((3,))]),  # ZeroGrad needs a grad input
    "remainder": (lambda a, b: dynagrad.remainder(a, b), [_any((3,)), _pos((3,))]),
    "fmod": (lambda a, b: dynagrad.fmod(a, b), [_any((3,)), _pos((3,))], [0]),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), [_any((6,))]),
    "clamp_min": (lambda a: a.clamp(min=0.1), [_any((6,))]),
    "clamp_tensor": (lambda a, lo, hi: dynagrad.clamp(a, lo, hi),
                     [_any((6,)), np.full(6, -0.5), np.full(6, 0.5)]),
    "nan_to_num": (lambda a: dynagrad.nan_to_num(a), [_any((3,))]),
    "acos": (lambda a: dynagrad.acos(a), [np.array([0.1, -0.3, 0.5])]),
    "asin": (lambda a: dynagrad.asin(a), [np.array([0.1, -0.3, 0.5])]),
    "atanh": (lambda a: dynagrad.atanh(a), [np.array([0.1, -0.3, 0.5])]),
    # elementwise additions (ops/math.py)
    "xlogy": (lambda a, b: dynagrad.xlogy(a, b), [_any((3,)), _pos((3,))]),
    "hypot": (lambda a, b: dynagrad.hypot(a, b), [_any((3,)), _any((3,), 4)]),
    "copysign": (lambda a, b: dynagrad.copysign(a, b), [_any((3,)), _any((3,), 4)], [0]),
    "logaddexp": (lambda a, b: dynagrad.logaddexp(a, b), [_any((3,)), _any((3,), 4)]),
    "fmax": (lambda a, b: dynagrad.fmax(a, b), [_any((3,)), _any((3,), 4)]),
    "i0": (lambda a: dynagrad.i0(a), [_any((3,))]),
    "view_as_real": (lambda a: dynagrad.view_as_real(dynagrad.view_as_complex(a)) * 2, [_any((3, 2))]),
    "real_imag_conj": (lambda a: (lambda z: dynagrad.stack([z.real, z.imag, z.conj().imag]))(
        dynagrad.view_as_complex(a)), [_any((3, 2))]),
    # reductions
    "logcumsumexp": (lambda a: dynagrad.logcumsumexp(a, 1), [_any((3, 4))]),
    "sum": (lambda a: a.sum(1), [_any((3, 4))]),
    "sum_all": (lambda a: a.sum(), [_any((3, 4))]),
    "mean": (lambda a: a.mean((0, 2), keepdim=True), [_any((2, 3, 4))]),
    "prod": (lambda a: a.prod(1), [_any((3, 4))]),
    "prod_all": (lambda a: a.prod(), [_any((3,))]),
    "prod_zero": (lambda a: a.prod(0), [np.array([[0.0, 1.0], [2.0, 3.0]])]),
    "amax": (lambda a: a.amax(1), [_any((3, 4))]),
    "amin": (lambda a: a.amin((0, 1)), [_any((3, 4))]),
    "max_all": (lambda a: a.max(), [_any((3, 4))]),
    "min_all": (lambda a: a.min(), [_any((3, 4))]),
    "max_dim": (lambda a: a.max(1), [_any((3, 4))]),
    "min_dim": (lambda a: a.min(0, keepdim=True), [_any((3, 4))]),
    "var": (lambda a: a.var(1), [_any((3, 4))]),
    "std": (lambda a: a.std(), [_any((3, 4))]),
    "norm": (lambda a: a.norm(dim=1), [_any((3, 4))]),
    "logsumexp": (lambda a: a.logsumexp(1), [_any((3, 4))]),
    "cumsum": (lambda a: a.cumsum(1), [_any((3, 4))]),
    "cumprod": (lambda a: a.cumprod(1), [_any((3, 4))]),
    "cumprod_zero": (lambda a: a.cumprod(0), [np.array([1.0, 0.0, 2.0, 3.0])]),
    "softmax": (lambda a: a.softmax(1), [_any((3, 4))]),
    "log_softmax": (lambda a: a.log_softmax(0), [_any((3, 4))]),
    # shape
    "view": (lambda a: a.view(4, 3), [_any((3, 4))]),
    "reshape": (lambda a: a.t().reshape(-1), [_any((3, 4))]),
    "permute": (lambda a: a.permute(2, 0, 1), [_any((2, 3, 4))]),
    "transpose": (lambda a: a.transpose(0, 1), [_any((2, 3))]),
    "mT": (lambda a: a.mT, [_any((2, 3, 4))]),
    "squeeze": (lambda a: a.squeeze(1).unsqueeze(0), [_any((3, 1, 2))]),
    "expand": (lambda a: a.expand(2, 3, 4), [_any((3, 1))]),
    "repeat": (lambda a: a.repeat(2, 1, 3), [_any((3, 2))]),
    "flip": (lambda a: a.flip(0), [_any((3, 2))]),
    "roll": (lambda a: a.roll(1, 0), [_any((3, 2))]),
    "roll_flat": (lambda a: a.roll(2), [_any((3, 2))]),
    "cat": (lambda a, b: dynagrad.cat([a, b], 1), [_any((2, 3)), _any((2, 2), 3)]),
    "stack": (lambda a, b: dynagrad.stack([a, b]), [_any((2, 3)), _any((2, 3), 3)]),
    "split": (lambda a: a.split([1, 2], 1), [_any((2, 3))]),
    "unbind": (lambda a: a.unbind(1), [_any((2, 3))]),
    "tril": (lambda a: a.tril(), [_any((3, 3))]),
    "triu": (lambda a: a.triu(1), [_any((3, 3))]),
    "clone": (lambda a: a.clone(), [_any((3,))]),
    "contiguous": (lambda a: a.t().contiguous(), [_any((3, 2))]),
    "diagonal": (lambda a: a.diagonal(), [_any((3, 3))]),
    # indexing
    "slice": (lambda a: a[1:, ::2], [_any((3, 4))]),
    "select": (lambda a: a[1], [_any((3, 4))]),
    "index": (lambda a: a[dynagrad.tensor([0, 2, 2])], [_any((3, 4))]),
    "mask_index": (lambda a: a[a > 0], [_any((3, 4))]),
    "index_put": (lambda a, v: a.index_put((dynagrad.tensor([0, 2]),), v), [_any((3, 2)), _any((2, 2), 3)]),
    "index_put_acc": (lambda a, v: a.index_put((dynagrad.tensor([0, 0]),), v, accumulate=True),
                      [_any((3, 2)), _any((2, 2), 3)]),
    "gather": (lambda a: a.gather(1, dynagrad.tensor([[0, 0], [1, 0]])), [_any((2, 3))]),
    "scatter": (lambda a, s: a.scatter(1, dynagrad.tensor([[0], [2]]), s), [_any((2, 3)), _any((2, 1), 3)]),
    "scatter_add": (lambda a, s: a.scatter_add(1, dynagrad.tensor([[0, 0], [2, 1]]), s),
                    [_any((2, 3)), _any((2, 2), 3)]),
    "scatter_mul": (lambda a, s: a.scatter(1, dynagrad.tensor([[0], [2]]), s, reduce="multiply"),
                    [_any((2, 3)), _any((2, 1), 3)]),
    "scatter_amax": (lambda a, s: a.scatter_reduce(0, dynagrad.tensor([0, 1, 0]), s, "amax"),
                     [_any((3,)), _any((3,), 3)]),
    "where": (lambda a, b: dynagrad.where(a > 0, a, b), [_any((3, 4)), _any((4,), 3)]),
    "where_scalar": (lambda a: dynagrad.where(a > 0, a, 0.0), [_any((3, 4))]),
    "masked_fill": (lambda a: a.masked_fill(a > 0, 1.5), [_any((3, 4))]),
    # linear algebra
    "mm": (lambda a, b: a @ b, [_any((2, 3)), _any((3, 4), 3)]),
    "bmm": (lambda a, b: dynagrad.bmm(a, b), [_any((2, 2, 3)), _any((2, 3, 4), 3)]),
    "matmul_vec_mat": (lambda a, b: a @ b, [_any((3,)), _any((3, 4), 3)]),
    "dot": (lambda a, b: a @ b, [_any((3,)), _any((3,), 3)]),
    "mv": (lambda a, b: a @ b, [_any((2, 3)), _any((3,), 3)]),
    "einsum": (lambda a, b: dynagrad.einsum("ij,jk->ik", a, b), [_any((2, 3)), _any((3, 4), 3)]),
    "inverse": (lambda a: dynagrad.inverse(a), [np.eye(3) * 2 + _any((3, 3)) * 0.2]),
    "det": (lambda a: dynagrad.det(a), [np.eye(3) * 2 + _any((3, 3)) * 0.2]),
    "solve_vec": (lambda a, b: dynagrad.linalg.solve(a, b), [np.eye(3) * 2 + _any((3, 3)) * 0.2, _any((3,), 4)]),
    "solve_mat": (lambda a, b: dynagrad.linalg.solve(a, b), [np.eye(3) * 2 + _any((3, 3)) * 0.2, _any((3, 2), 4)]),
    # convolution, pooling, padding
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1), [_any((2, 3, 5, 5)), _any((4, 3, 3, 3), 3),
                                                              _any((4,), 4)]),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2), [_any((1, 2, 3, 3)),
                                                                          _any((2, 3, 2, 2), 3)]),
    "unfold": (lambda x: F.unfold(x, 2), [_any((1, 2, 3, 3))]),
    "fold": (lambda x: F.fold(x, (3, 3), 2), [_any((1, 8, 4))]),
    "pad_constant": (lambda x: F.pad(x, (1, 2)), [_any((2, 3))]),
    "pad_reflect": (lambda x: F.pad(x, (1, 1), mode="reflect"), [_any((1, 2, 4))]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [_any((1, 2, 4, 4))]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [_any((1, 2, 4, 4))]),
    "avg_pool2d_adjoint": (lambda x, g: dynagrad.autograd.grad(F.avg_pool2d(x, 2), x, g,
                                                               create_graph=True)[0],
                           [_any((1, 1, 4, 4)), _any((1, 1, 2, 2), 3)], [1]),
    "diagonal_adjoint": (lambda x, g: dynagrad.autograd.grad(x.diagonal(), x, g, create_graph=True)[0],
                         [_any((3, 3)), _any((3,), 3)], [1]),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, 2), [_any((1, 2, 5, 5))]),
    "median_all": (lambda a: a.median() + a.nanmedian(), [np.array([[1.0, 3.0, 3.0], [2.0, 3.0, 0.5]])]),
    # spatial sampling (ops/sampling.py)
    "grid_sample": (lambda x, g: F.grid_sample(x, g, align_corners=False), [_any((1, 2, 3, 4)),
                                                                             _any((1, 2, 2, 2), 3) * 0.6]),
    "grid_sample_bicubic_border": (lambda x, g: F.grid_sample(x, g, "bicubic", "border", True),
                                   [_any((1, 1, 3, 4)), _any((1, 2, 2, 2), 3) * 0.6]),
    "grid_sample_adjoint": (lambda x, v: dynagrad.autograd.grad(F.grid_sample(x, _GRID, align_corners=False), x, v,
                                                                create_graph=True)[0],
                            [_any((1, 2, 3, 4)), _any((1, 2, 2, 2), 3)], [1]),
    "grid_sample_grid_adjoint": (lambda g, v: dynagrad.autograd.grad(F.grid_sample(_IMG, g, align_corners=False), g, v,
                                                                     create_graph=True)[0],
                                 [_any((1, 2, 2, 2), 4) * 0.6, _any((1, 2, 2, 2), 3)], [1]),
}
for _name in UNARY_ANY:
    CASES["u_" + _name] = ((lambda n: lambda a: getattr(a, n)())(_name), [_any((5,), 7)])
for _name in UNARY_POS:
    if _name == "acosh_shift":
        CASES["u_acosh"] = (lambda a: (a + 1.0).acosh(), [_pos((5,), 8)])
    else:
        CASES["u_" + _name] = ((lambda n: lambda a: getattr(a, n)())(_name), [_pos((5,), 8)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_matches_vjp(name):
    case = CASES[name]
    f, inputs = case[0], case[1]
    tangent_of = case[2] if len(case) > 2 else None
    if name in ("avg_pool2d_adjoint", "diagonal_adjoint", "grid_sample_adjoint", "grid_sample_grid_adjoint"):
        x = _t(inputs[0]).requires_grad_()
        jvp_vjp_check(lambda xx, g: f(x, g), [x.detach(), inputs[1]], tangent_of)
        return
    jvp_vjp_check(f, inputs, tangent_of)


def _w(*shape, seed=11):
    return _any(shape, seed)


# nn's primitives (dynagrad/nn/_ops.py and friends), through nn.functional
NN_CASES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), [_any((2, 3)), _w(4, 3), _w(4, seed=12)]),
    "gelu": (lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), [_any((5,))]),
    "activations": (lambda x: F.silu(x) + F.mish(x) + F.leaky_relu(x, 0.1) + F.elu(x) + F.hardtanh(x) +
                    F.hardsigmoid(x) + F.hardswish(x) + F.softplus(x) + F.threshold(x, 0.1, 2.0) +
                    F.logsigmoid(x), [_any((7,))]),
    "prelu": (lambda x, w: F.prelu(x, w), [_any((2, 3, 4)), np.array([0.1, 0.2, 0.3])]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [_any((3, 4)), _w(4), _w(4, seed=13)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [_any((5, 3)), _w(3),
                                                                                        _w(3, seed=14)]),
    "group_norm": (lambda x: F.group_norm(x, 2), [_any((2, 4, 3))]),
    "embedding": (lambda w: F.embedding(dynagrad.tensor([[0, 2], [1, 1]]), w), [_any((3, 4))]),
    "dropout": (lambda x: F.dropout(x, 0.0, training=True) * 2, [_any((3, 4))]),
    "nll_loss": (lambda x: F.nll_loss(x, dynagrad.tensor([0, 2, 1])), [_any((3, 4))]),
    "cross_entropy": (lambda x: F.cross_entropy(x, dynagrad.tensor([0, 2, 1])), [_any((3, 4))]),
    "bce": (lambda x, y: F.binary_cross_entropy(x, y), [_pos((4,)) / 2.5, np.array([0.0, 1.0, 0.3, 0.9])]),
    "bce_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y), [_any((4,)), np.array([0.0, 1.0, 0.3,
                                                                                                 0.9])]),
    "pad": (lambda x: F.pad(x, (1, 1), value=2.0), [_any((2, 3))]),
    "rnn": (lambda x: dynagrad.nn.RNN(3, 2, dtype=D)(x)[0], [_any((4, 1, 3))]),
    "lstm": (lambda x: dynagrad.nn.LSTM(3, 2, dtype=D)(x)[0], [_any((4, 1, 3))]),
    "gru": (lambda x: dynagrad.nn.GRU(3, 2, dtype=D)(x)[0], [_any((4, 1, 3))]),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [_any((1, 3, 4)), _any((1, 3, 4), 5),
                                                                            _any((1, 3, 4), 6)]),
}


@pytest.mark.parametrize("name", sorted(NN_CASES))
def test_nn_primitive_jvp_matches_vjp(name):
    f, inputs = NN_CASES[name]
    dynagrad.manual_seed(0)
    if name in ("rnn", "lstm", "gru"):
        mod = f  # build the module once, so forward and reverse runs use the same weights
        layer = {"rnn": dynagrad.nn.RNN, "lstm": dynagrad.nn.LSTM, "gru": dynagrad.nn.GRU}[name](3, 2, dtype=D)
        f = (lambda m: lambda x: m(x)[0])(layer)
        del mod
    jvp_vjp_check(f, inputs, [0] if name in ("bce", "bce_logits") else None, atol=1e-7)


def test_every_nn_primitive_has_a_rule():
    from dynagrad.nn import _attention_ops, _ops, _rnn_ops
    missing = []
    for m in (_ops, _rnn_ops, _attention_ops):
        for name, obj in vars(m).items():
            if inspect.isclass(obj) and issubclass(obj, Op) and obj.__module__ == m.__name__ and \
                    not name.startswith("_") and _jvp_rules.registered(obj) is None:
                missing.append(name)
    assert not missing, missing


# Ops that need no rule (none today): name -> reason.
ALLOW = {"_MaxIndexBackward": "an abstract base of the max-pooling ops (no forward of its own)",
         "SgnBackward0": "complex input only (real sgn is SignBackward0); complex forward AD follows the "
                         "Wirtinger conventions of issue 20 part 2, tested there",
         "AngleBackward0": "its gradient is non-zero for complex inputs only (see SgnBackward0)",
         "NotDifferentiable": "carries results PyTorch cannot differentiate (heaviside); its rule is zero",
         "NextafterBackward0": "rule: the tangent of input passes (PyTorch's derivative); vjp check needs a "
                               "tangent through a value-carrying input",
         "I1Backward0": "reached only inside I0's backward (create_graph); its rule is diagonal",
         "CtcLossBackward0": "PyTorch has no forward derivative for _ctc_loss: forward AD raises "
                             "NotImplementedError there and here (tests/test_ops_issue20.py)",
         "CdistBackward0": "PyTorch has no forward derivative for _cdist_forward (NotImplementedError, as here)",
         "EuclideanDistBackward0": "PyTorch has no forward derivative for _euclidean_dist (NotImplementedError, "
                                   "as here)"}


def _primitives():
    import dynagrad.ops as ops
    out = {}
    for m in pkgutil.iter_modules(ops.__path__):
        mod = importlib.import_module("dynagrad.ops." + m.name)
        for obj in vars(mod).values():
            if inspect.isclass(obj) and issubclass(obj, Op) and obj is not Op and obj.__module__.startswith(
                    "dynagrad.ops."):
                out[obj.__name__] = obj
        for fn in vars(mod).values():  # unary ops built by a factory: the class hangs on the function
            op = getattr(fn, "op", None)
            if inspect.isclass(op) and issubclass(op, Op):
                out[op.__name__] = op
    return out


def test_every_primitive_has_a_rule_and_was_checked():
    if len(SEEN) < 50:  # run alone: run the cases first
        for name in sorted(CASES):
            test_jvp_matches_vjp(name)
    prims = _primitives()
    missing = [n for n, c in prims.items() if n not in ALLOW and _jvp_rules.registered(c) is None]
    assert not missing, f"primitives without a JVP rule: {missing}"
    unchecked = [n for n, c in prims.items() if n not in ALLOW and c not in SEEN]
    assert not unchecked, f"primitives whose JVP no test exercised: {unchecked}"


# -- the API, against PyTorch --------------------------------------------------------------------------------

def test_api_and_values_against_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    x_np, t_np = _any((3, 4)), _any((3, 4), 9)

    def f(m, x):
        return (x.tanh() @ x.mT).softmax(-1).log() * x.sum()

    with fwAD.dual_level():
        d = fwAD.make_dual(_t(x_np), _t(t_np))
        p, t = fwAD.unpack_dual(f(dynagrad, d))
        assert isinstance(fwAD.unpack_dual(d), fwAD.UnpackedDualTensor)
        assert fwAD.unpack_dual(_t(x_np)).tangent is None
        assert fwAD.unpack_dual(p).tangent is None
    with tfw.dual_level():
        td = tfw.make_dual(torch.tensor(x_np), torch.tensor(t_np))
        tp, tt = tfw.unpack_dual(f(torch, td))
    np.testing.assert_allclose(p.numpy(), tp.numpy(), rtol=1e-10)
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-8)
    assert state.transform_hook is None  # nothing left behind


def test_errors_and_level_bookkeeping():
    with pytest.raises(RuntimeError, match="within a dual level"):
        fwAD.make_dual(dynagrad.ones(2), dynagrad.ones(2))
    lvl = fwAD.enter_dual_level()
    with pytest.raises(RuntimeError, match="different size"):
        fwAD.make_dual(dynagrad.ones(2), dynagrad.ones(3))
    x = fwAD.make_dual(dynagrad.ones(2), dynagrad.ones(2))
    fwAD.exit_dual_level(level=lvl)
    assert fwAD.unpack_dual(x).tangent is None
    assert state.transform_hook is None


def test_forward_over_reverse_and_reverse_over_forward():
    # Hessian-vector products both ways equal the explicit Hessian times v
    rng = np.random.default_rng(3)
    x0, v0 = rng.standard_normal(4), rng.standard_normal(4)

    def f(x):
        return (x.exp() * x.sin()).sum() + (x * x).sum() ** 2

    x = _t(x0)
    with fwAD.dual_level():
        xd = fwAD.make_dual(x.detach().requires_grad_(), _t(v0))
        (g,) = dynagrad.autograd.grad(f(xd), xd, create_graph=True)
        hv_fwd = fwAD.unpack_dual(g).tangent
    xr = x.detach().requires_grad_()
    with fwAD.dual_level():
        xd = fwAD.make_dual(xr, _t(v0))
        jv = fwAD.unpack_dual(f(xd)).tangent
    (hv_rev,) = dynagrad.autograd.grad(jv, xr)
    torch = pytest.importorskip("torch")
    H = torch.autograd.functional.hessian(lambda t: (t.exp() * t.sin()).sum() + (t * t).sum() ** 2,
                                          torch.tensor(x0))
    ref = (H @ torch.tensor(v0)).numpy()
    np.testing.assert_allclose(hv_fwd.detach().numpy(), ref, rtol=1e-8)
    np.testing.assert_allclose(hv_rev.numpy(), ref, rtol=1e-8)


def test_nested_levels_give_second_derivatives():
    x = _t([0.3, -1.2])
    with fwAD.dual_level():
        a = fwAD.make_dual(x, dynagrad.ones(2, dtype=D), level=0)
        with fwAD.dual_level():
            b = fwAD.make_dual(a, dynagrad.ones(2, dtype=D), level=1)
            y = b.sin()
            t1 = fwAD.unpack_dual(y, level=1).tangent  # cos(x), still dual at level 0
            assert fwAD.unpack_dual(t1, level=0).tangent is not None
            second = fwAD.unpack_dual(t1, level=0).tangent
        np.testing.assert_allclose(second.numpy(), -np.sin(x.numpy()), rtol=1e-12)
