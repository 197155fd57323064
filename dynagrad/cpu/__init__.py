"""``torch.cpu``: the CPU device namespace (``torch.cpu.amp.autocast`` and friends)."""
from . import amp


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def synchronize(device=None) -> None:
    """CPU ops complete before returning; nothing to wait for."""
