"""Golden Markdown reports: index.md and one report per fixture DAG, compared byte for byte.

Regenerate after an intended change with `pytest tests/report --update-goldens` and review the diff.
"""

import pytest
from fixtures import build_run

from converter.report.render import render_reports

GOLDENS = __import__("pathlib").Path(__file__).parents[1] / "goldens" / "report"
PAGES = ["index.md", "reports/example_pipeline.md", "reports/etl_mixed.md", "reports/hostile.md",
         "reports/cyclic.md"]


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
