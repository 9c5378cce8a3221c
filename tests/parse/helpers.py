"""Reading DAG source written inline in a test."""

from __future__ import annotations

import textwrap
from pathlib import Path

from airflow2kfp.model import Dag, ParsedFile
from airflow2kfp.parse.static import read_dag_file

HEADER = """\
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
"""


def read_source(tmp_path: Path, source: str, *, header: bool = True, name: str = "dag.py") -> ParsedFile:
    path = tmp_path / name
    path.write_text((HEADER if header else "") + textwrap.dedent(source), encoding="utf-8")
    return read_dag_file(path, display_path=name)


def only_dag(parsed: ParsedFile) -> Dag:
    assert len(parsed.dags) == 1, [d.render() for d in parsed.diagnostics]
    return parsed.dags[0]


def codes(parsed: ParsedFile) -> list[str]:
    return [d.code for d in parsed.diagnostics]


def task_ids(dag: Dag) -> list[str]:
    return [t.task_id for t in dag.tasks]
