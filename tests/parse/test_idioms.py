"""Idioms of real DAG files (#18 item 8), and where static reading says it may have missed edges.

The fixtures `fixtures/airflow_dags/idioms_*.py` check each idiom against Airflow's own reading
(tests/parse/test_fixtures.py); these tests pin the details and the doubts: wherever code the
reader cannot follow may add dependencies, an A2K203 *warning* names the DAG, and a conversion
marks that DAG's ordering `unproven` rather than `exact`.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from airflow2kfp.cli import main
from airflow2kfp.diagnostics import Severity
from airflow2kfp.model import ParsedFile
from tests.parse.helpers import codes, only_dag

TASKS = """
with DAG("d") as dag:
    a, b, c = [EmptyOperator(task_id=n) for n in "abc"]
"""


def unsure(parsed: ParsedFile) -> list[tuple[int | None, str | None]]:
    return [
        (d.line, d.dag_id)
        for d in parsed.diagnostics
        if d.code == "A2K203" and d.severity is Severity.WARNING
    ]


def test_get_task_and_task_dict_find_tasks_by_full_id(read) -> None:
    body = (
        "    with TaskGroup('g'):\n        EmptyOperator(task_id='x')\n"
        "    dag.get_task('g.x') >> dag.task_dict['a']\n    dag.tasks[1] >> [t for t in dag.tasks if t.task_id == 'c']\n"
    )
    parsed = read("from airflow.utils.task_group import TaskGroup\n" + TASKS + body)
    assert only_dag(parsed).edges == (("g.x", "a"), ("b", "c"))


def test_get_task_of_a_task_not_made_yet_is_an_error(read) -> None:
    parsed = read(TASKS + "    dag.get_task('later') >> a\n")
    assert "A2K203" in codes(parsed) and "TaskNotFound" in parsed.diagnostics[0].message


def test_tasks_and_xcoms_are_true_and_not_none(read) -> None:
    body = "    x = a if a else b\n    x >> c\n    if a.output and a is not None:\n        b >> c\n"
    parsed = read(TASKS + body)
    assert only_dag(parsed).edges == (("a", "c"), ("b", "c")) and not codes(parsed)


def test_slices_and_sorted_pairs_of_tasks(read) -> None:
    body = (
        "    by_name = {'z': a, 'y': b, 'x': c}\n    ordered = [t for _, t in sorted(by_name.items())]\n"
        "    for up, down in zip(ordered, ordered[1:]):\n        up >> down\n"
    )
    assert only_dag(read(TASKS + body)).edges == (("c", "b"), ("b", "a"))


def test_a_task_group_returning_a_dict_of_results_binds_both(read) -> None:
    source = """
    from airflow.decorators import task, task_group

    @task
    def one(): return 1

    @task
    def show(values): print(values)

    @task_group
    def pair():
        return {"a": one(), "b": [one()]}

    with DAG("d"):
        show(pair())
    """
    assert sorted(only_dag(read(source)).edges) == [("pair.one", "show"), ("pair.one__1", "show")]


def test_xcomarg_map_zip_concat_keep_their_upstream_edges(read) -> None:
    source = """
    from airflow.decorators import task

    @task
    def items(): return [1, 2]

    @task
    def use(value): print(value)

    with DAG("d"):
        first, second = items(), items()
        use.expand(value=first.map(lambda v: v * 2))
        use.expand(value=first.zip(second))
    """
    assert sorted(only_dag(read(source)).edges) == [
        ("items", "use"),
        ("items", "use__1"),
        ("items__1", "use__1"),
    ]


def test_taskflow_task_with_dag_argument_outside_any_context(read) -> None:
    source = """
    from airflow.decorators import task
    dag = DAG("d")

    @task(dag=dag)
    def hello(): return 1

    hello() >> EmptyOperator(task_id="after", dag=dag)
    """
    dag = only_dag(read(source))
    assert dag.edges == (("hello", "after"),) and "dag" not in dag.task("hello").args.explicit


def test_tasks_in_a_task_group_context_outside_any_dag_context_are_in_no_dag(read) -> None:
    """Airflow 2 and 3 alike: `with TaskGroup(dag=dag)` outside `with DAG` gives its tasks no DAG."""
    source = (
        "from airflow.utils.task_group import TaskGroup\ndag = DAG('d')\n"
        "with TaskGroup('g', dag=dag):\n    EmptyOperator(task_id='lost')\n"
        "    EmptyOperator(task_id='kept', dag=dag)\n"
    )
    parsed = read(source)
    assert [t.task_id for t in only_dag(parsed).tasks] == ["g.kept"]
    assert [(d.code, d.line) for d in parsed.diagnostics] == [("A2K207", 8), ("A2K203", 8)]


def test_a_while_loop_is_run_while_its_test_is_known(read) -> None:
    body = (
        "    page, last = 0, a\n    while page < 3:\n        step = EmptyOperator(task_id=f'page_{page}')\n"
        "        last >> step\n        last, page = step, page + 1\n"
    )
    parsed = read(TASKS + body)
    assert only_dag(parsed).edges == (("a", "page_0"), ("page_0", "page_1"), ("page_1", "page_2"))
    assert not codes(parsed)


def test_a_while_loop_over_an_unknown_test_that_builds_tasks_is_an_error(read) -> None:
    body = "    import os\n    while os.environ.get('MORE'):\n        a >> b\n"
    parsed = read(TASKS + body)
    assert codes(parsed) == ["A2K203"] and parsed.diagnostics[0].severity is Severity.ERROR


def test_an_endless_while_loop_inside_a_called_helper_is_reported_not_run(read) -> None:
    body = "    def wait():\n        while True:\n            pass\n    wait()\n    a >> b\n"
    parsed = read(TASKS + body)
    assert [(d.code, d.line) for d in parsed.diagnostics] == [("A2K109", 9)]
    assert only_dag(parsed).edges == (("a", "b"),)


def test_a_helper_of_another_module_called_inside_the_dag_is_a_doubt(read) -> None:
    parsed = read(
        "from company.tasks import add_quality_checks\nimport json\n"
        + TASKS
        + "    add_quality_checks('orders')\n    json.dumps({})\n"
    )
    assert unsure(parsed) == [(10, "d")]
    assert "company.tasks.add_quality_checks" in parsed.diagnostics[0].message


def test_an_unknown_helper_handed_a_task_or_dag_is_a_doubt_on_that_dag(read) -> None:
    source = (
        "from team_lib import attach_alerts\ndag = DAG('d')\nt = EmptyOperator(task_id='t', dag=dag)\n"
        "attach_alerts(t)\n"
    )
    assert unsure(read(source)) == [(8, "d")]


def test_an_unknown_method_of_a_task_is_a_doubt(read) -> None:
    assert unsure(read(TASKS + "    a.add_sla_watchers(b)\n")) == [(8, "d")]
    assert unsure(read(TASKS + "    a.get_direct_relatives()\n")) == []


def test_an_unknown_context_manager_around_tasks_is_a_doubt(read) -> None:
    parsed = read(
        "from company.groups import section\n"
        + TASKS
        + "    with section('s'):\n        EmptyOperator(task_id='inner')\n"
    )
    assert unsure(parsed) == [(9, "d")]
    assert unsure(read(TASKS + "    with open('x') as f:\n        pass\n")) == []


def test_a_doubt_no_dag_can_be_named_for_goes_on_every_dag_of_the_file(read) -> None:
    source = (
        "from lib import register\nfirst = DAG('first')\nsecond = DAG('second')\n"
        "EmptyOperator(task_id='t', dag=first)\nEmptyOperator(task_id='t', dag=second)\n"
        "register(first, second)\n"
    )
    assert sorted(unsure(read(source))) == [(10, "first")]  # the DAGs it is handed: the first named
    source = "from lib import build\nwith DAG('first'):\n    pass\nwith DAG('second'):\n    pass\nbuild([1]) >> 2\n"
    assert all(d.severity is not Severity.WARNING for d in read(source).diagnostics)


def test_calls_the_reader_cannot_follow_inside_a_dag_are_doubts(read) -> None:
    make = "    make = lambda n: EmptyOperator(task_id=n)\n    make('x')\n"
    assert unsure(read(TASKS + make)) == [(9, "d")]
    star = read("from company import *\n" + TASKS + "    build_tasks()\n")
    assert unsure(star) == [(9, "d")]
    assert unsure(read(TASKS + "    print(a, len(dag.tasks))\n")) == []


def test_a_spread_the_reader_cannot_see_into(read) -> None:
    source = """
    from airflow.decorators import task
    from airflow.models.baseoperator import chain
    from mylib import RESULTS

    @task
    def total(*values): return sum(values)

    with DAG("d"):
        total(*RESULTS)
        chain(*RESULTS)
    """
    parsed = read(source)
    assert [(d.code, d.severity.value, d.line) for d in parsed.diagnostics if d.code == "A2K203"] == [
        ("A2K203", "warning", 14),
        ("A2K203", "error", 15),
    ]


def test_a_subdag_operator_whose_subdag_is_not_read_is_a_doubt(read) -> None:
    source = """
    from airflow.operators.subdag import SubDagOperator
    from company.subdags import SECTIONS

    with DAG("d") as dag:
        SubDagOperator(task_id="section", subdag=SECTIONS["d.section"])
    """
    parsed = read(source)
    assert unsure(parsed) == [(10, "d")] and "SubDagOperator" in parsed.diagnostics[0].message


def _convert(folder: Path, out: Path) -> dict:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        main(
            [
                "convert",
                str(folder),
                "--out",
                str(out),
                "--mode",
                "static",
                "--no-cache",
                "--fail-on",
                "never",
                "-q",
            ]
        )
    assert "Traceback" not in printed.getvalue()
    return json.loads((out / "conversion.json").read_text())


def test_a_dag_static_reading_has_doubts_about_is_unproven_never_exact(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    header = (
        "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "from company.alerts import attach_alerts\n"
    )
    body = (
        "with DAG('{0}', start_date=datetime(2024, 1, 1), schedule=None):\n"
        "    a = BashOperator(task_id='a', bash_command='echo a')\n"
        "    b = BashOperator(task_id='b', bash_command='echo b')\n    a >> b\n"
    )
    (dags / "doubt.py").write_text(header + body.format("doubt") + "    attach_alerts(a)\n")
    (dags / "silenced.py").write_text(
        header + body.format("silenced") + "    attach_alerts(a)  # airflow2kfp: ignore[A2K203]\n"
    )
    (dags / "plain.py").write_text(header + body.format("plain"))
    document = _convert(dags, tmp_path / "out")
    verdicts = {dag["dag_id"]: (dag["status"], dag["ordering"]["verdict"]) for dag in document["dags"]}
    assert verdicts == {
        "doubt": ("converted", "unproven"),
        "silenced": ("converted", "unproven"),
        "plain": ("converted", "exact"),
    }
    assert document["summary"]["ordering"] == {"exact": 1, "unproven": 2}
