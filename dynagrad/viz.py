"""Draw the autograd graph behind a tensor: Graphviz DOT (``make_dot``) and Mermaid (``to_mermaid``).

Nodes show the op, its output shape and dtype and the user's line that ran it; leaves that are parameters
show their names; saved values can be listed. Inside ``record_modules(model)`` every op also records the
module that ran it, and the drawings show it (``fc1 (Linear)``). The walk is iterative, so deep graphs
(long RNN unrolls) draw without recursion errors.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from .autograd import state as _state
from .autograd.graph import _RELEASED, Node
from .tensor import Tensor


class record_modules:  # noqa: N801 - a context manager, named like PyTorch's lower-case ones
    """Label every graph node created inside the ``with`` block with the module whose forward ran it.

    The label is the module's path in ``model`` and its class (``fc1 (Linear)``; ``Net`` for the root;
    the class alone for a module outside ``model``, such as a loss); ``make_dot``/``to_mermaid`` show it.
    Without ``model`` the first module called is the root. Recording uses a global forward pre-hook and
    hook and the graph's record hook only while the block runs, so ordinary steps pay nothing.

    >>> import dynagrad
    >>> from dynagrad import nn
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    >>> with record_modules(net):
    ...     out = net(dynagrad.randn(4, 3, requires_grad=True)).sum()
    >>> [module_of(n) for n in (out.grad_fn, out.grad_fn.next_functions[0][0])]
    [None, '1 (ReLU)']
    """

    def __init__(self, model=None) -> None:
        self.model = model
        self._names: dict | None = None
        self._stack: list = []
        self._handles: list = []
        self._prev_hook = None

    def _name(self, module) -> str:
        if self._names is None:
            root = self.model if self.model is not None else module
            self._names = {id(m): name for name, m in root.named_modules()}
        name = self._names.get(id(module))
        cls = type(module).__name__
        return f"{name} ({cls})" if name else cls

    def _pre(self, module, args) -> None:
        self._stack.append(self._name(module))

    def _post(self, module, args, output) -> None:
        if self._stack:
            self._stack.pop()

    def _record(self, node) -> None:
        if self._stack:
            node._viz_module = self._stack[-1]
        if self._prev_hook is not None:
            self._prev_hook(node)

    def __enter__(self) -> record_modules:
        from .nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
        self._handles = [register_module_forward_pre_hook(self._pre),
                         register_module_forward_hook(self._post, always_call=True)]
        self._prev_hook = _state.record_hook
        _state.record_hook = self._record
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        _state.record_hook = self._prev_hook
        self._stack.clear()


def module_of(node) -> str | None:
    """The module label ``record_modules`` gave ``node`` (a ``grad_fn``), or None."""
    return getattr(node, "_viz_module", None)


def where(node) -> str | None:
    """``file.py:12``: the user's line that ran the op of ``node``, or None."""
    src = getattr(node, "source", None)
    return f"{os.path.basename(src[0])}:{src[1]}" if src else None


def _shape(meta) -> str:
    shape, dt = meta
    return f"({', '.join(map(str, shape))}) {dt.name if hasattr(dt, 'name') else dt}"


def _walk(roots):
    """Yield (node_id, kind, label_parts, edges) for every node reachable from ``roots``."""
    seen = {}
    order = []
    stack = []
    for r in roots:
        if r.grad_fn is not None:
            stack.append(r.grad_fn)
        elif r.requires_grad:
            stack.append(r)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        order.append(n)
        if isinstance(n, Node):
            for target, _ in n.edges:
                if target is not None and id(target) not in seen:
                    stack.append(target)
    return order


def _param_names(params) -> dict:
    if params is None:
        return {}
    items = params.items() if isinstance(params, dict) else params
    return {id(p): name for name, p in items}


def _describe(n, names, show_saved):
    if isinstance(n, Node):
        title = n.name()
        module = module_of(n)
        detail = ([module] if module else []) + [_shape(m) for m in n.meta]
        if show_saved and n.saved and n.saved is not _RELEASED:
            for _, arr, _, _ in n.saved:
                if arr is not None and hasattr(arr, "shape"):
                    detail.append(f"saved {tuple(arr.shape)}")
        line = where(n)
        if line:
            detail.append(line)
        return "op", title, detail
    name = names.get(id(n))
    shape = f"({', '.join(map(str, n.shape))}) {n.dtype.name}"
    return ("param" if name else "leaf"), (name or "leaf tensor"), [shape]


def make_dot(var, params=None, show_attrs: bool = False, show_saved: bool = False, max_attr_chars: int = 50):
    """The graph of ``var`` (a tensor or a sequence of tensors) as Graphviz DOT source.

    Returns a ``graphviz.Digraph`` when the ``graphviz`` package is installed (so ``.render()`` works),
    otherwise an object with ``.source`` and ``.save(path)``.

    >>> import dynagrad
    >>> w = dynagrad.ones(2, requires_grad=True)
    >>> dot = make_dot((w * 2).sum(), params={"w": w})
    >>> "SumBackward0" in dot.source and "w" in dot.source
    True
    """
    roots = list(var) if isinstance(var, (list, tuple)) else [var]
    names = _param_names(params)
    nodes = _walk(roots)
    lines = ["digraph {", '  graph [rankdir=BT]', '  node [fontname="monospace" fontsize=10 shape=box]']
    for n in nodes:
        kind, title, detail = _describe(n, names, show_saved or show_attrs)
        label = "\\n".join([title] + detail).replace('"', "'")
        style = {"op": 'style=filled fillcolor="#dddddd"', "param": 'style=filled fillcolor="#aaddaa"',
                 "leaf": 'style=filled fillcolor="#ddeeff"'}[kind]
        lines.append(f'  n{id(n)} [label="{label}" {style}]')
    for r in roots:
        lines.append(f'  out{id(r)} [label="output\\n({", ".join(map(str, r.shape))}) {r.dtype.name}" '
                     f'style=filled fillcolor="#ffdd99"]')
        target = r.grad_fn if r.grad_fn is not None else r
        lines.append(f"  n{id(target)} -> out{id(r)}")
    for n in nodes:
        if isinstance(n, Node):
            for target, _ in n.edges:
                if target is not None:
                    lines.append(f"  n{id(target)} -> n{id(n)}")
    lines.append("}")
    source = "\n".join(lines)
    try:
        import graphviz
        return graphviz.Source(source)
    except ImportError:
        return DotSource(source)


class DotSource:
    """DOT text with ``save``/``render`` when the graphviz Python package is not installed."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def save(self, filename: str) -> str:
        with open(filename, "w") as f:
            f.write(self.source)
        return filename

    def render(self, filename: str = "graph", format: str = "svg", cleanup: bool = False) -> str:  # noqa: A002
        """Render with the ``dot`` program (Graphviz) if it is on PATH."""
        import shutil
        import subprocess
        if shutil.which("dot") is None:
            raise RuntimeError("rendering needs Graphviz's `dot` program (e.g. apt-get install graphviz); "
                               "the DOT source is in .source")
        src = self.save(filename + ".dot")
        out = f"{filename}.{format}"
        subprocess.run(["dot", f"-T{format}", src, "-o", out], check=True)
        return out


def to_mermaid(var, params=None, show_saved: bool = False) -> str:
    """The graph of ``var`` as Mermaid flowchart text (the seed articles draw graphs in Mermaid).

    >>> import dynagrad
    >>> x = dynagrad.ones(2, requires_grad=True)
    >>> print(to_mermaid(x.exp().sum(), params={"x": x}).splitlines()[0])
    flowchart BT
    """
    roots = list(var) if isinstance(var, (list, tuple)) else [var]
    names = _param_names(params)
    nodes = _walk(roots)
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = ["flowchart BT"]
    for n in nodes:
        kind, title, detail = _describe(n, names, show_saved)
        text = "<br/>".join([title] + detail).replace('"', "'")
        shape = ('["', '"]') if kind == "op" else ('(["', '"])')
        lines.append(f"    {ids[id(n)]}{shape[0]}{text}{shape[1]}")
    for i, r in enumerate(roots):
        lines.append(f'    out{i}{{{{"output ({", ".join(map(str, r.shape))})"}}}}')
        target = r.grad_fn if r.grad_fn is not None else r
        lines.append(f"    {ids[id(target)]} --> out{i}")
    for n in nodes:
        if isinstance(n, Node):
            for target, _ in n.edges:
                if target is not None:
                    lines.append(f"    {ids[id(target)]} --> {ids[id(n)]}")
    return "\n".join(lines)


RENDER_HINT = ("no picture, as Graphviz's `dot` is not installed: paste {mmd} into https://mermaid.live, or install "
               "Graphviz (apt-get install graphviz; brew install graphviz) and run `dot -Tsvg {dot} -o {svg}`")


def save_drawings(var, base: str, params=None, formats: tuple = ("svg",)) -> dict:
    """Write the graph of ``var`` as ``base.dot`` and ``base.mmd``, and render ``base.svg`` (each of
    ``formats``) with Graphviz's ``dot`` when it is on PATH.

    Returns ``{"dot": path, "mmd": path, "rendered": [paths], "hint": None or a sentence saying how to
    render or view the drawing without Graphviz}``.

    >>> import dynagrad, tempfile, os
    >>> w = dynagrad.ones(2, requires_grad=True)
    >>> out = save_drawings((w * 2).sum(), os.path.join(tempfile.mkdtemp(), "g"), params={"w": w})
    >>> os.path.basename(out["dot"]), os.path.basename(out["mmd"])
    ('g.dot', 'g.mmd')
    """
    dot = make_dot(var, params=params)
    written = {"dot": base + ".dot", "mmd": base + ".mmd", "rendered": [], "hint": None}
    with open(written["dot"], "w") as f:
        f.write(dot.source)
    with open(written["mmd"], "w") as f:
        f.write(to_mermaid(var, params=params) + "\n")
    if shutil.which("dot") is None:
        written["hint"] = RENDER_HINT.format(dot=written["dot"], svg=base + ".svg", mmd=written["mmd"])
        return written
    for fmt in formats:
        out = f"{base}.{fmt}"
        proc = subprocess.run(["dot", f"-T{fmt}", written["dot"], "-o", out], capture_output=True, text=True)
        if proc.returncode != 0:
            written["hint"] = f"`dot -T{fmt}` failed: {proc.stderr.strip()[:300]}"
            break
        written["rendered"].append(out)
    return written


__all__ = ["make_dot", "to_mermaid", "save_drawings", "record_modules", "module_of", "where", "DotSource",
           "Tensor"]
