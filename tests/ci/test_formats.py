"""Machine outputs: SARIF valid against the SARIF 2.1.0 schema, JUnit XML, the Markdown summary."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from airflow2kfp.diagnostics import CODES
from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "sarif" / "sarif-2.1.0-rtm.5.json").read_text())


@pytest.fixture
def findings(repo):
    """Adds a DAG with an ignored and a reported placeholder, and a broken file."""
    extra = '    p = Custom(task_id="p")  # airflow2kfp: ignore[A2K301]\n    q = Custom(task_id="q")\n'
    (repo / "gamma.py").write_text(dag_file("gamma", "a", extra=extra))
    (repo / "broken.py").write_text("from airflow import DAG\nraise SyntaxError\n")
    return repo


def test_sarif_is_valid_and_has_one_result_per_diagnostic_with_rules_from_the_table(findings, run):
    code, _, _ = run("convert", "dags", "--out", "out", "-j", "1", "--sarif", "report.sarif")
    assert code == 1
    log = json.loads(Path("report.sarif").read_text())
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    validator.validate(log)
    bad = json.loads(json.dumps(log))
    bad["runs"][0]["results"][0]["level"] = "fatal"  # the schema really is checked
    assert not validator.is_valid(bad)
    driver = log["runs"][0]["tool"]["driver"]
    assert [rule["id"] for rule in driver["rules"]] == list(CODES)
    results = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]): r
        for r in log["runs"][0]["results"]
    }
    assert set(results) == {("A2K101", 2), ("A2K301", 5), ("A2K301", 6)}
    assert results[("A2K301", 5)]["suppressions"] == [
        {"kind": "inSource", "justification": "airflow2kfp: ignore comment"}
    ]
    assert "suppressions" not in results[("A2K301", 6)]
    broken = results[("A2K101", 2)]
    assert broken["level"] == "error" and driver["rules"][broken["ruleIndex"]]["id"] == "A2K101"
    assert broken["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "dags/broken.py",
        "uriBaseId": "%SRCROOT%",
    }


def test_junit_has_one_test_case_per_dag_and_fails_the_broken_ones(findings, run):
    run("convert", "dags", "--out", "out", "-j", "1", "--junit", "junit.xml")
    suite = ET.parse("junit.xml").getroot().find("testsuite")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {
        ("dags/alpha.py", "alpha"),
        ("dags/beta.py", "beta"),
        ("dags/gamma.py", "gamma"),
        ("dags/broken.py", "dags/broken.py"),
    }
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")
    assert cases[("dags/broken.py", "dags/broken.py")].find("failure").get("type") == "A2K101"
    assert "A2K301" in cases[("dags/gamma.py", "gamma")].find("system-out").text


def test_markdown_summary_lists_the_dags_with_findings(findings, run):
    run("convert", "dags", "--out", "out", "-j", "1", "--markdown", "summary.md")
    text = Path("summary.md").read_text()
    assert text.startswith("## airflow2kfp conversion")
    assert "| `gamma` | `dags/gamma.py:3` | converted | A2K301" in text and "`dags/broken.py`" in text
    assert "`alpha`" not in text


def test_sarif_leaves_notes_out_unless_asked_and_each_result_has_its_rule(repo, run):
    extra = '    p = BashOperator(task_id="p", bash_command="echo p", pool="etl")\n'
    (repo / "gamma.py").write_text(dag_file("gamma", "a", extra=extra))
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    levels = {}
    for level in ("error", "warning", "note"):
        run(
            "convert",
            "dags",
            "--out",
            "out",
            "-j",
            "1",
            "--mode",
            "static",
            "--sarif",
            f"{level}.sarif",
            "--sarif-level",
            level,
        )
        log = json.loads(Path(f"{level}.sarif").read_text())
        validator.validate(log)
        results = log["runs"][0]["results"]
        rules = log["runs"][0]["tool"]["driver"]["rules"]
        for result in results:
            rule = rules[result["ruleIndex"]]
            assert rule["id"] == result["ruleId"] and rule["help"]["text"] == CODES[result["ruleId"]].help
        levels[level] = sorted(r["level"] for r in results)
    assert "note" in levels["note"] and levels["warning"] == [x for x in levels["note"] if x != "note"]
    assert levels["error"] == []  # no error among the findings
    # the default is warning, as code scanning should see it
    run("convert", "dags", "--out", "out", "-j", "1", "--mode", "static", "--sarif", "default.sarif")
    assert Path("default.sarif").read_text() == Path("warning.sarif").read_text()


def test_markdown_summary_puts_errors_first_and_counts_what_it_leaves_out(repo, run):
    many = "".join(f'    p{i} = Custom(task_id="p{i}")\n' for i in range(8))
    (repo / "gamma.py").write_text(dag_file("gamma", "a", extra=many))
    for i in range(60):
        (repo / f"d{i:02d}.py").write_text(dag_file(f"d{i:02d}", "a", extra='    q = Custom(task_id="q")\n'))
    (repo / "broken.py").write_text("from airflow import DAG\nraise SyntaxError\n")
    run("convert", "dags", "--out", "out", "-j", "1", "--mode", "static", "--markdown", "summary.md")
    text = Path("summary.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "DAG | source" not in line]
    assert rows[0].startswith("| — | `dags/broken.py` | failed | A2K101")  # the failure first
    gamma = next(row for row in rows if row.startswith("| `gamma`"))
    assert gamma.count("A2K301") == 5 and "… 3 more" in gamma
    assert len(rows) == 50 and "… 12 more DAG(s) or file(s) with findings (12 findings left out)" in text
    assert len(text) <= 65_536
