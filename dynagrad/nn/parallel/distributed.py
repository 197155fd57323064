"""``DistributedDataParallel``: each rank runs the model on its own batch; gradients are averaged over the
ranks during backward, so every rank takes the same optimizer step.

At wrap time the parameters and buffers are broadcast from rank 0. The parameters are grouped into
buckets (reverse registration order, the order backward tends to produce them; ``bucket_cap_mb`` each,
25 by default with a first bucket of 1 MiB). A post-accumulate-grad hook on each parameter copies its
gradient into its bucket; when a bucket is full its nonblocking MPI allreduce starts (buckets start in
index order, the same on every rank). When the last bucket has started, the hook waits for all of them
and writes the sums divided by the world size back into ``.grad``. Only a forward through the wrapper
(with grad enabled, outside ``no_sync``) arms this, so gradients are averaged once per backward.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager

import numpy as np

from ...autograd.grad_mode import is_grad_enabled
from ...autograd.graph import Node
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error "
    "indicates that your module has parameters that were not used in producing loss. You can enable unused "
    "parameter detection by passing the keyword argument `find_unused_parameters=True` to "
    "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` function outputs "
    "participate in calculating loss. \nIf you already have done the above, then the distributed data "
    "parallel module wasn't able to locate the output tensors in the return value of your module's "
    "`forward` function. Please include the loss function and the structure of the return value of "
    "`forward` of your module when reporting this issue (e.g. list, dict, iterable).\n"
    "Parameter indices which did not receive grad for rank {rank}: {indices}\n"
    "Parameters which did not receive grad for rank {rank}: {names}")

_TWICE = (
    "Expected to mark a variable ready only once. This error is caused by one of the following reasons: "
    "1) Use of a module parameter outside the `forward` function. Please make sure model parameters are "
    "not shared across multiple concurrent forward-backward passes, or try to use _set_static_graph() as "
    "a workaround if this module graph does not change during training loop.2) Reused parameters in "
    "multiple reentrant backward passes. For example, if you use multiple `checkpoint` functions to wrap "
    "the same part of your model, it would result in the same set of parameters been used by different "
    "reentrant backward passes multiple times, and hence marking a variable ready multiple times. DDP "
    "does not support such use cases in default. You can try to use _set_static_graph() as a workaround "
    "if your module graph does not change over iterations."
    "\nParameter at index {index} with name {name} has been marked as ready twice.")


class _Bucket:
    """Parameters whose gradients are averaged together, through one flat array."""

    def __init__(self, params: list[int], shapes: list, dtype) -> None:
        self.params = params
        sizes = [int(np.prod(s)) for s in shapes]
        self.flat = np.zeros(sum(sizes), dtype)
        offs = np.cumsum([0] + sizes)
        self.views = [self.flat[o:o + n].reshape(s) for o, n, s in zip(offs, sizes, shapes)]
        self.req = None


def _assign_buckets(params: list[Tensor], cap: int, first: int) -> list[list[int]]:
    """Indices of ``params`` per bucket: reverse order, one open bucket per dtype, which closes when it
    reaches ``first`` bytes (the first of that dtype) or ``cap`` bytes (as torch's
    _compute_bucket_assignment_by_size)."""
    done, open_, size, limit = [], {}, {}, {}
    for i in reversed(range(len(params))):
        dt = params[i]._data.dtype
        open_.setdefault(dt, []).append(i)
        size[dt] = size.get(dt, 0) + params[i]._data.nbytes
        if size[dt] >= limit.get(dt, first):
            done.append(open_.pop(dt))
            size[dt], limit[dt] = 0, cap
    done += [b for b in open_.values() if b]
    return sorted(done, key=lambda b: -b[0])


def _find_tensors(obj) -> list[Tensor]:
    out, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            out.append(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    return out


def _reached_leaves(outputs) -> set[int]:
    """ids of the leaf tensors the outputs' graph leads to (iteratively; graphs can be deep)."""
    reached, seen = set(), set()
    stack = []
    for t in _find_tensors(outputs):
        if t.grad_fn is None:
            reached.add(id(t))
        else:
            stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        for target, _ in node.edges:
            if target is None:
                continue
            if isinstance(target, Node):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
            else:
                reached.add(id(target))
    return reached


class DistributedDataParallel(Module):
    """Data parallelism over MPI ranks: wrap the model, train as usual, gradients are averaged in backward.

    >>> import dynagrad as torch, dynagrad.distributed as dist          # doctest: +SKIP
    >>> dist.init_process_group("mpi")                                   # doctest: +SKIP
    >>> ddp = torch.nn.parallel.DistributedDataParallel(model)          # doctest: +SKIP
    >>> loss_fn(ddp(x), y).backward()   # .grad is now the mean over the ranks   # doctest: +SKIP
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs) -> None:
        super().__init__()
        from ...distributed import distributed_c10d as c10d

        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        g = c10d._group(process_group)
        self.module = module
        self.process_group = g
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any "
                               "parameter that requires a gradient.")
        first = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._verify_same_model(c10d)
        if init_sync and g.size() > 1:
            c10d._broadcast_coalesced(list(module.parameters()) + list(module.buffers()), g, 0,
                                      "DistributedDataParallel (syncing the model from rank 0)")
        self._buckets = [_Bucket(b, [self._params[i].shape for i in b], self._params[b[0]]._data.dtype)
                         for b in _assign_buckets(self._params, self.bucket_bytes_cap, first)]
        self._where = {}
        for bi, b in enumerate(self._buckets):
            for k, i in enumerate(b.params):
                self._where[i] = (bi, k)
        self._armed = self._started = False
        self._marked = np.zeros(len(self._params), bool)
        self._used = np.zeros(len(self._params), np.int32)
        self._pending: list[int] = []
        self._next = 0
        self._unused: list[int] = []
        me = weakref.ref(self)
        for i, p in enumerate(self._params):
            p.register_post_accumulate_grad_hook(lambda p, i=i: _on_grad(me, i))

    # -- the model on every rank must be the same ------------------------------------------------------
    def _verify_same_model(self, c10d) -> None:
        g = self.process_group
        if g.size() == 1:
            return
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._names, self._params)]
        every = [None] * g.size()
        c10d.all_gather_object(every, mine, group=g)
        for r, theirs in enumerate(every):
            if theirs == mine:
                continue
            if len(theirs) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {g.rank()} has "
                                   f"{len(mine)} params, while rank {g._ranks[r]} has inconsistent "
                                   f"{len(theirs)} params.")
            a, b = next((a, b) for a, b in zip(mine, theirs) if a != b)
            raise RuntimeError(f"DDP expects same model across all ranks, but parameter {a[0]} is "
                               f"{a[2]} {list(a[1])} on rank {g.rank()} and {b[0]} is {b[2]} {list(b[1])} "
                               f"on rank {g._ranks[r]}.")

    # -- forward ---------------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        return self.forward_with(self.module, *inputs, **kwargs)

    def forward_with(self, call, *inputs, **kwargs):
        """``forward``, with ``call`` computing the wrapped module's output (``torch.compile`` of a DDP
        module passes the compiled module here, so DDP's bookkeeping stays around it)."""
        if self._armed and self._started:
            missing = [i for i in range(len(self._params)) if not self._marked[i]]
            self._armed = self._started = False
            raise RuntimeError(_UNFINISHED.format(rank=self.process_group.rank(),
                                                  indices=" ".join(map(str, missing)),
                                                  names=", ".join(self._names[i] for i in missing)))
        if self.require_forward_param_sync and self.broadcast_buffers and self.process_group.size() > 1:
            bufs = list(self.module.buffers())
            if bufs:
                from ...distributed import distributed_c10d as c10d
                c10d._broadcast_coalesced(bufs, self.process_group, 0, "DistributedDataParallel (buffers)")
        out = call(*inputs, **kwargs)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        self.require_forward_param_sync = sync
        self._armed = sync
        if sync:
            self._started = False
            self._marked[:] = False
            self._pending = [len(b.params) for b in self._buckets]
            self._next = 0
            if self.find_unused_parameters:
                reached = _reached_leaves(out)
                self._unused = [i for i, p in enumerate(self._params) if id(p) not in reached]
                self._used[:] = 0
        return out

    @contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside this block only accumulate local gradients; the first
        synced backward after it averages the accumulated sum.

        >>> with ddp.no_sync():                           # doctest: +SKIP
        ...     loss_fn(ddp(x1), y1).backward()
        >>> loss_fn(ddp(x2), y2).backward()  # averages the gradients of both   # doctest: +SKIP
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- backward: buckets ---------------------------------------------------------------------------
    def _mark(self, i: int) -> None:
        self._marked[i] = True
        bi, k = self._where[i]
        view = self._buckets[bi].views[k]
        g = self._params[i].grad
        if g is None:
            view[...] = 0
        elif g._data is not view:
            view[...] = g._data
        self._pending[bi] -= 1
        if self._pending[bi] == 0:
            self._launch()

    def _launch(self) -> None:
        from ...distributed import distributed_c10d as c10d
        MPI = c10d._MPI
        g = self.process_group
        n = g.size()
        while self._next < len(self._buckets) and self._pending[self._next] == 0:
            b = self._buckets[self._next]
            if n > 1:
                b.req = g._comm.Iallreduce(MPI.IN_PLACE, b.flat, MPI.SUM)
            self._next += 1
        if self._next == len(self._buckets):
            self._finish(c10d)

    def _finish(self, c10d) -> None:
        g = self.process_group
        self._armed = False
        reqs = [b.req for b in self._buckets if b.req is not None]
        c10d._poll(reqs, g, "DistributedDataParallel (gradient all_reduce)")
        for b in self._buckets:
            b.req = None
        used = None
        if self.find_unused_parameters:
            used = self._used.copy()
            if g.size() > 1:
                c10d._poll([g._comm.Iallreduce(c10d._MPI.IN_PLACE, used, c10d._MPI.MAX)], g,
                           "DistributedDataParallel (used parameters)")
        n = g.size()
        if self.gradient_as_bucket_view and n > 1:
            for b in self._buckets:
                b.flat /= n
        for i, p in enumerate(self._params):
            if used is not None and not used[i]:
                continue  # no rank used it: leave .grad as it was
            bi, k = self._where[i]
            view = self._buckets[bi].views[k]
            grad = p.grad
            if self.gradient_as_bucket_view:
                if grad is None or grad._data is not view:
                    p.grad = Tensor._wrap(view)
                else:
                    grad._vc[0] += 1
            elif grad is None:
                p.grad = Tensor._wrap(view / n)
            else:  # the sum over ranks, averaged on the way back into .grad
                np.divide(view, n, out=grad._data)
                grad._vc[0] += 1


def _on_grad(ref, i: int) -> None:
    self = ref()
    if self is None or not self._armed:
        return
    if self._marked[i]:
        raise RuntimeError(_TWICE.format(index=i, name=self._names[i]))
    self._used[i] = 1
    if not self._started:
        self._started = True
        for j in self._unused:  # unused in this forward: ready now, contributing zeros (or their .grad)
            self._mark(j)
    self._mark(i)
