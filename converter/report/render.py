"""Render the reports of an output folder from its conversion.json: HTML and Markdown, per DAG and per run.

    OUT/reports/<stem>.html   one DAG: both graphs (Graphviz SVG), ordering verdict, tasks, settings,
    OUT/reports/<stem>.md     diagnostics, generated files; the Markdown draws the graphs with Mermaid
    OUT/index.html, index.md  every DAG, worst first, with counts and totals

Both formats are Jinja templates over the same values (`views.py`); HTML autoescapes everything, the
Markdown escapes through the `md` and `code` filters. Output is deterministic (no clock, stable
order) and each file is replaced atomically. Nothing is converted again: only OUT is read.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from converter import serial
from converter.diagnostics import CODES
from converter.report import layout, mermaid
from converter.report.views import (
    FIDELITIES,
    REPORTS_DIR,
    SEVERITIES,
    DagView,
    IndexView,
    dag_entries,
    dag_view,
    index_of,
)

SUMMARY_FILE = "conversion.json"
INDEX_HTML = "index.html"
INDEX_MD = "index.md"
_MD_SPECIAL = set("\\`*_[]|#~")
_HTML_SPECIAL = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# one str.translate pass instead of a Python step per character (reports are mostly these cells)
_MD_TABLE = str.maketrans({c: _HTML_SPECIAL.get(c) or "\\" + c for c in (*_MD_SPECIAL, *_HTML_SPECIAL)})


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
    return " ".join(str(value).splitlines()).translate(_MD_TABLE)


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
        auto_reload=False,  # templates ship with the package: no stat of the file per page
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
        large_graph=layout.LARGE_GRAPH, tool_version=tool_version,
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


def write_if_changed(target: Path, text: str) -> None:
    """write_atomic, unless the file already holds exactly `text` (a re-render after a small change)."""
    try:
        if target.stat().st_size == len(text.encode("utf-8")) and target.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(target, text)


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


def render_reports(out_dir: Path, source_root: Path | None = None, memo_dir: Path | None = None,
                   jobs: int = 1) -> ReportResult:
    """Render every report of `out_dir` from its conversion.json; raises NoConversion without one.

    DAG source paths in conversion.json are as `convert` was given them: relative ones are read
    relative to `source_root` (default: the current directory, where convert usually ran).
    `memo_dir` keeps graph layouts and rendered pages between runs (see layout.layout and
    `_Job.page_key`); `jobs` > 1 renders the DAG reports in that many processes.
    """
    document = load(out_dir)
    root = source_root or Path.cwd()
    reports_dir = out_dir / REPORTS_DIR
    tool_version = str(document.get("tool", {}).get("version", ""))
    entries = dag_entries(document)
    job = _Job(out_dir, root, memo_dir, tool_version)
    # each page's memo key, computed once here: it decides where to render and names the memo entry
    keyed = [(dag, stem, job.page_key(dag, stem)) for dag, stem in entries]
    batches = [keyed[i: i + PAGES_PER_BATCH] for i in range(0, len(keyed), PAGES_PER_BATCH)]
    # workers pay off for pages to render; pages served from the memo are read faster here than
    # their views travel back from a worker (a re-run after a small change renders a page or two)
    to_render = sum(not job.memoised(key) for _, _, key in keyed)
    if jobs > 1 and len(batches) > 1 and to_render > PAGES_PER_BATCH:
        # forked workers inherit the loaded templates; each returns its DAGs' index entries
        context = multiprocessing.get_context("fork") if os.name == "posix" else None
        with ProcessPoolExecutor(max_workers=min(jobs, len(batches)), mp_context=context) as pool:
            rendered = [page for pages in pool.map(job.render, batches) for page in pages]
    else:
        rendered = [page for batch in batches for page in job.render(batch)]
    layout_error = next((error for _, error in rendered if error), None)
    index = index_of(document, [view for view, _ in rendered])
    _remove_stale(reports_dir, {f"{stem}{suffix}" for _, stem in entries for suffix in (".html", ".md")})
    write_if_changed(out_dir / INDEX_MD, index_markdown(index))
    write_if_changed(out_dir / INDEX_HTML, index_html(index))
    written = tuple(reports_dir / f"{view.stem}.html" for view in index.dags)
    return ReportResult(out_dir / INDEX_HTML, out_dir / INDEX_MD, written, layout_error)


# a rendered page as the memo keeps it: (view without file texts, HTML, Markdown, layout error)
_Page = tuple[DagView, str, str, str | None]
PAGES_PER_BATCH = 25  # DAG reports per task of the pool, and per `dot` run

# where a page drafted before its layout takes each graph's SVG: NUL is in no text a page shows
# (Python source cannot hold it, YAML escapes it), and `_with_graphs` checks each slot is there once
_GRAPH_SLOTS = ("\0airflow2kfp:airflow-graph\0", "\0airflow2kfp:kfp-graph\0")


def _with_graphs(draft: str, svgs: tuple[str, ...]) -> str | None:
    """The drafted page with its graphs in their slots: the bytes `dag_html` gives with the SVGs;
    None when a slot is not there exactly once."""
    if len(svgs) != len(_GRAPH_SLOTS) or any(draft.count(slot) != 1 for slot in _GRAPH_SLOTS):
        return None
    for slot, svg in zip(_GRAPH_SLOTS, svgs):
        draft = draft.replace(slot, svg, 1)
    return draft


@dataclass(frozen=True)
class _Job:
    """Renders and writes batches of DAG reports; picklable, so pool workers receive it."""

    out_dir: Path
    source_root: Path
    memo_dir: Path | None
    tool_version: str

    def render(self, entries: list[tuple[Mapping[str, Any], str, str | None]]) -> list[tuple[DagView, str | None]]:
        """Each (DAG, stem, page key)'s view without the file texts and its layout error: the
        index needs no more."""
        reports_dir = self.out_dir / REPORTS_DIR
        keys = [key for _, _, key in entries]
        pages: list[_Page | None] = [self._read_page(key) for key in keys]
        todo = [i for i, page in enumerate(pages) if page is None]
        views = {i: dag_view(entries[i][0], self.out_dir, entries[i][1], self.source_root) for i in todo}
        # `dot` draws the graphs (in its own processes, waited on by a thread) while this thread
        # renders the pages around them, with a slot where each graph goes
        with ThreadPoolExecutor(max_workers=1) as pool:
            laying_out = pool.submit(layout.layout_many, [[(views[i].airflow_graph, "af"), (views[i].kfp_graph, "kf")]
                                                          for i in todo], memo_dir=self.memo_dir)
            drafts = {i: (dag_html(views[i], _GRAPH_SLOTS, None, self.tool_version), dag_markdown(views[i]))
                      for i in todo}
            layouts = laying_out.result()
        for i, laid_out in zip(todo, layouts):
            view = views[i]
            html = _with_graphs(drafts[i][0], laid_out.svgs) if laid_out.error is None else None
            if html is None:  # no drawing (the page says why), or a slot's text also came from the DAG
                html = dag_html(view, laid_out.svgs, laid_out.error, self.tool_version)
            page = (replace(view, python_text=None, yaml_text=None), html, drafts[i][1], laid_out.error)
            pages[i] = page
            if laid_out.error is None:
                self._write_page(keys[i], page)
        done = []
        for page in pages:
            assert page is not None
            view, html, markdown, error = page
            write_if_changed(reports_dir / f"{view.stem}.html", html)
            write_if_changed(reports_dir / f"{view.stem}.md", markdown)
            done.append((view, error))
        return done

    def memoised(self, key: str | None) -> bool:
        """Whether the memo holds the page of this key (page_key)."""
        return key is not None and self.memo_dir is not None and (self.memo_dir / "pages" / f"{key}.json").is_file()

    def page_key(self, dag: Mapping[str, Any], stem: str) -> str | None:
        """What a DAG's page is made of: its entry, its files, the folders, the report code, `dot`."""
        if self.memo_dir is None:
            return None
        digest = hashlib.sha256()
        for part in (_code_signature(), self.tool_version, stem,
                     str(self.out_dir.resolve()), str(self.source_root.resolve()),
                     json.dumps(dag, sort_keys=True)):
            digest.update(part.encode() + b"\0")
        for name in ("python", "yaml"):
            try:
                digest.update((self.out_dir / dag[name]).read_bytes() if dag.get(name) else b"-")
            except OSError:
                digest.update(b"unreadable")
            digest.update(b"\0")
        return digest.hexdigest()

    def _read_page(self, key: str | None) -> _Page | None:
        if key is None or self.memo_dir is None:
            return None
        try:
            data = (self.memo_dir / "pages" / f"{key}.json").read_bytes()
            return serial.loads(data, _Page)  # data, never unpickled: the memo folder is only a cache
        except (OSError, serial.Invalid):  # missing, corrupt or of another shape: render again
            return None

    def _write_page(self, key: str | None, page: _Page) -> None:
        if key is None or self.memo_dir is None:
            return
        folder = self.memo_dir / "pages"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            data = serial.dumps(page, _Page)
            with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False, suffix=".part") as handle:
                handle.write(data)
            os.replace(handle.name, folder / f"{key}.json")
        except (OSError, serial.Invalid):
            pass  # the memo only saves time


@cache
def _code_signature() -> str:
    """The report code and templates, and the dot binary: a page memo never outlives a change to them."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for path in sorted([*here.glob("*.py"), *(here / "templates").glob("*")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    dot = shutil.which("dot")
    if dot:
        stat = os.stat(dot)
        digest.update(f"{dot}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
