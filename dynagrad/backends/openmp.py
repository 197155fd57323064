"""``torch.backends.openmp``: whether ops run on an OpenMP thread pool. dynagrad's kernels do not (threads come
from NumPy's BLAS, see ``torch.get_num_threads``), so this is False where PyTorch's wheel says True.

>>> import dynagrad as torch
>>> torch.backends.openmp.is_available()
False
"""


def is_available() -> bool:
    return False
