"""PyTorch's private module paths, for scripts that import them.

``from torch.utils.data._utils.collate import default_collate`` is common in user code, so
``dynagrad.utils.data._utils.collate`` (and ``.worker``, for ``get_worker_info``) resolve to the modules
that hold those names here.
"""
import sys

from .. import collate
from .. import dataloader as worker

sys.modules[__name__ + ".collate"] = collate
sys.modules[__name__ + ".worker"] = worker
