"""Conjugate, real and imaginary parts as differentiable primitives, for the complex gradients of
``dynagrad.linalg`` (PyTorch's convention: the gradient of a real loss ``L`` with respect to a complex ``z``
is ``dL/dRe(z) + i dL/dIm(z)``, so backward formulas conjugate where the forward multiplies).

>>> import dynagrad
>>> from dynagrad.linalg._complex import conj, real, imag
>>> z = dynagrad.tensor([1 + 2j, 3 - 1j])
>>> conj(z), real(z), imag(z)
(tensor([1.-2.j, 3.+1.j]), tensor([1., 3.]), tensor([ 2., -1.]))
"""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D


class ConjBackward0(Op):
    def forward(ctx, a):
        return xp.conj(a)

    def backward(self, g):
        return (D.conj(g),)


class RealBackward0(Op):
    def forward(ctx, a):
        return xp.array(a.real)

    def backward(self, g):
        return (g,)  # the engine casts the real gradient to the complex input's dtype


class ImagBackward0(Op):
    def forward(ctx, a):
        return xp.array(a.imag)

    def backward(self, g):
        return (g * 1j,)


def conj(x):
    """The complex conjugate of a complex Tensor (real Tensors are returned as they are)."""
    return ConjBackward0.apply(x) if x._data.dtype.kind == "c" else x


def real(x):
    """The real part of a complex Tensor (real Tensors are returned as they are)."""
    return RealBackward0.apply(x) if x._data.dtype.kind == "c" else x


def imag(x):
    """The imaginary part of a complex Tensor."""
    return ImagBackward0.apply(x)
