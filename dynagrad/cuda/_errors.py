"""The errors PyTorch's CPU build raises from ``torch.cuda``: one place for their types and wording."""
from __future__ import annotations

NOT_COMPILED = "Torch not compiled with CUDA enabled"
_WHY = "dynagrad computes on the CPU only, so torch.cuda.is_available() is False"


def not_compiled(what: str | None = None) -> AssertionError:
    """The AssertionError PyTorch's CPU build raises for anything that needs the CUDA runtime."""
    name = what if what is None or what.startswith("torch.") else f"torch.cuda.{what}"
    where = f" ({name} needs a GPU; {_WHY})" if what else f" ({_WHY})"
    return AssertionError(NOT_COMPILED + where)


def no_cuda_binding(what: str) -> AttributeError:
    """PyTorch's CPU build lacks the C binding behind these few functions and raises AttributeError."""
    return AttributeError(f"{NOT_COMPILED}: torch.cuda.{what} needs a CUDA build ({_WHY})")


def dummy_class(name: str) -> RuntimeError:
    """Classes PyTorch's CPU build defines as placeholders that refuse to be instantiated."""
    return RuntimeError(f"Tried to instantiate dummy base class {name} ({_WHY})")


def no_nvml() -> ModuleNotFoundError:
    return ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be imported.", name="pynvml")
