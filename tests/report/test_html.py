"""The HTML reports: self-contained, escaped, deterministic, and honest when Graphviz is missing."""

import re

import pytest

from airflow2kfp.report import layout
from airflow2kfp.report.render import render_reports
from airflow2kfp.report.views import Graph, GraphNode
from tests.report.fixtures import HOSTILE, build_run, etl_dag, hostile_dag

NETWORK = re.compile(
    r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = build_run(tmp_path_factory.mktemp("html"))
    render_reports(out, out.parent)
    return out


def _pages(out):
    return [out / "index.html", *sorted((out / "reports").glob("*.html"))]


def test_pages_reference_nothing_on_the_network(out):
    for page in _pages(out):
        text = page.read_text()
        assert not NETWORK.search(text), page
        assert "<link" not in text and "<img" not in text and "<iframe" not in text
        assert "<!DOCTYPE svg" not in text  # Graphviz's DOCTYPE names a URL; it is stripped


def test_the_only_links_out_are_relative_files(out):
    text = (out / "reports" / "etl_mixed.html").read_text()
    hrefs = set(re.findall(r'\bhref="([^"]*)"', text))
    assert "../../dags/etl_mixed.py" in hrefs  # the DAG source
    assert {"../pipelines/etl_mixed.py", "../pipelines/etl_mixed.yaml", "../index.html"} <= hrefs
    assert all(not h.startswith(("/", "http")) for h in hrefs)


def test_task_ids_and_commands_from_the_dag_are_escaped(out):
    text = (out / "reports" / "hostile.html").read_text()
    assert HOSTILE not in text and "alert('x')</script>" not in text
    assert (
        text.count("<script") == 2
    )  # the page's own scripts (svg-pan-zoom, report.js), nothing from the DAG
    assert "x&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text  # the task id, shown as text
    assert "&lt;script&gt;alert" in text.split('id="kfp-graph"')[0]  # also in the Airflow graph labels
    markdown = (out / "reports" / "hostile.md").read_text()
    assert "<script>" not in markdown.replace(f"`x{HOSTILE}`", "")  # only inside a code span


def test_rendering_twice_gives_the_same_bytes(out):
    before = {p: p.read_bytes() for p in [*_pages(out), *(out / "reports").glob("*.md"), out / "index.md"]}
    render_reports(out, out.parent)
    assert {p: p.read_bytes() for p in before} == before


def test_reports_of_dags_gone_from_the_run_are_removed(tmp_path):
    out = build_run(tmp_path, (etl_dag(), hostile_dag()), with_broken_file=False)
    render_reports(out, tmp_path)
    build_run(tmp_path, (etl_dag(),), with_broken_file=False)
    render_reports(out, tmp_path)
    assert sorted(p.name for p in (out / "reports").iterdir()) == ["etl_mixed.html", "etl_mixed.md"]


def test_missing_graphviz_is_said_in_the_report_not_a_crash(tmp_path, monkeypatch):
    out = build_run(tmp_path, (etl_dag(),), with_broken_file=False)
    monkeypatch.setattr(layout.shutil, "which", lambda name: None)
    result = render_reports(out, tmp_path)
    assert result.layout_error and "Graphviz is not installed" in result.layout_error
    text = (out / "reports" / "etl_mixed.html").read_text()
    assert 'id="layout-error"' in text and "<svg" not in text
    assert text.count('<tr id="row-') == 5  # the rest of the report is all there


def test_dot_labels_cannot_break_out_of_their_quotes():
    assert layout.quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def _chain(size: int) -> Graph:
    nodes = tuple(GraphNode(i, f"t{i}", f"t{i}", "direct") for i in range(size))
    return Graph(nodes, tuple((i, i + 1) for i in range(size - 1)))


def test_large_graphs_get_the_quick_layout_with_bounded_position_rounds():
    small = layout.dot_text(_chain(layout.LARGE_GRAPH), "af")
    assert "splines=line" not in small and "nslimit" not in small
    # dot runs about nslimit x nodes rounds of its positioning network simplex
    for size in (layout.LARGE_GRAPH + 1, 4 * layout.POSITION_ITERATIONS, 20 * layout.POSITION_ITERATIONS):
        text = layout.dot_text(_chain(size), "af")
        nslimit = float(re.search(r"\bnslimit=([0-9.]+)", text).group(1))
        assert "splines=line" in text and 0 < nslimit <= 1
        assert nslimit * size == pytest.approx(min(size, layout.POSITION_ITERATIONS), rel=0.05)


def test_a_page_drafted_while_dot_runs_is_the_page_rendered_after_it(tmp_path):
    from airflow2kfp.report import render
    from airflow2kfp.report.views import dag_view

    out = build_run(tmp_path, (hostile_dag(),), with_broken_file=False)
    render_reports(out, tmp_path)
    document = render.load(out)
    ((dag, stem),) = render.dag_entries(document)
    view = dag_view(dag, out, stem, tmp_path)
    laid_out = layout.layout([(view.airflow_graph, "af"), (view.kfp_graph, "kf")])
    assert laid_out.error is None and len(laid_out.svgs) == 2
    expected = render.dag_html(view, laid_out.svgs, None, str(document["tool"]["version"]))
    assert (out / "reports" / f"{stem}.html").read_text() == expected
    draft = render.dag_html(view, render._GRAPH_SLOTS, None, "")
    assert render._with_graphs(draft, ("<svg>a</svg>",)) is None  # a graph missing: rendered again
    assert render._with_graphs(draft + render._GRAPH_SLOTS[0], laid_out.svgs) is None  # a slot twice
