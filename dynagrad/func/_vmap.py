"""vmap: run a function once on a whole batch, with per-op batching rules.

Each ``vmap`` call opens a level. Its inputs become *batched tensors*: the batch dimension is moved first
and hidden, so the function sees one example (``x.shape`` is the example's shape; ``x._data`` is a
``BatchedArray``, see ``_batched.py``). While a level is active ``Op.apply`` comes here (through
``autograd._dispatch``) for every op with a batched input: the inputs are turned into *physical* tensors
(batch first; an unbatched input that requires grad or carries a tangent is broadcast over the batch),
the op's batching rule (``_batch_rules.py``) computes the physical result, usually by calling the same op
with shifted dims, and the result is made logical again.

The two conversions are graph nodes: ``_ToPhys`` (logical -> physical) and ``_ToLogical`` (back), so
reverse mode flows through vmap in both directions. A gradient reaching an unbatched input that was
broadcast is kept per example while the level is active (``vmap(grad(f))`` gives per-sample gradients)
and summed over the batch once the level has exited (``grad(lambda x: vmap(f)(x).sum())``). Tangents
(forward AD) are carried across the conversions too, so ``jvp`` and ``vmap`` compose in either order.
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from ..autograd import _dispatch, state
from ..autograd.function import Op
from ..tensor import Tensor
from . import _batched
from ._batched import BatchedArray, batched_of, wrap
from ._pytree import tree_flatten, tree_unflatten

_nd = np.ndarray
_new = object.__new__


class VmapLevel:
    __slots__ = ("id", "B", "randomness", "active")

    def __init__(self, B: int, randomness: str) -> None:
        self.id = _dispatch.next_id()
        self.B = B
        self.randomness = randomness
        self.active = True


class BatchedTensor(Tensor):
    """A tensor inside vmap: one example's shape, all examples underneath (see the module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        ba = batched_of(self._data)
        if ba is None:
            return Tensor.__repr__(self)
        return f"BatchedTensor(lvl={ba._level.id}, bdim=0, value=\n{Tensor._wrap(ba._phys)!r})"

    __str__ = __repr__

    def item(self):
        raise RuntimeError("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
                           "calling .item() on a Tensor, please try to rewrite what you're doing with other "
                           "operations.")

    def tolist(self):
        raise RuntimeError("vmap: It looks like you're calling .tolist() on a Tensor inside vmap; this is not "
                           "supported.")

    def numpy(self, *, force: bool = False):
        raise RuntimeError("vmap: .numpy() on a batched tensor is not supported inside vmap.")

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    __hash__ = Tensor.__hash__


def _rebatching(name):
    base = getattr(Tensor, name)

    def method(self, *args, **kwargs):
        return rebatch(base(self, *args, **kwargs))
    method.__name__ = name
    return method


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__invert__", "__and__", "__or__",
              "__xor__", "__rand__", "__ror__", "__rxor__", "eq", "ne", "lt", "le", "gt", "ge", "greater",
              "greater_equal", "less", "less_equal", "not_equal", "logical_not", "logical_and", "logical_or",
              "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf", "isfinite",
              "isposinf", "isneginf", "signbit", "isclose", "argmax", "argmin", "argsort", "all", "any",
              "count_nonzero"):
    if hasattr(Tensor, _name):
        setattr(BatchedTensor, _name, _rebatching(_name))
BatchedTensor.__hash__ = object.__hash__


def rebatch(x):
    """A result computed in NumPy from batched data (a comparison, a mask) as a BatchedTensor."""
    if type(x) is Tensor:
        d = x._data
        if type(d) is not BatchedArray:
            ba = batched_of(d)
            if ba is not None:
                d = ba
        if type(d) is BatchedArray:
            t = _new(BatchedTensor)
            _init(t, d)
            t._requires_grad, t.grad_fn, t._output_nr = x._requires_grad, x.grad_fn, x._output_nr
            return t
        return x
    if type(x) is tuple:
        return tuple(rebatch(v) for v in x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(rebatch(v) for v in x))
    return x


def _init(t, arr) -> None:
    t._data = arr
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0, None]
    t._base = None
    t._hooks = None
    t._post_hooks = None


def _from_node(arr, node, cls=Tensor):
    t = _new(cls)
    _init(t, arr)
    t._requires_grad = True
    t.grad_fn = node
    return t


def _node(cls, x, out_arr, **attrs):
    """A graph node of ``cls`` for a one-input conversion (its output is made by the caller)."""
    ctx = cls.__new__(cls)
    for k, v in attrs.items():
        setattr(ctx, k, v)
    fn = x.grad_fn
    ctx.edges = [(fn, x._output_nr) if fn is not None else (x, 0)]
    ctx.source = None  # a conversion, not a user's op: errors name the ops around it
    ctx.meta = [(out_arr.shape, out_arr.dtype)]
    return ctx


# -- the two conversions -------------------------------------------------------------------------------

class _ToPhys(Op):
    """Logical tensor at ``level`` -> its examples, batch first (an unbatched input is broadcast)."""

    _level_op = True

    def forward(ctx, a, level):  # used by the batching rule of an inner level (see batched_apply)
        raise RuntimeError("internal: _ToPhys runs through to_phys()")

    def backward(self, g):
        lvl = self.level
        if self.lifted and not lvl.active:  # broadcast input, level over: the usual sum over the batch
            return (g.sum(axis=0) if isinstance(g, _nd) else g.sum(0),)
        if isinstance(g, _nd):
            return (wrap(g, lvl, private=False),)
        return (to_logical(g, lvl),)


class _ToLogical(Op):
    """Physical tensor (batch first) -> the logical tensor at ``level``."""

    _level_op = True

    def forward(ctx, p, level):
        raise RuntimeError("internal: _ToLogical runs through to_logical()")

    def backward(self, g):
        lvl = self.level
        if isinstance(g, _nd):
            ba = batched_of(g)
            if ba is not None and ba._level is lvl:
                return (ba._phys,)
            if ba is not None and ba._level.id > lvl.id:
                raise RuntimeError("vmap internal error: a gradient batched at an inner level reached an outer "
                                   "level's node without create_graph")
            return (np.broadcast_to(g, (lvl.B,) + g.shape),)
        return (to_phys(g, lvl),)


def _visible():
    return _dispatch.duals[:_dispatch.visible]


def _inner_level(x, lvl):
    """The level of ``x`` if it is batched at a level inside ``lvl``, else None."""
    ba = batched_of(x._data)
    if ba is not None and ba._level.id > lvl.id:
        return ba._level
    return None


def to_logical(P, lvl):
    """The logical tensor at ``lvl`` whose examples are ``P`` (batch first)."""
    inner = _inner_level(P, lvl)
    if inner is not None:
        return batched_apply(_ToLogical, (P,), {"level": lvl}, inner)
    ba = wrap(P._data, lvl, private=False)
    if state.grad_enabled and P._requires_grad:
        node = _node(_ToLogical, P, ba, level=lvl)
        t = _from_node(ba, node, BatchedTensor)
    else:
        node = None
        t = _new(BatchedTensor)
        _init(t, ba)
    ba._ptensor, ba._owner, ba._node = P, weakref.ref(t), node
    duals = _visible()
    for i, d in enumerate(duals):
        tp = d.get(P)
        if tp is not None:
            prev = _dispatch.visible
            _dispatch.visible = i
            try:
                d.set(t, to_logical(tp, lvl))
            finally:
                _dispatch.visible = prev
    return t


def to_phys(x, lvl):
    """The examples of ``x`` at ``lvl``, batch first; ``x`` not batched there is broadcast over the batch."""
    inner = _inner_level(x, lvl)
    if inner is not None:
        return batched_apply(_ToPhys, (x,), {"level": lvl}, inner)
    ba = batched_of(x._data)
    P = None
    if ba is not None and ba._level is lvl:
        own = ba._owner
        if own is not None and own() is x and x.grad_fn is ba._node and ba._ptensor is not None and (
                ba._node is not None or not x._requires_grad):
            P = ba._ptensor  # made by to_logical from this very tensor: its physical side, as it was
        arr, lifted = ba._phys, False
    else:
        d = x._data
        arr, lifted = np.broadcast_to(d, (lvl.B,) + d.shape), True
    if P is None:
        if state.grad_enabled and x._requires_grad:
            P = _from_node(arr, _node(_ToPhys, x, arr, level=lvl, lifted=lifted))
        else:
            P = Tensor._wrap(arr)
    duals = _visible()
    for i, d in enumerate(duals):
        t = d.get(x)
        if t is not None and d.get(P) is None:
            prev = _dispatch.visible
            _dispatch.visible = i
            try:
                d.set(P, to_phys(t, lvl))
            finally:
                _dispatch.visible = prev
    return P


def _level_rule(cls, inputs, kw, inner):
    """``_ToPhys``/``_ToLogical`` of an outer level applied to a tensor batched at ``inner``: convert the
    inner level's examples and move the inner batch dim back in front."""
    from ._batch_rules import permute
    lvl = kw["level"]
    P = to_phys(inputs[0], inner)  # inner examples first: (B_inner, ...)
    if cls is _ToPhys:
        out = to_phys(P, lvl)  # (B_outer, B_inner, ...)
        return to_logical(permute(out, (1, 0) + tuple(range(2, out.ndim))), inner)
    moved = permute(P, (1, 0) + tuple(range(2, P.ndim)))  # (B_outer, B_inner, ...)
    return to_logical(to_logical(moved, lvl), inner)


# -- dispatch ------------------------------------------------------------------------------------------------

def level_of(cls, inputs, kw):
    """The innermost vmap level at which an input (or a static array argument) of the op is batched."""
    best = None
    for x in inputs:
        if isinstance(x, Tensor):
            d = x._data
            if type(d) is BatchedArray or (type(d) is _nd and type(d.base) is BatchedArray):
                ba = batched_of(d)
                if ba is not None and (best is None or ba._level.id > best.id):
                    best = ba._level
    if kw:
        for v in kw.values():
            if isinstance(v, _nd):
                lv = _batched.level_of_array(v)
            elif type(v) is tuple or type(v) is list:
                lv = _batched.top_level(v)
            else:
                continue
            if lv is not None and (best is None or lv.id > best.id):
                best = lv
    if best is None:
        return None
    if getattr(cls, "_level_op", False):
        own = kw["level"]
        if best.id <= own.id:
            return None
    if not best.active:
        raise RuntimeError("vmap: a batched tensor was used after its vmap returned (it escaped through a side "
                           "channel: a global, a closure, an attribute); return it from the function instead")
    return best


_RULE_FOR = [None]


def batched_apply(cls, inputs, kw, lvl):
    """Run op ``cls`` on inputs of which some are batched at ``lvl``: physical in, rule, logical out."""
    if getattr(cls, "_level_op", False):
        return _level_rule(cls, inputs, kw, lvl)
    rule_for = _RULE_FOR[0]
    if rule_for is None:
        from ._batch_rules import rule_for
        _RULE_FOR[0] = rule_for
    ge = state.grad_enabled
    duals = _visible()
    args, bat = [], []
    for x in inputs:
        if isinstance(x, Tensor):
            ba = batched_of(x._data)
            if ba is not None and ba._level is lvl:
                args.append(to_phys(x, lvl))
                bat.append(True)
                continue
            if (ge and x._requires_grad) or (duals and any(d.get(x) is not None for d in duals)):
                args.append(to_phys(x, lvl))  # broadcast, so its gradient / tangent can differ per example
                bat.append(True)
                continue
        args.append(x)
        bat.append(False)
    out = rule_for(cls)(cls, args, bat, kw, lvl)
    if type(out) is tuple:
        return tuple(to_logical(o, lvl) if isinstance(o, Tensor) else o for o in out)
    return to_logical(out, lvl)


# -- randomness -----------------------------------------------------------------------------------------------
# dynagrad draws random numbers through the array-level draws of dynagrad.random (arrays of a given shape);
# while a vmap with randomness 'error' or 'different' is active they are replaced by versions that raise, or
# that draw every example's numbers and return them batched.

def _draw_names() -> tuple:
    from .. import random as R
    return R._vmap_draw_names()


_rng_state: dict = {"orig": {}, "users": 0}


def _random_levels():
    levels = list(_dispatch.vmaps)
    for lv in levels:
        if lv.randomness == "error":
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use "
                               "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                               "operation out of vmap")
    return [lv for lv in levels if lv.randomness == "different"]


def _batched_draw(arr, levels):
    for lv in levels:  # outermost first: each layer hides one batch dim
        arr = wrap(arr, lv)
    return arr


def _shape_draw(orig):
    def draw(shape, *args, **kwargs):
        levels = _random_levels()
        if not levels:
            return orig(shape, *args, **kwargs)
        lead = tuple(lv.B for lv in levels)
        return _batched_draw(orig(lead + tuple(shape), *args, **kwargs), levels)
    return draw


def _install_rng() -> None:
    from .. import random as R
    if _rng_state["users"] == 0:
        orig = {n: getattr(R, n) for n in _draw_names()}
        _rng_state["orig"] = orig
        for n, f in orig.items():
            setattr(R, n, _shape_draw(f))
    _rng_state["users"] += 1


def _remove_rng() -> None:
    from .. import random as R
    _rng_state["users"] -= 1
    if _rng_state["users"] == 0:
        for n, f in _rng_state["orig"].items():
            setattr(R, n, f)


# -- the API --------------------------------------------------------------------------------------------------

def _dims_for(in_dims, args):
    """One in_dim per flattened leaf of ``args`` (``in_dims`` is an int/None or a prefix tree of them)."""
    if in_dims is None or isinstance(in_dims, int):
        return [in_dims] * len(tree_flatten(args)[0])
    if not isinstance(in_dims, (tuple, list)):
        raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a (potentially "
                         f"nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if len(in_dims) != len(args):
        raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure "
                         f"of `inputs`. in_dims has structure {len(in_dims)} but inputs has {len(args)} elements.")
    out = []
    for d, a in zip(in_dims, args):
        out.extend(_prefix(d, a))
    return out


def _prefix(d, a):
    if d is None or isinstance(d, int):
        return [d] * len(tree_flatten(a)[0])
    if isinstance(d, dict):
        return [x for k in a for x in _prefix(d[k], a[k])]
    return [x for dd, aa in zip(d, a) for x in _prefix(dd, aa)]


def _batch_size(flat, dims):
    sizes = set()
    for x, d in zip(flat, dims):
        if d is None:
            continue
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap: Got in_dim={d} for an input but the input is of type {type(x)}. We cannot vmap "
                             f"over non-Tensor arguments, please use None as the respective in_dim")
        if not -x.ndim <= d < max(x.ndim, 1) or x.ndim == 0:
            raise ValueError(f"vmap: Got in_dim={d} for some input, but that input is a Tensor of dimensionality "
                             f"{x.ndim} so expected in_dim to satisfy -{x.ndim} <= in_dim < {x.ndim}.")
        sizes.add(x.shape[d])
    if not sizes:
        raise ValueError("vmap: at least one input must be mapped over (got in_dims=None for every input)")
    if len(sizes) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sorted(sizes)} for the mapped dimension")
    B = sizes.pop()
    if B == 0:
        raise ValueError("vmap: the mapped dimension has size 0; dynagrad.func.vmap needs at least one example")
    return B


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """Vectorise ``func`` over a dimension of its inputs: ``vmap(f)(x)`` is ``stack([f(xi) for xi in x])``,
    computed in one pass with batched ops.

    >>> import dynagrad
    >>> from dynagrad.func import vmap
    >>> vmap(lambda a, b: a @ b, in_dims=(0, None))(dynagrad.ones(5, 3), dynagrad.ones(3)).shape  # 5 dots
    torch.Size([5])

    ``in_dims``/``out_dims``: which dim of each input is mapped (None: not mapped) and where the batch dim
    goes in each output; ``randomness``: 'error' (random ops raise), 'different' or 'same' across the batch;
    ``chunk_size``: run the batch in chunks of this size (less memory).
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        flat, spec = tree_flatten(args)
        dims = _dims_for(in_dims, args)
        B = _batch_size(flat, dims)
        dims = [None if d is None else d % flat[i].ndim for i, d in enumerate(dims)]
        if chunk_size is None or chunk_size >= B:
            return _run(func, flat, spec, dims, B, out_dims, randomness, kwargs)
        parts = []
        for start in range(0, B, chunk_size):
            n = min(chunk_size, B - start)
            sub = [x if d is None else x.narrow(d, start, n) for x, d in zip(flat, dims)]
            parts.append(_run(func, sub, spec, dims, n, out_dims, randomness, kwargs))
        return _concat_chunks(parts, out_dims)
    return wrapped


def _concat_chunks(parts, out_dims):
    from ..ops.shape import cat
    flats = [tree_flatten(p) for p in parts]
    spec = flats[0][1]
    odims = _out_dims_for(out_dims, parts[0], len(flats[0][0]))
    res = []
    for k, d in enumerate(odims):
        vals = [f[0][k] for f in flats]
        res.append(vals[0] if d is None else cat(vals, d))
    return tree_unflatten(res, spec)


def _out_dims_for(out_dims, out, n):
    if out_dims is None or isinstance(out_dims, int):
        return [out_dims] * n
    if isinstance(out, tuple) and isinstance(out_dims, (tuple, list)) and len(out_dims) == len(out):
        return [x for d, o in zip(out_dims, out) for x in _prefix(d, o)]
    raise ValueError(f"vmap(f, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the structure "
                     f"of `outputs`.")


def _run(func, flat, spec, dims, B, out_dims, randomness, kwargs):
    from ..ops.shape import movedim
    lvl = VmapLevel(B, randomness)
    _dispatch.vmaps.append(lvl)
    _dispatch.refresh()
    if randomness != "same":
        _install_rng()
    try:
        largs = [x if d is None else to_logical(x if d == 0 else movedim(x, d, 0), lvl) for x, d in zip(flat, dims)]
        out = func(*tree_unflatten(largs, spec), **kwargs)
        oflat, ospec = tree_flatten(out)
        odims = _out_dims_for(out_dims, out, len(oflat))
        res = []
        for o, d in zip(oflat, odims):
            if not isinstance(o, Tensor):
                if d is None:
                    res.append(o)
                    continue
                raise ValueError(f"vmap: `{getattr(func, '__name__', 'f')}` must only return Tensors, got type "
                                 f"{type(o)}. Did you mean to set out_dims= to None for output?")
            ba = batched_of(o._data)
            batched = ba is not None and ba._level is lvl
            if d is None:
                if batched:
                    raise ValueError("vmap: out_dims=None for an output that is batched (it depends on a mapped "
                                     "input); only unbatched outputs can have out_dim None")
                res.append(o)
                continue
            P = to_phys(o, lvl)
            if not batched and P._data.strides[0] == 0:
                P = P.contiguous() if not P._requires_grad else P.clone()
            res.append(P if d % P.ndim == 0 else movedim(P, 0, d))
    finally:
        lvl.active = False
        _dispatch.vmaps.remove(lvl)
        _dispatch.refresh()
        if randomness != "same":
            _remove_rng()
    return tree_unflatten(res, ospec)
