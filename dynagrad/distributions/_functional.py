"""The few ``torch.nn.functional`` pieces the distributions use (softplus, logsigmoid, one_hot, padding by
concatenation), kept here so ``dynagrad.distributions`` does not depend on ``dynagrad.nn``.

>>> import dynagrad
>>> from dynagrad.distributions._functional import softplus, one_hot
>>> softplus(dynagrad.tensor([0.0, 100.0]))
tensor([  0.6931, 100.0000])
>>> one_hot(dynagrad.tensor([2, 0]), 3)
tensor([[0, 0, 1],
        [1, 0, 0]])
"""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..ops.elementwise import _float_input, _sigmoid


class SoftplusBackward0(Op):
    save = (0,)

    def forward(ctx, a):
        return xp.logaddexp(0, a).astype(a.dtype, copy=False)

    def backward(self, g, x):
        return (g * (_sigmoid(x) if D.is_array(x) else x.sigmoid()),)


def softplus(x):
    """log(1 + exp(x)), computed without overflow; the gradient is sigmoid(x)."""
    return SoftplusBackward0.apply(_float_input(x))


def logsigmoid(x):
    return -softplus(-x)


def one_hot(indices, num_classes: int = -1):
    """int64 one-hot vectors of ``indices`` along a new last dim."""
    from ..tensor import Tensor
    idx = indices._data.astype(xp.int64)
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._wrap(xp.eye(num_classes, dtype=xp.int64)[idx])
