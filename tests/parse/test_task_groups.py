"""TaskGroups: prefixed ids, nesting, @task_group, and edges to groups as they stand at the call."""

from __future__ import annotations

from tests.parse.helpers import codes, only_dag, task_ids

IMPORTS = "from airflow.utils.task_group import TaskGroup\nfrom airflow.decorators import task, task_group\n"


def test_prefixes_nesting_and_group_table(read) -> None:
    dag = only_dag(
        read(
            IMPORTS
            + """
with DAG("d"):
    with TaskGroup("outer", tooltip="tip") as outer:
        EmptyOperator(task_id="a")
        with TaskGroup(group_id="inner"):
            EmptyOperator(task_id="b")
        with TaskGroup("flat", prefix_group_id=False):
            EmptyOperator(task_id="c")
"""
        )
    )
    assert task_ids(dag) == ["outer.a", "outer.inner.b", "c"]
    assert [t.group_id for t in dag.tasks] == ["outer", "outer.inner", "outer.flat"]
    assert dag.task_groups == {
        "outer": (None, "tip"),
        "outer.inner": ("outer", None),
        "outer.flat": ("outer", None),
    }


def test_edges_use_roots_and_leaves_at_call_time(read) -> None:
    dag = only_dag(
        read(
            IMPORTS
            + """
with DAG("d"):
    start = EmptyOperator(task_id="start")
    with TaskGroup("g") as g:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
    start >> g
    a >> b
    g >> EmptyOperator(task_id="end")
"""
        )
    )
    # when `start >> g` ran, a and b were both roots; when `g >> end` ran, only b was a leaf
    assert dag.edges == (("start", "g.a"), ("start", "g.b"), ("g.a", "g.b"), ("g.b", "end"))


def test_task_group_decorator_and_suffix(read) -> None:
    dag = only_dag(
        read(
            IMPORTS
            + """
@task
def step(x):
    return x

@task_group(group_id="grp")
def section(x):
    step(x)

@task_group
def returning(x):
    return step(x)

with DAG("d"):
    end = EmptyOperator(task_id="end")
    section(1) >> end
    section(2) >> end
    returning(3) >> end
"""
        )
    )
    assert task_ids(dag) == ["end", "grp.step", "grp__1.step", "returning.step"]
    assert dag.edges == (("grp.step", "end"), ("grp__1.step", "end"), ("returning.step", "end"))


def test_invalid_group_id(read) -> None:
    parsed = read(IMPORTS + 'with DAG("d"):\n    with TaskGroup("a.b"):\n        pass\n')
    assert codes(parsed) == ["A2K208"]
