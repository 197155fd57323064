"""The array side of vmap: a ``BatchedArray`` is what a batched tensor's ``_data`` holds.

Inside ``vmap`` a tensor's logical value is one example, but dynagrad's code reads ``t._data`` directly
(shapes, dtypes, masks computed in NumPy, index arrays passed to ops as static arguments). So a batched
tensor's ``_data`` is a real ndarray of the logical shape holding example 0 (the "shadow", which keeps
those reads working), subclassed to carry every example in ``_phys`` (batch dimension first) and the vmap
level. NumPy operations on it (ufuncs, reductions, reshapes, indexing, ``np.where``, ...) are computed on
``_phys`` and give BatchedArrays again; a NumPy function without a rule here runs once per example.

``np.asarray`` strips the subclass; an array made that way still counts as batched (for ops and their static
arguments) because a BatchedArray made by NumPy code here owns its shadow's memory, so the plain view's
``base`` is the BatchedArray. (NumPy code run on such a plain view is not batched: see docs/internals.md.)
"""
from __future__ import annotations

import numpy as np

_nd = np.ndarray


class BatchedArray(np.ndarray):
    """Example 0 of a value batched at a vmap level; ``_phys`` has every example (batch first)."""

    _phys = None
    _level = None
    _private = False
    _ptensor = None  # the physical Tensor a batched Tensor was made from (vmap's shortcut back to it)
    _owner = None
    _node = None

    def __array_finalize__(self, obj) -> None:  # arrays NumPy derives on its own are not batched
        pass

    # -- the array protocols -------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(hasattr(x, "_requires_grad") for x in inputs):
            return NotImplemented  # ndarray <op> Tensor: let the Tensor's operator run
        outs = kwargs.get("out")
        where = kwargs.get("where")
        lvl = top_level(list(inputs) + list(outs or ()) + ([where] if isinstance(where, _nd) else []))
        if lvl is None:
            return getattr(ufunc, method)(*[_plain(x) for x in inputs], **kwargs)
        if method == "__call__":
            R = max(np.ndim(x) for x in inputs)
            args = [aligned(x, lvl, R) for x in inputs]
            kw = dict(kwargs)
            if isinstance(where, _nd):
                kw["where"] = aligned(where, lvl, R)
            if outs:
                pouts = []
                for o in outs:
                    ba = batched_of(o)
                    if ba is None or ba._level is not lvl:
                        raise RuntimeError("vmap: an in-place operation would write batched values into a tensor "
                                           "that is not batched (clone it, or vmap over it too)")
                    pouts.append(ba._phys)
                kw["out"] = tuple(pouts)
                ufunc(*args, **kw)
                for o in outs:
                    refresh(o)
                return outs[0] if len(outs) == 1 else outs
            res = ufunc(*args, **kw)
            return tuple(wrap(r, lvl) for r in res) if isinstance(res, tuple) else wrap(res, lvl)
        x = batched_of(inputs[0])
        if method in ("reduce", "accumulate") and len(inputs) == 1 and not outs and x is not None and \
                x._level is lvl:
            kw = dict(kwargs)
            axis = kw.pop("axis", 0)
            if axis is None and method == "reduce":
                axis = tuple(range(1, x.ndim + 1))
            else:
                axis = shift(axis, x.ndim)
            return wrap(getattr(ufunc, method)(x._phys, axis=axis, **kw), lvl)
        return loop(getattr(ufunc, method), inputs, kwargs, lvl)

    def __array_function__(self, func, types, args, kwargs):
        if func in _SHADOW_SAFE:
            return func(*_map(args, _plain), **_map(kwargs, _plain))
        handler = _HANDLERS.get(func)
        if handler is not None:
            res = handler(*args, **kwargs)
            if res is not NotImplemented:
                return res
        lvl = top_level(_leaves((args, kwargs)))
        if lvl is None:
            return func(*_map(args, _plain), **_map(kwargs, _plain))
        return loop(func, args, kwargs, lvl)

    # -- methods ----------------------------------------------------------------------------------
    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        res = self._phys.astype(dtype, casting=casting, copy=copy)
        return self if res is self._phys else wrap(res, self._level)

    def copy(self, order="C"):
        return wrap(self._phys.copy(), self._level)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        new = _plain(self).reshape(shape).shape
        return wrap(self._phys.reshape((self._level.B,) + new), self._level)

    def ravel(self, order="C"):
        return self.reshape(-1)

    flatten = ravel

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        r = self.ndim
        axes = tuple(range(r - 1, -1, -1)) if not axes or axes == (None,) else tuple(a % r for a in axes)
        return wrap(self._phys.transpose((0,) + tuple(a + 1 for a in axes)), self._level)

    @property
    def T(self):  # noqa: N802
        return self.transpose()

    def swapaxes(self, a, b):
        r = self.ndim
        return wrap(self._phys.swapaxes(a % r + 1, b % r + 1), self._level)

    def squeeze(self, axis=None):
        r = self.ndim
        if axis is None:
            axes = tuple(i for i, s in enumerate(self.shape) if s == 1)
        else:
            axes = tuple(a % r for a in (axis if isinstance(axis, tuple) else (axis,)))
        return wrap(self._phys.squeeze(tuple(a + 1 for a in axes)), self._level)

    def _reduce(self, name, axis=None, dtype=None, out=None, keepdims=False, **kw):
        if out is not None:
            return loop(lambda a: getattr(_nd, name)(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw),
                        (self,), {}, self._level)
        ax = tuple(range(1, self.ndim + 1)) if axis is None else shift(axis, self.ndim)
        if dtype is not None:
            kw["dtype"] = dtype
        return wrap(getattr(self._phys, name)(axis=ax, keepdims=keepdims, **kw), self._level)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):  # noqa: A003
        return self._reduce("sum", axis, dtype, out, keepdims, **kw)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return self._reduce("mean", axis, dtype, out, keepdims, **kw)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return self._reduce("prod", axis, dtype, out, keepdims, **kw)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return self._reduce("var", axis, dtype, out, keepdims, ddof=ddof)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return self._reduce("std", axis, dtype, out, keepdims, ddof=ddof)

    def max(self, axis=None, out=None, keepdims=False, **kw):  # noqa: A003
        return self._reduce("max", axis, None, out, keepdims, **kw)

    def min(self, axis=None, out=None, keepdims=False, **kw):  # noqa: A003
        return self._reduce("min", axis, None, out, keepdims, **kw)

    def any(self, axis=None, out=None, keepdims=False, **kw):  # noqa: A003
        return self._reduce("any", axis, None, out, keepdims, **kw)

    def all(self, axis=None, out=None, keepdims=False, **kw):  # noqa: A003
        return self._reduce("all", axis, None, out, keepdims, **kw)

    def _arg(self, name, axis=None, out=None, keepdims=False):
        B = self._level.B
        if axis is None:
            res = getattr(self._phys.reshape((B, -1)), name)(axis=1)
            if keepdims:
                res = res.reshape((B,) + (1,) * self.ndim)
            return wrap(res, self._level)
        return wrap(getattr(self._phys, name)(axis=shift(axis, self.ndim), keepdims=keepdims), self._level)

    def argmax(self, axis=None, out=None, keepdims=False):
        return self._arg("argmax", axis, out, keepdims)

    def argmin(self, axis=None, out=None, keepdims=False):
        return self._arg("argmin", axis, out, keepdims)

    def _cum(self, name, axis=None, dtype=None, out=None):
        B = self._level.B
        if axis is None:
            return wrap(getattr(self._phys.reshape((B, -1)), name)(axis=1, dtype=dtype), self._level)
        return wrap(getattr(self._phys, name)(axis=shift(axis, self.ndim), dtype=dtype), self._level)

    def cumsum(self, axis=None, dtype=None, out=None):
        return self._cum("cumsum", axis, dtype, out)

    def cumprod(self, axis=None, dtype=None, out=None):
        return self._cum("cumprod", axis, dtype, out)

    def __getitem__(self, idx):
        items = idx if isinstance(idx, tuple) else (idx,)
        if all(_is_basic(i) for i in items):
            if not any(i is Ellipsis for i in items):
                items = items + (Ellipsis,)
            return wrap(self._phys[(slice(None),) + items], self._level)
        return loop(lambda a, i: a[i], (self, idx), {}, self._level)

    def __setitem__(self, idx, value):
        lvl = self._level
        items = idx if isinstance(idx, tuple) else (idx,)
        vb = batched_of(value) if isinstance(value, _nd) else None
        if all(_is_basic(i) for i in items):
            if not any(i is Ellipsis for i in items):
                items = items + (Ellipsis,)
            if vb is not None and vb._level is lvl:
                r = _plain(self)[idx].ndim
                value = aligned(vb, lvl, r)
            self._phys[(slice(None),) + items] = value
        else:
            for i in range(lvl.B):
                target = self._phys[i]
                target[example(idx, lvl, i)] = example(value, lvl, i)
        refresh(self)

    def fill(self, value):
        self._phys.fill(value)
        refresh(self)

    # -- values that Python control flow reads ------------------------------------------------------
    def _unanimous(self):
        raw = np.asarray(raw_of(self))
        nb = raw.ndim - self.ndim
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. Use a.any() or "
                             "a.all()")
        flat = raw.reshape(-1)
        if flat.size and (flat == flat[0]).all():
            return flat[0]
        _ = nb
        raise RuntimeError("vmap: It looks like you're attempting to use a Tensor in some data-dependent control "
                           "flow (its value differs between the examples of the batch). dynagrad.func.vmap runs the "
                           "function once for the whole batch, so this is not supported; use torch.where or "
                           "masks instead.")

    def __bool__(self) -> bool:
        return bool(self._unanimous())

    def item(self, *args):
        return self._unanimous().item()

    def __int__(self) -> int:
        return int(self._unanimous())

    def __float__(self) -> float:
        return float(self._unanimous())

    def __index__(self) -> int:
        return int(self._unanimous())

    def tolist(self):
        if self.size == 1 and self.ndim == 0:
            return self.item()
        raise RuntimeError("vmap: It looks like you're calling .tolist() on a batched value inside vmap; this is "
                           "not supported")

    def __repr__(self) -> str:
        lvl = self._level
        return f"BatchedArray(level={lvl.id if lvl is not None else None}, value={np.asarray(raw_of(self))!r})"

    __str__ = __repr__


# -- helpers ----------------------------------------------------------------------------------------------

def _is_basic(i) -> bool:
    return i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) and not isinstance(i, bool)


def _plain(x):
    """The shadow (example 0) as a plain ndarray; other values unchanged."""
    return x.view(_nd) if type(x) is BatchedArray else x


def raw_of(x):
    """All examples of all levels: the innermost plain array under a BatchedArray's layers."""
    while type(x) is BatchedArray:
        x = x._phys
    return x


def shadow_of(phys):
    p = phys.view(_nd) if type(phys) is not _nd else phys
    return p[0, ...]


def wrap(phys, level, private: bool = True) -> BatchedArray:
    """A BatchedArray over ``phys`` (batch first) at ``level``. ``private``: the shadow is a copy the array
    owns, so that a plain view NumPy makes of it (``np.asarray``) has it as ``base`` and is recognised."""
    if type(phys) is not _nd and type(phys) is not BatchedArray:
        phys = np.asarray(phys)
    if phys.ndim == 0 or phys.shape[0] != level.B:
        raise RuntimeError(f"vmap internal error: physical shape {phys.shape} has no batch dim of size {level.B}")
    shadow = shadow_of(phys)
    if private:
        ba = _nd.__new__(BatchedArray, shadow.shape, shadow.dtype)
        _nd.__setitem__(ba, Ellipsis, shadow)
        ba._private = True
    else:
        ba = shadow.view(BatchedArray)
    ba._phys = phys
    ba._level = level
    return ba


def refresh(ba) -> None:
    """Bring a BatchedArray's shadow up to date after an in-place write to its examples."""
    ba = batched_of(ba)
    if ba is not None and ba._private:
        np.copyto(ba.view(_nd), shadow_of(ba._phys))


def batched_of(a):
    """The BatchedArray behind ``a`` (itself, or the one a plain view was made from), or None."""
    t = type(a)
    if t is BatchedArray:
        if a._phys is None:
            raise RuntimeError("vmap: a batched value went through a NumPy operation that dynagrad.func.vmap "
                               "cannot batch (a view NumPy made on its own); please report the op you used")
        return a
    if t is _nd:
        b = a.base
        if type(b) is BatchedArray and b._phys is not None and b.shape == a.shape and b.dtype == a.dtype:
            return b
    return None


def level_of_array(a):
    ba = batched_of(a)
    return None if ba is None else ba._level


def top_level(values):
    best = None
    for v in values:
        if isinstance(v, _nd):
            lv = level_of_array(v)
            if lv is not None and (best is None or lv.id > best.id):
                best = lv
    return best


def shift(axis, ndim: int):
    """Logical axis (or axes) to physical, the batch dim being first."""
    if isinstance(axis, (tuple, list)):
        return tuple(a % max(ndim, 1) + 1 for a in axis)
    return axis % max(ndim, 1) + 1


def aligned(x, lvl, R: int):
    """The examples of ``x`` (batched at ``lvl``) as (B, 1, ..., *shape) with ``R`` logical dims; other values
    unchanged (they broadcast against the examples as they are)."""
    ba = batched_of(x) if isinstance(x, _nd) else None
    if ba is None or ba._level is not lvl:
        return x
    p = ba._phys
    r = ba.ndim
    if r < R:
        p = p.reshape((lvl.B,) + (1,) * (R - r) + ba.shape)
    return p


def example(x, lvl, i):
    """Example ``i`` of ``x`` when it is batched at ``lvl`` (recursing into tuples and lists)."""
    if isinstance(x, _nd):
        ba = batched_of(x)
        if ba is not None and ba._level is lvl:
            return ba._phys[i, ...]
        return x
    if type(x) is tuple or type(x) is list:
        return type(x)(example(v, lvl, i) for v in x)
    if type(x) is dict:
        return {k: example(v, lvl, i) for k, v in x.items()}
    return x


def _leaves(x):
    if type(x) in (tuple, list):
        out = []
        for v in x:
            out.extend(_leaves(v))
        return out
    if type(x) is dict:
        return _leaves(list(x.values()))
    return [x]


def _map(x, fn):
    if type(x) in (tuple, list):
        return type(x)(_map(v, fn) for v in x)
    if type(x) is dict:
        return {k: _map(v, fn) for k, v in x.items()}
    return fn(x)


def loop(fn, args, kwargs, lvl):
    """Run ``fn`` once per example and stack the results (the fallback for NumPy functions without a rule)."""
    res = [fn(*example(tuple(args), lvl, i), **example(dict(kwargs), lvl, i)) for i in range(lvl.B)]
    return stack_results(res, lvl)


def stack_results(res, lvl):
    r0 = res[0]
    if isinstance(r0, tuple):
        return tuple(stack_results([r[k] for r in res], lvl) for k in range(len(r0)))
    if isinstance(r0, (_nd, np.generic)):
        return wrap(np.stack([r if isinstance(r, _nd) else np.asarray(r) for r in res]), lvl)
    if all(r == r0 for r in res):
        return r0
    return wrap(np.asarray(res), lvl)


# -- NumPy functions with rules ----------------------------------------------------------------------------

def _h_broadcast_to(array, shape, subok=False):
    ba = batched_of(array) if isinstance(array, _nd) else None
    if ba is None:
        return NotImplemented
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    p = aligned(ba, ba._level, len(shape))
    return wrap(np.broadcast_to(p, (ba._level.B,) + shape), ba._level)


def _h_where(cond, *xy):
    if not xy:
        return NotImplemented
    vals = [cond, *xy]
    lvl = top_level(vals)
    if lvl is None:
        return NotImplemented
    R = max(np.ndim(v) for v in vals)
    return wrap(np.where(*[aligned(v, lvl, R) for v in vals]), lvl)


def _h_stack(arrays, axis=0, out=None, **kw):
    arrays = list(arrays)
    lvl = top_level(arrays)
    if lvl is None or out is not None:
        return NotImplemented
    r = np.ndim(arrays[0])
    phys = [aligned(a, lvl, r) if level_of_array(a) is lvl else np.broadcast_to(a, (lvl.B,) + np.shape(a))
            for a in arrays]
    return wrap(np.stack(phys, axis=axis % (r + 1) + 1), lvl)


def _h_concatenate(arrays, axis=0, out=None, **kw):
    arrays = list(arrays)
    lvl = top_level(arrays)
    if lvl is None or out is not None or axis is None:
        return NotImplemented
    r = np.ndim(arrays[0])
    phys = [aligned(a, lvl, r) if level_of_array(a) is lvl else np.broadcast_to(a, (lvl.B,) + np.shape(a))
            for a in arrays]
    return wrap(np.concatenate(phys, axis=shift(axis, r)), lvl)


def _h_moveaxis(a, source, destination):
    ba = batched_of(a) if isinstance(a, _nd) else None
    if ba is None:
        return NotImplemented
    r = ba.ndim
    return wrap(np.moveaxis(ba._phys, shift(source, r), shift(destination, r)), ba._level)


def _h_expand_dims(a, axis):
    ba = batched_of(a) if isinstance(a, _nd) else None
    if ba is None:
        return NotImplemented
    r = ba.ndim
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    n = r + len(axes)
    return wrap(np.expand_dims(ba._phys, tuple(x % n + 1 for x in axes)), ba._level)


def _h_take_along_axis(arr, indices, axis):
    lvl = top_level([arr, indices])
    if lvl is None or axis is None:
        return NotImplemented
    r = np.ndim(arr)
    phys = [aligned(v, lvl, r) if level_of_array(v) is lvl else np.broadcast_to(v, (lvl.B,) + np.shape(v))
            for v in (arr, indices)]
    return wrap(np.take_along_axis(phys[0], phys[1], axis % r + 1), lvl)


def _method(name):
    def handler(a, *args, **kwargs):
        ba = batched_of(a) if isinstance(a, _nd) else None
        if ba is None or any(level_of_array(v) is not None for v in _leaves((args, kwargs)) if isinstance(v, _nd)):
            return NotImplemented
        return getattr(ba, name)(*args, **kwargs)
    return handler


_HANDLERS = {np.broadcast_to: _h_broadcast_to, np.where: _h_where, np.stack: _h_stack,
             np.concatenate: _h_concatenate, np.moveaxis: _h_moveaxis, np.expand_dims: _h_expand_dims,
             np.take_along_axis: _h_take_along_axis}
for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "any", "all", "argmax", "argmin", "cumsum",
              "cumprod", "reshape", "transpose", "squeeze", "swapaxes", "ravel", "copy", "var", "std"):
    _fn = getattr(np, _name, None)
    if _fn is not None:
        _HANDLERS[_fn] = _method({"amax": "max", "amin": "min"}.get(_name, _name))

_SHADOW_SAFE = {np.shape, np.ndim, np.size, np.result_type, np.can_cast, np.may_share_memory, np.shares_memory,
                np.iscomplexobj, np.isrealobj}
