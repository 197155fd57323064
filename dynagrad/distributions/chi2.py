"""``Chi2(df)``: ``Gamma(df / 2, 1 / 2)``.

>>> import dynagrad
>>> from dynagrad.distributions import Chi2
>>> Chi2(dynagrad.tensor(4.0)).mean
tensor(4.)
"""
from __future__ import annotations

from ..tensor import Size
from . import constraints
from .gamma import Gamma
from .utils import broadcast_all

__all__ = ["Chi2"]


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None) -> None:
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(Size(batch_shape), new)

    @property
    def df(self):
        return self.concentration * 2
