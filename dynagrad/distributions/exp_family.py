"""``ExponentialFamily``: entropy and same-family KL from the log-normaliser by autograd (Bregman divergence).

Densities of the form ``p(x; theta) = exp(<t(x), theta> - F(theta) + k(x))``; subclasses give the natural
parameters ``theta``, the log-normaliser ``F`` and the expected carrier measure ``E[k(x)]``.
"""
from __future__ import annotations

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base class of exponential-family distributions (``torch.distributions.ExponentialFamily``)."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        raise NotImplementedError

    def entropy(self):
        """Entropy by the Bregman divergence of the log-normaliser: ``F(theta) - <theta, grad F> - E[k]``."""
        from ..autograd import grad
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for np_, g in zip(nparams, gradients):
            result = result - (np_ * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
