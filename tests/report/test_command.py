"""`airflow2kfp report DIR` re-renders from DIR alone; `convert` renders and prints the index path."""

import json

from airflow2kfp import run
from airflow2kfp.cli import main
from airflow2kfp.model import ParsedFile
from tests.report.fixtures import build_run, etl_dag


def test_report_renders_from_an_existing_output_folder(tmp_path, monkeypatch, capsys):
    out = build_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "out"]) == 0
    assert capsys.readouterr().out.strip().endswith("Report: out/index.html")
    assert (out / "index.md").is_file() and (out / "reports" / "etl_mixed.html").is_file()
    assert "](../../dags/etl_mixed.py)" in (out / "reports" / "etl_mixed.md").read_text()


def test_report_works_from_conversion_json_alone(tmp_path, monkeypatch):
    """Edit conversion.json (as a later tool version might write it) and the report follows it."""
    out = build_run(tmp_path)
    document = json.loads((out / "conversion.json").read_text())
    dag = next(d for d in document["dags"] if d["dag_id"] == "etl_mixed")
    dag["ordering"] = {"verdict": "mismatch", "missing": [["extract", "notify"]], "extra": []}
    (out / "conversion.json").write_text(json.dumps(document))
    assert main(["report", str(out), "--source-root", str(tmp_path)]) == 0
    markdown = (out / "reports" / "etl_mixed.md").read_text()
    assert (
        "**mismatch** — 1 pair(s) differ" in markdown and "| `extract` → `notify` | not ordered |" in markdown
    )
    assert (out / "index.md").read_text().splitlines()[6].startswith("| [cyclic]")  # failed still first
    assert "| [etl\\_mixed](reports/etl_mixed.md) | converted | mismatch |" in (out / "index.md").read_text()


def test_report_without_conversion_json_is_a_usage_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no conversion.json" in capsys.readouterr().err


def test_convert_renders_the_reports_and_prints_the_index(tmp_path, monkeypatch, capsys):
    source = tmp_path / "dags" / "etl_mixed.py"
    source.parent.mkdir()
    source.write_text("# etl: an airflow dag\n" * 20)  # Airflow reads files naming both
    monkeypatch.setattr(
        run, "static_reader", lambda options, *folders: lambda path, shown: ParsedFile(shown, (etl_dag(),))
    )
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "dags", "--out", "out", "--mode", "static"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "Report: out/index.html"
    assert (tmp_path / "out" / "reports" / "etl_mixed.html").is_file()
