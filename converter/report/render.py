"""Render the reports of an output folder from its conversion.json: HTML and Markdown, per DAG and per run.

    OUT/reports/<stem>.html   one DAG: both graphs (Graphviz SVG), ordering verdict, tasks, settings,
    OUT/reports/<stem>.md     diagnostics, generated files; the Markdown draws the graphs with Mermaid
    OUT/index.html, index.md  every DAG, worst first, with counts and totals

Both formats are Jinja templates over the same values (`views.py`); HTML autoescapes everything, the
Markdown escapes through the `md` and `code` filters. Output is deterministic (no clock, stable
order) and each file is replaced atomically. Nothing is converted again: only OUT is read.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from converter.diagnostics import CODES
from converter.report import layout, mermaid
from converter.report.views import FIDELITIES, REPORTS_DIR, SEVERITIES, DagView, IndexView, index_view

SUMMARY_FILE = "conversion.json"
INDEX_HTML = "index.html"
INDEX_MD = "index.md"
_MD_SPECIAL = set("\\`*_[]|#~")
_HTML_SPECIAL = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


class NoConversion(Exception):
    """The folder holds no conversion.json to render reports from."""


@dataclass(frozen=True)
class ReportResult:
    index_html: Path
    index_md: Path
    dag_reports: tuple[Path, ...]  # the per-DAG HTML files
    layout_error: str | None  # why graphs were not drawn (Graphviz missing), if so


# -- Markdown escaping -----------------------------------------------------------------------------


def md_text(value: object) -> str:
    """Text for Markdown prose or a table cell: no markup, no HTML, no line breaks."""
    text = " ".join(str(value).splitlines())
    return "".join(_HTML_SPECIAL.get(c) or ("\\" + c if c in _MD_SPECIAL else c) for c in text)


def md_code(value: object) -> str:
    """An inline code span that survives any content, also inside a table cell."""
    text = " ".join(str(value).splitlines()).replace("|", "\\|")
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") or fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_url(value: object) -> str:
    return quote(str(value), safe="/.-_~#:")


# -- templates -------------------------------------------------------------------------------------


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("converter.report", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.globals.update(fidelities=FIDELITIES, severities=SEVERITIES,
                               code_summary=lambda code: CODES[code].summary if code in CODES else "")
    environment.filters.update(md=md_text, code=md_code, url=md_url)
    return environment


@cache
def html_environment() -> jinja2.Environment:
    return _environment(autoescape=True)


@cache
def markdown_environment() -> jinja2.Environment:
    return _environment(autoescape=False)


def dag_html(dag: DagView, svgs: tuple[str, ...], layout_error: str | None, tool_version: str) -> str:
    airflow_svg, kfp_svg = svgs if len(svgs) == 2 else ("", "")
    # the SVG comes from Graphviz, which XML-escapes every label; nothing else is marked safe
    return html_environment().get_template("dag.html.j2").render(
        dag=dag, airflow_svg=Markup(airflow_svg), kfp_svg=Markup(kfp_svg), layout_error=layout_error,
        tool_version=tool_version,
    )


def dag_markdown(dag: DagView) -> str:
    return markdown_environment().get_template("dag.md.j2").render(
        dag=dag, airflow_mermaid=mermaid.flowchart(dag.airflow_graph, "a"),
        kfp_mermaid=mermaid.flowchart(dag.kfp_graph, "k"),
    )


def index_html(index: IndexView) -> str:
    return html_environment().get_template("index.html.j2").render(index=index, tool_version=index.tool_version)


def index_markdown(index: IndexView) -> str:
    return markdown_environment().get_template("index.md.j2").render(index=index)


# -- writing ---------------------------------------------------------------------------------------


def write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, delete=False,
                                     prefix=f".{target.name}.", suffix=".part") as handle:
        handle.write(text)
    os.replace(handle.name, target)


def _remove_stale(reports_dir: Path, keep: set[str]) -> None:
    """Reports of DAGs no longer in conversion.json would mislead a reader: remove them."""
    if not reports_dir.is_dir():
        return
    for path in reports_dir.iterdir():
        if path.suffix in (".html", ".md") and path.name not in keep:
            path.unlink()


def load(out_dir: Path) -> dict:
    path = out_dir / SUMMARY_FILE
    if not path.is_file():
        raise NoConversion(f"{out_dir} holds no {SUMMARY_FILE}: run `airflow2kfp convert` first")
    return json.loads(path.read_text(encoding="utf-8"))


def render_reports(out_dir: Path, source_root: Path | None = None, memo_dir: Path | None = None) -> ReportResult:
    """Render every report of `out_dir` from its conversion.json; raises NoConversion without one.

    DAG source paths in conversion.json are as `convert` was given them: relative ones are read
    relative to `source_root` (default: the current directory, where convert usually ran).
    `memo_dir` keeps graph layouts between runs (see layout.layout).
    """
    index = index_view(load(out_dir), out_dir, source_root or Path.cwd())
    reports_dir = out_dir / REPORTS_DIR
    written: list[Path] = []
    layout_error = None
    for dag in index.dags:
        laid_out = layout.layout([(dag.airflow_graph, "af"), (dag.kfp_graph, "kf")], memo_dir=memo_dir)
        layout_error = layout_error or laid_out.error
        html_path = reports_dir / f"{dag.stem}.html"
        write_atomic(html_path, dag_html(dag, laid_out.svgs, laid_out.error, index.tool_version))
        write_atomic(reports_dir / f"{dag.stem}.md", dag_markdown(dag))
        written.append(html_path)
    _remove_stale(reports_dir, {f"{dag.stem}{suffix}" for dag in index.dags for suffix in (".html", ".md")})
    write_atomic(out_dir / INDEX_MD, index_markdown(index))
    write_atomic(out_dir / INDEX_HTML, index_html(index))
    return ReportResult(out_dir / INDEX_HTML, out_dir / INDEX_MD, tuple(written), layout_error)
