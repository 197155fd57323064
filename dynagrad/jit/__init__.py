"""dynagrad.jit: ``trace`` a module or function into a graph module (``torch.jit.trace``).

>>> import dynagrad
>>> m = dynagrad.jit.trace(dynagrad.nn.Linear(3, 2), dynagrad.randn(4, 3))
>>> print(m.graph)  # doctest: +ELLIPSIS
%0 = input[0]  # float32[4, 3]
...
>>> m(dynagrad.randn(4, 3)).shape
torch.Size([4, 2])

The result runs the program ``dynagrad.compile`` generated for the example inputs: ``.graph`` prints its
IR, ``.code`` its Python source. Calls with other shapes or values that the trace depended on are traced
again (``dynagrad.compile``'s guards), so a traced module never silently computes the wrong thing.
``script`` is not supported: dynagrad compiles by tracing the Python that runs.
"""
from __future__ import annotations

from typing import Any, Final, NamedTuple

from ..compile import CompiledFunction

__all__ = ["trace", "script", "TracedModule", "ScriptModule", "is_scripting", "is_tracing", "ignore", "unused",
           "export", "save", "load", "freeze", "Final", "annotate", "Attribute", "interface"]

# Type annotations TorchScript reads and eager Python ignores (``fused_attn: torch.jit.Final[bool]`` in timm):
# ``Final`` is typing.Final, as in PyTorch.


def annotate(the_type: Any, the_value: Any) -> Any:
    """A type hint for TorchScript; in eager code (all of dynagrad) it returns ``the_value``."""
    return the_value


class Attribute(NamedTuple):
    """``torch.jit.Attribute(value, type)``: an attribute's TorchScript type; eager code uses ``value``."""
    value: Any
    type: Any


def interface(obj):
    """A TorchScript interface declaration; in eager code the class itself."""
    return obj


class TracedModule:
    """What ``trace`` returns: callable like the original, with ``graph`` and ``code``."""

    def __init__(self, fn, example_inputs, example_kwargs=None) -> None:
        self._orig = fn
        self._compiled = CompiledFunction(fn, dynamic=None)
        args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        self._compiled(*args, **(example_kwargs or {}))
        progs = self._compiled.programs
        if not progs:
            reasons = [e["reason"] for e in self._compiled.events if e["kind"] == "fallback"]
            raise RuntimeError("dynagrad.jit.trace could not trace the function: " + "; ".join(reasons))
        self._program = progs[0]

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    forward = __call__

    @property
    def graph(self):
        """The traced program's IR (prints one line per node)."""
        return self._program.graph

    @property
    def code(self) -> str:
        """The generated Python source."""
        return self._program.code

    @property
    def inlined_graph(self):
        return self.graph

    def __getattr__(self, name):
        return getattr(self._orig, name)

    def __repr__(self) -> str:
        return f"TracedModule({getattr(self._orig, '__class__', type(self._orig)).__name__}, " \
               f"{self._program.graph.op_count()} ops)"


ScriptModule = TracedModule


def trace(func, example_inputs=None, optimize=None, check_trace: bool = True, check_inputs=None,
          check_tolerance: float = 1e-5, strict: bool = True, _force_outplace: bool = False,
          example_kwarg_inputs=None, **kwargs) -> TracedModule:
    """Trace ``func`` (a Module or a function) on ``example_inputs`` (a tensor or a tuple of them)."""
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("dynagrad.jit.trace needs example_inputs")
    return TracedModule(func, example_inputs if example_inputs is not None else (), example_kwarg_inputs)


def script(obj=None, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """Not supported: TorchScript compiles Python source; dynagrad traces the Python that runs."""
    raise RuntimeError("dynagrad.jit.script is not supported; use dynagrad.jit.trace(module, example_inputs) "
                       "or dynagrad.compile(fn) instead")


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    from ..autograd import state
    return state.tracer is not None


def ignore(drop=False, **kwargs):
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    return mod


def save(m, f, _extra_files=None) -> None:
    raise RuntimeError("dynagrad.jit.save is not supported: save the state_dict with dynagrad.save, or export "
                       "the model with dynagrad.onnx.export")


def load(f, map_location=None, _extra_files=None):
    raise RuntimeError("dynagrad.jit.load is not supported: dynagrad has no TorchScript format")
