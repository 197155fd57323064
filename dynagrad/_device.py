"""``torch.device`` and the default device: naming any device PyTorch knows, computing only on the CPU.

Kept apart from tensor.py so the factory functions (creation, random) can check their ``device=`` without
importing Tensor.
"""
from __future__ import annotations

import builtins

DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
_NO_ACCELERATOR = ("Cannot access accelerator device when none is available. (dynagrad computes on the CPU; "
                   "torch.accelerator.is_available() is False)")


class device:
    """Where a tensor lives. Every PyTorch device type can be named (``torch.device("cuda", 0)``), as in PyTorch;
    dynagrad computes on the CPU, so putting a tensor anywhere else raises PyTorch's error for a CPU build.

    >>> import dynagrad as torch
    >>> d = torch.device("cuda:1"); d.type, d.index, str(d)
    ('cuda', 1, 'cuda:1')
    >>> torch.device("cpu") == torch.device("cpu"), torch.device("cpu") == "cpu"
    (True, False)
    """

    __slots__ = ("type", "index", "_prev")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(_NO_ACCELERATOR)  # torch.device(0) means accelerator 0
        elif not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got "
                            f"({builtins.type(type).__name__}), but expected (str type, int index)")
        elif ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            text = type
            type, _, idx = type.partition(":")
            if not idx.isdigit() or (len(idx) > 1 and idx[0] == "0"):
                raise RuntimeError(f"Invalid device string: '{text}'")
            index = int(idx)
        if type not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if index is not None:
            index = int(index)
            if index < 0:
                raise RuntimeError("Device index must not be negative")
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self) -> str:
        return self.type + (f":{self.index}" if self.index is not None else "")

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):
            return NotImplemented  # torch.device("cpu") == "cpu" is False, as in PyTorch
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self) -> device:
        # ``with torch.device("cuda"):`` makes it the default device of factory functions, as in PyTorch
        global _default_device
        self._prev = _default_device
        _default_device = None if self.type == "cpu" else self
        return self

    def __exit__(self, *exc) -> None:
        global _default_device
        _default_device = self._prev


_CPU = device("cpu")
_default_device: device | None = None  # set by torch.set_default_device; None is the CPU


def _device_error(kind: str, creating: bool = False) -> Exception:
    """The exception PyTorch's CPU build raises for putting a tensor on a ``kind`` device."""
    if kind == "cuda":
        return AssertionError("Torch not compiled with CUDA enabled (dynagrad computes on the CPU only; check "
                              "torch.cuda.is_available() before choosing 'cuda')")
    if kind in ("xpu", "mtia"):
        return AssertionError(f"Torch not compiled with {kind.upper()} enabled (dynagrad computes on the CPU only)")
    if kind in ("hpu", "privateuseone"):
        return ModuleNotFoundError(f"No module named 'torch.{kind}' (dynagrad computes on the CPU only)",
                                   name=f"torch.{kind}")
    if kind == "lazy" or creating:
        return NotImplementedError(f"Could not run 'aten::empty.memory_format' with arguments from the "
                                   f"'{kind.upper()}' backend: dynagrad computes on the CPU only")
    return RuntimeError(f"PyTorch is not linked with support for {kind} devices (dynagrad computes on the CPU only)")


def _check_device(dev, creating: bool = False, pin_memory: bool = False) -> None:
    """Accept CPU (and meta) devices; raise PyTorch's error for any other. ``None`` means the default device."""
    if pin_memory:
        raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; no pinned memory allocator "
                           "is available on this system (dynagrad computes on the CPU only).")
    if dev is None:
        dev = _default_device
        if dev is None:
            return
    if isinstance(dev, device):
        kind = dev.type
    elif isinstance(dev, str):
        kind = dev if dev == "cpu" else device(dev).type
    elif isinstance(dev, int) and not isinstance(dev, bool):
        raise RuntimeError(_NO_ACCELERATOR)
    else:
        raise TypeError(f"expected a device (torch.device, str or int), but got {type(dev).__name__}")
    if kind != "cpu" and kind != "meta":
        raise _device_error(kind, creating)


def set_default_device(dev) -> None:
    """``torch.set_default_device``: where factory functions put tensors (None or 'cpu': the CPU).

    >>> import dynagrad as torch
    >>> torch.set_default_device("cpu"); torch.get_default_device()
    device(type='cpu')
    """
    global _default_device
    if dev is None:
        _default_device = None
        return
    d = dev if isinstance(dev, device) else device(dev) if not isinstance(dev, int) else None
    if d is None:
        raise RuntimeError(_NO_ACCELERATOR)
    _default_device = None if d.type == "cpu" else d


def get_default_device() -> device:
    if _default_device is None:
        return _CPU
    _check_device(_default_device)
    return _default_device


class layout:
    """How a tensor's elements are stored: ``torch.strided`` (dense) or ``torch.sparse_coo``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_layout_by_name, (self.name,))


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
_mkldnn = layout("_mkldnn")
jagged = layout("jagged")
LAYOUTS = {lay.name: lay for lay in (strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr, sparse_bsc, _mkldnn,
                                     jagged)}


def _layout_by_name(name: str) -> layout:
    return LAYOUTS[name]
