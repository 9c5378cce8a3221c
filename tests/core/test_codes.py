import re
from pathlib import Path

from converter.diagnostics import CODES, codes_markdown, diag

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- codes:start -->\n(.*?)<!-- codes:end -->", re.S)


def test_readme_lists_every_code_as_the_table_does(request):
    text = README.read_text()
    if request.config.getoption("--update-goldens"):
        README.write_text(BLOCK.sub(f"<!-- codes:start -->\n{codes_markdown()}\n<!-- codes:end -->", text))
        return
    assert BLOCK.search(text).group(1).strip() == codes_markdown().strip(), "run pytest --update-goldens"


def test_codes_are_stable_shaped_and_unique_by_name():
    assert all(re.fullmatch(r"A2K\d{3}", code) for code in CODES)
    assert len({info.name for info in CODES.values()}) == len(CODES)


def test_diagnostic_renders_like_a_linter():
    text = diag("A2K201", file="dags/x.py", line=4, col=0, task_id="t").render()
    assert text.startswith("A2K201 [error]") and "--> dags/x.py:4:1" in text and "\n  help: " in text


def test_diagnostic_json_holds_every_field_and_reads_back():
    from dataclasses import fields

    from converter.diagnostics import Diagnostic

    found = diag("A2K201", "m", file="dags/x.py", line=4, col=2, task_id="t", dag_id="d")
    assert set(found.to_json()) == {f.name for f in fields(Diagnostic)}
    assert Diagnostic.from_json(found.to_json()) == found
