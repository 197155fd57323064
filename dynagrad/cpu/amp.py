"""``torch.cpu.amp``: the older spelling of ``torch.amp`` for the CPU."""
from ..amp import GradScaler
from ..amp import autocast as _autocast


class autocast(_autocast):  # noqa: N801
    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


__all__ = ["autocast", "GradScaler"]
