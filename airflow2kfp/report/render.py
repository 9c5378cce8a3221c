"""Render the reports of an output folder from its conversion.json: HTML and Markdown, per DAG and per run.

    OUT/reports/<stem>.html   one DAG: both graphs (Graphviz SVG), ordering verdict, tasks, settings,
    OUT/reports/<stem>.md     diagnostics, generated files; the Markdown draws the graphs with Mermaid
    OUT/index.html, index.md  every DAG, worst first, with counts and totals

Both formats are Jinja templates over the same values (`views.py`); HTML autoescapes everything, the
Markdown escapes through the `md` and `code` filters (airflow2kfp.report.escape). Output is
deterministic (no clock, stable order) and each file is replaced atomically. Nothing is converted
again: only OUT is read, and of it only conversion.json and the files the manifest says the tool
wrote. Reports and indexes are recorded in the manifest like every output (airflow2kfp.outputs).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import orjson
from markupsafe import Markup

from airflow2kfp import serial
from airflow2kfp.diagnostics import CODES
from airflow2kfp.outputs import (
    ESCAPES,
    MANIFEST_FILE,
    SUMMARY_FILE,
    Manifest,
    OutputConflict,
    OwnedFiles,
    escapes,
    fault,
    locked,
    owns_report,
    read_manifest,
    read_regular,
    record_reports,
    remove_leftovers,
    report_conflicts,
    sha256,
    write_atomic,
)
from airflow2kfp.report import layout, mermaid
from airflow2kfp.report.escape import md_code, md_text, md_url
from airflow2kfp.report.views import (
    FIDELITIES,
    REPORTS_DIR,
    SEVERITIES,
    DagView,
    IndexView,
    dag_entries,
    dag_view,
    index_of,
)

INDEX_HTML = "index.html"
INDEX_MD = "index.md"


class NoConversion(Exception):
    """The folder holds no conversion.json to render reports from."""


@dataclass(frozen=True)
class ReportResult:
    index_html: Path
    index_md: Path
    dag_reports: tuple[Path, ...]  # the per-DAG HTML files
    layout_error: str | None  # why graphs were not drawn (Graphviz missing), if so
    unread: tuple[str, ...] = ()  # files conversion.json names that were not read, and why


# -- templates -------------------------------------------------------------------------------------


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("airflow2kfp.report", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates ship with the package: no stat of the file per page
    )
    environment.globals.update(
        fidelities=FIDELITIES,
        severities=SEVERITIES,
        code_summary=lambda code: CODES[code].summary if code in CODES else "",
    )
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
    return (
        html_environment()
        .get_template("dag.html.j2")
        .render(
            dag=dag,
            airflow_svg=Markup(airflow_svg),
            kfp_svg=Markup(kfp_svg),
            layout_error=layout_error,
            large_graph=layout.LARGE_GRAPH,
            tool_version=tool_version,
        )
    )


MARKDOWN_LIMIT = 65_536  # characters in a GitHub comment: every Markdown page fits one
# what a page that does not fit shows of its tasks and findings, tried in turn (the rest: "N more")
_MARKDOWN_CUTS = ((None, None), (200, 200), (100, 100), (50, 50), (20, 20), (0, 10))
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def dag_markdown(dag: DagView) -> str:
    """The DAG's Markdown report, no longer than a pull-request comment: graphs that Mermaid cannot
    draw are collapsed to TaskGroups (or linked), and tables cut with the count of what is left out."""
    template = markdown_environment().get_template("dag.md.j2")
    graphs = {"airflow": mermaid.drawn(dag.airflow_graph, "a"), "kfp": mermaid.drawn(dag.kfp_graph, "k")}
    diagnostics = sorted(dag.diagnostics, key=lambda d: _SEVERITY_ORDER.get(d.severity, 3))  # errors first
    text = ""
    for tasks, findings in _MARKDOWN_CUTS:
        text = template.render(
            dag=dag,
            **graphs,
            diagnostics=diagnostics,
            html_link=f"{dag.stem}.html",
            task_limit=len(dag.tasks) if tasks is None else tasks,
            diagnostic_limit=len(diagnostics) if findings is None else findings,
        )
        if len(text) <= MARKDOWN_LIMIT:
            return text
    return cut(text, f"{dag.stem}.html")


def cut(text: str, html_link: str) -> str:
    """The last resort (settings or messages larger than a comment): the first lines that fit, and
    where the rest is."""
    tail = f"\n\n… cut to fit a comment: see the [HTML report]({md_url(html_link)}).\n"
    kept = text[: MARKDOWN_LIMIT - len(tail)]
    return kept[: kept.rfind("\n") + 1] + tail


def index_html(index: IndexView) -> str:
    return (
        html_environment().get_template("index.html.j2").render(index=index, tool_version=index.tool_version)
    )


def index_markdown(index: IndexView) -> str:
    """The run's Markdown index, no longer than a comment: the worst DAGs first, then "N more"."""
    template = markdown_environment().get_template("index.md.j2")
    text = ""
    for limit in (len(index.dags), 300, 150, 75, 30, 10):
        text = template.render(index=index, dag_limit=limit)
        if len(text) <= MARKDOWN_LIMIT:
            return text
    return cut(text, INDEX_HTML)


# -- writing ---------------------------------------------------------------------------------------


def write_if_changed(target: Path, text: str) -> str:
    """Replace `target` atomically unless it already holds exactly `text` (a re-render after a small
    change); returns the text's sha256 for the manifest. A file system fault is an OutputFault."""
    data = text.encode("utf-8")
    try:
        current = os.lstat(target)
        same = stat.S_ISREG(current.st_mode) and current.st_size == len(data) and read_regular(target) == data
    except OSError:
        same = False
    if not same:
        try:
            write_atomic(target, data)
        except OSError as error:
            raise fault(error, "cannot write a report", target) from None
    return sha256(data)


def report_targets(entries: list[tuple[Mapping[str, Any], str]]) -> list[str]:
    """Every file a render writes, relative to OUT: the indexes and two pages per DAG."""
    return [
        INDEX_MD,
        INDEX_HTML,
        *(f"{REPORTS_DIR}/{stem}{suffix}" for _, stem in entries for suffix in (".html", ".md")),
    ]


def targets_of(conversion_json: str) -> list[str]:
    """report_targets of a conversion.json's text (checked before a run writes anything)."""
    return report_targets(dag_entries(orjson.loads(conversion_json)))


def _stale_reports(out_dir: Path, keep: set[str], manifest: Manifest) -> list[str]:
    """Reports of DAGs no longer in conversion.json would mislead a reader: those the tool wrote
    (and nobody edited since) are removed; any other file in reports/ is the user's and stays."""
    reports_dir = out_dir / REPORTS_DIR
    if not reports_dir.is_dir() or escapes(out_dir, f"{REPORTS_DIR}/file"):
        return []
    stale = (
        f"{REPORTS_DIR}/{path.name}"
        for path in sorted(reports_dir.iterdir())
        if path.suffix in (".html", ".md") and f"{REPORTS_DIR}/{path.name}" not in keep
    )
    return [relative for relative in stale if owns_report(out_dir, relative, manifest)]


def load(out_dir: Path) -> dict:
    """conversion.json as data; raises NoConversion when there is none, or it is not a JSON object."""
    return _load(out_dir)[0]


def _load(out_dir: Path) -> tuple[dict, bool]:
    """conversion.json as data, and whether it is the one the manifest records (only then are the
    files it names read)."""
    path = out_dir / SUMMARY_FILE
    data = read_regular(path)
    if data is None:
        if os.path.lexists(path):
            raise NoConversion(f"{path} is not a regular file (airflow2kfp writes it as one)")
        raise NoConversion(f"{out_dir} holds no {SUMMARY_FILE}: run `airflow2kfp convert` first")
    try:
        document = json.loads(data)
    except ValueError as error:
        raise NoConversion(f"{path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("dags", []), list):
        raise NoConversion(f"{path} is not a conversion.json (no list of DAGs)")
    return document, read_manifest(out_dir).owns(SUMMARY_FILE, sha256(data))


def _unread(document: Mapping[str, Any], files: OwnedFiles, trusted: bool) -> tuple[str, ...]:
    """What the report says it did not read: files conversion.json names that its run did not write."""
    named = [
        (str(dag.get("dag_id")), key, dag[key])
        for dag in document.get("dags", [])
        for key in ("python", "yaml", "recurring_run")
        if isinstance(dag, Mapping) and dag.get(key)
    ]
    if not trusted:
        untrusted = (
            f"{SUMMARY_FILE} is not the one airflow2kfp recorded in {MANIFEST_FILE} (edited, or "
            "written by something else): no file it names is read"
        )
        return (untrusted,) if named else ()
    return tuple(
        f"{SUMMARY_FILE} names {value!r} as the {key} of DAG {dag_id!r}, a file its run did not "
        "write in this folder: not read"
        for dag_id, key, value in named
        if not files.listed(value)
    )


def render_reports(
    out_dir: Path,
    source_root: Path | None = None,
    memo_dir: Path | None = None,
    jobs: int = 1,
    force: bool = False,
) -> ReportResult:
    """Render every report of `out_dir` from its conversion.json; raises NoConversion without one.

    DAG source paths in conversion.json are as `convert` was given them: relative ones are linked
    relative to `source_root` (default: the current directory, where convert usually ran); sources
    are linked, never read. The pipeline files are read only where the manifest says this tool
    wrote them, as it wrote them. Reports and indexes go through the manifest like every output:
    a file there the tool did not write raises OutputConflict unless `force`.
    `memo_dir` keeps graph layouts and rendered pages between runs (see layout.layout and
    `_Job.page_key`); `jobs` > 1 renders the DAG reports in that many processes.
    """
    with locked(out_dir):
        return _render(out_dir, source_root or Path.cwd(), memo_dir, jobs, force)


def _render(out_dir: Path, root: Path, memo_dir: Path | None, jobs: int, force: bool) -> ReportResult:
    remove_leftovers(out_dir)
    document, trusted = _load(out_dir)
    manifest = read_manifest(out_dir)
    files = OwnedFiles(out_dir, manifest if trusted else None)
    reports_dir = out_dir / REPORTS_DIR
    tool_version = str(document.get("tool", {}).get("version", ""))
    entries = dag_entries(document)
    targets = report_targets(entries)
    conflicts = report_conflicts(out_dir, targets, manifest)
    if conflicts and (not force or any(c.reason == ESCAPES for c in conflicts)):
        raise OutputConflict(conflicts)
    stale = _stale_reports(out_dir, set(targets), manifest)
    # while pages are written the manifest claims their names, so a kill midway leaves no conflict
    record_reports(out_dir, manifest.reports, [*targets, *stale])
    try:
        reports_dir.mkdir(exist_ok=True)
    except OSError as error:
        raise fault(error, "cannot create the reports folder", reports_dir) from None
    job = _Job(out_dir, root, memo_dir, tool_version, files)
    # each page's memo key, computed once here: it decides where to render and names the memo entry
    keyed = [(dag, stem, job.page_key(dag, stem)) for dag, stem in entries]
    batches = [keyed[i : i + PAGES_PER_BATCH] for i in range(0, len(keyed), PAGES_PER_BATCH)]
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
    layout_error = next((error for _, error, _ in rendered if error), None)
    index = index_of(document, [view for view, _, _ in rendered])
    hashes = {relative: digest for _, _, written in rendered for relative, digest in written.items()}
    for relative in stale:
        try:
            (out_dir / relative).unlink(missing_ok=True)
        except OSError as error:
            raise fault(error, "cannot remove the report of a vanished DAG", out_dir / relative) from None
    hashes[INDEX_MD] = write_if_changed(out_dir / INDEX_MD, index_markdown(index))
    hashes[INDEX_HTML] = write_if_changed(out_dir / INDEX_HTML, index_html(index))
    record_reports(out_dir, hashes)
    written = tuple(reports_dir / f"{view.stem}.html" for view in index.dags)
    return ReportResult(
        out_dir / INDEX_HTML, out_dir / INDEX_MD, written, layout_error, _unread(document, files, trusted)
    )


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
    files: OwnedFiles  # the pipeline files a page may show

    def render(
        self, entries: list[tuple[Mapping[str, Any], str, str | None]]
    ) -> list[tuple[DagView, str | None, dict[str, str]]]:
        """Each (DAG, stem, page key)'s view without the file texts, its layout error and the
        hashes of the two pages written (for the manifest): the index needs no more."""
        keys = [key for _, _, key in entries]
        pages: list[_Page | None] = [self._read_page(key) for key in keys]
        todo = [i for i, page in enumerate(pages) if page is None]
        views = {
            i: dag_view(entries[i][0], self.out_dir, entries[i][1], self.source_root, self.files)
            for i in todo
        }
        # `dot` draws the graphs (in its own processes, waited on by a thread) while this thread
        # renders the pages around them, with a slot where each graph goes
        with ThreadPoolExecutor(max_workers=1) as pool:
            laying_out = pool.submit(
                layout.layout_many,
                [[(views[i].airflow_graph, "af"), (views[i].kfp_graph, "kf")] for i in todo],
                memo_dir=self.memo_dir,
            )
            drafts = {
                i: (dag_html(views[i], _GRAPH_SLOTS, None, self.tool_version), dag_markdown(views[i]))
                for i in todo
            }
            layouts = laying_out.result()
        for i, laid_out in zip(todo, layouts):
            view = views[i]
            html = _with_graphs(drafts[i][0], laid_out.svgs) if laid_out.error is None else None
            if html is None:  # no drawing (the page says why), or a slot's text also came from the DAG
                html = dag_html(view, laid_out.svgs, laid_out.error, self.tool_version)
            v2 = replace(view.v2, python_text=None, yaml_text=None) if view.v2 else None
            page = (
                replace(view, python_text=None, yaml_text=None, v2=v2),
                html,
                drafts[i][1],
                laid_out.error,
            )
            pages[i] = page
            if laid_out.error is None:
                self._write_page(keys[i], page)
        done = []
        for finished in pages:
            assert finished is not None
            view, html, markdown, error = finished
            html_path, markdown_path = f"{REPORTS_DIR}/{view.stem}.html", f"{REPORTS_DIR}/{view.stem}.md"
            done.append(
                (
                    view,
                    error,
                    {
                        html_path: write_if_changed(self.out_dir / html_path, html),
                        markdown_path: write_if_changed(self.out_dir / markdown_path, markdown),
                    },
                )
            )
        return done

    def memoised(self, key: str | None) -> bool:
        """Whether the memo holds the page of this key (page_key)."""
        return (
            key is not None
            and self.memo_dir is not None
            and (self.memo_dir / "pages" / f"{key}.json").is_file()
        )

    def page_key(self, dag: Mapping[str, Any], stem: str) -> str | None:
        """What a DAG's page is made of: its entry, its files, the folders, the report code, `dot`."""
        if self.memo_dir is None:
            return None
        digest = hashlib.sha256()
        for part in (
            _code_signature(),
            self.tool_version,
            stem,
            str(self.out_dir.resolve()),
            str(self.source_root.resolve()),
            json.dumps(dag, sort_keys=True),
        ):
            digest.update(part.encode() + b"\0")
        v2: Mapping[str, Any] = dag["v2"] if isinstance(dag.get("v2"), Mapping) else {}
        for relative in (dag.get("python"), dag.get("yaml"), v2.get("python"), v2.get("yaml")):
            data = self.files.read(relative) if relative else b"-"
            digest.update(b"unreadable" if data is None else data)
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
    for path in sorted([*here.glob("*.py"), *(p for p in (here / "templates").rglob("*") if p.is_file())]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    dot = shutil.which("dot")
    if dot:
        stat = os.stat(dot)
        digest.update(f"{dot}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
