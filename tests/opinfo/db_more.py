"""Entries: the ops of issue 20 parts 3-5 (sampling, CTC, fractional pooling, statistics, set and shape
helpers, the torch.* forms of nn functions, in-place variants)."""
from __future__ import annotations

from . import samples as S
from .core import custom

F, ALL, REAL = S.FLOATS, S.ALL, S.REAL
I64 = "int64"


def c(name, fn, **kw):
    kw.setdefault("family", "more")
    return custom(name, fn, **kw)


OPS = [
    c("grid_sampler", lambda mk: [mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2, lo=-1.2, hi=1.2), m, p, a)
                                  for m in (0, 1, 2) for p in (0, 1, 2) for a in (False, True)]
      + [mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3, lo=-1.2, hi=1.2), 0, 2, False)],
      method=None, inplace=None, grad_tol=(1e-2, 1e-3)),
    c("grid_sampler_2d", lambda mk: (mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2, lo=-1.2, hi=1.2), 0, 0, False),
                                     mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3), 0, 0, False)),
      method=None, inplace=None),
    c("grid_sampler_3d", lambda mk: (mk.add(mk.t(1, 2, 3, 4, 5), mk.t(1, 2, 3, 2, 3, lo=-1.2, hi=1.2), 1, 1, True),
                                     mk.add(mk.t(1, 2, 4, 5), mk.t(1, 3, 2, 2), 0, 0, False)),
      method=None, inplace=None),
    c("affine_grid_generator", lambda mk: (mk.add(mk.t(2, 2, 3), (2, 1, 3, 4), False),
                                           mk.add(mk.t(1, 3, 4), (1, 1, 2, 3, 2), True)),
      method=None, inplace=None),
]
