"""``Interpreter`` runs a GraphModule node by node (override ``run_node`` or one method per op to observe or
change what each node does); ``Transformer`` reruns a graph into a new one through the same overrides.

>>> import dynagrad as torch
>>> import dynagrad.nn as nn
>>> import dynagrad.nn.functional as F
>>> from dynagrad import fx
>>> class M(nn.Module):
...     def forward(self, x):
...         return F.relu(x) + 1
>>> gm = fx.symbolic_trace(M())
>>> class NegRelu(fx.Interpreter):
...     def call_function(self, target, args, kwargs):
...         if target is F.relu:
...             return -target(*args, **kwargs)
...         return super().call_function(target, args, kwargs)
>>> NegRelu(gm).run(torch.tensor([-1.0, 2.0]))
tensor([ 1., -1.])
>>> class ReluToSigmoid(fx.Transformer):
...     def call_function(self, target, args, kwargs):
...         if target is F.relu:
...             target, kwargs = torch.sigmoid, {}
...         return super().call_function(target, args, kwargs)
>>> print(ReluToSigmoid(gm).transform().code.strip())
def forward(self, x):
    sigmoid = torch.sigmoid(x);  x = None
    add = sigmoid + 1;  sigmoid = None
    return add
"""
from __future__ import annotations

import inspect
from typing import Any

from . import proxy as _proxy
from ._symbolic_trace import Tracer
from .graph import Graph
from .graph_module import GraphModule
from .node import Node, map_aggregate, map_arg
from .proxy import Proxy

__all__ = ["Interpreter", "Transformer"]


class Interpreter:
    """Execute a GraphModule one node at a time.

    ``run(*args)`` feeds the placeholders and returns the output; each node goes through
    ``run_node(n)``, which calls ``self.<op>(target, args, kwargs)`` (``placeholder``, ``get_attr``,
    ``call_function``, ``call_method``, ``call_module``, ``output``). Values are dropped after their last
    use unless ``garbage_collect_values=False``.
    """

    def __init__(self, module, garbage_collect_values: bool = True, graph: Graph | None = None) -> None:
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = graph if graph is not None else module.graph
        self.env: dict[Node, Any] = {}
        self.name = "Interpreter"
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        if garbage_collect_values:
            last_use: dict[Node, Node] = {}
            self.user_to_last_uses: dict[Node, list[Node]] = {}
            for node in reversed(self.graph.nodes):
                for n in node._input_nodes:
                    if n not in last_use:
                        last_use[n] = node
                        self.user_to_last_uses.setdefault(node, []).append(n)

    def run(self, *args, initial_env: dict[Node, Any] | None = None, enable_io_processing: bool = True) -> Any:
        """Run the graph on ``args`` (``initial_env`` pre-seeds node values, which are then not run)."""
        self.env = initial_env if initial_env is not None else {}
        if enable_io_processing:
            args = self.graph.process_inputs(*args)
        self.args_iter = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue
            try:
                self.env[node] = self.run_node(node)
            except Exception as e:
                if self.extra_traceback:
                    msg = f"While executing {node.format_node()}"
                    msg = f"{e.args[0]}\n\n{msg}" if e.args else str(msg)
                    msg += f"\nOriginal traceback:\n{node.stack_trace}"
                    e.args = (msg,) + e.args[1:]
                    if isinstance(e, KeyError):
                        raise RuntimeError(*e.args) from e
                raise
            if self.garbage_collect_values:
                for dead in self.user_to_last_uses.get(node, []):
                    del self.env[dead]
            if node.op == "output":
                out = self.env[node]
                return self.graph.process_outputs(out) if enable_io_processing else out
        return None

    def boxed_run(self, args_list: list) -> Any:
        """Run with the inputs in a list, which is cleared (so the caller holds no references to them)."""
        placeholders = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(args_list) != len(placeholders):
            detail = "extra arguments" if len(args_list) > len(placeholders) else "missing arguments"
            raise RuntimeError(f"Interpreter.boxed_run expected {len(placeholders)} arguments for placeholders "
                               f"but received {len(args_list)} ({detail})")
        env = dict(zip(placeholders, args_list))
        args_list.clear()
        return self.run(initial_env=env)

    def run_node(self, n: Node) -> Any:
        """Run one node: fetch its arguments' values, then dispatch on ``n.op``."""
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        return getattr(self, n.op)(n.target, args, kwargs)

    # -- one method per op ---------------------------------------------------------------------------------
    def placeholder(self, target: str, args: tuple, kwargs: dict) -> Any:
        if target.startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration as si:
            if len(args) > 0:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but one was not "
                               f"passed in!") from si

    def get_attr(self, target: str, args: tuple, kwargs: dict) -> Any:
        return self.fetch_attr(target)

    def call_function(self, target, args: tuple, kwargs: dict) -> Any:
        if isinstance(target, str):
            raise AssertionError("target should not be a string for call_function")
        return target(*args, **kwargs)

    def call_method(self, target: str, args: tuple, kwargs: dict) -> Any:
        self_obj, *rest = args
        return getattr(self_obj, target)(*rest, **kwargs)

    def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target, args: tuple, kwargs: dict) -> Any:
        return args[0]

    # -- helpers ---------------------------------------------------------------------------------------------
    def fetch_attr(self, target: str) -> Any:
        """The attribute of ``self.module`` at a dotted path."""
        atoms = target.split(".")
        obj = self.module
        for i, atom in enumerate(atoms):
            if not hasattr(obj, atom):
                raise RuntimeError(f"Node referenced nonexistent target {'.'.join(atoms[:i + 1])}")
            obj = getattr(obj, atom)
        return obj

    def fetch_args_kwargs_from_env(self, n: Node) -> tuple[tuple, dict]:
        return self.map_nodes_to_values(n.args, n), self.map_nodes_to_values(n.kwargs, n)

    def map_nodes_to_values(self, args, n: Node):
        def load(a: Node):
            if a not in self.env:
                raise RuntimeError(f"Node {n} referenced nonexistent value {a}! Run Graph.lint() to diagnose "
                                   f"such issues")
            return self.env[a]
        return map_arg(args, load)


class Transformer(Interpreter):
    """Run a graph symbolically into a new one: each override returns Proxies, and ``transform()`` returns
    the GraphModule recorded (what the overrides change is what changes)."""

    def __init__(self, module: GraphModule) -> None:
        super().__init__(module)
        self.new_graph = Graph()
        self.new_graph.set_codegen(module.graph._codegen)

        class TransformerTracer(Tracer):
            def __init__(self, graph: Graph) -> None:
                super().__init__()
                self.graph = graph
                self.tensor_attrs = {}

            def is_leaf_module(self, _, __) -> bool:
                return True

        self.tracer = TransformerTracer(self.new_graph)
        self.tracer.root = module

    def placeholder(self, target: str, args: tuple, kwargs: dict) -> Proxy:
        default = next(iter(args)) if args else inspect.Signature.empty
        return Proxy(self.new_graph.placeholder(target, default_value=default), self.tracer)

    def get_attr(self, target: str, args: tuple, kwargs: dict) -> Proxy:
        return self.tracer.create_proxy("get_attr", target, args, kwargs)

    def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
        submod = self.fetch_attr(target)
        return self.tracer.call_module(submod, submod.forward, args, kwargs)

    def call_function(self, target, args: tuple, kwargs: dict) -> Any:
        return self.tracer.create_proxy("call_function", target, args, kwargs)

    def run_node(self, n: Node) -> Any:
        _proxy._meta_stack.append(n.meta)
        try:
            return super().run_node(n)
        finally:
            _proxy._meta_stack.pop()

    def transform(self) -> GraphModule:
        """The new GraphModule, on the same root as the module transformed."""
        from . import _patch
        _patch.begin_trace()
        try:
            result = super().run(enable_io_processing=False)
        finally:
            _patch.end_trace()
        if result is not None:
            out = self.new_graph.output(map_aggregate(result, lambda a: a.node if isinstance(a, Proxy) else a))
            old_out = list(self.graph.nodes)[-1]
            if old_out.op != "output":
                raise AssertionError(f"Expected output node, got op={old_out.op}")
            out.meta.update(old_out.meta)
        return GraphModule(self.module, self.new_graph)
