"""Matrix products and einsum against PyTorch: every operand rank matmul accepts, broadcasting batch dims,
non-contiguous operands, empty dims, gradients."""
from __future__ import annotations

import pytest
from helpers import F, I, check_op

FLOATS = ("float32", "float64")

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((0, 4), (4, 5)),
    ((3, 0), (0, 5)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    check_op(lambda m, a, b: a @ b, sa, sb, dtypes=FLOATS)
    check_op(lambda m, a, b: m.matmul(a, b), sa, sb)


def test_matmul_noncontiguous_and_int():
    check_op(lambda m, a, b: a @ b, F(3, 4, layout="T"), F(4, 5, layout="step"))
    check_op(lambda m, a, b: a @ b.mT, F(2, 3, 4, layout="step"), F(2, 5, 4, layout="T"))
    check_op(lambda m, a, b: a @ b, I(3, 4), I(4, 2))
    check_op(lambda m, a, b: a @ b, I(4), I(4))


def test_mm_bmm_mv_dot_outer():
    check_op(lambda m, a, b: m.mm(a, b), (3, 4), (4, 5), dtypes=FLOATS)
    check_op(lambda m, a, b: a.mm(b), F(3, 4, layout="T"), (4, 2))
    check_op(lambda m, a, b: m.bmm(a, b), (2, 3, 4), (2, 4, 5), dtypes=FLOATS)
    check_op(lambda m, a, b: a.bmm(b), (2, 1, 4), F(2, 4, 3, layout="T"))
    check_op(lambda m, a, v: m.mv(a, v), (3, 4), (4,))
    check_op(lambda m, a, b: m.dot(a, b), (4,), (4,))
    check_op(lambda m, a, b: a.dot(b), (0,), (0,))
    check_op(lambda m, a, b: m.outer(a, b), (3,), (4,))
    check_op(lambda m, a, b: m.inner(a, b), (3,), (3,))
    check_op(lambda m, c, a, b: m.addmm(c, a, b), (3, 5), (3, 4), (4, 5))
    check_op(lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0), (5,), (3, 4), (4, 5))
    check_op(lambda m, c, a, b: m.baddbmm(c, a, b), (2, 3, 5), (2, 3, 4), (2, 4, 5))
    check_op(lambda m, c, a, v: m.addmv(c, a, v, alpha=3), (3,), (3, 4), (4,))
    check_op(lambda m, a, b: m.tensordot(a, b, dims=([1], [0])), (3, 4), (4, 2))


def test_matmul_shape_errors():
    check_op(lambda m, a, b: a @ b, (3, 4), (5, 6), raises=RuntimeError)
    check_op(lambda m, a, b: a @ b, (4,), (5,), raises=RuntimeError)
    check_op(lambda m, a, b: a @ b, (2, 3, 4), (3, 4, 5), raises=RuntimeError)
    check_op(lambda m, a, b: a @ b, (), (3,), raises=RuntimeError)
    check_op(lambda m, a, b: m.mm(a, b), (3, 4), (4,), raises=RuntimeError)
    check_op(lambda m, a, b: m.mm(a, b), (3, 4), (3, 4), raises=RuntimeError)
    check_op(lambda m, a, b: m.bmm(a, b), (2, 3, 4), (3, 4, 5), raises=RuntimeError)
    check_op(lambda m, a, b: m.bmm(a, b), (3, 4), (4, 5), raises=RuntimeError)
    check_op(lambda m, a, b: m.dot(a, b), (3,), (4,), raises=RuntimeError)
    check_op(lambda m, a, b: a @ b, F(3, 4), F(4, 5, dtype="float64"), raises=RuntimeError)


EINSUM = [
    ("ij,jk->ik", (3, 4), (4, 5)),
    ("ij,jk", (3, 4), (4, 5)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    ("i,i->", (4,), (4,)),
    ("i,j->ij", (3,), (4,)),
    ("ij->ji", (3, 4)),
    ("ij->", (3, 4)),
    ("ij->j", (3, 4)),
    ("...ij,...jk->...ik", (2, 3, 4), (4, 5)),
    ("b...,b->...", (2, 3, 4), (2,)),
    ("ij,ij->ij", (3, 4), (3, 4)),
    ("ij,kj->ik", (3, 4), (5, 4)),
    ("ijk,ikl,ilm->ijm", (2, 3, 4), (2, 4, 5), (2, 5, 3)),
    ("i j , j k -> i k", (3, 4), (4, 5)),
    ("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
    ("ii->i", (3, 3)),
    ("ii", (3, 3)),
    ("bii->bi", (2, 3, 3)),
    ("iij,jk->ik", (3, 3, 4), (4, 2)),
    ("ii,i->i", (3, 3), (3,)),
    ("iji->j", (3, 4, 3)),
]


@pytest.mark.parametrize("eq,shapes", [(e[0], e[1:]) for e in EINSUM], ids=[e[0] for e in EINSUM])
def test_einsum(eq, shapes):
    check_op(lambda m, *ops: m.einsum(eq, *ops), *shapes, dtypes=FLOATS)


def test_einsum_list_operands_and_errors():
    check_op(lambda m, a, b: m.einsum("ij,jk->ik", [a, b]), (3, 4), F(4, 5, layout="T"))
    check_op(lambda m, a, b: m.einsum("ij,jk->ik", a, b), (3, 4), (5, 5), raises=RuntimeError)
    check_op(lambda m, a: m.einsum("ij,jk->ik", a), (3, 4), raises=RuntimeError)
    check_op(lambda m, a: m.einsum("ijk->i", a), (3, 4), raises=RuntimeError)


def test_linalg_small():
    check_op(lambda m, a: m.inverse(a + 4 * m.eye(3, dtype=a.dtype)), (3, 3), dtypes=FLOATS)
    check_op(lambda m, a: m.det(a), (3, 3), dtypes=FLOATS)
    check_op(lambda m, a: m.det(a), (2, 3, 3))
