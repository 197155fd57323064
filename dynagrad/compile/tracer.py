"""Tracing: run the user's Python once and record every primitive it applies into a ``Graph``.

Three taps see everything a program does to tensor values:

* **Ops.** ``state.transform_hook`` (the hook forward AD and vmap use) sends every ``Op.apply`` here; the
  op runs as usual and is recorded with its static keyword arguments, input and output values.
* **Arrays.** While tracing, a traced tensor's ``_data`` is a ``TArray``: an ndarray subclass whose
  ``__array_ufunc__`` / ``__array_function__`` and array methods record NumPy calls made outside ops
  (comparisons, casts to integers, masks built in a backward formula, ``x._data.max()`` checks), and whose
  ``__bool__`` / ``item`` / ``__index__`` record the Python values the program read: those become guards
  checked when the compiled program runs (the trace is specialised on them, one trace per path).
* **The core's hooks.** While a trace runs, ``autograd.state.tracer`` is the ``Tracer``; the core calls it
  at a few Python-level points: ``autograd.run_backward`` (``loss.backward()``, ``autograd.grad``), ``.grad``
  reads and writes, values read into Python (``item()``, ``bool(t)``, ``.numpy()``...), version bumps of
  in-place changes, tensors made outside ops, optimizer steps and ``zero_grad``, and random draws (the
  ``@random._kernel`` array-level samplers). Each is one attribute check outside a trace, and
  nothing is swapped or patched, so nothing can leak into eager code.

What cannot be recorded faithfully raises ``Unsupported``; the caller then runs the function eagerly and
logs the reason. Everything outside dynagrad's reach (Python side effects such as ``print`` or appending to
a list) happens while tracing only, as with ``jax.jit``.
"""
from __future__ import annotations

import os
import sys
import types
import weakref

import numpy as np

from ..autograd import _dispatch, state
from ..autograd.function import Op
from ..tensor import Tensor
from .ir import Graph, Value, map_values


def active():
    """The Tracer recording now, or None."""
    return state.tracer


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
        tr = state.tracer
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
        tr = state.tracer
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
        tr = state.tracer
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
        tr = state.tracer
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
        tr = state.tracer
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
    tr = state.tracer
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


def raw_grad(t: Tensor):
    return t._grad


class Tracer:
    """Records one run of a program. ``trace(fn, args)`` below drives it."""

    def __init__(self) -> None:
        self.g = Graph()
        self.depth = 0  # > 0 while an op's own code (or an opaque call) runs: nothing is recorded
        self.keep: list = []  # objects whose ids are keys below, kept alive for the trace
        self.plain_vals: dict = {}  # id(plain array) -> (array, Value) for known values held in plain arrays
        self.tensors: dict = {}  # id(Tensor) -> (tensor, original _data, kind) for ext/temp tensors we swapped
        self.made: set = set()  # ids of tensors created while tracing, outside ops (temporaries)
        self.vc_owner: dict = {}  # id(version counter list) -> the outside tensor owning it
        self.rng: dict = {}  # id(Generator) -> [generator, bit state and cached normal at first sight, draws]
        self.ctx_nodes: dict = {}  # id(graph Node) -> (node, IR node) for autograd nodes created by the trace
        self.ext_meta: dict = {}  # Value id -> {"tensor", "path", "label"} for values in outside memory
        self.labels: dict = {}  # id(Tensor) -> "fc1.weight"
        self.roots: dict = {}  # Value id -> id of the memory-owning array
        self.root_count: dict = {}
        self.grad_state: dict = {}  # id(leaf) -> (leaf, was None at entry) for .grad first read before written
        self.grad_written: set = set()
        self.accumulated: set = set()  # ids of leaves the program accumulates gradients into
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
        self.by_shape: dict = {}  # shape -> the traced arrays of that shape (to spot untracked copies)

    def release(self) -> None:
        """Drop what only the trace needed (arrays, autograd nodes): breaks the tracer <-> TArray cycles so
        the memory goes at once, not at the next garbage collection."""
        for lst in self.by_root.values():
            for t in lst:
                t._tr = None
        for name in ("keep", "plain_vals", "tensors", "ctx_nodes", "by_root", "views", "roots", "root_count",
                     "by_shape"):
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
        self.by_shape.setdefault(t.shape, []).append(t)
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
        self._check_untracked(a)
        return self.const(a)

    def _check_untracked(self, a) -> None:
        """An array nobody traced is about to become a constant of the program. If it holds exactly what a
        traced array of its shape holds, it was most likely computed from it along a path NumPy does not
        report (``np.asarray(x, dtype)``, ``np.array(x)``): a constant would be stale at the next call, so
        the function runs eagerly instead."""
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf" or a.size == 0 or a.size > 1 << 16:
            return
        for t in reversed(self.by_shape.get(a.shape, ())[-64:]):
            if t._v is None or t.dtype.kind not in "biuf":
                continue
            p = np.ndarray.view(t, np.ndarray)
            if not (a.size == 1 and a.dtype == p.dtype and a.dtype.kind in "biu") and \
                    np.array_equal(p.astype(a.dtype), a):
                raise Unsupported(f"an array computed from a traced value along a path the compiler cannot see "
                                  f"(at {format_site(user_site())})")

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
        if id(t) in self.made:
            v = self.const(d)
            kind = "temp"
        else:
            node = self.g.new("ext", t, outs=[(d.shape, d.dtype)],
                              meta={"path": ("data",), "label": label or self.labels.get(id(t), "tensor")})
            v = node.out
            self.ext_meta[v.id] = {"tensor": t, "path": ("data",)}
            self.vc_owner.setdefault(id(t._vc), ("tensor", t))
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
        if state.record_hook is not None:  # torch.utils.checkpoint inside the function
            self.fail("activation checkpointing (torch.utils.checkpoint) inside the function")
            return _dispatch.plain(cls, inputs, kw)
        if state.autocast_dtype is not None:  # the casts autocast makes are ops of the program too
            from ..amp.autocast_mode import cast_inputs
            inputs = cast_inputs(cls, inputs)
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
        """``leaf.grad`` while tracing (the core's ``Tensor.grad`` getter calls this)."""
        g = leaf._grad
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
        """``leaf.grad = value`` while tracing: an effect of the program."""
        if not self.depth and id(leaf) not in self.made:
            key = id(leaf)
            self.grad_written.add(key)
            self.keep.append(leaf)
            if value is None:
                self.g.new("effect", "set_grad_none", (), {}, (), {"leaf": leaf, "effect": True})
            else:
                v = self.tensor_value(value)
                self.g.new("effect", "set_grad", (v,), {}, (), {"leaf": leaf, "effect": True})
                self.ext_meta.setdefault(v.id, {"tensor": leaf, "path": ("grad",)})
        leaf._grad = value


_OPAQUE_OPS = {"BackwardHookFunctionBackward"}


class _Active:
    """Make ``tr`` the active tracer (``state.tracer``, and the op hook ``state.transform_hook``)."""

    def __init__(self, tr: Tracer) -> None:
        self.tr = tr

    def __enter__(self):
        if state.transform_hook is not None:
            raise Unsupported("forward-mode AD, vmap or the profiler is active")
        if state.tracer is not None:
            raise Unsupported("another trace is active")
        state.transform_hook = self.tr.hook
        state.tracer = self.tr
        return self

    def __exit__(self, *exc):
        state.tracer = None
        state.transform_hook = None
        return False


# -------------------------------------------------------------------------------------------------------------
# The core's hooks: what ``state.tracer.<name>(...)`` does (see the module docstring)
# -------------------------------------------------------------------------------------------------------------

def _hook(fn):
    setattr(Tracer, fn.__name__, fn)
    return fn


@_hook
def created(tr: Tracer, t: Tensor) -> None:
    """A tensor made outside an op while tracing (``zeros``, ``tensor(...)``): a temporary."""
    if not tr.depth:
        tr.made.add(id(t))
        tr.keep.append(t)


@_hook
def backward(tr: Tracer, roots, grads, retain_graph, create_graph, inputs, allow_unused, accumulate):
    """``autograd.run_backward`` while tracing: replayed into the graph (``autodiff.py``)."""
    from . import autodiff
    return autodiff.traced_backward(tr, roots, grads, retain_graph, create_graph, inputs, allow_unused, accumulate)


@_hook
def read(tr: Tracer, t: Tensor, kind: str, fn):
    """``bool(t)``, ``t.item()``, ``t.numpy()``...: the program depends on the value (recorded once,
    whatever ``t._data`` is: a traced array or a plain view of one)."""
    if tr.depth:
        return fn(t)
    try:
        v = tr.tensor_value(t)
    except Unsupported as e:
        tr.fail(e)
        return fn(t)
    tr.depth += 1
    try:
        value = fn(t)
    finally:
        tr.depth -= 1
    if kind == "numpy":  # NumPy code outside dynagrad (scipy, np.asarray) may lose track of it: a guard
        tr.record_read_value(v, kind, np.array(_plain(value), copy=True), obj=value)
    else:
        tr.record_read_value(v, kind, value)
    return value


@_hook
def bumped(tr: Tracer, t: Tensor) -> None:
    """An in-place change of ``t`` (its version counter was bumped). The write itself was recorded through
    the traced arrays; an outside tensor's counter is bumped by the program too. A tensor the trace never
    saw (its write could not be recorded) makes the function run eagerly."""
    if tr.depth:
        return
    owner = tr.vc_owner.get(id(t._vc))
    if owner is not None:
        tr.g.new("effect", "bump", (), {}, (), {"leaf": owner, "effect": True, "phase": tr.phase})
        return
    d = t._data
    if id(t) in tr.made or (type(d) is TArray and d._tr is tr):
        return
    tr.fail(f"an in-place change of a tensor the compiler had not seen before (at {format_site(user_site())})")


@_hook
def optimizer_step(tr: Tracer, opt, step, args, kwargs):
    """``opt.step()`` while tracing (the core's step wrapper calls this with itself as ``step``)."""
    return tr_opt_step(tr, step, opt, args, kwargs)


@_hook
def zero_grad(tr: Tracer, params) -> bool:
    """``zero_grad(set_to_none=True)`` sets every .grad to None whatever it was: recorded without reading
    them (so whether they were None is not something the program depends on). False: not handled here."""
    if tr.depth:
        return False
    for p in params:
        tr.grad_set(p, None)
    return True


@_hook
def rng_state(tr: Tracer, gen, what: str) -> None:
    """A generator seeded, created or its state read or set while tracing: Python state the program could
    not repeat, so the function runs eagerly."""
    if not tr.depth:
        tr.fail(f"Generator.{what}() inside the compiled function (at {format_site(user_site())})")


def _rng_entry(tr: Tracer, gen):
    """[generator, its (bit state, cached normal) when first seen, [(before, after) of each recorded draw]]."""
    e = tr.rng.get(id(gen))
    if e is None:
        e = tr.rng[id(gen)] = [gen, gen._snapshot(), []]
        tr.keep.append(gen)
    return e


def _record_draw(tr: Tracer, call, args: tuple, kwargs: dict, run):
    """Run a draw (``run()``) and record it as an effect the program repeats, in order. The state of every
    generator is noted before and after, so ``check_rng`` can tell that the recorded draws are all there
    was (a draw that bypassed the hooks would otherwise become a constant, repeated at every call)."""
    from ..random import Generator
    for x in tuple(args) + tuple(kwargs.values()):
        if isinstance(x, Generator):
            _rng_entry(tr, x)
    before = [(e, e[0]._snapshot()) for e in tr.rng.values()]
    tr.depth += 1
    try:
        res = run()
    finally:
        tr.depth -= 1
    try:
        if not isinstance(res, np.ndarray):
            raise Unsupported(f"a random draw returned a Python number (at {format_site(user_site())})")
        for e, st in before:
            after = e[0]._snapshot()
            if not _same_rng(st, after):
                e[2].append((st, after))
        a, k = tr._np_tree(tuple(args)), tr._np_tree(dict(kwargs))
        node = tr.g.new("effect", "draw", a, k, [(res.shape, res.dtype)],
                        {"call": call, "effect": True, "random": True, "phase": tr.phase, "where": user_site()})
        return tr._tag(res, node.out)
    except Unsupported as err:
        tr.fail(err)
        return res


@_hook
def draw_call(tr: Tracer, kernel, fn, args: tuple, kwargs: dict):
    """A random kernel of ``dynagrad.random`` (``normal_array``, ``uniform_array``...): one draw, whatever
    the kernel does inside (the program calls the same kernel)."""
    return _record_draw(tr, ("kernel", kernel), args, kwargs, lambda: fn(*args, **kwargs))


def check_rng(tr: Tracer) -> None:
    """The recorded draws must account for every change of every generator's state during the trace: their
    (before, after) states chain from the first state seen to the last."""
    from ..random import default_generator
    _rng_entry(tr, default_generator)
    for gen, first, events in tr.rng.values():
        cur = first
        for before, after in events:
            if not _same_rng(cur, before):
                break
            cur = after
        else:
            if _same_rng(cur, gen._snapshot()):
                continue
        tr.fail("random numbers were drawn along a path the compiler cannot see (outside the random kernels "
                "of dynagrad.random)")
        return


def _same_rng(a, b) -> bool:
    return a[1:] == b[1:] and _same_state(a[0], b[0])


def _same_state(a, b) -> bool:
    sa, sb = a["state"], b["state"]
    return sa["pos"] == sb["pos"] and np.array_equal(sa["key"], sb["key"])


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

class Reach:
    """What a traced function can reach besides its arguments (``scan``): modules, optimizers, outside
    tensors (closure cells, globals its code names, plain tensor attributes of modules and objects), other
    objects holding state, and the global names its code (and its modules' methods) reads."""

    def __init__(self) -> None:
        self.mods: list = []
        self.opts: list = []
        self.tensors: list = []  # (label, Tensor)
        self.objects: list = []  # plain objects holding modules/optimizers/tensors (a trainer, a GradScaler)
        self.globals: list = []  # (globals dict, name) read by the traced code
        self.cells: list = []  # (closure cell, variable name) of the traced function and those it calls


_SIMPLE_TYPES = (bool, int, float, str, type(None))


def scan(fn, args) -> tuple[list, Reach]:
    """Modules, optimizers and outside tensors reachable from ``fn``: itself, a bound method's object, closure
    cells, globals its code names, and the arguments. Returns (modules, Reach)."""
    from ..nn.modules.module import Module
    from ..optim.optimizer import Optimizer

    r = Reach()
    seen: set = set()
    seen_globals: set = set()

    def visit(obj, depth=0, label="tensor"):
        if id(obj) in seen or depth > 3:
            return
        seen.add(id(obj))
        if isinstance(obj, Tensor):
            r.tensors.append((label, obj))
        elif isinstance(obj, Module):
            r.mods.append(obj)
        elif isinstance(obj, Optimizer):
            r.opts.append(obj)
        elif isinstance(obj, (list, tuple)) and len(obj) < 64:
            for i, o in enumerate(obj):
                visit(o, depth + 1, f"{label}[{i}]")
        elif isinstance(obj, dict) and len(obj) < 64:
            for k, o in obj.items():
                visit(o, depth + 1, f"{label}[{k!r}]")
        elif callable(obj) and hasattr(obj, "__code__") and depth < 2:
            visit_fn(obj, depth + 1)
        elif depth < 2 and type(obj).__module__ not in ("builtins", "numpy") and \
                isinstance(getattr(obj, "__dict__", None), dict) and not isinstance(obj, type) and \
                not isinstance(obj, types.ModuleType):
            r.objects.append(obj)
            for k, o in list(vars(obj).items())[:64]:  # an object holding the model and optimizer
                if isinstance(o, (Module, Optimizer, Tensor, list, tuple, dict)):
                    visit(o, depth + 1, k)

    def visit_code(code, g, depth):
        for name in code.co_names:
            if name in g:
                key = (id(g), name)
                if key not in seen_globals:
                    seen_globals.add(key)
                    r.globals.append((g, name))
                obj = g[name]
                if isinstance(obj, (Module, Optimizer, Tensor)) or (callable(obj) and hasattr(obj, "__code__")
                                                                    and depth < 2):
                    visit(obj, depth, name)
        for c in code.co_consts:  # nested functions, lambdas and comprehensions
            if isinstance(c, types.CodeType):
                visit_code(c, g, depth)

    def visit_fn(f, depth):
        if hasattr(f, "__self__"):
            visit(f.__self__, depth)
            f = f.__func__
        code = getattr(f, "__code__", None)
        if code is None:
            return
        for name, cell in zip(code.co_freevars, getattr(f, "__closure__", None) or ()):
            r.cells.append((cell, name))
            try:
                visit(cell.cell_contents, depth, name)
            except ValueError:
                pass
        visit_code(code, getattr(f, "__globals__", {}), depth)

    if isinstance(fn, Module):
        visit(fn)
    else:
        visit_fn(fn, 0)
    for a in args:
        visit(a, 1)
    # what the modules' own code reads: globals named by their methods, plain tensor attributes
    classes = set()
    for m in list(r.mods):
        for name, sm in m.named_modules():
            for k, v in vars(sm).items():
                if isinstance(v, Tensor) and id(v) not in seen:
                    seen.add(id(v))
                    r.tensors.append(((name + "." if name else "") + k, v))
            cls = type(sm)
            if cls in classes or cls.__module__.startswith("dynagrad."):
                continue
            classes.add(cls)
            for f in vars(cls).values():
                code = getattr(f, "__code__", None)
                if code is not None:
                    visit_code(code, f.__globals__, 2)
    return r.mods, r


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
# Python state: what a traced call must leave unchanged (a program cannot repeat Python side effects)
# -------------------------------------------------------------------------------------------------------------

def fingerprint(v, depth: int = 0):
    """A comparable summary of a Python value: simple values themselves, containers by their items (two
    levels), anything else (tensors, arrays, functions, objects) by identity."""
    if v is None or type(v) in _SIMPLE_TYPES:
        return v
    if type(v) in (list, tuple) and depth < 2 and len(v) <= 64:
        return (type(v).__name__, tuple(fingerprint(x, depth + 1) for x in v))
    if isinstance(v, dict) and depth < 2 and len(v) <= 64:  # (keys too: a tensor key compares by identity)
        return ("dict", tuple((fingerprint(k, 2), fingerprint(x, depth + 1)) for k, x in v.items()))
    return ("id", id(v))


def python_state(mods, reach) -> dict:
    """{description: fingerprint} of the modules' and reachable objects' attributes and the globals read."""
    out = {}
    seen = set()
    for m in mods:
        for name, sm in m.named_modules():
            if id(sm) in seen:
                continue
            seen.add(id(sm))
            label = name or type(sm).__name__
            for k, v in vars(sm).items():
                out[(id(sm), k)] = (f"{label}.{k}", fingerprint(v))
    if reach is not None:
        for obj in reach.objects:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for k, v in vars(obj).items():
                out[(id(obj), k)] = (f"{type(obj).__name__}.{k}", fingerprint(v))
        for opt in reach.opts:  # a scheduler stepped inside the function changes these (its step reads them)
            out[(id(opt), "param_groups")] = (f"{type(opt).__name__}.param_groups",
                                              fingerprint([{k: v for k, v in group.items() if k != "params"}
                                                           for group in opt.param_groups]))
        for g, name in reach.globals:
            out[(id(g), name)] = (f"the global {name}", fingerprint(g.get(name, _GONE)))
        for cell, name in reach.cells:
            try:
                value = cell.cell_contents
            except ValueError:
                value = _GONE
            out[(id(cell), name)] = (f"the variable {name}", fingerprint(value))
    return out


_GONE = object()


def changed_state(before: dict, after: dict) -> str | None:
    for key, (label, fp) in after.items():
        old = before.get(key)
        if old is None or old[1] != fp:
            return label
    for key, (label, _) in before.items():
        if key not in after:
            return label
    return None


# -------------------------------------------------------------------------------------------------------------
# One trace of a call
# -------------------------------------------------------------------------------------------------------------

class _Tee:
    """sys.stdout / sys.stderr while a function is traced: writes go through, and are noticed."""

    def __init__(self, stream, owner) -> None:
        self._stream = stream
        self._owner = owner

    def write(self, text):
        if text:
            self._owner.wrote = True
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Printing:
    """Notice output written to sys.stdout or sys.stderr during a trace (``print`` in the function)."""

    def __enter__(self):
        self.wrote = False
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(sys.stdout, self), _Tee(sys.stderr, self)
        return self

    def __exit__(self, *exc):
        out, err = sys.stdout, sys.stderr
        if isinstance(out, _Tee) and out._owner is self:
            sys.stdout = self.saved[0]
        if isinstance(err, _Tee) and err._owner is self:
            sys.stderr = self.saved[1]
        return False


def run(fn, args, kwargs, flat, mods, reach=None):
    """Trace ``fn(*args, **kwargs)``: returns (result, Trace). ``flat`` is the flattened call."""
    from .. import random as rnd
    from ..nn.modules import module as modmod
    from . import autodiff

    if not isinstance(reach, Reach):
        reach = None
    tr = Tracer()
    g = tr.g
    for m in mods:
        if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or \
                getattr(m, "_backward_pre_hooks", None):
            raise Unsupported(f"module {type(m).__name__} has hooks; they run eagerly")
    if modmod._global_forward_hooks or modmod._global_forward_pre_hooks or modmod._global_backward_hooks or \
            modmod._global_backward_pre_hooks:
        raise Unsupported("global module hooks are registered; they run eagerly")
    if state.anomaly_enabled:
        raise Unsupported("anomaly detection is active")
    if state.record_hook is not None:
        raise Unsupported("called inside activation checkpointing (its nodes must be recorded as they run)")
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
                tr.vc_owner.setdefault(id(x._vc), ("input", i))
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
        for name, t in (reach.tensors if reach is not None else ()):
            if id(t) not in tr.tensors and id(t) not in tr.input_ids:
                tr.labels[id(t)] = name
                tr.register(t, name)
        before = python_state(mods, reach)
        _rng_entry(tr, rnd.default_generator)
        grad_mode = state.grad_enabled
        autocast, inference = state.autocast_dtype, state.inference_mode
        out_spec, grad_outs, boundaries = None, [], []
        with _Active(tr), _Printing() as printed:
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
        if printed.wrote:
            tr.fail("the function prints (a compiled program would print only while it is traced); it runs "
                    "eagerly, printing at every call")
        if state.grad_enabled != grad_mode or state.autocast_dtype != autocast or state.inference_mode != inference:
            tr.fail("grad mode, autocast or inference mode changed across the call")
        check_rng(tr)
        changed = changed_state(before, python_state(mods, reach))
        if changed:
            tr.fail(f"the function changes {changed} (Python state that a compiled program would not change)")
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
    trace.autocast = autocast
    trace.inference = inference
    trace.mods = mods
    trace.reach = reach
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
                if id(fn) in tr.ctx_nodes and not _reaches_released(tr, fn):
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


def _reaches_released(tr: Tracer, fn) -> bool:
    """Whether the history of an output goes through a node whose backward already ran in the function (a
    hidden state returned after ``loss.backward()``): backward from it fails, eagerly as compiled."""
    stack, seen = [fn], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or id(n) not in tr.ctx_nodes:
            continue
        if id(n) in tr.released:
            return True
        seen.add(id(n))
        stack.extend(t for t, _ in n.edges if t is not None and not isinstance(t, Tensor))
    return False


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
