"""Converts a control-flow fixture once per test session and reads back its compiled workflow."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Converted:
    record: dict[str, Any]  # the DAG's entry in conversion.json
    workflow: dict[str, Any]
    python: str
    python_path: Path
    yaml_path: Path

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.workflow["spec"]["templates"]}

    @property
    def entry(self) -> dict[str, dict[str, Any]]:
        """The entrypoint DAG's tasks by name."""
        entry = self.templates[self.workflow["spec"]["entrypoint"]]
        return {t["name"]: t for t in entry["dag"]["tasks"]}

    def stand_in(self, leaf: str) -> str:
        """The entrypoint node that holds step `leaf` (itself, or the condition/loop around it)."""

        def holds(template: str, name: str) -> bool:
            tmpl = self.templates[template]
            return (
                name == leaf
                if "dag" not in tmpl
                else any(holds(t["template"], t["name"]) for t in tmpl["dag"]["tasks"])
            )

        return next(name for name, task in self.entry.items() if holds(task["template"], name))

    def task(self, task_id: str) -> dict[str, Any]:
        return next(t for t in self.record["tasks"] if t["task_id"] == task_id)


@pytest.fixture(scope="session")
def convert(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Converted]:
    cache: dict[str, Converted] = {}

    def run(stem: str) -> Converted:
        if stem not in cache:
            out = tmp_path_factory.mktemp(stem)
            cwd = os.getcwd()
            os.chdir(ROOT)
            try:
                result = convert_all(
                    [Path("fixtures/airflow_dags") / f"{stem}.py"], out, ConvertOptions(), settings=STATIC
                )
            finally:
                os.chdir(cwd)
            (record,) = json.loads(result.summary_path.read_text())["dags"]
            assert record["status"] == "converted", record["diagnostics"]
            assert record["ordering"]["verdict"] == "exact"
            yaml_path, python_path = out / record["yaml"], out / record["python"]
            cache[stem] = Converted(
                record, yaml.safe_load(yaml_path.read_text()), python_path.read_text(), python_path, yaml_path
            )
        return cache[stem]

    return run
