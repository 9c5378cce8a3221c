"""Mermaid flowcharts for the Markdown report (GitHub and GitLab render ```mermaid blocks).

Node ids are our own (`a3`, `k3`: the task's row); task ids only appear in quoted labels, where
quotes and angle brackets become Mermaid entity codes so no user text can break out of a label.
"""

from __future__ import annotations

from converter.report.layout import FILL, short
from converter.report.views import Graph

_ENTITIES = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;", "|": "#124;",
             "#": "#35;", "\n": " ", "\r": ""}
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
        lines.append(f"  classDef {fidelity} fill:{FILL[fidelity]},stroke:{_STROKE[fidelity]},color:#000{dash}")
    return "\n".join(lines)
