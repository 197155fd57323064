"""One switch for grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each is a context manager that is also a decorator, flipping the single flag ``state.grad_enabled`` that
op application reads before recording a graph node.
"""
from __future__ import annotations

import functools
import inspect

from . import state

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


def is_grad_enabled() -> bool:
    """Whether ops record the graph for backward now."""
    return state.grad_enabled


def is_inference_mode_enabled() -> bool:
    return state.inference_mode


class _GradMode:
    """Base: a context manager that sets grad mode to ``self.mode`` and restores it, usable as a decorator."""

    mode = True

    def __enter__(self) -> None:
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __exit__(self, *exc) -> None:
        state.grad_enabled = self._prev

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise TypeError(f"{type(self).__name__} can decorate functions, not classes")
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args, **kwargs):
                gen = fn(*args, **kwargs)
                with self.clone():
                    value = next(gen)
                while True:
                    try:
                        sent = yield value
                    except GeneratorExit:
                        gen.close()
                        raise
                    with self.clone():
                        try:
                            value = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_GradMode):
    """Disable graph recording inside the block or decorated function.

    >>> import dynagrad
    >>> x = dynagrad.ones(2, requires_grad=True)
    >>> with dynagrad.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False

    def __init__(self, orig_func=None) -> None:  # torch allows ``@no_grad`` without parentheses
        self._orig = orig_func

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self


class enable_grad(_GradMode):
    """Enable graph recording inside the block, e.g. inside a ``no_grad`` region."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode on or off; works as a function call, a context manager and a decorator.

    >>> import dynagrad
    >>> _ = dynagrad.set_grad_enabled(False); dynagrad.is_grad_enabled()
    False
    >>> _ = dynagrad.set_grad_enabled(True)
    """

    def __init__(self, mode: bool) -> None:
        self._prev = state.grad_enabled
        self.mode = bool(mode)
        state.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        state.grad_enabled = self._prev

    def __call__(self, fn):
        # as a decorator the constructor must not change the mode for the rest of the program
        state.grad_enabled = self._prev
        return super().__call__(fn)

    def clone(self):
        return set_grad_enabled(self.mode)


class inference_mode(_GradMode):
    """Like ``no_grad`` (tensors made inside never record a graph); ``inference_mode(False)`` is a no-op."""

    def __init__(self, mode: bool = True) -> None:
        self.enabled = mode
        self.mode = not mode if mode else state.grad_enabled

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode) and not isinstance(mode, bool):
            self.__init__()
            return self(mode)
        return self

    def __enter__(self) -> None:
        self._prev_inf = state.inference_mode
        if self.enabled:
            state.inference_mode = True
            super().__enter__()
        else:
            self._prev = state.grad_enabled

    def __exit__(self, *exc) -> None:
        state.inference_mode = self._prev_inf
        state.grad_enabled = self._prev

    def clone(self):
        return inference_mode(self.enabled)
