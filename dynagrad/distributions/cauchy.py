"""``Cauchy(loc, scale)`` and its folded forms ``HalfCauchy(scale)``.

>>> import dynagrad
>>> from dynagrad.distributions import Cauchy
>>> Cauchy(0.0, 1.0).cdf(dynagrad.tensor(1.0))
tensor(0.7500)
"""
from __future__ import annotations

import math
import numbers

from ..creation import full
from ..tensor import Size
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Cauchy", "HalfCauchy"]


class _LocScale(Distribution):
    """Shared construction and ``expand`` of two-parameter location-scale families."""

    _names = ("loc", "scale")

    def __init__(self, *params, validate_args=None) -> None:
        values = broadcast_all(*params)
        for name, v in zip(self._names, values):
            setattr(self, name, v)
        batch = Size() if all(isinstance(p, numbers.Number) for p in params) else values[0].size()
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = Size(batch_shape)
        for name in self._names:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new


class Cauchy(_LocScale):
    """The Cauchy (Lorentz) distribution: no mean, no variance, heavy tails."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        super().__init__(loc, scale, validate_args=validate_args)

    @property
    def mean(self):
        return full(self._extended_shape(), math.nan, dtype=self.loc.dtype)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return full(self._extended_shape(), math.inf, dtype=self.loc.dtype)

    def rsample(self, sample_shape=Size()):
        eps = self.loc.new_empty(tuple(self._extended_shape(sample_shape))).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class HalfCauchy(_LocScale):
    """``|X|`` for ``X ~ Cauchy(0, scale)``."""

    _names = ("scale",)
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None) -> None:
        super().__init__(scale, validate_args=validate_args)

    @property
    def mean(self):
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype)

    @property
    def mode(self):
        return self.scale * 0

    @property
    def variance(self):
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype)

    def rsample(self, sample_shape=Size()):
        # PyTorch: |Cauchy(0, scale)|, the base sample 0 + eps * scale
        eps = self.scale.new_empty(tuple(self._extended_shape(sample_shape))).cauchy_()
        return (eps * self.scale + 0).abs()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lp = math.log(2 / math.pi) - self.scale.log() - ((value / self.scale) ** 2).log1p()
        return lp.masked_fill(value < 0, -math.inf) if hasattr(value, "masked_fill") else lp

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * (value / self.scale).atan() / math.pi

    def icdf(self, prob):
        return (math.pi * prob / 2).tan() * self.scale

    def entropy(self):
        return math.log(2 * math.pi) + self.scale.log()
