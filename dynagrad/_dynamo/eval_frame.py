"""``torch._dynamo.eval_frame``: where PyTorch defines ``OptimizedModule`` (scripts test against it)."""
from __future__ import annotations

from ..compile.api import OptimizedModule

__all__ = ["OptimizedModule"]
