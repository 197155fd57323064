"""``dynagrad.distributed.optim``: optimizers for data-parallel training over MPI, as ``torch.distributed.optim``.

``ZeroRedundancyOptimizer`` shards optimizer state across the ranks. PyTorch's RPC-based
``DistributedOptimizer`` and ``PostLocalSGDOptimizer`` are not provided.
"""
from .zero_redundancy_optimizer import ZeroRedundancyOptimizer

__all__ = ["ZeroRedundancyOptimizer"]
