"""Activation checkpointing: trade compute for memory by recomputing a region's activations in backward.

``checkpoint(fn, *args)`` runs ``fn`` normally, recording its graph (so every parameter inside gets its
gradient), then drops the values the region's nodes saved for backward. When backward first needs one of
them, ``fn`` is run again on the same inputs, with the random state it had the first time (so dropout draws
the same mask), and the recomputed values are handed to the original nodes. This is PyTorch's
``use_reentrant=False`` behaviour; ``use_reentrant=True`` is accepted and behaves the same.

>>> import dynagrad
>>> from dynagrad.utils.checkpoint import checkpoint
>>> w = dynagrad.randn(8, 8, requires_grad=True)
>>> x = dynagrad.randn(4, 8)
>>> checkpoint(lambda t: (t @ w).tanh() @ w, x, use_reentrant=False).sum().backward()
>>> w.grad.shape
torch.Size([8, 8])
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .. import _source
from ..autograd import state
from ..autograd.graph import Node


class _Frame:
    """The nodes one checkpointed call recorded, and how to recompute what they saved."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, rng_state) -> None:
        self.fn, self.args, self.kwargs, self.rng_state = fn, args, kwargs, rng_state
        self.nodes: list[Node] = []
        self.recomputed = False
        self.autocast = state.autocast_dtype  # recomputation runs under the same autocast as forward

    def record(self, node: Node) -> None:
        self.nodes.append(node)

    def recompute(self) -> None:
        from .. import random as _random
        if self.recomputed:
            return
        self.recomputed = True
        fresh = _Frame(self.fn, self.args, self.kwargs, None)
        now = _random.get_rng_state() if self.rng_state is not None else None
        if self.rng_state is not None:
            _random.set_rng_state(self.rng_state)
        prev_hook, prev_grad, prev_cast = state.record_hook, state.grad_enabled, state.autocast_dtype
        state.record_hook, state.grad_enabled, state.autocast_dtype = fresh.record, True, self.autocast
        try:
            self.fn(*self.args, **self.kwargs)
        finally:
            state.record_hook, state.grad_enabled, state.autocast_dtype = prev_hook, prev_grad, prev_cast
            if now is not None:
                _random.set_rng_state(now)
        if len(fresh.nodes) != len(self.nodes) or any(
                type(a) is not type(b) for a, b in zip(fresh.nodes, self.nodes)):
            raise RuntimeError(
                f"torch.utils.checkpoint: the recomputed forward of {getattr(self.fn, '__name__', self.fn)} "
                f"recorded a different graph ({len(fresh.nodes)} ops instead of {len(self.nodes)}); a "
                f"checkpointed function must run the same ops when called again on the same inputs")
        for old, new in zip(self.nodes, fresh.nodes):
            # which inputs need gradients decides what an op keeps for backward (save_needed_by)
            if [e[0] is None for e in old.edges] != [e[0] is None for e in new.edges]:
                raise RuntimeError(
                    f"torch.utils.checkpoint: the recomputed forward of {getattr(self.fn, '__name__', self.fn)} "
                    f"differs in which inputs of {old.name()} require grad (forward at "
                    f"{_source.format_where(old.source)}); do not change requires_grad between forward and backward")
            if isinstance(old.saved, _Deferred):
                old.saved = new.saved


class _Deferred:
    """Stands in for a node's saved values until they are recomputed (truthy, so the engine unpacks;
    iterating it yields nothing, so memory reports see no saved arrays)."""

    def __init__(self, frame: _Frame) -> None:
        self.frame = frame

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter(())


def _unpack_deferred(node: Node, create_graph: bool):
    saved = node.saved
    if isinstance(saved, _Deferred):
        saved.frame.recompute()
    return Node.unpack(node, create_graph)


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None, context_fn=None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs: Any):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate activations for backward."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "dynagrad behaves as use_reentrant=False in both cases.", stacklevel=2)
    if not state.grad_enabled:
        return function(*args, **kwargs)
    from .. import random as _random
    frame = _Frame(function, args, kwargs, _random.get_rng_state() if preserve_rng_state else None)
    prev = state.record_hook
    state.record_hook = frame.record
    try:
        out = function(*args, **kwargs)
    finally:
        state.record_hook = prev
    for node in frame.nodes:
        if node.saved:
            node.saved = _Deferred(frame)
            node.unpack = _bind_unpack(node)
    return out


def _bind_unpack(node: Node):
    def unpack(create_graph: bool):
        return _unpack_deferred(node, create_graph)
    return unpack


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """Run a Sequential (or list of modules) in ``segments`` chunks, checkpointing all but the last."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
                      "passed explicitly.", stacklevel=2)
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = max(len(fns) // segments, 1)

    def run(lo, hi):
        def f(x):
            for m in fns[lo:hi]:
                x = m(x)
            return x
        return f

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end + 1), input, use_reentrant=use_reentrant or False, **kwargs)
    return run(end + 1, len(fns))(input)
