"""numba kernels of the fused optimizer steps (imported only when numba is installed).

Each follows the eager NumPy update operation by operation (see ``optim/sgd.py`` and ``optim/adam.py``),
with the scalars already rounded to the parameter's dtype, so the results are the same bits.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def sgd_momentum(p, g, buf, m, lr, wd, one_minus_damp, decay, damped, nesterov):  # pragma: no cover - jitted
    for i in range(p.shape[0]):
        gi = g[i]
        if decay:
            gi = gi + wd * p[i]
        b = buf[i] * m
        b = b + (one_minus_damp * gi if damped else gi)
        buf[i] = b
        d = gi + m * b if nesterov else b
        p[i] = p[i] - lr * d


@numba.njit(cache=True)
def adam(p, g, exp_avg, exp_avg_sq, w1, beta2, one_minus_beta2, neg_step_size, bc2, eps, wd, decay_factor,
         decay, decoupled):  # pragma: no cover - jitted
    for i in range(p.shape[0]):
        gi = g[i]
        if decay:
            if decoupled:
                p[i] = p[i] * decay_factor
            else:
                gi = gi + wd * p[i]
        a = exp_avg[i]
        d = gi - a
        d = d * w1  # _lerp_ with a weight below 1/2: a + w * (b - a)
        a = a + d
        exp_avg[i] = a
        s = exp_avg_sq[i] * beta2
        t = gi * one_minus_beta2
        t = t * gi
        s = s + t
        exp_avg_sq[i] = s
        den = np.sqrt(s)
        den = den / bc2
        den = den + eps
        u = a * neg_step_size
        u = u / den
        p[i] = p[i] + u
