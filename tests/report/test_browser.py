"""The HTML reports in a real browser: headless Chromium draws both graphs and the task table.

Screenshots of the fixture reports are saved to build/screenshots/ (or $A2K_SCREENSHOT_DIR).
Chromium must be installed (`make test` installs it); a missing browser fails, it does not skip.
"""

import json

import pytest

from airflow2kfp.report.render import render_reports
from tests.report.browser import SCREENSHOT_DIR, dump_dom, parse, screenshot
from tests.report.fixtures import FIXTURES, build_run


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    out = build_run(root)
    render_reports(out, out.parent)
    return out


def _expected(out, dag_id):
    dag = next(d for d in json.loads((out / "conversion.json").read_text())["dags"] if d["dag_id"] == dag_id)
    return len(dag["tasks"]), sum(1 for t in dag["tasks"] if t["kfp_name"]), len(dag["airflow_edges"]), dag


@pytest.mark.parametrize("dag_id", sorted(FIXTURES))
def test_both_graphs_and_the_task_table_render(out, dag_id):
    tasks, steps, airflow_edges, dag = _expected(out, dag_id)
    page = out / "reports" / f"{dag_id}.html"
    dom = parse(dump_dom(page))
    body = dom.find_all("body")[0]
    assert body.attrs.get("data-measured") == "yes"  # the page's script ran

    airflow, kfp = dom.by_id("airflow-graph"), dom.by_id("kfp-graph")
    # nodes in the DOM, and nodes the browser really drew (non-empty bounding boxes)
    assert len(airflow.find_all("g", "node")) == tasks and airflow.attrs["data-rendered-nodes"] == str(tasks)
    assert len(kfp.find_all("g", "node")) == steps and kfp.attrs["data-rendered-nodes"] == str(steps)
    assert airflow.attrs["data-rendered-edges"] == str(airflow_edges)
    assert kfp.attrs["data-rendered-edges"] == str(len(dag["kfp_edges"]))
    # linked: every KFP node points at the same task row as its Airflow node
    assert {g.attrs["id"].split("-")[1] for g in kfp.find_all("g", "node")} <= {
        g.attrs["id"].split("-")[1] for g in airflow.find_all("g", "node")
    }

    table = dom.by_id("tasks")
    rows = table.find_all("tbody")[0].find_all("tr")
    assert len(rows) == tasks and table.attrs["data-rendered-rows"] == str(tasks)

    shot = screenshot(page, SCREENSHOT_DIR / f"{dag_id}.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_index_renders_every_dag_worst_first(out):
    dom = parse(dump_dom(out / "index.html"))
    table = dom.by_id("dags")
    assert table.attrs["data-rendered-rows"] == "4"
    first = table.find_all("tbody")[0].find_all("tr")[0]
    assert first.find_all("a")[0].attrs["href"] == "reports/cyclic.html"  # the failed DAG comes first
    shot = screenshot(out / "index.html", SCREENSHOT_DIR / "index.png")
    assert shot.stat().st_size > 10_000


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    from tests.report.fixtures import large_dag

    root = tmp_path_factory.mktemp("browser-large")
    out = build_run(root, (large_dag(),), with_broken_file=False)
    render_reports(out, root)
    return out


def _layout(page, fragment=""):
    dom = parse(dump_dom(page, fragment))
    return dom, dom.find_all("body")[0].attrs


@pytest.mark.parametrize("size", ["7-task", "300-task"])
def test_at_1600_px_the_semantics_column_is_on_screen_and_the_graphs_zoom(out, large, size):
    page = (
        out / "reports" / "example_pipeline.html"
        if size == "7-task"
        else large / "reports" / "regional_loads.html"
    )
    dom, body = _layout(page, "selftest-zoom")
    width = int(body["data-viewport-width"])
    assert (
        width <= 1600
        and int(body["data-semantics-right"]) <= width
        and int(body["data-tasks-right"]) <= width
    )
    assert int(body["data-semantics-left"]) < width - 100  # wide enough to read, not a sliver at the edge
    for graph in (dom.by_id("airflow-graph"), dom.by_id("kfp-graph")):
        assert graph.attrs["data-pan-zoom"] == "yes"  # svg-pan-zoom ran, from the page itself
        assert float(graph.attrs["data-zoom-after-click"]) > float(graph.attrs["data-zoom"])  # "+" zooms in
        assert graph.find_all("g", "svg-pan-zoom_viewport") and graph.find_all("g", "svg-pan-zoom-control")
    nodes = 7 if size == "7-task" else 300
    assert dom.by_id("airflow-graph").attrs["data-rendered-nodes"] == str(nodes)
    shot = screenshot(page, SCREENSHOT_DIR / f"{size}-1600.png", height=1400)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_is_self_contained(large):
    text = (large / "reports" / "regional_loads.html").read_text()
    assert "svg-pan-zoom v3.6.2" in text
    # nothing is fetched: no external script, style sheet or image
    assert 'src="http' not in text and "<link" not in text and "@import" not in text


def test_the_vendored_library_is_the_recorded_release():
    import hashlib
    from pathlib import Path

    vendor = Path(__file__).parents[2] / "airflow2kfp" / "report" / "templates" / "vendor"
    digest = hashlib.sha256((vendor / "svg-pan-zoom.min.js").read_bytes()).hexdigest()
    assert digest in (vendor / "README.md").read_text() and (vendor / "svg-pan-zoom.LICENSE").exists()
