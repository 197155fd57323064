"""``HalfNormal(scale)``: ``|X|`` for ``X ~ Normal(0, scale)``.

>>> import dynagrad
>>> from dynagrad.distributions import HalfNormal
>>> round(HalfNormal(1.0).mean.item(), 4)
0.7979
"""
from __future__ import annotations

import math

from ..random import randn
from ..tensor import Size
from . import constraints
from .cauchy import _LocScale

__all__ = ["HalfNormal"]


class HalfNormal(_LocScale):
    """The normal distribution folded at zero."""

    _names = ("scale",)
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None) -> None:
        super().__init__(scale, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return self.scale * 0

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def rsample(self, sample_shape=Size()):
        return (self.scale * randn(self._extended_shape(sample_shape), dtype=self.scale.dtype)).abs()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lp = 0.5 * math.log(2 / math.pi) - self.scale.log() - value ** 2 / (2 * self.scale ** 2)
        return lp.masked_fill(value < 0, -math.inf) if hasattr(value, "masked_fill") else lp

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (value / (self.scale * math.sqrt(2))).erf()

    def icdf(self, prob):
        return self.scale * math.sqrt(2) * prob.erfinv()

    def entropy(self):
        return 0.5 * math.log(math.pi / 2) + self.scale.log() + 0.5
