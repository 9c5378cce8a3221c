"""Loops over literals in the DAG stay loops in the generated pipeline, and compile to the workflow
the unrolled blocks compile to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import airflow2kfp.pipeline as pipeline_module
from airflow2kfp.cli import main
from airflow2kfp.emit import python as emit_python

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def convert(dag_file: Path, out: Path) -> tuple[str, str]:
    """The generated .py and .yaml of the one DAG of `dag_file`, read statically."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(
            [
                "convert",
                str(dag_file.relative_to(ROOT)),
                "--out",
                str(out),
                "--mode",
                "static",
                "--no-cache",
                "-q",
            ]
        )
    finally:
        os.chdir(cwd)
    assert code == 0
    (python,) = sorted((out / "pipelines").glob("*.py"))
    return python.read_text(encoding="utf-8"), python.with_suffix(".yaml").read_text(encoding="utf-8")


def function(source: str) -> str:
    """The pipeline function of a generated file."""
    return source.split("@dsl.pipeline", 1)[1].split("\ndef ", 2)[1]


@pytest.fixture
def unrolled(monkeypatch: pytest.MonkeyPatch):
    """Conversions within it write every task as its own block."""

    def render(plan: emit_python.EmitPlan, fold: bool = True) -> str:
        return emit_python.render(plan, fold=False)

    def use() -> None:
        monkeypatch.setattr(pipeline_module, "render", render)

    return use


def test_a_dags_loops_are_loops_in_the_pipeline_and_compile_to_the_same_workflow(tmp_path, unrolled):
    folded_py, folded_yaml = convert(DATA / "warehouse_loops.py", tmp_path / "folded")
    unrolled()
    unrolled_py, unrolled_yaml = convert(DATA / "warehouse_loops.py", tmp_path / "unrolled")
    # one loop per loop of the DAG: tables (extract and load each), regions, housekeeping chain
    assert 'for item in ["orders", "order_items", "customers", "Payments"]:' in folded_py
    assert "for item, item_2 in [" in folded_py or "for item_1, item_2 in [" in folded_py
    assert 'for item in ["vacuum", "analyze", "refresh_views"]:' in folded_py
    # the KFP task names, lowercase with `-`, are made from the value as the DAG has it
    assert "named(BASH, f\"extract-{item.lower().replace('_', '-')}\")" in folded_py
    # the task after the tables' loop waits for every load; the chain carries the previous task
    assert ".after(*load_tasks)" in folded_py
    assert ".after(previous_task)" in folded_py and "previous_task = task" in folded_py
    assert "extract_order_items" not in folded_py and "extract_order_items" in unrolled_py
    assert function(folded_py).count("\n") < function(unrolled_py).count("\n") * 0.6
    assert folded_yaml == unrolled_yaml  # the same tasks, edges, depends and arguments, byte for byte


def test_the_folded_file_run_with_plain_kfp_writes_the_converters_yaml(tmp_path):
    source, compiled = convert(DATA / "warehouse_loops.py", tmp_path / "out")
    path = tmp_path / "run" / "warehouse_loops.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "AIRFLOW2KFP_PLAIN_KFP")}
    subprocess.run([sys.executable, str(path)], check=True, env=env, cwd=path.parent, capture_output=True)
    assert path.with_suffix(".yaml").read_text(encoding="utf-8") == compiled


def test_blocks_that_differ_beyond_the_loop_value_stay_unrolled(tmp_path):
    # cf_trigger_rules makes one task per trigger rule in a loop: each gets its own `depends` and
    # some a note on what differs from Airflow, so no loop is the same text but for the rule
    source, _ = convert(ROOT / "fixtures" / "airflow_dags" / "cf_trigger_rules.py", tmp_path / "out")
    body = function(source)
    assert "\n    for " not in body
    assert body.count("named(BASH, ") == 16
