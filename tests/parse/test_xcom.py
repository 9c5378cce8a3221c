"""Data passing between classic operators: every XCom reference adds an upstream edge."""

from __future__ import annotations

from airflow2kfp.model import XComRef
from tests.parse.helpers import only_dag


def test_output_forms(read) -> None:
    dag = only_dag(
        read("""
        from airflow.models.xcom_arg import XComArg
        from airflow.operators.python import PythonOperator

        with DAG("d"):
            a = BashOperator(task_id="a", bash_command="x")
            b = BashOperator(task_id="b", bash_command="y")
            c = BashOperator(task_id="c", bash_command="z")
            use = PythonOperator(
                task_id="use",
                python_callable=print,
                op_args=[a.output, XComArg(b, key="k")],
                op_kwargs={"deep": {"list": [c.output["path"]]}},
            )
    """)
    )
    use = dag.task("use")
    assert use.args.values["op_args"] == [XComRef("a"), XComRef("b", "k")]
    assert use.args.values["op_kwargs"] == {"deep": {"list": [XComRef("c", "path")]}}
    assert dag.edges == (("a", "use"), ("b", "use"), ("c", "use"))


def test_xcom_in_templated_string_field(read) -> None:
    dag = only_dag(
        read("""
        with DAG("d"):
            a = BashOperator(task_id="a", bash_command="x")
            BashOperator(task_id="b", bash_command=a.output)
    """)
    )
    assert dag.task("b").args.values["bash_command"] == XComRef("a") and dag.edges == (("a", "b"),)
