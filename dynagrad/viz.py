"""Draw the autograd graph behind a tensor: Graphviz DOT (``make_dot``) and Mermaid (``to_mermaid``).

Nodes show the op, its output shape and dtype; leaves that are parameters show their names; saved values
can be listed. The walk is iterative, so deep graphs (long RNN unrolls) draw without recursion errors.
"""
from __future__ import annotations

from .autograd.graph import _RELEASED, Node
from .tensor import Tensor


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
        detail = [_shape(m) for m in n.meta]
        if show_saved and n.saved and n.saved is not _RELEASED:
            for _, arr, _, _ in n.saved:
                if arr is not None and hasattr(arr, "shape"):
                    detail.append(f"saved {tuple(arr.shape)}")
        if n.source:
            detail.append(f"{n.source[0].rsplit('/', 1)[-1]}:{n.source[1]}")
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


__all__ = ["make_dot", "to_mermaid", "DotSource", "Tensor"]
