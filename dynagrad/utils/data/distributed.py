"""``DistributedSampler``: each rank of a data-parallel job visits its own share of a dataset.

Mirrors ``torch.utils.data.distributed``: the (optionally shuffled, seeded by ``seed + epoch``) index list is
padded by repeating its start until it divides evenly (or cut, with ``drop_last``), then rank r takes
``indices[r:total_size:num_replicas]``. The shuffle draws from dynagrad's generator, so its permutation
differs from torch's; the padding and the split are the same.

>>> s = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
>>> list(s), len(s)
([1, 4, 7, 0], 4)
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TypeVar

import dynagrad

from .dataset import Dataset
from .sampler import Sampler

__all__ = ["DistributedSampler"]

T_co = TypeVar("T_co", covariant=True)


class DistributedSampler(Sampler[T_co]):
    """Restrict data loading to a subset of ``dataset`` for this rank; call ``set_epoch(e)`` each epoch so the
    shuffle changes (every rank must use the same ``seed``)."""

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[T_co]:
        if self.shuffle:
            g = dynagrad.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = dynagrad.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[: self.total_size]
        assert len(indices) == self.total_size
        indices = indices[self.rank : self.total_size : self.num_replicas]
        assert len(indices) == self.num_samples
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use a different shuffle in each epoch (all ranks must call it with the same ``epoch``)."""
        self.epoch = epoch
