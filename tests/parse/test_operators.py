"""Recognising operators by where they were imported from, never by their name alone."""

from __future__ import annotations

import pytest

from tests.parse.helpers import codes, only_dag, task_ids


@pytest.mark.parametrize(
    ("imports", "call", "operator", "module"),
    [
        (
            "from airflow.operators.bash import BashOperator as B",
            "B",
            "BashOperator",
            "airflow.operators.bash",
        ),
        ("import airflow.operators.bash as b", "b.BashOperator", "BashOperator", "airflow.operators.bash"),
        (
            "from airflow.providers.standard.operators.bash import BashOperator",
            "BashOperator",
            "BashOperator",
            "airflow.providers.standard.operators.bash",
        ),
        (
            "from airflow.operators.bash_operator import BashOperator",
            "BashOperator",
            "BashOperator",
            "airflow.operators.bash_operator",
        ),
        (
            "from airflow.operators.dummy_operator import DummyOperator",
            "DummyOperator",
            "DummyOperator",
            "airflow.operators.dummy_operator",
        ),
        (
            "from airflow.contrib.operators.ssh_operator import SSHOperator",
            "SSHOperator",
            "SSHOperator",
            "airflow.contrib.operators.ssh_operator",
        ),
        (
            "from airflow.providers.google.cloud.operators import bigquery",
            "bigquery.BigQueryInsertJobOperator",
            "BigQueryInsertJobOperator",
            "airflow.providers.google.cloud.operators.bigquery",
        ),
    ],
)
def test_import_forms(read, imports: str, call: str, operator: str, module: str) -> None:
    source = f"from airflow import DAG\n{imports}\nwith DAG('d'):\n    {call}(task_id='t')\n"
    dag = only_dag(read(source, header=False))
    [task] = dag.tasks
    assert (task.task_id, task.operator, task.operator_module) == ("t", operator, module)


def test_task_span_is_the_call(read) -> None:
    dag = only_dag(
        read("""
        with DAG("d"):
            x = BashOperator(
                task_id="t", bash_command="echo")
    """)
    )
    assert (dag.tasks[0].span.line, dag.tasks[0].span.col) == (7, 8)


def test_known_operator_without_task_id(read) -> None:
    parsed = read("""
        with DAG("d"):
            BashOperator(bash_command="echo")
    """)
    assert codes(parsed) == ["A2K205"]


def test_custom_local_operator(read) -> None:
    dag = only_dag(
        read("""
        from airflow.models import BaseOperator

        class Base(BaseOperator):
            pass

        class Mine(Base):
            def execute(self, context):
                return 1

        with DAG("d"):
            Mine(task_id="mine", extra=1)
    """)
    )
    [task] = dag.tasks
    # the local base and its own bases, as an MRO lists them
    assert (task.operator, task.operator_module, task.operator_bases) == (
        "Mine",
        "",
        ("Base", "airflow.models.BaseOperator"),
    )
    assert task.args.values == {"task_id": "mine", "extra": 1}


def test_local_class_named_like_an_operator_is_not_airflows(read) -> None:
    dag = only_dag(
        read(
            """
        from airflow import DAG
        from airflow.models import BaseOperator

        class BashOperator(BaseOperator):
            pass

        with DAG("d"):
            BashOperator(task_id="t")
    """,
            header=False,
        )
    )
    assert (dag.tasks[0].operator, dag.tasks[0].operator_module) == ("BashOperator", "")


def test_local_class_outside_airflow_is_left_alone(read) -> None:
    parsed = read(
        """
        class BashOperator:
            def __init__(self, task_id):
                self.task_id = task_id

        BashOperator(task_id="not_a_task")
    """,
        header=False,
    )
    assert parsed.dags == () and codes(parsed) == ["A2K104"]


def test_non_airflow_helper_class_inside_dag_is_not_a_task(read) -> None:
    dag = only_dag(
        read("""
        import logging
        with DAG("d"):
            log = logging.Logger("x")
            EmptyOperator(task_id="a")
    """)
    )
    assert task_ids(dag) == ["a"]


def test_operator_outside_any_dag(read) -> None:
    parsed = read("""
        orphan = EmptyOperator(task_id="orphan")
    """)
    assert codes(parsed) == ["A2K207", "A2K104"]


def test_task_group_kwarg_and_nested_dag_contexts(read) -> None:
    parsed = read("""
        with DAG("outer") as outer:
            EmptyOperator(task_id="a")
            with DAG("inner"):
                EmptyOperator(task_id="b")
                EmptyOperator(task_id="c", dag=outer)
    """)
    assert [task_ids(d) for d in parsed.dags] == [["a", "c"], ["b"]]


def test_python_operator_callables(read) -> None:
    dag = only_dag(
        read("""
        from airflow.operators.python import PythonOperator
        from mylib.jobs import run_job

        def local(x):
            return x * 2

        with DAG("d"):
            PythonOperator(task_id="local", python_callable=local, op_args=[1])
            PythonOperator(task_id="imported", python_callable=run_job)
            PythonOperator(task_id="lam", python_callable=lambda: 1)
    """)
    )
    local, imported, lam = (dag.task(t).python_callable for t in ("local", "imported", "lam"))
    assert local is not None and local.name == "local" and local.source == "def local(x):\n    return x * 2"
    assert local.span is not None and local.span.line == 9
    assert imported is not None and (imported.name, imported.source, imported.module) == (
        "run_job",
        None,
        "mylib.jobs",
    )
    assert lam is not None and lam.source == "lambda: 1"
