"""``Node``: one operation of an FX ``Graph``, and ``map_arg``/``map_aggregate`` over node arguments.

A node has an ``op`` (``placeholder``, ``get_attr``, ``call_function``, ``call_module``, ``call_method``,
``output``), a ``target`` (a callable for ``call_function``, a name or dotted path otherwise), ``args`` and
``kwargs`` (nested tuples, lists, dicts and slices whose leaves are Nodes or constants), and the set of its
``users``. Nodes form a doubly linked list in program order (``prev``/``next``).

>>> import dynagrad as torch
>>> from dynagrad import fx
>>> g = fx.Graph()
>>> x = g.placeholder("x")
>>> y = g.call_function(torch.relu, (x,))
>>> out = g.output(y)
>>> y.op, y.name, y.target is torch.relu, list(x.users), y.all_input_nodes
('call_function', 'relu', True, [relu], [x])
>>> fx.map_arg((x, [y, 3]), lambda n: n.name)
('x', ['relu', 3])
"""
from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

from . import _names
from .immutable_collections import immutable_dict, immutable_list

__all__ = ["Node", "map_arg", "map_aggregate", "has_side_effect"]

_LEGAL_OPS = frozenset(["call_function", "call_method", "get_attr", "call_module", "placeholder", "output"])

# call_function targets dead-code elimination keeps although nothing uses their result
_side_effectful_functions: set = {operator.setitem}


def has_side_effect(fn: Callable) -> Callable:
    """Register ``fn`` as having side effects, so ``Graph.eliminate_dead_code`` keeps calls to it."""
    _side_effectful_functions.add(fn)
    return fn


def _random_functions() -> set:
    import dynagrad
    names = ("rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal",
             "poisson", "bernoulli", "multinomial")
    return {getattr(dynagrad, n) for n in names if hasattr(dynagrad, n)}


def map_aggregate(a: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to every leaf of ``a`` (through tuples, named tuples, lists, dicts and slices); lists and
    dicts come back as ``immutable_list``/``immutable_dict``.

    >>> from dynagrad.fx.node import map_aggregate
    >>> map_aggregate((1, [2, {"k": 3}], slice(4, None)), lambda v: v * 10 if isinstance(v, int) else v)
    (10, [20, {'k': 30}], slice(40, None, None))
    """
    if isinstance(a, tuple):
        t = tuple(map_aggregate(e, fn) for e in a)
        return t if not hasattr(a, "_fields") else type(a)(*t)
    if isinstance(a, list):
        return immutable_list(map_aggregate(e, fn) for e in a)
    if isinstance(a, dict):
        rv = immutable_dict()
        for k, v in a.items():
            dict.__setitem__(rv, k, map_aggregate(v, fn))
        return rv
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a: Any, fn: Callable[[Node], Any]) -> Any:
    """Apply ``fn`` to every Node in ``a``, keeping the structure around them."""
    if not callable(fn):
        raise AssertionError("torch.fx.map_arg(a, fn): fn must be a callable")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _format_arg(arg, max_list_len: float = float("inf")) -> str:
    if hasattr(arg, "_custom_fx_repr_fn"):
        return arg._custom_fx_repr_fn()
    if isinstance(arg, (list, tuple)):
        items = ", ".join(_format_arg(a) for i, a in enumerate(arg) if i < max_list_len)
        more = "" if len(arg) < max_list_len + 1 else f", ...[total_len={len(arg)}]"
        if isinstance(arg, list):
            return f"[{items}{more}]"
        return f"({items}{',' if len(arg) == 1 else ''}{more})"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    if isinstance(arg, Node):
        return "%" + str(arg)
    return str(arg)


class Node:
    """One operation in a ``Graph`` (see the module docstring)."""

    def __init__(self, graph, name: str, op: str, target, args: tuple, kwargs: dict, return_type=None) -> None:
        if op == "call_function":
            if not callable(target):
                raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                                 f"{type(target).__name__} but a Callable is expected")
        elif op != "root":
            if op not in _LEGAL_OPS:
                raise AssertionError(f"Unsupported node op {op!r}: expected one of {sorted(_LEGAL_OPS)}")
            if not isinstance(target, str):
                raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                                 f"{type(target).__name__} but a str is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes: dict[Node, None] = {}
        self._args: tuple = ()
        self._kwargs: dict = immutable_dict()
        self.users: dict[Node, None] = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self._repr_fn: Callable[[Node], str] | None = None
        self.meta: dict[str, Any] = {}
        self._update_args_kwargs(args, kwargs)

    # -- position in the graph -------------------------------------------------------------------------
    @property
    def next(self) -> Node:
        """The next node in the linked list of nodes."""
        return self._next

    @property
    def prev(self) -> Node:
        """The previous node in the linked list of nodes."""
        return self._prev

    def prepend(self, x: Node) -> None:
        """Insert ``x`` before this node (moving it if it is elsewhere in the graph)."""
        if self.graph is not x.graph:
            raise AssertionError("Attempting to move a Node into a different Graph")
        if self is x:
            warnings.warn("Trying to prepend a node to itself. This behavior has no effect on the graph.",
                          stacklevel=2)
            return
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x: Node) -> None:
        """Insert ``x`` after this node (moving it if it is elsewhere in the graph)."""
        self._next.prepend(x)

    def _remove_from_list(self) -> None:
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    # -- arguments ------------------------------------------------------------------------------------------
    @property
    def args(self) -> tuple:
        """The positional arguments; assigning a new tuple updates ``users``."""
        return self._args

    @args.setter
    def args(self, a: tuple) -> None:
        self._update_args_kwargs(a, self._kwargs)

    @property
    def kwargs(self) -> dict:
        """The keyword arguments; assigning a new dict updates ``users``."""
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k: dict) -> None:
        self._update_args_kwargs(self._args, k)

    @property
    def all_input_nodes(self) -> list[Node]:
        """The Nodes this node's args and kwargs refer to, in order of first appearance."""
        return list(self._input_nodes)

    def update_arg(self, idx: int, arg) -> None:
        """Set ``args[idx]``."""
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def insert_arg(self, idx: int, arg) -> None:
        """Insert ``arg`` at position ``idx`` of ``args``."""
        if not 0 <= idx <= len(self.args):
            raise AssertionError("insert_args index must be between 0 and len(self.args)")
        self.args = self.args[:idx] + (arg,) + self.args[idx:]

    def update_kwarg(self, key: str, arg) -> None:
        """Set ``kwargs[key]``."""
        self.kwargs = {**self.kwargs, key: arg}

    def _update_args_kwargs(self, new_args, new_kwargs) -> None:
        if not isinstance(new_args, tuple):
            raise TypeError(f"Node.args must be a tuple, got {type(new_args).__name__}")
        if not isinstance(new_kwargs, dict):
            raise TypeError(f"Node.kwargs must be a dict, got {type(new_kwargs).__name__}")
        for old in self._input_nodes:
            old.users.pop(self, None)
        found: dict[Node, None] = {}

        def collect(n: Node) -> Node:
            found.setdefault(n)
            return n

        self._args = map_arg(new_args, collect)
        self._kwargs = map_arg(new_kwargs, collect)
        self._input_nodes = found
        for n in found:
            n.users.setdefault(self)

    # -- rewriting --------------------------------------------------------------------------------------------
    def replace_all_uses_with(self, replace_with: Node, delete_user_cb: Callable[[Node], bool] | None = None,
                              *, propagate_meta: bool = False) -> list[Node]:
        """Make every user of this node use ``replace_with`` instead; returns the users changed.

        ``delete_user_cb(user)`` may return False to leave a user as it is; ``propagate_meta`` copies this
        node's ``meta`` onto ``replace_with`` (which must have none of its own).
        """
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError("Called node.replace_all_uses_with(replace_with, propagate_meta=True), "
                                     "but replace_with already has .meta keys")
            replace_with.meta.update(self.meta)
        changed = []
        hooks = getattr(self.graph.owning_module, "_replace_hooks", None)
        for user in list(self.users):
            if delete_user_cb is not None and not delete_user_cb(user):
                continue
            changed.append(user)
            for hook in hooks or ():
                hook(old=self, new=replace_with.name, user=user)
            user._replace_input_with(self, replace_with)
        return changed

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Use ``new_input`` wherever this node's arguments refer to ``old_input``."""
        for hook in getattr(self.graph.owning_module, "_replace_hooks", None) or ():
            hook(old=old_input, new=new_input.name, user=self)
        self._replace_input_with(old_input, new_input)

    def _replace_input_with(self, old: Node, new: Node) -> None:
        swap = lambda n: new if n is old else n  # noqa: E731
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def _rename(self, candidate: str) -> None:
        if candidate == self.name:
            return
        name = self.graph._graph_namespace.create_name(candidate, None)
        self.name = name
        self.graph._graph_namespace._rename_object(self, name)

    # -- properties ---------------------------------------------------------------------------------------------
    @property
    def stack_trace(self) -> str | None:
        """The Python stack where the node was recorded (``meta['stack_trace']``), if recorded."""
        return self.meta.get("stack_trace", None)

    @stack_trace.setter
    def stack_trace(self, trace: str | None) -> None:
        self.meta["stack_trace"] = trace

    def is_impure(self, impure_random: bool = True) -> bool:
        """Whether dead-code elimination must keep this node although nothing uses it: placeholders, the
        output, calls to side-effectful functions (``torch._assert``, ``operator.setitem``, random sampling)
        and calls to modules marked ``_is_impure``."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_module":
            mod = self.graph.owning_module
            if mod is None:
                raise AssertionError("self.graph.owning_module not set for purity check")
            return getattr(mod.get_submodule(self.target), "_is_impure", False)
        if self.op == "call_function":
            t = self.target
            if t in _side_effectful_functions or t is _names.torch_assert():
                return True
            from ._symbolic_trace import _assert_is_none
            return t is _assert_is_none or t in _random_functions()
        return False

    # -- printing -----------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self._repr_fn is not None:
            return self._repr_fn(self)
        return self.name

    @staticmethod
    def _pretty_print_target(target) -> str:
        if isinstance(target, str):
            return target
        name = getattr(target, "__name__", None)
        module = getattr(target, "__module__", None)
        if name is not None and module == "builtins":
            return f"builtins.{name}"
        if name is not None and module == "_operator":
            return f"operator.{name}"
        return _names.qualified_name(target)

    def format_node(self, placeholder_names: list[str] | None = None,
                    maybe_return_typename: list[str] | None = None) -> str | None:
        """A one-line description: ``%add : [num_users=1] = call_function[target=operator.add](args = ...)``.

        (``placeholder_names``/``maybe_return_typename`` are filled in when a Graph prints itself.)
        """
        type_str = f"{_names.type_repr(self.type)} " if self.type is not None else ""
        if self.op == "placeholder":
            arg_str = self.target
            if self.type:
                arg_str += f": {_names.type_repr(self.type)}"
            if placeholder_names:
                placeholder_names.append(arg_str)
                return None
            default = "(default=" + str(self.args[0]) + ")" if self.args else ""
            return f"%{self.name} : {type_str}[num_users={len(self.users)}] = {self.op}[target={self.target}]{default}"
        if self.op == "get_attr":
            return (f"%{self.name} : {type_str}[num_users={len(self.users)}] = "
                    f"{self.op}[target={self._pretty_print_target(self.target)}]")
        if self.op == "output":
            if self.type and maybe_return_typename:
                maybe_return_typename[0] = f" -> {_names.type_repr(self.type)}"
            return f"return {self.args[0]}"
        return (f"%{self.name} : {type_str}[num_users={len(self.users)}] = "
                f"{self.op}[target={self._pretty_print_target(self.target)}]("
                f"args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})")
