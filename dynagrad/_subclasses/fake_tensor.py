"""``torch._subclasses.fake_tensor.is_fake``: whether a tensor is a FakeTensor (shape-only, from PyTorch's
tracing). dynagrad has no FakeTensor, so no tensor is one; libraries such as kornia ask before reading data.

>>> import dynagrad as torch
>>> from dynagrad._subclasses.fake_tensor import is_fake
>>> is_fake(torch.ones(2))
False
"""
from __future__ import annotations

__all__ = ["is_fake"]


def is_fake(x) -> bool:
    """False: every dynagrad tensor holds its data."""
    return False
