"""Airflow's own example DAGs, read through AirflowReader: a ready-made corpus for self-checks.

The examples are copied out of the Airflow environment at run time (never committed) and read
file by file. `read_examples` yields each file's ParsedFile so later stages (compile, ordering
self-check) can be chained onto the same stream.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from airflow2kfp.model import ParsedFile
from airflow2kfp.parse.airflow_import import AirflowReader, run_probe


@dataclass(frozen=True)
class ExampleFile:
    root: Path  # the copied example_dags folder: the DAGs folder Airflow would use
    path: Path

    @property
    def display_path(self) -> str:
        return f"{self.root.name}/{self.path.relative_to(self.root)}"


def example_dag_folders(python: str) -> list[Path]:
    answer = run_probe(python, "--example-dag-folders") or {}
    return [Path(folder) for folder in answer.get("folders", [])]


def copy_examples(python: str, dest: Path) -> list[Path]:
    """Copy every example_dags folder of the Airflow env under `dest`; the copied roots."""
    roots = []
    for folder in example_dag_folders(python):
        # .../airflow/example_dags -> "airflow", .../providers/standard/example_dags -> "providers.standard"
        package = (
            len(folder.parts) - 1 - folder.parts[::-1].index("airflow") if "airflow" in folder.parts else -2
        )
        name = ".".join(folder.parts[package + 1 : -1]) or "airflow"
        target = dest / name
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        roots.append(target)
    return roots


def example_files(roots: list[Path]) -> list[ExampleFile]:
    return [ExampleFile(root, path) for root in roots for path in sorted(root.rglob("*.py"))]


def read_examples(reader: AirflowReader, roots: list[Path]) -> Iterator[tuple[ExampleFile, ParsedFile]]:
    for example in example_files(roots):
        yield example, reader.read(str(example.path), example.display_path, dag_folder=str(example.root))
