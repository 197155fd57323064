"""Every sampler draws PyTorch's numbers: for the same seed, generator, shape and dtype, dynagrad's values
and the generator's state afterwards equal PyTorch's CPU ones bit for bit (live PyTorch, or digests
recorded from it in tests/golden/ where it is absent).

Sizes straddle PyTorch's kernel thresholds (16 for the vectorised normal kernel, 10,007 elements for
whole-tensor paths), and dtypes cover float16, bfloat16, float32 and float64.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from helpers import HAVE_TORCH, reference

import dynagrad

DTYPES = ["float32", "float64", "float16", "bfloat16"]
SIZES = [5, 16, 17, 10007]


def _canon(m, t) -> np.ndarray:
    """Values as float64 (floats) or int64 (integers and bool) NumPy arrays."""
    if isinstance(t, (int, float, bool)):
        return np.asarray(t, np.float64)
    if isinstance(t, np.ndarray):
        return t
    t = t.detach()
    if t.dtype.is_floating_point:
        return t.double().numpy()
    return t.long().numpy()


def _leaves(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _leaves(o)
    else:
        yield obj


def _digest(m, out, keep: bool):
    arrays = [_canon(m, t) for t in _leaves(out)]
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    state = bytes(m.get_rng_state().numpy().tobytes())
    summary = {"values": h.hexdigest(), "head": [a.ravel()[:4].tolist() for a in arrays],
               "state": hashlib.sha256(state).hexdigest()}
    if keep:
        summary["arrays"] = arrays
    return summary


def same_draws(fn, seed: int = 0, rtol: float | None = None):
    """``fn(m)`` after ``m.manual_seed(seed)`` gives PyTorch's values (exactly, or within ``rtol`` where the
    arithmetic after the draws differs in the last bits) and leaves the generator in PyTorch's state."""
    def run(m):
        m.manual_seed(seed)
        return _digest(m, fn(m), rtol is not None)

    ref = reference(run)
    mine = run(dynagrad)
    assert mine["state"] == ref["state"], "the generator's state differs from PyTorch's after the draws"
    if rtol is None:
        assert mine["head"] == ref["head"] and mine["values"] == ref["values"], \
            f"values differ from PyTorch's: {mine['head']} vs {ref['head']}"
    else:
        for a, b in zip(mine["arrays"], ref["arrays"]):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def dt(m, name):
    return getattr(m, name)


# -- uniform and normal -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_rand_randn(dtype, n):
    same_draws(lambda m: [m.rand(n, dtype=dt(m, dtype)), m.randn(n, dtype=dt(m, dtype)),
                          m.rand(3, dtype=dt(m, dtype))], seed=n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_uniform_and_normal_with_parameters(dtype, n):
    same_draws(lambda m: [m.empty(n, dtype=dt(m, dtype)).uniform_(-0.37, 1.3),
                          m.empty(n, dtype=dt(m, dtype)).normal_(0.3, 0.02),
                          m.empty(n, dtype=dt(m, dtype)).normal_(-3.0, 2.7)], seed=1)


def test_normal_cache_is_shared_across_calls():
    # the scalar normal path keeps the second Box-Muller value; PyTorch's state records it
    same_draws(lambda m: [m.randn(3), m.randn(1, dtype=m.float64), m.randn(20), m.randn(5), m.randn(2, 3)])


@pytest.mark.parametrize("seed", [0, 7])
def test_normal_overloads(seed):
    same_draws(lambda m: [m.normal(m.arange(20.0), m.arange(1.0, 21.0)), m.normal(m.arange(20.0), 2.5),
                          m.normal(1.5, m.arange(1.0, 21.0)), m.normal(1.5, 0.3, size=(5, 7)),
                          m.normal(m.zeros(4, 1), m.ones(1, 5)), m.normal(m.arange(5.0), m.arange(1.0, 6.0))],
               seed=seed)


def test_normal_with_tensor_parameters_has_zero_gradients():
    mean = dynagrad.zeros(3, requires_grad=True)
    std = dynagrad.ones(3, requires_grad=True)
    dynagrad.normal(mean, std).sum().backward()
    assert mean.grad.tolist() == [0.0, 0.0, 0.0] and std.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_like_functions(dtype):
    same_draws(lambda m: [m.rand_like(m.zeros(300, dtype=dt(m, dtype))),
                          m.randn_like(m.zeros(300, dtype=dt(m, dtype))),
                          m.randint_like(m.zeros(300, dtype=dt(m, dtype)), 3, 50),
                          m.randint_like(m.zeros(30, dtype=dt(m, dtype)), 7)])


def test_strided_tensors_fill_in_memory_order():
    same_draws(lambda m: [m.empty(30, 40).t().uniform_(), m.empty(30, 40).t().normal_(),
                          m.empty(30, 40)[:, ::2].normal_(), m.empty(30, 40).t().bernoulli_(0.5),
                          m.randn_like(m.empty(30, 40).t()), m.empty(2, 3, 4).permute(2, 0, 1).uniform_()])


def test_generator_argument():
    def fn(m):
        g = m.Generator().manual_seed(123)
        return [m.rand(20, generator=g), m.randn(30, generator=g), m.randint(0, 9, (5,), generator=g),
                m.randperm(10, generator=g), m.empty(50).uniform_(generator=g),
                m.empty(50).normal_(generator=g), m.bernoulli(m.full((40,), 0.3), generator=g),
                m.multinomial(m.tensor([0.2, 0.8]), 5, True, generator=g),
                m.empty(10).exponential_(generator=g), m.poisson(m.full((5,), 3.0), generator=g),
                m.rand_like(m.zeros(4), generator=g), m.normal(0.0, 1.0, size=(3,), generator=g),
                m.rand(3)]  # the global stream is untouched by the rest
    same_draws(fn)


# -- integers -------------------------------------------------------------------------------------------

INT_DTYPES = ["int64", "int32", "int16", "int8", "uint8", "float32", "float64", "float16", "bfloat16"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_random_(dtype):
    same_draws(lambda m: [m.empty(1000, dtype=dt(m, dtype)).random_(),
                          m.empty(1000, dtype=dt(m, dtype)).random_(3, 100),
                          m.empty(1000, dtype=dt(m, dtype)).random_(100),
                          m.empty(1000, dtype=dt(m, dtype)).random_(5, None)])


@pytest.mark.parametrize("dtype", ["int64", "float32", "float64", "bfloat16"])
def test_random_full_64_bit_range(dtype):
    same_draws(lambda m: m.empty(100, dtype=dt(m, dtype)).random_(-2 ** 63, None))


def test_random_bool_and_wide_ranges():
    same_draws(lambda m: [m.empty(100, dtype=m.bool).random_(), m.empty(100, dtype=m.bool).random_(0, 2),
                          m.empty(100, dtype=m.int64).random_(-2 ** 40, 2 ** 41),
                          m.empty(100, dtype=m.int32).random_(0, 2 ** 28),  # 64-bit draws from 2**28 up
                          m.empty(100, dtype=m.int32).random_(0, 2 ** 28 - 1),
                          m.randint(-5, 2 ** 33, (100,)), m.randint(10, (3, 4)),
                          m.randint(10, (3, 4), dtype=m.float32)])


@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000, 60000])
def test_randperm(n):
    same_draws(lambda m: m.randperm(n), seed=n)


# -- bernoulli and dropout -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [7, 10007])
def test_bernoulli(dtype, n):
    same_draws(lambda m: [m.empty(n, dtype=dt(m, dtype)).bernoulli_(0.3),
                          m.bernoulli(m.linspace(0, 1, n, dtype=m.float64).to(dt(m, dtype))),
                          m.bernoulli(m.zeros(n, dtype=dt(m, dtype)), 0.7),
                          m.zeros(n, dtype=dt(m, dtype)).bernoulli_(m.linspace(0, 1, n, dtype=m.float64)),
                          m.zeros(n, dtype=dt(m, dtype)).bernoulli_(m.linspace(0, 1, n, dtype=m.float32))])


def _x(m, n, dtype, low=1.0, high=None):
    values = np.arange(1, n + 1, dtype=np.float32) if high is None else np.linspace(low, high, n).astype(np.float32)
    return m.tensor(values).to(dt(m, dtype))


def _fn(m):
    return m.nn.functional


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [7, 10007])
@pytest.mark.parametrize("p", [0.1, 0.37, 0.5, 0.9])
def test_dropout(dtype, n, p):
    same_draws(lambda m: [_fn(m).dropout(_x(m, n, dtype), p), _fn(m).dropout(_x(m, n, dtype), p, inplace=True),
                          _fn(m).alpha_dropout(_x(m, n, dtype, -2.0, 2.0), p, True)], seed=n)


@pytest.mark.parametrize("dtype", DTYPES)
def test_channel_dropout(dtype):
    def x(m, *shape):
        return m.tensor(np.linspace(-2, 2, int(np.prod(shape))).astype(np.float32).reshape(shape)).to(dt(m, dtype))
    same_draws(lambda m: [_fn(m).dropout2d(x(m, 4, 6, 5, 5), 0.3), _fn(m).dropout1d(x(m, 4, 6, 5), 0.3),
                          _fn(m).dropout1d(x(m, 6, 5), 0.3), _fn(m).dropout3d(x(m, 2, 3, 4, 5, 2), 0.3),
                          _fn(m).dropout3d(x(m, 3, 4, 5, 2), 0.3),
                          _fn(m).feature_alpha_dropout(x(m, 4, 6, 10), 0.3, True)])


def test_dropout_edges_and_layouts():
    same_draws(lambda m: [_fn(m).dropout(m.arange(1.0, 601.0).reshape(20, 30).t(), 0.3),  # memory order
                          _fn(m).dropout(m.arange(1.0, 61.0), 1.0), _fn(m).dropout(m.arange(1.0, 61.0), 0.0),
                          _fn(m).dropout(m.arange(1.0, 61.0), 0.5, training=False),
                          m.nn.Dropout(0.25)(m.arange(1.0, 101.0)), m.rand(2)])


def test_dropout_gradient_is_the_mask():
    x = dynagrad.ones(1000, requires_grad=True)
    dynagrad.manual_seed(3)
    y = dynagrad.nn.functional.dropout(x, 0.4)
    y.sum().backward()
    assert (x.grad.numpy() == y.detach().numpy()).all()


def test_rrelu_draws_for_non_positive_elements():
    same_draws(lambda m: [_fn(m).rrelu(_x(m, 1001, "float32", -2.0, 2.0), training=True),
                          m.nn.RReLU(0.1, 0.3)(_x(m, 1001, "float64", -2.0, 2.0))])


# -- modules that drop out inside -------------------------------------------------------------------------

def _module_draws(make, inputs, out=lambda o: o, seed=0):
    def fn(m):
        m.manual_seed(123)
        mod = make(m.nn)
        mod.train()
        m.manual_seed(seed)
        return out(mod(*[m.tensor(v) for v in inputs]))
    # the weights are each library's own default initialisation, which is also PyTorch's stream
    same_draws(fn, rtol=2e-5)


def _inp(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("case", ["lstm", "gru_bidir", "rnn", "mha", "mha_weights", "encoder", "encoder_nf",
                                  "decoder", "transformer", "sdpa", "sdpa_causal"])
def test_dropout_inside_modules(case):
    if case == "lstm":
        _module_draws(lambda nn: nn.LSTM(8, 16, 3, dropout=0.3), [_inp(5, 4, 8)], lambda o: o[0])
    elif case == "gru_bidir":
        _module_draws(lambda nn: nn.GRU(8, 16, 2, dropout=0.4, batch_first=True, bidirectional=True),
                      [_inp(4, 5, 8)], lambda o: o[0])
    elif case == "rnn":
        _module_draws(lambda nn: nn.RNN(8, 16, 2, dropout=0.5), [_inp(5, 4, 8)], lambda o: o[0])
    elif case == "mha":
        _module_draws(lambda nn: nn.MultiheadAttention(16, 4, dropout=0.3), [_inp(5, 3, 16)] * 3,
                      lambda o: o[0])
    elif case == "mha_weights":
        _module_draws(lambda nn: nn.MultiheadAttention(16, 4, dropout=0.3, batch_first=True),
                      [_inp(3, 5, 16)] * 3, lambda o: o)
    elif case == "encoder":
        _module_draws(lambda nn: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.2), [_inp(5, 3, 16)])
    elif case == "encoder_nf":
        _module_draws(lambda nn: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.2, batch_first=True,
                                                           norm_first=True), [_inp(3, 5, 16)])
    elif case == "decoder":
        _module_draws(lambda nn: nn.TransformerDecoderLayer(16, 4, 32, dropout=0.2),
                      [_inp(5, 3, 16), _inp(6, 3, 16, seed=9)])
    elif case == "transformer":
        _module_draws(lambda nn: nn.Transformer(16, 4, 2, 2, 32, dropout=0.2),
                      [_inp(5, 3, 16), _inp(6, 3, 16, seed=9)])
    else:
        q = np.arange(2 * 3 * 5 * 4).reshape(2, 3, 5, 4).astype(np.float32) / 50

        def fn(m):
            t = m.tensor(q)
            return _fn(m).scaled_dot_product_attention(t, t.flip(-1), t * 2, dropout_p=0.3,
                                                       is_causal=case == "sdpa_causal")
        same_draws(fn, rtol=2e-5)


# -- other distributions' kernels ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [3, 10007])
def test_exponential_geometric_cauchy_log_normal(dtype, n):
    same_draws(lambda m: [m.empty(n, dtype=dt(m, dtype)).exponential_(2.5),
                          m.empty(n, dtype=dt(m, dtype)).geometric_(0.3),
                          m.empty(n, dtype=dt(m, dtype)).cauchy_(0.5, 2.0),
                          m.empty(n, dtype=dt(m, dtype)).log_normal_(0.1, 0.5),
                          m.empty(n, dtype=m.int64).geometric_(0.2)], seed=n)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multinomial(dtype):
    same_draws(lambda m: [m.multinomial(m.tensor([[0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 0.0, 4.0]], dtype=dt(m, dtype)), 2),
                          m.multinomial(m.rand(8, 50, dtype=dt(m, dtype)), 1),
                          m.multinomial(m.rand(8, 50, dtype=dt(m, dtype)), 30, True),
                          m.multinomial(m.rand(10007, dtype=dt(m, dtype)), 10),
                          m.multinomial(m.rand(10007, dtype=dt(m, dtype)), 1),
                          m.multinomial(m.rand(300, dtype=dt(m, dtype)), 1000, True)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_poisson_binomial_gamma_dirichlet(dtype):
    same_draws(lambda m: [m.poisson(m.rand(500, dtype=dt(m, dtype)) * 9),
                          m.poisson(m.rand(500, dtype=dt(m, dtype)) * 100 + 10),
                          m.poisson(m.tensor([0.0, 0.5, 10.0, 1e4], dtype=dt(m, dtype))),
                          m.binomial(m.full((300,), 20.0, dtype=dt(m, dtype)), m.rand(300, dtype=dt(m, dtype))),
                          m.binomial(m.full((300,), 1000.0, dtype=dt(m, dtype)), m.rand(300, dtype=dt(m, dtype))),
                          m.binomial(m.tensor([0.0, 5.0, 5.0, 5.0, 1e6, 3.0], dtype=dt(m, dtype)),
                                     m.tensor([0.5, 0.0, 1.0, 0.999, 1e-3, 0.5], dtype=dt(m, dtype))),
                          m._standard_gamma(m.rand(500, dtype=dt(m, dtype)) * 3),
                          m._standard_gamma(m.tensor([0.0, 1.0, 0.0, 2.0, 0.5, 1e-3], dtype=dt(m, dtype))),
                          m._sample_dirichlet(m.rand(50, 4, dtype=dt(m, dtype)) + 0.1), m.randn(3)])


def test_poisson_and_gamma_past_10000_elements():
    same_draws(lambda m: [m.poisson(m.rand(10007) * 30), m._standard_gamma(m.rand(10007) * 3 + 0.01),
                          m.binomial(m.full((10007,), 50.0), m.rand(10007))])


# -- weight initialisation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_init(dtype):
    def fn(m):
        init = m.nn.init
        e = lambda *s: m.empty(*s, dtype=dt(m, dtype))  # noqa: E731
        return [init.trunc_normal_(e(7)), init.trunc_normal_(e(300, 200), std=0.02),
                init.trunc_normal_(e(64), mean=0.5, std=1.0, a=1.0, b=1.5),  # the uniform-rejection branch
                init.sparse_(e(20, 10), 0.3), init.xavier_uniform_(e(64, 32)), init.xavier_normal_(e(64, 32)),
                init.kaiming_uniform_(e(64, 32)), init.kaiming_normal_(e(64, 32)),
                init.uniform_(e(30, 20).t()), init.normal_(e(10007), 0.0, 0.02)]
    same_draws(fn)


@pytest.mark.parametrize("shape", [(6, 5), (5, 6), (40, 30), (3, 4, 5)])
def test_orthogonal_draws_float_normals(shape):
    # the normals are PyTorch's; the QR factorisation itself (LAPACK) agrees to float32 rounding
    same_draws(lambda m: m.nn.init.orthogonal_(m.empty(*shape)), rtol=2e-6)


def test_default_layer_initialisation():
    same_draws(lambda m: [m.nn.Linear(300, 100).weight, m.nn.Conv2d(3, 16, 3).weight,
                          m.nn.Embedding(1000, 64).weight, m.nn.LSTM(10, 20, 2).weight_hh_l1])


# -- the generator -----------------------------------------------------------------------------------------------

def test_state_bytes_are_pytorchs():
    def fn(m):
        g = m.Generator().manual_seed(5)
        states = [g.get_state()]
        m.randn(3, generator=g)
        states.append(g.get_state())
        m.rand(700, generator=g)
        states.append(g.get_state())
        m.randn(1, dtype=m.float64, generator=g)
        states.append(g.get_state())
        return [s.numpy().astype(np.int64) for s in states] + [m.Generator().get_state().numpy()]
    same_draws(fn)


@pytest.mark.skipif(not HAVE_TORCH, reason="moves states between the two libraries")
def test_states_move_between_pytorch_and_dynagrad():
    import torch
    torch.manual_seed(11)
    torch.randn(5)
    dynagrad.set_rng_state(dynagrad.tensor(torch.get_rng_state().numpy()))
    assert (dynagrad.randn(33).numpy() == torch.randn(33).numpy()).all()
    torch.set_rng_state(torch.from_numpy(dynagrad.get_rng_state().numpy()))
    assert (dynagrad.rand(9).numpy() == torch.rand(9).numpy()).all()


def test_generator_api():
    g = dynagrad.Generator()
    assert g.initial_seed() == 67280421310721 and str(g.device) == "cpu"
    assert g.manual_seed(-1) is g and g.initial_seed() == 2 ** 64 - 1
    s = g.seed()
    assert g.initial_seed() == s
    assert dynagrad.manual_seed(4) is dynagrad.default_generator and dynagrad.initial_seed() == 4
    state = dynagrad.get_rng_state()
    assert state.dtype is dynagrad.uint8 and tuple(state.shape) == (5056,)
    a = dynagrad.rand(4)
    dynagrad.set_rng_state(state)
    assert dynagrad.rand(4).tolist() == a.tolist()
    with dynagrad.random.fork_rng():
        dynagrad.rand(100)
    assert dynagrad.rand(4).tolist() != a.tolist()  # fork_rng put the state back, after the second draw
    h = dynagrad.Generator().manual_seed(9)
    c = h.clone_state()
    assert isinstance(c, dynagrad.Generator) and dynagrad.rand(3, generator=c).tolist() == \
        dynagrad.rand(3, generator=h).tolist()
    import copy
    import pickle
    k = dynagrad.Generator().manual_seed(2)
    k2, k3 = copy.deepcopy(k), pickle.loads(pickle.dumps(k))
    assert dynagrad.rand(2, generator=k2).tolist() == dynagrad.rand(2, generator=k3).tolist() == \
        dynagrad.rand(2, generator=k).tolist()


def test_generator_errors_are_pytorchs():
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        dynagrad.manual_seed(2 ** 64)
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056"):
        dynagrad.set_rng_state(dynagrad.zeros(10, dtype=dynagrad.uint8))
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        dynagrad.set_rng_state(dynagrad.zeros(5056))
    with pytest.raises(RuntimeError, match="Cannot get CUDA generator"):
        dynagrad.Generator(device="cuda")
    with pytest.raises(RuntimeError, match="bernoulli_ expects p to be in \\[0, 1\\]"):
        dynagrad.empty(3).bernoulli_(1.5)
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        dynagrad.bernoulli(dynagrad.tensor([0.5, 1.5]))
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        dynagrad.multinomial(dynagrad.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError, match="probability tensor contains either"):
        dynagrad.multinomial(dynagrad.tensor([0.5, -1.0]), 1)
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        dynagrad.empty(3, dtype=dynagrad.int64).random_(5, 2)
    with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0.0"):
        dynagrad.empty(3).exponential_(0.0)
    with pytest.raises(RuntimeError, match="geometric_ expects p to be in \\(0, 1\\)"):
        dynagrad.empty(3).geometric_(1.0)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        dynagrad.empty(3).normal_(0.0, -1.0)
    with pytest.raises(RuntimeError, match="uniform_ expects to return a \\[from, to\\) range"):
        dynagrad.empty(3).uniform_(2.0, 1.0)
    with pytest.raises(ValueError, match="binomial only supports floating-point dtypes for count"):
        dynagrad.binomial(dynagrad.tensor([3]), dynagrad.tensor([0.5]))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        dynagrad.rand(3, generator=5)


# -- samplers and DataLoader workers ---------------------------------------------------------------------------

def test_samplers_and_random_split():
    def fn(m):
        data = m.utils.data
        g = m.Generator().manual_seed(3)
        out = [list(data.RandomSampler(range(50), replacement=True, num_samples=70, generator=g)),
               list(data.RandomSampler(range(50), replacement=True, num_samples=70)),  # seeds from the global one
               list(data.RandomSampler(range(20), num_samples=45)),
               list(data.SubsetRandomSampler([10, 20, 30, 40, 50], generator=g)),
               list(data.WeightedRandomSampler([0.1, 0.5, 2.0, 0.0, 1.0], 40, generator=g)),
               list(data.WeightedRandomSampler([0.1, 0.5, 2.0, 0.0, 1.0], 3, replacement=False)),
               [list(s) for s in data.random_split(range(17), [0.5, 0.3, 0.2], generator=g)],
               [list(s) for s in data.random_split(range(10), [3, 7])],
               [b.tolist() for b in data.DataLoader(m.arange(23), batch_size=5, shuffle=True)],
               [b.tolist() for b in data.DataLoader(m.arange(23), batch_size=5, shuffle=True, generator=g)]]
        return [np.asarray(sum(o, []) if o and isinstance(o[0], list) else o, np.int64) for o in out]
    same_draws(fn, seed=5)


class _WorkerProbe:
    """Items report the worker's seeds and first draws (a dataset for either library's DataLoader)."""

    def __init__(self, m) -> None:
        self.m = m

    def __len__(self) -> int:
        return 6

    def __getitem__(self, i):
        import random
        info = self.m.utils.data.get_worker_info()
        return [float(i), float(info.id), float(info.seed % 2 ** 52), float(self.m.initial_seed() % 2 ** 52),
                float(np.random.rand()), random.random(), float(self.m.rand(1).item()),
                float(_WorkerProbe.init_seen.get(info.id, -1))]

    init_seen: dict = {}


def _record_init(worker_id):
    _WorkerProbe.init_seen[worker_id] = worker_id + 100


def test_dataloader_worker_seeds_are_pytorchs():
    def fn(m):
        g = m.Generator().manual_seed(7)
        loader = m.utils.data.DataLoader(_WorkerProbe(m), batch_size=None, num_workers=2, generator=g,
                                         worker_init_fn=_record_init)
        items = [[float(v) for v in item] for item in loader]
        again = [[float(v) for v in item] for item in loader]  # a new epoch: a new base seed
        return [np.asarray(items), np.asarray(again), m.rand(2)]
    same_draws(fn)


# -- torch.distributions ---------------------------------------------------------------------------------------

def _dists(m):
    """One instance of every distribution, with batch shapes, in either library."""
    D = m.distributions
    t = lambda v: m.tensor(v, dtype=m.float32)  # noqa: E731
    p3 = t([0.2, 0.5, 0.3])
    scale_tril = t([[1.0, 0.0], [0.5, 2.0]])
    return {
        "Bernoulli": D.Bernoulli(probs=t([0.1, 0.6, 0.9])),
        "Binomial": D.Binomial(t([5.0, 20.0]), probs=t([0.3, 0.7])),
        "Categorical": D.Categorical(probs=t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        "Categorical_logits": D.Categorical(logits=t([0.3, -1.0, 2.0, 0.0])),
        "Multinomial": D.Multinomial(10, probs=p3),
        "OneHotCategorical": D.OneHotCategorical(probs=p3),
        "Gamma": D.Gamma(t([0.5, 2.0]), t([1.0, 3.0])),
        "Beta": D.Beta(t([0.5, 2.0]), t([1.5, 0.7])),
        "Dirichlet": D.Dirichlet(t([[0.5, 1.0, 2.0], [3.0, 0.2, 1.0]])),
        "Chi2": D.Chi2(t([1.0, 4.5])),
        "StudentT": D.StudentT(t([2.0, 5.0]), t([0.0, 1.0]), t([1.0, 2.0])),
        "Poisson": D.Poisson(t([0.5, 4.0, 30.0])),
        "Geometric": D.Geometric(probs=t([0.2, 0.7])),
        "Exponential": D.Exponential(t([0.5, 2.0])),
        "Laplace": D.Laplace(t([0.0, 1.0]), t([1.0, 0.5])),
        "Cauchy": D.Cauchy(t([0.0, 1.0]), t([1.0, 0.5])),
        "HalfCauchy": D.HalfCauchy(t([1.0, 0.5])),
        "Gumbel": D.Gumbel(t([0.0, 1.0]), t([1.0, 0.5])),
        "Normal": D.Normal(t([0.0, 1.0]), t([1.0, 0.5])),
        "HalfNormal": D.HalfNormal(t([1.0, 0.5])),
        "LogNormal": D.LogNormal(t([0.0, 1.0]), t([1.0, 0.5])),
        "Uniform": D.Uniform(t([0.0, -1.0]), t([1.0, 3.0])),
        "Weibull": D.Weibull(t([1.0, 2.0]), t([0.5, 3.0])),
        "MultivariateNormal": D.MultivariateNormal(t([0.0, 1.0]), scale_tril=scale_tril),
        "LowRankMultivariateNormal": D.LowRankMultivariateNormal(t([0.0, 1.0]), t([[1.0], [0.5]]), t([1.0, 2.0])),
        "RelaxedBernoulli": D.RelaxedBernoulli(t([0.5]), probs=t([0.3, 0.8])),
        "RelaxedOneHotCategorical": D.RelaxedOneHotCategorical(t([0.7]), probs=p3),
        "MixtureSameFamily": D.MixtureSameFamily(D.Categorical(probs=p3), D.Normal(t([-1.0, 0.0, 2.0]),
                                                                                   t([0.5, 1.0, 0.3]))),
        "Independent": D.Independent(D.Normal(t([[0.0, 1.0]]), t([[1.0, 0.5]])), 1),
        "TransformedDistribution": D.TransformedDistribution(
            D.Normal(t([0.0]), t([1.0])), [D.transforms.AffineTransform(1.0, 2.0), D.transforms.ExpTransform()]),
    }


# the samples of these go through float32 log/exp/pow/tan or a matrix product after their draws
_ARITHMETIC = {"Laplace", "Gumbel", "LogNormal", "Weibull", "RelaxedBernoulli", "RelaxedOneHotCategorical",
               "MultivariateNormal", "LowRankMultivariateNormal", "StudentT", "TransformedDistribution"}


@pytest.mark.parametrize("name", list(_dists(dynagrad)))
def test_distribution_samples(name):
    def fn(m):
        d = _dists(m)[name]
        out = [d.sample(), d.sample((1000,))]
        if d.has_rsample:
            out.append(d.rsample((7,)))
        return out
    same_draws(fn, seed=2, rtol=2e-6 if name in _ARITHMETIC else None)
