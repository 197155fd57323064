"""``ShapeProp``: run a GraphModule on example inputs and record each node's tensor metadata
(``node.meta['tensor_meta']``: shape, dtype, requires_grad, stride, memory_format, quantization) and the
type of its value (``node.meta['type']``).

>>> import dynagrad as torch
>>> import dynagrad.nn as nn
>>> from dynagrad import fx
>>> from dynagrad.fx.passes.shape_prop import ShapeProp
>>> gm = fx.symbolic_trace(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))
>>> _ = ShapeProp(gm).propagate(torch.randn(2, 4))
>>> [(n.name, tuple(n.meta["tensor_meta"].shape)) for n in gm.graph.nodes]
[('input_1', (2, 4)), ('_0', (2, 3)), ('_1', (2, 3)), ('output', (2, 3))]
"""
from __future__ import annotations

import traceback
from typing import Any, NamedTuple

from ..interpreter import Interpreter
from ..node import Node, map_aggregate

__all__ = ["TensorMetadata", "ShapeProp"]


class TensorMetadata(NamedTuple):
    shape: Any
    dtype: Any
    requires_grad: bool
    stride: tuple
    memory_format: Any
    is_quantized: bool
    qparams: dict


def _memory_format(t) -> Any:
    """The first of contiguous, channels_last, channels_last_3d the strides satisfy (None for none)."""
    import dynagrad
    shape, stride = tuple(t.shape), t.stride()
    if _dense_in_order(shape, stride, list(range(len(shape)))):
        return dynagrad.contiguous_format
    if len(shape) == 4 and _dense_in_order(shape, stride, [0, 2, 3, 1]):
        return dynagrad.channels_last
    if len(shape) == 5 and _dense_in_order(shape, stride, [0, 2, 3, 4, 1]):
        return getattr(dynagrad, "channels_last_3d", dynagrad.channels_last)
    return None


def _dense_in_order(shape, stride, order) -> bool:
    """Whether the strides are those of a dense tensor laid out with dims in ``order`` (outermost first);
    size-1 dims may have any stride."""
    expected = 1
    for d in reversed(order):
        if shape[d] != 1 and stride[d] != expected:
            return False
        expected *= shape[d]
    return True


def _extract_tensor_metadata(result) -> TensorMetadata:
    return TensorMetadata(result.shape, result.dtype, result.requires_grad, result.stride(), _memory_format(result),
                          bool(getattr(result, "is_quantized", False)), {})


class ShapeProp(Interpreter):
    """An Interpreter that records, for each node, the metadata of the tensors it produces."""

    def __init__(self, gm, fake_mode=None) -> None:
        if fake_mode is not None:
            raise NotImplementedError("ShapeProp(fake_mode=...): dynagrad has no fake tensors; propagate runs "
                                      "the graph on the example inputs themselves")
        super().__init__(gm)
        self.fake_mode = None
        self.fake_module = None

    def run_node(self, n: Node) -> Any:
        import dynagrad
        try:
            result = super().run_node(n)
        except Exception as e:
            traceback.print_exc()
            raise RuntimeError(f"ShapeProp error for: node={n.format_node()} with meta={n.meta}") from e
        found = [False]

        def extract(obj):
            if isinstance(obj, dynagrad.Tensor):
                found[0] = True
                return _extract_tensor_metadata(obj)
            return obj

        meta = map_aggregate(result, extract)
        if found[0]:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args) -> Any:
        """Run the graph on ``args``, recording metadata; returns the graph's output."""
        return super().run(*args)
