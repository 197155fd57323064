"""Memory: what live tensors and recorded graphs hold, peak tracking, and a warning for growing graphs.

``summary()`` walks the live tensors (on demand, through the garbage collector), counting each
underlying buffer once, and the graphs hanging off them (values saved for backward). Peak tracking uses
Python's ``tracemalloc`` (NumPy reports its allocations there), started by ``reset_peak_memory_stats``;
it slows execution while on, so it is off until asked for.

The graph-growth check looks every 8th optimizer step: the backward of that step records weak references
to up to 16 of its graph's nodes; when nodes recorded 8 steps earlier are still alive (and not part of the
current graph) three checks in a row, and still after a garbage collection, graphs are being kept alive
across steps, typically by ``total_loss += loss`` (use ``loss.item()``) or ``outputs.append(out)``; a
warning says so, once. A check costs a few dereferences. (Counting the live graph nodes instead, as this
check did first, walked every Python object: 5 ms a check, 40 ms once PyTorch was imported too.)
"""
from __future__ import annotations

import gc
import tracemalloc
import warnings

from .autograd import state as _state
from .autograd.graph import _RELEASED, Node
from .backend import xp

_tracking = False
_steps = 0
_history: list = []  # (step, weakrefs sampled from that step's graph), the last two checks
_streak = 0
_warned = False
enabled_leak_check = True


class GraphGrowthWarning(UserWarning):
    """Live autograd graph nodes grow across optimizer steps (a graph is kept alive by accident)."""


def _root(arr):
    while isinstance(arr.base, xp.ndarray):
        arr = arr.base
    return arr


def _live_tensors():
    from .tensor import Tensor
    return [o for o in gc.get_objects() if issubclass(type(o), Tensor)]


def stats() -> dict:
    """Bytes of live tensor buffers, bytes saved for backward by live graphs, node count, peak."""
    tensors = _live_tensors()
    buffers = {}
    for t in tensors:
        r = _root(t._data)
        buffers[id(r)] = r.nbytes
        if t.grad is not None:
            g = _root(t.grad._data)
            buffers[id(g)] = g.nbytes
    saved = {}
    nodes = set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if id(n) in nodes:
            continue
        nodes.add(id(n))
        if n.saved and n.saved is not _RELEASED:
            for entry in n.saved:
                arr = entry[1]
                if isinstance(arr, xp.ndarray):
                    r = _root(arr)
                    saved[id(r)] = r.nbytes
        for target, _ in n.edges:
            if isinstance(target, Node) and id(target) not in nodes:
                stack.append(target)
    only_graph = {k: v for k, v in saved.items() if k not in buffers}
    return {
        "live_tensors": len(tensors),
        "live_tensor_bytes": sum(buffers.values()),
        "graph_nodes": len(nodes),
        "graph_saved_bytes": sum(saved.values()),
        "graph_only_bytes": sum(only_graph.values()),
        "peak_bytes": max_memory_allocated() if _tracking else None,
        "current_traced_bytes": tracemalloc.get_traced_memory()[0] if _tracking else None,
    }


def _fmt(n) -> str:
    if n is None:
        return "not tracked (call dynagrad.memory.reset_peak_memory_stats() to start)"
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.2f} {unit}"
    return f"{n} B"


def summary() -> str:
    """A readable report of ``stats()``.

    >>> import dynagrad
    >>> "live tensors" in dynagrad.memory.summary()
    True
    """
    s = stats()
    return "\n".join([
        "dynagrad memory summary",
        f"  live tensors:              {s['live_tensors']}",
        f"  live tensor bytes:         {_fmt(s['live_tensor_bytes'])}",
        f"  graph nodes alive:         {s['graph_nodes']}",
        f"  saved for backward:        {_fmt(s['graph_saved_bytes'])} "
        f"({_fmt(s['graph_only_bytes'])} held only by graphs)",
        f"  peak since reset:          {_fmt(s['peak_bytes'])}",
    ])


def reset_peak_memory_stats() -> None:
    """Start (or restart) peak tracking through tracemalloc."""
    global _tracking
    if not tracemalloc.is_tracing():
        tracemalloc.start()
    tracemalloc.reset_peak()
    _tracking = True


def stop_tracking() -> None:
    global _tracking
    if _tracking and tracemalloc.is_tracing():
        tracemalloc.stop()
    _tracking = False


def max_memory_allocated() -> int:
    """Peak traced bytes since the last ``reset_peak_memory_stats`` (0 when not tracking)."""
    if not _tracking:
        return 0
    return tracemalloc.get_traced_memory()[1]


def memory_allocated() -> int:
    return stats()["live_tensor_bytes"]


def count_graph_nodes() -> int:
    return sum(1 for o in gc.get_objects() if issubclass(type(o), Node))


def on_optimizer_step() -> None:
    """Called by ``Optimizer.step``; checks every 8th step (see the module docstring)."""
    global _steps, _warned, _streak
    _steps += 1
    if _warned or not enabled_leak_check:
        return
    if _steps & 7 == 7:
        _state.sample_graph = True  # the next backward (that of the checked step) records a sample
        return
    if _steps & 7:
        return
    sample, _state.graph_sample = _state.graph_sample, None
    if sample is None:  # no backward since the last step
        _streak = 0
        _history.clear()
        return
    if _history:
        _streak = _streak + 1 if _kept(_history[-1][1], sample[1]) else 0
    _history.append((_steps, sample[0]))
    del _history[:-2]
    # a graph kept on purpose for a step or two (``prev_loss = loss``) does not warn
    if _streak < 3:
        return
    gc.collect()  # a graph held only by a reference cycle is garbage, not a leak
    if _kept(_history[0][1], sample[1]):
        _warned = True
        s1, s2 = _history[0][0], _steps
        warnings.warn(
            f"dynagrad: the autograd graph of optimizer step {s1} is still alive at step {s2} "
            f"({count_graph_nodes()} graph nodes alive): a graph is being kept alive across steps, which leaks "
            f"memory. The usual cause is accumulating a tensor that requires grad, e.g. `total_loss += loss`; "
            f"accumulate `loss.item()` (or `loss.detach()`) instead. Silence with "
            f"dynagrad.memory.enabled_leak_check = False.",
            GraphGrowthWarning, stacklevel=3)


def _kept(old_refs: list, current_ids: set) -> bool:
    """Is a node sampled from an earlier step's graph still alive, and not part of this step's graph?"""
    for r in old_refs:
        n = r()
        if n is not None and id(n) not in current_ids:
            return True
    return False


def _reset_leak_check() -> None:
    global _steps, _warned, _streak
    _steps = _streak = 0
    _warned = False
    _history.clear()
    _state.sample_graph, _state.graph_sample = False, None
