"""Shape ops against PyTorch: views, reshapes, joins and splits, with their gradients; views share memory
and version counters with their base."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import F, I, check_op

import dynagrad

FLOATS = ("float32", "float64")

SHAPE_OPS = {
    "view": (lambda m, x: x.view(4, 6), (2, 3, 4)),
    "view_infer": (lambda m, x: x.view(-1, 4), (2, 3, 4)),
    "view_tuple": (lambda m, x: x.view((6, 4)), (2, 3, 4)),
    "reshape": (lambda m, x: x.reshape(3, 8), (2, 3, 4)),
    "reshape_fn": (lambda m, x: m.reshape(x, (-1,)), (2, 3, 4)),
    "reshape_noncontig": (lambda m, x: x.t().reshape(-1), (3, 4)),
    "reshape_0d": (lambda m, x: x.reshape(1, 1), ()),
    "reshape_empty": (lambda m, x: x.reshape(3, 0, 2), (0, 6)),
    "permute": (lambda m, x: x.permute(2, 0, 1), (2, 3, 4)),
    "permute_fn": (lambda m, x: m.permute(x, (1, -1, 0)), (2, 3, 4)),
    "transpose": (lambda m, x: x.transpose(0, 2), (2, 3, 4)),
    "transpose_fn": (lambda m, x: m.transpose(x, -1, -2), (2, 3, 4)),
    "t": (lambda m, x: x.t(), (3, 4)),
    "t_1d": (lambda m, x: m.t(x), (4,)),
    "T": (lambda m, x: x.T, (3, 4)),
    "mT": (lambda m, x: x.mT, (2, 3, 4)),
    "squeeze": (lambda m, x: x.squeeze(), (1, 3, 1, 4)),
    "squeeze_dim": (lambda m, x: x.squeeze(2), (1, 3, 1, 4)),
    "squeeze_dims": (lambda m, x: m.squeeze(x, (0, 2)), (1, 3, 1, 4)),
    "squeeze_noop": (lambda m, x: x.squeeze(1), (1, 3, 1, 4)),
    "squeeze_0d": (lambda m, x: x.squeeze(), ()),
    "unsqueeze": (lambda m, x: x.unsqueeze(0), (3, 4)),
    "unsqueeze_neg": (lambda m, x: m.unsqueeze(x, -1), (3, 4)),
    "unsqueeze_0d": (lambda m, x: x.unsqueeze(0), ()),
    "expand": (lambda m, x: x.expand(2, 3, 4), (3, 1)),
    "expand_keep": (lambda m, x: x.expand(-1, 5), (3, 1)),
    "expand_0d": (lambda m, x: x.expand(2, 3), ()),
    "broadcast_to": (lambda m, x: m.broadcast_to(x, (2, 3, 4)), (4,)),
    "expand_as": (lambda m, x: x.expand_as(m.zeros(2, 3, 4)), (3, 1)),
    "repeat": (lambda m, x: x.repeat(2, 3), (3, 4)),
    "repeat_more": (lambda m, x: x.repeat(2, 1, 3), (3, 4)),
    "repeat_0d": (lambda m, x: x.repeat(3), ()),
    "tile": (lambda m, x: m.tile(x, (2,)), (3, 4)),
    "repeat_interleave": (lambda m, x: x.repeat_interleave(2, dim=0), (3, 4)),
    "flatten": (lambda m, x: x.flatten(), (2, 3, 4)),
    "flatten_range": (lambda m, x: m.flatten(x, 1), (2, 3, 4)),
    "flatten_mid": (lambda m, x: x.flatten(0, 1), (2, 3, 4)),
    "flatten_0d": (lambda m, x: x.flatten(), ()),
    "unflatten": (lambda m, x: x.unflatten(1, (3, 2)), (4, 6)),
    "unflatten_infer": (lambda m, x: m.unflatten(x, -1, (2, -1)), (4, 6)),
    "ravel": (lambda m, x: x.ravel(), (3, 4)),
    "contiguous": (lambda m, x: x.t().contiguous(), (3, 4)),
    "clone": (lambda m, x: x.clone(), (3, 4)),
    "flip": (lambda m, x: x.flip(0), (3, 4)),
    "flip_many": (lambda m, x: m.flip(x, (0, -1)), (2, 3, 4)),
    "fliplr": (lambda m, x: m.fliplr(x), (3, 4)),
    "roll": (lambda m, x: x.roll(1, 0), (3, 4)),
    "roll_flat": (lambda m, x: m.roll(x, 5), (3, 4)),
    "roll_many": (lambda m, x: m.roll(x, (1, -2), (0, 1)), (3, 4)),
    "rot90": (lambda m, x: m.rot90(x, 1, (0, 1)), (3, 4)),
    "narrow": (lambda m, x: x.narrow(1, 1, 2), (3, 4)),
    "narrow_neg": (lambda m, x: m.narrow(x, 0, -2, 2), (3, 4)),
    "select": (lambda m, x: x.select(1, 2), (3, 4)),
    "movedim": (lambda m, x: m.movedim(x, 0, -1), (2, 3, 4)),
    "swapaxes": (lambda m, x: x.swapaxes(0, 1), (2, 3, 4)),
    "tril": (lambda m, x: x.tril(), (3, 4)),
    "tril_k": (lambda m, x: m.tril(x, -1), (2, 4, 3)),
    "triu": (lambda m, x: m.triu(x), (4, 3)),
    "triu_k": (lambda m, x: x.triu(1), (2, 3, 4)),
    "diagonal": (lambda m, x: x.diagonal(), (3, 4)),
    "diagonal_offset": (lambda m, x: m.diagonal(x, 1, 1, 2), (2, 3, 4)),
    "diag": (lambda m, x: m.diag(x), (3,)),
    "diag_matrix": (lambda m, x: m.diag(x, -1), (3, 4)),
    "trace": (lambda m, x: m.trace(x), (3, 4)),
    "view_as": (lambda m, x: x.view_as(x.t()), (3, 4)),
    "unfold": (lambda m, x: x.unfold(1, 2, 1), (3, 4)),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op(name):
    fn, shape = SHAPE_OPS[name]
    check_op(fn, shape, dtypes=FLOATS)
    check_op(fn, I(*shape))  # integer tensors take the same paths (no gradient)


@pytest.mark.parametrize("name", ["reshape", "permute", "transpose", "flatten", "flip", "roll", "repeat",
                                  "expand", "narrow", "tril", "squeeze_dim"])
def test_shape_op_noncontiguous(name):
    fn, shape = SHAPE_OPS[name]
    if len(shape) >= 2:
        check_op(fn, F(*shape, layout="T"))
    check_op(fn, F(*shape, layout="step"))


def test_view_errors():
    check_op(lambda m, x: x.t().view(-1), (3, 4), raises=RuntimeError)  # not expressible as a view
    check_op(lambda m, x: x.view(5, -1), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.view(-1, -1), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.reshape(7), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.expand(2, 3), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.expand(3), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.permute(0, 0), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.permute(0), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.transpose(0, 2), (3, 4), raises=IndexError)
    check_op(lambda m, x: x.unsqueeze(3), (3, 4), raises=IndexError)
    check_op(lambda m, x: x.repeat(2), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.narrow(0, 2, 2), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.t(), (2, 3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.flatten(1, 0), (3, 4), raises=RuntimeError)


# -- splitting -----------------------------------------------------------------------------------------------

SPLITS = {
    "chunk": lambda m, x: x.chunk(2),
    "chunk_uneven": lambda m, x: m.chunk(x, 3, dim=1),
    "chunk_more_than_size": lambda m, x: x.chunk(8, 0),
    "split": lambda m, x: x.split(2),
    "split_dim": lambda m, x: m.split(x, 3, dim=1),
    "split_sizes": lambda m, x: x.split([1, 3, 1], dim=1),
    "split_kw": lambda m, x: x.split(split_size=2, dim=1),
    "unbind": lambda m, x: x.unbind(0),
    "unbind_dim": lambda m, x: m.unbind(x, dim=1),
    "tensor_split": lambda m, x: m.tensor_split(x, 3, dim=1),
    # only some of the pieces are used: the others get zero gradients
    "split_partial": lambda m, x: x.split(2)[1] * 2,
    "unbind_partial": lambda m, x: x.unbind(1)[0] + x.unbind(1)[4],
    "chunk_sum": lambda m, x: sum(c.sum() for c in x.chunk(3)),
}


@pytest.mark.parametrize("name", list(SPLITS))
def test_split(name):
    check_op(SPLITS[name], (5, 5), dtypes=FLOATS)
    check_op(SPLITS[name], F(5, 5, layout="T"))


def test_split_errors():
    check_op(lambda m, x: x.split([1, 2]), (5, 5), raises=RuntimeError)
    check_op(lambda m, x: x.chunk(0), (5, 5), raises=RuntimeError)


# -- joining -------------------------------------------------------------------------------------------------

JOINS = {
    "cat0": (lambda m, a, b: m.cat([a, b]), (2, 3), (4, 3)),
    "cat1": (lambda m, a, b: m.cat((a, b), dim=1), (2, 3), (2, 1)),
    "cat_neg": (lambda m, a, b: m.cat([a, b, a], -1), (2, 3), (2, 2)),
    "cat_empty": (lambda m, a, b: m.cat([a, b]), (0, 3), (2, 3)),
    "cat_legacy_empty": (lambda m, a, b: m.cat([a, b]), (0,), (2, 3)),
    "concat": (lambda m, a, b: m.concat([a, b], 0), (2, 3), (1, 3)),
    "stack": (lambda m, a, b: m.stack([a, b]), (2, 3), (2, 3)),
    "stack1": (lambda m, a, b: m.stack([a, b, a], 1), (2, 3), (2, 3)),
    "stack_neg": (lambda m, a, b: m.stack((a, b), dim=-1), (2, 3), (2, 3)),
    "stack_0d": (lambda m, a, b: m.stack([a, b]), (), ()),
    "hstack": (lambda m, a, b: m.hstack([a, b]), (2, 3), (2, 2)),
    "vstack": (lambda m, a, b: m.vstack([a, b]), (3,), (2, 3)),
}


@pytest.mark.parametrize("name", list(JOINS))
def test_join(name):
    fn, sa, sb = JOINS[name]
    check_op(fn, sa, sb, dtypes=FLOATS)


def test_join_dtypes_and_errors():
    check_op(lambda m, a, b: m.cat([a, b]), F(2, 3), I(1, 3))  # promotes like arithmetic
    check_op(lambda m, a, b: m.cat([a, b]), F(2, 3, dtype="float64"), F(1, 3))
    check_op(lambda m, a, b: m.stack([a, b]), I(2, 3), I(2, 3, dtype="int32"))
    check_op(lambda m, a, b: m.cat([a, b]), F(2, 3), F(2, 4), raises=RuntimeError)
    check_op(lambda m, a, b: m.cat([a, b]), F(2, 3), F(3), raises=RuntimeError)
    check_op(lambda m, a, b: m.stack([a, b]), F(2, 3), F(3, 2), raises=RuntimeError)
    check_op(lambda m: m.cat([]), raises=ValueError)
    check_op(lambda m: m.stack([]), raises=RuntimeError)
    check_op(lambda m, a, b: m.cat([a, b], 2), F(2, 3), F(2, 3), raises=IndexError)


def test_cat_noncontiguous_and_views():
    check_op(lambda m, a, b: m.cat([a, b.t()], 0), F(2, 3, layout="T"), F(3, 4, layout="step"))
    check_op(lambda m, a: m.stack([a[0], a[1], a[:, 0]]), (3, 3))


# -- views share memory and version counters ------------------------------------------------------------

VIEWS = [lambda x: x.view(6), lambda x: x.t(), lambda x: x[1], lambda x: x[:, 1:], lambda x: x.unsqueeze(0),
         lambda x: x.reshape(3, 2), lambda x: x.narrow(1, 0, 2), lambda x: x.split(1)[1],
         lambda x: x.unbind(1)[2], lambda x: x.expand(4, 2, 3), lambda x: x.diagonal(), lambda x: x[0, 1],
         lambda x: x.squeeze(), lambda x: x.permute(1, 0), lambda x: x.chunk(3, 1)[2]]


@pytest.mark.parametrize("make", VIEWS)
def test_views_share_memory_and_version(make):
    x = dynagrad.arange(6.0).reshape(2, 3)
    v = make(x)
    v0 = x._version
    x.add_(1)
    assert v._version == x._version == v0 + 1
    np.testing.assert_array_equal(v.numpy(), make(dynagrad.arange(6.0).reshape(2, 3) + 1).numpy())
    if not isinstance(v, dynagrad.Tensor) or v.numel() == 0:
        return
    if v.numpy().flags.writeable:
        v.zero_()
        assert x._version == v._version
        assert (x.numpy() == 0).sum() >= 1


def test_reshape_copies_when_needed():
    x = dynagrad.arange(6.0).reshape(2, 3)
    y = x.t().reshape(-1)  # not a view: a copy
    x.add_(1)
    np.testing.assert_array_equal(y.numpy(), [0, 3, 1, 4, 2, 5])
    assert x.t().is_contiguous() is False and x.t().contiguous().is_contiguous()
    assert x.contiguous() is x
    assert x.stride() == (3, 1) and x.t().stride() == (1, 3)


def test_size_and_shape():
    x = dynagrad.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert repr(x.shape) == "torch.Size([2, 3, 4])" and x.shape[1:] == (3, 4)
    assert isinstance(x.shape[1:], dynagrad.Size) and x.shape.numel() == 24
    assert x.dim() == x.ndim == 3 and x.numel() == 24 and len(x) == 2
    with pytest.raises(IndexError):
        x.size(3)
    with pytest.raises(TypeError):
        len(dynagrad.tensor(1.0))


def test_flip_takes_dims_by_keyword_as_torch():
    x = dynagrad.arange(6.0).view(2, 3)
    assert dynagrad.flip(x, dims=(1,)).tolist() == [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]
    assert x.flip(dims=[0]).tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    assert x.flip(0, 1).tolist() == dynagrad.flip(x, [0, 1]).tolist() == [[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]
    with pytest.raises(TypeError, match="dim"):
        dynagrad.flip(x, dim=1)
