"""Shape ops: views (reshape, permute, expand, slicing, ...), concatenation and splitting.

A view shares memory and the version counter with its base, as in PyTorch, so an in-place change
through either is seen by the other and by autograd's saved-value checks.
"""
from __future__ import annotations

from .. import _source
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Size, Tensor
from . import _dual as D
from .reduce import normalize_dim

_nd = xp.ndarray


def as_view(out: Tensor, base: Tensor) -> Tensor:
    """Make ``out`` share ``base``'s version counter and remember the base (when memory is shared)."""
    if out._data.base is not None:
        out._vc = base._vc
        out._base = base._base if base._base is not None else base
        if out.grad_fn is not None:  # the version its history is valid for (see ops.inplace.refresh_view)
            out.grad_fn.view_version = base._vc[0]
    return out


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    for s in shape:
        if type(s) is not int:
            return tuple(int(s) for s in shape)
    return tuple(shape)


def _infer(shape, numel, op, given):
    """``shape`` with its -1 filled in, checked against ``numel`` elements."""
    known, neg = 1, -1
    for i, s in enumerate(shape):
        if s < 0:
            if s != -1 or neg >= 0:
                return _infer_checked(shape, numel, op, given)
            neg = i
        else:
            known *= s
    if neg < 0:
        if known == numel:
            return shape
    elif known and not numel % known:
        return shape[:neg] + (numel // known,) + shape[neg + 1:]
    return _infer_checked(shape, numel, op, given)


def _infer_checked(shape, numel, op, given):
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if neg:
        known = 1
        for i, s in enumerate(shape):
            if i != neg[0]:
                known *= s
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} (in {op} of a "
                               f"tensor of shape {list(given)}, at {_source.here()})")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    n = 1
    for s in shape:
        if s < 0:
            raise RuntimeError(f"invalid shape dimension {s}")
        n *= s
    if n != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} (in {op} of a tensor "
                           f"of shape {list(given)}, at {_source.here()})")
    return shape


class ViewBackward0(Op):
    def forward(ctx, a, shape, copy_ok):
        if ctx is not None:
            ctx.in_shape = a.shape
        if copy_ok:
            return a.reshape(shape)
        out = a.view()
        try:
            out.shape = shape
        except AttributeError:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") \
                from None
        return out

    def backward(self, g):
        return (D.reshape(g, self.in_shape),)


def reshape(x, *shape):
    """The same elements in a new shape (a view when the layout allows, else a copy)."""
    shape = _infer(_shape_arg(shape), x._data.size, "reshape", x._data.shape)
    return as_view(ViewBackward0.apply(x, shape=shape, copy_ok=True), x)


def view(x, *shape, dtype=None):
    """A view with a new shape, or of the same memory as another ``dtype`` (``view(torch.int32)`` or
    ``view(dtype=torch.int32)``); RuntimeError when the memory layout does not allow one."""
    if dtype is not None:
        if shape:
            raise TypeError("view() received both a shape and dtype=; pass one of them")
        shape = (dtype,)
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        from ..dtypes import as_dtype
        dt = as_dtype(shape[0])
        return Tensor._wrap(x._data.view(dt.numpy))
    shape = _infer(_shape_arg(shape), x._data.size, "view", x._data.shape)
    return as_view(ViewBackward0.apply(x, shape=shape, copy_ok=False), x)


def view_as(x, other):
    return view(x, other._data.shape)


def reshape_as(x, other):
    return reshape(x, other._data.shape)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` into one."""
    nd = x._data.ndim
    if nd == 0:
        return reshape(x, 1)
    s, e = normalize_dim(start_dim, nd), normalize_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x._data.shape
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1:])


def unflatten(x, dim: int, sizes):
    dim = normalize_dim(dim, x._data.ndim)
    shape = x._data.shape
    sizes = _infer(tuple(sizes), shape[dim], "unflatten", shape)
    return reshape(x, shape[:dim] + sizes + shape[dim + 1:])


def ravel(x):
    return reshape(x, -1)


class PermuteBackward0(Op):
    def forward(ctx, a, axes):
        if ctx is not None:  # the inverse permutation (np.argsort on a tuple costs 30x this loop)
            inv = [0] * len(axes)
            for i, ax in enumerate(axes):
                inv[ax] = i
            ctx.inv = tuple(inv)
        return a.transpose(axes)

    def backward(self, g):
        return (D.transpose(g, self.inv),)


def permute(x, *dims):
    """Reorder the dims (a view)."""
    dims = _shape_arg(dims)
    nd = x._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    axes = tuple(normalize_dim(d, nd) for d in dims)
    if len(set(axes)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return as_view(PermuteBackward0.apply(x, axes=axes), x)


def transpose(x, dim0: int, dim1: int):
    """Swap two dims (a view)."""
    nd = x._data.ndim
    if nd == 0:
        return as_view(ViewBackward0.apply(x, shape=(), copy_ok=True), x)
    if type(dim0) is int and type(dim1) is int and -nd <= dim0 < nd and -nd <= dim1 < nd:
        a, b = dim0 % nd, dim1 % nd
    else:
        a, b = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return as_view(TransposeBackward0.apply(x, axes=tuple(axes)), x)


class TransposeBackward0(PermuteBackward0):  # the same op under PyTorch's names for the grad_fn
    pass


class TBackward0(PermuteBackward0):
    pass


swapaxes = swapdims = transpose


def t(x):
    if x._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x._data.ndim}D")
    return as_view(TBackward0.apply(x, axes=(1, 0)), x) if x._data.ndim == 2 else x.view_as(x)


def T(x):  # noqa: N802
    nd = x._data.ndim
    return permute(x, *range(nd - 1, -1, -1)) if nd > 1 else x.view_as(x)


def mT(x):  # noqa: N802
    if x._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{x._data.ndim}-D tensor.")
    return transpose(x, -2, -1)


def movedim(x, source, destination):
    nd = x._data.ndim
    src = [normalize_dim(s, nd) for s in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [normalize_dim(d, nd) for d in (destination if isinstance(destination, (tuple, list)) else [destination])]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, *order)


moveaxis = movedim


def squeeze(x, dim=None):
    """Drop size-1 dims (all, or the given ones that have size 1)."""
    shape = x._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = {normalize_dim(d, len(shape)) for d in dims} if shape else set()
        new = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
    return as_view(SqueezeBackward0.apply(x, shape=new, copy_ok=True), x)


class SqueezeBackward0(ViewBackward0):  # PyTorch's names for these views' grad_fn
    pass


class UnsqueezeBackward0(ViewBackward0):
    pass


def unsqueeze(x, dim: int):
    """Insert a size-1 dim at ``dim``."""
    nd = x._data.ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd - 1}, {nd}], but got {dim})")
    dim = dim % (nd + 1)
    shape = x._data.shape
    return as_view(UnsqueezeBackward0.apply(x, shape=shape[:dim] + (1,) + shape[dim:], copy_ok=True), x)


class ExpandBackward0(Op):
    def forward(ctx, a, shape):
        if ctx is not None:
            ctx.in_shape = a.shape
        return xp.broadcast_to(a, shape)

    def backward(self, g):
        return (g,)  # the engine sums the broadcast dims back


def expand(x, *sizes):
    """Broadcast size-1 dims to larger sizes without copying (-1 keeps a dim)."""
    sizes = _shape_arg(sizes)
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    new = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s == -1:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            new.append(s)
            continue
        old = shape[i - lead]
        if s == -1:
            new.append(old)
        elif old == s or old == 1:
            new.append(s)
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({old}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
    return as_view(ExpandBackward0.apply(x, shape=tuple(new)), x)


def expand_as(x, other):
    return expand(x, other._data.shape)


def broadcast_to(x, shape):
    return expand(x, shape)


def _broadcast_shape(shapes):
    """The broadcast of several shapes, with PyTorch's error naming the first mismatch."""
    out = []
    for shape in shapes:
        shape = tuple(shape)
        n = max(len(out), len(shape))
        a = [1] * (n - len(out)) + out
        b = (1,) * (n - len(shape)) + shape
        res = []
        for i, (u, v) in enumerate(zip(a, b)):
            if u != v and u != 1 and v != 1:
                raise RuntimeError(f"The size of tensor a ({u}) must match the size of tensor b ({v}) at "
                                   f"non-singleton dimension {i}")
            res.append(v if u == 1 else u)
        out = res
    return tuple(out)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _broadcast_shape([t._data.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to."""
    norm = []
    for s in shapes:
        if isinstance(s, int):
            s = (s,)
        if any(int(v) < 0 for v in s):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(int(v) for v in s)}: "
                               f"{list(s)}")
        norm.append(tuple(int(v) for v in s))
    try:
        return Size(xp.broadcast_shapes(*norm))
    except ValueError:
        raise RuntimeError("Shape mismatch: objects cannot be broadcast to a single shape") from None


class RepeatBackward0(Op):
    def forward(ctx, a, reps):
        if ctx is not None:
            ctx.in_shape, ctx.reps = a.shape, reps
        return xp.tile(a, reps)

    def backward(self, g):
        lead = len(self.reps) - len(self.in_shape)
        shape = (1,) * lead + tuple(self.in_shape)
        split = []
        for r, s in zip(self.reps, shape):
            split += [r, s]
        gs = D.reshape(g, tuple(split))
        gs = D.sum(gs, tuple(range(0, len(split), 2)))
        return (D.reshape(gs, self.in_shape),)


def repeat(x, *sizes):
    """Tile the tensor ``sizes`` times along each dim."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    return RepeatBackward0.apply(x, reps=sizes)


def tile(x, *dims):
    dims = _shape_arg(dims)
    dims = (1,) * (x._data.ndim - len(dims)) + dims
    return repeat(x, dims)


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or slice along ``dim``) ``repeats`` times; ``repeat_interleave(counts)`` repeats
    each index ``counts[i]`` times."""
    from .index import index_select
    if repeats is None:  # torch.repeat_interleave(repeats): the indices 0..n-1, each repeated
        r = x._data
        if r.dtype.kind not in "iu" or r.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if r.size and r.min() < 0:
            raise RuntimeError("repeats can not be negative")
        return Tensor._wrap(xp.repeat(xp.arange(r.size, dtype=xp.int64), r.reshape(-1)))
    if dim is None:
        x = reshape(x, -1)
        dim = 0
    dim = normalize_dim(dim, x._data.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else repeats
    idx = xp.repeat(xp.arange(x._data.shape[dim]), reps)
    return index_select(x, dim, Tensor._wrap(idx))


class FlipBackward0(Op):
    def forward(ctx, a, axes):
        if ctx is not None:
            ctx.axes = axes
        return xp.flip(a, axes).copy()  # PyTorch's flip copies (NumPy's is a view: writes would reach `a`)

    def backward(self, g):
        if D.is_array(g):
            return (xp.flip(g, self.axes),)
        return (g.flip(self.axes),)


def flip(x, *dims, **kwargs):
    """A copy with the order of elements reversed along ``dims`` (``flip(x, (0, 1))``, ``x.flip(0, 1)`` or
    ``flip(x, dims=(0, 1))``)."""
    if kwargs:
        if set(kwargs) != {"dims"} or dims:
            bad = next((k for k in kwargs if k != "dims"), "dims")
            raise TypeError(f"flip() got an unexpected keyword argument '{bad}'")
        dims = (kwargs["dims"],)
    dims = _shape_arg(dims)
    axes = tuple(normalize_dim(d, x._data.ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    return FlipBackward0.apply(x, axes=axes if x._data.ndim else ())


def fliplr(x):
    if x._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, 1)


def flipud(x):
    if x._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, 0)


class RollBackward0(Op):
    def forward(ctx, a, shifts, axes):
        if ctx is not None:
            ctx.shifts, ctx.axes = shifts, axes
        if axes is None:
            return xp.roll(a, shifts)
        return xp.roll(a, shifts, axes)

    def backward(self, g):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        if D.is_array(g):
            return (xp.roll(g, neg, self.axes) if self.axes is not None else xp.roll(g, neg),)
        return (roll(g, neg, self.axes),)


def roll(x, shifts, dims=None):
    if isinstance(shifts, list):
        shifts = tuple(shifts)
    if dims is not None:
        dims = tuple(normalize_dim(d, x._data.ndim) for d in (dims if isinstance(dims, (tuple, list)) else (dims,)))
        if not isinstance(shifts, tuple):
            shifts = (shifts,)
    return RollBackward0.apply(x, shifts=shifts, axes=dims)


def rot90(x, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x._data.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x._data.ndim}")
    a, b = (normalize_dim(d, x._data.ndim) for d in dims)
    if a == b:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 0:
        return x.clone()
    if k == 1:
        return transpose(flip(x, b), a, b)
    if k == 2:
        return flip(x, a, b)
    return flip(transpose(x, a, b), b)


# -- concatenation and splitting ------------------------------------------------------------------------------

class CatBackward0(Op):
    def forward(ctx, *arrays, axis):
        if ctx is not None:
            ctx.axis = axis
            ctx.bounds = xp.cumsum([a.shape[axis] for a in arrays])[:-1].tolist()
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        if D.is_array(g):
            return tuple(xp.split(g, self.bounds, axis=self.axis))
        sizes = xp.diff([0] + self.bounds + [g.shape[self.axis]]).tolist()
        return tuple(split(g, sizes, self.axis))


def cat(tensors, dim: int = 0, *, out=None):
    """Join tensors along an existing dim (dtypes promote; 1-d empty tensors are skipped, as in PyTorch)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    from ..dtypes import result_type
    kept = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    if len(kept) < len(tensors):  # the skipped empties still get (empty) gradients, as in PyTorch
        ref = kept[0]._data.shape
        if len(ref) > 1:
            empty = ref[:dim % len(ref)] + (0,) + ref[dim % len(ref) + 1:]
            kept = [t if t._data.ndim != 1 or t._data.shape[0] else reshape(t, empty) for t in tensors]
    rt = result_type(*kept)
    kept = [t if t._data.dtype == rt.numpy else t.to(rt) for t in kept]
    ref = kept[0]._data
    axis = normalize_dim(dim, ref.ndim)
    for i, t in enumerate(kept):
        a = t._data
        if a.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {a.ndim}")
        for d in range(ref.ndim):
            if d != axis and a.shape[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size "
                                   f"{ref.shape[d]} but got size {a.shape[d]} for tensor number {i} in the list "
                                   f"(at {_source.here()}).")
    result = CatBackward0.apply(*kept, axis=axis)
    if out is not None:
        out.set_(result)
        return out
    return result


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None):
    """Join tensors along a new dim; all must have the same shape."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                               f"and {list(t._data.shape)} at entry {i}")
    nd = len(shape) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    d = dim % nd
    return cat([unsqueeze(t, d) for t in tensors], d, out=out)


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t._data.ndim > 1 else reshape(t, 1, -1) for t in tensors], 0)


def dstack(tensors):
    return cat([t if t._data.ndim > 2 else reshape(t, 1, -1, 1) if t._data.ndim == 1 else unsqueeze(t, 2)
                for t in tensors], 2)


class SplitOp(Op):
    """Several views along one dim; gradients for unused pieces are zeros."""

    materialize_grads = False  # backward fills the missing pieces' gradients itself

    def name(self):
        return "SplitWithSizesBackward0"

    def forward(ctx, a, bounds, axis):
        if ctx is not None:
            ctx.axis, ctx.in_shape, ctx.bounds = axis, a.shape, bounds
        return tuple(xp.split(a, bounds, axis=axis))

    def backward(self, grads, *_):
        if not isinstance(grads, list):
            grads = [grads]
        parts = []
        like = next(g for g in grads if g is not None)
        for g, (shape, dt) in zip(grads, self.meta):
            parts.append(g if g is not None else D.zeros(shape, dt, like))
        if D.is_array(like):
            return (xp.concatenate(parts, axis=self.axis),)
        return (cat(parts, self.axis),)


class UnbindOp(SplitOp):
    def name(self):
        return "UnbindBackward0"

    def forward(ctx, a, axis):
        if ctx is not None:
            ctx.axis, ctx.in_shape = axis, a.shape
        return tuple(xp.moveaxis(a, axis, 0))

    def backward(self, grads, *_):
        if not isinstance(grads, list):
            grads = [grads]
        like = next(g for g in grads if g is not None)
        parts = [g if g is not None else D.zeros(shape, dt, like) for g, (shape, dt) in zip(grads, self.meta)]
        if D.is_array(like):
            return (xp.stack(parts, axis=self.axis),)
        return (stack(parts, self.axis),)


def _views(outs, x):
    return tuple(as_view(o, x) for o in outs)


def split(x, split_size_or_sections=None, dim: int = 0, *, split_size=None):
    """Split into chunks of a given size, or of the given list of sizes."""
    if split_size_or_sections is None:
        split_size_or_sections = split_size
    axis = normalize_dim(dim, x._data.ndim)
    n = x._data.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        bounds = list(range(step, n, step)) if step else []
    else:
        sizes = list(split_size_or_sections)
        if builtins_sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                               f"at dimension {dim}), but got split_sizes={sizes}")
        bounds = xp.cumsum(sizes)[:-1].tolist()
    outs = SplitOp.apply(x, bounds=bounds, axis=axis)
    return _views(outs if isinstance(outs, tuple) else (outs,), x)


def builtins_sum(xs):
    s = 0
    for v in xs:
        s += v
    return s


def chunk(x, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = x._data.shape[normalize_dim(dim, x._data.ndim)]
    size = -(-n // chunks) if n else 1
    return split(x, size, dim)


def tensor_split(x, indices_or_sections, dim=0):
    """Split into ``n`` nearly equal parts (the first ones one larger), or at the given indices, as views."""
    if x._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    if isinstance(indices_or_sections, Tensor):
        t = indices_or_sections
        if t._data.dtype != xp.int64:
            from .. import dtypes
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{dtypes.scalar_name(t.dtype)}")
        if t._data.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {t._data.ndim} dims")
        indices_or_sections = int(t._data) if t._data.ndim == 0 else [int(v) for v in t._data]
    axis = normalize_dim(dim, x._data.ndim)
    n = x._data.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        idx = [0] + list(indices_or_sections) + [n]
        sizes = [max(0, min(b, n) - min(a, n)) for a, b in zip(idx[:-1], idx[1:])]
    return split(x, sizes, dim)


def unbind(x, dim: int = 0):
    """The slices along ``dim`` as a tuple of views."""
    if x._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    axis = normalize_dim(dim, x._data.ndim)
    outs = UnbindOp.apply(x, axis=axis)
    return _views(outs if isinstance(outs, tuple) else (outs,), x)


def narrow(x, dim: int, start, length: int):
    """The view ``x[..., start:start+length, ...]`` along ``dim``."""
    axis = normalize_dim(dim, x._data.ndim)
    start = int(start)
    n = x._data.shape[axis]
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    idx = (slice(None),) * axis + (slice(start, start + length),)
    from .index import getitem
    return getitem(x, idx)


def select(x, dim: int, index: int):
    axis = normalize_dim(dim, x._data.ndim)
    from .index import getitem
    return getitem(x, (slice(None),) * axis + (index,))


class TrilBackward0(Op):
    def forward(ctx, a, k, upper):
        if ctx is not None:
            ctx.k, ctx.upper = k, upper
        return xp.triu(a, k) if upper else xp.tril(a, k)

    def backward(self, g):
        if D.is_array(g):
            return (xp.triu(g, self.k) if self.upper else xp.tril(g, self.k),)
        return (triu(g, self.k) if self.upper else tril(g, self.k),)


def tril(x, diagonal: int = 0):
    """The lower triangle (elements on and below the ``diagonal``-th diagonal)."""
    if x._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return TrilBackward0.apply(x, k=diagonal, upper=False)


def triu(x, diagonal: int = 0):
    if x._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return TrilBackward0.apply(x, k=diagonal, upper=True)


class ContiguousBackward(Op):
    def name(self):
        return "CloneBackward0"

    def forward(ctx, a, copy):
        return a.copy() if copy else xp.ascontiguousarray(a)

    def backward(self, g):
        return (g,)


def contiguous(x, memory_format=None):
    if x._data.flags.c_contiguous:
        return x
    return ContiguousBackward.apply(x, copy=False)


def clone(x, *, memory_format=None):
    """A copy that stays in the graph (its gradient flows back to ``x``)."""
    return ContiguousBackward.apply(x, copy=True)


class DiagonalBackward0(Op):
    def forward(ctx, a, offset, axis1, axis2):
        if ctx is not None:
            ctx.in_shape, ctx.args = a.shape, (offset, axis1, axis2)
        d = xp.diagonal(a, offset, axis1, axis2)
        if a.flags.writeable:  # NumPy hands out a read-only view; PyTorch's diagonal is writable
            d.setflags(write=True)
        return d

    def backward(self, g):
        if D.is_array(g):
            return (DiagonalScatterBackward0.forward(None, g, self.in_shape, self.args),)
        return (DiagonalScatterBackward0.apply(g, in_shape=self.in_shape, args=self.args),)


class DiagonalScatterBackward0(Op):
    """Zeros with ``a`` on a diagonal: diagonal's adjoint (so diagonal has gradients of gradients)."""

    def forward(ctx, a, in_shape, args):
        if ctx is not None:
            ctx.args = args
        out = xp.zeros(in_shape, a.dtype)
        view = xp.diagonal(out, *args)
        view.setflags(write=True)
        view[...] = a
        return out

    def backward(self, g):
        offset, a1, a2 = self.args
        if D.is_array(g):
            return (xp.diagonal(g, offset, a1, a2).copy(),)
        return (diagonal(g, offset, a1, a2),)


def diagonal(x, offset: int = 0, dim1: int = 0, dim2: int = 1):
    nd = x._data.ndim
    return as_view(DiagonalBackward0.apply(x, offset=offset, axis1=normalize_dim(dim1, nd),
                                           axis2=normalize_dim(dim2, nd)), x)


def diag(x, diagonal: int = 0):
    """The square matrix with ``x`` (1-D) on a diagonal, or the diagonal of the matrix ``x`` (2-D)."""
    if x._data.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x._data.ndim}D")
    if x._data.ndim == 1:
        n = x._data.shape[0] + abs(diagonal)
        from ..creation import zeros
        out = zeros(n, n, dtype=x.dtype)
        idx = xp.arange(x._data.shape[0])
        rows, cols = (idx, idx + diagonal) if diagonal >= 0 else (idx - diagonal, idx)
        from .index import index_put
        return index_put(out, (Tensor._wrap(rows), Tensor._wrap(cols)), x)
    return diagonal_copy(x, diagonal)


def diagonal_copy(x, offset=0):
    return clone(diagonal(x, offset))


def diag_embed(x, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Batched diagonal matrices whose ``offset``-th diagonal is the last dim of ``x``, placed in dims
    ``dim1`` and ``dim2`` of the result."""
    nd = x._data.ndim + 1
    d1, d2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if (d1, d2) != (nd - 2, nd - 1):
        return movedim(diag_embed(x, offset), (-2, -1), (d1, d2))
    m = x._data.shape[-1]
    n = m + abs(offset)
    from ..creation import zeros
    from .index import index_put
    idx = xp.arange(m)
    rows, cols = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    out = zeros(*x._data.shape[:-1], n, n, dtype=x.dtype)
    return index_put(out, (Ellipsis, Tensor._wrap(rows), Tensor._wrap(cols)), x)


def trace(x):
    """The sum of the main diagonal of a matrix."""
    if x._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x._data.ndim}")
    from .reduce import sum as _sum
    return _sum(diagonal(x))


def unfold(x, dimension: int, size: int, step: int):
    """Sliding windows of ``size`` with ``step`` along ``dimension``, as a new last dim (a view)."""
    axis = normalize_dim(dimension, x._data.ndim)
    n = x._data.shape[axis]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {n} but size is {size}")
    count = (n - size) // step + 1
    idx = xp.arange(count)[:, None] * step + xp.arange(size)[None, :]
    from .index import index_select
    flat = index_select(x, axis, Tensor._wrap(idx.reshape(-1)))
    shape = x._data.shape[:axis] + (count, size) + x._data.shape[axis + 1:]
    out = reshape(flat, shape)
    return movedim(out, axis + 1, -1)
