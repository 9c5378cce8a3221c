"""default_args merged under each operator's own arguments, as Airflow's BaseOperator does."""

from __future__ import annotations

from airflow2kfp.model import Duration
from tests.parse.helpers import only_dag


def test_merge_order_dag_group_task(read) -> None:
    dag = only_dag(
        read("""
        from airflow.utils.task_group import TaskGroup

        ARGS = {"owner": "team", "retries": 1, "retry_delay": timedelta(seconds=10), "params": {"a": 1}}
        with DAG("d", default_args=ARGS):
            plain = BashOperator(task_id="plain", bash_command="x")
            own = BashOperator(task_id="own", bash_command="x", retries=0,
                               default_args={"owner": "me", "params": {"b": 2}})
            with TaskGroup("g", default_args={"retries": 9}):
                grouped = BashOperator(task_id="grouped", bash_command="x", params={"c": 3})
    """)
    )
    plain, own, grouped = (dag.task(t) for t in ("plain", "own", "g.grouped"))
    assert plain.args.values == {
        "owner": "team",
        "retries": 1,
        "retry_delay": Duration(10),
        "params": {"a": 1},
        "task_id": "plain",
        "bash_command": "x",
    }
    assert plain.args.explicit == {"task_id", "bash_command"}
    assert own.args.values["owner"] == "me" and own.args.values["retries"] == 0
    assert own.args.values["params"] == {"a": 1, "b": 2}
    assert "default_args" not in own.args.values and "default_args" in own.args.explicit
    assert grouped.args.values["retries"] == 9 and grouped.args.values["params"] == {"a": 1, "c": 3}


def test_taskflow_gets_default_args(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task

        @task(retries=5)
        def work():
            pass

        with DAG("d", default_args={"retries": 1, "owner": "o"}):
            work()
    """)
    )
    assert dag.task("work").args.values["retries"] == 5 and dag.task("work").args.values["owner"] == "o"
