"""The static reading of a task's callable: what the step needs to call it as Airflow does."""

from __future__ import annotations

import textwrap

from airflow2kfp.model import BoundObject, DagRef, MappedArg, XComRef
from tests.parse.helpers import codes, only_dag

HEADER = """
import functools
from functools import partial
from airflow.operators.python import PythonOperator
"""


def callables(read, source: str) -> dict:
    dag = only_dag(read(HEADER + textwrap.dedent(source)))
    return {t.task_id: t.python_callable for t in dag.tasks}


def test_a_lambda_is_its_expression_with_the_values_it_reads(read) -> None:
    found = callables(
        read,
        """
        LIMIT = 3
        with DAG("d"):
            PythonOperator(task_id="t", python_callable=lambda x=1: x + LIMIT)
    """,
    )
    assert found["t"].name == "<lambda>" and found["t"].source == "lambda x=1: x + LIMIT"
    assert found["t"].cells == {"LIMIT": 3}


def test_lambdas_in_a_loop_see_the_last_value_unless_a_default_keeps_each(read) -> None:
    found = callables(
        read,
        """
        with DAG("d"):
            for region in ["eu", "us"]:
                PythonOperator(task_id=f"late_{region}", python_callable=lambda: region)
                PythonOperator(task_id=f"kept_{region}", python_callable=lambda region=region: region)
    """,
    )
    # as in Python: the body reads the name when it runs, a default when the lambda is made
    assert found["late_eu"].cells == found["late_us"].cells == {"region": "us"}
    assert (found["kept_eu"].cells, found["kept_us"].cells) == ({"region": "eu"}, {"region": "us"})


def test_a_partial_is_its_function_with_the_bound_arguments_nested_partials_flattened(read) -> None:
    parsed = read(
        HEADER
        + textwrap.dedent("""
        def load(table, size, dry_run=False):
            return table
        with DAG("d"):
            PythonOperator(task_id="t", python_callable=partial(functools.partial(load, "orders"), 5, dry_run=True))
    """)
    )
    (task,) = only_dag(parsed).tasks
    found = task.python_callable
    assert (found.name, found.partial_args, found.partial_kwargs) == (
        "load",
        ("orders", 5),
        {"dry_run": True},
    )
    assert found.source.startswith("def load(") and "A2K204" not in codes(parsed)


def test_bound_methods_carry_the_source_building_their_object(read) -> None:
    found = callables(
        read,
        """
        class Exporter:
            def __init__(self, target):
                self.target = target
            def export(self, table):
                return self.target + table
            @classmethod
            def describe(cls, table):
                return table
            def __call__(self, table):
                return table
        module_level = Exporter("s3://a")
        with DAG("d"):
            here = Exporter(target="s3://b")
            PythonOperator(task_id="module", python_callable=module_level.export)
            PythonOperator(task_id="local", python_callable=here.export)
            PythonOperator(task_id="on_class", python_callable=Exporter.describe)
            PythonOperator(task_id="object", python_callable=Exporter("s3://c"))
    """,
    )
    assert found["module"].bound_object == BoundObject("Exporter", None, 'Exporter("s3://a")')
    assert found["local"].bound_object == BoundObject("Exporter", None, 'Exporter(target="s3://b")')
    assert found["module"].source.startswith("def export(self, table):")
    assert found["on_class"].bound_object == BoundObject("Exporter", None, "Exporter")
    assert found["object"].name == "__call__"


def test_an_imported_class_is_imported_by_the_step(read) -> None:
    found = callables(
        read,
        """
        from etl.exporters import Exporter
        with DAG("d"):
            PythonOperator(task_id="t", python_callable=Exporter("s3://a").export)
    """,
    )
    assert found["t"].bound_object == BoundObject("Exporter", "etl.exporters", 'Exporter("s3://a")')
    assert found["t"].source is None


def test_a_closure_from_a_factory_carries_its_cells(read) -> None:
    found = callables(
        read,
        """
        def make(limit, unit="rows"):
            def check(table):
                return f"{table} <= {limit} {unit}"
            return check
        with DAG("d"):
            PythonOperator(task_id="t", python_callable=make(300))
    """,
    )
    assert found["t"].name == "check" and found["t"].cells == {"limit": 300, "unit": "rows"}


def test_a_task_reads_its_dag_functions_locals(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import dag, task
        @dag(start_date=datetime(2024, 1, 1))
        def d():
            prefix = "daily"
            @task
            def name():
                return prefix
            name()
        d()
    """)
    )
    assert dag.tasks[0].python_callable.cells == {"prefix": "daily"}


def test_is_not_none_on_a_task_is_decided(read) -> None:
    parsed = read("""
        with DAG("d"):
            previous = None
            for n in range(3):
                step = EmptyOperator(task_id=f"s{n}")
                if previous is not None:
                    previous >> step
                previous = step
    """)
    assert only_dag(parsed).edges == (("s0", "s1"), ("s1", "s2")) and "A2K203" not in codes(parsed)


def test_a_mapped_group_is_one_group_its_tasks_reading_its_arguments(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task, task_group
        @task
        def work(x, y):
            return x
        @task_group
        def per_item(x, y):
            work(x, y)
        with DAG("d"):
            src = BashOperator(task_id="src", bash_command="x")
            per_item.expand_kwargs(src.output)
    """)
    )
    assert dag.mapped_groups == {"per_item": {"*": XComRef("src")}}
    work = dag.task("per_item.work")
    assert not work.is_mapped and work.args.values["op_args"] == (
        MappedArg("per_item", "x"),
        MappedArg("per_item", "y"),
    )
    assert dag.edges == (("src", "per_item.work"),)


SUBDAG = """
    from airflow.operators.subdag import SubDagOperator
    def section(parent, child, steps):
        sub = DAG(f"{parent}.{child}")
        previous = None
        for n in range(steps):
            step = BashOperator(task_id=f"step_{n}", bash_command="echo", dag=sub)
            if previous is not None:
                previous >> step
            previous = step
        return sub
    with DAG("p") as dag:
        start = EmptyOperator(task_id="start")
        run = SubDagOperator(task_id="run", subdag=section("p", "run", 2))
        end = EmptyOperator(task_id="end")
        start >> run >> end
"""


def test_a_subdag_built_by_a_helper_is_inlined_as_a_group(read) -> None:
    parsed = read(SUBDAG)
    (dag,) = parsed.dags  # the sub-DAG is no DAG of its own any more
    assert [t.task_id for t in dag.tasks] == ["start", "run.step_0", "run.step_1", "end"]
    assert {t.task_id: t.group_id for t in dag.tasks}["run.step_0"] == "run"
    assert sorted(dag.edges) == [("run.step_0", "run.step_1"), ("run.step_1", "end"), ("start", "run.step_0")]
    assert dag.subdags == {"run": "p.run"} and dag.task_groups["run"][0] is None


def test_a_subdag_operator_without_its_subdag_stays_a_task(read) -> None:
    dag = only_dag(
        read("""
        from airflow.operators.subdag import SubDagOperator
        from elsewhere import build
        with DAG("p"):
            SubDagOperator(task_id="run", subdag=build())
    """)
    )
    assert [t.task_id for t in dag.tasks] == ["run"] and not isinstance(
        dag.tasks[0].args.get("subdag"), DagRef
    )
