"""``torch.jit.annotations``: the typing names TorchScript code imports from here (``from torch.jit.annotations
import List, Optional``); they are Python's own, as in PyTorch.

>>> from dynagrad.jit.annotations import List, Optional
>>> List[int], Optional[str]
(typing.List[int], typing.Optional[str])
"""
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union  # noqa: UP035 - re-exported

from . import Final, annotate

__all__ = ["Any", "Callable", "Dict", "Final", "List", "NamedTuple", "Optional", "Tuple", "Union", "annotate"]
