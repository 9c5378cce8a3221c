"""File-level outcomes: every way a file fails to read is a diagnostic, never an exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow2kfp.parse.static import read_dag_file
from tests.parse.helpers import codes


def test_unreadable_file(tmp_path: Path) -> None:
    parsed = read_dag_file(tmp_path / "missing.py")
    assert codes(parsed) == ["A2K106"]


def test_directory_is_unreadable(tmp_path: Path) -> None:
    assert codes(read_dag_file(tmp_path)) == ["A2K106"]


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_text("x = 1\n" * 100)
    parsed = read_dag_file(path, max_bytes=50)
    assert codes(parsed) == ["A2K105"]


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes(b"x = 1\ny = '\xe9t\xe9'\n")
    parsed = read_dag_file(path)
    assert codes(parsed) == ["A2K102"]
    assert parsed.diagnostics[0].line == 2


def test_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbffrom airflow import DAG\nwith DAG('bom'):\n    pass\n")
    parsed = read_dag_file(path)
    assert [d.dag_id for d in parsed.dags] == ["bom"]
    assert codes(parsed) == []


@pytest.mark.parametrize("text", ["", "   \n\n\t\n"])
def test_empty_file_is_not_a_dag_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.py"
    path.write_text(text)
    parsed = read_dag_file(path)
    assert codes(parsed) == ["A2K103"] and parsed.not_a_dag_file


def test_syntax_error_has_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("from airflow import DAG\n\nwith DAG('x') as dag\n    pass\n")
    parsed = read_dag_file(path, display_path="dags/bad.py")
    [diagnostic] = parsed.diagnostics
    assert diagnostic.code == "A2K101"
    assert (diagnostic.file, diagnostic.line) == ("dags/bad.py", 3)


def test_plain_python_is_not_a_dag_file(tmp_path: Path) -> None:
    path = tmp_path / "util.py"
    path.write_text("import os\n\ndef helper(x):\n    return os.path.join('a', x)\n\nVALUE = helper('b')\n")
    parsed = read_dag_file(path)
    assert codes(parsed) == ["A2K104"] and parsed.not_a_dag_file and parsed.dags == ()


def test_deep_nesting_is_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "deep.py"
    path.write_text("from airflow import DAG\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    parsed = read_dag_file(path)
    assert set(codes(parsed)) <= {"A2K107", "A2K101"} and codes(parsed)


def test_deep_binary_expression_is_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "deep.py"
    path.write_text("from airflow import DAG\nx = " + " + ".join(["1"] * 20000) + "\n")
    parsed = read_dag_file(path)  # must return, whatever it reports
    assert parsed.path == str(path)


def test_reading_never_executes_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    path = tmp_path / "side_effect.py"
    path.write_text(
        "from pathlib import Path\nfrom airflow import DAG\n"
        f"Path({str(marker)!r}).write_text('ran')\n"
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import os\nos.system('touch ' + " + repr(str(marker)) + ")\n"
        "with DAG('side_effects'):\n    pass\n"
    )
    parsed = read_dag_file(path)
    assert not marker.exists()
    assert [d.dag_id for d in parsed.dags] == ["side_effects"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text("x = 1\n")
    path.chmod(0)
    assert codes(read_dag_file(path)) == ["A2K106"]


@pytest.mark.parametrize(
    ("stopper", "line"),
    [
        ("while True:\n    pass", 2),
        ("sys.exit(1)", 2),
        ("os._exit(3)", 2),
        ("raise SystemExit", 2),
        ("while 1:\n    for item in []:\n        break", 2),  # that break leaves the inner loop only
        ("while True:\n    def stop():\n        raise SystemExit", 2),  # a raise that is never run
    ],
)
def test_a_statement_the_import_never_gets_past_is_reported(tmp_path, stopper: str, line: int) -> None:
    source = f"import os, sys\n{stopper}\nfrom airflow import DAG\nwith DAG('after'):\n    pass\n"
    path = tmp_path / "dag.py"
    path.write_text(source)
    found = [(d.code, d.line) for d in read_dag_file(path).diagnostics]
    assert ("A2K109", line) in found


def test_a_loop_with_a_break_or_a_guarded_exit_is_left_alone(tmp_path) -> None:
    source = (
        "import sys\nwhile True:\n    break\nif __name__ == '__main__':\n    sys.exit(0)\n"
        "from airflow import DAG\nwith DAG('fine'):\n    pass\n"
    )
    path = tmp_path / "dag.py"
    path.write_text(source)
    assert "A2K109" not in {d.code for d in read_dag_file(path).diagnostics}


def test_a_while_true_in_a_file_ends_the_reading_at_once(tmp_path) -> None:
    """Static reading does not run a `while` loop that cannot end: it costs nothing and is reported."""
    source = "from airflow import DAG\nwith DAG('d'):\n    pass\nn = 0\nwhile True:\n    n += 1\n"
    path = tmp_path / "dag.py"
    path.write_text(source)
    parsed = read_dag_file(path)
    assert [(d.code, d.line) for d in parsed.diagnostics] == [("A2K109", 5)]
    assert [dag.dag_id for dag in parsed.dags] == ["d"]


LATIN1_DAG = (
    b"# -*- coding: latin-1 -*-\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
    b"with DAG('caf\xe9_free', description='caf\xe9'):\n"
    b"    BashOperator(task_id='t', bash_command='echo \xe9t\xe9')\n"
)


def test_a_declared_source_encoding_is_honoured(tmp_path: Path) -> None:
    """PEP 263: a latin-1 file is valid Python that Airflow loads; its text reads as Python reads it."""
    path = tmp_path / "latin1.py"
    path.write_bytes(LATIN1_DAG)
    parsed = read_dag_file(path)
    assert codes(parsed) == []
    (dag,) = parsed.dags
    assert dag.description == "caf\u00e9"
    assert dag.tasks[0].args.get("bash_command") == "echo \u00e9t\u00e9"
    assert dag.tasks[0].span.line == 5


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b"# coding: no-such-codec\nx = 1\n", "A2K101", 1),  # Python: SyntaxError: unknown encoding
        (
            b"#!/usr/bin/env python\n# vim: set fileencoding=rot13 :\nx = 1\n",
            "A2K101",
            2,
        ),  # not a text encoding
        (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "A2K101", 1),  # a UTF-8 BOM and another coding line
        (b"# coding: ascii\nx = 1\ny = '\xc3\xa9'\n", "A2K102", 3),  # bytes the declared codec cannot decode
        (b"x = 1\n# coding: latin-1\ny = '\xe9'\n", "A2K102", 3),  # a coding line after code does not count
    ],
)
def test_source_encodings_are_rejected_as_python_rejects_them(
    tmp_path: Path, data: bytes, code: str, line: int
) -> None:
    path = tmp_path / "bad.py"
    path.write_bytes(data)
    with pytest.raises(SyntaxError):
        compile(data, str(path), "exec", dont_inherit=True)  # the ground truth: Python refuses it too
    parsed = read_dag_file(path)
    assert [(d.code, d.line) for d in parsed.diagnostics] == [(code, line)]


def test_a_syntax_error_in_a_declared_encoding_has_its_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes(b"# coding=latin-1\n\nx = '\xe9\xe9'\nif True:\n  y = (\n")
    (found,) = read_dag_file(path).diagnostics
    assert (found.code, found.line, found.col) == ("A2K101", 5, 6)
