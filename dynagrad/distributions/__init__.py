"""Probability distributions with PyTorch's API (``torch.distributions``).

Every distribution has ``sample``/``log_prob``/``entropy``/``mean``/``variance``/``batch_shape``/
``event_shape``/``expand``/``support``/``arg_constraints``; reparameterisable ones have ``rsample`` through
which gradients flow to the parameters. ``kl_divergence`` dispatches on the most specific registered pair.

>>> import dynagrad
>>> from dynagrad.distributions import Normal, kl_divergence
>>> loc = dynagrad.tensor([0.0, 1.0], requires_grad=True)
>>> p = Normal(loc, dynagrad.ones(2))
>>> p.log_prob(dynagrad.zeros(2)).sum().backward()
>>> loc.grad
tensor([ 0., -1.])
>>> kl_divergence(p, Normal(0.0, 1.0))
tensor([0.0000, 0.5000], grad_fn=<MulBackward0>)
"""
from . import constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy, HalfCauchy
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .independent import Independent
from .kl import _add_kl_info, kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .relaxed_bernoulli import LogitRelaxedBernoulli, RelaxedBernoulli
from .relaxed_categorical import ExpRelaxedCategorical, RelaxedOneHotCategorical
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F403
from .uniform import Uniform
from .weibull import Weibull

_add_kl_info()

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet", "Distribution",
    "ExponentialFamily", "Exponential", "ExpRelaxedCategorical", "Gamma", "Geometric", "Gumbel", "HalfCauchy",
    "HalfNormal",
    "Independent", "Laplace", "LogNormal",
    "LogitRelaxedBernoulli", "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial",
    "MultivariateNormal", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution", "Uniform", "Weibull",
    "biject_to",
    "constraints", "kl_divergence", "register_kl", "transform_to", "transforms",
]
__all__.extend(transforms.__all__)
