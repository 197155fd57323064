"""``Weibull(scale, concentration)``.

>>> import dynagrad
>>> from dynagrad.distributions import Weibull
>>> Weibull(1.0, 1.0).mean  # concentration 1: the exponential distribution
tensor(1.)
"""
from __future__ import annotations

from ..tensor import Size
from . import constraints
from ._special import lgamma
from .cauchy import _LocScale

__all__ = ["Weibull"]

_EULER = 0.57721566490153286060


class Weibull(_LocScale):
    """Density ``(k/s) (x/s)^(k-1) exp(-(x/s)^k)`` on ``x > 0``."""

    _names = ("scale", "concentration")
    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, scale, concentration, validate_args=None) -> None:
        super().__init__(scale, concentration, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * lgamma(1 + self.concentration.reciprocal()).exp()

    @property
    def mode(self):
        c = self.concentration  # NaN for concentration < 1, as PyTorch gives it
        return self.scale * ((c - 1) / c) ** c.reciprocal()

    @property
    def variance(self):
        c = self.concentration
        return self.scale.pow(2) * (lgamma(1 + 2 * c.reciprocal()).exp() - lgamma(1 + c.reciprocal()).exp().pow(2))

    def rsample(self, sample_shape=Size()):
        # PyTorch: Exponential(1) raised to 1/concentration, times scale
        e = self.scale.new_empty(tuple(self._extended_shape(sample_shape))).exponential_() / 1.0
        return 0 + self.scale * e.pow(self.concentration.reciprocal())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c, z = self.concentration, value / self.scale
        return (c / self.scale).log() + (c - 1) * z.log() - z ** c

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(-(value / self.scale) ** self.concentration).expm1()

    def icdf(self, value):
        return self.scale * (-(-value).log1p()) ** self.concentration.reciprocal()

    def entropy(self):
        c = self.concentration
        return _EULER * (1 - c.reciprocal()) + (self.scale / c).log() + 1
