"""The op database: every public op of dynagrad with its samples (see core.OpInfo)."""
from __future__ import annotations

from helpers import torch

from . import db_elementwise, db_more, db_nn, db_reduce, db_shape
from .known import KNOWN

OPS = db_elementwise.OPS + db_reduce.OPS + db_shape.OPS + db_nn.OPS + db_more.OPS
BY_NAME = {}
for _info in OPS:
    assert _info.name not in BY_NAME, f"two entries named {_info.name}"
    _info.resolve_variants(torch)
    BY_NAME[_info.name] = _info
    if _info.name in KNOWN and not _info.xfail:
        _info.xfail = KNOWN[_info.name]
