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
        self.device_ids = []  # no accelerator: PyTorch's CPU build keeps none either

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None):
    """``torch.nn.parallel.data_parallel``: replicates ``module`` over accelerators, so on a CPU build it
    raises PyTorch's RuntimeError (call the module directly, or wrap it in ``DataParallel``, which runs it).

    >>> import dynagrad
    >>> try:
    ...     data_parallel(dynagrad.nn.Linear(2, 1), dynagrad.ones(3, 2))
    ... except RuntimeError as e:
    ...     print(str(e).split(" (")[0])
    device type could not be determined
    """
    raise RuntimeError("device type could not be determined (torch.nn.parallel.data_parallel needs an accelerator; "
                       "dynagrad computes on the CPU, so call the module directly)")


__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
