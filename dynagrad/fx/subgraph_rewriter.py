"""``replace_pattern``: find every occurrence of a pattern graph in a GraphModule and replace it.

The pattern and the replacement are functions (traced) or graphs with the same inputs. Pattern inputs
match any value, a constant included; other nodes match nodes of the same op and target whose arguments
match in turn. Matches whose inner values are used outside them, and overlapping matches, are skipped.

>>> import dynagrad as torch
>>> from dynagrad import fx
>>> def f(x):
...     return torch.add(x, 1.0).relu()
>>> gm = fx.symbolic_trace(f)
>>> matches = fx.subgraph_rewriter.replace_pattern(gm, lambda a, b: torch.add(a, b),
...                                                lambda a, b: torch.sub(a, b))
>>> len(matches), gm(torch.tensor([3.0])).item()
(1, 2.0)
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._symbolic_trace import symbolic_trace
from .graph import Graph
from .graph_module import GraphModule
from .node import Node

__all__ = ["Match", "ReplacedPatterns", "replace_pattern", "replace_pattern_with_filters"]


class Match(NamedTuple):
    """A replaced occurrence: the pattern's anchor node, and each pattern node -> the node it matched."""

    anchor: Node
    nodes_map: dict[Node, Node]


@dataclass
class ReplacedPatterns:
    anchor: Node
    nodes_map: dict[Node, Node]
    replacements: list[Node]


@dataclass
class InternalMatch:
    anchors: list[Node]
    nodes_map: dict[Node, Any] = field(default_factory=dict)
    placeholder_nodes: list[Any] = field(default_factory=list)
    returning_nodes: list[Node] = field(default_factory=list)

    def __copy__(self) -> InternalMatch:
        return InternalMatch(anchors=self.anchors, nodes_map=self.nodes_map.copy(),
                             placeholder_nodes=self.placeholder_nodes.copy(),
                             returning_nodes=self.returning_nodes.copy())


class SubgraphMatcher:
    """Find the occurrences of ``pattern`` in a graph (see the module docstring)."""

    def __init__(self, pattern: Graph, match_output: bool = False, match_placeholder: bool = False,
                 remove_overlapping_matches: bool = True, ignore_literals: bool = False) -> None:
        self.pattern = pattern
        self.match_output = match_output
        self.match_placeholder = match_placeholder
        self.remove_overlapping_matches = remove_overlapping_matches
        self.ignore_literals = ignore_literals
        if len(pattern.nodes) == 0:
            raise ValueError("SubgraphMatcher cannot be initialized with an empty pattern")
        for node in pattern.nodes:
            if node.op != "output" and not node.is_impure() and not node.users:
                raise AssertionError("SubgraphMatcher cannot be initialized with an pattern with dead code")
        self.pattern_placeholder_nodes = [n for n in pattern.nodes if n.op == "placeholder"]
        output = next(iter(reversed(pattern.nodes)))
        self.pattern_returning_nodes = output.all_input_nodes
        self.pattern_anchors = [output] if match_output else [
            n for n in output.all_input_nodes if len(n.users) == 1]

    def _nodes_are_equal(self, pn: Node, gn: Node) -> bool:
        if not self.match_placeholder and pn.op == "placeholder":
            return True
        if pn.op != gn.op:
            return False
        if pn.op in ("placeholder", "output"):
            return True
        if pn.op == "get_attr":
            import dynagrad
            pv = _get_attr(pn.graph.owning_module, pn.target)
            gv = _get_attr(gn.graph.owning_module, gn.target)
            return type(pv) is type(gv) and isinstance(pv, dynagrad.Tensor)
        return pn.target == gn.target

    def _is_contained(self, nodes_map: dict[Node, Node]) -> bool:
        lookup = {gn: pn for pn, gn in nodes_map.items() if pn.op != "placeholder"}
        for gn, pn in lookup.items():
            if pn in self.pattern_returning_nodes:
                continue
            if any(user not in lookup for user in gn.users):
                return False
        return True

    def _match_literals(self, pn, gn, match: InternalMatch) -> bool:
        if isinstance(pn, Node):
            if pn.op != "placeholder":
                return False
            if pn in match.nodes_map:
                return match.nodes_map[pn] == gn
            match.nodes_map[pn] = gn
            return True
        if isinstance(gn, Node):
            return False
        return type(gn) is type(pn) and gn == pn

    def _match_nodes(self, pn: Node, gn: Node, match: InternalMatch) -> bool:
        if pn in match.nodes_map:
            return match.nodes_map[pn] is gn
        if any(v is gn for v in match.nodes_map.values()):
            return False
        if not self._nodes_are_equal(pn, gn):
            return False
        saved = dict(match.nodes_map)
        match.nodes_map[pn] = gn
        if pn.op == "placeholder":
            return True

        def match_args(a1, a2) -> bool:
            if len(a1) != len(a2):
                return False
            for x, y in zip(a1, a2):
                if isinstance(x, Node) and isinstance(y, Node):
                    ok = self._match_nodes(x, y, match)
                elif isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
                    ok = match_args(x, y)
                else:
                    ok = self._match_literals(x, y, match) or self.ignore_literals
                if not ok:
                    return False
            return True

        ok = (len(pn.args) == len(gn.args) and list(pn.kwargs) == list(gn.kwargs)
              and match_args(list(pn.args) + list(pn.kwargs.values()), list(gn.args) + list(gn.kwargs.values())))
        if not ok:
            match.nodes_map.clear()
            match.nodes_map.update(saved)
        return ok

    def match(self, graph: Graph) -> list[InternalMatch]:
        candidates = [(a, [n for n in graph.nodes if self._nodes_are_equal(a, n)]) for a in self.pattern_anchors]
        candidates = [(a, c) for a, c in candidates if c]
        matches: list[InternalMatch] = []

        def backtrack(i: int, match: InternalMatch) -> None:
            if i == len(candidates):
                match.placeholder_nodes = [match.nodes_map[pn] for pn in self.pattern_placeholder_nodes]
                match.returning_nodes = [match.nodes_map[pn] for pn in self.pattern_returning_nodes]
                matches.append(match)
                return
            anchor, nodes = candidates[i]
            for node in nodes:
                attempt = copy.copy(match)
                if self._match_nodes(anchor, node, attempt):
                    backtrack(i + 1, attempt)

        if candidates and len(candidates) == len(self.pattern_anchors):
            backtrack(0, InternalMatch(anchors=self.pattern_anchors))
        matches = [m for m in matches if self._is_contained(m.nodes_map)]
        matches = [m for m in matches if _no_cycle(m, self)]
        if self.remove_overlapping_matches:
            kept, used = [], set()
            for m in matches:
                inner = [gn for pn, gn in m.nodes_map.items() if pn.op not in ("placeholder", "output")]
                if any(gn in used for gn in inner):
                    continue
                kept.append(m)
                used.update(inner)
            matches = kept
        return matches


def _no_cycle(m: InternalMatch, matcher: SubgraphMatcher) -> bool:
    """Replacing the match must not need a value computed from its own outputs (an outside path from a
    matched node back into the match)."""
    inner = {gn for pn, gn in m.nodes_map.items() if pn.op not in ("placeholder", "output")}
    seen: set[Node] = set()
    stack = [u for n in inner for u in n.users if u not in inner]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        for u in n.users:
            if u in inner:
                return False
            stack.append(u)
    return True


def _get_attr(mod, target: str):
    obj = mod
    for atom in target.split("."):
        obj = getattr(obj, atom)
    return obj


def _graph_of(fn_or_graph) -> Graph:
    if isinstance(fn_or_graph, GraphModule):
        return fn_or_graph.graph
    if isinstance(fn_or_graph, Graph):
        return fn_or_graph
    return symbolic_trace(fn_or_graph).graph


def replace_pattern(gm: GraphModule, pattern: Callable | GraphModule | Graph,
                    replacement: Callable | GraphModule | Graph) -> list[Match]:
    """Replace every non-overlapping occurrence of ``pattern`` in ``gm`` by ``replacement`` (same inputs),
    recompile ``gm``, and return the matches."""
    done = _replace_pattern(gm, pattern, replacement)
    return [Match(anchor=m.anchor, nodes_map=m.nodes_map) for m in done]


def replace_pattern_with_filters(gm: GraphModule, pattern, replacement=None,
                                 match_filters: list[Callable[[InternalMatch, Graph, Graph], bool]] | None = None,
                                 ignore_literals: bool = False,
                                 replacement_callback: Callable[[InternalMatch, Graph, Graph], Graph] | None = None
                                 ) -> list[ReplacedPatterns]:
    """``replace_pattern``, keeping only the matches every ``match_filters(match, graph, pattern)``
    accepts; ``ignore_literals`` lets constants match any constant; ``replacement_callback`` builds the
    replacement graph per match."""
    return _replace_pattern(gm, pattern, replacement, match_filters, ignore_literals, replacement_callback)


def _replace_pattern(gm, pattern, replacement, match_filters=None, ignore_literals=False,
                     replacement_callback=None) -> list[ReplacedPatterns]:
    original = gm.graph
    pattern_graph = _graph_of(pattern)
    matcher = SubgraphMatcher(pattern_graph, ignore_literals=ignore_literals)
    found = [m for m in matcher.match(original)
             if all(f(m, original, pattern_graph) for f in (match_filters or ()))]
    common = _graph_of(replacement) if replacement is not None else None
    if common is None and replacement_callback is None:
        raise AssertionError("Must provide either a replacement GraphModule or a replacement callback")
    changed: dict[Node, Node] = {}
    results = []
    for match in found:
        rgraph = replacement_callback(match, original, pattern_graph) if replacement_callback else common
        placeholders = [n for n in rgraph.nodes if n.op == "placeholder"]
        if len(match.placeholder_nodes) != len(placeholders):
            raise AssertionError(f"Placeholder count mismatch: {len(match.placeholder_nodes)} vs "
                                 f"{len(placeholders)}")
        val_map: dict[Node, Any] = {}
        for rn, gn in zip(placeholders, match.placeholder_nodes):
            if isinstance(gn, Node):
                val_map[rn] = changed.get(gn, gn)
                if val_map[rn] is not gn:
                    i = match.placeholder_nodes.index(gn)
                    match.placeholder_nodes[i] = val_map[rn]
                    for k, v in match.nodes_map.items():
                        if v is gn:
                            match.nodes_map[k] = val_map[rn]
                            break
            else:
                val_map[rn] = gn
        users: set[Node] = set()
        for n in match.returning_nodes:
            users.update(n.users)
        insert_point = None
        if users:
            insert_point = next(n for n in original.nodes if n in users)
        else:
            nxt = None
            for n in reversed(original.nodes):
                if n in match.returning_nodes:
                    insert_point = nxt
                    break
                nxt = n
        if insert_point is None:
            raise AssertionError("The insert point can't be None")
        with original.inserting_before(insert_point):
            copied = original.graph_copy(rgraph, val_map)
        if isinstance(copied, Node):
            copied = (copied,)
        replacement_nodes = [v for v in val_map.values() if v not in match.placeholder_nodes]
        if len(match.returning_nodes) != len(copied):
            raise AssertionError(f"Returning nodes count mismatch: {len(match.returning_nodes)} vs {len(copied)}")
        for gn, new in zip(match.returning_nodes, copied):
            gn.replace_all_uses_with(new)
            changed[gn] = new
        for node in reversed(pattern_graph.nodes):
            if node.op not in ("placeholder", "output"):
                original.erase_node(match.nodes_map[node])
        results.append(ReplacedPatterns(anchor=match.anchors[0], nodes_map=match.nodes_map,
                                        replacements=replacement_nodes))
    gm.recompile()
    if isinstance(replacement, GraphModule):
        _copy_replacement_attrs(gm, replacement)
    return results


def _copy_replacement_attrs(gm: GraphModule, replacement: GraphModule) -> None:
    """Attributes the replacement's get_attr/call_module nodes use, installed on ``gm`` where missing."""
    from .graph_module import _assign_attr
    for node in gm.graph.nodes:
        if node.op in ("get_attr", "call_module"):
            try:
                _get_attr(gm, node.target)
            except AttributeError:
                _assign_attr(_get_attr(replacement, node.target), gm, node.target)
