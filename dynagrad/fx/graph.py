"""``Graph``: the FX intermediate representation, a list of Nodes in program order, and the Python code it
turns into (``python_code``), written as PyTorch's FX writes it.

>>> import dynagrad as torch
>>> from dynagrad import fx
>>> g = fx.Graph()
>>> x = g.placeholder("x")
>>> s = g.call_function(torch.sin, (x,))
>>> y = g.call_method("mul", (s, 2))
>>> _ = g.output(y)
>>> print(g)
graph():
    %x : [num_users=1] = placeholder[target=x]
    %sin : [num_users=1] = call_function[target=torch.sin](args = (%x,), kwargs = {})
    %mul : [num_users=1] = call_method[target=mul](args = (%sin, 2), kwargs = {})
    return mul
>>> print(g.python_code("self").src.strip())
def forward(self, x):
    sin = torch.sin(x);  x = None
    mul = sin.mul(2);  sin = None
    return mul
"""
from __future__ import annotations

import builtins
import copy
import inspect
import keyword
import math
import re
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import _names
from .immutable_collections import immutable_dict
from .node import Node, map_arg

__all__ = ["Graph", "PythonCode", "CodeGen"]

_LEGAL_OPS = ("call_function", "call_method", "get_attr", "call_module", "placeholder", "output")

reflectable_magic_methods = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}", "truediv": "{} / {}",
    "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}", "lshift": "{} << {}", "rshift": "{} >> {}",
    "and_": "{} & {}", "or_": "{} | {}", "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
}
magic_methods = {
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}", "ge": "{} >= {}",
    "pos": "+{}", "neg": "-{}", "invert": "~{}", **reflectable_magic_methods,
}
inplace_methods = {
    "iadd": "{} += {}", "iand": "{} &= {}", "ifloordiv": "{} //= {}", "ilshift": "{} <<= {}", "imod": "{} %= {}",
    "imul": "{} *= {}", "imatmul": "{} @= {}", "ior": "{} |= {}", "ipow": "{} **= {}", "irshift": "{} >>= {}",
    "isub": "{} -= {}", "itruediv": "{} /= {}", "ixor": "{} ^= {}", "setitem": "{}[{}] = {}",
}


# Names generated code never binds to a node: keywords, builtins, and the globals every graph's code has
def _custom_builtins() -> dict[str, Any]:
    import dynagrad
    return {"inf": math.inf, "nan": math.nan, "NoneType": type(None), "torch": _names.torch_ref(),
            "device": dynagrad.device}


_RESERVED = ("inf", "nan", "NoneType", "torch", "device", "fx_pytree", "pytree")
_illegal_names: dict[str, Any] = {k: object() for k in keyword.kwlist}
_illegal_names.update(builtins.__dict__)
_illegal_names.update({k: object() for k in _RESERVED})
_builtins_filled = False


def _fill_builtins() -> dict[str, Any]:
    """The globals every generated forward has (their names are then taken by these objects only)."""
    global _builtins_filled
    objs = _custom_builtins()
    if not _builtins_filled:
        _illegal_names.update(objs)
        _builtins_filled = True
    return objs

_illegal_char = re.compile("[^0-9a-zA-Z_]+")
_name_regex = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")


class _Namespace:
    """Unique names for objects: one name per object, no name twice, no shadowed builtin (unless the object
    is that builtin); ``add`` then ``add_1``, ``add_2``."""

    def __init__(self) -> None:
        self._obj_to_name: dict[Any, str] = {}
        self._used_names: set[str] = set()
        self._base_count: dict[str, int] = {}

    def create_name(self, candidate: str, obj: Any) -> str:
        if obj is not None and obj in self._obj_to_name:
            return self._obj_to_name[obj]
        match = _name_regex.match(candidate)
        if match is None:
            candidate = _illegal_char.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = f"_{candidate}"
            match = _name_regex.match(candidate)
        base, num = match.group(1, 2)
        if num is None or candidate in self._used_names:
            num = self._base_count.get(base, 0)
            if _illegal_names.get(candidate, obj) is not obj:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used_names:
            num += 1
            candidate = f"{base}_{num}"
        self._used_names.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[obj] = candidate
        return candidate

    def associate_name_with_obj(self, name: str, obj: Any) -> None:
        if self._obj_to_name.setdefault(obj, name) is not name:
            raise AssertionError("obj is already associated")

    def _rename_object(self, obj: Any, name: str) -> None:
        self._obj_to_name[obj] = name
        self._used_names.add(name)


@dataclass
class PythonCode:
    """The source of a graph's ``forward`` and the globals it runs with."""

    src: str
    globals: dict[str, Any]
    _lineno_map: dict[int, int | None] | None = None


def _format_target(base: str, target: str) -> str:
    r = base
    for e in target.split("."):
        r = f'{r}.{e}' if e.isidentifier() else f'getattr({r}, "{e}")'
    return r


class _InsertPoint:
    def __init__(self, graph: Graph, new_insert: Callable) -> None:
        self.graph = graph
        self.orig_insert, graph._insert = graph._insert, new_insert

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        self.graph._insert = self.orig_insert


class _node_list:
    """``graph.nodes``: iterates in program order, skipping nodes erased while iterating."""

    def __init__(self, graph: Graph, direction: str = "_next") -> None:
        self.graph = graph
        self.direction = direction

    def __len__(self) -> int:
        return self.graph._len

    def __iter__(self):
        root, attr = self.graph._root, self.direction
        cur = getattr(root, attr)
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = getattr(cur, attr)

    def __reversed__(self):
        return iter(_node_list(self.graph, "_prev" if self.direction == "_next" else "_next"))


_dtype_abbrs = {"bfloat16": "bf16", "float64": "f64", "float32": "f32", "float16": "f16", "complex32": "c32",
                "complex64": "c64", "complex128": "c128", "int8": "i8", "int16": "i16", "int32": "i32",
                "int64": "i64", "bool": "b8", "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
                "float8_e4m3fn": "f8e4m3fn", "float8_e5m2": "f8e5m2"}


def _dtype_abbr(dtype) -> str:
    return _dtype_abbrs.get(str(dtype).rpartition(".")[2], str(dtype))


_origin_type_map = {list: list, dict: dict, set: set, frozenset: frozenset,
                    tuple: tuple}


def _type_repr(obj) -> str:
    import dynagrad
    if obj is dynagrad.Tensor:
        return "torch.Tensor"
    return _names.type_repr(obj)


class CodeGen:
    """Turns a graph into the source of its ``forward``; subclass to change the signature or the return."""

    def __init__(self) -> None:
        self._body_transformer: Callable[[list[str]], list[str]] | None = None
        self._func_name = "forward"

    def gen_fn_def(self, free_vars: list[str], maybe_return_annotation: str) -> str:
        if not free_vars or free_vars[0] != "self":
            free_vars.insert(0, "self")
        return f"def {self._func_name}({', '.join(free_vars)}){maybe_return_annotation}:"

    def generate_output(self, output_args, *, repr_fn: Callable = repr) -> str:
        return f"return {repr_fn(output_args)}"

    def process_inputs(self, *args):
        return args

    def process_outputs(self, outputs):
        return outputs

    def additional_globals(self) -> list[tuple[str, Any]]:
        return []

    def _gen_python_code(self, nodes, root_module: str, namespace: _Namespace, *, verbose: bool = False,
                         include_stride: bool = False, include_device: bool = False) -> PythonCode:
        free_vars: list[str] = []
        body: list[str] = []
        globals_: dict[str, Any] = {}
        wrapped_fns: dict[str, None] = {}
        maybe_return_annotation = [""]

        def add_global(name_hint: str, obj) -> str:
            import dynagrad
            if _names.is_from_torch(obj) and obj is not dynagrad.device:
                return _names.qualified_name(obj)
            name = namespace.create_name(name_hint, obj)
            if name in globals_ and globals_[name] is not obj:
                raise AssertionError(f"Global name {name} already assigned to different object")
            globals_[name] = obj
            return name

        objs = _fill_builtins()
        for name in _RESERVED:
            obj = objs.get(name)
            if obj is None:
                namespace.create_name(name, None)
            else:
                globals_[namespace.create_name(name, obj)] = obj

        def type_repr(o) -> str:
            if o == ():
                return "()"
            typename = _type_repr(o)
            origin = getattr(o, "__origin__", None)
            if origin is not None:
                if isinstance(o, typing._GenericAlias):  # type: ignore[attr-defined]
                    origin = _origin_type_map.get(origin, origin)
                origin_name = add_global(_type_repr(origin), origin)
                args = typing.get_args(o)
                return f"{origin_name}[{','.join(type_repr(a) for a in args)}]" if args else origin_name
            return add_global(typename, o)

        def get_repr(arg) -> str:
            import dynagrad
            if isinstance(arg, Node):
                return repr(arg)
            if isinstance(arg, tuple) and hasattr(arg, "_fields"):
                cls = type(arg)
                return f"{add_global(_names.qualified_name(cls), cls)}{repr(tuple(arg))}"
            if isinstance(arg, dynagrad.Tensor):
                return f"torch.Tensor(size={list(arg.size())}, dtype={str(arg.dtype).split('.')[-1]})"
            if isinstance(arg, tuple):
                if len(arg) == 1:
                    return f"({get_repr(arg[0])},)"
                return "(" + ", ".join(get_repr(a) for a in arg) + ")"
            if isinstance(arg, list):
                return "[" + ", ".join(get_repr(a) for a in arg) + "]"
            if isinstance(arg, slice):
                return f"slice({get_repr(arg.start)}, {get_repr(arg.stop)}, {get_repr(arg.step)})"
            import enum
            if isinstance(arg, enum.Enum):
                return f"{add_global(type(arg).__name__, type(arg))}.{arg.name}"
            return repr(arg)

        def format_args(args, kwargs) -> str:
            parts = [get_repr(a) for a in args]
            parts.extend(f"{k} = {get_repr(v)}" for k, v in kwargs.items())
            return ", ".join(parts)

        # a value is freed right after its last use (found walking backwards)
        last_use: dict[Node, Node] = {}
        to_free: dict[Node, list[Node]] = {}
        for node in reversed(nodes):
            for inp in node._input_nodes:
                if inp not in last_use:
                    last_use[inp] = node
                    to_free.setdefault(node, []).append(inp)

        def delete_unused_values(user: Node) -> None:
            if user.op == "placeholder":
                return
            if user.op == "output":
                body.append("\n")
                return
            dead = list(to_free.get(user, []))
            if not user.users:
                dead.append(user)
            if dead:
                body.append(";  " + " = ".join([repr(n) for n in dead] + ["None"]) + "\n")
            else:
                body.append("\n")

        prev_summary = [None]

        def stack_summary(node: Node) -> None:
            if node.op in ("placeholder", "output"):
                return
            text = "No stacktrace found for following nodes"
            if node.stack_trace:
                text = _summarize_stack(node.stack_trace) or text
            summary = f"\n# {text}\n"
            if summary != prev_summary[0]:
                prev_summary[0] = summary
                body.append(summary)

        def annotation(node: Node) -> str:
            ann = "" if node.type is None else f" : {type_repr(node.type)}"
            if verbose:
                meta = node.meta.get("val", node.meta.get("tensor_meta", node.meta.get("example_value")))
                import dynagrad

                from .passes.shape_prop import TensorMetadata
                if isinstance(meta, dynagrad.Tensor):
                    stride = f"[{', '.join(str(s) for s in meta.stride())}]" if include_stride else ""
                    dev = f"{meta.device}" if include_device else ""
                    ann = f': "{_dtype_abbr(meta.dtype)}[{", ".join(str(s) for s in meta.shape)}]{stride}{dev}"'
                elif isinstance(meta, TensorMetadata):
                    ann = f': "{_dtype_abbr(meta.dtype)}[{", ".join(str(s) for s in meta.shape)}]"'
            return ann

        def emit_node(node: Node) -> None:
            ann = annotation(node)
            op = node.op
            if op == "placeholder":
                default = "" if not node.args else f" = {get_repr(node.args[0])}"
                free_vars.append(f"{node.target}{ann}{default}")
                raw = node.target.replace("*", "")
                if raw != repr(node):
                    body.append(f"{repr(node)} = {raw}\n")
                return
            if op == "call_method":
                body.append(f"{repr(node)}{ann} = {_format_target(get_repr(node.args[0]), node.target)}"
                            f"({format_args(node.args[1:], node.kwargs)})")
                return
            if op == "call_function":
                t = node.target
                tname = getattr(t, "__name__", "")
                if getattr(t, "__module__", "") == "_operator" and tname in magic_methods:
                    body.append(f"{repr(node)}{ann} = "
                                f"{magic_methods[tname].format(*(get_repr(a) for a in node.args))}")
                    return
                if getattr(t, "__module__", "") == "_operator" and tname in inplace_methods:
                    body.append(f"{inplace_methods[tname].format(*(get_repr(a) for a in node.args))};  "
                                f"{repr(node)}{ann} = {get_repr(node.args[0])}")
                    return
                global_name = add_global(_names.qualified_name(t), t)
                if (global_name == "getattr" and isinstance(node.args, tuple) and len(node.args) == 2
                        and isinstance(node.args[1], str) and node.args[1].isidentifier()):
                    body.append(f"{repr(node)}{ann} = {_format_target(get_repr(node.args[0]), node.args[1])}")
                    return
                body.append(f"{repr(node)}{ann} = {global_name}({format_args(node.args, node.kwargs)})")
                if node.meta.get("is_wrapped", False):
                    wrapped_fns.setdefault(global_name)
                return
            if op == "call_module":
                body.append(f"{repr(node)}{ann} = {_format_target(root_module, node.target)}"
                            f"({format_args(node.args, node.kwargs)})")
                return
            if op == "get_attr":
                body.append(f"{repr(node)}{ann} = {_format_target(root_module, node.target)}")
                return
            if op == "output":
                if node.type is not None:
                    maybe_return_annotation[0] = f" -> {type_repr(node.type)}"
                body.append(self.generate_output(node.args[0], repr_fn=get_repr))
                return
            raise NotImplementedError(f"node: {node.op} {node.target}")

        for node in nodes:
            if verbose:
                stack_summary(node)
            emit_node(node)
            delete_unused_values(node)

        if not body:
            body.append("pass\n")
        if wrapped_fns:
            from ._symbolic_trace import wrap
            wrap_name = add_global("wrap", wrap)
            wrap_stmts = "\n".join(f'{wrap_name}("{name}")' for name in wrapped_fns)
        else:
            wrap_stmts = ""
        if self._body_transformer:
            body = self._body_transformer(body)
        for name, value in self.additional_globals():
            add_global(name, value)
        prologue = self.gen_fn_def(free_vars, maybe_return_annotation[0])
        code = "".join(body).lstrip("\n")
        code = "\n".join("    " + line for line in code.split("\n"))
        return PythonCode(f"\n{wrap_stmts}\n\n{prologue}\n{code}", globals_)


def _summarize_stack(stack_trace: str) -> str | None:
    """``File: f.py:12 in forward, code: y = x + 1`` from the last frame of a recorded stack trace."""
    lines = stack_trace.strip().split("\n")
    for i in range(len(lines) - 1, -1, -1):
        m = re.match(r'^\s*File "(.+)", line (\d+), in (.+)$', lines[i])
        if m:
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"File: {m.group(1)}:{m.group(2)} in {m.group(3)}, code: {code}"
    return None


class Graph:
    """The FX IR: Nodes in program order, each a ``placeholder``, ``get_attr``, ``call_function``,
    ``call_method``, ``call_module`` or the final ``output`` (see the module docstring)."""

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras: dict | None = None) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._used_names: dict[str, int] = {}
        self._insert = self._root.prepend
        self._len = 0
        self._graph_namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras
        self._codegen = CodeGen()
        self._co_fields: dict[str, Any] = {}

    @property
    def owning_module(self):
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod) -> None:
        self._owning_module = mod

    @property
    def nodes(self) -> _node_list:
        """The nodes in program order (a view: it has ``len`` and ``reversed``)."""
        return _node_list(self)

    @property
    def output_node(self) -> Node:
        out = next(iter(reversed(self.nodes)))
        if out.op != "output":
            raise AssertionError(f"Last node in graph must be an output node, got {out.op}")
        return out

    def find_nodes(self, *, op: str, target=None, sort: bool = True) -> list[Node]:
        """The nodes with this ``op`` (and ``target``, if given), in program order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # -- building --------------------------------------------------------------------------------------------
    def create_node(self, op: str, target, args: tuple | None = None, kwargs: dict | None = None,
                    name: str | None = None, type_expr: Any | None = None) -> Node:
        """Create a node at the insert point (the end, unless ``inserting_before``/``after`` says otherwise)."""
        if op not in _LEGAL_OPS:
            raise AssertionError(f"Unsupported node op {op!r}: expected one of {list(_LEGAL_OPS)}")
        args = () if not args else args
        if not isinstance(args, tuple):
            raise AssertionError(f"args must be a tuple, got {type(args)}")
        kwargs = immutable_dict() if not kwargs else kwargs
        if not isinstance(kwargs, dict):
            raise AssertionError(f"kwargs must be a dict, got {type(kwargs)}")
        candidate = name if name is not None else self._target_to_str(target)
        name = self._graph_namespace.create_name(candidate, None)
        n = Node(self, name, op, target, args, kwargs, type_expr)
        for hook in getattr(self.owning_module, "_create_node_hooks", None) or ():
            hook(n)
        self._graph_namespace.associate_name_with_obj(name, n)
        self._insert(n)
        self._len += 1
        return n

    def _target_to_str(self, target) -> str:
        return _names.target_base_name(target)

    def process_inputs(self, *args):
        return self._codegen.process_inputs(*args)

    def process_outputs(self, out):
        return self._codegen.process_outputs(out)

    def erase_node(self, to_erase: Node) -> None:
        """Remove a node that nothing uses any more."""
        if len(to_erase.users) > 0:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} "
                               f"users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            warnings.warn(f"erase_node({to_erase}) on an already erased node", stacklevel=2)
            return
        for hook in getattr(self.owning_module, "_erase_node_hooks", None) or ():
            hook(to_erase)
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs(map_arg(to_erase._args, lambda n: None),
                                     map_arg(to_erase._kwargs, lambda n: None))

    def inserting_before(self, n: Node | None = None) -> _InsertPoint:
        """New nodes go before ``n`` (the start of the graph if None): as a ``with`` block, or for good."""
        if n is None:
            return self.inserting_after(self._root)
        if n.graph is not self:
            raise AssertionError("Node to insert before is not in graph.")
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n: Node | None = None) -> _InsertPoint:
        """New nodes go after ``n`` (the start of the graph if None): as a ``with`` block, or for good."""
        if n is None:
            return self.inserting_before(self._root)
        if n.graph is not self:
            raise AssertionError("Node to insert after is not in graph.")
        return _InsertPoint(self, n.append)

    def placeholder(self, name: str, type_expr: Any | None = None,
                    default_value: Any = inspect.Signature.empty) -> Node:
        """An input of the graph's function (``default_value``: its default)."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args=args, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr: Any | None = None) -> Node:
        """Fetch a parameter, buffer or other attribute of the owning module by its dotted path."""
        mod = self.owning_module
        if mod is not None and not _has_attr_path(mod, qualified_name):
            warnings.warn("Attempted to insert a get_attr Node with no underlying reference in the owning "
                          "GraphModule! Call GraphModule.add_submodule to add the necessary submodule, "
                          "GraphModule.add_parameter to add the necessary Parameter, or "
                          "nn.Module.register_buffer to add the necessary buffer", stacklevel=2)
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name: str, args: tuple | None = None, kwargs: dict | None = None,
                    type_expr: Any | None = None) -> Node:
        """Call the submodule at the dotted path ``module_name``."""
        mod = self.owning_module
        if mod is not None and not _has_module(mod, module_name):
            warnings.warn("Attempted to insert a call_module Node with no underlying reference in the owning "
                          "GraphModule! Call GraphModule.add_submodule to add the necessary submodule",
                          stacklevel=2)
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args: tuple | None = None, kwargs: dict | None = None,
                    type_expr: Any | None = None) -> Node:
        """Call a method of ``args[0]``."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function: Callable, args: tuple | None = None, kwargs: dict | None = None,
                      type_expr: Any | None = None, name: str | None = None) -> Node:
        """Call a free function (``torch.add``, ``operator.getitem``, your own)."""
        return self.create_node("call_function", the_function, args, kwargs, name=name, type_expr=type_expr)

    def output(self, result, type_expr: Any | None = None) -> Node:
        """The graph's return value."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node: Node, arg_transform: Callable[[Node], Any] = lambda x: x) -> Node:
        """Copy a node from another graph into this one; ``arg_transform`` maps its argument nodes to this
        graph's nodes."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        result = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        result.meta = copy.copy(node.meta)
        return result

    def graph_copy(self, g: Graph, val_map: dict[Node, Node], return_output_node: bool = False):
        """Copy every node of ``g`` into this graph (``val_map`` maps ``g``'s nodes to this one's, and is
        filled in); returns what ``g``'s output refers to."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                rv = map_arg(node.args[0], lambda n: val_map[n])
                return (rv, node) if return_output_node else rv
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo=None) -> Graph:
        memo = memo if memo is not None else {}
        g = Graph(tracer_cls=self._tracer_cls)
        out = g.graph_copy(self, val_map=memo, return_output_node=True)
        g._codegen = copy.deepcopy(self._codegen)
        if out is not None:
            value, old_output = out
            new_output = g.output(value, type_expr=getattr(old_output, "type", None))
            new_output.meta = copy.copy(old_output.meta)
        return g

    def __getstate__(self) -> dict:
        # the owning module pickles this graph; it sets itself as the owner again when rebuilt
        return {**self.__dict__, "_owning_module": None}

    def set_codegen(self, codegen: CodeGen) -> None:
        self._codegen = codegen

    # -- code -----------------------------------------------------------------------------------------------
    def python_code(self, root_module: str, *, verbose: bool = False, include_stride: bool = False,
                    include_device: bool = False, colored: bool = False) -> PythonCode:
        """The Python source of this graph as a ``forward`` method (``root_module`` names ``self``)."""
        namespace = _Namespace()
        saved = {}
        for node in self.nodes:
            saved[node] = node._repr_fn
            node._repr_fn = lambda n: namespace.create_name(n.name, n)
        try:
            return self._codegen._gen_python_code(self.nodes, root_module, namespace, verbose=verbose,
                                                  include_stride=include_stride, include_device=include_device)
        finally:
            for node, fn in saved.items():
                node._repr_fn = fn

    def __str__(self) -> str:
        placeholder_names: list[str] = []
        lines = [node.format_node(placeholder_names) for node in self.nodes]
        s = f"graph({', '.join(placeholder_names)}):"
        for line in lines:
            if line:
                s += "\n    " + line
        return s

    def print_tabular(self) -> None:
        """Print the nodes as a table (opcode, name, target, args, kwargs), in ``tabulate``'s plain layout."""
        rows = [[n.op, n.name, str(n.target), str(n.args), str(n.kwargs)] for n in self.nodes]
        headers = ["opcode", "name", "target", "args", "kwargs"]
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
        print("\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                        for row in [headers, ["-" * w for w in widths], *rows]))

    # -- checks and passes -----------------------------------------------------------------------------------
    def lint(self) -> None:
        """Check the graph is well formed: known ops, arguments defined before use and from this graph,
        unique names, and (with an owning module) targets that exist."""
        seen_names: set[str] = set()
        seen: set[Node] = set()
        for node in self.nodes:
            if node.op not in _LEGAL_OPS:
                raise RuntimeError(f"Node {node} had unknown opcode {node.op}!")
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            for arg in node._input_nodes:
                where = f" of Node '{node}' "
                if arg.graph is not self:
                    raise RuntimeError(f"Argument '{arg}'{where}does not belong to this Graph, but was used as an "
                                       f"argument! If you are copying nodes from another graph, make sure to use "
                                       f"``arg_transform`` on node_copy() to remap values\n{self}")
                if arg not in seen:
                    raise RuntimeError(f"Argument '{arg}'{where}was used before it has been defined! Please "
                                       f"check that Nodes in the graph are topologically ordered\n{self}")
            seen.add(node)
            if node.name in seen_names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen_names.add(node.name)
        if self.owning_module is None:
            return
        for node in self.nodes:
            if node.op == "call_function":
                if not callable(node.target):
                    raise ValueError(f"Node {node} target {node.target} has type {type(node.target).__name__} "
                                     f"but a Callable is expected")
            elif not isinstance(node.target, str):
                raise ValueError(f"Node {node} target {node.target} has type {type(node.target).__name__} but "
                                 f"a str is expected")
            if node.op in ("get_attr", "call_module"):
                import dynagrad.nn as nn
                atoms = node.target.split(".")
                m = self.owning_module
                for i, atom in enumerate(atoms):
                    nxt = getattr(m, atom, None)
                    seen_q = ".".join(atoms[:i])
                    if nxt is None:
                        raise RuntimeError(f"Node {node} target {node.target} references nonexistent attribute "
                                           f"{atom} of {seen_q}")
                    if node.op == "call_module" and not isinstance(nxt, nn.Module):
                        raise RuntimeError(f"Node {node} target {node.target} {atom} of {seen_q} does not "
                                           f"reference an nn.Module")
                    m = nxt

    def eliminate_dead_code(self, is_impure_node: Callable[[Node], bool] | None = None) -> bool:
        """Erase nodes nothing uses, from the end backwards, keeping impure ones (``Node.is_impure``, or
        ``is_impure_node``); returns whether anything changed."""
        self.lint()
        impure = is_impure_node if is_impure_node is not None else (lambda n: n.is_impure())
        changed = False
        for node in reversed(self.nodes):
            if not impure(node) and not node.users:
                self.erase_node(node)
                changed = True
        return changed


def _has_attr_path(mod, target: str) -> bool:
    obj = mod
    for atom in target.split("."):
        if not hasattr(obj, atom):
            return False
        obj = getattr(obj, atom)
    return True


def _has_module(mod, target: str) -> bool:
    try:
        mod.get_submodule(target)
        return True
    except AttributeError:
        return False
