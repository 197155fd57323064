"""``dynagrad.nn.parallel``: ``DistributedDataParallel`` over MPI ranks (see :mod:`dynagrad.distributed`), and
``DataParallel``, which on dynagrad's single CPU device simply runs the module."""
from ..modules.module import Module
from .distributed import DistributedDataParallel


class DataParallel(Module):
    """``torch.nn.DataParallel`` on the CPU: one device, so it runs ``module`` as is (``.module`` holds it).

    >>> import dynagrad
    >>> m = DataParallel(dynagrad.nn.Linear(2, 1)); m(dynagrad.ones(3, 2)).shape
    torch.Size([3, 1])
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


__all__ = ["DataParallel", "DistributedDataParallel"]
