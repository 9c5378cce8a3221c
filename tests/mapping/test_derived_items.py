"""Tasks mapped over XComArg.zip() / .map() / .concat(): the items step the converter writes computes,
for the same upstream outputs, exactly the items Airflow's own ZipXComArg / MapXComArg / ConcatXComArg
hand each mapped instance, under Airflow 3 and Airflow 2.

Airflow's side: the fixture is imported with Airflow, each mapped task's XComArg is resolved with the
upstream outputs below standing in for the XComs (PlainXComArg.resolve answers them), and every
index is read as a mapped instance reads it (an AirflowSkipException skips that instance). The
converter's side: the items step's function is taken from the generated pipeline file (it is plain
Python) and run on the same outputs, passed as KFP passes them (JSON text; a mapped task's results
as Argo collects them).
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "fixtures" / "airflow_dags" / "mapping_zip_map.py"

# what each upstream task returns in this run (other values than the DAG's own: lengths differ)
OUTPUTS: dict[str, Any] = {
    "entries": [["echo hi $USER", "USER", "foo"], ["echo hi $USER", "USER", "bar"], ["echo $A", "A", "x"]],
    "templates": ["hello {}", "goodbye {}"],
    "users": ["ada", "alan", "grace", "linus"],
    "size": [3, 4, 5, 5],  # a mapped task's results, in map order
}

# run with the Airflow interpreter: argv[1] the DAG file, argv[2] the outputs (JSON); prints
# {task_id: {argument: [items]}} for every mapped argument Airflow builds with zip/map/concat
AIRFLOW_SIDE = r"""
import gc, json, runpy, sys

try:
    from airflow.sdk.definitions.xcom_arg import PlainXComArg, XComArg
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow.models.xcom_arg import PlainXComArg, XComArg
    from airflow.models.dag import DAG
from airflow.exceptions import AirflowSkipException

outputs = json.loads(sys.argv[2])
PlainXComArg.resolve = lambda self, *args, **kwargs: outputs[self.operator.task_id]
runpy.run_path(sys.argv[1], run_name="dag_file")
def is_dag(value):
    try:
        return isinstance(value, DAG)
    except Exception:  # a lazy module proxy answers isinstance by importing
        return False


found = {}
for dag in [o for o in gc.get_objects() if is_dag(o)]:
    for task in dag.tasks:
        attr = getattr(task, "_expand_input_attr", None) or "expand_input"
        expand = getattr(task, attr, None)
        value = getattr(expand, "value", None)
        mapped = value if isinstance(value, dict) else {"*": value}
        for name, arg in mapped.items():
            if isinstance(arg, XComArg) and not isinstance(arg, PlainXComArg):
                try:
                    resolved = arg.resolve({})
                except TypeError:  # Airflow 2: resolve(context, session)
                    resolved = arg.resolve({}, session=None)
                items = []
                for index in range(len(resolved)):
                    try:
                        items.append(resolved[index])
                    except AirflowSkipException:
                        pass  # Airflow skips this instance
                found.setdefault(task.task_id, {})[name] = items
            elif isinstance(arg, list):
                found.setdefault(task.task_id, {})[name] = arg
print(json.dumps(found))
"""


def airflow_items(python: str, home: Path) -> dict[str, dict[str, list[Any]]]:
    result = subprocess.run(
        [python, "-c", AIRFLOW_SIDE, str(FIXTURE), json.dumps(OUTPUTS)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The items steps' functions in the generated pipeline (task id -> function), defined by
    executing only their own source (the file's top-level `def <task>_items` / `_cross_product`)."""
    out = tmp_path_factory.mktemp("converted")
    convert_all([FIXTURE], out, ConvertOptions(), settings=STATIC)
    source = (out / "pipelines" / "mapping_zip_map.py").read_text(encoding="utf-8")
    functions = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.endswith(("_items", "_cross_product")):
            namespace: dict[str, Any] = {}
            exec(ast.get_source_segment(source, node), namespace)  # our own generated step, plain Python
            functions[node.name] = namespace[node.name]
    return functions


def step_inputs(parameters: list[str]) -> dict[str, str]:
    """Each input as the step receives it: an upstream's output as JSON text; a mapped task's results
    as Argo collects them (a JSON list of each instance's JSON text)."""
    found = {}
    for name in parameters:
        if name == "size":
            found[name] = json.dumps([json.dumps(v) for v in OUTPUTS["size"]])
        elif name == "times":
            found[name] = json.dumps([1, 2])
        else:
            found[name] = json.dumps(OUTPUTS[name])
    return found


def run_step(function: Any) -> Any:
    parameters = list(function.__code__.co_varnames[: function.__code__.co_argcount])
    return json.loads(function(**step_inputs(parameters)))


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))  # tuples as lists, as every step passes them


BARE = {  # task id -> its mapped argument, for the items of one argument
    "run_entries": "*",
    "printer": "*",
    "padded": "pair",
    "sized": "pair",
    "shouted": "*",
}


def check_against(airflow: dict[str, dict[str, list[Any]]], steps: dict[str, Any]) -> None:
    for task_id, argument in BARE.items():
        expected = as_json(airflow[task_id][argument])
        assert run_step(steps[f"{task_id}_items"]) == expected, task_id
    # the cross product of a literal list and a zip: Airflow's map-index order, the last argument fastest
    combine = airflow["combine"]
    expected = [
        {"times": times, "pair": pair}
        for times, pair in itertools.product(combine["times"], as_json(combine["pair"]))
    ]
    assert run_step(steps["combine_cross_product"]) == expected


def test_items_steps_compute_what_airflow_3_hands_each_instance(airflow_python, steps, tmp_path):
    airflow = airflow_items(airflow_python, tmp_path)
    # what the fixture exercises, as Airflow answers it (the test is not vacuous)
    assert airflow["run_entries"]["*"] == [
        {"bash_command": "echo hi $USER", "env": {"USER": "foo"}},
        {"bash_command": "echo $A", "env": {"A": "x"}},
    ]
    assert airflow["padded"]["pair"][-1] == ["nobody", "linus"]
    assert airflow["sized"]["pair"] == [["ada", 3], ["alan", 4], ["grace", 5], ["linus", 5]]
    check_against(airflow, steps)


def test_items_steps_compute_what_airflow_2_hands_each_instance(airflow2_python, steps, tmp_path):
    check_against(airflow_items(airflow2_python, tmp_path), steps)
