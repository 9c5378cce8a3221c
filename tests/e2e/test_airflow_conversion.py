"""Whole conversions in import mode: DAGs only Airflow can resolve, and Airflow's own example DAGs."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from airflow2kfp.cli import main
from airflow2kfp.parse.airflow_examples import copy_examples

REPO = Path(__file__).resolve().parents[2]


def convert(sources: list[Path], out: Path, python: str, *extra: str) -> tuple[int, dict]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(
            [
                "convert",
                *map(str, sources),
                "--out",
                str(out),
                "--mode",
                "auto",
                "--no-cache",
                "--airflow-python",
                python,
                "--fail-on",
                "never",
                "-q",
                *extra,
            ]
        )
    assert "Traceback" not in printed.getvalue()
    return code, json.loads((out / "conversion.json").read_text())


def test_dags_only_import_can_resolve_convert_with_exact_ordering(
    airflow_python: str, tmp_path: Path
) -> None:
    code, document = convert([REPO / "fixtures" / "airflow_only"], tmp_path, airflow_python)
    assert code == 0
    dags = {dag["dag_id"]: dag for dag in document["dags"]}
    assert len(dags) >= 5, sorted(dags)
    for dag in dags.values():
        assert dag["status"] == "converted", (dag["dag_id"], dag["diagnostics"])
        assert dag["ordering"]["verdict"] == "exact", dag["dag_id"]
        assert dag["source_mode"].startswith("airflow")  # import is the ground truth here
        assert dag["airflow_edges"], dag["dag_id"]  # the import found the dynamic edges


def test_every_example_dag_airflow_loads_converts_with_exact_ordering(
    airflow_python: str, tmp_path: Path
) -> None:
    roots = copy_examples(airflow_python, tmp_path / "dags")
    if not roots:
        pytest.skip("this Airflow ships no example DAGs")
    _, document = convert(roots, tmp_path / "out", airflow_python, "--airflow-timeout", "15")
    imported = [d for d in document["dags"] if d["source_mode"].startswith("airflow")]
    assert len(imported) >= 50
    for dag in imported:
        assert dag["status"] == "converted", (
            dag["dag_id"],
            [d for d in dag["diagnostics"] if d["severity"] == "error"],
        )
        assert dag["ordering"]["verdict"] == "exact", dag["dag_id"]
