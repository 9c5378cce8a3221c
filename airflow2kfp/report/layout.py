"""Graph layout with Graphviz: DOT text in, inline SVG out (one `dot` run lays out both graphs).

Node names in the DOT text are our own (`n0`, `n1`, ...); task ids only appear in quoted labels
and tooltips, which Graphviz XML-escapes in its SVG. Each node carries `id` (`af-3` / `kf-3`, the
task's row index) and a fidelity class, so the page's script and CSS link the two sides and the
task table. When `dot` is missing the report says so instead of drawing (see `LayoutResult.error`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from airflow2kfp.report.views import Graph

FILL = {"direct": "#c8e6c9", "approximated": "#fff3b0", "placeholder": "#ffcdd2", "removed": "#e0e0e0"}
MAX_LABEL = 48
_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_BATCH_PAGE_ID = re.compile(r'id="page\d+,\d+_')


@dataclass(frozen=True)
class LayoutResult:
    svgs: tuple[str, ...]  # one per graph asked for, empty when laid out failed
    error: str | None = None


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as DOT's \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "") + '"'


def short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"


# Above this many nodes `dot`'s full layout (network simplex to convergence, crossing minimisation,
# spline routing) takes seconds per graph (~6 s at 2,000 nodes), so large graphs get a quicker one:
# straight edges, bounded crossing minimisation, and about POSITION_ITERATIONS rounds of the network
# simplex that places nodes sideways (`nslimit` scales with the node count; at 2,000 nodes its
# default of one round per node was 1.4 s of a 2 s run). Smaller graphs are drawn as before.
LARGE_GRAPH = 500
POSITION_ITERATIONS = 250
FAST_LAYOUT = "splines=line, nslimit1=1, mclimit=0.1, searchsize=10"


def fast_layout(graph: Graph) -> bool:
    """Whether `graph` is drawn with the quicker layout (the page says so)."""
    return len(graph.nodes) > LARGE_GRAPH


def dot_text(graph: Graph, prefix: str) -> str:
    """DOT for one graph; node ids `<prefix>-<row>` link each node to its task's row."""
    quick = ""
    if fast_layout(graph):
        quick = f", {FAST_LAYOUT}, nslimit={min(1.0, POSITION_ITERATIONS / len(graph.nodes)):.2f}"
    lines = [
        f"digraph {prefix} {{",
        f'  graph [id="{prefix}-graph", rankdir=TB, bgcolor="transparent", nodesep=0.3, ranksep=0.4{quick}];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, height=0.3, penwidth=1];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    for node in graph.nodes:
        style = (
            '"rounded,filled,dashed"' if node.fidelity in ("removed", "placeholder") else '"rounded,filled"'
        )
        lines.append(
            f'  n{node.index} [id="{prefix}-{node.index}", class="node-{node.fidelity}", '
            f"label={quote(short(node.label))}, tooltip={quote(f'{node.task_id} ({node.fidelity})')}, "
            f'URL="#row-{node.index}", fillcolor="{FILL.get(node.fidelity, "#ffffff")}", style={style}];'
        )
    for up, down in graph.edges:
        lines.append(f"  n{up} -> n{down};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def clean_svg(svg: str) -> str:
    """The <svg> element alone, without prolog, DOCTYPE (it names a URL) or comments."""
    return _PROLOG.sub("", svg).strip()


def layout(
    graphs: list[tuple[Graph, str]], timeout: float = 60.0, memo_dir: Path | None = None
) -> LayoutResult:
    """Lay out every (graph, prefix) with one `dot -Tsvg` run; never raises.

    With `memo_dir`, SVGs are kept there by a hash of the DOT text and the `dot` binary, so a
    re-render after a change to one DAG runs `dot` for that DAG only.
    """
    return layout_many([graphs], timeout, memo_dir)[0]


def layout_many(
    pages: list[list[tuple[Graph, str]]], timeout: float = 60.0, memo_dir: Path | None = None
) -> list[LayoutResult]:
    """`layout` for several pages at once: the pages not memoised share one `dot` run.

    A `dot` start costs about as much as laying out a small DAG, so a report of many DAGs runs
    it once per batch; if that run fails, each page is laid out on its own, so one bad graph
    costs only its own page.
    """
    dot = shutil.which("dot")
    if dot is None:
        return [
            LayoutResult(
                (),
                "Graphviz is not installed (no `dot` on PATH): graphs are not drawn. "
                "Install it (`apt-get install graphviz`) and run `airflow2kfp report DIR`.",
            )
            for _ in pages
        ]
    sources = ["".join(dot_text(graph, prefix) for graph, prefix in graphs) for graphs in pages]
    memos = [_memo_path(memo_dir, dot, source) for source in sources]
    results: list[LayoutResult | None] = [_read_memo(memo, len(graphs)) for memo, graphs in zip(memos, pages)]
    misses = [i for i, result in enumerate(results) if result is None]
    # a page with a large graph lays out each of its graphs in its own `dot` run, side by side
    for i in [i for i in misses if len(pages[i]) > 1 and any(fast_layout(graph) for graph, _ in pages[i])]:
        results[i] = _run_dot_apart(dot, [dot_text(graph, prefix) for graph, prefix in pages[i]], timeout)
        _write_memo(memos[i], results[i])
        misses.remove(i)
    if len(misses) > 1:
        batch = _run_dot(
            dot,
            "".join(sources[i] for i in misses),
            sum(len(pages[i]) for i in misses),
            timeout * len(misses),
        )
        if batch.error is None:
            # dot prefixes the id of every graph after the first of a run ("page0,1_kf-graph"): the first
            # graph of each page loses it, so a page is the same bytes laid out alone or in a batch
            svgs = iter(batch.svgs)
            for i in misses:
                page = [next(svgs) for _ in pages[i]]
                results[i] = LayoutResult(
                    (_BATCH_PAGE_ID.sub('id="', page[0], count=1), *page[1:]) if page else ()
                )
    for i in misses:
        if results[i] is None:
            results[i] = _run_dot(dot, sources[i], len(pages[i]), timeout)
        _write_memo(memos[i], results[i])
    return [result for result in results if result is not None]


def _read_memo(memo: Path | None, count: int) -> LayoutResult | None:
    if memo is None:
        return None
    try:
        svgs = tuple(memo.read_text(encoding="utf-8").split(_MEMO_SEPARATOR))
    except OSError:
        return None  # not laid out before (or unreadable): run dot
    return LayoutResult(svgs) if len(svgs) == count else None


def _write_memo(memo: Path | None, result: LayoutResult | None) -> None:
    if memo is None or result is None or result.error is not None:
        return
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=memo.parent, delete=False) as handle:
            handle.write(_MEMO_SEPARATOR.join(result.svgs))
        os.replace(handle.name, memo)
    except OSError:
        pass  # the memo only saves time


_MEMO_SEPARATOR = "\n<!-- airflow2kfp: next graph -->\n"


def _memo_path(memo_dir: Path | None, dot: str, source: str) -> Path | None:
    if memo_dir is None:
        return None
    try:
        stat = os.stat(dot)
    except OSError:
        return None
    key = hashlib.sha256(f"{dot}|{stat.st_size}|{stat.st_mtime_ns}\n{source}".encode()).hexdigest()
    return memo_dir / f"{key}.svg"


_EMPTY_GRAPH = "digraph empty {}\n"


def _run_dot_apart(dot: str, sources: list[str], timeout: float) -> LayoutResult:
    """One `dot` run per graph, in parallel: the same SVGs as one run of them all.

    Graph k of a run gets dot's `page0,k_` id prefix; k empty graphs before it keep that prefix.
    """
    runs = [(_EMPTY_GRAPH * k + source, k + 1) for k, source in enumerate(sources)]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:  # the work happens in the dot processes
        done = list(pool.map(lambda run: _run_dot(dot, run[0], run[1], timeout), runs))
    failed = next((result for result in done if result.error is not None), None)
    return failed or LayoutResult(tuple(result.svgs[-1] for result in done))


def _run_dot(dot: str, source: str, count: int, timeout: float) -> LayoutResult:
    try:
        done = subprocess.run(
            [dot, "-Tsvg"], input=source, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return LayoutResult((), f"Graphviz failed: {error}")
    svgs = tuple(clean_svg(match.group(0)) for match in _SVG.finditer(done.stdout))
    if done.returncode != 0 or len(svgs) != count:
        return LayoutResult((), f"Graphviz failed (exit {done.returncode}): {done.stderr.strip()[:300]}")
    return LayoutResult(svgs)
