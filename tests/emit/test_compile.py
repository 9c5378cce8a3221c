"""Emitting and compiling: the generated Python compiles with kfp 1.8.22 to the expected workflow."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from airflow2kfp.pipeline import ConvertOptions, convert_dag
from airflow2kfp.results import Status
from tests.helpers import EMPTY, dag, task

SEED_YAML = Path(__file__).parents[1] / "data" / "seed" / "example-pipeline.yaml"
SEED_EDGES = [
    ("task_a", "task_b"),
    ("task_a", "task_c"),
    ("task_a", "task_d"),
    ("task_b", "task_e"),
    ("task_c", "task_e"),
    ("task_d", "task_f"),
    ("task_d", "task_g"),
    ("task_e", "task_g"),
]


def dag_tasks(yaml_text: str) -> dict[str, list[str]]:
    workflow = yaml.safe_load(yaml_text)
    entry = next(t for t in workflow["spec"]["templates"] if t["name"] == workflow["spec"]["entrypoint"])
    return {t["name"]: sorted(t.get("dependencies", [])) for t in entry["dag"]["tasks"]}


def seed_dag():
    tasks = [task(f"task_{c}", bash_command=f"echo Task {c.upper()}") for c in "abcdefg"]
    return dag("example_pipeline", tasks, SEED_EDGES)


def test_seed_model_compiles_to_the_seed_dag_template():
    result = convert_dag(seed_dag(), (), ConvertOptions())
    assert result.status is Status.CONVERTED and result.selfcheck.exact
    assert dag_tasks(result.yaml_text) == dag_tasks(SEED_YAML.read_text())


def test_output_is_deterministic_and_python_file_reproduces_the_yaml(tmp_path):
    first = convert_dag(seed_dag(), (), ConvertOptions())
    second = convert_dag(seed_dag(), (), ConvertOptions())
    assert first.python_text == second.python_text and first.yaml_text == second.yaml_text
    source = tmp_path / "seed.py"
    source.write_text(first.python_text)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    subprocess.run([sys.executable, str(source)], check=True, env=env, cwd=tmp_path)
    assert (tmp_path / "seed.yaml").read_text() == first.yaml_text


def test_source_date_epoch_sets_the_compilation_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = convert_dag(seed_dag(), (), ConvertOptions())
    assert "pipeline_compilation_time: '2023-11-14T22:13:20'" in result.yaml_text


def test_removed_empty_join_keeps_the_ordering():
    tasks = [task("a"), task("b"), task("join", operator=EMPTY), task("c"), task("d")]
    edges = [("a", "join"), ("b", "join"), ("join", "c"), ("join", "d")]
    result = convert_dag(dag("fan", tasks, edges), (), ConvertOptions())
    assert result.selfcheck.exact
    assert dag_tasks(result.yaml_text) == {"a": [], "b": [], "c": ["a", "b"], "d": ["a", "b"]}
    assert {t.task_id: t.mapping.value for t in result.tasks}["join"] == "removed"


def test_colliding_and_awkward_ids_get_valid_unique_names():
    ids = ["task_a", "task-a", "Extract", "load.data", "x" * 90, "awkward"]
    result = convert_dag(dag("awkward", [task(i) for i in ids], []), (), ConvertOptions())
    names = {t.task_id: t.kfp_name for t in result.tasks}
    assert names["task_a"] == "task-a" and names["task-a"] == "task-a-2" and names["awkward"] == "awkward-2"
    assert set(dag_tasks(result.yaml_text)) == set(names.values())
    assert result.selfcheck.exact and not result.selfcheck.problems


def test_cycle_fails_the_dag_with_its_code():
    result = convert_dag(dag("c", [task("a"), task("b")], [("a", "b"), ("b", "a")]), (), ConvertOptions())
    assert result.status is Status.FAILED and [d.code for d in result.diagnostics] == ["A2K202"]
    assert result.yaml_text is None


def test_multiline_commands_survive_compilation():
    command = "set -e\necho \"one\"\necho 'two' \\\n  three\n"
    result = convert_dag(dag("m", [task("t", bash_command=command)], []), (), ConvertOptions())
    workflow = yaml.safe_load(result.yaml_text)
    step = next(t for t in workflow["spec"]["templates"] if t["name"] == "t")
    assert step["container"]["command"] == ["bash", "-c", command]


def test_renamed_tasks_are_reported_only_when_the_name_is_not_the_plain_id():
    ids = ["task_a", "task-a", "9lives", "x" * 90, "load.data"]
    result = convert_dag(dag("renames", [task(i) for i in ids], []), (), ConvertOptions())
    renamed = {d.task_id: d.message for d in result.diagnostics if d.code == "A2K304"}
    assert set(renamed) == {
        "task-a",
        "9lives",
        "x" * 90,
    }  # task_a -> task-a and load.data -> load-data are plain
    assert "'task-a-2'" in renamed["task-a"] and "taken" in renamed["task-a"]
