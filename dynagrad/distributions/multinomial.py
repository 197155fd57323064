"""``Multinomial(total_count=1, probs=None, logits=None)``: category counts over ``total_count`` draws.

>>> import dynagrad
>>> from dynagrad.distributions import Multinomial
>>> m = Multinomial(4, probs=dynagrad.tensor([0.25, 0.25, 0.5]))
>>> m.log_prob(dynagrad.tensor([1.0, 1.0, 2.0]))
tensor(-1.6740)
"""
from __future__ import annotations

import math

from ..backend import xp
from ..creation import tensor
from ..ops.index import where
from ..tensor import Size, Tensor
from . import constraints
from ._special import lgamma
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts of ``total_count`` categorical draws (the last dim is the event); parameters as
    ``Categorical``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def __init__(self, total_count: int = 1, probs=None, logits=None, validate_args=None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        super(Multinomial, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args, **kwargs):
        return self._categorical._new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    def sample(self, sample_shape=Size()):
        # total_count categorical draws per sample, counted per category (PyTorch's order of draws)
        sample_shape = Size(sample_shape)
        samples = self._categorical.sample(Size((self.total_count,)) + sample_shape)
        idx = samples._data
        idx = xp.moveaxis(idx, 0, -1)
        shape = tuple(self._extended_shape(sample_shape))
        counts = xp.zeros(shape, xp.int64)
        k = shape[-1]
        flat = idx.reshape(-1, idx.shape[-1])
        rows = xp.repeat(xp.arange(flat.shape[0]), flat.shape[1])
        xp.add.at(counts.reshape(-1, k), (rows, flat.ravel()), 1)
        return Tensor._wrap(counts.astype(self.probs._data.dtype))

    def entropy(self):
        n = tensor(float(self.total_count), dtype=self.probs.dtype)
        cat_entropy = self._categorical.entropy()
        term1 = n * cat_entropy - lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = lgamma(support + 1)
        term2 = (binomial_probs * weights).sum((0, -1))
        return term1 + term2

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = lgamma(value.sum(-1) + 1)
        log_factorial_xs = lgamma(value + 1).sum(-1)
        logits = where((value == 0) & (logits == -math.inf), logits * 0, logits)  # 0 * -inf counts as 0
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers
