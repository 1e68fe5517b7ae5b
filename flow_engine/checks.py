"""Graph checks of a flow, run at load with networkx; every problem is a located ``DefinitionError``.

Checked: edges name existing nodes; exactly one start and at least one end; every node reachable from start and
able to reach an end; no cycle (returns are actions, not edges); branch points have a default edge or a provable
cover; parallel splits close at one join and every join closes a split; return targets are earlier approval or fill nodes,
and a target inside a parallel branch is one of the returning node's own branch.
"""
from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from typing import Collection, Iterable

import networkx as nx

from engine.errors import Problems
from engine.source import Document, PathT

from .spec import RETURN_KEYWORDS, EdgeSpec, NodeSpec, parallel_branches, return_scope

_NEGATION = {ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean" hint for ``word`` among ``choices``, or None."""
    close = difflib.get_close_matches(str(word), sorted(map(str, choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


@dataclass
class Site:
    """Where each node and edge was written, so checks can locate their errors."""

    doc: Document
    problems: Problems
    node_paths: dict[str, PathT] = field(default_factory=dict)
    edge_paths: dict[str, PathT] = field(default_factory=dict)

    def node(self, node_id: str, message: str, hint: str | None = None, *sub: str | int) -> None:
        """Report a problem of node ``node_id``."""
        self.problems.add(self.doc.error(self.node_paths.get(node_id, ("nodes",)) + sub, message, hint))

    def edge(self, edge_id: str, message: str, hint: str | None = None, *sub: str | int) -> None:
        """Report a problem of edge ``edge_id``."""
        self.problems.add(self.doc.error(self.edge_paths.get(edge_id, ("edges",)) + sub, message, hint))

    def at(self, path: PathT, message: str, hint: str | None = None) -> None:
        """Report a problem at ``path``."""
        self.problems.add(self.doc.error(path, message, hint))


def complementary(first: str, second: str) -> bool:
    """True when two conditions are a complete boolean pair (``x > 5`` / ``x <= 5``, ``c`` / ``not c``)."""
    try:
        a = ast.parse(first.strip(), mode="eval").body
        b = ast.parse(second.strip(), mode="eval").body
    except SyntaxError:
        return False
    for x, y in ((a, b), (b, a)):
        if isinstance(x, ast.UnaryOp) and isinstance(x.op, ast.Not) and ast.dump(x.operand) == ast.dump(y):
            return True
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare) and len(a.ops) == len(b.ops) == 1:
        same_sides = ast.dump(a.left) == ast.dump(b.left) and ast.dump(a.comparators[0]) == ast.dump(b.comparators[0])
        return same_sides and _NEGATION.get(type(a.ops[0])) is type(b.ops[0])
    return False


def check_graph(nodes: list[NodeSpec], edges: list[EdgeSpec], site: Site, broken: Collection[str] = (), *,
                complete: bool = True) -> dict[str, str]:
    """Run every graph check; report into ``site``; return the join → split map (empty if checks failed).

    Args:
        nodes: the loaded nodes.
        edges: the loaded edges.
        site: where to report.
        broken: ids of nodes that were written but failed to load (edges to them are not reported again).
        complete: False when some nodes or edges failed to load: the whole-graph checks, which would only
            repeat those problems, are skipped.
    """
    ids = {n.id: n for n in nodes}
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    good_edges: list[EdgeSpec] = []
    for edge in edges:
        ok = True
        for end, attr in ((edge.source, "from"), (edge.target, "to")):
            if end not in ids:
                complete = False
                if end in broken:
                    continue
                site.edge(edge.id, f"unknown node '{end}'", suggest(end, ids), attr)
                ok = False
        if ok:
            graph.add_edge(edge.source, edge.target)
            good_edges.append(edge)
    starts = [n for n in nodes if n.type == "start"]
    ends = [n for n in nodes if n.type == "end"]
    if len(starts) != 1:
        where = ("nodes",) if not starts else site.node_paths[starts[1].id]
        site.at(where, f"a flow needs exactly one start node, found {len(starts)}")
    if not ends:
        site.at(("nodes",), "a flow needs at least one end node", "add {id: done, type: end, outcome: approved}")
    _check_branches(ids, good_edges, site)
    if not complete:
        return {}
    _check_degrees(nodes, good_edges, site)
    cycles = _check_cycles(graph, good_edges, site)
    if len(starts) == 1:
        reach = nx.descendants(graph, starts[0].id) | {starts[0].id}
        for node in nodes:
            if node.id not in reach:
                site.node(node.id, f"node '{node.id}' cannot be reached from start",
                          "add an edge into it or remove it", "id")
    end_ids = {n.id for n in ends}
    if end_ids:
        can_end = set(end_ids)
        for end in end_ids:
            can_end |= nx.ancestors(graph, end)
        for node in nodes:
            if node.id not in can_end and graph.out_degree(node.id) > 0:
                site.node(node.id, f"node '{node.id}' cannot reach an end", "every path must lead to an end node", "id")
    if cycles:
        return {}
    joins = _match_parallel(graph, ids, end_ids, site)
    _check_returns(graph, ids, joins, site)
    return joins


def _check_degrees(nodes: list[NodeSpec], edges: list[EdgeSpec], site: Site) -> None:
    out_count: dict[str, int] = {}
    in_count: dict[str, int] = {}
    for edge in edges:
        out_count[edge.source] = out_count.get(edge.source, 0) + 1
        in_count[edge.target] = in_count.get(edge.target, 0) + 1
    for node in nodes:
        outs, ins = out_count.get(node.id, 0), in_count.get(node.id, 0)
        if node.type == "start" and ins:
            site.node(node.id, "the start node cannot have incoming edges", None, "id")
        if node.type == "end" and outs:
            site.node(node.id, "an end node cannot have outgoing edges", None, "id")
        if node.type != "end" and outs == 0:
            site.node(node.id, f"dead end: node '{node.id}' has no outgoing edge",
                      "add an edge to the next node or to an end node", "id")
        if node.type == "parallel" and outs == 1:
            site.node(node.id, "a parallel split needs at least two outgoing edges", None, "id")
        if node.type == "join" and outs > 1:
            site.node(node.id, "a join has exactly one outgoing edge", None, "id")
        if node.type == "join" and ins < 2:
            site.node(node.id, "a join needs at least two incoming edges", None, "id")


def _check_branches(ids: dict[str, NodeSpec], edges: list[EdgeSpec], site: Site) -> None:
    by_source: dict[str, list[EdgeSpec]] = {}
    for edge in edges:
        by_source.setdefault(edge.source, []).append(edge)
    for source, outs in by_source.items():
        node = ids[source]
        conditional = [e for e in outs if e.condition is not None]
        defaults = [e for e in outs if e.default]
        if node.type == "parallel":
            for edge in conditional + defaults:
                site.edge(edge.id, "edges out of a parallel split take no condition or default",
                          "put an exclusive node after the split to branch", "if" if edge.condition else "default")
            continue
        if not conditional and not defaults and node.type != "exclusive":
            if len(outs) > 1:
                site.node(source, f"node '{source}' has {len(outs)} outgoing edges without conditions",
                          "use a parallel node to run branches at once, or add `if:` conditions and a default", "id")
            continue
        for edge in outs:
            if edge.condition is not None and edge.default:
                site.edge(edge.id, "an edge is either conditional or the default, not both", None, "default")
            elif edge.condition is None and not edge.default and len(outs) > 1:
                site.edge(edge.id, f"branch edge out of '{source}' has neither `if:` nor `default: true`", None, "to")
        for extra in defaults[1:]:
            site.edge(extra.id, f"exclusive branch at '{source}' has more than one default edge", None, "default")
        if not defaults and len(outs) > 1:
            covered = len(conditional) == 2 and complementary(conditional[0].condition or "",
                                                              conditional[1].condition or "")
            if not covered:
                site.node(source, f"exclusive branch at '{source}' can fall through: no default edge",
                          "mark one outgoing edge `default: true`", "id")


def _check_cycles(graph: nx.DiGraph, edges: list[EdgeSpec], site: Site) -> bool:
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return False
    closing = cycle[-1]
    loop = " → ".join([u for u, _ in cycle] + [cycle[0][0]])
    edge = next(e for e in edges if (e.source, e.target) == (closing[0], closing[1]))
    site.edge(edge.id, f"edges form a cycle: {loop}",
              "going back is an action (`returnable_to:` on the node), not an edge", "to")
    return True


def _match_parallel(graph: nx.DiGraph, ids: dict[str, NodeSpec], end_ids: set[str],
                    site: Site) -> dict[str, str]:
    """Match every parallel split to the join all its branches meet at; return the join → split map."""
    order = {n: i for i, n in enumerate(nx.topological_sort(graph))}
    joins: dict[str, str] = {}
    for split in sorted((n for n in ids if ids[n].type == "parallel" and graph.out_degree(n) > 1), key=order.get):
        below = nx.descendants(graph, split)
        candidates = sorted((n for n in below if ids[n].type == "join"), key=order.get)
        match = None
        for join in candidates:
            rest = graph.subgraph(n for n in graph if n != join)
            if not (nx.descendants(rest, split) & end_ids) and join not in joins:
                match = join
                break
        if match is None:
            site.node(split, f"parallel split '{split}' has no matching join",
                      "all its branches must meet at one join node before the flow can end", "id")
            continue
        joins[match] = split
    for node_id, node in ids.items():
        if node.type == "join" and node_id not in joins and graph.in_degree(node_id) >= 2:
            site.node(node_id, f"join '{node_id}' has no parallel split", "start the branches with a parallel node",
                      "id")
    return joins


def _check_returns(graph: nx.DiGraph, ids: dict[str, NodeSpec], joins: dict[str, str], site: Site) -> None:
    branches = parallel_branches(joins, graph.successors)
    for node in ids.values():
        earlier = nx.ancestors(graph, node.id)
        for i, target in enumerate(node.returnable_to):
            if target in RETURN_KEYWORDS:
                continue
            path = ("returnable_to", i)
            if target not in ids:
                site.node(node.id, f"unknown node '{target}'", suggest(target, ids), *path)
                continue
            problem = return_scope(branches, node.id, target)[2]
            if problem:
                site.node(node.id, f"cannot return to '{target}': {problem}",
                          "inside a parallel branch, return to an earlier node of the same branch or to a node "
                          "before the split", *path)
            elif target not in earlier or not ids[target].is_user_node:
                site.node(node.id, f"cannot return to '{target}': not an earlier approval or fill node", None, *path)


def unknown_keys(given: Iterable[str], allowed: Collection[str]) -> list[tuple[str, str | None]]:
    """Keys of ``given`` not in ``allowed``, each with a "did you mean" hint."""
    return [(key, suggest(key, allowed)) for key in given if key not in allowed]
