"""``torch.backends.opt_einsum``: contraction-order optimisation for ``torch.einsum`` by the opt_einsum package.

dynagrad's einsum does not call opt_einsum (NumPy's ``einsum_path`` orders its contractions), so
``is_available()`` is False and ``strategy`` is None, which is what PyTorch reports when opt_einsum is not
installed.

>>> import dynagrad as torch
>>> torch.backends.opt_einsum.is_available(), torch.backends.opt_einsum.enabled
(False, False)
"""
from __future__ import annotations

__all__ = ["is_available", "get_opt_einsum", "enabled", "strategy"]


def is_available() -> bool:
    return False


def get_opt_einsum():
    return None


enabled = False
strategy = None
