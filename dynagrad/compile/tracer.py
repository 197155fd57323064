"""Tracing: run the user's Python once and record every primitive it applies into a ``Graph``.

Three taps see everything a program does to tensor values:

* **Ops.** ``state.transform_hook`` (the hook forward AD and vmap use) sends every ``Op.apply`` here; the
  op runs as usual and is recorded with its static keyword arguments, input and output values.
* **Arrays.** While tracing, a traced tensor's ``_data`` is a ``TArray``: an ndarray subclass whose
  ``__array_ufunc__`` / ``__array_function__`` and array methods record NumPy calls made outside ops
  (comparisons, casts to integers, masks built in a backward formula, ``x._data.max()`` checks), and whose
  ``__bool__`` / ``item`` / ``__index__`` record the Python values the program read: those become guards
  checked when the compiled program runs (the trace is specialised on them, one trace per path).
* **Python-level calls.** ``autograd.run_backward`` (``loss.backward()``, ``autograd.grad``), ``.grad``
  reads and writes, optimizer steps and in-place tensor methods are intercepted for the trace's duration.

What cannot be recorded faithfully raises ``Unsupported``; the caller then runs the function eagerly and
logs the reason. Everything outside dynagrad's reach (Python side effects such as ``print`` or appending to
a list) happens while tracing only, as with ``jax.jit``.
"""
from __future__ import annotations

import os
import sys
import weakref

import numpy as np

from ..autograd import _dispatch, state
from ..autograd.function import Op
from ..tensor import Tensor
from .ir import Graph, Value, map_values

_active = None  # the Tracer recording now


class Unsupported(Exception):
    """The program did something the compiler cannot capture; it runs eagerly instead."""


def _plain(x):
    return np.ndarray.view(x, np.ndarray) if isinstance(x, TArray) else x


def _plain_tree(x):
    if isinstance(x, TArray):
        return np.ndarray.view(x, np.ndarray)
    if type(x) is tuple:
        return tuple(_plain_tree(y) for y in x)
    if type(x) is list:
        return [_plain_tree(y) for y in x]
    return x


# -------------------------------------------------------------------------------------------------------------
# TArray: the ndarray that carries a traced value
# -------------------------------------------------------------------------------------------------------------

class TArray(np.ndarray):
    """An ndarray tagged with the traced ``Value`` it holds (``_v``) and its tracer (``_tr``)."""

    def __array_finalize__(self, obj):
        self._v = None  # made by NumPy from a traced array along a path the tracer did not see
        self._tr = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        tr = _active
        pre = _pre(tr, inputs, kw)
        out = kw.get("out")
        pin = tuple(_plain(x) for x in inputs)
        pkw = kw
        if out is not None or "where" in kw:
            pkw = dict(kw)
            if out is not None:
                pkw["out"] = tuple(_plain(o) for o in out)
            if "where" in kw:
                pkw["where"] = _plain(kw["where"])
        res = getattr(ufunc, method)(*pin, **pkw)
        if pre is not None:
            r = _post(tr, ("ufunc", ufunc, method), f"{ufunc.__name__}.{method}"
                      if method != "__call__" else ufunc.__name__, pre, res)
            if r is not _FAILED:
                return r
        if out is not None:
            return out[0] if len(out) == 1 else out
        return res

    def __array_function__(self, func, types, args, kwargs):
        tr = _active
        pre = _pre(tr, args, kwargs)
        res = func(*_plain_tree(args), **{k: _plain_tree(v) for k, v in kwargs.items()})
        if pre is not None:
            r = _post(tr, ("func", func, None), func.__name__, pre, res)
            if r is not _FAILED:
                return r
        out = kwargs.get("out")
        return out if out is not None else res

    # values read into Python: the trace depends on them
    def __bool__(self):
        return _read(self, "bool", bool)

    def __int__(self):
        return _read(self, "int", int)

    def __float__(self):
        return _read(self, "float", float)

    def __index__(self):
        return _read(self, "index", lambda a: a.__index__())

    def __complex__(self):
        return _read(self, "complex", complex)

    def item(self, *args):
        return _read(self, "item", lambda a: a.item(*args))

    def tolist(self):
        return _read(self, "tolist", lambda a: a.tolist())

    def tobytes(self, order="C"):
        return _read(self, "tobytes", lambda a: a.tobytes(order))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __setitem__(self, idx, value):
        tr = _active
        if tr is not None and not tr.depth:
            try:
                tr.record_setitem(self, idx, value)
                return
            except Unsupported as e:
                tr.fail(e)
        np.ndarray.__setitem__(_plain(self), _plain_tree(idx), _plain(value))

    def fill(self, value):
        self.__setitem__(Ellipsis, value)

    def sort(self, *args, **kw):
        tr = _active
        if tr is not None and not tr.depth:
            raise Unsupported("ndarray.sort (in place) on a traced array")
        np.ndarray.sort(_plain(self), *args, **kw)

    def __reduce_ex__(self, protocol):
        return np.ndarray.view(self, np.ndarray).__reduce_ex__(protocol)

    @property
    def T(self):  # noqa: N802
        return self.transpose()

    @property
    def mT(self):  # noqa: N802
        return self.swapaxes(-1, -2)


def _method(name):
    base = getattr(np.ndarray, name)

    def m(self, *args, **kw):
        tr = _active
        pre = _pre(tr, (self,) + args, kw)
        res = base(np.ndarray.view(self, np.ndarray), *_plain_tree(args), **kw)
        if pre is not None:
            r = _post(tr, ("method", base, name), name, pre, res)
            if r is not _FAILED:
                return r
        return res
    m.__name__ = name
    return m


for _name in ("astype", "reshape", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "copy", "__copy__",
              "__getitem__", "argmax", "argmin", "argsort", "nonzero", "take", "repeat", "diagonal", "dot",
              "round", "searchsorted", "cumsum", "cumprod", "compress", "trace", "conj", "conjugate", "view",
              "sum", "mean", "max", "min", "prod", "any", "all", "std", "var", "clip", "ptp", "byteswap"):
    if hasattr(np.ndarray, _name):
        setattr(TArray, _name, _method(_name))


def _deepcopy(self, memo):
    return self.copy()


TArray.__deepcopy__ = _deepcopy


def _read(arr, kind, conv):
    value = conv(np.ndarray.view(arr, np.ndarray))
    tr = _active
    if tr is not None and not tr.depth:
        try:
            tr.record_read(arr, kind, value)
        except Unsupported as e:
            tr.fail(e)
    return value


_FAILED = object()


def _pre(tr, args, kw):
    if tr is None or tr.depth:
        return None
    try:
        return tr.pre_np(args, kw)
    except Unsupported as e:
        tr.fail(e)
        return None


def _post(tr, target, name, pre, res):
    try:
        return tr.record_np(target, name, pre, res)
    except Unsupported as e:
        tr.fail(e)
        return _FAILED


# where a value was read: the first frame outside dynagrad and NumPy
_SKIP = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
         os.path.dirname(np.__file__) + os.sep)


def user_site():
    f = sys._getframe(2)
    while f is not None:
        fn = f.f_code.co_filename
        if not fn.startswith(_SKIP) and not fn.startswith("<frozen"):
            return (fn, f.f_lineno)
        f = f.f_back
    return None


def format_site(site) -> str:
    from .._source import format_where
    return format_where(site)


# -------------------------------------------------------------------------------------------------------------
# The tracer
# -------------------------------------------------------------------------------------------------------------

class TensorArg:
    """A Tensor passed inside an op's keyword arguments (rebuilt around the array when the program runs)."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Tensor({self.value!r})"


class OutList:
    """An empty list passed to an op that fills it (``stats_out``): the items become extra outputs."""

    __slots__ = ("key",)

    def __init__(self, key) -> None:
        self.key = key

    def __repr__(self) -> str:
        return "[]"


_GRAD_SLOT = Tensor.__dict__["grad"]


class Tracer:
    """Records one run of a program. ``trace(fn, args)`` below drives it."""

    def __init__(self) -> None:
        self.g = Graph()
        self.depth = 0  # > 0 while an op's own code (or an opaque call) runs: nothing is recorded
        self.keep: list = []  # objects whose ids are keys below, kept alive for the trace
        self.plain_vals: dict = {}  # id(plain array) -> (array, Value) for known values held in plain arrays
        self.tensors: dict = {}  # id(Tensor) -> (tensor, original _data, kind) for ext/temp tensors we swapped
        self.created: set = set()  # ids of tensors created while tracing (temporaries)
        self.ctx_nodes: dict = {}  # id(graph Node) -> (node, IR node) for autograd nodes created by the trace
        self.ext_meta: dict = {}  # Value id -> {"tensor", "path", "label"} for values in outside memory
        self.labels: dict = {}  # id(Tensor) -> "fc1.weight"
        self.roots: dict = {}  # Value id -> id of the memory-owning array
        self.root_count: dict = {}
        self.grad_state: dict = {}  # id(leaf) -> (leaf, was None at entry) for .grad first read before written
        self.grad_written: set = set()
        self.reads: list = []  # guard nodes
        self.opt_steps: list = []
        self.inputs: list = []  # (flat index, Tensor)
        self.input_ids: dict = {}
        self.released: set = set()  # ids of autograd nodes whose backward ran in the trace
        self.given: set = set()  # gradients handed to a .grad without a copy
        self.phase = "fwd"
        self.failed = None
        self.views: dict = {}  # Value id of base[idx] -> (base TArray, base Value, idx)
        self.by_root: dict = {}  # id of a memory-owning array -> the TArrays viewing it
        self.tagged: list = []  # tensors whose _data we made a TArray (restored to plain after the trace)

    def release(self) -> None:
        """Drop what only the trace needed (arrays, autograd nodes): breaks the tracer <-> TArray cycles so
        the memory goes at once, not at the next garbage collection."""
        for lst in self.by_root.values():
            for t in lst:
                t._tr = None
        for name in ("keep", "plain_vals", "tensors", "ctx_nodes", "by_root", "views", "roots", "root_count"):
            getattr(self, name).clear()

    # -- values ---------------------------------------------------------------------------------------------
    def _tag(self, arr, v: Value) -> TArray:
        """A fresh TArray view of ``arr`` carrying ``v``."""
        p = _plain(arr)
        t = np.ndarray.view(p, TArray)
        t._v = v
        t._tr = self
        root = p
        while isinstance(root.base, np.ndarray):
            root = root.base
        rid = id(root)
        self.keep.append(root)
        self.by_root.setdefault(rid, []).append(t)
        self.roots[v.id] = rid
        self.root_count[rid] = self.root_count.get(rid, 0) + 1
        return t

    def new_value_node(self, op, target, args=(), kwargs=None, arrays=(), meta=None):
        node = self.g.new(op, target, args, kwargs, [(a.shape, a.dtype) for a in arrays], meta)
        return node

    def array_value(self, a, what: str = "array"):
        """The Value an array holds (registering unknown plain arrays as constants)."""
        if isinstance(a, TArray):
            v = a.__dict__.get("_v")
            if v is not None and a._tr is self:
                return v
            if a._tr is None and v is None:
                raise Unsupported(f"an {what} was computed from a traced tensor along a path the compiler "
                                  f"cannot see (at {format_site(user_site())})")
            a = _plain(a)  # a stale TArray from an earlier trace: an ordinary array now
        e = self.plain_vals.get(id(a))
        if e is not None and e[0] is a:
            return e[1]
        v = self._via_base(a)
        if v is not None:
            return v
        return self.const(a)

    def _via_base(self, a):
        """A plain view of a traced array (``np.asarray`` drops the subclass): the same value when it shows
        the same elements; Unsupported when it is a different view of traced memory."""
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root is a:
            return None
        cands = self.by_root.get(id(root))
        if not cands:
            return None
        ptr = a.__array_interface__["data"][0]
        for t in reversed(cands):
            if t.shape == a.shape and t.dtype == a.dtype and t.strides == a.strides and \
                    t.__array_interface__["data"][0] == ptr and t._v is not None:
                return t._v
        raise Unsupported(f"a view of a traced array was taken outside the recorded ops (at "
                          f"{format_site(user_site())})")

    def const(self, a) -> Value:
        if isinstance(a, np.ndarray):
            a = a.copy()
        node = self.g.new("const", a, outs=[(np.shape(a), np.asarray(a).dtype)])
        v = node.out
        self.keep.append(a)
        return v

    def tensor_value(self, t: Tensor) -> Value:
        d = t._data
        if type(d) is TArray:
            v = d.__dict__.get("_v")
            if v is not None and d._tr is self:
                return v
            if v is None and d._tr is None:
                raise Unsupported(f"a tensor was computed from traced values outside the recorded ops (at "
                                  f"{format_site(user_site())})")
        e = self.plain_vals.get(id(d))
        if e is not None and e[0] is d:
            return e[1]
        if type(d) is not TArray:
            v = self._via_base(d)
            if v is not None:
                return v
        return self.register(t)

    def register(self, t: Tensor, label: str | None = None) -> Value:
        """First sight of a tensor the trace did not make: an outside tensor (read when the program runs) or
        a temporary made while tracing (a constant). Its ``_data`` becomes a TArray until the trace ends."""
        d = _plain(t._data)
        if id(t) in self.created:
            v = self.const(d)
            kind = "temp"
        else:
            node = self.g.new("ext", t, outs=[(d.shape, d.dtype)],
                              meta={"path": ("data",), "label": label or self.labels.get(id(t), "tensor")})
            v = node.out
            self.ext_meta[v.id] = {"tensor": t, "path": ("data",)}
            kind = "ext"
        tv = self._tag(d, v)
        self.tensors[id(t)] = (t, d, tv, kind)
        self.keep.append(t)
        t._data = tv
        return v

    def arg(self, x):
        """An op's positional input: a Value, or a Python literal."""
        if isinstance(x, Tensor):
            return self.tensor_value(x)
        if isinstance(x, np.ndarray):
            return self.array_value(x)
        if isinstance(x, (list, tuple)):
            return type(x)(self.arg(y) for y in x)
        return x

    def kwarg(self, x, key):
        if isinstance(x, Tensor):
            return TensorArg(self.tensor_value(x))
        if isinstance(x, np.ndarray):
            return self.array_value(x, "array argument")
        if type(x) is list:
            if not x:
                return OutList(key)
            return [self.kwarg(y, key) for y in x]
        if type(x) is tuple:
            return tuple(self.kwarg(y, key) for y in x)
        if isinstance(x, dict):
            return {k: self.kwarg(v, key) for k, v in x.items()}
        if callable(x) and not isinstance(x, (type, np.dtype, np.ufunc)):
            raise Unsupported(f"an op received a Python callable ({getattr(x, '__name__', x)!r}), e.g. from a "
                              f"hook")
        return x

    def tag_tensor(self, t: Tensor, v: Value) -> None:
        t._data = self._tag(t._data, v)
        self.tagged.append(t)

    # -- ops -------------------------------------------------------------------------------------------------
    def fail(self, e) -> None:
        """Stop recording: the rest of this call runs eagerly and the program is not compiled."""
        if self.failed is None:
            self.failed = str(e)
            self.depth += 1 << 20

    def hook(self, cls, inputs, kw):
        if self.depth:
            return _dispatch.plain(cls, inputs, kw)
        try:
            if cls.__name__ in _OPAQUE_OPS:
                raise Unsupported(f"{cls.__name__} (module backward hooks) cannot be compiled")
            args = tuple(self.arg(x) for x in inputs)
            kwargs = {k: self.kwarg(v, k) for k, v in kw.items()}
        except Unsupported as e:
            self.fail(e)
            return _dispatch.plain(cls, inputs, kw)
        outlists = {k: v for k, v in kw.items() if type(v) is list and not v}
        self.depth += 1
        try:
            out = _dispatch.plain(cls, inputs, kw)
        finally:
            self.depth -= 1
        outs = out if type(out) is tuple else (out,)
        node = self.g.new("op", cls, args, kwargs, [(o._data.shape, o._data.dtype) for o in outs])
        node.meta["where"] = user_site()
        for o, v in zip(outs, node.outputs):
            self.tag_tensor(o, v)
        fn = outs[0].grad_fn if outs else None
        if isinstance(fn, Op) and type(fn) is cls and id(fn) not in self.ctx_nodes and \
                all(o.grad_fn is fn or o.grad_fn is None for o in outs):
            self.ctx_nodes[id(fn)] = (fn, node)
            self.keep.append(fn)
            node.meta["ctx"] = True
            node.meta["edges"] = tuple((None if t is None else True, nr) for t, nr in fn.edges)
            node.meta["nd"] = [(o._data.shape, o._data.dtype) for o in outs]
        if outlists:
            lists = {}
            for k, lst in outlists.items():
                vals = []
                for i, a in enumerate(lst):
                    a = np.asarray(a)
                    v = self.g.add_output(node, a.shape, a.dtype)
                    lst[i] = self._tag(a, v)
                    vals.append(v)
                lists[k] = vals
            node.meta["outlists"] = lists
        return out

    # -- NumPy calls on traced arrays -----------------------------------------------------------------------
    def _np_leaf(self, x):
        if isinstance(x, np.ndarray):
            return self.array_value(x)
        if isinstance(x, np.generic):
            return x
        if isinstance(x, Tensor):
            return TensorArg(self.tensor_value(x))
        return x

    def _np_tree(self, x):
        if isinstance(x, (np.ndarray, np.generic, Tensor)):
            return self._np_leaf(x)
        if type(x) in (tuple, list):
            return type(x)(self._np_tree(y) for y in x)
        if isinstance(x, dict):
            return {k: self._np_tree(v) for k, v in x.items()}
        if isinstance(x, slice):
            return slice(self._np_tree(x.start), self._np_tree(x.stop), self._np_tree(x.step))
        return x

    def pre_np(self, args, kwargs):
        """Resolve a NumPy call's operands (before it runs: an in-place call may overwrite one)."""
        kwargs = dict(kwargs)
        out = kwargs.pop("out", None)
        olds = []
        if out is not None:
            out = out if isinstance(out, tuple) else (out,)
            olds = [self._write_target(o) for o in out]
        return self._np_tree(tuple(args)), self._np_tree(kwargs), out, olds, args

    def record_np(self, target, name, pre, res):
        a, k, out, olds, raw = pre
        results = res if (out is None and isinstance(res, tuple)) else (res,)
        if out is not None:
            results = out
        arrays = [np.asarray(_plain(r)) if isinstance(r, (np.ndarray, np.generic)) else None for r in results]
        if any(r is None for r in arrays):
            raise Unsupported(f"NumPy's {name} on a traced array returned a Python object (at "
                              f"{format_site(user_site())})")
        node = self.g.new("np", (target[0], target[1], name), a, k, [(r.shape, r.dtype) for r in arrays])
        node.meta["where"] = user_site()
        node.meta["method"] = target[2]
        if isinstance(res, np.generic) or (not isinstance(res, tuple) and not isinstance(res, np.ndarray)):
            node.meta["asarray"] = True
        if out is not None and olds and olds[0][1] is None and olds[0][0] is not None:
            node.meta["inplace"] = olds[0][0]
        tagged = []
        for i, (r, v) in enumerate(zip(arrays, node.outputs)):
            if out is not None:
                self._retarget(out[i], olds[i], v, node)
                tagged.append(out[i])
            else:
                tagged.append(self._tag(r, v))
        if name == "__getitem__" and isinstance(raw[0], TArray) and out is None:
            self.views[node.out.id] = (raw[0], a[0], a[1])
        if out is not None:
            for o, old in zip(out, olds):
                if old[2] is not None:  # written through a view: the base changes too
                    base, idx = old[2]
                    self.record_setitem(base, idx, o, view_ok=True)
            return out[0] if len(out) == 1 else out
        return tagged[0] if not isinstance(res, tuple) else tuple(tagged)

    def _write_target(self, o, view_ok=False):
        """Before an in-place write into ``o``: the value it held, whether it is outside memory, and (for a
        write through ``base[idx]``) the base to update as well."""
        if isinstance(o, TArray) and o._tr is self and o._v is not None:
            v = o._v
            ext = self.ext_meta.get(v.id)
            prop = None
            if ext is None and not view_ok and self.root_count.get(self.roots.get(v.id), 0) > 1:
                view = self.views.get(v.id)
                if view is not None and self.root_count.get(self.roots.get(v.id)) == 2 and \
                        view[0]._v is view[1]:
                    prop = (view[0], view[2])
                else:
                    raise Unsupported(f"an in-place change of a tensor that shares memory with another (a view) "
                                      f"cannot be compiled (at {format_site(user_site())})")
            return (v, ext, prop)
        if isinstance(o, TArray):
            raise Unsupported(f"an in-place write into an array the compiler cannot identify (at "
                              f"{format_site(user_site())})")
        e = self.plain_vals.get(id(o))
        if e is not None and e[0] is o:
            return (e[1], None, None)
        # an array nobody traced (a NumPy temporary of the program): its old value is a constant
        return (self.const(o), None, None)

    def _retarget(self, o, old, v: Value, node) -> None:
        oldv, ext, _ = old
        if ext is not None:
            node.meta["write"] = oldv
            self.ext_meta[v.id] = ext
            node.meta["effect"] = True
        if isinstance(o, TArray):
            o._v = v
            self.roots[v.id] = self.roots.get(oldv.id) if oldv is not None else id(o)
        else:
            self.plain_vals[id(o)] = (o, v)
            self.keep.append(o)

    def record_setitem(self, arr: TArray, idx, value, view_ok=False) -> None:
        oldv, ext, prop = self._write_target(arr, view_ok)
        if oldv is None:
            raise Unsupported("an in-place write into an unknown array")
        np.ndarray.__setitem__(_plain(arr), _plain_tree(idx), _plain(value))
        node = self.g.new("np", ("setitem", None, "setitem"), (oldv, self._np_tree(idx), self._np_leaf(value)), {},
                          [(arr.shape, arr.dtype)])
        node.meta["where"] = user_site()
        if ext is not None:
            node.meta["write"] = oldv
            node.meta["effect"] = True
            self.ext_meta[node.out.id] = ext
        arr._v = node.out
        self.roots[node.out.id] = self.roots.get(oldv.id)
        if prop is not None:
            self.record_setitem(prop[0], prop[1], arr, view_ok=True)

    def record_read(self, arr, kind, value) -> None:
        self.record_read_value(self.array_value(arr), kind, value)

    def record_read_value(self, v, kind, value, obj=None) -> None:
        node = self.g.new("guard", kind, (v,), {}, (), {"kind": kind, "expected": value, "where": user_site(),
                                                        "obj": value if obj is None else obj})
        self.reads.append(node)

    # -- .grad -----------------------------------------------------------------------------------------------
    def grad_get(self, leaf):
        g = _GRAD_SLOT.__get__(leaf, Tensor)
        if self.depth:
            return g
        key = id(leaf)
        if key not in self.grad_written and key not in self.grad_state:
            self.grad_state[key] = (leaf, g is None)
            self.keep.append(leaf)
        if g is not None and id(g) not in self.tensors and not (type(g._data) is TArray and g._data._tr is self):
            # the gradient tensor as it was when the program started: outside memory, read through leaf.grad
            d = _plain(g._data)
            node = self.g.new("ext", leaf, outs=[(d.shape, d.dtype)],
                              meta={"path": ("grad",), "label": self.labels.get(id(leaf), "tensor") + ".grad"})
            v = node.out
            self.ext_meta[v.id] = {"tensor": leaf, "path": ("grad",)}
            tv = self._tag(d, v)
            self.tensors[id(g)] = (g, d, tv, "grad")
            self.keep.append(g)
            g._data = tv
        return g

    def grad_set(self, leaf, value) -> None:
        try:
            _GRAD_SLOT.__get__(leaf, Tensor)
        except AttributeError:  # a tensor being made (its .grad initialised)
            _GRAD_SLOT.__set__(leaf, value)
            return
        if not self.depth and id(leaf) not in self.created:
            key = id(leaf)
            self.grad_written.add(key)
            self.keep.append(leaf)
            if value is None:
                self.g.new("effect", "set_grad_none", (), {}, (), {"leaf": leaf, "effect": True})
            else:
                v = self.tensor_value(value)
                self.g.new("effect", "set_grad", (v,), {}, (), {"leaf": leaf, "effect": True})
                self.ext_meta.setdefault(v.id, {"tensor": leaf, "path": ("grad",)})
        _GRAD_SLOT.__set__(leaf, value)


_OPAQUE_OPS = {"BackwardHookFunctionBackward"}


def _grad_property():
    def fget(self):
        tr = _active
        if tr is not None and not tr.depth:
            try:
                return tr.grad_get(self)
            except Unsupported as e:
                tr.fail(e)
        return _GRAD_SLOT.__get__(self, Tensor)

    def fset(self, value):
        tr = _active
        if tr is not None and not tr.depth:
            try:
                tr.grad_set(self, value)
                return
            except Unsupported as e:
                tr.fail(e)
        _GRAD_SLOT.__set__(self, value)

    def fdel(self):
        fset(self, None)
    return property(fget, fset, fdel)


# -------------------------------------------------------------------------------------------------------------
# Patches installed for a trace's duration
# -------------------------------------------------------------------------------------------------------------

def _inplace_names():
    names = []
    for n in dir(Tensor):
        if (n.endswith("_") and not n.startswith("_")) or n in ("__setitem__", "__iadd__", "__isub__", "__imul__",
                                                               "__itruediv__", "__ipow__", "__ifloordiv__",
                                                               "__imod__", "__iand__", "__ior__", "__ixor__"):
            if n not in ("requires_grad_", "share_memory_", "detach_"):
                names.append(n)
    return names


_INPLACE = None


def _touching(orig):
    def method(self, *args, **kw):
        tr = _active
        if tr is not None and not tr.depth and isinstance(self, Tensor):
            try:
                tr.tensor_value(self)
            except Unsupported as e:
                tr.fail(e)
        return orig(self, *args, **kw)
    method.__name__ = getattr(orig, "__name__", "method")
    method._dg_orig = orig
    return method


class _Patches:
    """Install the trace's hooks; undo them on exit."""

    def __init__(self, tr: Tracer) -> None:
        self.tr = tr

    def __enter__(self):
        global _active, _INPLACE
        from .. import autograd as ag
        from ..optim import optimizer as optmod
        from . import autodiff

        tr = self.tr
        if state.transform_hook is not None:
            raise Unsupported("forward-mode AD or vmap is active")
        self.saved = []

        def patch(obj, name, value):
            self.saved.append((obj, name, obj.__dict__.get(name, _MISSING) if isinstance(obj, type)
                               else getattr(obj, name)))
            setattr(obj, name, value)

        patch(ag, "run_backward", lambda *a, **k: autodiff.traced_backward(tr, *a, **k))
        patch(Tensor, "grad", _grad_property())
        wrap_orig = Tensor.__dict__["_wrap"]

        def _wrap(arr):
            t = wrap_orig.__func__(arr)
            if not tr.depth:
                tr.created.add(id(t))
                tr.keep.append(t)
            return t
        patch(Tensor, "_wrap", staticmethod(_wrap))
        if _INPLACE is None:
            _INPLACE = _inplace_names()
        for n in _INPLACE:
            orig = Tensor.__dict__.get(n)
            if orig is not None:
                patch(Tensor, n, _touching(orig))
        for cls in [optmod.Optimizer] + _subclasses(optmod.Optimizer):
            step = cls.__dict__.get("step")
            if step is not None:
                patch(cls, "step", _opt_step(step, tr))
        from ..nn.modules.module import Module
        for cls in (optmod.Optimizer, Module):
            patch(cls, "zero_grad", _zero_grad(cls.__dict__["zero_grad"], tr))
        for name, kind in (("__bool__", "bool"), ("item", "item"), ("__float__", "float"), ("__int__", "int"),
                           ("__index__", "index"), ("tolist", "tolist"), ("__complex__", "complex"),
                           ("numpy", "numpy"), ("__array__", "numpy")):
            orig = Tensor.__dict__.get(name)
            if orig is not None:
                patch(Tensor, name, _tensor_read(orig, kind, tr))
        state.transform_hook = tr.hook
        _active = tr
        return self

    def __exit__(self, *exc):
        global _active
        _active = None
        state.transform_hook = None
        for obj, name, old in reversed(self.saved):
            if old is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
        return False


_MISSING = object()


def _subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out.append(c)
        out.extend(_subclasses(c))
    return out


def _opt_step(step, tr):
    def wrapper(self, *args, **kwargs):
        if tr.depth:
            return step(self, *args, **kwargs)
        return tr_opt_step(tr, step, self, args, kwargs)
    wrapper.__name__ = "step"
    wrapper._hooked = True
    return wrapper


def _tensor_read(orig, kind, tr):
    """``bool(t)``, ``t.item()``...: the program depends on the value (recorded once, whatever ``t._data``
    is: a traced array or a plain view of one)."""
    def method(self, *args, **kw):
        if tr.depth:
            return orig(self, *args, **kw)
        try:
            v = tr.tensor_value(self)
        except Unsupported as e:
            tr.fail(e)
            return orig(self, *args, **kw)
        tr.depth += 1
        try:
            value = orig(self, *args, **kw)
        finally:
            tr.depth -= 1
        if kind == "numpy":  # NumPy code outside dynagrad (scipy, np.asarray) may lose track of it: a guard
            tr.record_read_value(v, kind, np.array(_plain(value), copy=True), obj=value)
        else:
            tr.record_read_value(v, kind, value)
        return value
    method.__name__ = getattr(orig, "__name__", kind)
    return method


def _zero_grad(orig, tr):
    """``zero_grad(set_to_none=True)`` sets every .grad to None whatever it was: recorded without reading
    them (so whether they were None is not something the program depends on)."""
    def zero_grad(self, set_to_none: bool = True):
        if tr.depth or not set_to_none:
            return orig(self, set_to_none)
        if hasattr(self, "param_groups"):
            params = [p for group in self.param_groups for p in group["params"]]
        else:
            params = list(self.parameters())
        for p in params:
            tr.grad_set(p, None)
    zero_grad.__name__ = "zero_grad"
    return zero_grad


def tr_opt_step(tr: Tracer, step, opt, args, kwargs):
    """An optimizer step in the trace: run it (opaquely) and record it as one effect. Afterwards every
    parameter it updated holds a new value."""
    if args or kwargs.get("closure") is not None:
        tr.fail("optimizer.step(closure) cannot be compiled")
        return step(opt, *args, **kwargs)
    params = [p for group in opt.param_groups for p in group["params"]]
    reads = []
    try:
        for p in params:
            reads.append(tr.tensor_value(p))
            g = tr.grad_get(p)
            if g is not None:
                reads.append(tr.tensor_value(g))
    except Unsupported as e:
        tr.fail(e)
        return step(opt, *args, **kwargs)
    tr.depth += 1
    try:
        out = step(opt, *args, **kwargs)
    finally:
        tr.depth -= 1
    node = tr.g.new("effect", "optimizer_step", (), {}, (), {"opt": opt, "effect": True, "reads": reads,
                                                            "step": step, "params_out": []})
    for p in params:
        d = p._data
        if type(d) is TArray and d._tr is tr:
            ext = tr.ext_meta.get(d._v.id)
            v = tr.g.add_output(node, d.shape, d.dtype)
            if ext is not None:
                tr.ext_meta[v.id] = ext
            d._v = v
            node.meta["params_out"].append(p)
    tr.opt_steps.append(node)
    return out


# -------------------------------------------------------------------------------------------------------------
# Driving a trace
# -------------------------------------------------------------------------------------------------------------

def scan(fn, args) -> tuple[list, list]:
    """Modules (with their dotted names) and optimizers reachable from ``fn``: itself, a bound method's
    object, closure cells, globals its code names, and the arguments."""
    from ..nn.modules.module import Module
    from ..optim.optimizer import Optimizer

    mods, opts, seen = [], [], set()

    def visit(obj, depth=0):
        if id(obj) in seen or depth > 3:
            return
        seen.add(id(obj))
        if isinstance(obj, Module):
            mods.append(obj)
        elif isinstance(obj, Optimizer):
            opts.append(obj)
        elif isinstance(obj, (list, tuple)) and len(obj) < 64:
            for o in obj:
                visit(o, depth + 1)
        elif isinstance(obj, dict) and len(obj) < 64:
            for o in obj.values():
                visit(o, depth + 1)
        elif callable(obj) and hasattr(obj, "__code__") and depth < 2:
            visit_fn(obj, depth + 1)
        elif depth < 2 and type(obj).__module__ not in ("builtins", "numpy") and \
                isinstance(getattr(obj, "__dict__", None), dict) and not isinstance(obj, type):
            for o in list(vars(obj).values())[:64]:  # an object holding the model and optimizer
                if isinstance(o, (Module, Optimizer, list, tuple, dict)):
                    visit(o, depth + 1)

    def visit_fn(f, depth):
        if hasattr(f, "__self__"):
            visit(f.__self__, depth)
            f = f.__func__
        code = getattr(f, "__code__", None)
        if code is None:
            return
        for cell in getattr(f, "__closure__", None) or ():
            try:
                visit(cell.cell_contents, depth)
            except ValueError:
                pass
        g = getattr(f, "__globals__", {})
        for name in code.co_names:
            if name in g:
                obj = g[name]
                if isinstance(obj, (Module, Optimizer)) or (callable(obj) and hasattr(obj, "__code__")
                                                            and depth < 2):
                    visit(obj, depth)

    if isinstance(fn, Module):
        visit(fn)
    else:
        visit_fn(fn, 0)
    for a in args:
        visit(a, 1)
    return mods, opts


class Trace:
    """The result of tracing: the graph plus what guards and codegen need."""

    def __init__(self, tracer: Tracer, fn) -> None:
        self.graph = tracer.g
        self.tracer = tracer
        self.fn = fn


def weak(obj):
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


__all__ = ["Tracer", "TArray", "Unsupported", "map_values", "scan", "Trace"]


# -------------------------------------------------------------------------------------------------------------
# One trace of a call
# -------------------------------------------------------------------------------------------------------------

def run(fn, args, kwargs, flat, mods, opts):
    """Trace ``fn(*args, **kwargs)``: returns (result, Trace). ``flat`` is the flattened call."""
    from .. import random as rnd
    from ..nn.modules import module as modmod
    from . import autodiff

    tr = Tracer()
    g = tr.g
    for m in mods:
        if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or \
                getattr(m, "_backward_pre_hooks", None):
            raise Unsupported(f"module {type(m).__name__} has hooks; they run eagerly")
    if modmod._global_forward_hooks or modmod._global_forward_pre_hooks or modmod._global_backward_hooks or \
            modmod._global_backward_pre_hooks:
        raise Unsupported("global module hooks are registered; they run eagerly")
    if state.autocast_dtype is not None:
        raise Unsupported("autocast is active")
    if state.anomaly_enabled:
        raise Unsupported("anomaly detection is active")
    aliases = []
    try:
        for i, x in enumerate(flat):
            if isinstance(x, Tensor):
                if id(x) in tr.input_ids:
                    aliases.append((i, tr.input_ids[id(x)]))
                    continue
                d = _plain(x._data)
                node = g.new("input", i, outs=[(d.shape, d.dtype)])
                tr.ext_meta[node.out.id] = {"tensor": x, "path": ("input", i)}
                tv = tr._tag(d, node.out)
                tr.tensors[id(x)] = (x, d, tv, "input")
                tr.input_ids[id(x)] = i
                tr.keep.append(x)
                x._data = tv
        for m in mods:
            for name, p in m.named_parameters():
                if id(p) not in tr.tensors:
                    tr.labels[id(p)] = name
                    tr.register(p, name)
            for name, b in m.named_buffers():
                if id(b) not in tr.tensors:
                    tr.labels[id(b)] = name
                    tr.register(b, name)
        rng = rnd.default_generator.get_state()._data.tobytes()
        grad_mode = state.grad_enabled
        out_spec, grad_outs, boundaries = None, [], []
        with _Patches(tr):
            result = fn(*args, **kwargs)
            if tr.failed is None:
                try:
                    out_spec, outs, grad_outs = _outputs(tr, result)
                    g.new("output", out_spec, tuple(outs))
                    if grad_outs:
                        tr.phase = "bwd"
                        boundaries = _backward_program(tr, grad_outs, autodiff)
                except Unsupported as e:
                    tr.fail(e)
        if state.grad_enabled != grad_mode:
            tr.fail("grad mode changed across the call")
        if rnd.default_generator.get_state()._data.tobytes() != rng:
            tr.fail("the function draws random numbers (dropout in training mode, rand, ...); the compiled "
                    "program would repeat the same draws")
        for t, _d, tv, kind in tr.tensors.values():
            if kind in ("ext", "input") and t._data is not tv:
                tr.fail("a tensor's .data was replaced inside the compiled function")
    finally:
        _restore(tr)
    trace = Trace(tr, fn)
    trace.out_spec = out_spec
    trace.grad_outs = grad_outs
    trace.boundaries = boundaries
    trace.aliases = aliases
    trace.grad_mode = grad_mode
    trace.mods = mods
    return result, trace


def _restore(tr: Tracer) -> None:
    for t, d, tv, _kind in tr.tensors.values():
        if t._data is tv:
            t._data = d
        elif type(t._data) is TArray:
            t._data = _plain(t._data)
    for t in tr.tagged:
        if type(t._data) is TArray:
            t._data = _plain(t._data)
    for node, _ in tr.ctx_nodes.values():
        saved = node.saved
        if saved and isinstance(saved, list):
            node.saved = [(t, _plain(a) if isinstance(a, TArray) else a, vc, ver) for t, a, vc, ver in saved]


def _outputs(tr: Tracer, result):
    outs: list = []
    grad_outs: list = []

    def leaf(x):
        if isinstance(x, Tensor):
            e = tr.tensors.get(id(x))
            d = x._data
            if e is not None and e[3] in ("input", "ext") and d is e[2] and d._v is not None and \
                    d._v.node.op in ("input", "ext"):
                # an argument or an outside tensor returned unchanged: the same object
                return ("leaf", "input", tr.input_ids[id(x)]) if e[3] == "input" else ("leaf", "const", x)
            v = tr.tensor_value(x)
            k = len(outs)
            outs.append(v)
            if x._requires_grad:
                fn = x.grad_fn
                if fn is None:
                    raise Unsupported("the function returns a new leaf tensor that requires grad")
                if id(fn) in tr.ctx_nodes and id(fn) not in tr.released:
                    grad_outs.append((x, v))
                    return ("leaf", "grad_tensor", (k, len(grad_outs) - 1))
                if id(fn) in tr.ctx_nodes:
                    return ("leaf", "dead_tensor", k)
                raise Unsupported("the function returns a tensor whose history was recorded outside it")
            return ("leaf", "tensor", k)
        if isinstance(x, tuple) and hasattr(x, "_fields"):
            return ("namedtuple", type(x), [leaf(y) for y in x])
        if type(x) is tuple:
            return ("tuple", None, [leaf(y) for y in x])
        if type(x) is list:
            return ("list", None, [leaf(y) for y in x])
        if type(x) is dict:
            return ("dict", list(x.keys()), [leaf(y) for y in x.values()])
        if isinstance(x, np.ndarray):
            r = _tail_read(tr, x)
            if r is None:
                raise Unsupported("the function returns a NumPy array computed before its last tensor operation")
            outs.append(r.args[0])
            return ("leaf", "read", (len(outs) - 1, "numpy"))
        if type(x) is float:
            r = _tail_read(tr, x)
            if r is not None:
                outs.append(r.args[0])
                return ("leaf", "read", (len(outs) - 1, r.meta["kind"]))
        return ("leaf", "const", x)
    spec = leaf(result)
    return spec, outs, grad_outs


def _tail_read(tr: Tracer, x):
    """The read that produced the float ``x`` when nothing was computed after it (``return loss.item()``):
    then the value only flows out, and the program returns it instead of checking it."""
    nodes = tr.g.nodes
    for i in range(len(nodes) - 1, -1, -1):
        n = nodes[i]
        if n.op == "guard":
            if n.meta.get("obj") is x and n.meta["kind"] in ("item", "float", "numpy"):
                n.meta["free"] = True
                return n
            continue
        if n.op in ("op", "np", "backward", "effect"):
            return None
    return None


def _backward_program(tr: Tracer, grad_outs, autodiff) -> list:
    """Record the backward of the outputs that require grad (the CompiledNode's program)."""
    g = tr.g
    seeds = []
    for k, (x, v) in enumerate(grad_outs):
        ph = g.new("input", ("grad", k), outs=[(v.shape, v.dtype)], meta={"phase": "bwd"})
        ones = np.ones(v.shape, v.dtype)
        seeds.append((x.grad_fn, x._output_nr, autodiff._GV(ones, ph.out)))
    found: dict = {}
    order: list = []
    input_nodes = {}
    for t_id, i in tr.input_ids.items():
        t = tr.tensors[t_id][0]
        if t.grad_fn is not None:
            input_nodes[(id(t.grad_fn), t._output_nr)] = i

    def on_boundary(target, nr, gv):
        if isinstance(target, Tensor):
            if id(target) in tr.input_ids:
                key = ("input", tr.input_ids[id(target)])
            elif id(target) in tr.tensors and tr.tensors[id(target)][3] == "ext":
                key = ("tensor", target)
            else:
                raise Unsupported("backward reaches a leaf tensor created inside the compiled function")
        else:
            i = input_nodes.get((id(target), nr))
            if i is None:
                raise Unsupported(f"backward reaches {target.name()}, recorded outside the compiled function")
            key = ("input", i)
        kid = (key[0], key[1] if key[0] == "input" else id(key[1]))
        if kid in found:
            found[kid] = (key, autodiff._add(tr, found[kid][1], gv))
        else:
            found[kid] = (key, gv)
            order.append(kid)
    autodiff.walk(tr, seeds, None, True, on_boundary=on_boundary)
    bounds = [(found[k][0], found[k][1].v) for k in order]
    g.new("bwd_output", None, tuple(v for _, v in bounds), meta={"phase": "bwd"})
    return bounds
