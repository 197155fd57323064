"""Indexing: ``x[idx]``, ``x[idx] = v``, gather / scatter, index_select / index_add, masks, where (sorting and
counting are in sorting.py).

Basic indexing (ints, slices, None, Ellipsis) returns a view; integer and boolean tensor indices copy, and
their backward accumulates with ``np.add.at`` so repeated indices add up, as in PyTorch.
"""
from __future__ import annotations

from .. import _source, dtypes
from ..autograd import state
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor, bump_version
from . import _dual as D
from .reduce import normalize_dim
from .shape import as_view

_nd = xp.ndarray
_BASIC = (int, slice, type(None), type(Ellipsis))


_AS_TUPLE = (list, tuple, range, slice, Tensor, _nd)


def _sequence_as_tuple(idx: list) -> bool:
    """PyTorch's (and old NumPy's) rule: a short list holding a sequence, slice, ``...``, None or a tensor is a
    tuple of indices (``x[[rows, cols]]`` is ``x[rows, cols]``); any other list is one integer index."""
    if len(idx) >= 32:
        return False
    for i in idx:
        if type(i) is not int and (i is None or i is Ellipsis or isinstance(i, _AS_TUPLE)):
            return True
    return False


def to_np_index(idx):
    """Convert an index with Tensors/lists into one NumPy understands; say whether it is basic."""
    if not isinstance(idx, tuple):
        idx = tuple(idx) if type(idx) is list and _sequence_as_tuple(idx) else (idx,)
    out = []
    basic = True
    for i in idx:
        if isinstance(i, Tensor):
            a = i._data
            if a.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.dtype == xp.uint8:
                a = a.astype(bool)
            out.append(a)
            basic = False
        elif isinstance(i, bool):
            out.append(i)
            basic = False
        elif isinstance(i, (list, _nd, range)):
            a = xp.asarray([v.item() if isinstance(v, Tensor) else v for v in i] if isinstance(i, list) else i)
            if a.dtype.kind == "f" and isinstance(i, list):  # PyTorch truncates a list of Python floats
                a = a.astype(xp.int64)
            if a.dtype.kind not in "biu" and a.size:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a.astype(xp.int64) if a.size == 0 else a)
            basic = False
        elif isinstance(i, _BASIC):
            out.append(i)
        elif isinstance(i, xp.integer):
            out.append(int(i))
        elif hasattr(i, "__index__"):
            out.append(i.__index__())
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                             f"are valid indices (got {type(i).__name__})")
    for i in out:
        if isinstance(i, slice) and i.step is not None and i.step <= 0:
            raise ValueError("step must be greater than zero")
    return tuple(out), basic


def _index_error(x, e):
    return IndexError(f"{e} (indexing a tensor of shape {list(x._data.shape)}, at {_source.here()})")


class SliceBackward0(Op):
    """Basic indexing: a view; the gradient is written into zeros at the same place."""

    def name(self):
        return "SelectBackward0" if any(isinstance(i, int) for i in self.idx) else "SliceBackward0"

    def forward(ctx, a, idx):
        if ctx is not None:
            ctx.in_shape, ctx.idx = a.shape, idx
        return a[idx]

    def backward(self, g):
        if D.is_array(g):
            out = xp.zeros(self.in_shape, g.dtype)
            out[self.idx] = g
            return (out,)
        from ..creation import zeros
        return (index_put(zeros(self.in_shape, dtype=g.dtype), self.idx, g),)


class IndexBackward0(Op):
    """Advanced indexing: a copy; repeated indices accumulate their gradients."""

    def forward(ctx, a, idx):
        if ctx is not None:
            ctx.in_shape, ctx.idx = a.shape, idx
        return a[idx]

    def backward(self, g):
        if D.is_array(g):
            out = xp.zeros(self.in_shape, g.dtype)
            idx = self.idx
            if len(idx) == 1 and type(idx[0]) is _nd and idx[0].dtype == bool:
                out[idx] = g  # a mask selects each element once
            else:
                xp.add.at(out, idx, g)
            return (out,)
        from ..creation import zeros
        return (index_put(zeros(self.in_shape, dtype=g.dtype), self.idx, g, accumulate=True),)


def getitem(x, idx):
    """``x[idx]`` with NumPy/PyTorch semantics."""
    if type(idx) is int and x._data.ndim:  # the common x[i]
        n = x._data.shape[0]
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of bounds for dimension 0 with size {n}")
        return as_view(SliceBackward0.apply(x, idx=(idx, Ellipsis)), x)  # `...`: a 0-d view, not a scalar
    if type(idx) is slice and (idx.step is None or type(idx.step) is int and idx.step > 0):  # x[a:b]
        try:
            return as_view(SliceBackward0.apply(x, idx=(idx,)), x)
        except IndexError as e:
            raise _index_error(x, e) from None
    npidx, basic = to_np_index(idx)
    try:
        if basic:
            if Ellipsis not in npidx:
                npidx += (Ellipsis,)
            return as_view(SliceBackward0.apply(x, idx=npidx), x)
        return IndexBackward0.apply(x, idx=npidx)
    except IndexError as e:
        raise _index_error(x, e) from None


class IndexPutBackward0(Op):
    """``out = base.clone(); out[idx] = values`` (or ``+=`` with accumulate)."""

    def forward(ctx, base, values, idx, accumulate):
        if ctx is not None:
            ctx.idx, ctx.accumulate = idx, accumulate
        out = base.copy()
        if accumulate:
            xp.add.at(out, idx, values)
        else:
            out[idx] = values
        return out

    def backward(self, g):
        idx = self.idx
        if D.is_array(g):
            gv = g[idx]
            if self.accumulate:
                return g, gv
            gb = g.copy()
            gb[idx] = 0
            return gb, gv
        gv = getitem(g, idx)
        if self.accumulate:
            return g, gv
        from ..creation import zeros
        return index_put(g, idx, zeros(gv.shape, dtype=g.dtype)), gv


def index_put(x, indices, values, accumulate: bool = False):
    """Out-of-place ``x[indices] = values`` (``+=`` when accumulate)."""
    npidx, _ = to_np_index(indices) if not (isinstance(indices, tuple) and all(
        isinstance(i, (_nd,) + _BASIC) for i in indices)) else (indices, None)
    if not isinstance(values, Tensor):
        values = Tensor._wrap(xp.asarray(values, dtype=x._data.dtype))
    elif values._data.dtype != x._data.dtype:
        values = values.to(x.dtype)
    return IndexPutBackward0.apply(x, values, idx=npidx, accumulate=accumulate)


def index_put_(x, indices, values, accumulate: bool = False):
    from .inplace import apply_inplace
    return apply_inplace(x, index_put, indices, values, accumulate)


def setitem(x, idx, value) -> None:
    """``x[idx] = value`` in place; recorded in the graph when either side requires grad."""
    npidx, _ = to_np_index(idx)
    from .inplace import apply_inplace
    if isinstance(value, Tensor) or not state.grad_enabled or not x._requires_grad:
        if not (state.grad_enabled and (x._requires_grad or (isinstance(value, Tensor) and value._requires_grad))):
            v = value._data if isinstance(value, Tensor) else value
            try:
                x._data[npidx] = v
            except IndexError as e:
                raise _index_error(x, e) from None
            except ValueError as e:
                if "read-only" in str(e):
                    raise _overlap_error() from None
                raise RuntimeError(f"shape mismatch: value tensor of shape {list(xp.shape(v))} cannot be "
                                   f"broadcast to indexing result of shape "
                                   f"{list(x._data[npidx].shape)} (at {_source.here()})") from None
            bump_version(x)
            return
    apply_inplace(x, index_put, npidx, value)


def _overlap_error():
    return RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a single "
                        "memory location. Please clone() the tensor before performing the operation.")


# -- gather / scatter -----------------------------------------------------------------------------------------

def _check_index(index, name):
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    return index._data


def _check_bounds(idx, n, axis, prefix="", exc=RuntimeError):
    """PyTorch's error for an index outside [0, n) (these ops take no negative indices)."""
    if idx.size:
        every = getattr(idx, "_phys", None)  # under vmap: check every example's indices
        every = idx if every is None else every
        lo, hi = int(every.min()), int(every.max())
        if lo < 0 or hi >= n:
            raise exc(f"{prefix}index {lo if lo < 0 else hi} is out of bounds for dimension {axis} with size {n}")


class GatherBackward0(Op):
    def forward(ctx, a, axis, index):
        if ctx is not None:
            ctx.in_shape, ctx.axis, ctx.index = a.shape, axis, index
        return xp.take_along_axis(a, index, axis) if index.shape[:axis] + index.shape[axis + 1:] == \
            a.shape[:axis] + a.shape[axis + 1:] else _gather_small(a, axis, index)

    def backward(self, g):
        if D.is_array(g):
            out = xp.zeros(self.in_shape, g.dtype)
            xp.add.at(out, _full_index(self.index, self.axis), g)
            return (out,)
        from ..creation import zeros
        return (scatter_add(zeros(self.in_shape, dtype=g.dtype), self.axis, Tensor._wrap(self.index), g),)


def _full_index(index, axis):
    """Open-mesh index tuple addressing ``a[..., index[...], ...]`` along ``axis``."""
    grids = list(xp.ogrid[tuple(slice(0, s) for s in index.shape)]) if index.ndim else []
    grids[axis] = index
    return tuple(grids)


def _gather_small(a, axis, index):
    # torch allows index smaller than input in the other dims
    return a[_full_index(index, axis)]


def gather(x, dim: int, index, *, sparse_grad: bool = False):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim``."""
    idx = _check_index(index, "gather")
    axis = normalize_dim(dim, x._data.ndim)
    if idx.ndim != x._data.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(idx.ndim):
        if d != axis and idx.shape[d] > x._data.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(idx.shape)} to be "
                               f"smaller than self {list(x._data.shape)} apart from dimension {axis}")
    if x._data.ndim == 0:  # a 0-d input: index 0 of its one element
        _check_bounds(idx, 1, 0)
        return GatherBackward0.apply(x.reshape(1), axis=0, index=idx.reshape(1).astype(xp.intp)).reshape(())
    _check_bounds(idx, x._data.shape[axis], axis)
    return GatherBackward0.apply(x, axis=axis, index=idx.astype(xp.intp, copy=False))


class ScatterBackward0(Op):
    def forward(ctx, a, src, axis, index, reduce):
        if ctx is not None:
            ctx.axis, ctx.index, ctx.reduce = axis, index, reduce
            ctx.src_shape = src.shape if type(src) is _nd else None
            if reduce == "multiply":
                ctx.save, ctx.save_output = (0, 1), True
        out = a.copy()
        full = _full_index(index, axis)
        s = src[tuple(slice(0, n) for n in index.shape)] if type(src) is _nd and src.shape != index.shape else src
        if reduce == "add":
            xp.add.at(out, full, s)
        elif reduce == "multiply":
            xp.multiply.at(out, full, s)
        else:
            out[full] = s
        return out

    def backward(self, g, *saved):
        full = _full_index(self.index, self.axis)
        src_edge = self.edges[1][0] is not None
        if self.reduce == "add":
            gs = (g[full] if D.is_array(g) else gather(g, self.axis, Tensor._wrap(self.index))) if src_edge else None
            return g, self._src_shaped(gs)
        if self.reduce == "multiply":  # out = a * prod(src at each position): d/da = out / a, d/dsrc = out / src
            a, src, out = saved
            go = g * out
            gs = None
            if src_edge:
                picked = go[full] if D.is_array(go) else gather(go, self.axis, Tensor._wrap(self.index))
                gs = self._src_shaped(picked / (src[tuple(slice(0, n) for n in self.index.shape)]
                                                if tuple(src.shape) != self.index.shape else src))
            return go / a, gs
        if D.is_array(g):
            gs = g[full] if src_edge else None
            ga = g.copy()
            ga[full] = 0
            return ga, self._src_shaped(gs)
        gs = gather(g, self.axis, Tensor._wrap(self.index)) if src_edge else None
        from ..creation import zeros
        return (scatter(g, self.axis, Tensor._wrap(self.index), zeros(self.index.shape, dtype=g.dtype)),
                self._src_shaped(gs))

    def _src_shaped(self, gs):
        """src may be larger than index: its other elements get zero gradients."""
        shape = self.src_shape
        if gs is None or shape is None or tuple(gs.shape) == shape:
            return gs
        region = tuple(slice(0, n) for n in self.index.shape)
        if D.is_array(gs):
            out = xp.zeros(shape, gs.dtype)
            out[region] = gs
            return out
        from ..creation import zeros
        return index_put(zeros(shape, dtype=gs.dtype), region, gs)


def _scatter(x, dim, index, src, reduce):
    idx = _check_index(index, "scatter")
    axis = normalize_dim(dim, x._data.ndim)
    _check_bounds(idx, x._data.shape[axis] if x._data.ndim else 1, axis)
    if not isinstance(src, Tensor):
        src = Tensor._wrap(xp.full(idx.shape, src, dtype=x._data.dtype))
    elif src._data.dtype != x._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if reduce == "add" and src._data.shape != idx.shape:
        src = src[tuple(slice(0, n) for n in idx.shape)]
    return ScatterBackward0.apply(x, src, axis=axis, index=idx.astype(xp.intp, copy=False), reduce=reduce)


def scatter(x, dim: int, index, src=None, *, value=None, reduce=None):
    """Out-of-place ``x[i][index[i][j]] = src[i][j]`` along ``dim``."""
    if src is None:
        src = value
    return _scatter(x, dim, index, src, reduce)


def scatter_add(x, dim: int, index, src):
    return _scatter(x, dim, index, src, "add")


class ScatterReduceBackward0(ScatterBackward0):
    """scatter_reduce with amax/amin: the gradient is shared evenly by the elements equal to the result."""

    save = (0, 1)
    save_output = True

    def forward(ctx, a, src, axis, index, is_max, include_self):
        full = _full_index(index, axis)
        s = src[tuple(slice(0, n) for n in index.shape)]
        out = a.copy()
        if not include_self:
            out[full] = s
        (xp.maximum if is_max else xp.minimum).at(out, full, s)
        if ctx is not None:
            ctx.axis, ctx.index, ctx.src_shape, ctx.include_self = axis, index, src.shape, include_self
        return out

    def backward(self, g, a, src, out):
        full = _full_index(self.index, self.axis)
        av, sv, ov = (v._data if isinstance(v, Tensor) else v for v in (a, src, out))
        sv = sv[tuple(slice(0, n) for n in self.index.shape)]
        hit_self = av == ov
        if not self.include_self:
            hit_self[full] = False
        hit_src = sv == ov[full]
        count = hit_self.astype(av.dtype)
        xp.add.at(count, full, hit_src)
        share = D.const(1 / xp.maximum(count, 1), g)
        ga = D.mask(g * share, hit_self) if self.edges[0][0] is not None else None
        gs = None
        if self.edges[1][0] is not None:
            gg = g * share
            picked = gg[full] if D.is_array(gg) else gather(gg, self.axis, Tensor._wrap(self.index))
            gs = self._src_shaped(D.mask(picked, hit_src))
        return ga, gs


def scatter_reduce(x, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``x`` at ``index`` along ``dim`` with sum, prod, mean, amax or amin."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    idx = _check_index(index, "scatter_reduce")
    axis = normalize_dim(dim, x._data.ndim)
    if src._data.dtype != x._data.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    if reduce in ("amax", "amin"):
        return ScatterReduceBackward0.apply(x, src, axis=axis, index=idx.astype(xp.intp, copy=False),
                                            is_max=reduce == "amax", include_self=include_self)
    full = _full_index(idx, axis)
    if not include_self:  # the positions written to start from the reduction's identity
        touched = xp.zeros(x._data.shape, bool)
        touched[full] = True
        x = masked_fill(x, Tensor._wrap(touched), 1 if reduce == "prod" else 0)
    if reduce == "sum":
        return scatter_add(x, dim, index, src)
    if reduce == "prod":
        return _scatter(x, dim, index, src, "multiply")
    cnt = xp.full(x._data.shape, 1 if include_self else 0, x._data.dtype)
    xp.add.at(cnt, full, 1)
    total = scatter_add(x, dim, index, src)
    cnt = Tensor._wrap(xp.maximum(cnt, 1))
    return total / cnt if x._data.dtype.kind == "f" else total // cnt


def index_select(x, dim: int, index):
    """The slices of ``x`` at positions ``index`` (1-D) along ``dim``."""
    idx = _check_index(index, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = normalize_dim(dim, x._data.ndim)
    n = x._data.shape[axis] if x._data.ndim else 1
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise IndexError("index out of range in self")
    if x._data.ndim == 0:
        if idx.size != 1:
            raise IndexError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
        return IndexBackward0.apply(x.reshape(1), idx=(idx.reshape(-1),)).reshape(())
    return IndexBackward0.apply(x, idx=(slice(None),) * axis + (idx.reshape(-1),))


def _index_args(name, x, dim, index):
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        got = dtypes.scalar_name(index.dtype) if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index but got: {got}")
    if index._data.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return normalize_dim(dim, x._data.ndim)


def index_add(x, dim: int, index, source, *, alpha=1):
    """``x`` with ``alpha * source``'s slices added at positions ``index`` along ``dim`` (repeats add up)."""
    axis = _index_args("index_add_", x, dim, index)
    n = x._data.shape[axis] if x._data.ndim else 1
    _check_bounds(index._data, n, axis)
    if isinstance(source, Tensor) and x._data.ndim and source._data.ndim:
        want = x._data.shape[:axis] + (index._data.size,) + x._data.shape[axis + 1:]
        if source._data.shape != want:
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension."
                               f" Got self.shape = {list(x._data.shape)} source.shape = {list(source._data.shape)}")
    if alpha != 1:
        source = source * alpha
    return index_put(x, (slice(None),) * axis + (index._data,), source, accumulate=True)


def index_reduce(x, dim: int, index, source, reduce: str, *, include_self: bool = True):
    """``x`` with ``source``'s slices reduced (``'prod'``, ``'mean'``, ``'amax'``, ``'amin'``) into the positions
    ``index`` along ``dim`` (``scatter_reduce`` with the index spread over the other dims)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        raise RuntimeError("index_reduce_(): Expected dtype int32/int64 for index")
    idx = index._data
    if idx.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {idx.ndim} with type: "
                         f"{dtypes.scalar_name(index.dtype)} and size: {list(idx.shape)}")
    axis = normalize_dim(dim, x._data.ndim)
    src = source._data
    n_src = src.shape[axis] if src.ndim else 1
    if idx.size != n_src:
        raise RuntimeError(f"index_reduce_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({n_src}), for dim: {dim}")
    if source._data.dtype != x._data.dtype:
        raise RuntimeError(f"index_reduce_(): self ({dtypes.scalar_name(x.dtype)}) and source "
                           f"({dtypes.scalar_name(source.dtype)}) must have the same scalar type")
    n = x._data.shape[axis] if x._data.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    shape = [1] * src.ndim
    if src.ndim:
        shape[axis] = idx.size
    full = xp.broadcast_to(idx.reshape(shape), src.shape).astype(xp.int64)
    return scatter_reduce(x, axis, Tensor._wrap(full), source, reduce, include_self=include_self)


def index_copy(x, dim, index, source):
    axis = _index_args("index_copy_", x, dim, index)
    _check_bounds(index._data, x._data.shape[axis] if x._data.ndim else 1, axis, "index_copy_(): ", IndexError)
    return index_put(x, (slice(None),) * axis + (index._data,), source)


def index_fill(x, dim, index, value):
    axis = _index_args("index_fill_", x, dim, index)
    n = x._data.shape[axis] if x._data.ndim else 1
    if index._data.size and (index._data.min() < -n or index._data.max() >= n):
        bad = int(index._data.max() if index._data.max() >= n else index._data.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {axis} with size {n}")
    return index_put(x, (slice(None),) * axis + (index._data,), value)


# -- masks and selection ----------------------------------------------------------------------------------------

class WhereBackward0(Op):
    def forward(ctx, a, b, cond):
        if ctx is not None:
            ctx.cond = cond
        return xp.where(cond, a, b)

    def backward(self, g):
        c = self.cond
        return (D.mask(g, c) if self.edges[0][0] is not None else None,
                D.mask(g, ~c) if self.edges[1][0] is not None else None)


def where(condition, input=None, other=None):  # noqa: A002
    """Elementwise ``input if condition else other``; with one argument, the indices of nonzeros."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    from .elementwise import _prep
    c = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
    if c.dtype != bool:
        if isinstance(condition, Tensor) and c.dtype != xp.uint8:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{dtypes.scalar_name(condition.dtype)} (at {_source.here()})")
        c = c.astype(bool)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # two numbers
        return Tensor._wrap(xp.asarray(xp.where(c, input, other), dtype=dtypes.result_type(input, other).numpy))
    a, b = _prep(input, other)
    try:
        return WhereBackward0.apply(a, b, cond=c)
    except ValueError as e:
        raise RuntimeError(f"where: shapes {list(c.shape)}, {list(xp.shape(a._data if isinstance(a, Tensor) else a))}"
                           f" and {list(xp.shape(b._data if isinstance(b, Tensor) else b))} are not broadcastable "
                           f"({e}; at {_source.here()})") from None


def masked_fill(x, mask, value):
    """``x`` with ``value`` where ``mask`` is True (mask broadcasts)."""
    m = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{dtypes.from_numpy(m.dtype)}")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        value = value.to(x.dtype) if value._requires_grad else value._data.astype(x._data.dtype).item()
    elif type(value) is not float or x._data.dtype.kind != "f":  # (a float needs no conversion for a float x)
        value = xp.asarray(value).astype(x._data.dtype).item() if x._data.dtype.kind != "V" else value
    if m.shape != x._data.shape and _broadcast_shape(m.shape, x._data.shape) != x._data.shape:
        raise RuntimeError(f"The size of the mask {list(m.shape)} must be broadcastable to the tensor "
                           f"{list(x._data.shape)} (at {_source.here()})")
    if isinstance(value, Tensor):
        return where(Tensor._wrap(m), value, x)
    return MaskedFillBackward0.apply(x, mask=m, value=value)


def _broadcast_shape(a, b):
    try:
        return xp.broadcast_shapes(a, b)
    except ValueError:
        return None


class MaskedFillBackward0(Op):
    def forward(ctx, a, mask, value):
        if ctx is not None:
            ctx.mask = mask
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    def backward(self, g):
        return (D.mask(g, ~xp.broadcast_to(self.mask, g.shape)),)


def masked_select(x, mask):
    """The elements of ``x`` where the boolean ``mask`` (broadcast) is True, as a 1-D tensor."""
    m = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = xp.broadcast_shapes(m.shape, x._data.shape)
    from .shape import expand
    xe = expand(x, shape) if x._data.shape != shape else x
    return IndexBackward0.apply(xe, idx=(xp.broadcast_to(m, shape),))


def masked_scatter(x, mask, source):
    m = xp.broadcast_to(mask._data, x._data.shape)
    n = int(m.sum())
    from .shape import reshape
    return index_put(x, (m,), reshape(source, -1)[:n])


def put(input, index, source, accumulate: bool = False):  # noqa: A002
    """``input`` with ``source``'s values written (or, with ``accumulate``, added) at the positions ``index`` of
    its flattened form (negative indices count from the end)."""
    from .shape import reshape
    n = input._data.size
    if not isinstance(index, Tensor) or index._data.dtype != xp.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{dtypes.scalar_name(index.dtype) if isinstance(index, Tensor) else type(index).__name__}")
    idx = index._data.reshape(-1)
    if source._data.size != idx.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source._data.size}, index.numel() = {idx.size}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"put_(): self ({dtypes.scalar_name(input.dtype)}) and source "
                           f"({dtypes.scalar_name(source.dtype)}) must have the same scalar type")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.max() if idx.max() >= n else idx.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    idx = xp.where(idx < 0, idx + n, idx)
    out = index_put(reshape(input, -1), (Tensor._wrap(idx),), reshape(source, -1), accumulate=accumulate)
    return reshape(out, input._data.shape)


def take(x, index):
    from .shape import reshape
    return getitem(reshape(x, -1), index)


def take_along_dim(x, indices, dim=None):
    if dim is None:
        from .shape import reshape
        return gather(reshape(x, -1), 0, reshape(indices, -1))
    return gather(x, dim, indices)


def nonzero(x, *, as_tuple: bool = False):
    if x._data.ndim == 0:  # PyTorch: a 0-d input is one element with no index columns
        n = int(bool(x._data))
        return (Tensor._wrap(xp.zeros(n, xp.int64)),) if as_tuple else Tensor._wrap(xp.zeros((n, 0), xp.int64))
    nz = xp.nonzero(x._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(xp.int64)) for i in nz) if x._data.ndim else \
            (Tensor._wrap(xp.zeros(int(bool(x._data)), xp.int64)),)
    return Tensor._wrap(xp.stack(nz, axis=1).astype(xp.int64) if x._data.ndim else
                        xp.zeros((int(bool(x._data)), 0), xp.int64))


def argwhere(x):
    return nonzero(x)
