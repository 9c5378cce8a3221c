"""The HTML reports in a real browser: headless Chromium draws both graphs and the task table.

Screenshots of the fixture reports are saved to build/screenshots/ (or $A2K_SCREENSHOT_DIR).
Chromium must be installed (`make test` installs it); a missing browser fails, it does not skip.
"""

import json

import pytest
from browser import SCREENSHOT_DIR, dump_dom, parse, screenshot
from fixtures import FIXTURES, build_run

from converter.report.render import render_reports


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
    assert {g.attrs["id"].split("-")[1] for g in kfp.find_all("g", "node")} <= \
        {g.attrs["id"].split("-")[1] for g in airflow.find_all("g", "node")}

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
