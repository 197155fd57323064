"""Mixed precision: ``autocast`` (low-precision matmuls and convolutions, float32 reductions and losses) and
``GradScaler`` (dynamic loss scaling with inf/NaN step skipping)."""
from .autocast_mode import autocast, custom_bwd, custom_fwd, get_autocast_dtype, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "get_autocast_dtype", "is_autocast_available"]
