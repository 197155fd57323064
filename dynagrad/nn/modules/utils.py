"""``torch.nn.modules.utils``: the argument helpers layer code imports from PyTorch (``_pair(3) == (3, 3)``),
and stripping a prefix such as DataParallel's ``module.`` from a state dict's keys.

>>> from dynagrad.nn.modules.utils import _pair, _reverse_repeat_tuple, consume_prefix_in_state_dict_if_present
>>> _pair(3), _pair([1, 2]), _reverse_repeat_tuple((1, 2), 2)
((3, 3), (1, 2), (2, 2, 1, 1))
>>> sd = {"module.fc.weight": 1, "head": 2}
>>> consume_prefix_in_state_dict_if_present(sd, "module."); sd
{'head': 2, 'fc.weight': 1}
"""
from __future__ import annotations

import collections.abc
from itertools import repeat
from typing import Any

__all__ = ["consume_prefix_in_state_dict_if_present"]


def _ntuple(n: int, name: str = "parse"):
    """A function turning a number into an ``n``-tuple of it (an iterable becomes a tuple as it is)."""
    def parse(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """``t`` reversed with each element repeated ``n`` times: a conv's padding as ``F.pad`` takes it."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults: list[int]):
    """An adaptive pool's output size with each None replaced by the input's size there."""
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d for v, d in zip(out_size, defaults[-len(out_size):])]


def consume_prefix_in_state_dict_if_present(state_dict: dict[str, Any], prefix: str) -> None:
    """Strip ``prefix`` from the keys of ``state_dict`` (and of its ``_metadata``) that start with it, in
    place: a checkpoint saved from ``DataParallel``/``DistributedDataParallel`` loads into the bare model."""
    for key in list(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix):]] = state_dict.pop(key)
    meta = getattr(state_dict, "_metadata", None)
    if meta is not None:
        for key in list(meta.keys()):
            if len(key) == 0:  # the wrapper's own entry stays
                continue
            if key == prefix.replace(".", "") or key.startswith(prefix):
                meta[key[len(prefix):]] = meta.pop(key)
