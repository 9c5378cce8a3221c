"""The benchmark's repo generator: deterministic, the sizes it promises, readable by both readers."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from generate import MAX_TASKS, MIN_TASKS, generate, generate_single  # noqa: E402

from airflow2kfp.parse.static import read_dag_file  # noqa: E402


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", 12, seed=3)
    generate(tmp_path / "b", 12, seed=3)
    generate(tmp_path / "c", 12, seed=4)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_task_counts_within_bounds_about_25_on_average(tmp_path: Path) -> None:
    counts = generate(tmp_path, 300).values()
    assert min(counts) >= MIN_TASKS and max(counts) <= MAX_TASKS
    assert 21 <= statistics.mean(counts) <= 29


def test_static_reader_reads_every_task_without_errors(tmp_path: Path) -> None:
    counts = generate(tmp_path, 40)
    operators: set[str] = set()
    grouped = 0
    for relative, tasks in counts.items():
        parsed = read_dag_file(tmp_path / relative)
        assert [d for d in parsed.diagnostics if d.severity.value == "error"] == []
        assert len(parsed.dags) == 1 and len(parsed.dags[0].tasks) == tasks
        operators |= {task.operator for task in parsed.dags[0].tasks}
        grouped += sum(task.group_id is not None for task in parsed.dags[0].tasks)
    # "task": TaskFlow functions, as the static reader names their operator
    assert {"BashOperator", "PythonOperator", "KubernetesPodOperator", "EmptyOperator", "task"} <= operators
    assert grouped > 0


def test_single_dag_has_exactly_the_tasks_asked(tmp_path: Path) -> None:
    parsed = read_dag_file(generate_single(tmp_path, 120))
    assert len(parsed.dags[0].tasks) == 120


AIRFLOW_PYTHON = os.environ.get("AIRFLOW2KFP_AIRFLOW_PYTHON") or str(
    ROOT / ".venv-airflow" / "bin" / "python"
)


@pytest.mark.skipif(not Path(AIRFLOW_PYTHON).is_file(), reason="no Airflow environment")
def test_a_sample_loads_in_airflow_dagbag(tmp_path: Path) -> None:
    counts = generate(tmp_path / "dags", 6)
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run(
        [AIRFLOW_PYTHON, str(ROOT / "bench" / "dagbag_load.py"), str(tmp_path / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    answer = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    assert answer["import_errors"] == 0, answer["first_error"]
    assert (answer["dags"], answer["tasks"]) == (6, sum(counts.values()))
