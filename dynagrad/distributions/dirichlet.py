"""``Dirichlet(concentration)``: distributions on the simplex; reparameterised samples are normalised Gammas.

>>> import dynagrad
>>> from dynagrad.distributions import Dirichlet
>>> Dirichlet(dynagrad.tensor([1.0, 2.0, 3.0])).log_prob(dynagrad.tensor([0.2, 0.3, 0.5]))
tensor(1.5041)
"""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..ops import _dual as D
from ..ops.index import where
from ..tensor import Size
from . import constraints
from ._functional import one_hot
from ._special import _standard_gamma_grad_array, digamma, lgamma
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class DirichletBackward(Op):
    """Dirichlet draws as normalised Gamma draws, computed in float64 (so tiny concentrations do not
    underflow to 0/0 in float32). The gradient goes through the Gammas' implicit reparameterisation:
    with x = g / S, dx_j/dalpha_i = (delta_ij - x_j) (dg_i/dalpha_i) / S."""

    save_output = True

    def forward(ctx, alpha, generator):
        from ..random import sample_dirichlet_array
        x, g, total = sample_dirichlet_array(alpha, generator, parts=True)
        if ctx is not None:  # what backward needs: d g_i / d alpha_i / S, per element
            ctx.scale = (_standard_gamma_grad_array(alpha.astype(xp.float64), g) / total).astype(x.dtype, copy=False)
        return x

    def backward(self, g, x):
        return (D.const(self.scale, g) * (g - D.sum(g * x, axis=-1, keepdims=True)),)


def _sample_dirichlet(concentration, generator=None):
    return DirichletBackward.apply(concentration, generator=generator)


class Dirichlet(ExponentialFamily):
    """A Dirichlet distribution with ``concentration`` (the last dim is the event)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        super(Dirichlet, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return _sample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((self.concentration - 1.0).xlogy(value).sum(-1) + lgamma(self.concentration.sum(-1))
                - lgamma(self.concentration).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        concentrationm1 = (self.concentration - 1).clamp(min=0.0)
        total = concentrationm1.sum(-1, True)
        mode = concentrationm1 / where(total == 0, total + 1, total)  # no 0/0 in rows replaced below
        # where every concentration is below 1 the density peaks at a vertex: the largest component
        mask = (self.concentration < 1).all(-1, keepdim=True)
        hot = one_hot(mode.argmax(-1), concentrationm1.shape[-1]).to(mode.dtype)
        return where(mask, hot, mode)

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (lgamma(self.concentration).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0)
                - ((self.concentration - 1.0) * digamma(self.concentration)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))
