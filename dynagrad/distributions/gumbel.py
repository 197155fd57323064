"""``Gumbel(loc, scale)``: the distribution of maxima (type-I extreme value).

>>> import dynagrad
>>> from dynagrad.distributions import Gumbel
>>> Gumbel(0.0, 1.0).cdf(dynagrad.tensor(0.0))
tensor(0.3679)
"""
from __future__ import annotations

import math

from ..dtypes import finfo
from ..random import rand
from ..tensor import Size
from . import constraints
from .cauchy import _LocScale

__all__ = ["Gumbel"]

_EULER = 0.57721566490153286060


class Gumbel(_LocScale):
    """``loc - scale * log(-log(U))`` for uniform ``U``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        super().__init__(loc, scale, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=Size()):
        # PyTorch's transformed Uniform(tiny, 1 - eps): log, times -1, log, then loc + (-scale) * x
        fi = finfo(self.loc.dtype)
        low = float(fi.tiny)
        u = rand(tuple(self._extended_shape(sample_shape)), dtype=self.loc.dtype)
        u = low + u * ((1 - float(fi.eps)) - low)
        x = -1 * u.log()
        return self.loc + (-self.scale) * x.log()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (self.loc - value) / self.scale
        return z - z.exp() - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value):
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self):
        return self.scale.log() + (1 + _EULER)
