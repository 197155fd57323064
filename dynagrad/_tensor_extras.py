"""Tensor methods without a torch.* function of their own: conversions, memory introspection, deprecated
resizes, ``fill_diagonal_``, ``map2_``, ``sum_to_size``, ``as_subclass``, ``module_load``.

>>> import dynagrad as torch
>>> torch.ones(2, 3).sum_to_size(1, 3)
tensor([[2., 2., 2.]])
>>> torch.zeros(3, 3).fill_diagonal_(5.0)
tensor([[5., 0., 0.],
        [0., 5., 0.],
        [0., 0., 5.]])
"""
from __future__ import annotations

import warnings

from . import dtypes
from .backend import xp
from .tensor import Tensor


def cdouble(self, memory_format=None):
    """``self.to(torch.complex128)``."""
    return self.to(dtypes.complex128)


def is_nonzero(self) -> bool:
    if self.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if self.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self._data.reshape(-1)[0])


def is_distributed(self) -> bool:
    return False


def is_set_to(self, tensor) -> bool:
    """Whether both tensors view the same memory with the same size and strides."""
    a, b = self._data, tensor._data
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.shape == b.shape and
            a.strides == b.strides and a.dtype == b.dtype)


def dim_order(self, *, ambiguity_check=False):
    """The dims ordered from the outermost in memory to the innermost (by decreasing stride)."""
    strides = self.stride()
    return tuple(sorted(range(len(strides)), key=lambda d: -strides[d]))


def const_data_ptr(self) -> int:
    return self.data_ptr()


def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad: bool = False,
                      layout=None, pin_memory: bool = False):
    from ._toplevel import empty_strided
    return empty_strided(size, stride, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _sizes(sizes):
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)) else tuple(sizes)


def resize(self, *sizes):
    """Deprecated: a reshaped copy of the same number of elements (autograd's Resize)."""
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    return _resize(self, sizes)


def _resize(self, sizes):
    if any(not isinstance(s, int) for s in sizes):  # PyTorch does not unpack a tuple here
        raise RuntimeError(f"requested resize to {'x'.join(map(str, sizes))} ({'x'.join(map(str, sizes))} elements in "
                           f"total), but the given tensor has a size of {'x'.join(map(str, self.shape))} "
                           f"({self.numel()} elements). autograd's resize can only change the shape of a given "
                           f"tensor, while preserving the number of elements. ")
    n = 1
    for s in sizes:
        n *= s
    if n != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in total), but the given "
                           f"tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} elements). "
                           f"autograd's resize can only change the shape of a given tensor, while preserving the "
                           f"number of elements. ")
    return self.contiguous().clone().view(*sizes)


def resize_as(self, tensor):
    warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
    return _resize(self, tuple(tensor.shape))


def sum_to_size(self, *size):
    """Sum over the broadcast dims so the result has ``size`` (which ``self`` must broadcast from)."""
    size = _sizes(size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s not in (1, d) for s, d in zip(size, shape[lead:])):
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, shape))}}}.")
    out = self.sum(tuple(range(lead))) if lead else self
    dims = tuple(i for i, (s, d) in enumerate(zip(size, shape[lead:])) if s == 1 and d != 1)
    return out.sum(dims, keepdim=True) if dims else out


def fill_diagonal_(self, fill_value, wrap: bool = False):
    """Fill the main diagonal in place (every dim must be equal beyond 2-D; ``wrap`` continues a tall matrix's
    diagonal after every n+1 rows, as numpy.fill_diagonal)."""
    a = self._data
    if a.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = xp.zeros(a.shape, bool)
    xp.fill_diagonal(mask, True, wrap=wrap)
    from .ops.index import where
    from .ops.inplace import apply_inplace
    m = Tensor._wrap(mask)
    value = fill_value.to(self.dtype) if isinstance(fill_value, Tensor) else fill_value

    def filled(t):
        return where(m, value, t) if isinstance(value, Tensor) else t.masked_fill(m, value)
    filled.__name__ = "fill_diagonal"
    return apply_inplace(self, filled)


def map2_(self, x, y, callable):  # noqa: A002 - PyTorch's parameter name
    """``self[i] = callable(self[i], x[i], y[i])`` for every element (x and y broadcast to self)."""
    a = self._data
    xb = xp.broadcast_to(x._data, a.shape)
    yb = xp.broadcast_to(y._data, a.shape)
    flat = a.reshape(-1) if a.flags.c_contiguous else None
    vals = [callable(u, v, w) for u, v, w in zip(a.reshape(-1).tolist(), xb.reshape(-1).tolist(),
                                                 yb.reshape(-1).tolist())]
    new = xp.asarray(vals, dtype=a.dtype).reshape(a.shape)
    if flat is not None:
        flat[...] = new.reshape(-1)
    else:
        a[...] = new
    from .tensor import bump_version
    bump_version(self)
    return self


def as_subclass(self, cls):
    """``self`` as an instance of the Tensor subclass ``cls``, sharing its data and autograd history."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): expected a subclass of torch.Tensor, got {cls}")
    out = self.view_as(self)
    out.__class__ = cls
    return out


def untyped_storage(self):
    """The bytes this tensor's memory lives in (``torch.UntypedStorage``; views share their base's)."""
    from .storage import untyped_storage as _untyped
    return _untyped(self)


def storage(self):
    """The deprecated ``torch.TypedStorage`` of this tensor's memory (warns once, as PyTorch does)."""
    from .storage import storage as _typed
    return _typed(self)


def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of this tensor's memory (``np.from_dlpack(tensor)`` and other libraries use it)."""
    from .utils.dlpack import tensor_dlpack
    return tensor_dlpack(self, stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)


def __dlpack_device__(self):
    from .utils.dlpack import tensor_dlpack_device
    return tensor_dlpack_device(self)


def is_inference(self) -> bool:
    """False: dynagrad's ``inference_mode`` works as ``no_grad`` and makes ordinary tensors (with version
    counters, usable by autograd later), never PyTorch's restricted inference tensors."""
    return False


def module_load(self, other, assign: bool = False):
    """How ``load_state_dict`` turns a state-dict value into this parameter's: ``other.detach()`` with
    ``assign``, else ``self.copy_(other).detach()``."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()


METHODS = {"cdouble": cdouble, "is_nonzero": is_nonzero, "is_distributed": is_distributed, "is_set_to": is_set_to,
           "dim_order": dim_order, "const_data_ptr": const_data_ptr, "new_empty_strided": new_empty_strided,
           "resize": resize, "resize_as": resize_as, "sum_to_size": sum_to_size, "fill_diagonal_": fill_diagonal_,
           "map2_": map2_, "as_subclass": as_subclass, "module_load": module_load,
           "untyped_storage": untyped_storage, "storage": storage, "__dlpack__": __dlpack__,
           "__dlpack_device__": __dlpack_device__, "is_inference": is_inference}
# Tensor.is_<device or layout> flags PyTorch has and which no dynagrad tensor is (CPU, strided, not nested)
_NEVER = ("is_mps", "is_xpu", "is_ipu", "is_maia", "is_mtia", "is_xla", "is_vulkan", "is_mkldnn", "is_nested")
METHODS.update({name: property(lambda self: False, doc="False: dynagrad tensors are dense CPU tensors")
                for name in _NEVER})


def _stft_method(self, *args, **kwargs):
    from ._stft import stft
    return stft(self, *args, **kwargs)


def _istft_method(self, *args, **kwargs):
    from ._stft import istft
    return istft(self, *args, **kwargs)


_stft_method.__name__, _istft_method.__name__ = "stft", "istft"
METHODS.update(stft=_stft_method, istft=_istft_method)
