"""``torch.cuda.random``: seeding calls for devices that do not exist.

On PyTorch's CPU build ``manual_seed``/``manual_seed_all`` queue the seed for a CUDA initialisation that never
comes, so they return without touching the CPU generator; so do these.

>>> import dynagrad
>>> _ = dynagrad.manual_seed(0); a = dynagrad.rand(1)
>>> _ = dynagrad.manual_seed(0); dynagrad.cuda.manual_seed_all(123); bool(dynagrad.rand(1) == a)
True
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import not_compiled

__all__ = ["get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "initial_seed"]


def manual_seed(seed: int) -> None:
    int(seed)  # PyTorch converts first, so a bad seed raises here too


def manual_seed_all(seed: int) -> None:
    int(seed)


def seed() -> None:
    """No CUDA generator to reseed."""


def seed_all() -> None:
    """No CUDA generator to reseed."""


def initial_seed() -> int:
    raise not_compiled("initial_seed()")


def get_rng_state(device: Any = "cuda"):
    raise not_compiled("get_rng_state()")


def get_rng_state_all() -> list:
    return []


def set_rng_state(new_state, device: Any = "cuda") -> None:
    """Queued for a CUDA initialisation that never happens, as on PyTorch's CPU build."""


def set_rng_state_all(new_states: Iterable) -> None:
    for _ in new_states:
        pass
