"""Idioms measured on public DAG repositories (#18 item 8, scripts/measure_repos.py): `@dag("id")`,
`@dag_obj.task`, tasks made outside any DAG that an edge adds to one, Labels inside chain() lists.

The fixtures (dag_positional_id.py, dag_task_decorator.py, tasks_outside_dag.py, chain_labels_lists.py)
check each against Airflow's own reading; these tests pin the edge cases and the doubts.
"""

from __future__ import annotations

from airflow2kfp.diagnostics import Severity
from airflow2kfp.model import ParsedFile
from tests.parse.helpers import codes, only_dag, task_ids


def unsure(parsed: ParsedFile) -> list[tuple[int | None, str | None]]:
    return [
        (d.line, d.dag_id)
        for d in parsed.diagnostics
        if d.code == "A2K203" and d.severity is Severity.WARNING
    ]


def test_dag_decorator_takes_its_dag_id_positionally_and_dag_id_wins(read) -> None:
    parsed = read("""
        from airflow.decorators import dag, task
        @dag("by_position")
        def factory():
            EmptyOperator(task_id="a")
        factory()

        @dag("ignored", dag_id="by_keyword")
        def other():
            EmptyOperator(task_id="a")
        other()

        @dag("  ")
        def blank():  # Airflow: a blank positional id falls back to the function name
            EmptyOperator(task_id="a")
        blank()
    """)
    assert [d.dag_id for d in parsed.dags] == ["by_position", "by_keyword", "blank"]


def test_dag_decorator_positional_id_unknown_is_reported(read) -> None:
    parsed = read("""
        from airflow.decorators import dag, task
        import os
        @dag(os.environ["NAME"])
        def factory():
            EmptyOperator(task_id="a")
        factory()
    """)
    assert "A2K209" in codes(parsed)


def test_dag_task_decorator_with_options_places_the_task_in_that_dag(read) -> None:
    parsed = read("""
        from airflow.decorators import dag, task
        other = DAG("other")
        with DAG("d") as d:
            @other.task(retries=4)
            def elsewhere():
                pass
            @d.task
            def here():
                pass
            here() >> EmptyOperator(task_id="after")
        with other:
            pass
        elsewhere()
    """)
    by_id = {d.dag_id: d for d in parsed.dags}
    assert task_ids(by_id["d"]) == ["here", "after"] and by_id["d"].edges == (("here", "after"),)
    assert task_ids(by_id["other"]) == ["elsewhere"]
    assert by_id["other"].task("elsewhere").args.values["retries"] == 4


def test_a_decorator_the_reader_does_not_know_makes_calls_a_doubt(read) -> None:
    parsed = read("""
        from airflow.decorators import dag, task
        from my_company.decorators import tracked
        def local_wrapper(fn):
            return fn
        @tracked
        def imported_decorator():
            pass
        @local_wrapper
        def local_decorator():
            pass
        with DAG("d") as d:
            a = EmptyOperator(task_id="a")
            imported_decorator()
            local_decorator()
    """)
    assert unsure(parsed) == [(18, "d"), (19, "d")]
    assert "does not know" in parsed.diagnostics[0].message


def test_stdlib_decorators_are_no_doubt(read) -> None:
    parsed = read("""
        from airflow.decorators import dag, task
        import functools
        @functools.lru_cache
        def names():
            return ["a", "b"]
        with DAG("d") as d:
            for name in names():
                EmptyOperator(task_id=name)
    """)
    assert unsure(parsed) == [] and task_ids(only_dag(parsed)) == ["a", "b"]


def test_a_method_of_an_unknown_object_handed_tasks_is_a_doubt(read) -> None:
    parsed = read("""
        from my_company.wiring import Wiring
        wiring = Wiring()
        with DAG("d") as d:
            a = EmptyOperator(task_id="a")
            wiring.connect(a)
            name = wiring.name_for("x")  # no task handed over: nothing it could wire
    """)
    assert unsure(parsed) == [(10, "d")]


def test_a_task_made_outside_any_dag_joins_the_dag_of_its_first_edge(read) -> None:
    parsed = read("""
        from airflow.decorators import dag, task
        @task
        def pull(value):
            return value
        with DAG("d", default_args={"retries": 3}) as d:
            a = EmptyOperator(task_id="a")
        later = EmptyOperator(task_id="later")
        a.set_downstream(later)
        pull(a.output)
        EmptyOperator(task_id="never_linked")
    """)
    dag = only_dag(parsed)
    assert task_ids(dag) == ["a", "later", "pull"]
    assert dag.edges == (("a", "later"), ("a", "pull"))
    # made outside the DAG: the DAG's default_args were never applied to it (as in Airflow)
    assert "retries" not in dag.task("later").args.values
    assert [(d.code, d.line, d.severity) for d in parsed.diagnostics] == [("A2K207", 15, Severity.WARNING)]


def test_tasks_outside_any_dag_linked_to_each_other_are_an_error(read) -> None:
    parsed = read("""
        with DAG("d") as d:
            a = EmptyOperator(task_id="a")
        x = EmptyOperator(task_id="x")
        y = EmptyOperator(task_id="y")
        x >> y
    """)
    assert "A2K203" in codes(parsed) and "ValueError" in next(
        d.message for d in parsed.diagnostics if d.code == "A2K203"
    )


def test_a_task_outside_any_dag_whose_id_the_dag_has_is_a_duplicate(read) -> None:
    parsed = read("""
        with DAG("d") as d:
            a = EmptyOperator(task_id="a")
        a >> EmptyOperator(task_id="a")
    """)
    assert "A2K201" in codes(parsed) and only_dag(parsed).edges == ()


def test_cross_downstream_with_keywords_and_errors_name_the_dag(read) -> None:
    parsed = read("""
        from airflow.models.baseoperator import cross_downstream, chain
        with DAG("d") as d:
            a, b, c = [EmptyOperator(task_id=n) for n in "abc"]
        cross_downstream(from_tasks=[a], to_tasks=[b, c])
        chain([a, b], [c])
    """)
    assert only_dag(parsed).edges == (("a", "b"), ("a", "c"))
    failed = [d for d in parsed.diagnostics if d.code == "A2K203"]
    assert [(d.line, d.dag_id, d.severity) for d in failed] == [(10, "d", Severity.ERROR)]


def test_labels_in_lists_link_each_pair(read) -> None:
    parsed = read("""
        from airflow.utils.edgemodifier import Label
        with DAG("d") as d:
            a, b, c = [EmptyOperator(task_id=n) for n in "abc"]
            a >> [Label("to b"), Label("to c")]
            [Label("to b"), Label("to c")] >> c
            [Label("x")] << b
    """)
    dag = only_dag(parsed)
    # a Label links only once both of its sides are known: `a >> [L, L]` alone adds nothing
    assert dag.edges == ()
    assert codes(parsed) == []


def test_a_module_level_error_no_dag_can_be_named_for_fails_every_dag_of_the_file(read) -> None:
    parsed = read("""
        import os
        with DAG("d1") as d1:
            a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        with DAG("d2") as d2:
            EmptyOperator(task_id="c")
        if os.environ.get("WIRED"):
            a >> b
    """)
    errors = [(d.dag_id, d.line) for d in parsed.diagnostics if d.severity is Severity.ERROR]
    assert errors == [("d1", 11), ("d2", 11)]


def test_zip_then_map_keeps_every_upstream_edge() -> None:
    """fixtures/valid_dags/valid_xcom_zip_map.py: the edges Airflow 3.3's DagBag builds from it."""
    from pathlib import Path

    from airflow2kfp.parse.static import read_dag_file

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "valid_dags" / "valid_xcom_zip_map.py"
    dag = only_dag(read_dag_file(fixture))
    assert sorted(dag.edges) == [
        ("get_cmd", "two_cmds"),
        ("get_env", "two_cmds"),
        ("templates", "salutation"),
        ("users", "salutation"),
    ]


def test_builtin_decorators_are_no_doubt(read) -> None:
    parsed = read("""
        @staticmethod
        def helper():
            return "a"
        with DAG("d") as d:
            EmptyOperator(task_id="a")
            helper()
    """)
    assert unsure(parsed) == []
