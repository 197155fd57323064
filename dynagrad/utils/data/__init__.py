"""Data loading, mirroring ``torch.utils.data``: datasets, samplers, collation and the DataLoader.

>>> import dynagrad
>>> from dynagrad.utils.data import DataLoader, TensorDataset
>>> ds = TensorDataset(dynagrad.arange(6).float().reshape(3, 2), dynagrad.tensor([0, 1, 0]))
>>> [tuple(x.shape) for x, _ in DataLoader(ds, batch_size=2)]
[(2, 2), (1, 2)]
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader, _DatasetKind, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "_DatasetKind",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
