"""The conjugate, real and imaginary parts the complex gradients of ``dynagrad.linalg`` use (PyTorch's
convention: the gradient of a real loss ``L`` with respect to a complex ``z`` is ``dL/dRe(z) + i dL/dIm(z)``,
so backward formulas conjugate where the forward multiplies). The primitives are ``dynagrad.ops.math``'s.

>>> import dynagrad
>>> from dynagrad.linalg._complex import conj, real, imag
>>> z = dynagrad.tensor([1 + 2j, 3 - 1j])
>>> conj(z), real(z), imag(z)
(tensor([1.-2.j, 3.+1.j]), tensor([1., 3.]), tensor([ 2., -1.]))
"""
from __future__ import annotations

from ..ops.math import conj, imag, real

__all__ = ["conj", "imag", "real"]
