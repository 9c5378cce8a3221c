"""The reference example: an Airflow DAG with the seed's seven tasks compiles to the seed's DAG template."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

ROOT = Path(__file__).resolve().parents[2]
SEED_YAML = ROOT / "tests" / "data" / "seed" / "example-pipeline.yaml"
SEED_DAG = ROOT / "fixtures" / "airflow_dags" / "seed_seven_tasks.py"


def dag_template(yaml_text: str) -> dict[str, list[str]]:
    workflow = yaml.safe_load(yaml_text)
    entry = next(t for t in workflow["spec"]["templates"] if t["name"] == workflow["spec"]["entrypoint"])
    return {task["name"]: sorted(task.get("dependencies", [])) for task in entry["dag"]["tasks"]}


def test_seed_dag_compiles_to_the_seed_workflow_dag(tmp_path: Path) -> None:
    result = convert_all([SEED_DAG], tmp_path, ConvertOptions(), settings=STATIC)
    document = json.loads(result.summary_path.read_text())
    (dag,) = document["dags"]
    assert dag["status"] == "converted" and dag["ordering"]["verdict"] == "exact"
    compiled = (tmp_path / dag["yaml"]).read_text()
    assert dag_template(compiled) == dag_template(SEED_YAML.read_text())
    # every step runs the seed's command, through bash
    workflow = yaml.safe_load(compiled)
    commands = {
        t["name"]: t["container"]["command"] for t in workflow["spec"]["templates"] if "container" in t
    }
    assert commands["task-e"] == ["bash", "-c", "echo Task E"]
