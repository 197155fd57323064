"""``torch.cuda.graphs``: CUDA graph capture, which needs a GPU.

>>> import dynagrad
>>> dynagrad.cuda.graphs.is_current_stream_capturing.__name__
'is_current_stream_capturing'
"""
from __future__ import annotations

from typing import Any

from ._errors import dummy_class

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]


def is_current_stream_capturing() -> bool:
    raise dummy_class("_cuda_isCurrentStreamCapturing")


def graph_pool_handle():
    raise dummy_class("_graph_pool_handle")


class CUDAGraph:
    def __init__(self, keep_graph: bool = False) -> None:
        raise dummy_class("CUDAGraph")


class graph:  # noqa: N801 - PyTorch's name
    """Context manager capturing CUDA work into a CUDAGraph; needs a CUDA stream, which cannot exist here."""

    def __init__(self, cuda_graph: Any, pool: Any = None, stream: Any = None,
                 capture_error_mode: str = "global") -> None:
        from .streams import Stream
        Stream()


def make_graphed_callables(callables: Any, sample_args: Any, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool: Any = None):
    CUDAGraph()
