"""``torch.fx``: capture a module's ``forward`` as a graph, transform it, and run it as Python again.

Symbolic tracing (``symbolic_trace``, ``Tracer``) runs ``forward`` on value-less Proxies and records a
``Graph`` of Nodes (``placeholder``, ``get_attr``, ``call_function``, ``call_method``, ``call_module``,
``output``); ``GraphModule`` runs a graph as generated Python code (``.code``); ``Interpreter`` and
``Transformer`` run or rewrite a graph node by node; ``subgraph_rewriter.replace_pattern`` rewrites
occurrences of a pattern; ``passes.shape_prop.ShapeProp`` records shapes. Names, targets and the generated
code are PyTorch's (``torch.nn.functional.relu``, ``operator.add``), and targets are dynagrad's own
functions, so ``node.target == torch.add`` holds for a traced ``torch.add``.

This is a separate package from ``dynagrad.compile``: FX records calls at the level a program writes them
(modules, functions, methods, operators) on Proxies that carry no values, while the compiler traces the
primitive ops that run, with values, to guard and fuse them.

>>> import dynagrad as torch
>>> from dynagrad import fx
>>> def f(x, y):
...     return torch.add(x, y) * 2
>>> gm = fx.symbolic_trace(f)
>>> for node in gm.graph.nodes:
...     if node.op == "call_function" and node.target == torch.add:
...         node.target = torch.mul
>>> _ = gm.recompile()
>>> gm(torch.tensor(3.0), torch.tensor(4.0))
tensor(24.)
"""
from . import immutable_collections, passes, subgraph_rewriter  # noqa: E402 - after the names they use
from ._symbolic_trace import PH, Tracer, symbolic_trace, wrap
from .graph import CodeGen, Graph
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, has_side_effect, map_arg
from .proxy import Proxy
from .subgraph_rewriter import replace_pattern

__all__ = ["symbolic_trace", "Tracer", "wrap", "Graph", "GraphModule", "Interpreter", "Transformer", "Node",
           "Proxy", "replace_pattern", "has_side_effect", "map_arg"]
