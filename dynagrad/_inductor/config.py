"""``torch._inductor.config``: PyTorch 2.13's inductor settings by name (``coordinate_descent_tuning``,
``triton.unique_kernel_names``, ``fx_graph_cache``, ``freezing``, ``cpp.threads``...), accepted and stored;
none changes what dynagrad compiles (they tune Triton and C++ kernels). Other names raise AttributeError,
as in PyTorch.

>>> import dynagrad._inductor.config as config
>>> config.coordinate_descent_tuning = True
>>> config.triton.unique_kernel_names
True
"""
from __future__ import annotations

from .._dynamo._config_module import install

install(__name__, "config_keys.json")
