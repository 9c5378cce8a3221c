import re
from pathlib import Path

from airflow2kfp.cli import main
from airflow2kfp.diagnostics import CODES, codes_markdown, diag

CODES_PAGE = Path(__file__).resolve().parents[1] / "docs" / "codes.md"
BLOCK = re.compile(r"<!-- codes:start -->\n(.*?)<!-- codes:end -->", re.S)


def test_the_codes_page_is_what_the_codes_command_prints(request, capsys):
    """docs/codes.md holds `airflow2kfp codes --markdown` as it prints now; --update-goldens rewrites it."""
    assert main(["codes", "--markdown"]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == codes_markdown().strip()
    text = CODES_PAGE.read_text(encoding="utf-8")
    if request.config.getoption("--update-goldens"):
        CODES_PAGE.write_text(
            BLOCK.sub(lambda _: f"<!-- codes:start -->\n{printed}<!-- codes:end -->", text), encoding="utf-8"
        )
        return
    assert BLOCK.search(text).group(1).strip() == printed.strip(), "stale: run pytest --update-goldens"


def test_codes_are_stable_shaped_and_unique_by_name():
    assert all(re.fullmatch(r"A2K\d{3}", code) for code in CODES)
    assert len({info.name for info in CODES.values()}) == len(CODES)


def test_diagnostic_renders_like_a_linter():
    text = diag("A2K201", file="dags/x.py", line=4, col=0, task_id="t").render()
    assert text.startswith("A2K201 [error]") and "--> dags/x.py:4:1" in text and "\n  help: " in text


def test_diagnostic_json_holds_every_field_and_reads_back():
    from dataclasses import fields

    from airflow2kfp.diagnostics import Diagnostic

    found = diag("A2K201", "m", file="dags/x.py", line=4, col=2, task_id="t", dag_id="d")
    assert set(found.to_json()) == {f.name for f in fields(Diagnostic)}
    assert Diagnostic.from_json(found.to_json()) == found
