"""TaskFlow: decorated functions become tasks when called inside a DAG."""

from __future__ import annotations

import pytest

from airflow2kfp.model import XComRef
from tests.parse.helpers import codes, only_dag, task_ids


@pytest.mark.parametrize(
    ("imports", "decorator", "operator", "module"),
    [
        ("from airflow.decorators import task", "@task", "task", "airflow.decorators"),
        ("from airflow.decorators import task", "@task()", "task", "airflow.decorators"),
        ("from airflow.sdk import task", "@task.bash", "task.bash", "airflow.sdk"),
        ("from airflow.decorators import task", "@task.python", "task.python", "airflow.decorators"),
        ("from airflow.decorators import task", "@task.branch", "task.branch", "airflow.decorators"),
        (
            "from airflow.decorators import task",
            "@task.short_circuit",
            "task.short_circuit",
            "airflow.decorators",
        ),
        (
            "from airflow.decorators import task",
            "@task.kubernetes(image='python:3.12')",
            "task.kubernetes",
            "airflow.decorators",
        ),
        (
            "from airflow.decorators import task",
            "@task.virtualenv(requirements=['x'])",
            "task.virtualenv",
            "airflow.decorators",
        ),
        (
            "from airflow.decorators import task",
            "@task.docker(image='x')",
            "task.docker",
            "airflow.decorators",
        ),
        ("from airflow.decorators import task as t", "@t", "task", "airflow.decorators"),
        ("import airflow.sdk as sdk", "@sdk.task", "task", "airflow.sdk"),
    ],
)
def test_decorator_forms(read, imports: str, decorator: str, operator: str, module: str) -> None:
    source = f"from airflow import DAG\n{imports}\n{decorator}\ndef work():\n    return 1\nwith DAG('d'):\n    work()\n"
    dag = only_dag(read(source, header=False))
    [task] = dag.tasks
    assert (task.task_id, task.operator, task.operator_module) == ("work", operator, module)
    assert task.python_callable is not None and task.python_callable.source.startswith(decorator)


def test_ids_repeat_override_and_decorator_task_id(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task

        @task
        def step():
            pass

        @task(task_id="named", retries=2)
        def other():
            pass

        with DAG("d"):
            step(); step(); step()
            step.override(task_id="custom", retries=4)()
            other()
    """)
    )
    assert task_ids(dag) == ["step", "step__1", "step__2", "custom", "named"]
    assert dag.task("custom").args.values["retries"] == 4 and dag.task("named").args.values["retries"] == 2


def test_arguments_and_xcom_edges(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task

        @task(multiple_outputs=True)
        def source():
            return {"a": 1}

        @task
        def sink(x, y, *, nested):
            pass

        with DAG("d"):
            s = source()
            sink(s["a"], 2, nested={"k": [s]})
    """)
    )
    sink = dag.task("sink")
    assert sink.args.values["op_args"] == (XComRef("source", "a"), 2)
    assert sink.args.values["op_kwargs"] == {"nested": {"k": [XComRef("source")]}}
    assert {"op_args", "op_kwargs"} <= sink.args.explicit
    assert dag.edges == (("source", "sink"),)


def test_taskflow_results_in_bitshift(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task

        @task
        def a():
            pass

        @task
        def b():
            pass

        with DAG("d"):
            a() >> b() >> EmptyOperator(task_id="c")
    """)
    )
    assert dag.edges == (("a", "b"), ("b", "c"))


def test_taskflow_outside_dag(read) -> None:
    parsed = read("""
        from airflow.decorators import task

        @task
        def a():
            pass

        a()
    """)
    assert "A2K207" in codes(parsed)


def test_dag_function_body_tasks(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import dag, task

        @dag(schedule="@daily")
        def pipeline(limit=3):
            @task
            def produce(n):
                return n

            produce(limit)

        pipeline()
    """)
    )
    [task] = dag.tasks
    assert task.args.values["op_args"][0].source == "params.limit"  # a DAG param: known only at run time


def test_decorator_applied_by_call(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task

        def plain():
            return 1

        with DAG("d"):
            task(plain)()
            task.bash(retries=2)(plain).override(task_id="b")()
    """)
    )
    assert [(t.task_id, t.operator) for t in dag.tasks] == [("plain", "task"), ("b", "task.bash")]
    assert dag.task("b").args.values["retries"] == 2
