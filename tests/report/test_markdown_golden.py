"""Golden Markdown reports: index.md and one report per fixture DAG, compared byte for byte.

Regenerate after an intended change with `pytest tests/report --update-goldens` and review the diff.
"""

import pytest

from airflow2kfp.report.render import render_reports
from tests.report.fixtures import build_run

GOLDENS = __import__("pathlib").Path(__file__).parents[1] / "goldens" / "report"
PAGES = [
    "index.md",
    "reports/example_pipeline.md",
    "reports/etl_mixed.md",
    "reports/hostile.md",
    "reports/cyclic.md",
]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = build_run(tmp_path_factory.mktemp("golden"))
    render_reports(out, out.parent)
    return out


@pytest.mark.parametrize("page", PAGES)
def test_markdown_matches_golden(out, page, request):
    actual = (out / page).read_text(encoding="utf-8")
    golden = GOLDENS / page.replace("reports/", "")
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


def test_markdown_is_small_enough_for_a_pull_request_comment(out):
    # GitHub caps a comment at 65,536 characters; the whole run's Markdown stays far below
    assert sum(len((out / page).read_text()) for page in PAGES) < 20_000


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    from tests.report.fixtures import large_dag

    root = tmp_path_factory.mktemp("large")
    out = build_run(root, (large_dag(),), with_broken_file=False)
    render_reports(out, root)
    return out


def _mermaid_blocks(text: str) -> list[str]:
    return [block.split("```", 1)[0] for block in text.split("```mermaid\n")[1:]]


def test_a_300_task_dag_fits_a_comment_with_graphs_mermaid_can_draw(large):
    text = (large / "reports" / "regional_loads.md").read_text()
    assert len(text) <= 65_536
    blocks = _mermaid_blocks(text)
    assert len(blocks) == 2 and all(block.count(" --> ") < 500 for block in blocks)
    # 550 edges: collapsed to the 10 TaskGroups, with a link to the page that draws them all
    assert "Collapsed to its TaskGroups: 300 nodes and 550 edges" in text
    assert "[HTML report](regional_loads.html)" in text
    assert blocks[0].count('(30 tasks)"]') == 10 and blocks[0].count(" --> ") == 9
    assert (large / "reports" / "regional_loads.html").exists()


def test_what_does_not_fit_is_counted(large):
    text = (large / "reports" / "regional_loads.md").read_text()
    shown = sum(1 for line in text.splitlines() if line.startswith("| ") and "`region_" in line)
    left = int(text.split(" more tasks:")[0].rsplit("… ", 1)[1]) if " more tasks:" in text else 0
    assert shown + left == 300
    index = (large / "index.md").read_text()
    assert len(index) <= 65_536 and "regional_loads" in index
