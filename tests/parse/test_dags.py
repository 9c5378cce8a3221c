"""Finding DAGs: context managers, dag= arguments, @dag functions, several per file, settings."""

from __future__ import annotations

from airflow2kfp.model import Duration, Unresolved
from tests.parse.helpers import codes, only_dag, task_ids


def test_with_dag_as(read) -> None:
    dag = only_dag(
        read("""
        with DAG("etl", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False) as dag:
            EmptyOperator(task_id="a")
    """)
    )
    assert dag.dag_id == "etl" and task_ids(dag) == ["a"]
    assert dag.settings == {"schedule": "@daily", "start_date": "2024-01-01T00:00:00", "catchup": False}
    assert dag.span.line == 6


def test_with_dag_without_as_and_keyword_id(read) -> None:
    dag = only_dag(
        read("""
        with DAG(dag_id="etl"):
            EmptyOperator(task_id="a")
    """)
    )
    assert dag.dag_id == "etl" and task_ids(dag) == ["a"]


def test_dag_kwarg_attaches_operators(read) -> None:
    dag = only_dag(
        read("""
        dag = DAG("classic", description="old style", schedule_interval=timedelta(hours=1))
        a = EmptyOperator(task_id="a", dag=dag)
        b = EmptyOperator(task_id="b", dag=dag)
        a >> b
    """)
    )
    assert task_ids(dag) == ["a", "b"] and dag.edges == (("a", "b"),)
    assert dag.description == "old style"
    assert dag.settings["schedule_interval"] == Duration(3600)
    assert "dag" not in dag.task("a").args


def test_dag_decorator_uses_function_name(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import dag, task

        @dag(schedule=None, tags=["x"])
        def my_pipeline():
            EmptyOperator(task_id="a")

        my_pipeline()
    """)
    )
    assert dag.dag_id == "my_pipeline" and dag.settings["tags"] == ["x"] and task_ids(dag) == ["a"]


def test_dag_decorator_id_override_and_assignment(read) -> None:
    dag = only_dag(
        read("""
        from airflow.sdk import dag

        @dag(dag_id="renamed")
        def factory():
            EmptyOperator(task_id="a")

        d = factory()
    """)
    )
    assert dag.dag_id == "renamed"


def test_uncalled_dag_function_defines_nothing(read) -> None:
    parsed = read("""
        from airflow.decorators import dag

        @dag()
        def never_called():
            EmptyOperator(task_id="a")
    """)
    assert parsed.dags == () and codes(parsed) == ["A2K104"]


def test_several_dags_and_import_paths(read) -> None:
    parsed = read("""
        from airflow.models.dag import DAG as ModelDAG
        from airflow.sdk import DAG as SdkDAG
        import airflow

        with ModelDAG("one"):
            EmptyOperator(task_id="a")
        with SdkDAG("two"):
            EmptyOperator(task_id="a")
        with airflow.DAG("three"):
            EmptyOperator(task_id="a")
    """)
    assert [d.dag_id for d in parsed.dags] == ["one", "two", "three"]
    assert all(task_ids(d) == ["a"] for d in parsed.dags)


def test_dag_factory_function(read) -> None:
    parsed = read("""
        def build(name, steps):
            with DAG(f"factory_{name}") as dag:
                previous = None
                for step in steps:
                    current = EmptyOperator(task_id=step)
                    if previous is not None:
                        previous >> current
                    previous = current
            return dag

        for name in ["x", "y"]:
            globals()[name] = build(name, ["s1", "s2"])
    """)
    assert [d.dag_id for d in parsed.dags] == ["factory_x", "factory_y"]
    assert parsed.dags[0].edges == (("s1", "s2"),)


def test_unresolved_setting_is_kept_with_warning(read) -> None:
    parsed = read("""
        import os
        with DAG("d", schedule=os.environ["SCHEDULE"], params={"n": 1}):
            pass
    """)
    dag = only_dag(parsed)
    assert dag.settings["schedule"] == Unresolved('os.environ["SCHEDULE"]')
    assert dag.settings["params"] == {"n": 1}
    assert codes(parsed) == ["A2K204"] and parsed.diagnostics[0].line == 7


def test_duplicate_dag_id(read) -> None:
    parsed = read("""
        with DAG("same"):
            pass
        with DAG("same"):
            pass
    """)
    assert codes(parsed) == ["A2K206"] and parsed.diagnostics[0].line == 8
    assert len(parsed.dags) == 1


def test_invalid_dag_id(read) -> None:
    parsed = read("""
        with DAG("has space"):
            pass
    """)
    assert codes(parsed) == ["A2K208"]


def test_unresolved_dag_id(read) -> None:
    parsed = read("""
        import os
        with DAG(os.environ["NAME"]):
            EmptyOperator(task_id="a")
    """)
    assert codes(parsed) == ["A2K209"] and parsed.dags == ()  # its tasks are not orphans too
    assert not parsed.not_a_dag_file


def test_main_guard_is_skipped(read) -> None:
    dag = only_dag(
        read("""
        with DAG("d") as dag:
            EmptyOperator(task_id="a")
        if __name__ == "__main__":
            dag.test()
            EmptyOperator(task_id="b", dag=dag)
    """)
    )
    assert task_ids(dag) == ["a"]


def test_dag_id_from_file_name(read) -> None:
    parsed = read(
        """
        import os
        from pathlib import Path

        with DAG(Path(__file__).stem):
            pass
        with DAG(os.path.splitext(os.path.basename(__file__))[0] + "_v2"):
            pass
    """,
        name="nightly_load.py",
    )
    assert [d.dag_id for d in parsed.dags] == ["nightly_load", "nightly_load_v2"]


def test_asset_decorator_defines_a_dag(read) -> None:
    parsed = read("""
        from airflow.sdk import asset

        @asset(uri="s3://bucket/raw", schedule="@daily")
        def raw_data():
            return 1

        @asset(name="named", uri="s3://bucket/named", schedule=None)
        def build():
            return 2
    """)
    assert [(d.dag_id, [t.task_id for t in d.tasks]) for d in parsed.dags] == [
        ("raw_data", ["raw_data"]),
        ("named", ["build"]),
    ]
    assert parsed.dags[0].settings == {"uri": "s3://bucket/raw", "schedule": "@daily"}
    assert parsed.dags[0].tasks[0].operator == "asset"


def test_notifier_subclass_is_not_an_operator(read) -> None:
    parsed = read("""
        from airflow.sdk import BaseNotifier

        class Notify(BaseNotifier):
            def __init__(self, message):
                self.message = message

        alert = Notify(message="x")
        with DAG("d", on_failure_callback=alert):
            pass
    """)
    assert codes(parsed) == ["A2K204"]  # the callback object is kept as source text


def test_the_airflow_a_dag_is_written_for_is_3_when_it_imports_the_task_sdk(read) -> None:
    # airflow.sdk exists in Airflow 3 only; without it the reading cannot tell (operator fallback images)
    sdk = only_dag(
        read("""
        from airflow.sdk import DAG
        with DAG("new"):
            EmptyOperator(task_id="a")
    """)
    )
    assert sdk.airflow_version == "3" and sdk.airflow_major == 3
    classic = only_dag(
        read("""
        with DAG("classic"):
            EmptyOperator(task_id="a")
    """)
    )
    assert classic.airflow_version is None and classic.airflow_major is None
