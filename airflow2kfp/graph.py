"""Graph algorithms over task orderings, shared by readers, emitters and the self-check (networkx)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx


@functools.cache
def _nx() -> ModuleType:
    """networkx, imported on first use: a fully cached run never needs it (~0.2 s to import)."""
    import networkx

    return networkx


Edge = tuple[str, str]


def build(nodes: Iterable[str], edges: Iterable[Edge]) -> networkx.DiGraph:
    graph = _nx().DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def descendants(nodes: Iterable[str], edges: Iterable[Edge], sources: Iterable[str]) -> dict[str, set[str]]:
    """Every task after each of `sources`; no graph is built when there are none."""
    sources = list(sources)
    if not sources:
        return {}
    built = build(nodes, edges)
    return {source: _nx().descendants(built, source) for source in sources}


def find_cycle(nodes: Iterable[str], edges: Iterable[Edge]) -> list[str] | None:
    """The tasks of one cycle, in order, or None when the graph is acyclic."""
    try:
        cycle = _nx().find_cycle(build(nodes, edges))
    except _nx().NetworkXNoCycle:
        return None
    return [upstream for upstream, _ in cycle] + [cycle[0][0]]


def ordering(nodes: Iterable[str], edges: Iterable[Edge]) -> frozenset[Edge]:
    """Every (before, after) pair the edges imply: the transitive closure of an acyclic graph."""
    closure = _nx().transitive_closure_dag(build(nodes, edges))
    return frozenset(closure.edges())


def ordering_among(kept: Iterable[str], nodes: Iterable[str], edges: Iterable[Edge]) -> frozenset[Edge]:
    """The ordering between `kept` tasks once the others are removed (paths through them still count)."""
    keep = set(kept)
    return frozenset((a, b) for a, b in ordering(nodes, edges) if a in keep and b in keep)


def bypass(removed: Iterable[str], nodes: Iterable[str], edges: Iterable[Edge]) -> list[Edge]:
    """Edges between the remaining tasks that keep exactly the ordering the removed tasks carried.

    Each removed task's upstreams are linked to its downstreams, then the result is reduced to
    what is not already implied, so `a >> empty >> [b, c]` becomes `a >> b`, `a >> c`.
    """
    graph = build(nodes, edges)
    for task in removed:
        for up in graph.predecessors(task):
            for down in graph.successors(task):
                graph.add_edge(up, down)
        graph.remove_node(task)
    original = set(edges)
    reduced = _nx().transitive_reduction(graph)
    # keep the user's own edges even when implied by others; add only what removal made necessary
    kept = [e for e in graph.edges() if e in original]
    added = sorted(e for e in reduced.edges() if e not in original)
    return kept + added


def topological(nodes: Iterable[str], edges: Iterable[Edge]) -> list[str]:
    """A deterministic topological order: ties broken by the order tasks were given in."""
    node_list = list(nodes)
    rank = {node: index for index, node in enumerate(node_list)}
    return list(_nx().lexicographical_topological_sort(build(node_list, edges), key=rank.__getitem__))
