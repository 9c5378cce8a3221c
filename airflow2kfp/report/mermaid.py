"""Mermaid flowcharts for the Markdown report (GitHub and GitLab render ```mermaid blocks).

Node ids are our own (`a3`, `k3`: the task's row); task ids only appear in quoted labels, where
quotes and angle brackets become Mermaid entity codes so no user text can break out of a label.

Mermaid refuses a graph of 500 edges or more (its default `maxEdges`) and text over 50,000
characters (`maxTextSize`), and a pull-request comment holds 65,536 characters: a graph too large
for that is drawn collapsed, one node per top-level TaskGroup (`summary`), or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow2kfp.report.layout import FILL, short
from airflow2kfp.report.views import Graph, GraphNode

MAX_EDGES = 500  # Mermaid's default maxEdges: a graph with this many edges is not drawn
MAX_TEXT = 20_000  # characters one graph may take of a comment (two graphs and the tables share 65,536)
_WORST_FIRST = ("placeholder", "approximated", "direct", "removed")


@dataclass(frozen=True)
class Drawn:
    """What the Markdown shows for one graph: the flowchart (None: too large even collapsed) and how."""

    text: str | None
    collapsed: bool  # one node per top-level TaskGroup
    nodes: int  # of the full graph
    edges: int


_ENTITIES = {
    "&": "#amp;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "`": "#96;",
    "|": "#124;",
    "#": "#35;",
    "\n": " ",
    "\r": "",
}
_STROKE = {"direct": "#2e7d32", "approximated": "#b58900", "placeholder": "#c62828", "removed": "#757575"}


def label(text: str) -> str:
    return '"' + "".join(_ENTITIES.get(c, c) for c in short(text)) + '"'


def flowchart(graph: Graph, prefix: str) -> str:
    """`flowchart TD` text: nodes labelled, classes by fidelity, edges by row index."""
    lines = ["flowchart TD"]
    if not graph.nodes:
        lines.append(f'  {prefix}none["(no steps)"]')
    for node in graph.nodes:
        lines.append(f"  {prefix}{node.index}[{label(node.label)}]:::{node.fidelity}")
    for up, down in graph.edges:
        lines.append(f"  {prefix}{up} --> {prefix}{down}")
    used = sorted({node.fidelity for node in graph.nodes})
    for fidelity in used:
        dash = ",stroke-dasharray:4 3" if fidelity in ("removed", "placeholder") else ""
        lines.append(
            f"  classDef {fidelity} fill:{FILL[fidelity]},stroke:{_STROKE[fidelity]},color:#000{dash}"
        )
    return "\n".join(lines)


def summary(graph: Graph) -> Graph:
    """`graph` collapsed: every task in a TaskGroup becomes its top-level group's node (labelled with
    the number of tasks, coloured by its least faithful task); edges between groups are kept once."""
    members: dict[str, list[GraphNode]] = {}
    key_of: dict[int, str] = {}
    for node in graph.nodes:
        key = f"group {node.group.split('.')[0]}" if node.group else f"task {node.index}"
        members.setdefault(key, []).append(node)
        key_of[node.index] = key
    index = {key: position for position, key in enumerate(members)}
    nodes = []
    for key, group in members.items():
        fidelity = min(
            (n.fidelity for n in group),
            key=lambda f: _WORST_FIRST.index(f) if f in _WORST_FIRST else len(_WORST_FIRST),
        )
        if key.startswith("group "):
            label = f"{key[len('group ') :]} ({len(group)} tasks)"
            nodes.append(GraphNode(index[key], key, label, fidelity))
        else:
            nodes.append(GraphNode(index[key], group[0].task_id, group[0].label, fidelity))
    edges = sorted(
        {
            (index[key_of[up]], index[key_of[down]])
            for up, down in graph.edges
            if up in key_of and down in key_of and key_of[up] != key_of[down]
        }
    )
    return Graph(tuple(nodes), tuple(edges))


def drawn(graph: Graph, prefix: str) -> Drawn:
    """The graph as a comment can show it: whole, collapsed by TaskGroup, or not at all."""
    full = flowchart(graph, prefix)
    if len(graph.edges) < MAX_EDGES and len(full) <= MAX_TEXT:
        return Drawn(full, False, len(graph.nodes), len(graph.edges))
    collapsed = summary(graph)
    text = flowchart(collapsed, prefix)
    if len(collapsed.nodes) < len(graph.nodes) and len(collapsed.edges) < MAX_EDGES and len(text) <= MAX_TEXT:
        return Drawn(text, True, len(graph.nodes), len(graph.edges))
    return Drawn(None, False, len(graph.nodes), len(graph.edges))
