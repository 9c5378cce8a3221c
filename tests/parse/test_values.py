"""Tasks through variables, containers and loops; literal evaluation of ids and arguments."""

from __future__ import annotations

import ast
import warnings

import libcst as cst

from airflow2kfp.model import Duration, MappedArg, Unresolved, XComRef
from airflow2kfp.parse.evaluate import Evaluator
from airflow2kfp.parse.values import Scope
from tests.parse.helpers import codes, only_dag, task_ids


def test_loops_over_literals_with_formatted_ids(read) -> None:
    dag = only_dag(
        read("""
        NAMES = ("x", "y")
        CONFIG = {"eu": 1, "us": 2}
        with DAG("d"):
            for n in NAMES:
                EmptyOperator(task_id=f"f_{n!s}_{len(n):02d}")
            for region, size in CONFIG.items():
                EmptyOperator(task_id="p_%s_%d" % (region, size))
            for i in range(1, 3):
                EmptyOperator(task_id="r_{}".format(i))
            for i, n in enumerate(["u", "v"]):
                EmptyOperator(task_id="e_" + n + str(i))
    """)
    )
    assert task_ids(dag) == ["f_x_01", "f_y_01", "p_eu_1", "p_us_2", "r_1", "r_2", "e_u0", "e_v1"]


def test_tasks_through_lists_dicts_and_tuples(read) -> None:
    dag = only_dag(
        read("""
        with DAG("d"):
            tasks = []
            for n in ["a", "b", "c"]:
                tasks.append(EmptyOperator(task_id=n))
            by_name = {t.task_id: t for t in tasks}
            pair = (tasks[0], by_name["c"])
            first, last = pair
            first >> tasks[1] >> last
            tasks[-1] >> EmptyOperator(task_id="end")
    """)
    )
    assert dag.edges == (("a", "b"), ("b", "c"), ("c", "end"))


def test_loop_break_continue_and_else(read) -> None:
    dag = only_dag(
        read("""
        with DAG("d"):
            for i in range(10):
                if i == 1:
                    continue
                if i == 3:
                    break
                EmptyOperator(task_id=f"t{i}")
    """)
    )
    assert task_ids(dag) == ["t0", "t2"]


def test_unrollable_loop_is_reported(read) -> None:
    parsed = read("""
        import os
        with DAG("d"):
            for name in os.listdir("/data"):
                EmptyOperator(task_id=f"load_{name}")
    """)
    # a folder outside the one being converted is not listed (A2K115), so the loop is unknown
    assert codes(parsed) == ["A2K115", "A2K205", "A2K203"]


def test_unknown_condition_reads_both_branches_and_says_so(read) -> None:
    parsed = read("""
        import os
        with DAG("d"):
            if os.environ.get("PROD"):
                EmptyOperator(task_id="prod")
            else:
                EmptyOperator(task_id="dev")
    """)
    assert task_ids(only_dag(parsed)) == ["prod", "dev"] and codes(parsed) == ["A2K203"]


def test_literal_condition_picks_a_branch(read) -> None:
    dag = only_dag(
        read("""
        ENV = "prod"
        with DAG("d"):
            if ENV == "dev":
                EmptyOperator(task_id="dev")
            elif ENV == "prod":
                EmptyOperator(task_id="prod")
    """)
    )
    assert task_ids(dag) == ["prod"]


def test_argument_values(read) -> None:
    dag = only_dag(
        read("""
        import datetime as dt
        import pendulum
        from airflow.utils.trigger_rule import TriggerRule
        from airflow.models import Variable

        RETRIES = 2 + 1
        with DAG("d"):
            BashOperator(
                task_id="t",
                bash_command="echo " "hi",
                retries=RETRIES,
                retry_delay=dt.timedelta(minutes=1, seconds=30),
                execution_timeout=pendulum.duration(hours=2),
                start_date=pendulum.datetime(2024, 5, 1, tz="UTC"),
                trigger_rule=TriggerRule.ONE_FAILED,
                env={"A": [1, (2, 3)], **{"B": None}},
                pool=Variable.get("pool"),
            )
    """)
    )
    values = dag.task("t").args.values
    assert values["bash_command"] == "echo hi" and values["retries"] == 3
    assert values["retry_delay"] == Duration(90) and values["execution_timeout"] == Duration(7200)
    assert values["start_date"] == "2024-05-01T00:00:00+00:00"
    assert values["trigger_rule"] == "one_failed" and dag.task("t").trigger_rule == "one_failed"
    assert values["env"] == {"A": [1, (2, 3)], "B": None}
    assert values["pool"] == Unresolved('Variable.get("pool")')


def test_unresolved_argument_warns_with_task(read) -> None:
    parsed = read("""
        import os
        with DAG("d"):
            BashOperator(task_id="t", bash_command=os.getenv("CMD"))
    """)
    [diagnostic] = parsed.diagnostics
    assert (diagnostic.code, diagnostic.task_id, diagnostic.line) == ("A2K204", "t", 8)


def test_dynamic_mapping(read) -> None:
    dag = only_dag(
        read("""
        from airflow.decorators import task

        @task
        def add(x, y):
            return x + y

        with DAG("d"):
            src = BashOperator(task_id="src", bash_command="x")
            add.expand(x=[1, 2], y=src.output)
            add.partial(y=1).expand(x=[3])
            BashOperator.partial(task_id="b", retries=1).expand(bash_command=["a", "b"])
            BashOperator.partial(task_id="k").expand_kwargs(src.output)
    """)
    )
    first, second, b, k = (dag.task(t) for t in ("add", "add__1", "b", "k"))
    assert first.is_mapped and first.mapped_args["y"].task_id == "src"
    assert second.args.values["op_kwargs"] == {"y": 1} and second.mapped_args == {"x": [3]}
    assert b.mapped_args == {"bash_command": ["a", "b"]} and b.args.values["retries"] == 1
    assert k.mapped_args["*"].task_id == "src"
    assert dag.edges == (("src", "add"), ("src", "k"))


def test_helper_function_building_tasks(read) -> None:
    dag = only_dag(
        read("""
        def make(name, *, cmd="echo"):
            return BashOperator(task_id=name, bash_command=f"{cmd} {name}")

        with DAG("d"):
            make("a") >> make("b", cmd="ls")
    """)
    )
    assert dag.edges == (("a", "b"),) and dag.task("b").args.values["bash_command"] == "ls b"


def test_runaway_recursion_is_bounded(read) -> None:
    parsed = read("""
        def loop(n):
            return loop(n + 1)

        with DAG("d"):
            EmptyOperator(task_id=str(loop(0)))
    """)
    assert codes(parsed) == ["A2K205"]


def test_huge_string_is_not_built(read) -> None:
    """Over the size budget, the file fails at the expression (it used to be read as unresolved)."""
    parsed = read("""
        with DAG("d"):
            EmptyOperator(task_id="x" * 10**12)
    """)
    assert codes(parsed) == ["A2K111"] and parsed.dags == ()


def test_mapped_task_group(read) -> None:
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
            per_item.partial(y=1).expand(x=src.output)
    """)
    )
    [_, inner] = dag.tasks
    # as Airflow reads it: the group is mapped, its task reads the group's argument (MappedArgument)
    assert inner.task_id == "per_item.work" and not inner.is_mapped
    assert dag.mapped_groups == {"per_item": {"x": XComRef("src")}}
    assert inner.args.values["op_args"] == (MappedArg("per_item", "x"), 1)
    assert dag.edges == (("src", "per_item.work"),)


def test_class_constants(read) -> None:
    dag = only_dag(
        read("""
        class Config:
            TABLES = ["a", "b"]
            PREFIX: str = "load"

        with DAG("d"):
            for t in Config.TABLES:
                EmptyOperator(task_id=f"{Config.PREFIX}_{t}")
    """)
    )
    assert task_ids(dag) == ["load_a", "load_b"]


def test_method_call_receiver_is_evaluated_once(read) -> None:
    parsed = read("""
        with DAG("d"):
            names = [EmptyOperator(task_id="only_once")].copy()
    """)
    assert task_ids(only_dag(parsed)) == ["only_once"] and codes(parsed) == []


def test_optional_import_guard_reads_the_import_branch(read) -> None:
    dag = only_dag(
        read("""
        try:
            from kubernetes.client import models as k8s
        except ImportError:
            k8s = None

        with DAG("d"):
            if k8s:
                EmptyOperator(task_id="with_k8s")
    """)
    )
    assert task_ids(dag) == ["with_k8s"]


def test_literals_evaluate_as_python_evaluates_them() -> None:
    """The fast paths for numbers and plain strings give what `ast.literal_eval` gives."""
    literals = [
        "0",
        "00",
        "7",
        "1_000",
        "0x1F",
        "0o17",
        "0b101",
        "0X_ff",
        "123456789012345678901234567890",
        "1.5",
        "1.",
        ".5",
        "1e3",
        "1E-3",
        "1_0.2_5",
        "1e500",
        "0.1e+2_0",
        "''",
        '""',
        "''''''",
        '""""""',
        "'a'",
        '"it\'s"',
        "'\"q\"'",
        '"""a\n"b"\n"""',
        "'''x''y'''",
        "'é€😀'",
        "'tab\there'",
        "'\\n'",
        "'\\d'",
        "r'\\d'",
        "u'x'",
        "b'x'",
        "rb'\\x00'",
        "'a\\\nb'",
    ]
    evaluator = Evaluator(cst.parse_module(""), None, "f.py")  # type: ignore[arg-type]
    for literal in literals:
        node = cst.parse_expression(literal)
        with warnings.catch_warnings():  # `'\\d'` warns; the value is what counts
            warnings.simplefilter("ignore")
            expected = ast.literal_eval(literal)
        assert evaluator.eval(node, Scope()) == expected, literal


def test_values_within_the_budgets_are_computed_as_python_computes_them(read) -> None:
    """The budgets bound what is built before it is built; everything a real DAG computes still is."""
    dag = only_dag(
        read("""
        BIG = 2 ** 300 + (1 << 200) * 3
        PARTS = ["extract", "load"] * 3
        with DAG("d", params={"width": f"{42:>10}|{3.14159:.3f}|{'x':^5}", "big": BIG % 1000,
                              "joined": "-".join(PARTS), "filled": "7".zfill(4),
                              "formatted": "{}/{:>6}".format("a", "b"), "percent": "%-5s|%05.1f" % ("ab", 2.5),
                              "replaced": "a.b.c".replace(".", "::"), "rounded": round(12345, -2),
                              "total": sum([1, 2.5, 3]), "listed": list(range(3)), "mapping": {k: len(k) for k in PARTS},
                              "repeated": ("ab" * 3) + "c" * 2, "shifted": 1 << 62}):
            EmptyOperator(task_id="t")
    """)
    )
    assert dag.settings["params"] == {
        "width": "        42|3.142|  x  ",
        "big": (2**300 + (1 << 200) * 3) % 1000,
        "joined": "extract-load-extract-load-extract-load",
        "filled": "0007",
        "formatted": "a/     b",
        "percent": "ab   |002.5",
        "replaced": "a::b::c",
        "rounded": 12300,
        "total": 6.5,
        "listed": [0, 1, 2],
        "mapping": {"extract": 7, "load": 4},
        "repeated": "abababcc",
        "shifted": 1 << 62,
    }


def test_over_a_budget_the_reading_stops_at_the_line(read) -> None:
    parsed = read("""
        with DAG("d"):
            EmptyOperator(task_id="t")
        WIDTH = 3 * 10**9
        x = f"{1:>{WIDTH}}"
    """)
    assert [(d.code, d.line) for d in parsed.diagnostics] == [("A2K111", 9)]  # after the 4-line header
    assert parsed.dags == ()


def test_a_set_of_unsortable_or_unhashable_values_is_left_unresolved_not_over_budget(read) -> None:
    dag = only_dag(
        read("""
        with DAG("d", params={"s": {(1, "a"), (2, "b")}, "bad": {[1]}}):
            EmptyOperator(task_id="t")
    """)
    )
    assert dag.settings["params"]["s"] == [(1, "a"), (2, "b")]
    assert isinstance(dag.settings["params"]["bad"], Unresolved)
