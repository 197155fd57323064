"""How tensors cross process boundaries through multiprocessing (queues, pipes, a spawned process's
arguments): by shared memory, as ``torch.multiprocessing.reductions`` does it.

Registered with multiprocessing's ``ForkingPickler`` (what ``Queue``, ``SimpleQueue``, ``Pipe`` and process
start-up pickle with), so a tensor sent to another process is moved into shared memory first (if it is not
there yet) and arrives as a tensor on the same memory: what either process writes, the other sees. Tensors
that view one storage arrive viewing one segment. ``Parameter`` stays a ``Parameter`` and ``requires_grad``
travels; ``.grad``, hooks and the graph do not (a non-leaf that requires grad is refused, as in PyTorch).
Plain ``pickle`` and ``copy`` still copy the values (``Tensor.__reduce_ex__``).
"""
from __future__ import annotations

from multiprocessing.reduction import ForkingPickler

from ..tensor import Tensor, _rebuild
from . import _storage

__all__ = ["init_reductions", "rebuild_tensor", "reduce_tensor"]

_REFUSE = ("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does not support "
           "crossing process boundaries.  If you just want to transfer the data, call detach() on the tensor "
           "before serializing (e.g., putting it on the queue).")


def rebuild_tensor(cls, handle, dtype, shape, strides, offset: int, requires_grad: bool,
                   attrs: dict | None = None) -> Tensor:
    """The receiving side: a tensor of class ``cls`` on the segment ``handle`` names."""
    mm, seg = _storage.attach(handle)
    arr = _storage.view(mm, seg, dtype, shape, strides, offset)
    from ..nn.parameter import Parameter
    if issubclass(cls, Parameter):
        t = Parameter.__new__(cls, Tensor._wrap(arr), requires_grad=requires_grad)
        if attrs:
            t.__dict__.update(attrs)
        return t
    return _rebuild(cls, arr, requires_grad, attrs)


def reduce_tensor(t: Tensor):
    """The sending side: move ``t`` into shared memory (once) and send the segment and where ``t`` lies."""
    if t.requires_grad and t.grad_fn is not None:
        raise RuntimeError(_REFUSE)
    found = _storage.segment_of(t._data)
    if found is None:
        _storage.share(t)
        found = _storage.segment_of(t._data)
    arr = t._data
    _, seg = found
    return (rebuild_tensor, (type(t), _storage.handle(seg), arr.dtype, arr.shape, arr.strides,
                             _storage.byte_offset(arr, seg), t._requires_grad, getattr(t, "__dict__", None)))


def init_reductions() -> None:
    """Register the tensor reducers with multiprocessing (done when dynagrad.multiprocessing is imported)."""
    from ..nn.parameter import Buffer, Parameter
    for cls in (Tensor, Parameter, Buffer):
        ForkingPickler.register(cls, reduce_tensor)
