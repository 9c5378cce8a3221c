"""What the Airflow import records of callables, mapped task groups and sub-DAGs equals the static
reading, so either reading converts a task the same way (bound objects aside: the import rebuilds
them from their attributes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow2kfp.model import BoundObject, Dag
from airflow2kfp.parse.static import read_dag_file

REPO = Path(__file__).resolve().parents[2]

FIXTURES = REPO / "fixtures"


def _static(path) -> dict[str, Dag]:
    return {dag.dag_id: dag for dag in read_dag_file(path, display_path=str(path)).dags}


def _imported(reader, path) -> dict[str, Dag]:
    parsed = reader.read(str(path), str(path))
    assert not parsed.diagnostics, [d.render() for d in parsed.diagnostics]
    return {dag.dag_id: dag for dag in parsed.dags}


@pytest.mark.parametrize("name", ["callables_kinds.py", "mapping_fan_in.py"])
def test_the_import_records_what_the_static_reading_finds(reader, name: str) -> None:
    path = FIXTURES / "airflow_dags" / name
    static, imported = _static(path), _imported(reader, path)
    assert sorted(static) == sorted(imported)
    for dag_id, dag in imported.items():
        assert dag.mapped_groups == static[dag_id].mapped_groups
        for task in dag.tasks:
            mine, theirs = static[dag_id].task(task.task_id).python_callable, task.python_callable
            if mine is None:
                continue
            assert (theirs.name, theirs.partial_args, dict(theirs.partial_kwargs)) == (
                mine.name,
                mine.partial_args,
                dict(mine.partial_kwargs),
            ), task.task_id
            # the import reads every plain global the function reads; the reader only what it needs
            assert {k: v for k, v in theirs.cells.items() if k in mine.cells} == dict(mine.cells), (
                task.task_id
            )
            if mine.bound_object is not None:
                assert (
                    theirs.bound_object is not None
                    and theirs.bound_object.class_name == mine.bound_object.class_name
                )


def test_bound_objects_are_recorded_with_their_attributes(reader) -> None:
    dag = _imported(reader, FIXTURES / "airflow_dags" / "callables_kinds.py")["callables_kinds"]
    assert dag.task("local_method").python_callable.bound_object == BoundObject(
        "Exporter", None, None, {"target": "gs://local", "compress": True}
    )
    assert dag.task("classmethod").python_callable.bound_object == BoundObject(
        "Exporter", None, "Exporter", None
    )


def test_a_lambda_is_its_expression(reader) -> None:
    dag = _imported(reader, FIXTURES / "airflow_dags" / "callables_kinds.py")["callables_kinds"]
    assert dag.task("lambda").python_callable.source == 'lambda: _rows("orders") * 2'
    assert dag.task("rows_orders").python_callable.cells["table"] == "orders"  # the default keeps each value


def test_airflow_2_subdags_are_inlined_as_the_static_reading_does(reader2) -> None:
    path = FIXTURES / "airflow2_dags" / "subdag_sections.py"
    static, imported = _static(path), _imported(reader2, path)
    assert sorted(imported) == sorted(static) == ["subdag_sections"]
    mine, theirs = static["subdag_sections"], imported["subdag_sections"]
    assert [t.task_id for t in theirs.tasks] == [t.task_id for t in mine.tasks]
    assert sorted(theirs.edges) == sorted(mine.edges) and theirs.subdags == mine.subdags
    assert {t.task_id: t.group_id for t in theirs.tasks} == {t.task_id: t.group_id for t in mine.tasks}
