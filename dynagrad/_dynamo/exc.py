"""``torch._dynamo.exc``: the errors ``torch.compile`` raises (all RuntimeErrors, as in PyTorch)."""
from __future__ import annotations


class TorchDynamoException(RuntimeError):
    """Base of the compiler's errors."""


class Unsupported(TorchDynamoException):
    """``fullgraph=True`` and the function cannot be one graph (a graph break or an eager fallback)."""


class InvalidBackend(TorchDynamoException):
    """``torch.compile(backend=...)`` with a name no compiler answers to."""

    def __init__(self, name) -> None:
        super().__init__(f"Invalid backend: {name!r}, see `torch._dynamo.list_backends()` for available backends.")


class BackendCompilerFailed(TorchDynamoException):
    """The backend failed to compile (here: a backend whose compiler dynagrad does not have)."""

    def __init__(self, backend_name, inner_exception) -> None:
        self.backend_name = backend_name
        self.inner_exception = inner_exception
        super().__init__(f"backend={backend_name!r} raised:\n{type(inner_exception).__name__}: {inner_exception}")


class RecompileError(TorchDynamoException):
    """A recompilation that was not allowed."""


__all__ = ["TorchDynamoException", "Unsupported", "InvalidBackend", "BackendCompilerFailed", "RecompileError"]
