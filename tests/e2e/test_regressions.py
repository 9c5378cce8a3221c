"""Regressions for what the property tests and the bad-input catalogue found, one test per fix."""

from __future__ import annotations

import ast
from pathlib import Path

from airflow2kfp.parse.static import read_dag_file
from airflow2kfp.pipeline import ConvertOptions, convert_parsed
from airflow2kfp.results import Status

HEADER = """\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
"""


def convert_source(tmp_path: Path, body: str, name: str = "dag.py"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return convert_parsed(read_dag_file(path, display_path=name), ConvertOptions())


def test_a_task_id_ending_in_a_newline_does_not_break_the_emitted_comment(tmp_path: Path) -> None:
    # Airflow's KEY_REGEX `^[\w.-]+$` accepts "x\n": `$` also matches before a final newline
    result = convert_source(
        tmp_path,
        'with DAG("d", schedule=None, start_date=datetime(2024, 1, 1)):\n'
        '    BashOperator(task_id="x\\n", bash_command="echo") >> '
        'BashOperator(task_id="y", bash_command="echo")\n',
    )
    (dag,) = result.dags
    assert dag.status is Status.CONVERTED, [d.render() for d in dag.diagnostics]
    ast.parse(dag.python_text or "")
    assert "# x\\n: BashOperator" in (dag.python_text or "")
