"""What a checkpoint's pickle may name and do: the rules behind every ``torch.load``.

Three levels, chosen by ``torch.load``'s ``weights_only``:

``weights_only=True`` (the default, as in PyTorch 2.6+)
    The pickle may name only the globals that tensors, storages, dtypes, ``torch.Size``,
    ``torch.device``, NumPy arrays and the plain containers are rebuilt from (:func:`_fixed_globals`),
    each resolved to a small validating stand-in here -- plus the classes and functions the program
    passed to ``torch.serialization.add_safe_globals`` (or ``safe_globals``).

``weights_only=False``
    Also the classes of a whole model: a name resolves only to a class that is already loaded
    (``sys.modules`` and class ``__dict__`` lookups, so no module is ever imported and no module
    ``__getattr__`` runs) and that is a subclass of ``nn.Module``; PyTorch's names
    (``torch.nn.modules.linear.Linear``) resolve to dynagrad's own classes. Functions may appear as
    values (``TransformerEncoderLayer.activation``) when they are dynagrad's own or defined in
    ``__main__``; they are never called.

In both, an object is created only as ``object.__new__(cls)`` (``tuple.__new__`` for tuple subclasses;
an ``Enum`` member is looked up by value); its state is set once the whole file has been read, by the
class's own ``__setstate__`` (``nn.Module``'s copies the attributes into the instance ``__dict__``) or
by a ``__dict__`` update. No other function or constructor named by the file is ever called: ``REDUCE``
may only call the fixed stand-ins. Everything else -- ``os.system``, ``builtins.eval``, any class that
is not a module, any module not already imported -- is refused by name, with the file's name.

What this cannot prevent: the methods of the allowed classes themselves (your ``nn.Module`` subclass's
``__setstate__``, ``forward``, ``__del__``) run later on values the file chose, as they would on any
object your program builds. Load whole models only from files you would run.
"""
from __future__ import annotations

import enum
import math
import pickle
import sys
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _dtypes
from ._dtypes import DT
from ._errors import UnsafeCheckpointError
from ._tensors import check_view


# ---------------------------------------------------------------------------------------------------
# Stand-ins for the PyTorch objects a checkpoint's pickle refers to.
# ---------------------------------------------------------------------------------------------------
class Marker:
    """A named, inert stand-in (a dtype, a storage class, ``torch.Tensor``): not callable, no state."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any):
        self.kind, self.value = kind, value

    def __repr__(self) -> str:
        return f"<torch {self.kind} {self.value.name if isinstance(self.value, DT) else self.value}>"


class StorageRef:
    """One storage named by a persistent id: its key, dtype, size and location; its array once read."""

    __slots__ = ("key", "dt", "nbytes", "root", "offset", "array", "location")

    def __init__(self, key: str, dt: DT, nbytes: int, root: StorageRef | None = None, offset: int = 0,
                 location: str = "cpu"):
        self.key, self.dt, self.nbytes, self.root, self.offset = key, dt, nbytes, root, offset
        self.array: np.ndarray | None = None
        self.location = location

    def numel(self, dt: DT) -> int:
        return self.nbytes // dt.numpy.itemsize


class TensorStub:
    """What a ``_rebuild_tensor*`` call asked for; becomes a dynagrad tensor once storages are read."""

    __slots__ = ("storage", "dt", "offset", "size", "stride", "requires_grad", "parameter", "conj", "neg")

    def __init__(self, storage, dt, offset, size, stride, requires_grad=False, parameter=False):
        self.storage, self.dt, self.offset, self.size, self.stride = storage, dt, offset, size, stride
        self.requires_grad, self.parameter, self.conj, self.neg = requires_grad, parameter, False, False

    def copy(self) -> TensorStub:
        out = TensorStub(self.storage, self.dt, self.offset, self.size, self.stride, self.requires_grad,
                         self.parameter)
        out.conj, out.neg = self.conj, self.neg
        return out


class NumpyDtype:
    """``numpy.dtype(spec, align, copy)`` followed by BUILD(state): resolved to a real dtype only after
    checking it is a plain numeric one (letting the file call dtype.__setstate__ could corrupt NumPy)."""

    __slots__ = ("spec", "byteorder")

    def __init__(self, spec: Any, align: Any = False, copy: Any = False):
        if isinstance(spec, Marker) and spec.kind == "numpy type":
            spec = spec.value
        try:
            _dtypes.numpy_dtype_from_name(spec if isinstance(spec, str) else "")
        except ValueError as e:
            raise UnsafeCheckpointError(f"numpy.dtype({str(spec)[:40]!r}) is not allowed: {e}") from None
        self.spec, self.byteorder = spec, "="

    def setstate(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) >= 2 and state[1] in ("<", ">", "|", "=")):
            raise pickle.UnpicklingError("unsupported numpy dtype state")
        if len(state) >= 5 and (state[2] is not None or state[3] is not None or state[4] is not None):
            raise pickle.UnpicklingError("structured numpy dtypes are not allowed")
        self.byteorder = state[1]

    def resolve(self, native: bool = False) -> np.dtype:
        dt = _dtypes.numpy_dtype_from_name(self.spec)
        return dt.newbyteorder(self.byteorder) if self.byteorder in "<>" and not native else dt


class NumpyArray:
    """``numpy.core.multiarray._reconstruct(ndarray, ...)`` followed by BUILD(state): a real array from
    raw bytes only (object arrays would need arbitrary unpickling), in native byte order."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def setstate(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("unsupported numpy array state")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, NumpyDtype) or not isinstance(raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("only numeric numpy arrays stored as raw bytes can be loaded")
        if not (isinstance(shape, tuple) and len(shape) <= 64 and all(type(n) is int and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"bad numpy array shape {str(shape)[:80]}")
        dt = dtype.resolve()
        if len(raw) != math.prod(shape) * dt.itemsize:
            raise pickle.UnpicklingError("numpy array data does not match its shape")
        a = np.frombuffer(bytearray(raw), dt).reshape(shape, order="F" if fortran else "C")
        self.array = a if dt.isnative else a.astype(dt.newbyteorder("="))


class Global:
    """An allow-listed function as the pickle sees it: callable, but immune to BUILD. Handing out the
    real function or class would let a pickle set attributes on it for the whole process
    (``Counter.most_common = 5``, a rebuild function's ``__defaults__``)."""

    __slots__ = ("fn", "name")

    def __init__(self, fn: Callable, name: str):
        self.fn, self.name = fn, name

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self) -> str:
        return self.name


class ClassRef:
    """A class the policy allows, as the pickle sees it: NEWOBJ makes an instance, nothing else."""

    __slots__ = ("cls", "name")

    def __init__(self, cls: type, name: str):
        self.cls, self.name = cls, name

    def __repr__(self) -> str:
        return f"<class {self.name}>"


class Opaque:
    """``dynagrad inspect``'s stand-in for any global it is not allowed to resolve: a name, nothing more."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class OpaqueObject:
    """An object ``dynagrad inspect`` read without creating it: its class name, arguments and state."""

    __slots__ = ("cls", "args", "state")

    def __init__(self, cls: str, args: tuple = (), state: Any = None):
        self.cls, self.args, self.state = cls, args, state

    def __repr__(self) -> str:
        return f"<{self.cls} object>"


# ---------------------------------------------------------------------------------------------------
# The fixed globals, each a small validating function.
# ---------------------------------------------------------------------------------------------------
def _dtype_of(storage_type: Any, what: str) -> DT | None:
    if not (isinstance(storage_type, Marker) and storage_type.kind in ("storage", "dtype")):
        raise pickle.UnpicklingError(f"{what}: expected a storage type or dtype, got {storage_type!r}")
    return storage_type.value


def _ints(xs: Any, what: str) -> tuple[int, ...]:
    if not (isinstance(xs, (tuple, list)) and all(type(x) is int for x in xs)):
        raise pickle.UnpicklingError(f"{what} must be a tuple of ints, got {str(xs)[:80]}")
    return tuple(xs)


def _rebuild_tensor(storage, storage_offset, size, stride, *, dtype: DT | None = None):
    if not isinstance(storage, StorageRef):
        raise pickle.UnpicklingError(f"tensor storage must come from the file, got {type(storage).__name__}")
    dt = dtype or storage.dt
    if storage.dt is not dt and storage.dt is not _dtypes.UINT8:  # (an untyped storage holds uint8)
        raise pickle.UnpicklingError(f"storage {storage.key} read as both {storage.dt.name} and {dt.name}")
    if storage.nbytes % dt.numpy.itemsize:
        raise pickle.UnpicklingError(f"storage {storage.key} of {storage.nbytes} bytes holds no whole "
                                     f"{dt.name} elements")
    size, stride = _ints(size, "tensor size"), _ints(stride, "tensor stride")
    try:
        check_view(storage.numel(dt), storage_offset, size, stride)
    except ValueError as e:
        raise pickle.UnpicklingError(f"tensor in storage {storage.key}: {e}") from None
    return TensorStub(storage, dt, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    return _finish(_rebuild_tensor(storage, storage_offset, size, stride), requires_grad, metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    dt = _dtype_of(dtype, "_rebuild_tensor_v3")
    return _finish(_rebuild_tensor(storage, storage_offset, size, stride, dtype=dt), requires_grad, metadata)


def _finish(stub: TensorStub, requires_grad: Any, metadata: Any) -> TensorStub:
    if type(requires_grad) is not bool:
        raise pickle.UnpicklingError(f"requires_grad must be a bool, got {str(requires_grad)[:40]}")
    stub.requires_grad = requires_grad
    if metadata:  # the conj / neg bits of lazily conjugated or negated views
        if not isinstance(metadata, dict) or set(metadata) - {"conj", "neg"}:
            raise pickle.UnpicklingError(f"unsupported tensor metadata {str(metadata)[:80]}")
        stub.conj, stub.neg = bool(metadata.get("conj")), bool(metadata.get("neg"))
    return stub


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, TensorStub):
        raise pickle.UnpicklingError(f"Parameter data must be a tensor, got {type(data).__name__}")
    if type(requires_grad) is not bool:
        raise pickle.UnpicklingError(f"requires_grad must be a bool, got {str(requires_grad)[:40]}")
    out = data.copy()
    out.parameter, out.requires_grad = True, requires_grad
    return out


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad, backward_hooks)


_REBUILDERS = {_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
               _rebuild_parameter_with_state}
TENSOR_TYPE = Marker("class", "torch.Tensor")
PARAMETER_TYPE = Marker("class", "torch.nn.Parameter")
NDARRAY_TYPE = Marker("class", "numpy.ndarray")
FUNCTIONS_CLASS = Marker("class", "torch._C._VariableFunctionsClass")


def _rebuild_from_type_v2(func, new_type, args, state):
    """Tensors carrying Python attributes: rebuilt through one of the functions above, attributes dropped."""
    ok = isinstance(func, Global) and func.fn in _REBUILDERS and isinstance(args, tuple)
    if not ok or new_type not in (TENSOR_TYPE, PARAMETER_TYPE):
        raise UnsafeCheckpointError(f"_rebuild_from_type_v2 of {getattr(func, 'name', func)!r} as "
                                    f"{new_type!r} is not allowed")
    out = func(*args)
    if new_type is PARAMETER_TYPE and not out.parameter:
        out = out.copy()
        out.parameter = True
    return out


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    """How protocol-2 pickles spell ``bytes``: ``_codecs.encode('\\x00\\x01', 'latin1')``."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii") \
            or errors != "strict":
        raise pickle.UnpicklingError("_codecs.encode is only allowed on a str with latin1/utf-8")
    return obj.encode(encoding)


def _builtin(cls: type, allowed: tuple[type, ...]) -> Callable:
    def make(*args):
        if not all(isinstance(a, allowed) for a in args) or len(args) > 2:
            raise pickle.UnpicklingError(f"{cls.__name__}{str(args)[:80]} is not allowed")
        return cls(*args)

    return make


def _torch_size(seq=()):
    from ..tensor import Size

    return Size(_ints(seq, "torch.Size"))


def _torch_device(kind, index=None):
    if not isinstance(kind, str) or len(kind) > 32 or not (index is None or type(index) is int):
        raise pickle.UnpicklingError(f"bad torch.device({str(kind)[:40]!r}, {str(index)[:20]})")
    name = kind if index is None else f"{kind}:{index}"
    from ..tensor import device

    try:
        return device(name)
    except Exception:  # a device dynagrad cannot name: keep the string
        return name


def _np_scalar(dtype, data=None):
    if not isinstance(dtype, NumpyDtype) or not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("only numeric numpy scalars stored as raw bytes can be loaded")
    dt = dtype.resolve()
    if len(data) != dt.itemsize:
        raise pickle.UnpicklingError("numpy scalar data does not match its dtype")
    return np.frombuffer(data, dt).astype(dt.newbyteorder("="))[0]


def _np_reconstruct(cls, shape, typecode):
    if cls is not NDARRAY_TYPE:
        raise pickle.UnpicklingError(f"numpy _reconstruct of {cls!r} is not allowed")
    return NumpyArray()


def _fixed_globals() -> dict[tuple[str, str], Any]:
    g: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("collections", "Counter"): Counter,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch", "Tensor"): TENSOR_TYPE,
        ("torch._tensor", "Tensor"): TENSOR_TYPE,
        ("torch.nn.parameter", "Parameter"): PARAMETER_TYPE,
        ("torch", "Size"): _torch_size,
        ("torch", "device"): _torch_device,
        ("torch.storage", "UntypedStorage"): Marker("storage", None),
        ("torch", "UntypedStorage"): Marker("storage", None),
        ("torch.serialization", "_get_layout"): lambda name: Marker("layout", str(name)[:40]),
        ("_codecs", "encode"): _codecs_encode,
        ("builtins", "set"): _builtin(set, (list, tuple, set, frozenset)),
        ("builtins", "frozenset"): _builtin(frozenset, (list, tuple, set, frozenset)),
        ("builtins", "complex"): _builtin(complex, (int, float)),
        ("builtins", "bytearray"): _builtin(bytearray, (bytes, bytearray, list, str)),
        ("builtins", "bytes"): _builtin(bytes, (bytes, bytearray, list, str)),
        ("numpy", "ndarray"): NDARRAY_TYPE,
        ("numpy", "dtype"): NumpyDtype,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        g[(mod, "scalar")] = _np_scalar
        g[(mod, "_reconstruct")] = _np_reconstruct
    for storage, dt in _dtypes.BY_STORAGE.items():
        g[("torch", storage)] = g[("torch.cuda", storage)] = Marker("storage", dt)
    for name, dt in _dtypes.BY_NAME.items():
        g[("torch", name)] = Marker("dtype", dt)
    for alias, name in (("half", "float16"), ("float", "float32"), ("double", "float64"),
                        ("long", "int64"), ("int", "int32"), ("short", "int16"), ("cfloat", "complex64"),
                        ("cdouble", "complex128")):
        g[("torch", alias)] = g[("torch", name)]
    for ml in _dtypes.ML_NAMES:  # NumPy pickles an ml_dtypes array's dtype by its scalar type
        g[("ml_dtypes", ml)] = Marker("numpy type", ml)
    for layout in ("strided", "sparse_coo", "sparse_csr"):
        g[("torch", layout)] = Marker("layout", layout)
    return {k: v if isinstance(v, Marker) else Global(v, ".".join(k)) for k, v in g.items()}


FIXED = _fixed_globals()
# Known PyTorch globals dynagrad has no equivalent for: refused with a clearer reason than "unsafe".
UNSUPPORTED = {
    "_rebuild_sparse_tensor": "sparse tensors", "_rebuild_qtensor": "quantized tensors",
    "_rebuild_nested_tensor": "nested tensors", "_rebuild_meta_tensor_no_storage": "meta tensors (no data)",
    "_rebuild_wrapper_subclass": "tensor subclasses",
    "_rebuild_device_tensor_from_numpy": "XLA/device tensors",
    "_rebuild_device_tensor_from_cpu_tensor": "device tensors",
}


def fixed_global(module: str, name: str) -> Any:
    got = FIXED.get((module, name))
    if got is None and module in ("torch", "torch.cuda") and name in _dtypes.ML_NAMES + _dtypes.ML_STORAGES:
        _dtypes.add_ml_rows()  # bfloat16 and float8 rows, added on first need (here or by a writer)
        FIXED.update(_fixed_globals())
        got = FIXED.get((module, name))
    return got


# ---------------------------------------------------------------------------------------------------
# torch.serialization's safe globals: what the program vouches for when loading with weights_only=True.
# ---------------------------------------------------------------------------------------------------
_safe_globals: dict[str, Any] = {}  # "module.qualname" -> the object


def _entry(obj: Any) -> tuple[str, Any]:
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], str):
        return obj[1], obj[0]
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise TypeError(f"add_safe_globals expects classes or functions (or (obj, 'module.name') pairs), "
                        f"got {obj!r}")
    return f"{module}.{qualname}", obj


def add_safe_globals(safe_globals: list[Any]) -> None:
    """Allow these classes or functions in ``torch.load(weights_only=True)``, as PyTorch's function does.

    >>> import dynagrad
    >>> class Config: pass
    >>> dynagrad.serialization.add_safe_globals([Config])
    >>> Config in dynagrad.serialization.get_safe_globals()
    True
    >>> dynagrad.serialization.clear_safe_globals()
    """
    for obj in safe_globals:
        name, target = _entry(obj)
        _safe_globals[name] = obj if isinstance(obj, tuple) else target


def get_safe_globals() -> list[Any]:
    """The classes and functions :func:`add_safe_globals` allowed."""
    return list(_safe_globals.values())


def clear_safe_globals() -> None:
    """Forget every global :func:`add_safe_globals` allowed."""
    _safe_globals.clear()


class safe_globals:  # noqa: N801 - PyTorch's name
    """Allow these globals within a ``with`` block only (``torch.serialization.safe_globals``)."""

    def __init__(self, safe_globals: list[Any]):
        self.safe_globals = safe_globals

    def __enter__(self):
        self.saved = dict(_safe_globals)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc) -> None:
        _safe_globals.clear()
        _safe_globals.update(self.saved)


def _is_safe(obj: Any, name: str) -> bool:
    for v in _safe_globals.values():
        target = v[0] if isinstance(v, tuple) else v
        if target is obj:
            return True
    return name in _safe_globals


# ---------------------------------------------------------------------------------------------------
# Names to classes and functions: only ones already loaded, found by dict lookups.
# ---------------------------------------------------------------------------------------------------
_MISSING = object()
# PyTorch modules whose names dynagrad keeps elsewhere (the writer uses the reverse).
_TORCH_HOMES = {"torch._C._nn": ("dynagrad.nn.functional",), "torch._C._VariableFunctions": ("dynagrad",),
                "torch.functional": ("dynagrad",), "torch._C": ("dynagrad",)}


def _lookup(module: str, qualname: str) -> Any:
    mod = sys.modules.get(module)
    if mod is None:
        return _MISSING
    obj: Any = mod
    for part in qualname.split("."):
        d = getattr(obj, "__dict__", None)  # the instance dict of a module or class: no getattr, no code
        if not isinstance(d, (dict, type(type.__dict__))) or part not in d:
            return _MISSING
        obj = d[part]
    return obj


def resolve(module: str, qualname: str) -> Any:
    """The object a pickle's global names, or _MISSING: PyTorch's names map to dynagrad's objects."""
    if module == "torch" or module.startswith("torch."):
        homes = ["dynagrad" + module[len("torch"):]]
        homes += _TORCH_HOMES.get(module, ())
        if module.startswith("torch.nn.modules"):
            homes += ["dynagrad.nn"]  # classes dynagrad keeps in another file (MultiheadAttention)
        for home in homes:
            got = _lookup(home, qualname)
            if got is not _MISSING:
                return got
        return _MISSING
    return _lookup(module, qualname)


def _module_class():
    from ..nn.modules.module import Module

    return Module


def _is_function(obj: Any) -> bool:
    return callable(obj) and not isinstance(obj, type) and hasattr(obj, "__qualname__")


def _own_function(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "dynagrad" or module.startswith("dynagrad.") or module == "__main__"


# ---------------------------------------------------------------------------------------------------
# The policy the unpickler consults.
# ---------------------------------------------------------------------------------------------------
def torch_style_refusal(name: str, file: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f"{file}: Weights only load failed: refusing to load global '{name}', which is not an allowed "
        f"global by default with weights_only=True. This file can still be loaded, if you trust its source: "
        f"(1) re-run torch.load with weights_only=False, which rebuilds nn.Module subclasses your program "
        f"has already imported (dynagrad still runs no code from the file); or (2) allow it with "
        f"torch.serialization.add_safe_globals([{name}]) or the torch.serialization.safe_globals([{name}]) "
        f"context manager.")


class LoadPolicy:
    """Resolves globals and performs REDUCE / NEWOBJ / BUILD under the rules in this module's docstring.

    ``mode``: "weights" (weights_only=True), "full" (weights_only=False) or "inspect" (resolve nothing
    but the fixed globals; every other object becomes an :class:`OpaqueObject`)."""

    def __init__(self, file: str, mode: str, persistent_load: Callable[[Any], Any] | None):
        self.file, self.mode, self._persistent = file, mode, persistent_load
        self.instances: dict[int, Any] = {}  # objects NEWOBJ made: only these take a (deferred) BUILD
        self.builds: list[tuple[Any, Any]] = []
        self.unresolved: list[str] = []  # in "inspect" mode: the globals not in the fixed table
        self._getattr_pending, self._getattr_pending_name = False, ""
        if mode == "full":
            _module_class()  # dynagrad.nn itself (a fixed module, never one the file names)

    # -- names --------------------------------------------------------------------------------------
    def find_class(self, module: str, name: str, shown: str | None = None) -> Any:
        """``shown``: the name as the file spells it (``__builtin__.eval``), for messages."""
        full = f"{module}.{name}"
        shown = shown or full
        if self._getattr_pending:  # getattr is allowed only as getattr(torch._C._VariableFunctionsClass, name)
            self._getattr_pending = False
            if (module, name) != ("torch._C", "_VariableFunctionsClass"):
                raise UnsafeCheckpointError(f"{self.file}: refusing to load global '{self._getattr_pending_name}' "
                                            "(allowed only to name a torch function such as torch.tanh)")
        got = fixed_global(module, name)
        if got is not None:
            return got
        if module == "torch._utils" and name in UNSUPPORTED:
            raise UnsafeCheckpointError(f"{self.file}: holds {UNSUPPORTED[name]} ('{full}'), which dynagrad "
                                        "does not support")
        if (module, name) == ("torch._C", "_VariableFunctionsClass") and self.mode != "weights":
            return FUNCTIONS_CLASS
        if (module, name) == ("builtins", "getattr") and self.mode != "weights":
            self._getattr_pending, self._getattr_pending_name = True, shown
            return Global(self._getattr_function, full)
        if (module, name) == ("builtins", "object") and self.mode == "full":
            return Marker("object", "object")
        if (module, name) == ("copyreg", "_reconstructor") and self.mode == "full":
            return Global(self._reconstructor, full)
        if (module, name) == ("copyreg", "__newobj__") and self.mode == "full":  # protocol 1's NEWOBJ
            return Global(lambda cls, *args: self.newobj(cls, args, None), full)
        obj = resolve(module, name)
        if self.mode == "inspect":
            # shown by name, never created: a class or function loading could allow, or a name this
            # program cannot resolve at all (the class of another program's __main__)
            if obj is _MISSING or _is_safe(obj, full) or isinstance(obj, type) and issubclass(
                    obj, _module_class()) or _is_function(obj) and _own_function(obj):
                self.unresolved.append(full)
                return Opaque(full)
        elif obj is not _MISSING and _is_safe(obj, full) or obj is _MISSING and full in _safe_globals:
            target = _safe_globals.get(full, obj) if obj is _MISSING else obj
            target = target[0] if isinstance(target, tuple) else target
            return ClassRef(target, full) if isinstance(target, type) else target
        if self.mode == "full" and obj is not _MISSING:
            if isinstance(obj, type) and issubclass(obj, _module_class()):
                return ClassRef(obj, full)
            if _is_function(obj) and _own_function(obj):
                return obj
        if self.mode == "weights" and obj is not _MISSING and (
                isinstance(obj, type) and issubclass(obj, _module_class()) or _is_function(obj)
                and _own_function(obj)):
            raise torch_style_refusal(shown, self.file)
        why = "not loaded by this program" if obj is _MISSING else (
            "a class that is not an nn.Module" if isinstance(obj, type) else "not a class dynagrad rebuilds")
        raise UnsafeCheckpointError(
            f"{self.file}: refusing to load global '{shown}' ({why}): dynagrad rebuilds only tensors, storages, "
            "dtypes, NumPy arrays and plain containers from checkpoints, plus, with weights_only=False, "
            "nn.Module subclasses your program has already imported, and never runs code from a file "
            "(torch.serialization.add_safe_globals allows more)")

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise pickle.UnpicklingError("unexpected persistent id")
        return self._persistent(pid)

    # -- calls ----------------------------------------------------------------------------------------
    def reduce(self, func: Any, args: tuple) -> Any:
        if isinstance(func, Global):
            return func(*args)
        if isinstance(func, ClassRef) and issubclass(func.cls, enum.Enum) and len(args) == 1:
            try:
                return func.cls._value2member_map_[args[0]]  # a lookup, not a call
            except (KeyError, TypeError):
                raise pickle.UnpicklingError(f"{args[0]!r} is not a member of {func.name}") from None
        if isinstance(func, Opaque):
            return OpaqueObject(func.name, args)
        what = getattr(func, "name", None) or getattr(func, "__qualname__", type(func).__name__)
        raise UnsafeCheckpointError(f"{self.file}: refusing to call '{what}' (REDUCE): dynagrad calls only the "
                                    "functions tensors and containers are rebuilt with, never one a file names")

    def newobj(self, cls: Any, args: tuple, kwargs: dict | None) -> Any:
        if isinstance(cls, Opaque):
            return OpaqueObject(cls.name, args)
        if not isinstance(cls, ClassRef):
            raise UnsafeCheckpointError(f"{self.file}: refusing to create an instance of {cls!r} (NEWOBJ)")
        if kwargs:
            raise UnsafeCheckpointError(f"{self.file}: refusing to create {cls.name} with keyword arguments")
        c = cls.cls
        if issubclass(c, tuple):
            obj = tuple.__new__(c, args)
        elif args:
            raise UnsafeCheckpointError(f"{self.file}: refusing to create {cls.name} with arguments "
                                        f"(only object.__new__({cls.name}) is allowed)")
        else:
            base = next(b for b in c.__mro__ if b in (object, dict, list, set))
            obj = base.__new__(c)
        self.instances[id(obj)] = obj
        return obj

    def _reconstructor(self, cls: Any, base: Any, state: Any) -> Any:
        """``copyreg._reconstructor(cls, object, None)``: how protocols 0 and 1 spell NEWOBJ."""
        if state is not None or not (isinstance(base, Marker) and base.kind == "object" or base is None):
            raise UnsafeCheckpointError(f"{self.file}: refusing copyreg._reconstructor with a base other than "
                                        "object")
        return self.newobj(cls, (), None)

    def _getattr_function(self, owner: Any, name: Any) -> Any:
        """``getattr(torch._C._VariableFunctionsClass, 'tanh')``: how PyTorch pickles ``torch.tanh``."""
        if owner is not FUNCTIONS_CLASS or not isinstance(name, str):
            raise UnsafeCheckpointError(f"{self.file}: refusing to load global 'builtins.getattr' except for "
                                        "torch functions")
        if self.mode == "inspect":
            return Opaque(f"torch.{name}")
        got = resolve("torch", name)
        if got is _MISSING or not _is_function(got):
            raise UnsafeCheckpointError(f"{self.file}: the file needs torch.{name}, which dynagrad lacks")
        return got

    # -- state ----------------------------------------------------------------------------------------
    def build(self, obj: Any, state: Any) -> None:
        if self.instances.get(id(obj)) is obj:
            self.builds.append((obj, state))  # applied once every tensor exists (see apply_builds)
        elif isinstance(obj, (NumpyDtype, NumpyArray)):
            obj.setstate(state)
        elif isinstance(obj, TensorStub):
            pass  # Python attributes set on a tensor (t.foo = 1): PyTorch restores them, dynagrad drops them
        elif isinstance(obj, OpaqueObject):
            obj.state = state
        elif type(obj) is OrderedDict and type(state) is dict and all(
                isinstance(k, str) and not k.startswith("__") for k in state):
            obj.__dict__.update(state)  # a state_dict's _metadata, as torch.save writes it
        elif isinstance(obj, (Global, ClassRef, Marker)):
            raise UnsafeCheckpointError(f"{self.file}: refusing to modify global '{obj!r}' (BUILD on a class "
                                        "or function)")
        else:
            raise UnsafeCheckpointError(f"{self.file}: refusing BUILD on a {type(obj).__name__}")


def apply_builds(policy: LoadPolicy) -> None:
    """Set each created object's state, in the file's order (children before their parents, as pickled)."""
    for obj, state in policy.builds:
        setstate = getattr(type(obj), "__setstate__", None)
        if setstate is not None and setstate is not getattr(object, "__setstate__", None):
            if isinstance(state, dict) and not all(isinstance(k, str) for k in state):
                raise UnsafeCheckpointError(f"{policy.file}: {type(obj).__name__} state has non-string keys")
            setstate(obj, state)
            continue
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        if state is not None:
            if type(state) is not dict or not all(isinstance(k, str) for k in state):
                raise UnsafeCheckpointError(f"{policy.file}: bad state for a {type(obj).__name__}")
            obj.__dict__.update(state)
        if slots:
            raise UnsafeCheckpointError(f"{policy.file}: refusing slot state for a {type(obj).__name__}")

