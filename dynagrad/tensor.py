"""Tensor: a NumPy array plus what autograd needs (requires_grad, grad, grad_fn, a version counter).

The operators and most methods are attached by ``dynagrad._tensor_methods`` from the op modules, so each
op lives in one place (forward and backward side by side) and the class here stays small.
"""
from __future__ import annotations

import sys
import weakref
from typing import Any

from . import _source, dtypes
from ._device import _CPU, _NO_ACCELERATOR, _check_device, _device_error, device
from .autograd import function as _function
from .autograd import state as _state
from .backend import xp

_new = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed as PyTorch prints it.

    >>> import dynagrad
    >>> dynagrad.zeros(2, 3).shape
    torch.Size([2, 3])
    """

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class Tensor:
    """An n-dimensional array that records the operations applied to it for automatic differentiation.

    >>> import dynagrad
    >>> x = dynagrad.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_vc", "_base", "_hooks",
                 "_post_hooks", "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operators

    # -- construction ---------------------------------------------------------------------------------
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # torch.Tensor(data) copies as float32; torch.Tensor(2, 3) is uninitialised
        if len(args) == 1 and not isinstance(args[0], int):
            arr = xp.array(args[0]._data if isinstance(args[0], Tensor) else args[0],
                           dtype=dtypes.get_default_dtype().numpy)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            arr = xp.empty(tuple(shape) if args else (0,), dtype=dtypes.get_default_dtype().numpy)
        _init(self, arr)

    @staticmethod
    def _wrap(arr) -> Tensor:
        """A Tensor around ``arr`` without copying (no graph)."""
        t = _new(Tensor)
        t._data = arr
        t._requires_grad = False
        t._grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._vc = [0, None]
        t._base = None
        t._hooks = None
        t._post_hooks = None
        if _state.tracer is not None:  # dynagrad.compile tells tensors made while tracing from outside ones
            _state.tracer.created(t)
        return t

    @staticmethod
    def _from_node(arr, node, nr: int) -> Tensor:
        """The output ``nr`` of graph node ``node``."""
        t = _new(Tensor)
        t._data = arr
        t._requires_grad = True
        t._grad = None
        t.grad_fn = node
        t._output_nr = nr
        t._vc = [0, None]
        t._base = None
        t._hooks = None
        t._post_hooks = None
        return t

    def __reduce_ex__(self, protocol):
        # for multiprocessing (DataLoader workers) and copy; files use dynagrad.save, never pickle
        # ascontiguousarray makes 0-d arrays 1-d; the reshape keeps the shape
        arr = xp.ascontiguousarray(self._data).reshape(self._data.shape)
        return (_rebuild, (type(self), arr, self._requires_grad,
                           getattr(self, "__dict__", None)))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.  If you were attempting to deepcopy a "
                               "module, this may be because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        new = _rebuild(type(self), self._data.copy(), self._requires_grad, None)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        d = getattr(self, "__dict__", None)
        if d:
            import copy
            for k, v in d.items():
                setattr(new, k, copy.deepcopy(v, memo))
        return new

    # -- basic properties -----------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        try:
            return self._data.shape[dim]
        except IndexError:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-self.ndim}, "
                             f"{self.ndim - 1}], but got {dim})") from None

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy(self._data.dtype)

    @property
    def device(self) -> device:
        return _CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_sparse_csr(self) -> bool:
        return False

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """The sparse COO tensor of the nonzero entries (see ``dynagrad.sparse``)."""
        from .sparse import to_sparse
        return to_sparse(self, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)

    def to_sparse_coo(self):
        return self.to_sparse()

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        return self if dtype is None else self.to(dtype)

    def is_coalesced(self) -> bool:
        raise RuntimeError("is_coalesced expected sparse coordinate tensor layout but got Strided")

    @property
    def is_quantized(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    @property
    def layout(self):
        from ._device import strided
        return strided

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[dim]

    def storage_offset(self) -> int:
        base = self._data
        while base.base is not None and isinstance(base.base, xp.ndarray):
            base = base.base
        off = self._data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return off // self._data.itemsize

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"  # "V": bfloat16, the only void-kind dtype a tensor holds

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def get_device(self) -> int:
        return -1

    # -- autograd ------------------------------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (None until one arrives)."""
        if _state.tracer is not None:  # dynagrad.compile: a read the program repeats when it runs
            return _state.tracer.grad_get(self)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if _state.tracer is not None:
            _state.tracer.grad_set(self, value)
            return
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self.grad = None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this (leaf) tensor; returns self."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want "
                                   "to use a computed variable in a subgraph that doesn't require "
                                   "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in "fcV":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph (shares memory, not the version counter)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        arr = value._data if isinstance(value, Tensor) else xp.asarray(value)
        self._data = arr

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return bool(node is not None and node._retained and self._output_nr in node._retained)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; it may return a replacement.

        >>> import dynagrad
        >>> x = dynagrad.ones(2, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> x.sum().backward(); x.grad
        tensor([10., 10.])
        """
        from .autograd.graph import _Handle

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return _Handle(self._hooks, hook)
        node = self.grad_fn
        if node._tensor_hooks is None:
            node._tensor_hooks = {}
        hooks = node._tensor_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` after a leaf's ``.grad`` has been accumulated."""
        from .autograd.graph import _Handle

        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _Handle(self._post_hooks, hook)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor with respect to graph leaves into their ``.grad``.

        >>> import dynagrad
        >>> w = dynagrad.tensor([1.0, 2.0], requires_grad=True)
        >>> (w ** 2).sum().backward(); w.grad
        tensor([2., 4.])
        """
        from .autograd import backward as _backward

        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory and version counter, outside the graph."""
        t = Tensor._wrap(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    # -- conversion ----------------------------------------------------------------------------------
    # While dynagrad.compile traces, a value read into Python is something the program depends on: the
    # tracer records it (the program checks it when it runs) through ``_state.tracer.read``.
    def numpy(self, *, force: bool = False):
        """The underlying NumPy array (shared memory)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if _state.tracer is not None:
            return _state.tracer.read(self, "numpy", _numpy_array)
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._data if _state.tracer is None else _state.tracer.read(self, "numpy", _numpy_array)
        if dtype is not None:
            arr = arr.astype(dtype)
        return arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        if _state.tracer is not None:
            return _state.tracer.read(self, "item", _item)
        return _item(self)

    def tolist(self):
        if _state.tracer is not None:
            return _state.tracer.read(self, "tolist", _tolist)
        return _tolist(self)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        if _state.tracer is not None:
            return _state.tracer.read(self, "bool", _bool)
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        if _state.tracer is not None:
            return _state.tracer.read(self, "index", _index)
        return int(self._data.reshape(()))

    def __hash__(self) -> int:
        return id(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __repr__(self) -> str:
        from ._printing import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        _check_cuda_arg(device)
        return self

    def pin_memory(self, device=None) -> Tensor:
        raise RuntimeError(_NO_ACCELERATOR + "; pinned memory is for copying to an accelerator")

    def is_pinned(self) -> bool:
        return False

    def share_memory_(self) -> Tensor:
        """Move this tensor's memory into shared memory (no-op if it is there), so that processes it is passed
        to (``dynagrad.multiprocessing``: a queue, a spawned process's arguments, or fork) use the same memory.

        >>> import dynagrad
        >>> t = dynagrad.zeros(2).share_memory_()
        >>> t.is_shared()
        True
        """
        from .multiprocessing import _storage
        _storage.share(self)
        return self

    def is_shared(self) -> bool:
        """Whether this tensor lies in shared memory (``share_memory_``, or received from another process)."""
        storage = sys.modules.get("dynagrad.multiprocessing._storage")
        return storage is not None and storage.is_shared(self._data)

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype (``to(torch.float64)``, ``to(other)``, ``to('cpu', dtype=...)``); copy=True copies."""
        dt = kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        dev = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, dtypes.dtype):
                dt = a
            elif isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            elif isinstance(a, bool):
                pass
            elif isinstance(a, int):
                dev = a
            elif a is not None:
                raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
        if dev is not None:
            _check_device(dev)
        out = self if dt is None else _cast(self, dtypes.as_dtype(dt))
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        """With no argument, the legacy type name ('torch.FloatTensor'); otherwise a cast to the dtype a
        dtype, legacy type or type name gives (``x.type(torch.DoubleTensor)``)."""
        from . import _tensortype
        if dtype is None:
            return _tensortype.type_name(self)
        dt, cuda, sparse = _tensortype.resolve(dtype)
        if cuda:
            raise RuntimeError(f"Cannot initialize CUDA without ATen_cuda library: {dtype} needs a CUDA build "
                               f"(dynagrad computes on the CPU only)")
        out = _cast(self, dt)
        return out.to_sparse() if sparse and not out.is_sparse else out

    def type_as(self, other: Tensor) -> Tensor:
        return _cast(self, other.dtype)

    def float(self) -> Tensor:  # noqa: A003
        return _cast(self, dtypes.float32)

    def double(self) -> Tensor:
        return _cast(self, dtypes.float64)

    def half(self) -> Tensor:
        return _cast(self, dtypes.float16)

    def bfloat16(self) -> Tensor:
        return _cast(self, dtypes.bfloat16)

    def int(self) -> Tensor:  # noqa: A003
        return _cast(self, dtypes.int32)

    def long(self) -> Tensor:
        return _cast(self, dtypes.int64)

    def short(self) -> Tensor:
        return _cast(self, dtypes.int16)

    def char(self) -> Tensor:
        return _cast(self, dtypes.int8)

    def byte(self) -> Tensor:
        return _cast(self, dtypes.uint8)

    def bool(self) -> Tensor:  # noqa: A003
        return _cast(self, dtypes.bool)

    def cfloat(self) -> Tensor:
        return _cast(self, dtypes.complex64)

    def new(self, *args, device=None) -> Tensor:
        """Legacy ``x.new(sizes...)`` / ``x.new(data)``: a tensor of ``x``'s dtype (as ``torch.FloatTensor(...)``)."""
        from ._tensortype import _construct
        _check_device(device, True)
        return _construct(self.dtype, args, "Tensor.new")

    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        _check_device(device, True)
        from .creation import tensor
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def _new_full(self, size, value, dtype, requires_grad):
        if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
            size = size[0]
        t = Tensor._wrap(xp.full(tuple(size), value, dtype=dtypes.to_numpy(dtype or self.dtype)))
        return t.requires_grad_(requires_grad) if requires_grad else t

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        _check_device(device, True)
        return self._new_full(size, 0, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        _check_device(device, True)
        return self._new_full(size, 1, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        _check_device(device, True)
        return self._new_full(size, 0, dtype, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        _check_device(device, True)
        return self._new_full((size,), fill_value, dtype, requires_grad)


def _check_cuda_arg(dev) -> None:
    """``.cuda(device)``: PyTorch checks the argument names a CUDA device, then fails for lack of CUDA."""
    if isinstance(dev, int) and not isinstance(dev, bool):
        raise RuntimeError(_NO_ACCELERATOR)
    if dev is not None:
        d = dev if isinstance(dev, device) else device(dev)
        if d.type != "cuda":
            raise RuntimeError("Invalid device, must be cuda device")
    raise _device_error("cuda")


def _init(t: Tensor, arr) -> None:
    t._data = arr
    t._requires_grad = False
    t._grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0, None]
    t._base = None
    t._hooks = None
    t._post_hooks = None
    if _state.tracer is not None:
        _state.tracer.created(t)


def _numpy_array(t: Tensor):
    return t._data


def _item(t: Tensor):
    d = t._data
    return d.reshape(()).item() if d.dtype.kind != "V" else float(d.reshape(()))


def _tolist(t: Tensor):
    if t._data.dtype.kind == "V":  # bfloat16
        return t._data.astype(xp.float32).tolist()
    return t._data.tolist()


def _bool(t: Tensor) -> bool:
    return bool(t._data.reshape(()))


def _index(t: Tensor) -> int:
    return int(t._data.reshape(()))


def _rebuild(cls, arr, requires_grad, state_dict):
    t = _new(cls)
    _init(t, arr)
    t._requires_grad = requires_grad
    if state_dict:
        t.__dict__.update(state_dict)
    return t


def _cast(t: Tensor, dt: dtypes.dtype) -> Tensor:
    if t._data.dtype == dt.numpy:
        return t
    from .ops.elementwise import ToCopyBackward0
    return ToCopyBackward0.apply(t, dtype=dt.numpy)


def bump_version(t: Tensor) -> None:
    """Mark ``t`` as changed in place, remembering the user's line for the in-place error message."""
    vc = t._vc
    vc[0] += 1
    vc[1] = _source.user_frame(2)
    if _state.tracer is not None:  # dynagrad.compile: the change becomes part of the program, or it refuses
        _state.tracer.bumped(t)


_function._bind_tensor(Tensor)
