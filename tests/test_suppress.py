"""Ignores: inline `# airflow2kfp: ignore[...]` on the diagnostic's line, and per code in the settings."""

import json
from pathlib import Path

import pytest

from airflow2kfp.suppress import inline_ignores
from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")


def test_inline_comment_forms():
    text = (
        "a = 1  # airflow2kfp: ignore[A2K301]\n"
        "b = 2  #airflow2kfp:ignore[A2K301, A2K302]\n"
        "c = 3  # airflow2kfp: ignore\n"
        'd = "# airflow2kfp: ignore"\n'
        "e = 4  # noqa  # airflow2kfp: ignore[A2K204]\n"
    )
    assert inline_ignores(text) == {1: {"A2K301"}, 2: {"A2K301", "A2K302"}, 3: {"*"}, 5: {"A2K204"}}


def placeholders(comment_p: str = "", comment_q: str = "") -> str:
    extra = f'    p = Custom(task_id="p"){comment_p}\n    q = Custom(task_id="q"){comment_q}\n'
    return dag_file("gamma", "a", extra=extra)


def test_an_inline_ignore_suppresses_only_its_line_and_is_counted(repo, run):
    (repo / "gamma.py").write_text(placeholders("  # airflow2kfp: ignore[A2K301]"))
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "--fail-on", "warning")
    assert code == 1 and "gamma.py:6:5" in out and "gamma.py:5:5" not in out
    assert "1 warning, 0 info, 1 suppressed" in out
    document = json.loads(Path("out/conversion.json").read_text())
    assert document["summary"]["suppressed"] == 1
    [gamma] = [f for f in document["files"] if f["path"] == "dags/gamma.py"]
    assert [(s["code"], s["line"], s["suppressed_by"]) for s in gamma["suppressed"]] == [
        ("A2K301", 5, "inline")
    ]


def test_bare_ignore_and_other_codes(repo, run):
    (repo / "gamma.py").write_text(placeholders("  # airflow2kfp: ignore", "  # airflow2kfp: ignore[A2K302]"))
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "--fail-on", "warning")
    assert code == 1 and "gamma.py:6:5" in out and "1 suppressed" in out


def test_ignores_from_the_command_line_and_the_config_file(repo, run):
    (repo / "gamma.py").write_text(placeholders())
    code, out, _ = run(
        "convert",
        "dags",
        "--out",
        "out",
        "-j",
        "1",
        "--fail-on",
        "warning",
        "--ignore",
        "A2K301",
        "--mode",
        "static",
    )
    assert code == 0 and "2 suppressed" in out
    (repo.parent / "pyproject.toml").write_text(
        '[tool.airflow2kfp]\nignore = ["A2K301"]\nfail-on = "warning"\nmode = "static"\n'
    )
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 0 and "2 suppressed" in out
    document = json.loads(Path("out/conversion.json").read_text())
    assert {s["suppressed_by"] for f in document["files"] for s in f["suppressed"]} == {"config"}


def test_ignoring_an_error_does_not_make_a_failed_file_pass(repo, run):
    (repo / "broken.py").write_text(
        "from airflow import DAG\nraise SyntaxError  # airflow2kfp: ignore[A2K101]\n"
    )
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 1 and "1 suppressed" in out and "A2K101 [error]" not in out
