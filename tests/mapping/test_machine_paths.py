"""A task value naming the DAG folder by the converting machine's absolute path (built from
`__file__`) is kept as Airflow computed it and said (A2K338), in both readings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, RunSettings, convert_all

REPORTS_DAG = '''\
"""Nightly reports: the scripts live beside the DAG, found from its own folder."""
import os
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator

HERE = os.path.dirname(os.path.abspath(__file__))
SQL = Path(__file__).parent / "sql"

with DAG("nightly_reports", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False):
    build = BashOperator(task_id="build", bash_command=f"python {HERE}/scripts/build.py --sql {SQL}")
    archive = BashOperator(task_id="archive", bash_command="tar czf /tmp/{{ ds }}.tgz /data/{{ ds }}")
    sibling = BashOperator(task_id="sibling", bash_command=f"ls {HERE}-archive/{{{{ ds }}}}")
    build >> archive >> sibling
'''


def _diagnostics(source: Path, out: Path, settings: RunSettings) -> list[dict[str, object]]:
    result = convert_all([source], out, ConvertOptions(), settings=settings)
    (record,) = json.loads(result.summary_path.read_text())["dags"]
    return [d for d in record["diagnostics"] if d["code"] == "A2K338"]


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    folder = tmp_path / "repo" / "dags"
    folder.mkdir(parents=True)
    (folder / "reports.py").write_text(REPORTS_DAG)
    return folder


def _check(found: list[dict[str, object]], folder: Path) -> None:
    # the task whose command names the DAG folder, and only it: a folder whose name merely starts
    # with the DAG folder's ("dags-archive") is another folder
    assert [(d["task_id"], d["line"]) for d in found] == [("build", 13)]
    assert f"bash_command names {folder.resolve()}" in str(found[0]["message"])
    assert str(found[0]["file"]).endswith("reports.py")


def test_a_path_built_from_file_is_said_in_static_reading(dags: Path, tmp_path: Path) -> None:
    _check(_diagnostics(dags, tmp_path / "out", STATIC), dags)


def test_and_in_the_default_mode(dags: Path, tmp_path: Path, airflow_python: str) -> None:
    settings = RunSettings(mode="auto", airflow_python=airflow_python)
    _check(_diagnostics(dags, tmp_path / "out", settings), dags)
