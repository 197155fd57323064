"""``Parameter`` (a tensor a Module registers as learnable) and ``Buffer`` (state it registers but does not
learn), as ``torch.nn.parameter`` has them.

>>> import dynagrad
>>> p = dynagrad.nn.Parameter(dynagrad.ones(2))
>>> p
Parameter containing:
tensor([1., 1.], requires_grad=True)
>>> isinstance(p, dynagrad.Tensor), p.requires_grad
(True, True)
"""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor, _init

_new = object.__new__


def _array_of(data):
    if data is None:
        from .. import dtypes
        return xp.empty((0,), dtype=dtypes.get_default_dtype().numpy)
    if isinstance(data, Tensor):
        return data._data
    from ..creation import as_tensor
    return as_tensor(data)._data


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and that ``Module.__setattr__`` registers as a parameter.

    It shares memory with ``data``; operations on it give plain Tensors.
    """

    def __new__(cls, data=None, requires_grad: bool = True):
        t = _new(cls)
        _init(t, _array_of(data))
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, data=None, requires_grad: bool = True) -> None:  # all done in __new__
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """A tensor that ``Module.__setattr__`` registers as a buffer (``persistent`` decides whether it goes into
    the ``state_dict``), as ``torch.nn.Buffer``."""

    def __new__(cls, data=None, *, persistent: bool = True):
        t = _new(cls)
        _init(t, _array_of(data))
        if isinstance(data, Tensor) and data.requires_grad:
            t._requires_grad = True
        t.persistent = persistent
        return t

    def __init__(self, data=None, *, persistent: bool = True) -> None:
        pass


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (lazy modules); using it before it is materialised raises."""

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        t = super().__new__(cls, None, requires_grad)
        if dtype is not None:  # the dtype it will be materialised with
            from .. import dtypes
            t._data = xp.empty((0,), dtype=dtypes.as_dtype(dtype).numpy)
        return t

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass

    def materialize(self, shape, device=None, dtype=None) -> None:
        from .. import dtypes
        dt = dtypes.as_dtype(dtype).numpy if dtype is not None else self._data.dtype
        self._data = xp.empty(tuple(shape), dtype=dt)
        self.__class__ = Parameter

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


def is_lazy(param) -> bool:
    return isinstance(param, UninitializedParameter)
