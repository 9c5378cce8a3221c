"""merge(static, imported) with hand-built readings."""

from __future__ import annotations

from airflow2kfp.diagnostics import Severity, diag
from airflow2kfp.model import Dag, ParsedFile, PythonCallable, SourceSpan, Task, TaskArgs, Unresolved
from airflow2kfp.parse.merge import merge

F = "dags/etl.py"


def task(task_id: str, line: int = 1, **values: object) -> Task:
    return Task(
        task_id,
        "BashOperator",
        "airflow.operators.bash",
        SourceSpan(F, line),
        args=TaskArgs(values=dict(values), explicit=frozenset(values)),
    )


def dag(
    dag_id: str, tasks: list[Task], edges: list[tuple[str, str]], mode: str, line: int = 1, **settings: object
) -> Dag:
    return Dag(
        dag_id, SourceSpan(F, line, 4), tuple(tasks), tuple(edges), settings=settings, source_mode=mode
    )


def static_file(*dags: Dag, diagnostics=()) -> ParsedFile:
    return ParsedFile(F, dags, tuple(diagnostics))


def imported_file(*dags: Dag, diagnostics=()) -> ParsedFile:
    return ParsedFile(F, dags, tuple(diagnostics))


def test_agreeing_readings_take_spans_from_static_and_values_from_airflow() -> None:
    callable_static = PythonCallable("f", "def f(): pass", SourceSpan(F, 3))
    static = static_file(
        dag(
            "etl",
            [
                task("a", 10, bash_command=Unresolved("CMD")),
                Task(
                    "b",
                    "PythonOperator",
                    "",
                    SourceSpan(F, 12),
                    python_callable=callable_static,
                    args=TaskArgs({"owner_note": "static only"}, frozenset({"owner_note"})),
                ),
            ],
            [("a", "b")],
            "static",
            line=8,
            schedule="@daily",
            doc_md="static doc",
        )
    )
    imported = imported_file(
        dag(
            "etl",
            [
                task("a", 1, bash_command="echo real"),
                Task(
                    "b",
                    "PythonOperator",
                    "airflow.operators.python",
                    SourceSpan(F, 1),
                    python_callable=PythonCallable("f", None, None),
                ),
            ],
            [("a", "b")],
            "airflow",
            schedule="0 0 * * *",
        )
    )
    merged = merge(static, imported)
    (result,) = merged.dags
    assert merged.diagnostics == ()
    assert result.source_mode == "airflow+static" and result.span == SourceSpan(F, 8, 4)
    assert result.task("a").span.line == 10 and result.task("a").args.get("bash_command") == "echo real"
    b = result.task("b")
    assert b.operator_module == "airflow.operators.python" and b.span.line == 12
    assert b.python_callable == PythonCallable("f", "def f(): pass", SourceSpan(F, 3))
    assert b.args.get("owner_note") == "static only"  # the static reading fills what import lacks
    assert result.settings == {"schedule": "0 0 * * *", "doc_md": "static doc"}


def test_disagreement_on_tasks_and_edges_is_a_warning_and_airflow_wins() -> None:
    static = static_file(
        dag("etl", [task("a"), task("b"), task("ghost")], [("a", "b"), ("a", "ghost")], "static")
    )
    imported = imported_file(
        dag(
            "etl",
            [task("a"), task("b"), task("c_0"), task("c_1")],
            [("a", "b"), ("b", "c_0"), ("b", "c_1")],
            "airflow",
        )
    )
    merged = merge(static, imported)
    assert [t.task_id for t in merged.dags[0].tasks] == ["a", "b", "c_0", "c_1"]
    assert merged.dags[0].edges == (("a", "b"), ("b", "c_0"), ("b", "c_1"))
    (warning,) = merged.diagnostics
    assert warning.code == "A2K605" and warning.severity is Severity.WARNING and warning.dag_id == "etl"
    assert "static reading found tasks [ghost] that Airflow does not have" in warning.message
    assert "Airflow has tasks [c_0, c_1] the static reading missed" in warning.message
    assert "static reading found edges [a >> ghost]" in warning.message
    assert "Airflow has edges [b >> c_0, b >> c_1]" in warning.message


def test_dags_only_one_side_sees() -> None:
    static = static_file(dag("old_name", [task("a")], [], "static"))
    imported = imported_file(dag("generated_1", [task("a")], [], "airflow"))
    merged = merge(static, imported)
    assert [(d.dag_id, d.source_mode) for d in merged.dags] == [("generated_1", "airflow")]
    (warning,) = merged.diagnostics
    assert warning.code == "A2K605" and "'old_name'" in warning.message


def test_static_errors_the_import_settled_are_dropped() -> None:
    """Airflow read the file: what the static reader could not resolve (a dependency, a task id, a
    dag id) exists in Airflow's reading, which is the one converted; an unresolved value is info."""
    unresolved = diag("A2K203", "cannot resolve `chain(*tasks)`", file=F, line=9, dag_id="etl")
    task_id = diag("A2K205", "task_id is a call", file=F, line=20, dag_id="etl")
    dag_id = diag("A2K209", "dag_id is a call", file=F, line=3)
    value = diag("A2K204", "retries is a call", file=F, line=11, dag_id="etl")
    unrelated = diag("A2K302", file=F, line=4, dag_id="etl")
    static = static_file(
        dag("etl", [task("a")], [], "static"), diagnostics=[unresolved, task_id, dag_id, value, unrelated]
    )
    imported = imported_file(dag("etl", [task("a")], [], "airflow"))
    found = {d.code: d for d in merge(static, imported).diagnostics}
    assert sorted(found) == ["A2K204", "A2K302"]
    assert found["A2K204"].severity is Severity.INFO and "settled" in found["A2K204"].message
    assert found["A2K302"] == unrelated


def test_static_errors_stay_when_the_import_did_not_read_the_whole_file() -> None:
    unresolved = diag("A2K203", "cannot resolve `chain(*tasks)`", file=F, line=9, dag_id="other")
    settled = diag("A2K205", "task_id is a call", file=F, line=20, dag_id="etl")
    error = diag("A2K601", "Airflow could not import the file: NameError: x", file=F, line=30)
    static = static_file(
        dag("etl", [task("a")], [], "static"),
        dag("other", [task("b")], [], "static"),
        diagnostics=[unresolved, settled],
    )
    imported = imported_file(dag("etl", [task("a")], [], "airflow"), diagnostics=[error])
    codes = [d.code for d in merge(static, imported).diagnostics]
    assert "A2K203" in codes and "A2K205" not in codes  # the import read DAG etl, not DAG other


def test_failed_import_keeps_the_static_reading() -> None:
    static = static_file(dag("etl", [task("a")], [], "static"))
    error = diag("A2K601", "Airflow could not import the file: NameError: x", file=F, line=3)
    merged = merge(static, imported_file(diagnostics=[error]))
    assert merged.dags == static.dags and merged.diagnostics == (error,)


def test_no_dag_found_statically_is_dropped_when_airflow_found_one() -> None:
    static = static_file(diagnostics=[diag("A2K104", file=F)])
    imported = imported_file(dag("made_by_factory", [task("a")], [], "airflow"))
    merged = merge(static, imported)
    assert merged.diagnostics == () and merged.dags == imported.dags


def test_a_static_reading_over_budget_yields_to_the_import() -> None:
    """The static reader gave up (a DAG of more tasks than its budget); Airflow read the file: its
    reading is used, and the budget error becomes a warning that says what is missing."""
    over = diag(
        "A2K112", "DAG 'etl' unrolls to more than 10,000 tasks, the static reader's limit.", file=F, line=7
    )
    imported = imported_file(dag("etl", [task("a")], [], "airflow"))
    merged = merge(static_file(diagnostics=[over]), imported)
    assert merged.dags == imported.dags
    (found,) = merged.diagnostics
    assert found.code == "A2K112" and found.severity is Severity.WARNING and found.line == 7
    assert "Airflow's import read the file" in found.message


def test_a_static_reading_over_budget_stays_an_error_when_the_import_failed_too() -> None:
    over = diag("A2K110", file=F, line=7)
    error = diag(
        "A2K602", "Importing the file with Airflow did not finish within the timeout of 5 s.", file=F
    )
    merged = merge(static_file(diagnostics=[over]), imported_file(diagnostics=[error]))
    assert {d.code: d.severity for d in merged.diagnostics} == {
        "A2K602": Severity.ERROR,
        "A2K110": Severity.ERROR,
    }


def test_a_value_both_readings_agree_on_keeps_the_source_spelling() -> None:
    written = Unresolved('k8s.V1Toleration(key="gpu", operator="Exists", effect="NoSchedule")')
    printed = Unresolved("k8s.V1Toleration(effect='NoSchedule', key='gpu', operator='Exists', value=None)")
    static = static_file(
        dag("etl", [task("a", tolerations=[written], start_date="2024-01-01T00:00:00")], [], "static")
    )
    imported = imported_file(
        dag("etl", [task("a", tolerations=[printed], start_date="2024-01-01T00:00:00+00:00")], [], "airflow")
    )
    merged = merge(static, imported)
    assert merged.diagnostics == ()  # a naive start_date is UTC in Airflow: the same date
    assert merged.dags[0].task("a").args.get("tolerations") == [written]


def test_a_value_the_readings_resolve_differently_is_reported_and_airflow_wins() -> None:
    static = static_file(
        dag(
            "etl",
            [
                task(
                    "a", image="busybox:1", retries=2, tolerations=[Unresolved('k8s.V1Toleration(key="gpu")')]
                )
            ],
            [],
            "static",
        )
    )
    imported = imported_file(
        dag(
            "etl",
            [
                task(
                    "a", image="busybox:2", retries=2, tolerations=[Unresolved("k8s.V1Toleration(key='cpu')")]
                )
            ],
            [],
            "airflow",
        )
    )
    merged = merge(static, imported)
    (warning,) = merged.diagnostics
    assert warning.code == "A2K605" and "a (image, tolerations)" in warning.message
    assert merged.dags[0].task("a").args.get("image") == "busybox:2"


def test_what_only_the_import_could_print_yields_to_the_static_value() -> None:
    static = static_file(dag("etl", [task("a", x=[1, 2], y=Unresolved("make()"))], [], "static"))
    imported = imported_file(dag("etl", [task("a", x=Unresolved("<Thing object>"), y="made")], [], "airflow"))
    merged = merge(static, imported)
    assert merged.diagnostics == ()
    assert merged.dags[0].task("a").args.values == {"x": [1, 2], "y": "made"}


def test_edges_keep_the_order_the_file_wrote_them_in() -> None:
    static = static_file(dag("etl", [task("b"), task("z"), task("a")], [("b", "z"), ("b", "a")], "static"))
    imported = imported_file(
        dag(
            "etl",
            [task("b"), task("z"), task("a"), task("c")],
            [("b", "a"), ("b", "c"), ("b", "z")],
            "airflow",
        )
    )
    assert merge(static, imported).dags[0].edges == (("b", "z"), ("b", "a"), ("b", "c"))


def test_dicts_airflow_turned_into_kubernetes_objects_are_the_same_value_in_their_object_form() -> None:
    static = static_file(
        dag("etl", [task("a", tolerations=[{"key": "gpu", "operator": "Exists"}])], [], "static")
    )
    objects = [Unresolved("k8s.V1Toleration(key='gpu', operator='Exists')")]
    merged = merge(static, imported_file(dag("etl", [task("a", tolerations=objects)], [], "airflow")))
    assert merged.diagnostics == () and merged.dags[0].task("a").args.get("tolerations") == objects
