"""Converted Python, TaskFlow and Bash tasks really run: kfp's local runner executes the generated
pipeline in local processes, and the values passed between the steps are checked."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import warnings
from pathlib import Path

import kfp
import pytest

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "airflow_dags" / "ops_python_bash.py"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("bash") is None, reason="the Bash steps need bash")
def test_converted_pipeline_runs_locally_and_passes_values(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)  # the DAG's scripts/ folder is found next to the DAG file, as Airflow finds it
    try:
        convert_all([FIXTURE.relative_to(ROOT)], tmp_path / "out", ConvertOptions(), settings=STATIC)
    finally:
        os.chdir(cwd)
    module = _load(tmp_path / "out" / "pipelines" / "ops_python_bash.py")
    root = tmp_path / "runs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = kfp.run_pipeline_func_locally(
            module.ops_python_bash_pipeline,
            {"ds": "2024-03-05"},
            pipeline_root=str(root),
            execution_mode=kfp.LocalClient.ExecutionMode("local"),
        )
    assert result.success() is not False  # kfp 1.8.22 returns None for a run without failures

    def output(step: str, name: str = "Output"):
        return json.loads((root / result.run_id / step / "outputs" / name / "data").read_text())

    # PythonOperator: a module helper and constants travelled with the callable; ds came from the run
    assert output("make") == {"values": [2, 12, 22], "day": "2024-03-05"}
    # TaskFlow multiple_outputs: each key is its own output, read by the next step
    assert output("summarise", "total") == 36
    assert json.loads(output("summarise", "text")) == {"events": 36}
    # `check` asserts on the total it received; reaching here means it ran and passed
