"""In-place ops (``add_``, ``x[i] = v``, ``relu_``...) and their place in the graph.

Without a graph to record, the new value is written straight into the tensor's memory. With one, the
op runs out of place on the old value (so whatever it saves stays intact), the result is copied into the
tensor's memory, and the tensor takes the op's node as its history. When the tensor is a view, its base
gets a ``CopySlicesBackward`` node instead, so gradients reach both the base's old value and the new
slice, as in PyTorch. Every in-place change bumps the version counter shared by a base and its views, and
remembers the user's line for the error raised if a value saved for backward was overwritten.
"""
from __future__ import annotations

from .. import _source
from ..autograd import state
from ..autograd.graph import Node
from ..backend import xp
from ..tensor import Tensor, bump_version
from . import _dual as D


def _overlap_error():
    return RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a single "
                        "memory location. Please clone() the tensor before performing the operation.")


def _write(t: Tensor, arr, op_name: str) -> None:
    dst = t._data
    if arr.dtype != dst.dtype:
        src_cat, dst_cat = _category(arr.dtype), _category(dst.dtype)
        if src_cat > dst_cat:
            from ..dtypes import from_numpy
            raise RuntimeError(f"result type {from_numpy(arr.dtype).name.capitalize()} can't be cast to the "
                               f"desired output type {from_numpy(dst.dtype).name.capitalize()} (in {op_name}, at "
                               f"{_source.here()})")
    if arr.shape != dst.shape:
        try:
            arr = xp.broadcast_to(arr, dst.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{list(arr.shape)} (in {op_name}, at {_source.here()})") from None
    if not dst.flags.writeable:
        raise _overlap_error()
    dst[...] = arr


def leaf_inplace_error(op_name: str, t: Tensor, view_of: Tensor | None = None) -> RuntimeError:
    """PyTorch's error for an in-place change of a leaf that requires grad, naming the op, the shape and
    the user's line."""
    what = "a view of a leaf Variable" if view_of is not None else "a leaf Variable"
    shape = list(t._data.shape)
    if view_of is not None:
        shape = f"{shape} (a view of {list(view_of.shape)})"
    return RuntimeError(f"{what} that requires grad is being used in an in-place operation ({op_name} on a "
                        f"tensor of shape {shape}, at {_source.here()}). Use torch.no_grad() for an update that "
                        f"should not be recorded, or clone() first.")


def _category(dt) -> int:
    return {"b": 0, "i": 1, "u": 1, "f": 2, "V": 2, "c": 3}[dt.kind]


def apply_inplace(t: Tensor, fn, *args, **kw) -> Tensor:
    """Run ``fn(t, *args, **kw)`` (an out-of-place Tensor function) and make its result ``t``'s value."""
    if not state.grad_enabled or not (t._requires_grad or any(
            isinstance(a, Tensor) and a._requires_grad for a in args)):
        out = fn(t, *args, **kw)
        _write(t, out._data, fn.__name__ + "_")
        bump_version(t)
        return t
    if t.grad_fn is None and t._requires_grad:
        raise leaf_inplace_error(fn.__name__ + "_", t)
    base = t._base
    if base is not None and base.grad_fn is None and base._requires_grad:
        raise leaf_inplace_error(fn.__name__ + "_", t, view_of=base)
    if base is not None:
        refresh_view(t)
    # the old value, in its own memory, keeping the old history: the op may save it for backward
    old = Tensor._wrap(t._data.copy())
    if t._requires_grad:
        old.grad_fn, old._output_nr, old._requires_grad = t.grad_fn, t._output_nr, True
    out = fn(old, *args, **kw)
    if out._data.dtype != t._data.dtype:
        _write(t, out._data, fn.__name__ + "_")  # raises for an impossible cast
        out = out.to(t.dtype)
    if base is not None:
        _copy_slices(base, t, out)
    else:
        _write(t, out._data, fn.__name__ + "_")
        t.grad_fn, t._output_nr, t._requires_grad = out.grad_fn, out._output_nr, out._requires_grad
    bump_version(t)
    if base is not None:
        t.grad_fn.view_version = t._vc[0]
    return t


def _view_node(base: Tensor, view: Tensor, pos) -> AsStridedBackward0:
    vnode = AsStridedBackward0()
    vnode.pos, vnode.base_shape, vnode.base_size = pos, base._data.shape, base._data.size
    vnode.edges = [_edge(base)]
    vnode.meta = [(view._data.shape, view._data.dtype)]
    vnode.source = _source.user_frame(2)
    return vnode


def refresh_view(view: Tensor) -> None:
    """Give a view whose base changed in place since its history was recorded a history that reads its
    slice of the base's current value (PyTorch regenerates a view's grad_fn the same way)."""
    node = view.grad_fn
    if node is None:
        return
    ver = view._vc[0]
    recorded = node.__dict__.get("view_version")
    if recorded is None or recorded == ver:
        return
    base = view._base
    if not base._requires_grad:
        return
    vnode = _view_node(base, view, _flat_positions(base, view))
    vnode.view_version = ver
    view.grad_fn, view._output_nr = vnode, 0


def _flat_positions(base: Tensor, view: Tensor):
    """For each element of ``view``, its flat position in ``base`` (both share memory)."""
    b, v = base._data, view._data
    if not b.flags.c_contiguous:  # match the view's element addresses against the base's
        addr_b = _addresses(b, 0)
        order = xp.argsort(addr_b, kind="stable")
        addr_v = _addresses(v, v.__array_interface__["data"][0] - b.__array_interface__["data"][0])
        return order[xp.searchsorted(addr_b[order], addr_v)].reshape(v.shape)
    item = b.itemsize
    offset = v.__array_interface__["data"][0] - b.__array_interface__["data"][0]
    pos = xp.arange(b.size, dtype=xp.int64)
    strides = tuple(s // item * 8 for s in v.strides)
    return xp.lib.stride_tricks.as_strided(pos[offset // item:], shape=v.shape, strides=strides).copy()


def _addresses(a, offset: int):
    """The byte offset of every element of ``a`` (in C order), plus ``offset``."""
    out = xp.full(a.shape, offset, dtype=xp.int64)
    for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[axis] = n
        out += (xp.arange(n, dtype=xp.int64) * stride).reshape(shape)
    return out.reshape(-1)


class CopySlicesBackward(Node):
    """The base's history after an in-place change through a view: the new slice replaced the old one."""

    def name(self):
        return "CopySlices"

    def run_backward(self, grads, create_graph):
        g = grads[0]
        pos = self.pos
        if D.is_array(g):
            flat = g.reshape(-1).copy()
            g_slice = flat[pos]
            flat[pos] = 0
            return flat.reshape(g.shape), g_slice
        from .index import getitem, index_put
        flat = g.reshape(-1)
        g_slice = getitem(flat, (pos,))
        from ..creation import zeros
        return index_put(flat, (pos,), zeros(pos.shape, dtype=g.dtype)).reshape(g.shape), g_slice


class AsStridedBackward0(Node):
    """A view's history after its base changed in place: the view reads its slice of the new base."""

    def run_backward(self, grads, create_graph):
        g = grads[0]
        pos = self.pos
        if D.is_array(g):
            out = xp.zeros(self.base_shape, g.dtype).reshape(-1)
            xp.add.at(out, pos, g)
            return (out.reshape(self.base_shape),)
        from ..creation import zeros
        from .index import index_put
        return (index_put(zeros(self.base_size, dtype=g.dtype), (pos,), g, accumulate=True)
                .reshape(self.base_shape),)


def _edge(t: Tensor):
    if not t._requires_grad:
        return (None, 0)
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t, 0)


def _copy_slices(base: Tensor, view: Tensor, out: Tensor) -> None:
    pos = _flat_positions(base, view)
    _write(view, out._data, "copy_slices")
    node = CopySlicesBackward()
    node.pos = pos
    node.edges = [_edge(base), _edge(out)]
    node.meta = [(base._data.shape, base._data.dtype)]
    node.source = _source.user_frame(2)
    base.grad_fn, base._output_nr, base._requires_grad = node, 0, True
    vnode = _view_node(base, view, pos)
    view.grad_fn, view._output_nr, view._requires_grad = vnode, 0, True

