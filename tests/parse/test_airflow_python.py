"""A relative Airflow interpreter (`AIRFLOW2KFP_AIRFLOW_PYTHON=.venv-airflow/bin/python`) means the
folder the converter was started in, although every Airflow process runs in a sandbox whose working
folder is elsewhere (bubblewrap's --chdir, the fallback's temporary folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow2kfp.parse.airflow_import import PYTHON_ENV_VAR, AirflowReader, ReaderOptions, find_airflow_python
from airflow2kfp.parse.sandbox import Box
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import RunSettings, convert_all

DAG = """
from datetime import datetime

from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("relative_python", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="hello", bash_command="echo hello")
"""


@pytest.fixture
def started_elsewhere(airflow_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The converter started in a folder of its own, the interpreter named relative to it."""
    started = tmp_path / "started-here"
    started.mkdir()
    os.symlink(Path(airflow_python).parents[1], started / ".venv-airflow")  # a venv as a project keeps it
    monkeypatch.chdir(started)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "relative_python.py").write_text(DAG)
    return os.path.join(".venv-airflow", "bin", os.path.basename(airflow_python))


@pytest.mark.parametrize("sandbox", ["auto", "off"])
def test_a_relative_interpreter_imports_from_any_sandbox(
    started_elsewhere: str, tmp_path: Path, sandbox: str
) -> None:
    dag = str(tmp_path / "dags" / "relative_python.py")
    with AirflowReader(started_elsewhere, ReaderOptions(timeout=30, sandbox=sandbox)) as reader:
        parsed = reader.read(dag, dag_folder=str(tmp_path / "dags"))
    assert [d.code for d in parsed.diagnostics] == []
    assert [d.dag_id for d in parsed.dags] == ["relative_python"]
    assert parsed.dags[0].source_mode == "airflow"


def test_the_environment_variable_resolves_against_the_starting_folder(
    started_elsewhere: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PYTHON_ENV_VAR, started_elsewhere)
    found = find_airflow_python()
    assert found == str(tmp_path / "started-here" / started_elsewhere)
    assert Box(python=started_elsewhere).python == found  # every sandboxed process gets the absolute path
    result = convert_all(
        [tmp_path / "dags"],
        tmp_path / "out",
        ConvertOptions(),
        settings=RunSettings(mode="airflow", airflow_timeout=30),
    )
    assert result.reading.effective == "airflow"
    assert [d.code for d in result.diagnostics if d.severity.rank >= 2] == []
    assert [(d.dag_id, d.source_mode) for f in result.files for d in f.dags] == [
        ("relative_python", "airflow")
    ]
