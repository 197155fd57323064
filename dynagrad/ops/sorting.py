"""Sorting, selection and counting: sort, argsort, topk, kthvalue, median/nanmedian, mode, quantile, unique,
unique_consecutive, bincount, histc, histogram/histogramdd, searchsorted, bucketize.

Selection ops find their indices in NumPy and gather the values, so gradients go to the selected elements
(PyTorch's value-selecting backward); median and nanmedian of a whole tensor share the gradient among the
elements equal to the result, as PyTorch's evenly-distributed backward. NaN sorts as the largest value. Among
equal values, PyTorch's CPU kernels (std::nth_element, std::partial_sort) return an implementation-defined
one; here it is the first in sorted (stable) order.

>>> import dynagrad as torch
>>> torch.mode(torch.tensor([1, 2, 2, 3]))
torch.return_types.mode(
values=tensor(2),
indices=tensor(2))
>>> torch.bucketize(torch.tensor([0.5, 2.0]), torch.tensor([1.0, 2.0]), right=True)
tensor([0, 2])
"""
from __future__ import annotations

from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from . import _dual as D
from .index import gather
from .reduce import normalize_dim, return_types

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "quantile", "nanquantile",
           "unique", "unique_consecutive", "bincount", "histc", "histogram", "histogramdd", "searchsorted",
           "bucketize"]


def _refuse(name, x, kinds):
    if x._data.dtype.kind in kinds:
        raise dtypes.not_implemented(name, x.dtype)


def _no_complex_sort(x):
    if x._data.dtype.kind == "c":
        raise RuntimeError(" Sort does not support complex dtypes on CPU")


def _sort_index(a, axis, descending=False):
    """A stable argsort along ``axis`` with NaN as the largest value (first when descending)."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    key = a.astype(xp.int64) if a.dtype.kind in "bu" else a
    if key.dtype.kind in "fV" or key.dtype.name == "bfloat16":
        key = xp.where(xp.isnan(key), -xp.inf, -key.astype(xp.float64))
    else:
        key = -key
    return xp.argsort(key, axis=axis, kind="stable")


def _zero_index(x):
    return Tensor._wrap(xp.zeros(x._data.shape, xp.int64))


# -- sort, topk, kthvalue ----------------------------------------------------------------------------------------

def sort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, out=None):  # noqa: A002
    """(values, indices) sorted along ``dim`` (NaN last; first when ``descending``); values carry gradients."""
    if isinstance(dim, bool):  # sort(x, descending) positionally, as an older overload
        dim, descending = -1, dim
    _no_complex_sort(input)
    if input._data.ndim == 0:
        return return_types.sort(input.clone(), _zero_index(input))
    axis = normalize_dim(dim, input._data.ndim)
    it = Tensor._wrap(_sort_index(input._data, axis, descending).astype(xp.int64))
    return return_types.sort(gather(input, axis, it), it)


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):  # noqa: A002
    """The indices that sort ``input`` along ``dim``."""
    _no_complex_sort(input)
    if input._data.ndim == 0:
        return _zero_index(input)
    return Tensor._wrap(_sort_index(input._data, normalize_dim(dim, input._data.ndim), descending).astype(xp.int64))


def msort(input):  # noqa: A002
    """``input`` sorted along its first dim."""
    return sort(input, 0).values


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices (NaN counts as largest)."""
    if input._data.dtype.kind == "c":
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    a = input._data
    axis = normalize_dim(dim, a.ndim)
    n = a.shape[axis] if a.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if a.ndim == 0:
        return return_types.topk(input.clone(), _zero_index(input))
    idx = xp.take(_sort_index(a, axis, largest), xp.arange(k), axis=axis).astype(xp.int64)
    it = Tensor._wrap(idx)
    return return_types.topk(gather(input, axis, it), it)


def _select(input, axis, pos, keepdim, kind):  # noqa: A002
    """Values and indices at sorted positions ``pos`` (broadcast over the other dims) along ``axis``."""
    idx = xp.take_along_axis(_sort_index(input._data, axis), pos, axis).astype(xp.int64)
    vals = gather(input, axis, Tensor._wrap(idx))
    if not keepdim:
        vals, idx = vals.squeeze(axis), idx.squeeze(axis)
    return kind(vals, Tensor._wrap(idx))


def _scalar_result(input, kind):  # noqa: A002
    return kind(input.clone(), _zero_index(input))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):  # noqa: A002
    """The k-th smallest element along ``dim`` (1-based ``k``) and its index."""
    _refuse("kthvalue_cpu", input, "cb")
    a = input._data
    axis = normalize_dim(dim, a.ndim)
    n = a.shape[axis] if a.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    if a.ndim == 0:
        return _scalar_result(input, return_types.kthvalue)
    shape = list(a.shape)
    shape[axis] = 1
    return _select(input, axis, xp.full(shape, k - 1, xp.int64), keepdim, return_types.kthvalue)


# -- median, nanmedian, mode ---------------------------------------------------------------------------------------

class MedianBackward0(Op):
    """A whole-tensor median (value computed in NumPy): the gradient is shared by the elements equal to it
    (the NaN elements when it is NaN), PyTorch's evenly-distributed backward."""

    save = (0,)
    save_output = True

    def forward(ctx, a, value):
        return value

    def backward(self, g, a, out):
        av = a if D.is_array(a) else a._data
        ov = out if D.is_array(out) else out._data
        hit = xp.isnan(av) if ov != ov else av == ov
        count = max(int(hit.sum()), 1)  # an empty input: no element, a zero gradient
        return (D.mask(D.broadcast_to(g, av.shape), hit) / count,)


class NanmedianBackward0(MedianBackward0):
    pass


def _median_all(input, ignore_nan):  # noqa: A002
    a = input._data.reshape(-1)
    if a.size == 0:  # PyTorch: NaN, cast to the input's dtype
        with xp.errstate(invalid="ignore"):
            value = xp.asarray(xp.nan).astype(a.dtype)
        if a.dtype.kind not in "fV" and a.dtype.name != "bfloat16":
            return Tensor._wrap(value)
        return (NanmedianBackward0 if ignore_nan else MedianBackward0).apply(input, value=value)
    _refuse(("nanmedian_cpu" if ignore_nan else "median_cpu"), input, "bc")
    nan = xp.isnan(a) if a.dtype.kind in "fV" or a.dtype.name == "bfloat16" else xp.zeros(a.shape, bool)
    if nan.any() and not ignore_nan:
        value = xp.asarray(xp.nan, a.dtype)
    else:
        c = int(a.size - nan.sum())
        s = xp.sort(a)  # NaN last
        value = xp.asarray(s[(c - 1) // 2] if c else xp.nan, a.dtype)
    return (NanmedianBackward0 if ignore_nan else MedianBackward0).apply(input, value=value)


def _median_dim(input, dim, keepdim, ignore_nan, kind):  # noqa: A002
    a = input._data
    axis = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        _refuse("median_out", input, "bc")
        return _scalar_result(input, kind)
    if a.shape[axis] == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    _refuse("median_out", input, "bc")
    order = _sort_index(a, axis)
    if a.dtype.kind in "fV" or a.dtype.name == "bfloat16":
        nan = xp.isnan(a)
        count = (~nan).sum(axis, keepdims=True)
        if ignore_nan:
            pos = xp.maximum(count - 1, 0) // 2  # all NaN: the first NaN
        else:
            pos = xp.where(nan.any(axis, keepdims=True), count, (a.shape[axis] - 1) // 2)  # NaN: the first NaN
    else:
        shape = list(a.shape)
        shape[axis] = 1
        pos = xp.full(shape, (a.shape[axis] - 1) // 2)
    idx = xp.take_along_axis(order, pos, axis).astype(xp.int64)
    vals = gather(input, axis, Tensor._wrap(idx))
    if not keepdim:
        vals, idx = vals.squeeze(axis), idx.squeeze(axis)
    return kind(vals, Tensor._wrap(idx))


def median(input, dim=None, keepdim: bool = False):  # noqa: A002
    """The lower median (PyTorch does not average the two middle values); NaN if there is a NaN. With
    ``dim``: (values, indices)."""
    if dim is None:
        return _median_all(input, False)
    return _median_dim(input, dim, keepdim, False, return_types.median)


def nanmedian(input, dim=None, keepdim: bool = False):  # noqa: A002
    """The lower median of the non-NaN elements (NaN if all are NaN); with ``dim``: (values, indices)."""
    if dim is None:
        return _median_all(input, True)
    return _median_dim(input, dim, keepdim, True, return_types.nanmedian)


def mode(input, dim: int = -1, keepdim: bool = False):  # noqa: A002
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the index of its
    last occurrence, as PyTorch's CPU kernel (for slices of up to 16 elements; beyond, PyTorch's index among
    equal values depends on its unstable sort)."""
    _refuse("mode_cpu", input, "c")
    a = input._data
    axis = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return _scalar_result(input, return_types.mode)
    n = a.shape[axis]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    if a.size == 0:
        shape = [s_ for i, s_ in enumerate(a.shape) if i != axis or keepdim]
        if keepdim:
            shape[axis] = 1
        return return_types.mode(Tensor._wrap(xp.zeros(shape, a.dtype)), Tensor._wrap(xp.zeros(shape, xp.int64)))
    m = xp.moveaxis(a, axis, -1)
    order = xp.argsort(m, axis=-1, kind="stable")
    s = xp.take_along_axis(m, order, -1)
    new = xp.ones(s.shape, bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]  # NaN != NaN: every NaN is a run of its own
    pos = xp.broadcast_to(xp.arange(n), s.shape)
    start = xp.maximum.accumulate(xp.where(new, pos, 0), axis=-1)
    end = xp.ones(s.shape, bool)
    end[..., :-1] = new[..., 1:]
    length = xp.where(end, pos - start + 1, 0)
    best = xp.argmax(length, axis=-1)[..., None]  # the first longest run: the smallest value
    idx = xp.moveaxis(xp.take_along_axis(order, best, -1), -1, axis).astype(xp.int64)
    vals = gather(input, axis, Tensor._wrap(idx))
    if not keepdim:
        vals, idx = vals.squeeze(axis), idx.squeeze(axis)
    return return_types.mode(vals, Tensor._wrap(idx))


# -- quantile ------------------------------------------------------------------------------------------------------

_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):  # noqa: A002
    name = "nanquantile()" if ignore_nan else "quantile()"
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if input.dtype not in (dtypes.float32, dtypes.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qv = xp.asarray(q, input._data.dtype) if scalar_q else q._data
    if not scalar_q:
        if q.ndim > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if interpolation not in _INTERP:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if qv.size and (qv.min() < 0 or qv.max() > 1):
        raise RuntimeError("quantile() q values must be in the range [0, 1]" if not scalar_q else
                           f"quantile() q must be in the range [0, 1] but got {float(qv)}")
    del name
    x = input
    if dim is None:
        x = x.reshape(-1)
        axis = 0
    else:
        axis = normalize_dim(dim, x.ndim)
        if x.ndim == 0:
            x = x.reshape(1)
    xs = sort(x, axis).values.movedim(axis, -1)  # (..., n), NaN last
    n = xs.shape[-1]
    sv = xs._data
    nan = xp.isnan(sv)
    qq = qv.reshape(-1)  # (Q,)
    if ignore_nan:
        scale = xp.asarray((~nan).sum(-1, keepdims=True)).astype(sv.dtype) - 1  # (..., 1)
        ranks = qq * scale
        ranks = xp.where(ranks < 0, 0, ranks)
    else:
        scale = xp.full(sv.shape[:-1] + (1,), n - 1, sv.dtype)
        ranks = xp.where(nan.any(-1, keepdims=True), sv.dtype.type(n - 1), qq * sv.dtype.type(n - 1))
    ranks = xp.broadcast_to(ranks, sv.shape[:-1] + (qq.size,))
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.rint(ranks)
    below = ranks.astype(xp.int64)
    out = gather(xs, -1, Tensor._wrap(below))
    if interpolation in ("linear", "midpoint"):
        if interpolation == "midpoint":
            w = Tensor._wrap(xp.full_like(ranks, 0.5))
        elif scalar_q or not q._requires_grad:
            w = Tensor._wrap((ranks - below).astype(sv.dtype))
        else:  # the weight is q's: PyTorch's quantile is differentiable in q
            from .index import where
            r = q.reshape(-1) * Tensor._wrap(scale)
            if ignore_nan:
                r = where(Tensor._wrap(xp.asarray(ranks == 0)), 0.0, r)
            else:
                r = where(Tensor._wrap(xp.broadcast_to(nan.any(-1, keepdims=True), ranks.shape)), float(n - 1), r)
            w = r - Tensor._wrap(below.astype(sv.dtype))
        above = gather(xs, -1, Tensor._wrap(xp.ceil(ranks).astype(xp.int64)))
        from .elementwise import lerp
        out = lerp(out, above, w)
    out = out.movedim(-1, 0)  # (Q, ...)
    if keepdim:
        if dim is None:
            out = out.reshape((qq.size,) + (1,) * input.ndim)
        else:
            out = out.unsqueeze(axis + 1) if input.ndim else out
    if scalar_q or (not scalar_q and q.ndim == 0):
        out = out.squeeze(0)
    return out


def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear", out=None):  # noqa: A002
    """The ``q``-th quantiles (q a number or 1-D tensor in [0, 1]) along ``dim`` (of all elements by default),
    interpolating as ``interpolation`` says; NaN where a slice has a NaN. With a tensor ``q`` its dim comes first.

    >>> import dynagrad as torch
    >>> torch.quantile(torch.tensor([1., 2., 3., 4.]), 0.5)
    tensor(2.5000)
    """
    return _quantile(input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear", out=None):  # noqa: A002
    """``quantile`` ignoring NaN (NaN only where a slice is all NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


# -- unique --------------------------------------------------------------------------------------------------------

def _groups(a, dim, consecutive):
    """(unique values, inverse, counts) of a NumPy array along ``dim`` (flattened when None); NaNs are all
    distinct, as PyTorch's comparisons make them."""
    if dim is None:
        flat = a.reshape(-1)
        order = xp.arange(flat.size) if consecutive else xp.argsort(flat, kind="stable")
        s = flat[order]
        new = xp.ones(s.shape, bool)
        if s.size:
            new[1:] = s[1:] != s[:-1]
        gid = xp.cumsum(new) - 1
        inverse = xp.empty(flat.size, xp.int64)
        inverse[order] = gid
        counts = xp.diff(xp.append(xp.flatnonzero(new), s.size)).astype(xp.int64)
        return s[new], inverse.reshape(a.shape), counts
    axis = normalize_dim(dim, a.ndim)
    m = xp.moveaxis(a, axis, 0)
    n = m.shape[0]
    rows = m.reshape(n, -1)
    if consecutive:
        order = xp.arange(n)
    else:
        order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(n)
    s = rows[order]
    new = xp.ones(n, bool)
    if n:
        new[1:] = (s[1:] != s[:-1]).any(axis=1) if rows.shape[1] else False
    gid = xp.cumsum(new) - 1
    inverse = xp.empty(n, xp.int64)
    inverse[order] = gid
    counts = xp.diff(xp.append(xp.flatnonzero(new), n)).astype(xp.int64)
    vals = xp.moveaxis(s[new].reshape((-1,) + m.shape[1:]), 0, axis)
    return vals, inverse, counts


def _pack(vals, inverse, counts, return_inverse, return_counts):
    out = Tensor._wrap(xp.ascontiguousarray(vals))
    if not (return_inverse or return_counts):
        return out
    res = [out]
    if return_inverse:
        res.append(Tensor._wrap(inverse))
    if return_counts:
        res.append(Tensor._wrap(counts))
    return tuple(res)


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim=None):
    """The unique elements (sorted, as PyTorch's CPU kernel returns them even for ``sorted=False``), or the
    unique slices along ``dim``; optionally the inverse indices and the counts."""
    _refuse("unique", input, "c")
    vals, inv, cnt = _groups(input._data, dim, False)
    return _pack(vals, inv, cnt, return_inverse, return_counts)


def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False, dim=None):  # noqa: A002
    """Collapse runs of equal consecutive elements (or slices along ``dim``), as ``itertools.groupby``.

    >>> import dynagrad as torch
    >>> torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1]), return_counts=True)
    (tensor([1, 2, 3, 1]), tensor([2, 2, 1, 1]))
    """
    _refuse("unique", input, "c")
    vals, inv, cnt = _groups(input._data, dim, True)
    return _pack(vals, inv, cnt, return_inverse, return_counts)


# -- counting ------------------------------------------------------------------------------------------------------

def bincount(input, weights=None, minlength: int = 0):  # noqa: A002
    """Counts of each non-negative integer in the 1-D ``input`` (weighted sums with ``weights``: float32 for
    float32 weights, float64 otherwise, as PyTorch)."""
    a = input._data
    if a.dtype.kind == "b" or a.dtype.kind in "fcV":
        raise dtypes.not_implemented("bincount_cpu", input.dtype)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None:
        w = weights._data
        if w.ndim != 1 or w.shape[0] != a.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        out_dt = xp.float32 if w.dtype == xp.float32 else xp.float64
        return Tensor._wrap(xp.bincount(a.astype(xp.int64), w.astype(xp.float64), minlength).astype(out_dt))
    return Tensor._wrap(xp.bincount(a.astype(xp.int64), minlength=minlength).astype(xp.int64))


def _check_float(name, x):
    if x._data.dtype.kind not in "fV" and x.dtype != dtypes.bfloat16:
        raise dtypes.not_implemented(name, x.dtype)


def _edges(lo, hi, n, dt):
    from ..creation import linspace
    return linspace(lo, hi, n + 1, dtype=dt)._data


def _positions(vals, edges, local_search):
    """ATen's linear-interpolation bin positions of ``vals`` (in [edges[0], edges[-1]]) in the input dtype."""
    left, right = edges[0], edges[-1]
    nb = edges.size - 1
    with xp.errstate(invalid="ignore", divide="ignore", over="ignore"):
        pos = ((vals - left) * vals.dtype.type(nb) / (right - left)).astype(xp.int64)
    if local_search:  # the neighbouring bins are checked against the edges (upper_bound over pos-1 .. pos+1)
        lo = xp.maximum(pos - 1, 0)
        hi = xp.minimum(pos + 2, edges.size)
        found = lo.copy()
        for j in range(3):
            k = lo + j
            ok = (k < hi) & (edges[xp.minimum(k, edges.size - 1)] <= vals)
            found = xp.where(ok, k + 1, found)
        pos = found - 1
    return xp.where(pos == nb, nb - 1, pos)


def _hist_dd(data, edges_list, weight, density, linear, local_search):
    """ATen's histogramdd over rows of data (M, D) with per-dim edges."""
    M, Dn = data.shape
    shape = tuple(e.size - 1 for e in edges_list)
    keep = xp.ones(M, bool)
    flat = xp.zeros(M, xp.int64)
    stride = 1
    pos_all = []
    for d in range(Dn):
        e = edges_list[d]
        v = data[:, d]
        with xp.errstate(invalid="ignore"):
            inside = (v >= e[0]) & (v <= e[-1])
        keep &= inside
        if linear:
            p = _positions(xp.where(inside, v, e[0]), e, local_search)
        else:
            p = xp.searchsorted(e, xp.where(inside, v, e[0]), side="right") - 1
            p = xp.where(p == e.size - 1, e.size - 2, p)
        pos_all.append(p)
    for d in range(Dn - 1, -1, -1):
        flat = flat + pos_all[d] * stride
        stride *= shape[d]
    size = 1
    for s in shape:
        size *= s
    w = (weight if weight is not None else xp.ones(M, data.dtype))[keep]
    hist = xp.bincount(flat[keep], w.astype(xp.float64), minlength=size)[:size].reshape(shape).astype(data.dtype)
    if density:
        with xp.errstate(invalid="ignore", divide="ignore"):
            hist = hist / hist.sum()
            for d, e in enumerate(edges_list):
                sh = [1] * Dn
                sh[d] = e.size - 1
                hist = hist / xp.diff(e).reshape(sh)
        hist = hist.astype(data.dtype)
    return hist


def histc(input, bins: int = 100, min=0, max=0, *, out=None):  # noqa: A002
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are equal); values
    outside are ignored.

    >>> import dynagrad as torch
    >>> torch.histc(torch.tensor([1., 2., 1.]), bins=4, min=0, max=3)
    tensor([0., 2., 1., 0.])
    """
    _check_float("histogram_cpu", input)
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    a = input._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:  # ATen: one representable step apart at least, at least 1 away
        t = a.dtype.type if a.dtype in (xp.float32, xp.float64) else None
        if t is not None:
            lo = float(min_(xp.nextafter(t(lo), t(-xp.inf)), lo - 1))
            hi = float(max_(xp.nextafter(t(hi), t(xp.inf)), hi + 1))
        else:
            lo, hi = lo - 1, hi + 1
    if not (xp.isfinite(lo) and xp.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{_fmt(lo)}, {_fmt(hi)}] is not finite")
    if not lo < hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    edges = _edges(lo, hi, bins, input.dtype)
    return Tensor._wrap(_hist_dd(a.reshape(-1, 1), [edges], None, False, True, False))


def _fmt(v):
    return "nan" if v != v else ("inf" if v == float("inf") else ("-inf" if v == -float("inf") else f"{v:g}"))


def min_(a, b):
    return a if a < b else b


def max_(a, b):
    return a if a > b else b


def _outer_edges(data, rng, D):
    if rng is not None:
        rng = [float(v) for v in rng]
        if len(rng) != 2 * D:
            raise RuntimeError(f"histogramdd: for a {D}-dimensional histogram range should have {2 * D} elements, "
                               f"but got {len(rng)}")
        lo, hi = rng[0::2], rng[1::2]
    elif data.shape[0]:
        lo = [float(v) for v in data.min(0)]
        hi = [float(v) for v in data.max(0)]
    else:
        lo, hi = [0.0] * D, [1.0] * D  # ATen's defaults for an empty input
    for d in range(D):
        if not (xp.isfinite(lo[d]) and xp.isfinite(hi[d])):
            raise RuntimeError(f"torch.histogramdd: dimension {d}'s range [{_fmt(lo[d])}, {_fmt(hi[d])}] is not finite")
        if lo[d] > hi[d]:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {_fmt(lo[d])} max "
                               f"{_fmt(hi[d])} for dimension {d}")
        if lo[d] == hi[d]:
            lo[d] -= 0.5
            hi[d] += 0.5
    return lo, hi


def _histdd(input, bins, range, weight, density, name):  # noqa: A002
    _check_float("histogram_cpu", input)
    D = input.shape[-1] if input.ndim else 1
    data = input._data.reshape(-1, D)
    w = None
    if weight is not None:
        if weight.dtype != input.dtype:
            raise RuntimeError(f"torch.{name}: if weight tensor is provided it should have the same dtype as the "
                               f"input tensor")
        if tuple(weight.shape) != tuple(input.shape[:-1]) and name == "histogramdd":
            raise RuntimeError("torch.histogramdd: if weight tensor is provided, it should have the same shape as "
                               "the input tensor excluding its innermost dimension")
        w = weight._data.reshape(-1)
    if isinstance(bins, Tensor) or (isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor)):
        edges_t = [bins] if isinstance(bins, Tensor) else list(bins)
        for d, e in enumerate(edges_t):
            if e.dtype != input.dtype:
                raise RuntimeError(f"torch.{name}: input tensor and bins tensors should have the same dtype, but got "
                                   f"input with dtype {input.dtype.name} and bins for dimension {d} with dtype "
                                   f"{e.dtype.name}")
            if e.ndim != 1 or e.numel() < 1:
                raise RuntimeError(f"torch.{name}: bins tensor should have one dimension and at least 1 element, but "
                                   f"got {e.ndim} dimensions and {e.numel()} elements")
        edges = [e._data for e in edges_t]
        hist = _hist_dd(data, edges, w, density, False, False)
        return hist, edges_t
    counts = [int(bins)] * D if not isinstance(bins, (list, tuple)) else [int(b) for b in bins]
    if len(counts) != D:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    for d, b in enumerate(counts):
        if b <= 0:
            raise RuntimeError(f"torch.{name}: bins must be > 0, but got {b} for dimension {d}")
    lo, hi = _outer_edges(data, range, D)
    edges = [_edges(lo[d], hi[d], counts[d], input.dtype) for d in builtins_range(D)]
    hist = _hist_dd(data, edges, w, density, True, True)
    return hist, [Tensor._wrap(e) for e in edges]


builtins_range = range


def histogram(input, bins=100, *, range=None, weight=None, density: bool = False, out=None):  # noqa: A002
    """(hist, bin_edges) of the flattened ``input``: ``bins`` equal bins over ``range`` (the data's range by
    default) or the given increasing edges; ``density`` normalises to a probability density."""
    h, edges = _histdd(input.reshape(-1, 1), bins, range, None if weight is None else weight.reshape(-1, 1)
                       .reshape(-1), density, "histogram")
    return return_types.histogram(Tensor._wrap(h), edges[0] if isinstance(edges[0], Tensor) else
                                  Tensor._wrap(edges[0]))


def histogramdd(input, bins=10, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """(hist, bin_edges) of the points in the rows of ``input`` (..., D): bins per dim as ints or edge tensors."""
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    h, edges = _histdd(input, bins, range, weight, density, "histogramdd")
    return return_types.histogramdd(Tensor._wrap(h), tuple(edges))


# -- searchsorted, bucketize -------------------------------------------------------------------------------------

def _bsearch(bd, vals, right):
    """ATen's binary search: the first position whose boundary is >= (right: >) the value, with NaN
    comparisons false, so a NaN value goes past every boundary."""
    n = bd.shape[-1]
    lo = xp.zeros(vals.shape, xp.int64)
    hi = xp.full(vals.shape, n, xp.int64)
    with xp.errstate(invalid="ignore"):
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = lo + ((hi - lo) >> 1)
            mv = xp.take_along_axis(bd, xp.minimum(mid, n - 1), -1) if n else xp.zeros(vals.shape, bd.dtype)
            go = ~(mv > vals) if right else ~(mv >= vals)
            lo = xp.where(active & go, mid + 1, lo)
            hi = xp.where(active & ~go, mid, hi)


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False,  # noqa: A002
                 side: str | None = None, out=None, sorter=None):
    """Indices where ``input``'s values would be inserted into the innermost dim of ``sorted_sequence`` to keep
    it sorted (``side='right'``/``right=True``: after equal values); ``sorter`` sorts an unsorted sequence."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    bd = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    if scalar and bd.ndim != 1:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when boundaries tensor dimension "
                           f"is 1, but we got boundaries tensor dim({bd.ndim}) and input value's dim(0) numel(1)")
    v = xp.asarray(input) if scalar else input._data
    for t, nm in ((sorted_sequence, "searchsorted_out_cpu"), (input, "searchsorted_out_cpu")):
        if isinstance(t, Tensor) and t._data.dtype.kind in "bc":
            raise dtypes.not_implemented(nm, t.dtype)
    if bd.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    if bd.ndim > 1 and (v.ndim != bd.ndim or v.shape[:-1] != bd.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
                           f"of boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{list(bd.shape)} and input value tensor {list(v.shape)}")
    if sorter is not None:
        if sorter.dtype != dtypes.int64:
            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype but got "
                               f"{sorter.dtype.name}")
        if tuple(sorter.shape) != bd.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got boundary "
                               f"tensor {list(bd.shape)}and got sorter tensor {list(sorter.shape)}")
        s = sorter._data
        if s.size and (s.min() < 0 or s.max() >= bd.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        bd = xp.take_along_axis(bd, s, -1)
    ct = xp.result_type(bd.dtype, v.dtype) if not scalar else bd.dtype
    bdc, vc = bd.astype(ct, copy=False), v.astype(ct, copy=False)
    if bd.ndim == 1:
        shape = vc.shape
        res = _bsearch(bdc[None], vc.reshape(1, -1), right).reshape(shape)
    else:
        res = _bsearch(bdc, vc, right)
    return Tensor._wrap(xp.asarray(res).astype(xp.int32 if out_int32 else xp.int64))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False, out=None):  # noqa: A002
    """The bucket of each value among the 1-D ``boundaries`` (``right=True``: boundaries[i-1] <= x <
    boundaries[i])."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
