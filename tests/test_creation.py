"""Tensor factories and conversions against PyTorch; random sampling: shapes, dtypes, ranges, statistics and
reproducibility (dynagrad's streams are its own, so values are not compared with PyTorch's)."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import Const, F, I, check_op, reference

import dynagrad


def _with_default(m, dt, fn):
    old = m.get_default_dtype()
    m.set_default_dtype(dt)
    try:
        return fn()
    finally:
        m.set_default_dtype(old)


TENSOR_DATA = {
    "ints": [1, 2, 3],
    "floats": [1.0, 2.5],
    "mixed": [1, 2.5],
    "nested": [[1, 2], [3, 4]],
    "bool": [True, False],
    "bool_int": [True, 2],
    "scalar_int": 3,
    "scalar_float": 2.5,
    "scalar_bool": True,
    "empty": [],
    "empty_nested": [[], []],
    "negative": [-1, -2],
    "big_int": [2 ** 40],
}


@pytest.mark.parametrize("name", list(TENSOR_DATA))
def test_tensor_inference(name):
    data = TENSOR_DATA[name]
    check_op(lambda m: m.tensor(data))
    check_op(lambda m: m.as_tensor(data))
    check_op(lambda m: m.tensor(data, dtype=m.float64))
    check_op(lambda m: _with_default(m, m.float64, lambda: m.tensor(data)))


def test_tensor_from_numpy_and_tensors():
    for arr in [np.arange(6, dtype=np.int32).reshape(2, 3), np.ones(3, np.float64), np.zeros(2, np.uint8),
                np.array([True, False]), np.float64(2.5), np.float32(1.5), np.int16(3)]:
        check_op(lambda m, a=arr: m.tensor(a))
        check_op(lambda m, a=arr: m.as_tensor(a, dtype=m.float32))
    check_op(lambda m: m.tensor([m.tensor(1.5), m.tensor(2.0)]))
    check_op(lambda m, x: m.tensor(x), F(2, 3, grad=False))
    check_op(lambda m: m.tensor([np.float64(1.0), 2.0]))
    check_op(lambda m: m.tensor([[1, 2], [3]]), raises=ValueError)
    check_op(lambda m: m.tensor(1.5, requires_grad=True))
    check_op(lambda m: m.tensor([1, 2], requires_grad=True), raises=RuntimeError)


def test_tensor_copies_as_tensor_and_from_numpy_share():
    a = np.zeros(3, np.float32)
    t = dynagrad.tensor(a)
    s = dynagrad.as_tensor(a)
    f = dynagrad.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0 and s[0].item() == 5 and f[0].item() == 5
    f.add_(1)  # and back: an in-place change of the tensor is seen by the array
    assert a.tolist() == [6, 1, 1]
    assert dynagrad.as_tensor(f) is f and dynagrad.as_tensor(f, dtype=dynagrad.float64) is not f
    assert f.numpy() is a or np.shares_memory(f.numpy(), a)
    b = dynagrad.tensor([1.0, 2.0])
    assert not np.shares_memory(dynagrad.tensor(b).numpy(), b.numpy())
    with pytest.raises(TypeError):
        dynagrad.from_numpy([1, 2])
    with pytest.raises(TypeError):
        dynagrad.from_numpy(np.array(["a"]))


FACTORIES = {
    "zeros": lambda m: m.zeros(2, 3),
    "zeros_tuple": lambda m: m.zeros((2, 3), dtype=m.int32),
    "zeros_0d": lambda m: m.zeros(()),
    "zeros_empty": lambda m: m.zeros(0, 3),
    "ones": lambda m: m.ones(3, dtype=m.float64),
    "ones_list": lambda m: m.ones([2, 2], dtype=m.bool),
    "full": lambda m: m.full((2, 3), 1.5),
    "full_int": lambda m: m.full((2,), 7),
    "full_bool": lambda m: m.full((2,), True),
    "full_dtype": lambda m: m.full((2, 2), 3, dtype=m.float32),
    "empty_shape": lambda m: m.empty(2, 3).shape,
    "empty_dtype": lambda m: m.empty(2, dtype=m.int64).dtype,
    "arange": lambda m: m.arange(5),
    "arange_start": lambda m: m.arange(2, 7),
    "arange_step": lambda m: m.arange(0, 10, 3),
    "arange_neg": lambda m: m.arange(5, 0, -2),
    "arange_float": lambda m: m.arange(0, 1, 0.25),
    "arange_float_end": lambda m: m.arange(2.5),
    "arange_dtype": lambda m: m.arange(4, dtype=m.float64),
    "arange_empty": lambda m: m.arange(3, 3),
    "arange_fraction": lambda m: m.arange(0, 1, 0.1),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "linspace_one": lambda m: m.linspace(2, 3, 1),
    "linspace_zero": lambda m: m.linspace(2, 3, 0),
    "linspace_rev": lambda m: m.linspace(1, -1, 7, dtype=m.float64),
    "linspace_int": lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "eye": lambda m: m.eye(3),
    "eye_rect": lambda m: m.eye(2, 4, dtype=m.int64),
    "tril_indices": lambda m: m.tril_indices(3, 3),
    "triu_indices": lambda m: m.triu_indices(3, 4, 1),
    "zeros_requires_grad": lambda m: m.zeros(2, requires_grad=True),
    "scalar_tensor": lambda m: m.scalar_tensor(3),
    "zeros_size_kw": lambda m: m.zeros(size=(2, 3)),
    "ones_size_kw": lambda m: m.ones(size=[2], dtype=m.int64),
    "empty_size_kw": lambda m: m.empty(size=(2, 1)).shape,
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factory(name):
    check_op(FACTORIES[name])


def test_factory_default_dtype():
    for name in ["zeros", "full", "arange_float", "linspace", "eye", "zeros_empty"]:
        check_op(lambda m, f=FACTORIES[name]: _with_default(m, m.float64, lambda: f(m)))


def test_factory_errors():
    check_op(lambda m: m.zeros(-1), raises=RuntimeError)
    check_op(lambda m: m.arange(0, 5, 0), raises=RuntimeError)
    check_op(lambda m: m.arange(5, 0, 1), raises=RuntimeError)
    check_op(lambda m: m.linspace(0, 1, -1), raises=RuntimeError)
    check_op(lambda m: m.ones(2, dtype=m.int64, requires_grad=True), raises=RuntimeError)


LIKE = {
    "zeros_like": lambda m, x: m.zeros_like(x),
    "ones_like": lambda m, x: m.ones_like(x, dtype=m.int32),
    "full_like": lambda m, x: m.full_like(x, 2.5),
    "full_like_int": lambda m, x: m.full_like(x, 7),
    "empty_like": lambda m, x: m.empty_like(x).shape,
    "empty_like_dtype": lambda m, x: m.empty_like(x).dtype,
    "new_zeros": lambda m, x: x.new_zeros(2, 3),
    "new_ones": lambda m, x: x.new_ones((2,)),
    "new_full": lambda m, x: x.new_full((2, 2), 3),
    "new_tensor": lambda m, x: x.new_tensor([1, 2]),
    "zeros_like_grad": lambda m, x: m.zeros_like(x, dtype=m.float64, requires_grad=True),
}


@pytest.mark.parametrize("name", list(LIKE))
def test_like(name):
    check_op(LIKE[name], F(2, 3, grad=False))
    check_op(LIKE[name], I(3))
    check_op(LIKE[name], F(2, 3, dtype="float64", grad=False))


# -- conversions ---------------------------------------------------------------------------------------------

CONVERSIONS = {
    "item": lambda m, x: x[0, 1].item(),
    "item_int": lambda m, x: x.long()[1, 1].item(),
    "item_bool": lambda m, x: (x > 0)[0, 0].item(),
    "tolist": lambda m, x: x.tolist(),
    "tolist_int": lambda m, x: x.int().tolist(),
    "tolist_0d": lambda m, x: x[0, 0].tolist(),
    "float": lambda m, x: float(x[1, 2]),
    "int": lambda m, x: int(x[1, 2] * 10),
    "bool": lambda m, x: bool(x[0, 0] > 0),
    "numpy": lambda m, x: x.detach().numpy(),
    "size": lambda m, x: x.size(),
    "size_dim": lambda m, x: x.size(-1),
    "shape": lambda m, x: x.shape,
    "dim": lambda m, x: x.dim(),
    "ndim": lambda m, x: x.ndim,
    "numel": lambda m, x: x.numel(),
    "dtype": lambda m, x: x.dtype,
    "to_dtype": lambda m, x: x.to(m.float64),
    "to_tensor": lambda m, x: x.to(m.zeros(1, dtype=m.int16)),
    "to_kw": lambda m, x: x.to(dtype=m.int32),
    "to_device_dtype": lambda m, x: x.to("cpu", m.float64),
    "to_same": lambda m, x: x.to(m.float32),
    "double": lambda m, x: x.double(),
    "float_method": lambda m, x: x.double().float(),
    "half": lambda m, x: x.half(),
    "long": lambda m, x: x.long(),
    "int_method": lambda m, x: (x * 3).int(),
    "bool_method": lambda m, x: x.bool(),
    "byte": lambda m, x: (x.abs() * 10).byte(),
    "type": lambda m, x: x.type(),
    "type_convert": lambda m, x: x.type(m.float64),
    "type_string": lambda m, x: x.type("torch.DoubleTensor"),
    "type_as": lambda m, x: x.type_as(m.zeros(1, dtype=m.float64)),
    "clone": lambda m, x: x.clone(),
    "detach": lambda m, x: x.detach(),
    "detach_then_op": lambda m, x: x.detach() * 2 + x,
    "requires_grad_": lambda m, x: x.detach().requires_grad_(),
    "requires_grad_false": lambda m, x: x.detach().requires_grad_(False),
    "is_leaf": lambda m, x: [x.is_leaf, (x * 2).is_leaf, x.detach().is_leaf],
    "is_floating_point": lambda m, x: [x.is_floating_point(), x.long().is_floating_point()],
    "is_contiguous": lambda m, x: [x.is_contiguous(), x.t().is_contiguous()],
    "element_size": lambda m, x: [x.element_size(), x.double().element_size(), x.bool().element_size()],
    "len": lambda m, x: len(x),
    "iter": lambda m, x: list(x),
    "round_trip": lambda m, x: m.tensor(x.tolist()),
    "index": lambda m, x: [10, 20, 30][m.tensor(2)],
    "cpu": lambda m, x: x.cpu(),
    "float_to_int_trunc": lambda m, x: (x * 2.7).long(),
}


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_conversion(name):
    check_op(CONVERSIONS[name], (2, 3))


def test_conversion_errors():
    check_op(lambda m, x: x.item(), (2, 3), raises=RuntimeError)
    check_op(lambda m, x: x.numpy(), (2, 3), raises=RuntimeError)  # requires grad
    check_op(lambda m, x: bool(x), (2, 3), raises=RuntimeError)
    check_op(lambda m, x: (x * 2).requires_grad_(False), (2, 3), raises=RuntimeError)
    check_op(lambda m, x: x.long().requires_grad_(), F(2, grad=False), raises=RuntimeError)


def test_numpy_shares_memory():
    t = dynagrad.zeros(3)
    a = t.numpy()
    a[1] = 4
    assert t.tolist() == [0, 4, 0]
    assert np.shares_memory(t.detach().numpy(), a)


def test_int_conversion_of_nonfinite():
    check_op(lambda m, x: x.int(), Const(np.array([1.7, -1.7, 0.5], np.float32), grad=False))


def test_default_dtype():
    assert dynagrad.get_default_dtype() is dynagrad.float32
    dynagrad.set_default_dtype(dynagrad.float64)
    try:
        assert dynagrad.tensor([1.0]).dtype is dynagrad.float64
        assert dynagrad.tensor([1]).dtype is dynagrad.int64
        assert dynagrad.zeros(1).dtype is dynagrad.float64
        assert dynagrad.arange(0.0, 1.0).dtype is dynagrad.float64
        assert (dynagrad.tensor([1]) * 0.5).dtype is dynagrad.float64
        assert dynagrad.randn(2).dtype is dynagrad.float64
    finally:
        dynagrad.set_default_dtype(dynagrad.float32)
    assert dynagrad.get_default_dtype() is dynagrad.float32
    with pytest.raises(TypeError):
        dynagrad.set_default_dtype(dynagrad.int64)


# -- random --------------------------------------------------------------------------------------------------

RANDOM = {
    "rand": lambda m: m.rand(200, 3),
    "rand_tuple": lambda m: m.rand((200, 3), dtype=m.float64),
    "rand_size_kw": lambda m: m.rand(size=(20, 3)),
    "randn_size_kw": lambda m: m.randn(size=[7]),
    "randn": lambda m: m.randn(200, 3),
    "randint": lambda m: m.randint(0, 10, (200, 3)),
    "randint_high": lambda m: m.randint(5, (600,)),
    "randint_dtype": lambda m: m.randint(-3, 3, (600,), dtype=m.int32),
    "randperm": lambda m: m.randperm(10),
    "normal": lambda m: m.normal(2.0, 3.0, (600,)),
    "normal_tensor": lambda m: m.normal(m.zeros(600), m.ones(600) * 2),
    "rand_like": lambda m: m.rand_like(m.zeros(600, dtype=m.float64)),
    "randn_like": lambda m: m.randn_like(m.zeros(600)),
    "randint_like": lambda m: m.randint_like(m.zeros(600), 4),
    "uniform_": lambda m: m.empty(600).uniform_(-2, 3),
    "normal_": lambda m: m.zeros(600, dtype=m.float64).normal_(1.0, 0.5),
    "bernoulli": lambda m: m.bernoulli(m.full((600,), 0.3)),
}


@pytest.mark.parametrize("name", list(RANDOM))
def test_random_shapes_and_dtypes(name):
    """Shapes and dtypes as PyTorch's (the values are dynagrad's own stream; ranges are checked below)."""
    fn = RANDOM[name]
    ref = reference(lambda torch: _summary(fn(torch)))
    assert _summary(fn(dynagrad)) == ref


def _summary(t):
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "").replace("dynagrad.", ""),
            "requires_grad": t.requires_grad}


def test_random_ranges_and_statistics():
    dynagrad.manual_seed(1)
    u = dynagrad.rand(20000)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.02
    n = dynagrad.randn(20000, dtype=dynagrad.float64)
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1) < 0.05
    r = dynagrad.randint(-3, 3, (20000,))
    assert r.min().item() == -3 and r.max().item() == 2 and r.dtype is dynagrad.int64
    assert sorted(dynagrad.randperm(50).tolist()) == list(range(50))
    g = dynagrad.normal(2.0, 3.0, (20000,))
    assert abs(g.mean().item() - 2) < 0.1 and abs(g.std().item() - 3) < 0.1
    x = dynagrad.empty(20000).uniform_(-2, 3)
    assert -2 <= x.min().item() and x.max().item() < 3 and abs(x.mean().item() - 0.5) < 0.05
    y = dynagrad.zeros(20000, dtype=dynagrad.float64).normal_(1.0, 0.5)
    assert y.dtype is dynagrad.float64
    assert abs(y.mean().item() - 1) < 0.02 and abs(y.std().item() - 0.5) < 0.02
    b = dynagrad.bernoulli(dynagrad.full((20000,), 0.3))
    assert set(b.unique().tolist()) <= {0.0, 1.0} and abs(b.mean().item() - 0.3) < 0.02


def test_manual_seed_reproducibility():
    def draw():
        return [dynagrad.rand(3).tolist(), dynagrad.randn(2, 2).tolist(),
                dynagrad.randint(0, 100, (4,)).tolist(),
                dynagrad.randperm(6).tolist(), dynagrad.normal(0.0, 1.0, (2,)).tolist(),
                dynagrad.empty(3).uniform_().tolist(), dynagrad.empty(2).normal_().tolist()]

    dynagrad.manual_seed(123)
    first = draw()
    dynagrad.manual_seed(123)
    assert draw() == first
    dynagrad.manual_seed(124)
    assert draw() != first
    assert dynagrad.initial_seed() == 124


def test_generator_is_independent_and_reproducible():
    g1 = dynagrad.Generator().manual_seed(7)
    dynagrad.manual_seed(0)
    a = dynagrad.rand(4, generator=g1).tolist()
    b = dynagrad.randn(3, generator=g1).tolist()
    dynagrad.manual_seed(99)  # the global seed does not affect g1's stream
    g2 = dynagrad.Generator().manual_seed(7)
    assert dynagrad.rand(4, generator=g2).tolist() == a and dynagrad.randn(3, generator=g2).tolist() == b
    state = g2.get_state()
    c = dynagrad.randint(0, 1000, (5,), generator=g2).tolist()
    g2.set_state(state)
    assert dynagrad.randint(0, 1000, (5,), generator=g2).tolist() == c
    assert g1.initial_seed() == 7
    g3 = dynagrad.Generator().manual_seed(7)
    assert dynagrad.randperm(8, generator=g3).tolist() == dynagrad.randperm(
        8, generator=dynagrad.Generator().manual_seed(7)).tolist()
    x = dynagrad.empty(4).uniform_(generator=dynagrad.Generator().manual_seed(3))
    y = dynagrad.empty(4).uniform_(generator=dynagrad.Generator().manual_seed(3))
    assert x.tolist() == y.tolist()


def test_rng_state_round_trip():
    dynagrad.manual_seed(5)
    state = dynagrad.get_rng_state()
    a = dynagrad.rand(5).tolist()
    dynagrad.set_rng_state(state)
    assert dynagrad.rand(5).tolist() == a
    with pytest.raises(RuntimeError):
        dynagrad.set_rng_state(dynagrad.tensor([1, 2, 3], dtype=dynagrad.uint8))


def test_random_requires_grad_and_errors():
    assert dynagrad.rand(2, requires_grad=True).requires_grad
    assert dynagrad.randn(2, 3, dtype=dynagrad.float64).dtype is dynagrad.float64
    with pytest.raises(RuntimeError):
        dynagrad.rand(2, dtype=dynagrad.int64)
    with pytest.raises(RuntimeError):
        dynagrad.randint(5, 5, (2,))
    leaf = dynagrad.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        leaf.uniform_()
    with dynagrad.no_grad():
        leaf.normal_()  # initialising a parameter under no_grad is allowed
    assert leaf.requires_grad and leaf.grad_fn is None


# -- printing ------------------------------------------------------------------------------------------------

REPRS = {
    "floats": lambda m: m.tensor([1.0, 2.0, 3.0]),
    "float_fractions": lambda m: m.tensor([[1.5, -2.25], [3.0, 4.125]]),
    "ints": lambda m: m.tensor([1, 2, -30]),
    "scalar": lambda m: m.tensor(3.5),
    "scalar_int": lambda m: m.tensor(7),
    "bool": lambda m: m.tensor([True, False]),
    "float64": lambda m: m.tensor([1.0, 2.5], dtype=m.float64),
    "int32": lambda m: m.tensor([1, 2], dtype=m.int32),
    "zeros": lambda m: m.zeros(2, 3),
    "empty": lambda m: m.zeros(0),
    "empty_2d": lambda m: m.zeros(2, 0),
    "requires_grad": lambda m: m.ones(2, requires_grad=True),
    "grad_fn": lambda m: m.ones(2, requires_grad=True) * 2,
    "thirds": lambda m: m.arange(4.0) / 3,
    "nan_inf": lambda m: m.tensor([1.0, float("nan"), float("inf"), -float("inf")]),
    "negative_zero_one": lambda m: m.tensor([-1.0, 0.0, 1.0]),
    "3d": lambda m: m.arange(8).reshape(2, 2, 2),
    "bool_all_true": lambda m: m.tensor([True, True]),
    "sci_small": lambda m: m.tensor([1e-5, 1.0]),
    "sci_wide_integral": lambda m: m.tensor([1.0, 2000.0]),
    "summarized": lambda m: m.arange(2000.0),
    "summarized_2d": lambda m: m.arange(3000).reshape(30, 100) % 7 == 0,
}


@pytest.mark.parametrize("name", list(REPRS))
def test_repr_matches_torch(name):
    fn = REPRS[name]
    assert repr(fn(dynagrad)) == reference(lambda torch: repr(fn(torch)))
    assert str(fn(dynagrad)) == reference(lambda torch: str(fn(torch)))
