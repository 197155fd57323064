"""Indexing, index assignment, gather/scatter, masks, sorting, where: values and gradients against PyTorch,
including gradients through index assignment and in-place changes made through views."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import B, Const, F, I, check_op

import dynagrad

FLOATS = ("float32", "float64")


def _idx(*values):
    return Const(np.array(values, dtype=np.int64))


GETITEM = {
    "int": lambda m, x: x[1],
    "neg_int": lambda m, x: x[-1],
    "int_int": lambda m, x: x[1, 2],
    "slice": lambda m, x: x[1:],
    "slice_step": lambda m, x: x[::2],
    "slice_step_inner": lambda m, x: x[:, 1::2],
    "slice_neg": lambda m, x: x[-2:, :-1],
    "slice_out_of_range": lambda m, x: x[1:10],
    "slice_empty": lambda m, x: x[2:1],
    "none": lambda m, x: x[None],
    "none_mid": lambda m, x: x[:, None, 1],
    "ellipsis": lambda m, x: x[..., 1],
    "ellipsis_none": lambda m, x: x[..., None, :2],
    "ellipsis_alone": lambda m, x: x[...],
    "list": lambda m, x: x[[0, 2, 0]],
    "list_2d": lambda m, x: x[[0, 1], [2, 0]],
    "int_tensor": lambda m, x: x[m.tensor([2, 0, 2])],
    "int_tensor_2d": lambda m, x: x[m.tensor([[0, 1], [1, 1]])],
    "int_tensor_inner": lambda m, x: x[:, m.tensor([3, 1])],
    "int_tensors_broadcast": lambda m, x: x[m.tensor([[0], [2]]), m.tensor([1, 3])],
    "mixed_slice_tensor": lambda m, x: x[1:, m.tensor([0, 0, 2])],
    "bool_mask": lambda m, x: x[x > 0],
    "bool_mask_rows": lambda m, x: x[m.tensor([True, False, True])],
    "bool_mask_inner": lambda m, x: x[:, m.tensor([True, False, True, True])],
    "empty_index": lambda m, x: x[m.tensor([], dtype=m.int64)],
    "index_0d_tensor": lambda m, x: x[m.tensor(1)],
    "chain": lambda m, x: x[1:][:, ::2][0],
}


@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem(name):
    fn = GETITEM[name]
    check_op(fn, (3, 4), dtypes=FLOATS)
    check_op(fn, F(3, 4, layout="T"))
    check_op(fn, I(3, 4))


def test_getitem_3d_and_0d():
    check_op(lambda m, x: x[:, 1, ::2], (2, 3, 4))
    check_op(lambda m, x: x[0, 1, 2], (2, 3, 4))
    check_op(lambda m, x: x[..., m.tensor([0, 0])], (2, 3, 4))
    check_op(lambda m, x: x[m.tensor([1, 0]), :, m.tensor([2, 3])], (2, 3, 4))  # separated advanced indices
    check_op(lambda m, x: x[None], ())
    check_op(lambda m, x: x[...], ())
    check_op(lambda m, x: x[x > 0], ())


def test_getitem_errors():
    check_op(lambda m, x: x[3], (3, 4), raises=IndexError)
    check_op(lambda m, x: x[0, 4], (3, 4), raises=IndexError)
    check_op(lambda m, x: x[0, 0, 0], (3, 4), raises=IndexError)
    check_op(lambda m, x: x[m.tensor([0, 5])], (3, 4), raises=IndexError)
    check_op(lambda m, x: x[m.tensor([0.0])], (3, 4), raises=IndexError)
    check_op(lambda m, x: x[::-1], (3, 4), raises=ValueError)
    check_op(lambda m, x: x[0], (), raises=IndexError)


SETITEM = {
    "int": (lambda y, v: y.__setitem__(1, v), (4,)),
    "slice_step": (lambda y, v: y.__setitem__((slice(None), slice(None, None, 2)), v), (3, 2)),
    "int_int": (lambda y, v: y.__setitem__((1, 2), v), ()),
    "ellipsis": (lambda y, v: y.__setitem__((Ellipsis, 0), v), (3,)),
    "none": (lambda y, v: y.__setitem__((None, 0), v), (1, 4)),
    "broadcast": (lambda y, v: y.__setitem__(slice(1, None), v), (4,)),
    "list": (lambda y, v: y.__setitem__([0, 2], v), (2, 4)),
}


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_gradients(name):
    """``y = x * 1; y[idx] = v``: gradients reach x (outside idx) and v."""
    assign, vshape = SETITEM[name]

    def fn(m, x, v):
        y = x * 1
        assign(y, v)
        return y * y

    check_op(fn, (3, 4), vshape, dtypes=FLOATS)
    check_op(lambda m, x, v: _setitem_number(x, assign), (3, 4), vshape)


def _setitem_number(x, assign):
    y = x * 2
    assign(y, 0.5)
    return y


def test_setitem_tensor_indices_and_masks():
    def put_mask(m, x, v):
        y = x.clone()
        y[y > 0] = v
        return y

    check_op(put_mask, (3, 4), ())
    check_op(lambda m, x: _masked_number(m, x), (3, 4))

    def put_rows(m, x, v):
        y = x * 1
        y[m.tensor([2, 0])] = v
        return y.sum(1)

    check_op(put_rows, (3, 4), (2, 4))
    check_op(put_rows, (3, 4), (4,))

    def put_pairs(m, x, v):
        y = x * 3  # not exp: PyTorch refuses to change a saved output in place
        y[m.tensor([0, 2]), m.tensor([1, 3])] = v
        return y

    check_op(put_pairs, (3, 4), (2,))


def _masked_number(m, x):
    y = x + 0
    y[x < 0] = 0.0
    return y


def test_setitem_no_grad_and_dtype():
    def put(m, x):
        y = x.clone()
        y[0] = 7
        y[1, 1:] = m.tensor([1.5, 2.5, 3.5])
        y[..., -1] = 9.75
        return y

    check_op(put, F(3, 4, grad=False))
    check_op(put, I(3, 4))  # float values are truncated into an int tensor
    check_op(lambda m, x: _set_shape_mismatch(x), F(3, 4, grad=False), raises=RuntimeError)


def _set_shape_mismatch(x):
    y = x.clone()
    y[0] = x[:, 0]  # 3 values into a row of 4
    return y


def test_inplace_through_views():
    """The issue's example: writes through views of a non-leaf, with gradients to the leaf."""
    def fn(m, x):
        y = x * 1
        y[:, 0] = 0
        y[1:].mul_(2)
        return y

    check_op(fn, (3, 4), dtypes=FLOATS)
    check_op(fn, F(3, 4, layout="T"))  # x * 1 keeps x's (transposed) layout: views of a non-contiguous base
    check_op(fn, F(3, 4, layout="step"))

    def flipped(m, x):
        y = x * 1
        f = y.flip(1)  # a copy in PyTorch: writing to it leaves y alone
        f[:, 0] = 5.0
        return y * x + f

    check_op(flipped, (3, 4))
    check_op(flipped, F(3, 4, layout="T"))

    def transposed(m, x):
        y = (x * 1).t()
        y[1:, ::2] = 0.5
        return y.exp()

    check_op(transposed, F(3, 4, layout="T"))

    def fn2(m, x, w):
        y = x * 2
        v = y[1]
        v.add_(w)  # through a basic-index view
        y.t()[0].mul_(w[0])  # through a view of a view
        return y * x

    check_op(fn2, (3, 4), (4,))

    def fn3(m, x, w):
        y = x * x
        z = y.view(12)
        z[::5] = w  # strided view assignment
        return y.sum(0)

    check_op(fn3, (3, 4), (3,))

    def fn4(m, x):
        y = x * 1
        d = y.diagonal()
        d.zero_()
        return y + y.unbind(1)[0].unsqueeze(1)

    check_op(fn4, (3, 4))


def test_inplace_view_then_use_view():
    def fn(m, x):
        y = x.clone()
        v = y[:, 1:3]
        y.mul_(3)  # the base changes: the view sees it
        return v * v

    check_op(fn, (3, 4))


def test_inplace_through_two_views():
    def through_two_views(m, x):
        y = (x * 1).t()  # a view of the product
        y[1:, ::2] = 0.5  # changes the product through y
        y[0].sigmoid_()  # and again through a view of y: y's own history must follow
        return y.exp()

    check_op(through_two_views, (3, 4))


def test_leaf_view_inplace_errors():
    check_op(lambda m, x: x[0].add_(1), (3, 4), raises=RuntimeError)
    check_op(lambda m, x: x.__setitem__(0, 1.0), (3, 4), raises=RuntimeError)


# -- gather / scatter and friends ----------------------------------------------------------------------

def test_gather():
    idx = _idx([0, 2, 0, 1], [1, 1, 0, 2])
    check_op(lambda m, x, i: m.gather(x, 0, i), (3, 4), idx, dtypes=FLOATS)
    check_op(lambda m, x, i: x.gather(1, i[:, :2]), (2, 4), idx)
    check_op(lambda m, x, i: x.gather(-1, i), (2, 4), idx)
    check_op(lambda m, x, i: m.gather(x, 0, i[:1, :2]), (3, 4), idx)  # a smaller index
    check_op(lambda m, x, i: m.gather(x, 1, i), F(2, 4, layout="T"), idx)
    check_op(lambda m, x, i: m.gather(x, 1, i), (2, 2), idx, raises=RuntimeError)  # out of range
    check_op(lambda m, x, i: m.gather(x, 0, i.float()), (3, 4), idx, raises=RuntimeError)
    check_op(lambda m, x, i: m.take_along_dim(x, i, 1), (2, 4), idx)


SCATTERS = {
    "scatter": lambda m, x, i, s: m.scatter(x, 0, i, s),
    "scatter_method": lambda m, x, i, s: x.scatter(1, i[:, :2], s[:, :2]),
    "scatter_value": lambda m, x, i, s: x.scatter(0, i, 2.5),
    "scatter_add": lambda m, x, i, s: m.scatter_add(x, 0, i, s),
    "scatter_add_method": lambda m, x, i, s: x.scatter_add(1, i, s),
    "scatter_": lambda m, x, i, s: (x * 1).scatter_(1, i[:, 1:3], s[:, 1:3]),
    "scatter_add_": lambda m, x, i, s: (x * 1).scatter_add_(0, i, s),
    "scatter_reduce_sum": lambda m, x, i, s: x.scatter_reduce(0, i, s, "sum"),
    "scatter_reduce_prod": lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod"),
    "scatter_reduce_mean": lambda m, x, i, s: x.scatter_reduce(1, i, s, "mean"),
    "scatter_reduce_amax": lambda m, x, i, s: x.scatter_reduce(0, i, s, "amax"),
    "scatter_reduce_amin": lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, "amin"),
    "scatter_reduce_sum_excl": lambda m, x, i, s: x.scatter_reduce(0, i, s, "sum", include_self=False),
    "scatter_reduce_prod_excl": lambda m, x, i, s: x.scatter_reduce(1, i, s, "prod", include_self=False),
    "scatter_reduce_mean_excl": lambda m, x, i, s: x.scatter_reduce(0, i, s, "mean", include_self=False),
    "scatter_reduce_amax_excl": lambda m, x, i, s: x.scatter_reduce(0, i, s, "amax", include_self=False),
}


@pytest.mark.parametrize("name", list(SCATTERS))
def test_scatter(name):
    # unique positions per column for scatter (duplicates make the result order-dependent)
    idx = _idx([0, 2, 1, 1], [2, 0, 0, 2])
    check_op(SCATTERS[name], (3, 4), idx, (2, 4), dtypes=FLOATS)


def test_scatter_src_larger_than_index():
    # PyTorch's own backward fails here (its src gradient has the index's shape): values only vs torch,
    # dynagrad's gradients by gradcheck in test_autograd.py
    idx = _idx([0, 2, 1, 1], [2, 0, 0, 2])
    check_op(lambda m, x, i, s: x.scatter_add(0, i[:1], s), (3, 4), idx, (2, 4), grad=False)
    check_op(lambda m, x, i, s: x.scatter(1, i[:, :2], s), (3, 4), idx, (2, 4), grad=False)


def test_scatter_add_duplicates():
    idx = _idx([0, 0, 0, 1], [0, 0, 2, 1])
    check_op(lambda m, x, i, s: m.scatter_add(x, 0, i, s), (3, 4), idx, (2, 4))
    check_op(lambda m, x, i, s: m.scatter_add(x, 1, i, s), (2, 4), idx, (2, 4))
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        check_op(lambda m, x, i, s, r=reduce: x.scatter_reduce(0, i, s, r), (3, 4), idx, (2, 4))
        check_op(lambda m, x, i, s, r=reduce: x.scatter_reduce(1, i, s, r, include_self=False),
                 (2, 4), idx, (2, 4))
    ties = Const(np.array([[1.0, 2.0, 2.0, 0.0], [2.0, 2.0, 1.0, 0.0]]))
    check_op(lambda m, x, i, s: x.scatter_reduce(1, i, s, "amax"), Const(np.full((2, 4), 2.0)), idx, ties)


def test_index_select_add():
    idx = _idx(2, 0, 2)
    check_op(lambda m, x, i: m.index_select(x, 0, i), (3, 4), idx, dtypes=FLOATS)
    check_op(lambda m, x, i: x.index_select(1, i), (3, 4), idx)
    check_op(lambda m, x, i: x.index_select(-1, i), F(3, 4, layout="T"), idx)
    check_op(lambda m, x, i: x.index_select(0, i), (2, 4), idx, raises=IndexError)
    check_op(lambda m, x, i, s: m.index_add(x, 0, i, s), (3, 4), idx, (3, 4), dtypes=FLOATS)
    check_op(lambda m, x, i, s: x.index_add(1, i, s, alpha=2.0), (3, 4), idx, (3, 3))
    check_op(lambda m, x, i, s: (x * 1).index_add_(0, i, s), (3, 4), idx, (3, 4))
    check_op(lambda m, x, i, s: x.index_copy(0, i[:2], s), (3, 4), _idx(2, 0), (2, 4))
    check_op(lambda m, x, i: x.index_fill(1, i, -1.0), (3, 4), idx)


def test_masked():
    check_op(lambda m, x, k: x.masked_fill(k, 0.5), (3, 4), B(3, 4), dtypes=FLOATS)
    check_op(lambda m, x, k: m.masked_fill(x, k, -1.0), (3, 4), B(4))  # a broadcast mask
    check_op(lambda m, x, k: (x * 1).masked_fill_(k, 2), (3, 4), B(3, 1))
    check_op(lambda m, x, k, v: x.masked_fill(k, v), (3, 4), B(3, 4), ())  # a 0-d tensor value with a grad
    check_op(lambda m, x, k: x.masked_fill(k, 3.7), I(3, 4), B(3, 4))
    check_op(lambda m, x, k: x.masked_fill(k.int(), 0.0), (3, 4), B(3, 4), raises=RuntimeError)
    check_op(lambda m, x, k: m.masked_select(x, k), (3, 4), B(3, 4), dtypes=FLOATS)
    check_op(lambda m, x, k: x.masked_select(k), (3, 4), B(4))
    check_op(lambda m, x, k: x.masked_select(k), F(3, 4, layout="T"), B(3, 4))
    check_op(lambda m, x, k, s: x.masked_scatter(k, s), (3, 4), B(3, 4), (12,))


def test_take():
    check_op(lambda m, x, i: m.take(x, i), (3, 4), _idx([0, 11], [5, 5]), dtypes=FLOATS)
    check_op(lambda m, x, i: x.take(i), F(3, 4, layout="T"), _idx(1, 4, 6))
    check_op(lambda m, x, i: x.take(i), (3, 4), _idx(-1, 0))


@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort(descending):
    check_op(lambda m, x: m.sort(x, descending=descending), (3, 5), dtypes=FLOATS)
    check_op(lambda m, x: x.sort(0, descending=descending), (3, 5))
    check_op(lambda m, x: x.sort(dim=1, descending=descending).values * 2, F(3, 5, layout="T"))
    check_op(lambda m, x: m.argsort(x, 0, descending=descending), (3, 5))
    check_op(lambda m, x: x.argsort(descending=descending), I(3, 5, low=0, high=100))
    check_op(lambda m, x: x.sort(descending=descending, stable=True),
             Const(np.array([2.0, 1.0, 2.0, 1.0, 3.0])))
    check_op(lambda m, x: x.sort(stable=True, descending=descending), I(2, 6, low=0, high=3))
    check_op(lambda m, x: x.sort(), ())
    check_op(lambda m, x: x.sort(0), (0,))


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    check_op(lambda m, x: m.topk(x, 2, largest=largest), (3, 5), dtypes=FLOATS)
    check_op(lambda m, x: x.topk(3, dim=0, largest=largest), (3, 5))
    check_op(lambda m, x: x.topk(1, largest=largest).values.sum(), F(3, 5, layout="T"))
    check_op(lambda m, x: x.topk(0, largest=largest), (3, 5))
    check_op(lambda m, x: x.topk(6, largest=largest), (3, 5), raises=RuntimeError)
    check_op(lambda m, x: x.topk(2, largest=largest), I(4, 5, low=0, high=100))


def test_where():
    check_op(lambda m, c, x, y: m.where(c, x, y), B(3, 4), (3, 4), (3, 4), dtypes=FLOATS)
    check_op(lambda m, c, x, y: m.where(c, x, y), B(3, 1), (4,), (2, 1, 1))
    check_op(lambda m, c, x: m.where(c, x, 0.0), B(3, 4), (3, 4))
    check_op(lambda m, c, x: m.where(c, 1, x), B(3, 4), (4,))
    check_op(lambda m, c, x: x.where(c, -x), B(3, 4), (3, 4))
    check_op(lambda m, c, x, y: m.where(c, x, y), B(3, 4), I(3, 4), (4,))  # int and float promote
    check_op(lambda m, c, x, y: m.where(c, x, y), B(3, 4), (3, 4), F(3, 4, dtype="float64"))
    check_op(lambda m, c, x, y: m.where(c, x, y), B(3, 4), (2, 4), (4,), raises=RuntimeError)
    check_op(lambda m, c: m.where(c, 1.0, 0.0), B(3, 4))  # two numbers: the default dtype
    check_op(lambda m, c: m.where(c, 1, 0), B(3, 4))
    check_op(lambda m, c: m.where(c), B(3, 4))
    check_op(lambda m, x: m.nonzero(x), B(3, 4))
    check_op(lambda m, x: m.nonzero(x, as_tuple=True), I(3, 4, low=0, high=2))
    check_op(lambda m, x: m.argwhere(x), B(2, 3))


def test_index_put():
    check_op(lambda m, x, v: m.index_put(x, (m.tensor([0, 2]),), v), (3, 4), (4,))
    check_op(lambda m, x, v: x.index_put((m.tensor([0, 0]), m.tensor([1, 1])), v, accumulate=True),
             (3, 4), (2,))
    check_op(lambda m, x, v: (x * 1).index_put_((m.tensor([1]),), v), (3, 4), (1, 4))


def test_unique_and_misc():
    check_op(lambda m, x: m.unique(x), I(10, low=0, high=4))
    check_op(lambda m, x: m.unique(x, return_inverse=True, return_counts=True), I(3, 4, low=0, high=4))
    check_op(lambda m, x: m.bincount(x), I(10, low=0, high=4))
    check_op(lambda m, x: m.kthvalue(x, 2, 1), (3, 5))
    check_op(lambda m, x: m.median(x), (3, 5))
    check_op(lambda m, x: x.median(0), (3, 5))


def test_index_tensor_values_are_read_once():
    # an index built from a tensor that is changed afterwards does not affect the result
    x = dynagrad.arange(5.0)
    i = dynagrad.tensor([0, 1])
    y = x[i]
    i[0] = 4
    np.testing.assert_array_equal(y.numpy(), [0, 1])
