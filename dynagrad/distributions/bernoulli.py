"""``Bernoulli(probs=None, logits=None)``: 1 with probability ``probs``, else 0.

>>> import dynagrad
>>> from dynagrad.distributions import Bernoulli
>>> Bernoulli(probs=dynagrad.tensor([0.25])).log_prob(dynagrad.tensor([1.0]))
tensor([-1.3863])
>>> Bernoulli(logits=dynagrad.tensor([0.0])).entropy()
tensor([0.6931])
"""
from __future__ import annotations

import math
import numbers

from ..creation import arange
from ..random import bernoulli as _bernoulli
from ..tensor import Size, Tensor
from . import constraints
from ._functional import softplus
from .exp_family import ExponentialFamily
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


class Bernoulli(ExponentialFamily):
    """A Bernoulli distribution given by ``probs`` or ``logits`` (log-odds), not both."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, numbers.Number)
            (self.probs,) = broadcast_all(probs)
        else:
            is_scalar = isinstance(logits, numbers.Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if is_scalar else self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = Size(batch_shape)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        super(Bernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args, **kwargs):
        return self._param.new_tensor(*args, **kwargs)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs._data
        mode = (p >= 0.5).astype(p.dtype)
        mode[p == 0.5] = math.nan
        return Tensor._wrap(mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        from ..autograd import no_grad
        with no_grad():
            return _bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return logits * value - softplus(logits)  # -binary_cross_entropy_with_logits

    def entropy(self):
        return softplus(self.logits) - self.logits * self.probs  # binary_cross_entropy_with_logits

    def enumerate_support(self, expand: bool = True):
        values = arange(2, dtype=self._param.dtype)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self):
        p = self.probs
        return (p.log() - (-p).log1p(),)

    def _log_normalizer(self, x):
        return x.exp().log1p()

